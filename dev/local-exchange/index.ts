/**
 * A local exchange that speaks the Binance spot REST and WebSocket subset ccxt 4.5.84 uses,
 * backed by our matching engine and a seeded moving market, with fault injection. Tests and
 * `npm start` run the real ccxt client against it (docs/local-exchange.md).
 *
 * ```ts
 * const ex = await startLocalExchange({ seed: 7 });
 * const client = new ccxt.pro.binance(ccxtOptionsFor(ex));
 * await ex.configureCcxt(client);
 * await client.createOrder('BTC/USDT', 'market', 'buy', 0.01);
 * ex.faults.failNext(1, { status: 503 });
 * await ex.stop();
 * ```
 */
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { FillModel } from '../../shared/sim/index.ts';
import { FaultController } from './faults.ts';
import { DEFAULT_BALANCES, DEFAULT_INSTRUMENTS } from './format.ts';
import { runVenue, WallClock } from './net.ts';
import { type ConnectionCounts, ExchangeServer } from './server.ts';
import { type FeeMode, LocalVenue } from './venue.ts';

export type { FailOptions, FaultStats, RateLimitOptions, RequestMatcher, TimeoutOptions } from './faults.ts';
export { FaultController } from './faults.ts';
export { DEFAULT_BALANCES, DEFAULT_INSTRUMENTS } from './format.ts';
export type { ConnectionCounts } from './server.ts';
export type { FeeMode } from './venue.ts';

export interface LocalExchangeOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Seed of the market streams and the engines (default 42). */
  seed?: number;
  /** Listed spot instruments (default BTC-USDT and ETH-USDT of BINANCE-SPOT). */
  instruments?: InstrumentSpec[];
  /** Default `local-exchange-key`. */
  apiKey?: string;
  /** Default `local-exchange-secret`. */
  secret?: string;
  /** Starting `free` balances by asset (default USDT 100000, BTC 1, ETH 10). */
  startingBalances?: Record<string, string>;
  /**
   * Time between book snapshots of the market model, ms: a number n means exactly n, a pair
   * [min, max] a uniform draw (default [100, 250]).
   */
  quoteIntervalMs?: number | readonly [number, number];
  /** Time source (default the wall clock). Tests pass a TestClock and `autoTick: false`. */
  clock?: Clock;
  /** Timers drive the market (default true); false: only `tick()` and incoming requests do. */
  autoTick?: boolean;
  /** Timer period when `autoTick` (default 50 ms). */
  tickMs?: number;
  /** Fee currency rule (default `quote`); see {@link FeeMode}. */
  feeMode?: FeeMode;
  /** Passive fills at the touch (default conservative; docs/matching-engine.md). */
  fillModel?: FillModel;
  /** Levels per side of the book (default 10). */
  bookLevels?: number;
  /** Starting mid by Binance symbol (`BTCUSDT`) or instrument key; default the market model's table. */
  startPrices?: Record<string, number>;
}

/** The parts of a ccxt exchange `configureCcxt` touches (any ccxt binance / pro binance instance). */
export interface CcxtExchangeLike {
  urls: { api: Record<string, unknown> } & Record<string, unknown>;
  loadHttpProxyAgent(): Promise<unknown>;
}

export interface LocalExchange {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>/ws` (market streams) */
  wsUrl: string;
  /** `ws://127.0.0.1:<port>/ws-api/v3` (WebSocket API: the spot user data stream) */
  wsApiUrl: string;
  port: number;
  apiKey: string;
  secret: string;
  faults: FaultController;
  /** Bring the market to `clock.now()` and publish (what the timer does when `autoTick`). */
  tick(): void;
  stop(): Promise<void>;
  /**
   * Point a ccxt binance instance at this exchange: every REST url string keeps its path on this
   * origin, the spot / margin stream urls become {@link wsUrl}, the WebSocket API url {@link wsApiUrl};
   * loads the http agent ccxt needs for plain `ws://`.
   */
  configureCcxt(exchange: CcxtExchangeLike): Promise<void>;
  /** Requests this exchange does not implement, e.g. `GET /api/v3/foo`, `WS-API order.place`. */
  readonly unhandledRequests: readonly string[];
  /** Exact balance of an asset (free, locked), for assertions. */
  balance(asset: string): { free: string; locked: string };
  /** Listed Binance symbols, e.g. `BTCUSDT`. */
  readonly symbols: readonly string[];
  /** Open WebSocket connections and live user-data subscriptions (wait for a subscription before trading). */
  connections(): ConnectionCounts;
}

export async function startLocalExchange(opts: LocalExchangeOptions = {}): Promise<LocalExchange> {
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? new WallClock();
  const apiKey = opts.apiKey ?? 'local-exchange-key';
  const secret = opts.secret ?? 'local-exchange-secret';
  const q = opts.quoteIntervalMs ?? [100, 250];
  const quoteIntervalMs: readonly [number, number] = typeof q === 'number' ? [q, q] : q;
  const venue = new LocalVenue({
    instruments: opts.instruments ?? [...DEFAULT_INSTRUMENTS],
    clock,
    seed: opts.seed ?? 42,
    startingBalances: opts.startingBalances ?? { ...DEFAULT_BALANCES },
    quoteIntervalMs,
    feeMode: opts.feeMode ?? 'quote',
    fillModel: opts.fillModel ?? { kind: 'conservative' },
    bookLevels: opts.bookLevels ?? 10,
    startPrices: opts.startPrices ?? {},
  });
  const faults = new FaultController();
  const server = new ExchangeServer({
    venue,
    faults,
    apiKey,
    secret,
    host,
    port: opts.port ?? 0,
  });
  const run = await runVenue({ server, faults, sync: () => venue.sync() }, { ...opts, host });
  const url = `http://${run.urlHost}:${run.port}`;
  const wsBase = `ws://${run.urlHost}:${run.port}`;
  const wsUrl = `${wsBase}/ws`;
  const wsApiUrl = `${wsBase}/ws-api/v3`;

  return {
    url,
    wsUrl,
    wsApiUrl,
    port: run.port,
    apiKey,
    secret,
    faults,
    tick: run.tick,
    stop: run.stop,
    async configureCcxt(exchange) {
      const api = exchange.urls.api;
      for (const [k, value] of Object.entries(api)) {
        if (typeof value === 'string') api[k] = rebase(value, url);
      }
      const ws = api.ws;
      if (typeof ws === 'object' && ws !== null) {
        const wsDict = ws as Record<string, unknown>;
        for (const [k, value] of Object.entries(wsDict)) {
          if (typeof value === 'string') wsDict[k] = rebase(value, wsBase);
          else if (typeof value === 'object' && value !== null) {
            const inner = value as Record<string, unknown>;
            for (const [ik, iv] of Object.entries(inner))
              if (typeof iv === 'string') inner[ik] = rebase(iv, wsBase);
          }
        }
        wsDict.spot = wsUrl;
        wsDict.margin = wsUrl;
        const wsApi = wsDict['ws-api'];
        if (typeof wsApi === 'object' && wsApi !== null) (wsApi as Record<string, unknown>).spot = wsApiUrl;
        else wsDict['ws-api'] = { spot: wsApiUrl };
      }
      await exchange.loadHttpProxyAgent();
    },
    get unhandledRequests() {
      return server.unhandled;
    },
    balance: (asset) => venue.balanceOf(asset),
    symbols: venue.symbols().map((s) => s.symbol),
    connections: () => server.connections(),
  };
}

/** The ccxt constructor options for this exchange (docs/local-exchange.md, /work/shared/LOCAL.md). */
export function ccxtOptionsFor(ex: Pick<LocalExchange, 'apiKey' | 'secret'>): {
  apiKey: string;
  secret: string;
  options: {
    fetchMarkets: { types: string[] };
    fetchCurrencies: boolean;
    fetchMargins: boolean;
    adjustForTimeDifference: boolean;
  };
} {
  return {
    apiKey: ex.apiKey,
    secret: ex.secret,
    options: {
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
      adjustForTimeDifference: false,
    },
  };
}

/** The same path on another origin: `https://api.binance.com/api/v3` → `http://127.0.0.1:p/api/v3`. */
function rebase(value: string, origin: string): string {
  const m = /^[a-z]+:\/\/[^/]+(\/.*)?$/i.exec(value);
  if (m === null) return value;
  return `${origin}${m[1] ?? ''}`;
}

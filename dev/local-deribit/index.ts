/**
 * A local Deribit that speaks the Deribit API v2 JSON-RPC subset ccxt 4.5's `deribit` and
 * `pro.deribit` use (HTTP and WebSocket), backed by our matching engine and a seeded moving
 * market, with the local exchange's fault injection (docs/local-deribit.md).
 *
 * ```ts
 * const d = await startLocalDeribit({ seed: 7 });
 * // ccxt: urls.api.rest = d.url, urls.api.ws = d.wsUrl (or the venue config's urls.rest / urls.ws)
 * d.faults.timeoutNext(1, { path: '/api/v2/private/buy', execute: true });
 * await d.stop();
 * ```
 */
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { FillModel } from '../../shared/sim/index.ts';
import { FaultController } from '../local-exchange/faults.ts';
import { runVenue, WallClock } from '../local-exchange/net.ts';
import { DeribitExchange } from './exchange.ts';
import { DeribitServer } from './server.ts';

export { FaultController } from '../local-exchange/faults.ts';
export { DeribitError, deribitName } from './exchange.ts';

/** The default listing: the BTC inverse perpetual, a dated future and a call option. */
export const DEFAULT_DERIBIT_INSTRUMENTS: readonly InstrumentSpec[] = [
  {
    instrument_key: 'DERIBIT:PERPETUAL:BTC-USD@INV',
    tick_size: '0.5',
    step_size: '10',
    min_qty: '10',
    max_qty: '100000000',
    min_notional: '0',
    maker_fee: '0',
    taker_fee: '0.0005',
  },
  {
    instrument_key: 'DERIBIT:FUTURE:BTC-USD-20271231',
    tick_size: '2.5',
    step_size: '10',
    min_qty: '10',
    max_qty: '100000000',
    min_notional: '0',
    maker_fee: '0',
    taker_fee: '0.0005',
  },
  {
    instrument_key: 'DERIBIT:OPTION:BTC-USD-100000-20271231-C',
    tick_size: '0.0005',
    step_size: '0.1',
    min_qty: '0.1',
    max_qty: '100000',
    min_notional: '0',
    maker_fee: '0.0003',
    taker_fee: '0.0003',
  },
];

export interface LocalDeribitOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Seed of the market streams and the engines (default 42). */
  seed?: number;
  instruments?: InstrumentSpec[];
  /** API client id and secret (default `local-deribit-id` / `local-deribit-secret`). */
  clientId?: string;
  clientSecret?: string;
  /** Starting coin balance per currency (default BTC 10). */
  startingBalances?: Record<string, string>;
  /** Book snapshot interval, ms (default [100, 250]). */
  quoteIntervalMs?: number | readonly [number, number];
  clock?: Clock;
  /** Timers drive the market (default true). */
  autoTick?: boolean;
  tickMs?: number;
  fillModel?: FillModel;
  bookLevels?: number;
  /** Starting mid by Deribit instrument name or instrument key. */
  startPrices?: Record<string, number>;
}

export interface LocalDeribit {
  /** `http://127.0.0.1:<port>` (ccxt `urls.api.rest`). */
  url: string;
  /** `ws://127.0.0.1:<port>/ws/api/v2` (ccxt pro `urls.api.ws`). */
  wsUrl: string;
  port: number;
  clientId: string;
  clientSecret: string;
  faults: FaultController;
  tick(): void;
  stop(): Promise<void>;
  readonly unhandledRequests: readonly string[];
  /** Exact coin cash balance (start + realised PnL − fees − option premium paid). */
  balance(currency: string): string;
  /** Exact equity (cash + unrealised PnL + options at the mark). */
  equity(currency: string): string;
  /** Calls per JSON-RPC method. */
  calls(method: string): number;
  /** How many orders carry a label (the adapter's venue client id), for duplicate checks. */
  ordersWithLabel(label: string): number;
  connections(): { ws: number; privateSubscriptions: number };
}

export async function startLocalDeribit(opts: LocalDeribitOptions = {}): Promise<LocalDeribit> {
  const host = opts.host ?? '127.0.0.1';
  const q = opts.quoteIntervalMs ?? [100, 250];
  const exchange = new DeribitExchange({
    instruments: opts.instruments ?? [...DEFAULT_DERIBIT_INSTRUMENTS],
    clock: opts.clock ?? new WallClock(),
    seed: opts.seed ?? 42,
    startingBalances: opts.startingBalances ?? { BTC: '10' },
    quoteIntervalMs: typeof q === 'number' ? [q, q] : q,
    fillModel: opts.fillModel ?? { kind: 'conservative' },
    bookLevels: opts.bookLevels ?? 10,
    startPrices: opts.startPrices ?? {},
  });
  const faults = new FaultController();
  const clientId = opts.clientId ?? 'local-deribit-id';
  const clientSecret = opts.clientSecret ?? 'local-deribit-secret';
  const server = new DeribitServer({ exchange, faults, clientId, clientSecret, host, port: opts.port ?? 0 });
  const run = await runVenue({ server, faults, sync: () => exchange.sync() }, { ...opts, host });
  return {
    url: `http://${run.urlHost}:${run.port}`,
    wsUrl: `ws://${run.urlHost}:${run.port}/ws/api/v2`,
    port: run.port,
    clientId,
    clientSecret,
    faults,
    tick: run.tick,
    stop: run.stop,
    get unhandledRequests() {
      return server.unhandled;
    },
    balance: (c) => exchange.balance(c),
    equity: (c) => exchange.equity(c).toFixed(),
    calls: (m) => server.calls.get(m) ?? 0,
    ordersWithLabel: (label) =>
      exchange.currencies().reduce((n, c) => n + exchange.byLabel(c, label).length, 0),
    connections: () => server.connections(),
  };
}

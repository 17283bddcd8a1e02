/**
 * A local TWS: a development server that speaks the TWS API socket protocol (the V100+ handshake,
 * length-prefixed \0-separated messages, server version {@link TWS_SERVER_VERSION}) well enough for
 * the real `@stoqey/ib` client, over our matching engine and a seeded moving market, with fault
 * injection (docs/local-tws.md).
 *
 * ```ts
 * const tws = await startLocalTws({ seed: 7 });
 * const ib = new IBApi({ host: tws.host, port: tws.port, clientId: 1 });
 * ib.connect();
 * tws.faults.rejectNextOrder('Order size exceeds limit');
 * await tws.stop();
 * ```
 */
import type { Clock } from '../../shared/ports/clock.ts';
import type { FillModel } from '../../shared/sim/index.ts';
import { runVenue, WallClock } from '../local-exchange/net.ts';
import { TwsBroker } from './broker.ts';
import { TwsFaults } from './faults.ts';
import { DEFAULT_TWS_INSTRUMENTS, type TwsInstrument } from './instruments.ts';
import { TwsServer } from './server.ts';
import { ALWAYS_OPEN, type TwsSession } from './session.ts';
import { TWS_SERVER_VERSION } from './wire.ts';

export type { DisconnectOnPlaceOrderOptions, DuplicateOptions, TwsFaultStats } from './faults.ts';
export { TwsFaults } from './faults.ts';
export {
  DEFAULT_START_PRICES,
  DEFAULT_TWS_INSTRUMENTS,
  type TwsCommission,
  type TwsInstrument,
} from './instruments.ts';
export { ALWAYS_OPEN, CME_EQUITY_FUTURE_HOURS, type TwsSession, US_EQUITY_HOURS } from './session.ts';
export { TWS_SERVER_VERSION } from './wire.ts';

export interface LocalTwsOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Seed of the market streams and the engines (default 42). */
  seed?: number;
  /** Listed contracts (default SPY on SMART/ARCA, AAPL on SMART/NASDAQ, ES on CME). */
  instruments?: TwsInstrument[];
  /** The one managed account (default `DU1234567`, a paper account id). */
  account?: string;
  /** Starting cash in the base currency USD (default 1000000). */
  startingCash?: string;
  /**
   * When orders are accepted: {@link ALWAYS_OPEN} (default), one weekly schedule for every contract
   * (e.g. {@link US_EQUITY_HOURS}), or `'instrument'`: each contract's real hours (`TwsInstrument.hours`:
   * US equities 04:00–20:00 New York, CME equity futures Sunday 17:00 – Friday 16:00 Chicago).
   */
  session?: TwsSession | 'instrument';
  /** The login has real-time market data (default true); false: only delayed data (error 354 otherwise). */
  realtimeMarketData?: boolean;
  /** Incoming messages per second per connection before error 100 (default 50, IB's limit). */
  maxMessagesPerSecond?: number;
  /** Book snapshot interval, ms (default [100, 250]). */
  quoteIntervalMs?: number | readonly [number, number];
  /** Time source (default the wall clock). Tests pass a TestClock and `autoTick: false`. */
  clock?: Clock;
  /** Timers drive the market (default true); false: only `tick()` and incoming messages do. */
  autoTick?: boolean;
  /** Timer period when `autoTick` (default 50 ms). */
  tickMs?: number;
  /** Passive fills at the touch (default conservative; docs/matching-engine.md). */
  fillModel?: FillModel;
  /** Starting mid by symbol (`SPY`) or instrument key. */
  startPrices?: Record<string, number>;
  /** The first order id `nextValidId` hands out (default 1). */
  firstOrderId?: number;
}

/** A position as `reqPositions` reports it. */
export interface LocalTwsPosition {
  instrument_key: string;
  symbol: string;
  /** Signed quantity, a decimal string. */
  position: string;
  /** Average cost per unit including the multiplier and commissions, as IB reports it. */
  avgCost: string;
}

export interface LocalTws {
  host: string;
  port: number;
  account: string;
  /** The protocol version the server answers the handshake with. */
  serverVersion: number;
  faults: TwsFaults;
  /** Bring the market to `clock.now()`, match, and send ticks (what the timer does when `autoTick`). */
  tick(): void;
  stop(): Promise<void>;
  /** Exact cash in USD (start − bought + sold − commissions, futures by variation). */
  cash(): string;
  /** Exact net liquidation value in USD (cash + positions at the mid). */
  netLiquidation(): string;
  positions(): LocalTwsPosition[];
  /** How many orders (open or done) carry this `orderRef`, for duplicate checks. */
  ordersWithRef(orderRef: string): number;
  /**
   * Cancel the open order carrying `orderRef` as the account's operator would in TWS (its owner
   * hears of it only if connected). Returns whether an open order was found.
   */
  cancelOrder(orderRef: string): boolean;
  /** Messages received per TWS API message name (`PLACE_ORDER`, `REQ_EXECUTIONS`, …). */
  calls(message: string): number;
  /** Open API connections. */
  connections(): number;
  /** Messages the server does not implement, by name (answered with nothing). */
  readonly unhandledMessages: readonly string[];
}

export async function startLocalTws(opts: LocalTwsOptions = {}): Promise<LocalTws> {
  const host = opts.host ?? '127.0.0.1';
  const q = opts.quoteIntervalMs ?? [100, 250];
  const clock = opts.clock ?? new WallClock();
  const account = opts.account ?? 'DU1234567';
  const faults = new TwsFaults();
  const broker = new TwsBroker({
    instruments: opts.instruments ?? [...DEFAULT_TWS_INSTRUMENTS],
    clock,
    seed: opts.seed ?? 42,
    account,
    startingCash: opts.startingCash ?? '1000000',
    session: opts.session ?? ALWAYS_OPEN,
    quoteIntervalMs: typeof q === 'number' ? [q, q] : q,
    fillModel: opts.fillModel ?? { kind: 'conservative' },
    startPrices: opts.startPrices ?? {},
    firstOrderId: opts.firstOrderId ?? 1,
  });
  const server = new TwsServer({
    broker,
    faults,
    clock,
    host,
    port: opts.port ?? 0,
    maxMessagesPerSecond: opts.maxMessagesPerSecond ?? 50,
    realtimeMarketData: opts.realtimeMarketData ?? true,
  });
  const run = await runVenue({ server, faults, sync: () => broker.sync() }, { ...opts, host });
  return {
    host,
    port: run.port,
    account,
    serverVersion: TWS_SERVER_VERSION,
    faults,
    tick: run.tick,
    stop: run.stop,
    cash: () => broker.cash(),
    netLiquidation: () => broker.netLiquidation(),
    positions: () => broker.positionList(),
    ordersWithRef: (ref) => broker.ordersWithRef(ref),
    cancelOrder: (ref) => !('code' in broker.cancelByRef(ref)),
    calls: (m) => server.calls.get(m) ?? 0,
    connections: () => server.connectionCount(),
    get unhandledMessages() {
      return server.unhandled;
    },
  };
}

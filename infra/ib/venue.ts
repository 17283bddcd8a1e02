/**
 * The Interactive Brokers venue adapter: one TWS / IB Gateway API session (`@stoqey/ib`'s `IBApi`)
 * with one IB account, implementing the Venue port. It maps; it decides nothing. docs/ib.md has the
 * whole story; in short:
 *
 * - **connect**: the socket handshake, `nextValidId` (the first order id this client id may use),
 *   the managed account, then `reqContractDetails` per instrument: its `conId`, the rules
 *   (contracts.ts `rulesFromContractDetails`) and its trading hours (trading-hours.ts); then the open
 *   orders, the completed orders and today's executions, so an order placed by an earlier process is
 *   known by its client id;
 * - **submit**: the order id is ours (`nextValidId`, counted up), the client order id travels in
 *   `orderRef`. The answer is the first `openOrder` / `orderStatus` of that id, or its error. When the
 *   outcome is unknown (the socket dropped after the send, no answer in time) the order is looked up
 *   by `orderRef` (`reqOpenOrders`, `reqCompletedOrders`, then `reqExecutions`) once the session is
 *   back, and sent again only
 *   when IB does not know it — under the SAME order id: if TWS had it after all, that is a no-op
 *   modification of the same order or a refusal (103 duplicate id, 104 filled, 105 mismatch) that
 *   again means "look it up" — never a second order;
 * - **fills**: `execDetails` + `commissionReport` joined on `execId`, exactly once (fills.ts);
 * - **reconnect**: a dropped socket is reconnected with back-off; each (re)connect reads the open
 *   orders, the completed orders (what finished while we were away) and the executions since the last
 *   one seen (`reqExecutions`): the gap fill, whose new
 *   trades and order changes reach the watcher like streamed ones;
 * - **trading hours**: the contract's schedule (trading-hours.ts) is offered as `tradingSchedule`;
 *   whether an order may go out at this instant is the execution core's session gate, not this
 *   file's (an order TWS refuses anyway is a rejection like any other);
 * - **pacing**: every message to TWS pays one unit of IB's 50 messages / s budget (the sliding-window
 *   limiter of infra/ccxt/limits.ts); queries also pass the session's retry + circuit breaker
 *   (infra/ccxt/resilience.ts);
 * - **market data**: `reqMktData` per watched instrument (`reqMarketDataType` chooses real-time or
 *   delayed): top-of-book events and last-trade prints for the router, drift and SHADOW.
 */
import {
  type CommissionReport,
  type Contract,
  type ContractDetails,
  EventName,
  type Execution,
  type ExecutionFilter,
  IBApi,
  type Order,
  type OrderState,
  SecType,
} from '@stoqey/ib';
import type { IB_MARKET_DATA_TYPES } from '../../shared/config/schema.ts';
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import { parseInstrumentId } from '../../shared/domain/instrument-id.ts';
import { type Nanos, nanosToMillis } from '../../shared/domain/time.ts';
import type { VenueMode } from '../../shared/domain/types.ts';
import type { OutsideHoursPolicy, TradingSchedule } from '../../shared/execution/session.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import {
  type Venue,
  type VenueBalance,
  type VenueBook,
  VenueError,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
  type VenueOrderRequest,
  type VenueOrderState,
  type VenuePosition,
  type VenueTrade,
} from '../../shared/ports/venue.ts';
import type { VenueDiagnosticListener, VenueDiagnosticPayload } from '../ccxt/diagnostics.ts';
import {
  type RateBudget,
  type RateLimiterStats,
  VenueRateLimiter,
  type VenueRateLimits,
} from '../ccxt/limits.ts';
import { type BreakerOptions, backoffDelay, CallGuard, retryDefaults } from '../ccxt/resilience.ts';
import type { CcxtVenueLog } from '../ccxt/venue.ts';
import { fromIbContract, type IbContract, rulesFromContractDetails, toIbContract } from './contracts.ts';
import { FillJoiner } from './fills.ts';
import {
  decimalOf,
  errorKindOf,
  executionFilterTime,
  IB_CODES,
  type IbOrderFields,
  type IbOrderRecord,
  IbOrderRefused,
  ibOrderOf,
  isFinal,
  isInformational,
  isKnownOrderId,
  liquidityOf,
  parseIbTime,
  sideOfExecution,
  stateOf,
  withOrderStatus,
} from './mapping.ts';
import { parseTradingHours } from './trading-hours.ts';

/** IB's pacing: at most 50 messages a second from a client to TWS (error 100 beyond), with a margin. */
export const IB_RATE_LIMITS: VenueRateLimits = {
  // 45, not 50: the client sends a few messages of its own (startApi) and messages sent just over
  // a second apart can arrive within one second at TWS.
  weight: [{ name: 'MESSAGES_1S', limit: 45, windowMs: 1_000 }],
  orders: [],
  orderOperations: [],
};

export type IbMarketDataType = (typeof IB_MARKET_DATA_TYPES)[number];
const MARKET_DATA_TYPE_CODE: Readonly<Record<IbMarketDataType, number>> = {
  realtime: 1,
  frozen: 2,
  delayed: 3,
  delayed_frozen: 4,
};

/** The connection settings of an IBKR venue (a `VenueConfig`'s `ib` section fits). */
export interface IbConnectionSettings {
  host: string;
  port: number;
  client_id: number;
  /** The IB account (e.g. `DU1234567`); empty: the first account TWS manages for this login. */
  account?: string | undefined;
  market_data_type: IbMarketDataType;
  /**
   * The venue's policy outside trading hours; read by the edge for the execution core's session
   * gate (shared/execution/session.ts), not by the adapter.
   */
  outside_hours?: OutsideHoursPolicy | undefined;
  /** Zone of execution times TWS writes without one (default UTC). */
  time_zone?: string | undefined;
}

export interface IbVenueConfig {
  readonly id: string;
  readonly mode: VenueMode;
  readonly ib: IbConnectionSettings;
  readonly rate_limit_per_second: number;
}

/** Message-first logger, the ccxt adapter's shape (a pino logger adapts with `executionLog`). */
export type IbVenueLog = CcxtVenueLog;

export interface CreateIbVenueOptions {
  venue: IbVenueConfig;
  /** Our account id for this session (the configuration's account_id). */
  accountId: string;
  clock: Clock;
  /** Instruments this session trades (canonical IBKR ids). */
  instrumentKeys: readonly string[];
  log?: IbVenueLog | undefined;
  onEvent?: VenueDiagnosticListener | undefined;
  breaker?: BreakerOptions | undefined;
  /** One request's answer (default 10,000 ms). */
  requestTimeoutMs?: number | undefined;
  /** An order's first answer before its outcome counts as unknown (default 5,000 ms). */
  ackTimeoutMs?: number | undefined;
  /** How long a query waits for the commission reports of the executions it read (default 2,000 ms). */
  commissionWaitMs?: number | undefined;
  /** placeOrder sends at most this many times per submit (default 3). */
  submitAttempts?: number | undefined;
  /** Reconnect back-off (default 250 ms doubling to 10,000 ms, with jitter). */
  reconnect?: { initialDelayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined;
  /** Random source for the back-off jitter (tests pass a fixed one). */
  random?: (() => number) | undefined;
}

/** The Venue port plus what the edge and the benchmarks read. */
export interface IbVenue extends Venue {
  /** The IB account the session trades. */
  readonly ibAccount: string;
  rateLimiterStats(): RateLimiterStats;
  tradingSchedule(instrumentKey: string): Promise<TradingSchedule | null>;
}

interface Instrument {
  key: string;
  contract: IbContract;
  conId: number | null;
  rules: VenueInstrumentRules | null;
  schedule: TradingSchedule | null;
}

interface Waiter {
  resolve(): void;
  reject(err: VenueError): void;
}

interface Quote {
  bid: string | null;
  ask: string | null;
  bidSize: string | null;
  askSize: string | null;
  last: string | null;
}

const OPEN_ORDERS_END = 'openOrders';
const COMPLETED_ORDERS_END = 'completedOrders';

/** One of ours among TWS's completed orders (`completedOrder` carries no order id: `permId` names it). */
interface CompletedOrder {
  permId: number;
  client_order_id: string;
  instrument_key: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  /** IB's final status: Filled, Cancelled, Inactive (`ApiCancelled` too). */
  ibStatus: string;
  filled: string;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Create an IBKR session (no network until `connect`). */
export function createIbVenue(opts: CreateIbVenueOptions): IbVenue {
  return new IbVenueSession(opts);
}

class IbVenueSession implements IbVenue {
  readonly id: string;
  readonly account_id: string;
  readonly mode: VenueMode;

  private readonly settings: IbConnectionSettings;
  private readonly clock: Clock;
  private readonly log: IbVenueLog | undefined;
  private readonly limiter = new VenueRateLimiter(IB_RATE_LIMITS);
  private readonly guard: CallGuard;
  private readonly requestTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly commissionWaitMs: number;
  private readonly submitAttempts: number;
  private readonly reconnectOptions: { initialDelayMs: number; maxDelayMs: number };
  private readonly random: () => number;

  private api: IBApi | null = null;
  private account = '';
  private connected = false;
  private everConnected = false;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempt = 0;
  private lastError: string | undefined;

  private nextOrderId = 0;
  private nextReqId = 1;
  private readonly instruments = new Map<string, Instrument>();
  private readonly keyByConId = new Map<number, string>();
  private readonly records = new Map<number, IbOrderRecord>();
  private readonly orderIdByClientId = new Map<string, number>();
  private readonly joiner = new FillJoiner();
  private lastExecMs = 0;

  // requests by reqId (contract details, executions, account summary) and the openOrders query
  private readonly ends = new Map<number | string, Waiter>();
  private readonly execCollect = new Map<number, Set<string>>();
  private readonly detailsCollect = new Map<number, ContractDetails[]>();
  private readonly summaryCollect = new Map<
    number,
    Array<{ account: string; tag: string; value: string; currency: string }>
  >();
  private openOrdersSeen: Set<number> | null = null;
  private openOrdersQuery: Promise<Set<number>> | null = null;
  private completedSeen: Map<string, CompletedOrder> | null = null;
  private completedQuery: Promise<Map<string, CompletedOrder>> | null = null;
  /** Client order ids TWS listed as completed whose order id no one here knows (earlier processes). */
  private readonly completedElsewhere = new Set<string>();
  private positionsCollect: Array<{
    account: string;
    contract: Contract;
    pos: number;
    avgCost?: number | undefined;
  }> | null = null;
  private positionsQuery: Promise<VenuePosition[]> | null = null;
  /** First answer of an order id (ack) waiters. */
  private readonly acks = new Map<number, Waiter>();
  /** Cancel waiters by order id. */
  private readonly cancels = new Map<number, Waiter>();
  /** Errors of order ids not yet handled by a waiter (kept for the order's state). */
  private readonly connectWaiters: Waiter[] = [];

  // streams
  private readonly handlers = new Set<(event: VenueEvent) => void>();
  private readonly watched = new Set<string>();
  private readonly tickerOf = new Map<string, number>();
  private readonly keyOfTicker = new Map<number, string>();
  private readonly quotes = new Map<string, Quote>();
  private readonly quoteWaiters = new Map<string, Array<() => void>>();

  constructor(private readonly opts: CreateIbVenueOptions) {
    this.id = opts.venue.id;
    this.account_id = opts.accountId;
    this.mode = opts.venue.mode;
    this.settings = opts.venue.ib;
    this.clock = opts.clock;
    this.log = opts.log;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.commissionWaitMs = opts.commissionWaitMs ?? 2_000;
    this.submitAttempts = Math.max(1, opts.submitAttempts ?? 3);
    this.reconnectOptions = {
      initialDelayMs: opts.reconnect?.initialDelayMs ?? 250,
      maxDelayMs: opts.reconnect?.maxDelayMs ?? 10_000,
    };
    this.random = opts.random ?? Math.random;
    for (const key of opts.instrumentKeys) this.instrumentOf(key);
    this.guard = new CallGuard(
      {
        venue: this.id,
        onRetry: (operation, attempt, delayMs, err) =>
          this.diag({
            type: 'retry',
            operation,
            attempt,
            delay_ms: delayMs,
            error_kind: err.kind,
            message: err.message,
          }),
        onFailure: (operation, err) => {
          if (err.kind === 'not_found') return;
          this.lastError = err.message;
          this.diag({ type: 'call_failed', operation, error_kind: err.kind, message: err.message });
        },
        onBreaker: (state, reason) => {
          this.diag({ type: 'breaker', state, reason });
          if (state === 'open') this.log?.warn(`${this.id}: circuit breaker open`, { reason });
        },
        retryAfterMs: () => undefined,
        resyncClock: async () => undefined,
      },
      {
        ratePerSecond: opts.venue.rate_limit_per_second,
        retry: { random: this.random },
        ...(opts.breaker !== undefined ? { breaker: opts.breaker } : {}),
      },
    );
  }

  get ibAccount(): string {
    return this.account;
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.error('transient', 'connect: session closed'));
    if (this.connected) return Promise.resolve();
    if (this.connecting === null) {
      this.connecting = this.open().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  /** Open the socket, wait for `nextValidId`, then read contracts, open orders and executions. */
  private async open(): Promise<void> {
    const api = this.newApi();
    this.api = api;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        api.removeListener(EventName.nextValidId, onId);
        reject(this.error('transient', `connect: no answer from TWS at ${this.endpoint()} in time`));
      }, this.requestTimeoutMs);
      const onId = () => {
        clearTimeout(timer);
        resolve();
      };
      api.once(EventName.nextValidId, onId);
      this.connectWaiters.push({
        resolve: () => undefined,
        reject: (err) => {
          clearTimeout(timer);
          api.removeListener(EventName.nextValidId, onId);
          reject(err);
        },
      });
      api.connect(this.settings.client_id);
    });
    this.connectWaiters.length = 0;
    this.connected = true;
    this.reconnectAttempt = 0;
    const first = !this.everConnected;
    this.everConnected = true;
    if (this.account === '') {
      this.account = this.settings.account ?? '';
    }
    await this.send(() =>
      api.reqMarketDataType(MARKET_DATA_TYPE_CODE[this.settings.market_data_type] as never),
    );
    if (first) {
      await this.loadContracts([...this.instruments.keys()]);
      this.log?.info(`${this.id}: connected to TWS`, {
        endpoint: this.endpoint(),
        client_id: this.settings.client_id,
        account: this.account,
        instruments: this.instruments.size,
      });
    }
    this.streamState('up');
    await this.gapFill(first ? 'connect' : 'reconnect');
    for (const key of this.watched) await this.subscribeQuotes(key, true);
  }

  private endpoint(): string {
    return `${this.settings.host}:${this.settings.port}`;
  }

  private newApi(): IBApi {
    // Our limiter paces (IB_RATE_LIMITS); the client's own throttle is set above it so it never waits first.
    const api = new IBApi({ host: this.settings.host, port: this.settings.port, maxReqPerSec: 1_000 });
    api.on(EventName.error, (err: Error, code: number, reqId: number) => this.onError(err, code, reqId));
    // Errors without a request id arrive as "info" (the client's choice): pacing violations among them.
    api.on(EventName.info, (message: string, code: number) => {
      if (code === IB_CODES.MAX_RATE) this.onError(new Error(message), code, -1);
    });
    api.on(EventName.disconnected, () => this.onDisconnected(api));
    api.on(EventName.nextValidId, (id: number) => {
      if (Number.isInteger(id) && id > this.nextOrderId) this.nextOrderId = id;
    });
    api.on(EventName.managedAccounts, (list: string) => {
      if (this.account !== '') return;
      const first = list
        .split(',')
        .map((s) => s.trim())
        .find((s) => s !== '');
      if (first !== undefined && (this.settings.account ?? '') === '') this.account = first;
    });
    api.on(EventName.contractDetails, (reqId: number, d: ContractDetails) => {
      this.detailsCollect.get(reqId)?.push(d);
    });
    api.on(EventName.contractDetailsEnd, (reqId: number) => this.end(reqId));
    api.on(EventName.openOrder, (orderId: number, contract: Contract, order: Order, state: OrderState) =>
      this.onOpenOrder(orderId, contract, order, state),
    );
    api.on(EventName.openOrderEnd, () => this.end(OPEN_ORDERS_END));
    api.on(EventName.completedOrder, (contract: Contract, order: Order, state: OrderState) =>
      this.onCompletedOrder(contract, order, state),
    );
    api.on(EventName.completedOrdersEnd, () => this.end(COMPLETED_ORDERS_END));
    api.on(
      EventName.orderStatus,
      (orderId: number, status: string, filled: number, _remaining: number, avgFillPrice: number) =>
        this.onOrderStatus(orderId, status, filled, avgFillPrice),
    );
    api.on(EventName.execDetails, (reqId: number, contract: Contract, execution: Execution) =>
      this.onExecution(reqId, contract, execution),
    );
    api.on(EventName.execDetailsEnd, (reqId: number) => this.end(reqId));
    api.on(EventName.commissionReport, (report: CommissionReport) => this.onCommission(report));
    api.on(EventName.position, (account: string, contract: Contract, pos: number, avgCost?: number) => {
      this.positionsCollect?.push({ account, contract, pos, avgCost });
    });
    api.on(EventName.positionEnd, () => this.end('positions'));
    api.on(
      EventName.accountSummary,
      (reqId: number, account: string, tag: string, value: string, currency: string) => {
        this.summaryCollect.get(reqId)?.push({ account, tag, value, currency });
      },
    );
    api.on(EventName.accountSummaryEnd, (reqId: number) => this.end(reqId));
    api.on(EventName.tickPrice, (reqId: number, field: number, value: number) =>
      this.onTick(reqId, field, value),
    );
    api.on(EventName.tickSize, (reqId: number, field?: number, value?: number) =>
      this.onTick(reqId, field ?? -1, value ?? Number.NaN),
    );
    return api;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.failAll(this.error('transient', 'session closed'));
    const api = this.api;
    this.api = null;
    if (api?.isConnected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1_000);
        api.once(EventName.disconnected, () => {
          clearTimeout(t);
          resolve();
        });
        api.disconnect();
      });
    }
    api?.removeAllListeners();
  }

  health(): { state: VenueHealthState; detail?: string | undefined } {
    if (this.guard.breakerState === 'open') return { state: 'circuit_open', detail: this.lastError };
    if (this.closed) return { state: 'down', detail: 'closed' };
    if (!this.connected) {
      return { state: 'down', detail: this.everConnected ? 'reconnecting to TWS' : 'not connected' };
    }
    if (this.guard.breakerState === 'half_open')
      return { state: 'degraded', detail: 'circuit breaker half-open' };
    return { state: 'up' };
  }

  rateLimiterStats(): RateLimiterStats {
    return this.limiter.stats;
  }

  rateLimitBudgets(): RateBudget[] {
    return this.limiter.budgets();
  }

  private onDisconnected(api: IBApi): void {
    if (api !== this.api) return;
    const was = this.connected;
    this.connected = false;
    const err = this.error('transient', `connection to TWS at ${this.endpoint()} lost`);
    for (const w of this.connectWaiters.splice(0)) w.reject(err);
    this.failAll(err);
    if (this.closed) return;
    if (was) {
      this.streamState('down', 'connection to TWS lost');
      this.log?.warn(`${this.id}: connection to TWS lost; reconnecting`);
    }
    if (this.everConnected) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== null) return;
    this.reconnectAttempt += 1;
    const delay = backoffDelay(
      this.reconnectAttempt,
      undefined,
      retryDefaults({
        initialDelayMs: this.reconnectOptions.initialDelayMs,
        maxDelayMs: this.reconnectOptions.maxDelayMs,
        random: this.random,
      }),
    );
    this.diag({
      type: 'reconnect',
      loop: 'tws',
      attempt: this.reconnectAttempt,
      delay_ms: delay,
      message: 'connection to TWS lost',
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.api?.removeAllListeners();
      this.connect().catch((err: unknown) => {
        this.lastError = messageOf(err);
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref?.();
  }

  /** Resolve when the session is connected again (or reject after `timeoutMs`). */
  private async whenConnected(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected) {
      if (this.closed) throw this.error('transient', 'session closed');
      if (Date.now() >= deadline) throw this.error('transient', `not connected to TWS at ${this.endpoint()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private failAll(err: VenueError): void {
    for (const w of this.acks.values()) w.reject(err);
    this.acks.clear();
    for (const w of this.cancels.values()) w.reject(err);
    this.cancels.clear();
    for (const w of this.ends.values()) w.reject(err);
    this.ends.clear();
  }

  private streamState(state: 'up' | 'down', reason?: string): void {
    const ts = this.clock.now();
    for (const stream of ['private', 'public'] as const) {
      this.diag({ type: 'stream', stream, state, reason });
      this.emit({
        kind: 'connection',
        state,
        stream,
        ...(reason !== undefined ? { reason } : {}),
        ts_event: ts,
      });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing
  // ------------------------------------------------------------------------------------------

  private error(kind: VenueError['kind'], message: string, cause?: unknown): VenueError {
    return new VenueError(kind, this.id, message, cause);
  }

  private diag(payload: VenueDiagnosticPayload): void {
    this.opts.onEvent?.({ ...payload, venue: this.id, account_id: this.account_id, ts: this.clock.now() });
  }

  private emit(event: VenueEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.log?.warn(`${this.id}: event handler failed`, { error: messageOf(err) });
      }
    }
  }

  /** Send one message to TWS, paced (one unit of IB's per-second budget). */
  private async send(fn: (api: IBApi) => unknown): Promise<void> {
    await this.limiter.acquireWeight(1);
    const api = this.api;
    if (api === null || !this.connected || !api.isConnected) {
      throw this.error('transient', `not connected to TWS at ${this.endpoint()}`);
    }
    fn(api);
  }

  private reqId(): number {
    const id = this.nextReqId;
    this.nextReqId = id >= 2_000_000_000 ? 1 : id + 1;
    return id;
  }

  /** Wait for the end marker `key` (reqId or a named list) after `start` sent the request. */
  private async untilEnd(operation: string, key: number | string, start: () => Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise<void>((resolve, reject) => {
      this.ends.set(key, { resolve, reject });
      timer = setTimeout(() => {
        this.ends.delete(key);
        reject(this.error('transient', `${operation}: no answer in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
    });
    try {
      await start();
      await done;
    } finally {
      clearTimeout(timer);
      this.ends.delete(key);
    }
  }

  private end(key: number | string): void {
    const w = this.ends.get(key);
    if (w === undefined) return;
    this.ends.delete(key);
    w.resolve();
  }

  private onError(err: Error, code: number, reqId: number): void {
    if (isInformational(code)) return;
    const text = err?.message ?? `error ${code}`;
    if (code === IB_CODES.CONNECT_FAIL || (code === IB_CODES.NOT_CONNECTED && !this.connected)) {
      for (const w of this.connectWaiters.splice(0)) w.reject(this.error('transient', `connect: ${text}`));
      return;
    }
    const kind = errorKindOf(code);
    const ve = this.error(kind, `${text} (IB error ${code})`, err);
    if (code === IB_CODES.MAX_RATE && reqId < 0) {
      // TWS dropped a message without saying which: every request waiting for an answer may be
      // the one. Each fails as rate_limited (queries are retried after a back-off; a submit looks
      // its order up before sending again).
      this.lastError = ve.message;
      for (const w of this.ends.values()) w.reject(ve);
      this.ends.clear();
      for (const w of this.acks.values()) w.reject(ve);
      this.acks.clear();
      return;
    }
    // An order id's error: the order's answer (or cancel's), and its state.
    if (reqId >= 0 && (this.records.has(reqId) || this.acks.has(reqId) || this.cancels.has(reqId))) {
      this.onOrderError(reqId, code, text, ve);
      return;
    }
    const pending = this.ends.get(reqId);
    if (pending !== undefined) {
      this.ends.delete(reqId);
      pending.reject(ve);
      return;
    }
    if (code === IB_CODES.CONNECTIVITY_LOST)
      this.log?.warn(`${this.id}: TWS lost its connection to IB`, { code });
    if (reqId >= 0 && this.keyOfTicker.has(reqId)) {
      this.log?.warn(`${this.id}: market data of ${this.keyOfTicker.get(reqId)} refused: ${text}`, { code });
      return;
    }
    this.lastError = ve.message;
    this.log?.warn(`${this.id}: ${text}`, { code, req_id: reqId });
  }

  private onOrderError(orderId: number, code: number, text: string, ve: VenueError): void {
    const cancel = this.cancels.get(orderId);
    if (cancel !== undefined && (code === IB_CODES.CANNOT_CANCEL || code === IB_CODES.CANCEL_UNKNOWN_ORDER)) {
      this.cancels.delete(orderId);
      cancel.reject(ve);
      return;
    }
    // Taken first: the state change below must not answer the submit as accepted.
    const ack = this.acks.get(orderId);
    if (ack !== undefined && code !== IB_CODES.ORDER_CANCELLED) this.acks.delete(orderId);
    if (code === IB_CODES.ORDER_CANCELLED) {
      this.updateRecord(orderId, (r) =>
        withOrderStatus(r, 'Cancelled', undefined, undefined, this.clock.now()),
      );
      return;
    }
    if (ve.kind === 'rejected' && !isKnownOrderId(code)) {
      const r = this.records.get(orderId);
      if (r !== undefined && r.ibStatus === null) {
        this.updateRecord(orderId, (x) => ({
          ...x,
          ibStatus: 'Inactive',
          reason: text,
          ts_event: this.clock.now(),
        }));
      } else if (r !== undefined && !isFinal(stateOf(r).status) && code === IB_CODES.ORDER_REJECTED) {
        this.updateRecord(orderId, (x) => ({
          ...x,
          ibStatus: 'Inactive',
          reason: text,
          ts_event: this.clock.now(),
        }));
      }
    }
    if (ack !== undefined && code !== IB_CODES.ORDER_CANCELLED) {
      ack.reject(ve);
    } else if (ve.kind === 'rejected') {
      this.log?.warn(`${this.id}: order ${orderId}: ${text}`, { code });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Instruments
  // ------------------------------------------------------------------------------------------

  private instrumentOf(key: string): Instrument {
    const known = this.instruments.get(key);
    if (known !== undefined) return known;
    const parsed = parseInstrumentId(key);
    if (!parsed.success) throw this.error('rejected', `instrument ${key}: ${parsed.error.message}`);
    if (parsed.data.venue !== this.id)
      throw this.error('rejected', `instrument ${key} is not on venue ${this.id}`);
    let contract: IbContract;
    try {
      contract = toIbContract({ ...parsed.data, venue: 'IBKR' });
    } catch (err) {
      throw this.error('rejected', `instrument ${key}: ${messageOf(err)}`, err);
    }
    const inst: Instrument = { key, contract, conId: null, rules: null, schedule: null };
    this.instruments.set(key, inst);
    return inst;
  }

  private ibContract(inst: Instrument): Contract {
    const c = inst.contract;
    return {
      ...(inst.conId !== null ? { conId: inst.conId } : {}),
      secType: c.secType === 'STK' ? SecType.STK : SecType.FUT,
      symbol: c.symbol,
      currency: c.currency,
      exchange: c.exchange,
      ...(c.primaryExch !== undefined ? { primaryExch: c.primaryExch } : {}),
      ...(c.lastTradeDateOrContractMonth !== undefined
        ? { lastTradeDateOrContractMonth: c.lastTradeDateOrContractMonth }
        : {}),
    };
  }

  /** reqContractDetails for each key: conId, rules, trading hours. */
  private async loadContracts(keys: string[]): Promise<void> {
    for (const key of keys) {
      const inst = this.instrumentOf(key);
      const reqId = this.reqId();
      this.detailsCollect.set(reqId, []);
      try {
        await this.untilEnd('reqContractDetails', reqId, () =>
          this.send((api) => api.reqContractDetails(reqId, this.ibContract(inst))),
        );
        const d = this.detailsCollect.get(reqId)?.[0];
        if (d === undefined) {
          this.diag({ type: 'instrument_missing', instrument_key: key, symbol: inst.contract.symbol });
          this.log?.warn(`${this.id}: instrument ${key} is not listed at IB`);
          continue;
        }
        this.applyDetails(inst, d);
      } catch (err) {
        if (err instanceof VenueError && err.kind === 'rejected') {
          this.diag({ type: 'instrument_missing', instrument_key: key, symbol: inst.contract.symbol });
          this.log?.warn(`${this.id}: instrument ${key}: ${err.message}`);
          continue;
        }
        throw err;
      } finally {
        this.detailsCollect.delete(reqId);
      }
    }
  }

  private applyDetails(inst: Instrument, d: ContractDetails): void {
    const conId = d.contract?.conId;
    if (typeof conId === 'number' && conId > 0) {
      inst.conId = conId;
      this.keyByConId.set(conId, inst.key);
    }
    inst.rules = rulesFromContractDetails(inst.key, {
      minTick: d.minTick ?? 0,
      minSize: d.minSize,
      sizeIncrement: d.sizeIncrement,
      multiplier: d.contract?.multiplier,
    });
    const hours = d.tradingHours ?? '';
    if (hours !== '') {
      try {
        inst.schedule = parseTradingHours(hours, d.timeZoneId ?? 'UTC');
      } catch (err) {
        inst.schedule = null;
        this.log?.warn(`${this.id}: trading hours of ${inst.key} unreadable`, {
          error: messageOf(err),
          hours,
        });
      }
    }
  }

  /** The configured key of a contract IB reports (by conId, else by its fields). */
  private keyOf(c: Contract): string | null {
    if (typeof c.conId === 'number') {
      const k = this.keyByConId.get(c.conId);
      if (k !== undefined) return k;
    }
    const secType = String(c.secType ?? '');
    const symbol = String(c.symbol ?? '').trim();
    for (const inst of this.instruments.values()) {
      const ic = inst.contract;
      if (ic.secType !== secType || ic.symbol !== symbol || ic.currency !== (c.currency ?? ic.currency))
        continue;
      if (
        ic.secType === 'FUT' &&
        (c.lastTradeDateOrContractMonth ?? '').slice(0, 8) !== ic.lastTradeDateOrContractMonth
      ) {
        continue;
      }
      return inst.key;
    }
    try {
      const key = fromIbContract({
        secType: secType === 'FUT' ? 'FUT' : 'STK',
        symbol,
        currency: c.currency ?? '',
        exchange: c.exchange ?? '',
        primaryExch: c.primaryExch,
        lastTradeDateOrContractMonth: c.lastTradeDateOrContractMonth,
      });
      return this.id === 'IBKR' ? key : key.replace(/^IBKR:/, `${this.id}:`);
    } catch {
      return null;
    }
  }

  async fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]> {
    this.assertReady('fetchInstrumentRules');
    const missing = instrumentKeys.filter((k) => this.instrumentOf(k).rules === null);
    if (missing.length > 0) await this.guard.call('reqContractDetails', () => this.loadContracts(missing));
    return instrumentKeys.flatMap((k) => {
      const r = this.instruments.get(k)?.rules;
      return r === null || r === undefined ? [] : [r];
    });
  }

  private assertReady(operation: string): void {
    if (this.closed) throw this.error('transient', `${operation}: session closed`);
    if (!this.connected)
      throw this.error('transient', `${operation}: not connected to TWS (call connect() first)`);
  }

  // ------------------------------------------------------------------------------------------
  // Orders: state from openOrder / orderStatus
  // ------------------------------------------------------------------------------------------

  private updateRecord(orderId: number, f: (r: IbOrderRecord) => IbOrderRecord): void {
    const before = this.records.get(orderId);
    if (before === undefined) return;
    const after = f(before);
    this.records.set(orderId, after);
    const a = stateOf(after);
    const b = before.ibStatus === null ? null : stateOf(before);
    if (after.ibStatus !== null) {
      const ack = this.acks.get(orderId);
      if (ack !== undefined) {
        this.acks.delete(orderId);
        ack.resolve();
      }
      if (isFinal(a.status)) {
        const c = this.cancels.get(orderId);
        if (c !== undefined) {
          this.cancels.delete(orderId);
          c.resolve();
        }
      }
    }
    if (b === null || b.status !== a.status || b.filled_quantity !== a.filled_quantity) {
      if (after.ibStatus !== null) this.emit({ kind: 'order', order: a });
    }
  }

  private onOpenOrder(orderId: number, contract: Contract, order: Order, state: OrderState): void {
    this.openOrdersSeen?.add(orderId);
    const ref = order.orderRef ?? '';
    if (!this.records.has(orderId)) {
      if (ref === '') return; // not ours
      const key = this.keyOf(contract);
      if (key === null) return;
      this.records.set(orderId, {
        orderId,
        client_order_id: ref,
        instrument_key: key,
        side: order.action === 'SELL' ? 'SELL' : 'BUY',
        quantity: decimalOf(order.totalQuantity) ?? '0',
        ibStatus: null,
        filled: '0',
        avg_price: null,
        ts_event: this.clock.now(),
      });
      this.orderIdByClientId.set(ref, orderId);
    }
    const status: string | undefined = state?.status;
    // "Filled" in an open order carries no fill size: the orderStatus that follows does.
    if (typeof status === 'string' && status !== '' && status !== 'Filled') {
      this.updateRecord(orderId, (r) => withOrderStatus(r, status, undefined, undefined, this.clock.now()));
    }
  }

  /** A completed order: ours when its `orderRef` is set; a record still open here takes its final state. */
  private onCompletedOrder(contract: Contract, order: Order, state: OrderState): void {
    const ref = order.orderRef ?? '';
    const status: string = state?.status ?? '';
    if (ref === '' || status === '') return;
    const key = this.keyOf(contract);
    if (key === null) return;
    const filled = decimalOf(order.filledQuantity) ?? '0';
    this.completedSeen?.set(ref, {
      permId: order.permId ?? 0,
      client_order_id: ref,
      instrument_key: key,
      side: order.action === 'SELL' ? 'SELL' : 'BUY',
      quantity: decimalOf(order.totalQuantity) ?? '0',
      ibStatus: status,
      filled,
    });
    const id = this.orderIdByClientId.get(ref);
    if (id === undefined) this.completedElsewhere.add(ref);
    if (id === undefined) return;
    // Fills while away move the average price: unknown until the executions account for them all.
    this.updateRecord(id, (r) => {
      const next = withOrderStatus(r, status, Number(filled), undefined, this.clock.now());
      return toDec(next.filled).eq(r.filled) ? next : { ...next, avg_price: null };
    });
  }

  private onOrderStatus(orderId: number, status: string, filled: number, avgFillPrice: number): void {
    this.updateRecord(orderId, (r) => withOrderStatus(r, status, filled, avgFillPrice, this.clock.now()));
  }

  // ------------------------------------------------------------------------------------------
  // Fills
  // ------------------------------------------------------------------------------------------

  private onExecution(reqId: number, contract: Contract, e: Execution): void {
    const execId = e.execId ?? '';
    if (execId === '') return;
    this.execCollect.get(reqId)?.add(execId);
    if (this.settings.account && e.acctNumber && e.acctNumber !== this.settings.account) return;
    let trade: VenueTrade | null;
    try {
      const key = this.keyOf(contract);
      if (key === null)
        throw new RangeError(`contract ${contract.symbol ?? '?'} ${contract.secType ?? ''} unknown`);
      const quantity = decimalOf(e.shares);
      const price = decimalOf(e.price);
      if (quantity === null || price === null) throw new RangeError('execution without shares or price');
      const ts = parseIbTime(e.time, this.settings.time_zone ?? 'UTC');
      const orderId = e.orderId ?? 0;
      const ref = e.orderRef ?? this.records.get(orderId)?.client_order_id ?? '';
      trade = this.joiner.execution({
        exec_id: execId,
        order_id: orderId,
        order_ref: ref,
        instrument_key: key,
        side: sideOfExecution(e.side),
        quantity,
        price,
        liquidity: liquidityOf(e.lastLiquidity as number | undefined),
        ts_event: ts,
      });
      this.lastExecMs = Math.max(this.lastExecMs, nanosToMillis(ts));
      if (ref !== '' && !this.records.has(orderId) && orderId > 0) this.orderIdByClientId.set(ref, orderId);
    } catch (err) {
      this.diag({ type: 'parse_error', source: 'execDetails', message: messageOf(err) });
      this.log?.warn(`${this.id}: unreadable execution ${execId}`, { error: messageOf(err) });
      return;
    }
    if (trade !== null) this.emit({ kind: 'trade', trade });
  }

  private onCommission(report: CommissionReport): void {
    const execId = report.execId ?? '';
    const fee = decimalOf(report.commission);
    if (execId === '' || fee === null) return; // unset: the report with the amount follows
    const trade = this.joiner.commission({ exec_id: execId, fee, fee_currency: report.currency ?? 'USD' });
    if (trade !== null) this.emit({ kind: 'trade', trade });
  }

  // ------------------------------------------------------------------------------------------
  // Queries
  // ------------------------------------------------------------------------------------------

  /** reqOpenOrders: the ids of the orders open now (records updated on the way). One query at a time. */
  private openOrderIds(): Promise<Set<number>> {
    if (this.openOrdersQuery !== null) return this.openOrdersQuery;
    const run = async () => {
      const seen = new Set<number>();
      this.openOrdersSeen = seen;
      try {
        await this.untilEnd('reqOpenOrders', OPEN_ORDERS_END, () => this.send((api) => api.reqOpenOrders()));
      } finally {
        this.openOrdersSeen = null;
      }
      return seen;
    };
    this.openOrdersQuery = run().finally(() => {
      this.openOrdersQuery = null;
    });
    return this.openOrdersQuery;
  }

  /**
   * reqCompletedOrders (API orders only): ours that are done, by client order id (records still
   * open here are finished on the way). One query at a time.
   */
  private completedOrders(): Promise<Map<string, CompletedOrder>> {
    if (this.completedQuery !== null) return this.completedQuery;
    const run = async () => {
      const seen = new Map<string, CompletedOrder>();
      this.completedSeen = seen;
      try {
        await this.untilEnd('reqCompletedOrders', COMPLETED_ORDERS_END, () =>
          this.send((api) => api.reqCompletedOrders(true)),
        );
      } finally {
        this.completedSeen = null;
      }
      return seen;
    };
    this.completedQuery = run().finally(() => {
      this.completedQuery = null;
    });
    return this.completedQuery;
  }

  /** reqExecutions since `sinceMs`: the trades read (joined with their commissions, waiting a little for late reports). */
  private async executions(sinceMs: number, clientOnly: boolean): Promise<VenueTrade[]> {
    const reqId = this.reqId();
    const ids = new Set<string>();
    this.execCollect.set(reqId, ids);
    const filter: ExecutionFilter = {
      ...(clientOnly ? { clientId: String(this.settings.client_id) } : {}),
      ...(this.account !== '' ? { acctCode: this.account } : {}),
      ...(sinceMs > 0 ? { time: executionFilterTime(sinceMs) } : {}),
    };
    try {
      await this.untilEnd('reqExecutions', reqId, () => this.send((api) => api.reqExecutions(reqId, filter)));
    } finally {
      this.execCollect.delete(reqId);
    }
    const deadline = Date.now() + this.commissionWaitMs;
    for (;;) {
      const missing = [...ids].filter((id) => this.joiner.completed(id) === undefined);
      if (missing.length === 0 || Date.now() >= deadline) {
        if (missing.length > 0) {
          this.log?.warn(`${this.id}: executions without a commission report yet`, { exec_ids: missing });
        }
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return [...ids].flatMap((id) => {
      const t = this.joiner.completed(id);
      return t === undefined ? [] : [t];
    });
  }

  /**
   * An order by our client id: the session's record, or IB's open orders, or its completed orders
   * (done while we were away: cancelled, filled, rejected), or the executions.
   */
  private async lookup(clientOrderId: string): Promise<VenueOrderState | null> {
    const known = this.orderIdByClientId.get(clientOrderId);
    const rec = known === undefined ? undefined : this.records.get(known);
    if (rec !== undefined && rec.ibStatus !== null) return stateOf(rec);
    await this.openOrderIds();
    const id = this.orderIdByClientId.get(clientOrderId);
    const open = id === undefined ? undefined : this.records.get(id);
    if (open !== undefined && open.ibStatus !== null) return stateOf(open);
    const done = (await this.completedOrders()).get(clientOrderId);
    const trades = (await this.executions(0, false)).filter((t) => t.client_order_id === clientOrderId);
    const first = trades[0];
    const filled = trades.reduce((s, t) => s.plus(t.quantity), toDec(0));
    const notional = trades.reduce((s, t) => s.plus(toDec(t.quantity).times(t.price)), toDec(0));
    if (done !== undefined) {
      // The fills read back give the average price when they account for the whole filled quantity.
      const avg = filled.gt(0) && filled.eq(done.filled) ? fmt(notional.div(filled)) : null;
      const base = {
        client_order_id: clientOrderId,
        instrument_key: done.instrument_key,
        side: done.side,
        quantity: done.quantity,
        ibStatus: done.ibStatus,
        filled: done.filled,
        avg_price: avg,
        ts_event: this.clock.now(),
      };
      const orderId = id ?? (first === undefined ? undefined : Number(first.venue_order_id));
      // Neither this session nor a fill knows its order id: IB's permanent id names it.
      if (orderId === undefined)
        return { ...stateOf({ ...base, orderId: 0 }), venue_order_id: `perm:${done.permId}` };
      const r: IbOrderRecord = { ...base, orderId };
      this.records.set(orderId, r);
      this.orderIdByClientId.set(clientOrderId, orderId);
      return stateOf(r);
    }
    if (first === undefined) return null;
    const orderId = Number(first.venue_order_id);
    const base: IbOrderRecord = open ?? {
      orderId,
      client_order_id: clientOrderId,
      instrument_key: first.instrument_key,
      side: first.side,
      quantity: fmt(filled),
      ibStatus: null,
      filled: '0',
      avg_price: null,
      ts_event: this.clock.now(),
    };
    const r: IbOrderRecord = {
      ...base,
      ibStatus: toDec(base.quantity).lte(filled) ? 'Filled' : (base.ibStatus ?? 'Submitted'),
      filled: fmt(filled),
      avg_price: fmt(notional.div(filled)),
      ts_event: this.clock.now(),
    };
    this.records.set(r.orderId, r);
    this.orderIdByClientId.set(clientOrderId, r.orderId);
    return stateOf(r);
  }

  /** Open orders and executions since the last seen: new trades and order changes reach the watcher. */
  private async gapFill(reason: 'connect' | 'reconnect'): Promise<void> {
    const started = Date.now();
    try {
      const open = await this.openOrderIds();
      // Orders open here but no longer at TWS were finished while we were away: their final state.
      await this.completedOrders();
      // From a minute before the last execution seen, or earlier for one still missing its commission.
      const waiting = this.joiner.waiting().map((e) => nanosToMillis(e.ts_event));
      const since = this.lastExecMs > 0 ? Math.min(this.lastExecMs - 60_000, ...waiting) : 0;
      const trades = await this.executions(since, false);
      this.averagePricesFrom(trades);
      this.diag({
        type: 'gap_fill',
        reason,
        orders: open.size,
        trades: trades.length,
        duration_ms: Date.now() - started,
        ok: true,
      });
    } catch (err) {
      this.diag({
        type: 'gap_fill',
        reason,
        orders: 0,
        trades: 0,
        duration_ms: Date.now() - started,
        ok: false,
        message: messageOf(err),
      });
      this.log?.warn(`${this.id}: gap fill failed`, { error: messageOf(err) });
    }
  }

  /** Records filled with no average price (fills while away): from the trades read, when they account for all. */
  private averagePricesFrom(trades: readonly VenueTrade[]): void {
    for (const r of this.records.values()) {
      if (r.avg_price !== null || !toDec(r.filled).gt(0)) continue;
      const mine = trades.filter((t) => t.venue_order_id === String(r.orderId));
      const qty = mine.reduce((s, t) => s.plus(t.quantity), toDec(0));
      if (!qty.eq(r.filled)) continue;
      const notional = mine.reduce((s, t) => s.plus(toDec(t.quantity).times(t.price)), toDec(0));
      this.records.set(r.orderId, { ...r, avg_price: fmt(notional.div(qty)) });
    }
  }

  /** By client order id alone: `orderRef` names one order of the account whatever the instrument. */
  async fetchOrder(clientOrderId: string, _instrumentKey: string): Promise<VenueOrderState | null> {
    this.assertReady('fetchOrder');
    const id = this.orderIdByClientId.get(clientOrderId);
    const rec = id === undefined ? undefined : this.records.get(id);
    if (rec !== undefined && rec.ibStatus !== null) return stateOf(rec);
    return this.guard.call('fetchOrder', () => this.lookup(clientOrderId));
  }

  async fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]> {
    this.assertReady('fetchOpenOrders');
    const ids = await this.guard.call('reqOpenOrders', () => this.openOrderIds());
    const out: VenueOrderState[] = [];
    for (const id of ids) {
      const r = this.records.get(id);
      if (r === undefined) continue;
      const s = stateOf(r);
      if (isFinal(s.status)) continue;
      if (instrumentKey !== undefined && s.instrument_key !== instrumentKey) continue;
      out.push(s);
    }
    return out;
  }

  async fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]> {
    this.assertReady('fetchTrades');
    const sinceMs = nanosToMillis(sinceNs);
    const trades = await this.guard.call('reqExecutions', () => this.executions(sinceMs, false));
    return trades
      .filter((t) => t.instrument_key === instrumentKey && t.ts_event >= sinceNs)
      .sort((a, b) => (a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : 0));
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    this.assertReady('fetchBalances');
    return this.guard.call('reqAccountSummary', async () => {
      const reqId = this.reqId();
      const rows: Array<{ account: string; tag: string; value: string; currency: string }> = [];
      this.summaryCollect.set(reqId, rows);
      try {
        await this.untilEnd('reqAccountSummary', reqId, () =>
          this.send((api) => api.reqAccountSummary(reqId, 'All', 'TotalCashValue,AvailableFunds')),
        );
      } finally {
        this.summaryCollect.delete(reqId);
        await this.send((api) => api.cancelAccountSummary(reqId)).catch(() => undefined);
      }
      const by = new Map<string, { total: string | null; available: string | null }>();
      for (const r of rows) {
        if (this.account !== '' && r.account !== this.account) continue;
        const v = decimalOf(r.value);
        if (v === null || r.currency === '') continue;
        const b = by.get(r.currency) ?? { total: null, available: null };
        if (r.tag === 'TotalCashValue') b.total = v;
        if (r.tag === 'AvailableFunds') b.available = v;
        by.set(r.currency, b);
      }
      const out: VenueBalance[] = [];
      for (const [asset, b] of by) {
        if (b.total === null) continue;
        const free = b.available === null ? b.total : toDec(b.available).lt(b.total) ? b.available : b.total;
        out.push({ asset, free, total: b.total });
      }
      if (out.length === 0)
        throw this.error('transient', `reqAccountSummary: no cash value for account ${this.account}`);
      return out;
    });
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    this.assertReady('fetchPositions');
    if (this.positionsQuery !== null) return this.positionsQuery;
    const run = this.guard.call('reqPositions', async () => {
      const rows: NonNullable<typeof this.positionsCollect> = [];
      this.positionsCollect = rows;
      try {
        await this.untilEnd('reqPositions', 'positions', () => this.send((api) => api.reqPositions()));
      } finally {
        this.positionsCollect = null;
        await this.send((api) => api.cancelPositions()).catch(() => undefined);
      }
      const out: VenuePosition[] = [];
      for (const p of rows) {
        if (this.account !== '' && p.account !== this.account) continue;
        const qty = decimalOf(p.pos);
        if (qty === null || toDec(qty).isZero()) continue;
        const key = this.keyOf(p.contract);
        if (key === null) continue;
        // Stocks report no multiplier (0 or empty): one share is one unit.
        const reported = decimalOf(p.contract.multiplier);
        const mult =
          reported !== null && toDec(reported).gt(0)
            ? reported
            : (this.instruments.get(key)?.rules?.contract_size ?? '1');
        const cost = decimalOf(p.avgCost);
        out.push({
          instrument_key: key,
          quantity: qty,
          // IB's average cost is per contract (× multiplier): the entry price is per unit.
          entry_price: cost === null || toDec(mult).isZero() ? null : fmt(toDec(cost).div(mult)),
        });
      }
      return out;
    });
    this.positionsQuery = run.finally(() => {
      this.positionsQuery = null;
    });
    return this.positionsQuery;
  }

  // ------------------------------------------------------------------------------------------
  // Submit and cancel
  // ------------------------------------------------------------------------------------------

  async submit(req: VenueOrderRequest): Promise<VenueOrderState> {
    this.assertReady('submit');
    const inst = this.instrumentOf(req.instrument_key);
    if (inst.rules === null) await this.loadContracts([inst.key]);
    if (inst.rules === null) throw this.error('rejected', `instrument ${inst.key} is not listed at IB`);
    let fields: IbOrderFields;
    try {
      fields = ibOrderOf(req, inst.rules, this.account);
    } catch (err) {
      if (err instanceof IbOrderRefused) {
        throw this.error('rejected', `order ${req.client_order_id} on ${req.instrument_key}: ${err.message}`);
      }
      throw err;
    }

    // Sent before (this session, or found open / executed / completed at connect): never send before looking.
    const knownId = this.orderIdByClientId.get(req.client_order_id);
    if (knownId !== undefined || this.completedElsewhere.has(req.client_order_id)) {
      const found = await this.lookup(req.client_order_id);
      if (found !== null) return found;
    }
    const orderId = knownId ?? this.nextOrderId++;
    const contract = this.ibContract(inst);
    const order = fields as unknown as Order;
    if (knownId === undefined) {
      this.records.set(orderId, {
        orderId,
        client_order_id: req.client_order_id,
        instrument_key: inst.key,
        side: req.side,
        quantity: fmt(toDec(req.quantity)),
        ibStatus: null,
        filled: '0',
        avg_price: null,
        ts_event: this.clock.now(),
      });
      this.orderIdByClientId.set(req.client_order_id, orderId);
    }

    return this.place(req.client_order_id, orderId, contract, order);
  }

  /**
   * The contract's trading sessions from its details; read again once the clock passes the horizon
   * (IB lists about a week). Null: IB lists no readable hours (no gate). The adapter never refuses
   * or holds an order by them: the execution core's session gate does (shared/execution/session.ts).
   */
  async tradingSchedule(instrumentKey: string): Promise<TradingSchedule | null> {
    this.assertReady('tradingSchedule');
    let inst: Instrument;
    try {
      inst = this.instrumentOf(instrumentKey);
    } catch (err) {
      // Not an instrument of this venue: no sessions to gate by; `submit` refuses it with the reason.
      if (err instanceof VenueError && err.kind === 'rejected') return null;
      throw err;
    }
    const stale = inst.schedule !== null && this.clock.now() >= inst.schedule.horizon;
    if (inst.rules === null || stale)
      await this.guard.call('reqContractDetails', () => this.loadContracts([inst.key]));
    return inst.schedule;
  }

  /** placeOrder and wait for the first answer; an unknown outcome is looked up before any resend. */
  private async place(
    clientOrderId: string,
    orderId: number,
    contract: Contract,
    order: Order,
  ): Promise<VenueOrderState> {
    let last: VenueError | null = null;
    for (let attempt = 1; attempt <= this.submitAttempts; attempt++) {
      try {
        const ack = this.waitFor(this.acks, orderId, this.ackTimeoutMs, 'placeOrder');
        ack.catch(() => undefined);
        await this.guard.once('placeOrder', () =>
          this.send((api) => api.placeOrder(orderId, contract, order)),
        );
        await ack;
        const r = this.records.get(orderId);
        if (r === undefined) throw this.error('transient', `order ${orderId} vanished`);
        return stateOf(r);
      } catch (err) {
        const e = err instanceof VenueError ? err : this.error('transient', messageOf(err), err);
        const known = /IB error (\d+)\)$/.exec(e.message);
        const exists = known !== null && isKnownOrderId(Number(known[1]));
        if (e.kind === 'rejected' && !exists) throw e;
        last = e;
        // Outcome unknown (or a duplicate order id): look it up once the session is back.
        await this.whenConnected(this.requestTimeoutMs).catch(() => undefined);
        const found = this.connected ? await this.lookup(clientOrderId).catch(() => null) : null;
        if (found !== null) {
          this.diag({
            type: 'submit_recovery',
            client_order_id: clientOrderId,
            outcome: exists ? 'duplicate_found' : 'found',
            attempt,
            message: e.message,
          });
          return found;
        }
        if (attempt < this.submitAttempts) {
          this.diag({
            type: 'submit_recovery',
            client_order_id: clientOrderId,
            outcome: 'resend',
            attempt,
            message: e.message,
          });
          this.log?.warn(`${this.id}: submit ${clientOrderId} outcome unknown → resend`, {
            attempt,
            message: e.message,
          });
        }
      }
    }
    throw last ?? this.error('transient', `placeOrder ${clientOrderId}: outcome unknown`);
  }

  private waitFor(
    map: Map<number, Waiter>,
    orderId: number,
    timeoutMs: number,
    operation: string,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (map.get(orderId) === w) map.delete(orderId);
        reject(this.error('transient', `${operation} ${orderId}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      const w: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      map.set(orderId, w);
    });
  }

  async cancel(clientOrderId: string, instrumentKey: string): Promise<VenueOrderState> {
    this.assertReady('cancel');
    let id = this.orderIdByClientId.get(clientOrderId);
    if (id === undefined) {
      const found = await this.guard.call('fetchOrder', () => this.lookup(clientOrderId));
      if (found === null)
        throw this.error('not_found', `cancel: order ${clientOrderId} on ${instrumentKey} is unknown`);
      if (isFinal(found.status)) return found;
      id = Number(found.venue_order_id);
    }
    const orderId = id;
    const rec = this.records.get(orderId);
    if (rec === undefined) throw this.error('not_found', `cancel: order ${clientOrderId} is unknown`);
    if (rec.ibStatus === null && !this.connected) throw this.error('transient', 'cancel: not connected');
    if (rec.ibStatus !== null && isFinal(stateOf(rec).status)) return stateOf(rec);
    const done = this.waitFor(this.cancels, orderId, this.ackTimeoutMs, 'cancelOrder');
    done.catch(() => undefined);
    await this.guard.once('cancelOrder', () => this.send((api) => api.cancelOrder(orderId)));
    try {
      await done;
    } catch (err) {
      if (err instanceof VenueError && err.kind === 'not_found' && rec.ibStatus === null) throw err;
      // Cannot cancel (already filled or cancelled) or no answer yet: the order's state says which.
      const now = this.records.get(orderId);
      if (now !== undefined && now.ibStatus !== null && isFinal(stateOf(now).status)) return stateOf(now);
      if (err instanceof VenueError && err.kind !== 'transient') {
        const found = await this.lookup(clientOrderId).catch(() => null);
        if (found !== null) return found;
        throw err;
      }
    }
    const after = this.records.get(orderId);
    if (after === undefined) throw this.error('not_found', `cancel: order ${clientOrderId} is unknown`);
    return stateOf(after);
  }

  // ------------------------------------------------------------------------------------------
  // Market data
  // ------------------------------------------------------------------------------------------

  async watch(instrumentKeys: string[], handler: (event: VenueEvent) => void): Promise<void> {
    this.assertReady('watch');
    this.handlers.add(handler);
    const ts = this.clock.now();
    for (const stream of ['private', 'public'] as const) {
      handler({ kind: 'connection', state: 'up', stream, ts_event: ts });
    }
    for (const key of instrumentKeys) {
      this.instrumentOf(key);
      this.watched.add(key);
      await this.subscribeQuotes(key, false);
    }
  }

  private async subscribeQuotes(key: string, again: boolean): Promise<void> {
    if (this.tickerOf.has(key) && !again) return;
    const inst = this.instrumentOf(key);
    const old = this.tickerOf.get(key);
    if (old !== undefined) this.keyOfTicker.delete(old);
    const ticker = this.reqId();
    this.tickerOf.set(key, ticker);
    this.keyOfTicker.set(ticker, key);
    await this.send((api) => api.reqMktData(ticker, this.ibContract(inst), '', false, false));
  }

  /** Top of book and last prints (real-time ids 0-5, delayed 66-71). */
  private onTick(ticker: number, field: number, value: number): void {
    const key = this.keyOfTicker.get(ticker);
    if (key === undefined) return;
    const v = decimalOf(value);
    if (v === null || toDec(v).lt(0)) return;
    const q = this.quotes.get(key) ?? { bid: null, ask: null, bidSize: null, askSize: null, last: null };
    const f = field >= 66 && field <= 71 ? field - 66 : field;
    // delayed ids 66..71 are bid, ask, last, bid size, ask size, last size
    const delayedMap = [1, 2, 4, 0, 3, 5];
    const id = field >= 66 && field <= 71 ? (delayedMap[f] ?? -1) : f;
    const ts = this.clock.now();
    switch (id) {
      case 1:
        q.bid = v;
        break;
      case 2:
        q.ask = v;
        break;
      case 0:
        q.bidSize = v;
        break;
      case 3:
        q.askSize = v;
        break;
      case 4:
        q.last = v;
        this.quotes.set(key, q);
        return;
      case 5: {
        if (q.last !== null && toDec(v).gt(0)) {
          const side = q.ask !== null && toDec(q.last).gte(q.ask) ? 'BUY' : 'SELL';
          this.emit({
            kind: 'public_trade',
            instrument_key: key,
            price: q.last,
            size: v,
            side,
            ts_event: ts,
          });
        }
        return;
      }
      default:
        return;
    }
    this.quotes.set(key, q);
    const book = this.bookOf(key, q, ts);
    if (book !== null) {
      this.emit({ kind: 'book', book });
      for (const wake of this.quoteWaiters.get(key)?.splice(0) ?? []) wake();
    }
  }

  private bookOf(key: string, q: Quote, ts: Nanos): VenueBook | null {
    if (q.bid === null || q.ask === null) return null;
    return {
      instrument_key: key,
      bids: toDec(q.bid).gt(0) ? [{ price: q.bid, size: q.bidSize ?? '0' }] : [],
      asks: toDec(q.ask).gt(0) ? [{ price: q.ask, size: q.askSize ?? '0' }] : [],
      ts_event: ts,
    };
  }

  /** Top of book (IB's `reqMktData` is level 1: one level a side whatever `depth` asks). */
  async fetchBook(instrumentKey: string, _depth: number): Promise<VenueBook> {
    this.assertReady('fetchBook');
    await this.subscribeQuotes(instrumentKey, false);
    const ready = () => {
      const q = this.quotes.get(instrumentKey);
      return q === undefined ? null : this.bookOf(instrumentKey, q, this.clock.now());
    };
    const now = ready();
    if (now !== null) return now;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            this.error('transient', `fetchBook ${instrumentKey}: no quote in ${this.requestTimeoutMs} ms`),
          ),
        this.requestTimeoutMs,
      );
      const list = this.quoteWaiters.get(instrumentKey) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.quoteWaiters.set(instrumentKey, list);
    });
    const book = ready();
    if (book === null) throw this.error('transient', `fetchBook ${instrumentKey}: no quote`);
    return book;
  }
}

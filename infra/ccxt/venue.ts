/**
 * The ccxt venue adapter: one session with one account on Binance spot (`binance`), Binance USDⓈ-M
 * futures (`binanceusdm`), Bybit, OKX or Deribit, implementing the Venue port with the same code
 * for all five (the differences live in dialects.ts and exchange-factory.ts). docs/venues.md has the
 * whole story; in short:
 *
 * - **connect**: measure the clock offset (server time at the midpoint of the request; refreshed
 *   every `timeSyncIntervalMs` and after a timestamp complaint) and load the markets of the
 *   configured instrument types;
 * - **submit**: `createOrder` with a venue-compliant client id derived from ours (client-ids.ts).
 *   When the outcome is unknown (timeout, 5xx, reset, 429) it never resends blindly: it backs off,
 *   looks the order up by client id, returns it when found and resends (same client id) only when
 *   the venue does not know it; a duplicate-client-id refusal means the order exists → look it up;
 * - **cancel**: idempotent — an order already canceled or filled returns its state;
 * - **queries** go through retry + circuit breaker + our rate limiter (resilience.ts) and throw a
 *   VenueError on failure (a failed balance query never reads as flat);
 * - **watch**: ccxt pro loops for orders and our trades (private) and books and prints (public);
 *   each (re)connect of the private stream runs a REST gap fill, and a private stream down for
 *   longer than `pollAfterMs` falls back to REST polling until it is back.
 *
 * No ccxt type leaves this module: payloads are parsed by parse.ts into the port's domain shapes.
 */
import type { Exchange } from 'ccxt';
import { toDec } from '../../shared/domain/decimal.ts';
import { fromCcxtSymbol, parseInstrumentId, toCcxtSymbol } from '../../shared/domain/instrument-id.ts';
import { millisToNanos, type Nanos, nanosToMillis } from '../../shared/domain/time.ts';
import type { VenueMode } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type {
  Venue,
  VenueBalance,
  VenueBook,
  VenueEvent,
  VenueHealthState,
  VenueInstrumentRules,
  VenueOrderRequest,
  VenueOrderState,
  VenuePosition,
  VenueTrade,
} from '../../shared/ports/venue.ts';
import { type ClientIdExchange, ourClientIdOf, venueClientIdOf } from './client-ids.ts';
import type {
  BreakerState,
  StreamKind,
  VenueDiagnosticEvent,
  VenueDiagnosticListener,
  VenueDiagnosticPayload,
  VenueDiagnosticsSnapshot,
} from './diagnostics.ts';
import { type Dialect, dialectOf } from './dialects.ts';
import { CcxtVenueError, isRetryableKind, parseRetryAfter, toVenueError } from './errors.ts';
import {
  type CcxtCredentials,
  type CcxtVenueSettings,
  createCcxtExchange,
  isCcxtExchangeId,
} from './exchange-factory.ts';
import { type RateBudget, type RateLimiterStats, VENUE_RATE_LIMITS, VenueRateLimiter } from './limits.ts';
import { numberForCcxt, onGrid, PRECISION_MODE } from './numbers.ts';
import {
  type CcxtOrder,
  type MarketInfo,
  marketInfoOf,
  type ParseContext,
  type ParsedOrder,
  PayloadError,
  parseBalances,
  parseBook,
  parseMyTrade,
  parseOrder,
  parsePositions,
  parsePublicTrade,
} from './parse.ts';
import { type BreakerOptions, CallGuard, type RetryOptions } from './resilience.ts';
import { type StreamOptions, streamDefaults, WatchSupervisor } from './streams.ts';

/** A venue's configuration as the adapter reads it (a `VenueConfig` from shared/config fits). */
export interface CcxtVenueConfig extends CcxtVenueSettings {
  readonly mode: VenueMode;
  readonly rate_limit_per_second: number;
}

export interface CcxtAccount extends CcxtCredentials {
  readonly account_id: string;
}

/** Message-first logger (the ExecutionLog shape; a pino logger adapts with `executionLog`). */
export interface CcxtVenueLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface CreateCcxtVenueOptions {
  venue: CcxtVenueConfig;
  account: CcxtAccount;
  clock: Clock;
  /** Instruments this session trades (canonical ids on this venue): markets, gap fill, polling, positions. */
  instrumentKeys: readonly string[];
  log?: CcxtVenueLog | undefined;
  /** Diagnostics (retries, breaker, reconnects, gap fills, clock offset) for events and metrics. */
  onEvent?: VenueDiagnosticListener | undefined;
  /** Runs on the ccxt exchange before the first request (tests: point its URLs at a local venue). */
  ccxtOverrides?: ((exchange: Exchange) => Promise<void> | void) | undefined;
  retry?: RetryOptions | undefined;
  breaker?: BreakerOptions | undefined;
  /** Our own request budget; default the venue's `rate_limit_per_second`. */
  rateLimitPerSecond?: number | undefined;
  /** ccxt per-request timeout (default 10,000 ms). */
  requestTimeoutMs?: number | undefined;
  streams?: StreamOptions | undefined;
  /** Clock offset refresh period (default 300,000 ms; 0 turns the refresh off). */
  timeSyncIntervalMs?: number | undefined;
  /** createOrder sends at most this many times per submit (default 4). */
  submitAttempts?: number | undefined;
  /**
   * Who paces REST calls: `venue` (default) — the venue's documented weight and order budgets
   * (limits.ts), waiting only when one is spent; `ccxt` — ccxt's fixed per-call throttle.
   */
  rateLimiter?: 'venue' | 'ccxt' | undefined;
}

/** The Venue port plus what the edge reads for health, metrics and the console. */
export interface CcxtVenue extends Venue {
  readonly exchange: ClientIdExchange;
  diagnostics(): VenueDiagnosticsSnapshot;
  /** The id the venue sees for one of our client order ids (client-ids.ts). */
  venueClientId(clientOrderId: string): string;
  /** The venue budgets' use and waits (null with `rateLimiter: 'ccxt'`). */
  rateLimiterStats(): RateLimiterStats | null;
  /** Each venue budget's use, limit, window and time to refill (null with `rateLimiter: 'ccxt'`). */
  rateLimitBudgets(): RateBudget[] | null;
}

const TRADE_PAGE = 100;
const TRADE_MAX_PAGES = 50;
const OPEN: ReadonlySet<string> = new Set(['NEW', 'PARTIALLY_FILLED']);

function isTerminal(s: VenueOrderState): boolean {
  return !OPEN.has(s.status);
}

/** Id maps keep at most this many entries (oldest dropped first): a long-running session stays bounded. */
const ID_MEMORY = 200_000;

function keep<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > ID_MEMORY) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Create a ccxt venue session (no network until `connect`). */
export function createCcxtVenue(opts: CreateCcxtVenueOptions): CcxtVenue {
  return new CcxtVenueSession(opts);
}

class CcxtVenueSession implements CcxtVenue {
  readonly id: string;
  readonly account_id: string;
  readonly mode: VenueMode;
  readonly exchange: ClientIdExchange;

  private readonly ex: Exchange;
  private readonly dialect: Dialect;
  private readonly guard: CallGuard;
  private rateLimiter: VenueRateLimiter | null = null;
  private readonly clock: Clock;
  private readonly log: CcxtVenueLog | undefined;
  private readonly onEvent: VenueDiagnosticListener | undefined;
  private readonly streamOptions: Required<StreamOptions>;
  private readonly supervisor: WatchSupervisor;
  private readonly ctx: ParseContext;

  private readonly instrumentKeys: string[];
  private readonly marketsByKey = new Map<string, MarketInfo>();
  private readonly marketsBySymbol = new Map<string, MarketInfo>();
  private readonly keyBySymbol = new Map<string, string>();

  /** Hashed venue client ids → ours (compact and identity forms decode without it). */
  private readonly hashedIds = new Map<string, string>();
  private readonly clientIdByOrderId = new Map<string, string>();
  private readonly orderIdByClientId = new Map<string, string>();
  /** Orders last seen open: checked by the gap fill when they drop out of the open list. */
  private readonly knownOpen = new Map<string, string>();
  /** Client ids this session has sent: a second submit looks them up first. */
  private readonly attempted = new Map<string, true>();

  private connected = false;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private timeSync: NodeJS.Timeout | null = null;
  private readonly timeSyncIntervalMs: number;
  private readonly submitAttempts: number;
  private clockOffsetMs: number | null = null;
  private clockRttMs: number | null = null;
  private lastError: VenueDiagnosticsSnapshot['last_error'] = null;
  private readonly counters: VenueDiagnosticsSnapshot['counters'] = {
    retries: 0,
    failures: 0,
    reconnects: 0,
    gap_fills: 0,
    submit_recoveries: 0,
    parse_errors: 0,
  };

  // watch state
  private readonly handlers = new Set<(event: VenueEvent) => void>();
  private readonly watchKeys = new Set<string>();
  private watchStartMs: number | null = null;
  private lastTradeMs: number | null = null;
  private privateEverUp = false;
  private readyWaiters: Array<() => void> = [];
  private pollStart: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private gapFillRunning: Promise<void> | null = null;
  private gapFillQueued: 'connect' | 'reconnect' | 'poll' | null = null;

  constructor(private readonly opts: CreateCcxtVenueOptions) {
    const v = opts.venue;
    if (!isCcxtExchangeId(v.exchange)) {
      throw new RangeError(`venue ${v.id}: exchange "${v.exchange}" has no ccxt adapter`);
    }
    this.id = v.id;
    this.account_id = opts.account.account_id;
    this.mode = v.mode;
    this.exchange = v.exchange;
    this.clock = opts.clock;
    this.log = opts.log;
    this.onEvent = opts.onEvent;
    this.instrumentKeys = [...opts.instrumentKeys];
    for (const key of this.instrumentKeys) this.checkVenueOf(key);
    this.ex = createCcxtExchange(v, opts.account, {
      instrumentKeys: this.instrumentKeys,
      ...(opts.requestTimeoutMs !== undefined ? { timeoutMs: opts.requestTimeoutMs } : {}),
    });
    this.dialect = dialectOf(v.exchange);
    if (opts.rateLimiter !== 'ccxt') {
      const limiter = new VenueRateLimiter(VENUE_RATE_LIMITS[v.exchange]);
      this.rateLimiter = limiter;
      // Every REST call ccxt makes pays its endpoint weight to the venue's budgets, not ccxt's throttle.
      this.ex.throttle = (cost?: number) => limiter.acquireWeight(typeof cost === 'number' ? cost : 1);
      // WebSocket subscription messages go out as soon as the socket is open (a few per stream),
      // without ccxt's per-socket throttle: a throttled send that outlives its socket rejects
      // where nothing catches it (ccxt 4.5 \`watch\`), while an unthrottled one reports to the client.
      const ws: Record<string, unknown> = { ...(this.ex.options.ws ?? {}) };
      ws.throttle = undefined;
      this.ex.options.ws = ws;
    }
    this.timeSyncIntervalMs = opts.timeSyncIntervalMs ?? 300_000;
    this.submitAttempts = Math.max(1, opts.submitAttempts ?? 4);
    this.streamOptions = streamDefaults(opts.streams);
    this.guard = new CallGuard(
      {
        venue: this.id,
        onRetry: (operation, attempt, delayMs, err) => {
          this.counters.retries += 1;
          this.emitDiag({
            type: 'retry',
            operation,
            attempt,
            delay_ms: delayMs,
            error_kind: err.kind,
            message: err.message,
          });
        },
        onFailure: (operation, err) => {
          if (err.kind === 'not_found') return;
          this.counters.failures += 1;
          this.lastError = { operation, kind: err.kind, message: err.message, ts: this.clock.now() };
          this.emitDiag({ type: 'call_failed', operation, error_kind: err.kind, message: err.message });
        },
        onBreaker: (state, reason) => {
          this.emitDiag({ type: 'breaker', state, reason });
          if (state === 'open') this.log?.warn(`${this.id}: circuit breaker open`, { reason });
          else this.log?.info(`${this.id}: circuit breaker ${state}`);
        },
        retryAfterMs: () => parseRetryAfter(this.ex.last_response_headers?.['Retry-After'], Date.now()),
        beforeCall: (operation) => this.rateLimiter?.acquireOrder(operation),
        afterCall: () => this.rateLimiter?.observeHeaders(this.ex.last_response_headers),
        resyncClock: () => this.syncClock(),
      },
      {
        ratePerSecond: opts.rateLimitPerSecond ?? v.rate_limit_per_second,
        ...(opts.retry !== undefined ? { retry: opts.retry } : {}),
        ...(opts.breaker !== undefined ? { breaker: opts.breaker } : {}),
      },
    );
    this.supervisor = new WatchSupervisor(
      {
        socketsOpen: () => {
          const clients = Object.values(this.ex.clients ?? {});
          // isOpen() throws while a client has no connection object yet.
          const open = (c: { isOpen(): boolean }) => {
            try {
              return c.isOpen();
            } catch {
              return false;
            }
          };
          return clients.length > 0 && clients.every(open);
        },
        onStreamUp: (stream) => this.onStreamUp(stream),
        onStreamDown: (stream, reason) => this.onStreamDown(stream, reason),
        onReconnect: (loop, attempt, delayMs, message) => {
          this.counters.reconnects += 1;
          this.emitDiag({ type: 'reconnect', loop, attempt, delay_ms: delayMs, message });
        },
        onHandlerError: (loop, err) => this.parseFailed(loop, err),
        random: this.guard.retryOptions.random,
      },
      this.streamOptions,
    );
    this.ctx = {
      now: () => this.clock.now(),
      market: (symbol) => this.marketForSymbol(symbol),
      instrumentKey: (symbol) => this.keyForSymbol(symbol),
      venueClientId: (order: CcxtOrder) => this.dialect.venueClientId(order),
      ourClientId: (venueClientId) => ourClientIdOf(venueClientId, this.hashedIds),
      clientIdOfOrder: (venueOrderId) => this.clientIdByOrderId.get(venueOrderId) ?? null,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError('connect'));
    if (this.connected) return Promise.resolve();
    if (this.connecting === null) {
      this.connecting = this.doConnect().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    await this.opts.ccxtOverrides?.(this.ex);
    // ccxt pro refuses plain ws:// (local venues) until its http agent is loaded.
    await this.ex.loadHttpProxyAgent();
    await this.syncClock();
    await this.guard.call('loadMarkets', () => this.ex.loadMarkets());
    this.indexMarkets();
    if (this.timeSyncIntervalMs > 0) {
      this.timeSync = setInterval(() => void this.syncClock(), this.timeSyncIntervalMs);
      this.timeSync.unref();
    }
    this.connected = true;
    this.log?.info(`${this.id}: connected`, {
      exchange: this.exchange,
      account_id: this.account_id,
      markets: this.marketsByKey.size,
      clock_offset_ms: this.clockOffsetMs,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    if (this.timeSync !== null) clearInterval(this.timeSync);
    this.stopPolling();
    for (const wake of this.readyWaiters) wake();
    this.readyWaiters = [];
    await this.supervisor.stop(() => this.ex.close());
    await this.gapFillRunning?.catch(() => undefined);
  }

  health(): { state: VenueHealthState; detail?: string | undefined } {
    const breaker = this.guard.breakerState;
    if (breaker === 'open') return { state: 'circuit_open', detail: this.lastError?.message };
    if (this.closed) return { state: 'down', detail: 'closed' };
    if (!this.connected) return { state: 'down', detail: 'not connected' };
    if (breaker === 'half_open') return { state: 'degraded', detail: 'circuit breaker half-open' };
    const priv = this.supervisor.state('private');
    if (priv === 'down') {
      return {
        state: 'degraded',
        detail: `private stream down${this.pollTimer !== null ? ', polling' : ''}`,
      };
    }
    if (priv === 'connecting') return { state: 'degraded', detail: 'private stream connecting' };
    const pub = this.supervisor.state('public');
    if (pub === 'down' || pub === 'connecting') return { state: 'degraded', detail: `public stream ${pub}` };
    return { state: 'up' };
  }

  diagnostics(): VenueDiagnosticsSnapshot {
    return {
      venue: this.id,
      account_id: this.account_id,
      exchange: this.exchange,
      connected: this.connected,
      breaker: this.guard.breakerState,
      streams: { private: this.supervisor.state('private'), public: this.supervisor.state('public') },
      polling: this.pollTimer !== null,
      clock_offset_ms: this.clockOffsetMs,
      clock_rtt_ms: this.clockRttMs,
      last_error: this.lastError,
      counters: { ...this.counters },
    };
  }

  rateLimiterStats(): RateLimiterStats | null {
    return this.rateLimiter?.stats ?? null;
  }

  rateLimitBudgets(): RateBudget[] | null {
    return this.rateLimiter?.budgets() ?? null;
  }

  venueClientId(clientOrderId: string): string {
    return venueClientIdOf(this.exchange, clientOrderId).id;
  }

  /**
   * Local clock minus venue clock at the midpoint of a server-time request (more exact than ccxt's
   * `loadTimeDifference`, which takes the end of the request), written to `options.timeDifference`
   * where ccxt's request signing reads it. A failure keeps the previous offset.
   */
  private async syncClock(): Promise<void> {
    if (this.ex.has.fetchTime !== true || this.closed) return;
    try {
      const before = Date.now();
      const server = await this.ex.fetchTime();
      const after = Date.now();
      if (typeof server !== 'number' || !Number.isFinite(server)) throw new Error('no server time');
      const offset = Math.round((before + after) / 2 - server);
      this.ex.options.timeDifference = offset;
      this.clockOffsetMs = offset;
      this.clockRttMs = after - before;
      this.emitDiag({ type: 'clock_offset', offset_ms: offset, rtt_ms: after - before });
    } catch (err) {
      this.emitDiag({ type: 'clock_offset_failed', message: messageOf(err) });
      this.log?.warn(`${this.id}: clock offset not measured`, { error: messageOf(err) });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Markets and instruments
  // ------------------------------------------------------------------------------------------

  private checkVenueOf(key: string): void {
    const parsed = parseInstrumentId(key);
    if (!parsed.success) {
      throw new CcxtVenueError('rejected', this.id, `instrument ${key}: ${parsed.error.message}`);
    }
    if (parsed.data.venue !== this.id) {
      throw new CcxtVenueError('rejected', this.id, `instrument ${key} is not on venue ${this.id}`);
    }
  }

  private indexMarkets(): void {
    this.marketsByKey.clear();
    this.marketsBySymbol.clear();
    this.keyBySymbol.clear();
    for (const key of this.instrumentKeys) {
      const symbol = toCcxtSymbol(key);
      const raw: unknown = this.ex.markets?.[symbol];
      if (raw === undefined) {
        this.emitDiag({ type: 'instrument_missing', instrument_key: key, symbol });
        this.log?.warn(`${this.id}: instrument ${key} (${symbol}) is not listed`);
        continue;
      }
      const info = marketInfoOf(raw, key, this.precisionMode(), this.dialect.amountInContracts);
      this.marketsByKey.set(key, info);
      this.marketsBySymbol.set(symbol, info);
      this.keyBySymbol.set(symbol, key);
    }
  }

  /** ccxt's precision mode of the exchange (TICK_SIZE on all five today). */
  private precisionMode(): number {
    return this.ex.precisionMode ?? PRECISION_MODE.TICK_SIZE;
  }

  private keyForSymbol(symbol: string): string {
    return this.keyBySymbol.get(symbol) ?? fromCcxtSymbol(this.id, symbol);
  }

  private marketForSymbol(symbol: string): MarketInfo | null {
    const known = this.marketsBySymbol.get(symbol);
    if (known !== undefined) return known;
    const raw: unknown = this.ex.markets?.[symbol];
    if (raw === undefined) return null;
    try {
      const info = marketInfoOf(
        raw,
        this.keyForSymbol(symbol),
        this.precisionMode(),
        this.dialect.amountInContracts,
      );
      this.marketsBySymbol.set(symbol, info);
      return info;
    } catch {
      return null;
    }
  }

  /**
   * The market of an instrument key, or a 'rejected' VenueError. Keys that name the same
   * instrument (`…@LIN` or not) find the same market, reported under the configured spelling.
   */
  private instrument(key: string): MarketInfo {
    const known = this.marketsByKey.get(key);
    if (known !== undefined) return known;
    this.checkVenueOf(key);
    const symbol = toCcxtSymbol(key);
    const same = this.marketsBySymbol.get(symbol);
    if (same !== undefined && this.keyBySymbol.has(symbol)) return same;
    const raw: unknown = this.ex.markets?.[symbol];
    if (raw === undefined) {
      throw new CcxtVenueError(
        'rejected',
        this.id,
        `instrument ${key} (${symbol}) is not listed on ${this.id}`,
      );
    }
    const info = marketInfoOf(raw, key, this.precisionMode(), this.dialect.amountInContracts);
    this.marketsBySymbol.set(symbol, info);
    this.keyBySymbol.set(symbol, key);
    return info;
  }

  private assertReady(operation: string): void {
    if (this.closed) throw this.closedError(operation);
    if (!this.connected) {
      throw new CcxtVenueError('transient', this.id, `${operation}: not connected (call connect() first)`);
    }
  }

  private closedError(operation: string): CcxtVenueError {
    return new CcxtVenueError('transient', this.id, `${operation}: session closed`);
  }

  // ------------------------------------------------------------------------------------------
  // Parsing helpers
  // ------------------------------------------------------------------------------------------

  private parsed<T>(source: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.parseFailed(source, err);
      throw new CcxtVenueError('transient', this.id, `${source}: ${messageOf(err)}`, {
        cause: err,
        ccxtClass: err instanceof Error ? err.name : 'PayloadError',
      });
    }
  }

  private parseFailed(source: string, err: unknown): void {
    this.counters.parse_errors += 1;
    this.emitDiag({ type: 'parse_error', source, message: messageOf(err) });
    this.log?.warn(`${this.id}: unreadable ${source}`, { error: messageOf(err) });
  }

  /** Keep the id maps and the open-order set current with an order we saw. */
  private remember(state: VenueOrderState): VenueOrderState {
    if (state.client_order_id !== '') {
      keep(this.clientIdByOrderId, state.venue_order_id, state.client_order_id);
      keep(this.orderIdByClientId, state.client_order_id, state.venue_order_id);
      if (isTerminal(state)) this.knownOpen.delete(state.client_order_id);
      else this.knownOpen.set(state.client_order_id, state.instrument_key);
    }
    return state;
  }

  private parseOrderOf(raw: unknown, fallback: Parameters<typeof parseOrder>[2] = {}): ParsedOrder {
    const p = this.parsed('order', () => parseOrder(raw, this.ctx, fallback));
    this.remember(p.state);
    return p;
  }

  private venueIdFor(clientOrderId: string): string {
    const v = venueClientIdOf(this.exchange, clientOrderId);
    if (v.form === 'hashed') keep(this.hashedIds, v.id, clientOrderId);
    return v.id;
  }

  // ------------------------------------------------------------------------------------------
  // Orders
  // ------------------------------------------------------------------------------------------

  async submit(req: VenueOrderRequest): Promise<VenueOrderState> {
    this.assertReady('submit');
    const market = this.instrument(req.instrument_key);
    const args = this.orderArgs(req, market);
    const venueClientId = this.venueIdFor(req.client_order_id);
    const fallback = {
      instrument_key: req.instrument_key,
      side: req.side,
      quantity: req.quantity,
      client_order_id: req.client_order_id,
    };
    const params = { ...args.params, ...this.dialect.clientIdParams(venueClientId) };

    // Sent before by this session (a retry of ours or of the caller): never send before looking.
    if (this.attempted.has(req.client_order_id)) {
      const found = await this.lookup(market, venueClientId, fallback);
      if (found !== null) return found;
    }
    keep(this.attempted, req.client_order_id, true);

    let lastError: CcxtVenueError | null = null;
    for (let attempt = 1; attempt <= this.submitAttempts; attempt++) {
      try {
        const raw = await this.guard.once('createOrder', () =>
          this.ex.createOrder(market.symbol, args.type, args.side, args.amount, args.price, params),
        );
        const p = this.parseOrderOf(raw, fallback);
        if (p.complete) return p.state;
        // An ids-only acknowledgement: read the order back for its state (accepted either way).
        return (await this.lookup(market, venueClientId, fallback).catch(() => null)) ?? p.state;
      } catch (err) {
        const e = toVenueError(this.id, 'createOrder', err);
        if (e.duplicate) {
          const found = await this.lookup(market, venueClientId, fallback);
          if (found !== null) {
            this.recovery(req.client_order_id, 'duplicate_found', attempt, e.message);
            return found;
          }
          throw e;
        }
        if (!isRetryableKind(e.kind)) {
          this.noteFailure('createOrder', e);
          throw e;
        }
        lastError = e;
        const delay = this.guard.delayFor(attempt, e);
        if (delay === null || attempt === this.submitAttempts) break;
        this.counters.retries += 1;
        this.emitDiag({
          type: 'retry',
          operation: 'createOrder',
          attempt,
          delay_ms: delay,
          error_kind: e.kind,
          message: e.message,
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
        // The order may have reached the venue: look before sending again.
        const found = await this.lookup(market, venueClientId, fallback);
        if (found !== null) {
          this.recovery(req.client_order_id, 'found', attempt, e.message);
          return found;
        }
        this.recovery(req.client_order_id, 'resend', attempt, e.message);
      }
    }
    // Still unknown after every attempt: a last look, then give up (the caller may submit again,
    // which looks first because the id is in `attempted`).
    const found = await this.lookup(market, venueClientId, fallback).catch(() => null);
    if (found !== null) {
      this.recovery(req.client_order_id, 'found', this.submitAttempts, lastError?.message ?? '');
      return found;
    }
    const e = lastError ?? new CcxtVenueError('transient', this.id, 'createOrder: outcome unknown');
    this.noteFailure('createOrder', e);
    throw e;
  }

  private noteFailure(operation: string, e: CcxtVenueError): void {
    this.counters.failures += 1;
    this.lastError = { operation, kind: e.kind, message: e.message, ts: this.clock.now() };
    this.emitDiag({ type: 'call_failed', operation, error_kind: e.kind, message: e.message });
  }

  private recovery(
    clientOrderId: string,
    outcome: 'found' | 'resend' | 'duplicate_found',
    attempt: number,
    message: string,
  ): void {
    this.counters.submit_recoveries += 1;
    this.emitDiag({ type: 'submit_recovery', client_order_id: clientOrderId, outcome, attempt, message });
    this.log?.warn(`${this.id}: submit ${clientOrderId} outcome unknown → ${outcome}`, { attempt, message });
  }

  /** ccxt createOrder arguments for a request; a 'rejected' VenueError when the venue could not take it. */
  private orderArgs(
    req: VenueOrderRequest,
    market: MarketInfo,
  ): {
    type: 'market' | 'limit';
    side: 'buy' | 'sell';
    amount: number;
    price: number | undefined;
    params: Record<string, unknown>;
  } {
    const reject = (why: string) =>
      new CcxtVenueError(
        'rejected',
        this.id,
        `order ${req.client_order_id} on ${req.instrument_key}: ${why}`,
      );
    let qty: ReturnType<typeof toDec>;
    try {
      qty = toDec(req.quantity);
    } catch {
      throw reject(`quantity ${req.quantity} is not a decimal`);
    }
    if (!qty.gt(0)) throw reject(`quantity ${req.quantity} must be positive`);
    // ccxt would silently truncate to the step: refuse instead of trading another size.
    if (market.step !== null && !onGrid(req.quantity, market.step)) {
      throw reject(`quantity ${req.quantity} is not a multiple of the step size ${market.step}`);
    }
    const params: Record<string, unknown> = {};
    let price: number | undefined;
    if (req.order_type === 'LIMIT') {
      if (req.price === null) throw reject('a LIMIT order needs a price');
      if (!toDec(req.price).gt(0)) throw reject(`price ${req.price} must be positive`);
      if (market.tick !== null && !onGrid(req.price, market.tick)) {
        throw reject(`price ${req.price} is not a multiple of the tick size ${market.tick}`);
      }
      try {
        price = numberForCcxt(req.price);
      } catch (err) {
        throw reject(messageOf(err));
      }
      switch (req.time_in_force) {
        case 'GTC':
        case 'IOC':
        case 'FOK':
          params.timeInForce = req.time_in_force;
          break;
        case 'GTX':
          params.postOnly = true;
          break;
        case 'DAY':
          throw reject('time in force DAY is not offered by crypto venues');
      }
    } else if (req.time_in_force === 'GTX') {
      throw reject('a MARKET order cannot be post-only (GTX)');
    }
    let amount: number;
    try {
      amount = numberForCcxt(req.quantity);
    } catch (err) {
      throw reject(messageOf(err));
    }
    return {
      type: req.order_type === 'LIMIT' ? 'limit' : 'market',
      side: req.side === 'BUY' ? 'buy' : 'sell',
      amount,
      price,
      params,
    };
  }

  /** The order with this venue client id, or null when the venue does not know it. */
  private async lookup(
    market: MarketInfo,
    venueClientId: string,
    fallback: Parameters<typeof parseOrder>[2],
  ): Promise<VenueOrderState | null> {
    const raw = await this.guard.call('fetchOrderByClientId', () =>
      this.dialect.fetchByClientId(this.ex, market, venueClientId),
    );
    if (raw === null || raw === undefined) return null;
    return this.parseOrderOf(raw, fallback).state;
  }

  async fetchOrder(clientOrderId: string, instrumentKey: string): Promise<VenueOrderState | null> {
    this.assertReady('fetchOrder');
    const market = this.instrument(instrumentKey);
    return this.lookup(market, this.venueIdFor(clientOrderId), {
      instrument_key: instrumentKey,
      client_order_id: clientOrderId,
    });
  }

  async cancel(clientOrderId: string, instrumentKey: string): Promise<VenueOrderState> {
    this.assertReady('cancel');
    const market = this.instrument(instrumentKey);
    const venueClientId = this.venueIdFor(clientOrderId);
    const fallback = { instrument_key: instrumentKey, client_order_id: clientOrderId };
    let refusal: CcxtVenueError | null = null;
    try {
      let raw: unknown;
      const byClientId = this.dialect.cancelByClientId;
      if (byClientId !== null) {
        raw = await this.guard.call('cancelOrder', () => byClientId(this.ex, market, venueClientId));
      } else {
        let venueOrderId = this.orderIdByClientId.get(clientOrderId);
        if (venueOrderId === undefined) {
          const current = await this.lookup(market, venueClientId, fallback);
          if (current === null) {
            throw new CcxtVenueError(
              'not_found',
              this.id,
              `cancel: no order ${clientOrderId} (${venueClientId})`,
            );
          }
          if (isTerminal(current)) return current;
          venueOrderId = current.venue_order_id;
        }
        const id = venueOrderId;
        raw = await this.guard.call('cancelOrder', () => this.ex.cancelOrder(id, market.symbol));
      }
      const p = this.parseOrderOf(raw, fallback);
      if (p.complete && isTerminal(p.state)) return p.state;
    } catch (err) {
      const e = toVenueError(this.id, 'cancelOrder', err);
      // Unknown / already final orders come back as not_found or a rejection: read the state.
      if (e.kind !== 'not_found' && e.kind !== 'rejected') throw e;
      refusal = e;
    }
    const state = await this.lookup(market, venueClientId, fallback);
    if (state === null) {
      throw refusal ?? new CcxtVenueError('not_found', this.id, `cancel: no order ${clientOrderId}`);
    }
    if (refusal !== null && !isTerminal(state) && refusal.kind === 'rejected') throw refusal;
    return state;
  }

  private symbolsOf(instrumentKey?: string): Array<string | undefined> {
    if (instrumentKey !== undefined) return [this.instrument(instrumentKey).symbol];
    if (this.marketsByKey.size === 0) return [undefined];
    return [...this.marketsByKey.values()].map((m) => m.symbol);
  }

  async fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]> {
    this.assertReady('fetchOpenOrders');
    const out: VenueOrderState[] = [];
    for (const symbol of this.symbolsOf(instrumentKey)) {
      const list = await this.guard.call('fetchOpenOrders', () => this.ex.fetchOpenOrders(symbol));
      for (const raw of list) out.push(this.parseOrderOf(raw).state);
    }
    return out;
  }

  async fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]> {
    this.assertReady('fetchTrades');
    const market = this.instrument(instrumentKey);
    const byId = new Map<string, VenueTrade>();
    let since = Math.max(0, nanosToMillis(sinceNs));
    for (let page = 0; page < TRADE_MAX_PAGES; page++) {
      const from = since;
      const list = await this.guard.call('fetchMyTrades', () =>
        this.ex.fetchMyTrades(market.symbol, from, TRADE_PAGE),
      );
      let maxTs = from;
      for (const raw of list) {
        const t = this.parsed('trade', () => parseMyTrade(raw, this.ctx));
        byId.set(t.trade_id, t);
        maxTs = Math.max(maxTs, nanosToMillis(t.ts_event));
      }
      if (list.length < TRADE_PAGE || maxTs <= from) break;
      since = maxTs;
    }
    return [...byId.values()]
      .filter((t) => t.ts_event >= sinceNs)
      .sort((a, b) => (a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : 0));
  }

  // ------------------------------------------------------------------------------------------
  // Account and market queries
  // ------------------------------------------------------------------------------------------

  async fetchBalances(): Promise<VenueBalance[]> {
    this.assertReady('fetchBalances');
    const raw = await this.guard.call('fetchBalance', () => this.ex.fetchBalance());
    return this.parsed('balance', () => parseBalances(raw));
  }

  /**
   * Derivatives from ccxt `fetchPositions` (signed contracts); spot pairs the session trades as the
   * total balance of their base asset (a spot "position" is a holding), without an entry price.
   */
  async fetchPositions(): Promise<VenuePosition[]> {
    this.assertReady('fetchPositions');
    const spot: MarketInfo[] = [];
    const derivs: MarketInfo[] = [];
    for (const m of this.marketsByKey.values()) (m.contract ? derivs : spot).push(m);
    const out: VenuePosition[] = [];
    if (derivs.length > 0) {
      if (this.ex.has.fetchPositions !== true) {
        throw new CcxtVenueError('rejected', this.id, 'fetchPositions: the exchange cannot list positions');
      }
      const symbols = derivs.map((m) => m.symbol);
      const raw = await this.guard.call('fetchPositions', () => this.ex.fetchPositions(symbols));
      out.push(...this.parsed('positions', () => parsePositions(raw, this.ctx)));
    }
    if (spot.length > 0) {
      const balances = await this.fetchBalances();
      for (const m of spot) {
        const b = balances.find((x) => x.asset === m.base);
        if (b !== undefined && !toDec(b.total).isZero()) {
          out.push({ instrument_key: m.instrument_key, quantity: b.total, entry_price: null });
        }
      }
    }
    return out;
  }

  /** Rules of the listed instruments (markets reloaded); instruments the venue does not list are left out. */
  async fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]> {
    this.assertReady('fetchInstrumentRules');
    await this.guard.call('loadMarkets', () => this.ex.loadMarkets(true));
    this.indexMarkets();
    const out: VenueInstrumentRules[] = [];
    for (const key of instrumentKeys) {
      this.checkVenueOf(key);
      const symbol = toCcxtSymbol(key);
      const raw: unknown = this.ex.markets?.[symbol];
      if (raw === undefined) {
        this.emitDiag({ type: 'instrument_missing', instrument_key: key, symbol });
        continue;
      }
      out.push(
        this.parsed('market', () =>
          marketInfoOf(raw, key, this.precisionMode(), this.dialect.amountInContracts),
        ).rules,
      );
    }
    return out;
  }

  async fetchBook(instrumentKey: string, depth: number): Promise<VenueBook> {
    this.assertReady('fetchBook');
    const market = this.instrument(instrumentKey);
    const limit = this.dialect.bookLimit(Math.max(1, depth));
    const raw = await this.guard.call('fetchOrderBook', () => this.ex.fetchOrderBook(market.symbol, limit));
    return this.parsed('order book', () => parseBook(raw, instrumentKey, market, depth, this.ctx));
  }

  // ------------------------------------------------------------------------------------------
  // Streams
  // ------------------------------------------------------------------------------------------

  async watch(instrumentKeys: string[], handler: (event: VenueEvent) => void): Promise<void> {
    this.assertReady('watch');
    const markets = instrumentKeys.map((k) => this.instrument(k));
    this.handlers.add(handler);
    for (const m of markets) this.watchKeys.add(m.instrument_key);
    const o = this.streamOptions;
    let waitForPrivate = false;
    // Without credentials (a SHADOW venue's market-data session) there is no private stream.
    const credentials = Boolean(this.opts.account.api_key && this.opts.account.api_secret);
    if (o.private && credentials && !this.supervisor.has('orders')) {
      this.watchStartMs = Date.now();
      waitForPrivate = true;
      this.supervisor.add({
        name: 'orders',
        stream: 'private',
        call: () => this.ex.watchOrders(),
        onData: (orders) => this.onOrders(orders),
      });
      this.supervisor.add({
        name: 'myTrades',
        stream: 'private',
        call: () => this.ex.watchMyTrades(),
        onData: (trades) => this.onMyTrades(trades),
      });
    }
    if (o.public) {
      for (const m of markets) {
        this.supervisor.add({
          name: `book:${m.instrument_key}`,
          stream: 'public',
          call: () => this.ex.watchOrderBook(m.symbol),
          onData: (book) =>
            this.dispatch({
              kind: 'book',
              book: parseBook(book, m.instrument_key, m, o.bookDepth, this.ctx),
            }),
        });
        this.supervisor.add({
          name: `trades:${m.instrument_key}`,
          stream: 'public',
          call: () => this.ex.watchTrades(m.symbol),
          onData: (trades) => this.onPublicTrades(trades),
        });
      }
    }
    if (waitForPrivate && this.supervisor.state('private') !== 'up') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, o.readyTimeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.readyWaiters.push(done);
      });
    }
  }

  private dispatch(event: VenueEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.log?.warn(`${this.id}: venue event handler failed`, { error: messageOf(err), kind: event.kind });
      }
    }
  }

  private eachItem(data: unknown, source: string, fn: (item: unknown) => void): void {
    if (!Array.isArray(data)) {
      this.parseFailed(source, new PayloadError(source, 'expected a list'));
      return;
    }
    for (const item of data) {
      try {
        fn(item);
      } catch (err) {
        this.parseFailed(source, err);
      }
    }
  }

  private onOrders(data: unknown): void {
    this.eachItem(data, 'order update', (raw) => {
      const state = this.remember(parseOrder(raw, this.ctx).state);
      this.dispatch({ kind: 'order', order: state });
    });
  }

  private noteTrade(t: VenueTrade): void {
    const ms = nanosToMillis(t.ts_event);
    if (this.lastTradeMs === null || ms > this.lastTradeMs) this.lastTradeMs = ms;
  }

  private onMyTrades(data: unknown): void {
    this.eachItem(data, 'trade update', (raw) => {
      const trade = parseMyTrade(raw, this.ctx);
      this.noteTrade(trade);
      this.dispatch({ kind: 'trade', trade });
    });
  }

  private onPublicTrades(data: unknown): void {
    this.eachItem(data, 'public trade', (raw) => {
      this.dispatch({ kind: 'public_trade', ...parsePublicTrade(raw, this.ctx) });
    });
  }

  private onStreamUp(stream: StreamKind): void {
    const ts = this.clock.now();
    this.emitDiag({ type: 'stream', stream, state: 'up' });
    this.dispatch({ kind: 'connection', state: 'up', stream, ts_event: ts });
    if (stream !== 'private') return;
    for (const wake of this.readyWaiters) wake();
    this.readyWaiters = [];
    this.stopPolling();
    const reason = this.privateEverUp ? 'reconnect' : 'connect';
    this.privateEverUp = true;
    void this.gapFill(reason);
  }

  private onStreamDown(stream: StreamKind, reason: string): void {
    const ts = this.clock.now();
    this.emitDiag({ type: 'stream', stream, state: 'down', reason });
    this.dispatch({ kind: 'connection', state: 'down', stream, reason, ts_event: ts });
    if (stream !== 'private' || this.closed) return;
    if (this.pollStart === null && this.pollTimer === null) {
      this.pollStart = setTimeout(() => {
        this.pollStart = null;
        if (this.closed || this.supervisor.state('private') === 'up') return;
        this.emitDiag({ type: 'polling', state: 'started' });
        this.log?.warn(`${this.id}: private stream still down, polling REST`);
        this.pollTimer = setInterval(() => void this.gapFill('poll'), this.streamOptions.pollIntervalMs);
        void this.gapFill('poll');
      }, this.streamOptions.pollAfterMs);
    }
  }

  private stopPolling(): void {
    if (this.pollStart !== null) {
      clearTimeout(this.pollStart);
      this.pollStart = null;
    }
    if (this.pollTimer !== null) {
      clearInterval(this.pollTimer);
      this.pollTimer = null;
      this.emitDiag({ type: 'polling', state: 'stopped' });
    }
  }

  /**
   * Orders and trades the stream may have missed: the open orders, the final state of orders that
   * were open and no longer are, and our trades since the last one seen (minus a margin). Events
   * may repeat ones already delivered; consumers de-duplicate (trades by trade_id).
   */
  private gapFill(reason: 'connect' | 'reconnect' | 'poll'): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.gapFillRunning !== null) {
      this.gapFillQueued = reason;
      return this.gapFillRunning;
    }
    const run = this.runGapFill(reason).finally(() => {
      this.gapFillRunning = null;
      const next = this.gapFillQueued;
      this.gapFillQueued = null;
      if (next !== null && !this.closed) void this.gapFill(next);
    });
    this.gapFillRunning = run;
    return run;
  }

  private async runGapFill(reason: 'connect' | 'reconnect' | 'poll'): Promise<void> {
    const started = performance.now();
    let orders = 0;
    let trades = 0;
    try {
      const keys = this.watchKeys.size > 0 ? [...this.watchKeys] : [...this.marketsByKey.keys()];
      const open = new Set<string>();
      for (const key of keys) {
        for (const o of await this.fetchOpenOrders(key)) {
          open.add(o.client_order_id);
          orders += 1;
          this.dispatch({ kind: 'order', order: o });
        }
      }
      for (const [clientOrderId, key] of [...this.knownOpen.entries()]) {
        if (open.has(clientOrderId) || this.closed) continue;
        const state = await this.fetchOrder(clientOrderId, key);
        if (state === null) {
          this.knownOpen.delete(clientOrderId);
          continue;
        }
        orders += 1;
        this.dispatch({ kind: 'order', order: state });
      }
      const fromMs = (this.lastTradeMs ?? this.watchStartMs ?? Date.now()) - this.streamOptions.gapMarginMs;
      for (const key of keys) {
        for (const t of await this.fetchTrades(key, millisToNanos(Math.max(0, fromMs)))) {
          trades += 1;
          this.noteTrade(t);
          this.dispatch({ kind: 'trade', trade: t });
        }
      }
      this.counters.gap_fills += 1;
      this.emitDiag({
        type: 'gap_fill',
        reason,
        orders,
        trades,
        duration_ms: Math.round(performance.now() - started),
        ok: true,
      });
    } catch (err) {
      this.emitDiag({
        type: 'gap_fill',
        reason,
        orders,
        trades,
        duration_ms: Math.round(performance.now() - started),
        ok: false,
        message: messageOf(err),
      });
      this.log?.warn(`${this.id}: gap fill (${reason}) failed`, { error: messageOf(err) });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Diagnostics
  // ------------------------------------------------------------------------------------------

  private emitDiag(event: VenueDiagnosticPayload): void {
    if (this.onEvent === undefined) return;
    try {
      const full: VenueDiagnosticEvent = {
        ...event,
        venue: this.id,
        account_id: this.account_id,
        ts: this.clock.now(),
      };
      this.onEvent(full);
    } catch (err) {
      this.log?.warn(`${this.id}: diagnostics listener failed`, { error: messageOf(err) });
    }
  }

  /** For tests and the console: the breaker's state. */
  get breakerState(): BreakerState {
    return this.guard.breakerState;
  }
}

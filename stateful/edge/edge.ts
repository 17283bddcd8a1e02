/**
 * The venue edge: the stateful service's shell around the venue sessions of every LIVE (and
 * SHADOW) venue. It consumes `orders.routed` (submits and cancels), runs direct orders and the
 * TWAP / VWAP / ICEBERG scheduler with durable state, records what the venues report through the
 * ExecutionRecorder, honours the trading state within one poll (≤ 1 s), and publishes the market and
 * venue state the router and risk read. See docs/venue-edge.md.
 *
 *   const edge = createVenueEdge({ config, venues, orders, positions, bus, clock, recorder,
 *                                  algoStates, tradingState, market, instruments, log, metrics });
 *   await edge.start();   // recover from the stores, subscribe, connect, resume with the venues
 *   ...
 *   await edge.stop();    // timers, subscriptions, in-flight work, venue sessions
 */
import type { AlgoState } from '../../shared/algos/types.ts';
import { KeyedMutex, SILENT_EXECUTION_LOG } from '../../shared/app/execution-recorder.ts';
import {
  ROUTED_TOPIC,
  type RoutedMessage,
  RoutedMessageSchema,
  routedSubmitMessage,
} from '../../shared/app/messages.ts';
import {
  RISK_STATE_TOPIC,
  tradingStateAttributes,
  tradingStateMessage,
  type VenueDiagnosticMessage,
} from '../../shared/app/venue-edge-messages.ts';
import { tradingStateFor } from '../../shared/app/venue-edge-rules.ts';
import type { VenueConfig } from '../../shared/config/schema.ts';
import { Dec } from '../../shared/domain/decimal.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../shared/domain/time.ts';
import type { TradingState } from '../../shared/domain/types.ts';
import type { BusMessage, HandlerOutcome, Subscription } from '../../shared/ports/event-bus.ts';
import { DEFAULT_LEDGER_SCOPE } from '../../shared/ports/risk-ledger-store.ts';
import type { TradingStateSnapshot } from '../../shared/ports/trading-state-store.ts';
import { effectiveTradingState } from '../../shared/ports/trading-state-store.ts';
import { riskLimitsFromConfig } from '../../shared/risk/config.ts';
import { ownEntry } from '../../shared/risk/ledger.ts';
import { compiledLimits } from '../../shared/risk/limits.ts';
import { pushRecent } from '../../shared/risk/recent.ts';
import {
  type SessionContext,
  type SessionSettings,
  UnknownRoutedOrderError,
  VenueSession,
} from './session.ts';
import type { EdgeLog, VenueEdgeDeps, VenueEdgeOptions, VenueSessionStatus } from './types.ts';

export const DEFAULT_ROUTED_SUBSCRIPTION = 'venue-edge.orders.routed';
export const DEFAULT_RISK_STATE_SUBSCRIPTION = 'venue-edge.risk.state';

/** A diagnostic as the venue adapters report it (infra/ccxt/diagnostics.ts `VenueDiagnosticEvent`). */
export interface VenueDiagnosticInput {
  type: string;
  venue: string;
  account_id: string;
  ts: Nanos;
}

export interface VenueEdge {
  /** Venue ids this edge serves. */
  readonly venueIds: readonly string[];
  start(): Promise<void>;
  /** Stop timers and subscriptions, finish in-flight work, close the venue sessions. Idempotent. */
  stop(): Promise<void>;
  /** Everything due now (tests drive it with a TestClock when `tickMs` is 0). */
  tick(): Promise<void>;
  /** Handle one `orders.routed` message (what the subscription calls). */
  handleRouted(msg: BusMessage): Promise<HandlerOutcome>;
  /** Feed a venue adapter's diagnostic (retry, breaker, stream, gap fill, ...): log, metric, `exec.orders`. */
  onVenueDiagnostic(event: VenueDiagnosticInput): void;
  /** Per venue: ok + detail, for `GET /api/health` (`venue:<id>`) and `/healthz`. */
  health(): Promise<Record<string, { ok: boolean; detail?: string }>>;
  /** Ready to take orders: started, subscribed, every venue connected with its private stream not down. */
  readiness(): { ready: boolean; reasons: string[] };
  status(): VenueSessionStatus[];
  /** Algorithm states running at a venue (parent operation id → state), for views and tests. */
  algorithms(venueId: string): ReadonlyMap<string, AlgoState>;
  /** Wait until no task is in flight (tests). */
  idle(): Promise<void>;
}

export function createVenueEdge(deps: VenueEdgeDeps, options: VenueEdgeOptions = {}): VenueEdge {
  return new Edge(deps, options);
}

class Edge implements VenueEdge {
  readonly venueIds: string[];
  private readonly d: VenueEdgeDeps;
  private readonly log: EdgeLog;
  private readonly sessions = new Map<string, VenueSession>();
  private readonly locks = new KeyedMutex();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly opts: VenueEdgeOptions;
  private readonly settings: SessionSettings;
  private readonly pollNs: Nanos;
  private readonly initialState: TradingState;

  private routedSub: Subscription | null = null;
  private riskSub: Subscription | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private started = false;
  private stopped = false;
  private ticking: Promise<void> | null = null;
  private lastTradingPoll: Nanos | null = null;
  /** Times child orders went to a venue (ascending), across the edge and per strategy: velocity. */
  private recentGlobal: string[] = [];
  private readonly recentByStrategy = new Map<string, string[]>();
  private tradingReadable = true;
  private tradingError: string | null = null;
  /** Versions of trading states already seen (scope key → version). */
  private readonly seenVersions = new Map<string, { version: number; state: TradingState }>();

  constructor(deps: VenueEdgeDeps, options: VenueEdgeOptions) {
    this.d = deps;
    this.log = deps.log ?? SILENT_EXECUTION_LOG;
    this.opts = options;
    const cfg = deps.config;
    const pollMs = options.tradingStatePollMs ?? cfg.risk.trading_state_poll_ms;
    if (!Number.isInteger(pollMs) || pollMs < 1 || pollMs > 1000) {
      throw new RangeError(`tradingStatePollMs must be an integer in [1, 1000], got ${pollMs}`);
    }
    this.pollNs = BigInt(pollMs) * NANOS_PER_MILLI;
    this.initialState = cfg.risk.initial_trading_state;
    this.settings = {
      tickMs: Math.max(0, Math.trunc(options.tickMs ?? cfg.algorithms.scheduler_tick_ms)),
      fillGraceMs: Math.max(0, options.fillGraceMs ?? 1000),
      retryInitialMs: Math.max(1, options.retryInitialMs ?? 500),
      retryMaxMs: Math.max(1, options.retryMaxMs ?? 30_000),
      orderPollMs: Math.max(0, options.orderPollMs ?? 30_000),
      bookPublishMs: Math.max(0, options.bookPublishMs ?? 1000),
      marketRawMs: Math.max(0, options.marketRawMs ?? 1000),
      bookPollMs: Math.max(0, options.bookPollMs ?? 5000),
      venueStateMs: Math.max(0, options.venueStateMs ?? 5000),
      balancesMs: Math.max(0, options.balancesMs ?? 15_000),
      seed: Math.trunc(options.seed ?? cfg.backtest.seed) >>> 0,
    };
    const ctx: SessionContext = {
      deps,
      log: this.log,
      metrics: deps.metrics ?? null,
      settings: this.settings,
      locks: this.locks,
      tradingStateFor: (strategyId) => this.tradingStateOf(strategyId),
      tradingStatesFor: (strategyId) => this.tradingStatesOf(strategyId),
      workingQuantities: (key, exclude, strategyId) => this.workingQuantities(key, exclude, strategyId),
      limits: compiledLimits(riskLimitsFromConfig(cfg.risk)),
      recentOrders: (strategyId) => ({
        global: this.recentGlobal.map(BigInt),
        strategy: (this.recentByStrategy.get(strategyId) ?? []).map(BigInt),
      }),
      noteOrder: (strategyId, at) => {
        this.recentGlobal = pushRecent(this.recentGlobal, at, null);
        this.recentByStrategy.set(
          strategyId,
          pushRecent(this.recentByStrategy.get(strategyId) ?? [], at, null),
        );
      },
      strategyPosition: async (key, strategyId) => {
        if (deps.riskLedger === undefined) return null;
        const ledger = await deps.riskLedger.get(DEFAULT_LEDGER_SCOPE);
        const strat = ownEntry(ledger.strategies, strategyId);
        return strat === undefined ? '0' : (ownEntry(strat.books, key)?.position ?? '0');
      },
      track: (task) => this.track(task),
    };
    for (const [id, venue] of deps.venues) {
      const vc: VenueConfig | undefined = cfg.venues.find((v) => v.id === id);
      if (vc === undefined) throw new RangeError(`venue ${id} has a session but is not in the configuration`);
      if (vc.mode === 'SIMULATED') {
        throw new RangeError(`venue ${id} is SIMULATED: it runs as a simulated venue, not behind the edge`);
      }
      if (venue.id !== id) throw new RangeError(`the session for ${id} says it is venue ${venue.id}`);
      this.sessions.set(id, new VenueSession(vc, venue, ctx));
    }
    this.venueIds = [...this.sessions.keys()];
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      // 1. What our stores say is working here (no venue call yet): events can be matched from now.
      for (const s of this.sessions.values()) await s.load();
      // 2. The trading state before anything is sent.
      await this.pollTradingState(true);
      // 3. Routed messages (a message meanwhile waits on its order's lock).
      this.routedSub = await this.d.bus.subscribe(
        ROUTED_TOPIC,
        this.opts.subscription ?? DEFAULT_ROUTED_SUBSCRIPTION,
        (msg) => this.handleRouted(msg),
      );
      if (this.opts.listenRiskState ?? true) {
        this.riskSub = await this.d.bus.subscribe(
          RISK_STATE_TOPIC,
          DEFAULT_RISK_STATE_SUBSCRIPTION,
          async () => {
            // Someone changed the trading state: re-read it now rather than at the next poll.
            this.d.tradingState.invalidate?.();
            this.lastTradingPoll = null;
            this.track(this.tick());
            return { kind: 'ack' };
          },
        );
      }
      // 4. Connect, then settle everything in doubt with the venues.
      for (const s of this.sessions.values()) {
        await s.connect();
        await s.resume();
      }
      // 5. Routed orders never submitted (their message may be gone with an in-process bus).
      await this.submitStrandedRoutes();
      await this.idle();
      // Publish the venue state and books now: the router skips a LIVE venue without a fresh state.
      await this.tick();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
    if (this.settings.tickMs > 0) {
      this.timer = setInterval(() => {
        if (this.ticking === null) this.track(this.tick());
      }, this.settings.tickMs);
      this.timer.unref?.();
    }
    this.log.info(`venue edge started for ${this.venueIds.join(', ') || 'no venue'}`, {
      venues: this.venueIds,
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const errors: unknown[] = [];
    for (const sub of [this.routedSub, this.riskSub]) {
      try {
        await sub?.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.routedSub = null;
    this.riskSub = null;
    for (const s of this.sessions.values()) await s.stop();
    await this.idle();
    for (const s of this.sessions.values()) {
      try {
        await s.venue.close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking !== null) return this.ticking;
    const run = (async () => {
      try {
        await this.pollTradingState(false);
        for (const s of this.sessions.values()) {
          try {
            await s.tick();
          } catch (err) {
            this.log.warn(`venue edge tick of ${s.id} failed: ${errorText(err)}`, { venue: s.id });
          }
        }
      } finally {
        this.ticking = null;
      }
    })();
    this.ticking = run;
    return run;
  }

  // -------------------------------------------------------------------------------------------
  // orders.routed
  // -------------------------------------------------------------------------------------------

  async handleRouted(msg: BusMessage): Promise<HandlerOutcome> {
    let m: RoutedMessage;
    try {
      const r = RoutedMessageSchema.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
      if (!r.success) {
        const i = r.error.issues[0];
        return {
          kind: 'dead_letter',
          reason: `invalid_routed_message: ${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? 'invalid'}`,
        };
      }
      m = r.data;
    } catch (err) {
      return { kind: 'dead_letter', reason: `invalid_routed_message: ${errorText(err)}` };
    }
    const session = this.sessions.get(m.venue);
    if (session === undefined) return { kind: 'ack' }; // another venue's (a simulated venue, another edge)
    if (this.stopped) return { kind: 'nack' };
    try {
      await this.locks.run(m.operation_id, () =>
        m.action === 'submit' ? session.onSubmit(m) : session.onCancel(m),
      );
    } catch (err) {
      if (err instanceof UnknownRoutedOrderError) return { kind: 'dead_letter', reason: err.message };
      // A store, bus or venue failure: redelivered (every step is idempotent).
      this.log.warn(
        `routed ${m.action} of ${m.operation_id} failed (will be redelivered): ${errorText(err)}`,
        {
          venue: m.venue,
          operation_id: m.operation_id,
        },
      );
      throw err;
    }
    return { kind: 'ack' };
  }

  /** Orders routed to our venues but still PENDING (the route message may be lost): submit them. */
  private async submitStrandedRoutes(): Promise<void> {
    for (const s of this.sessions.values()) {
      const pending = await this.d.orders.query({ venue: s.id, status: 'PENDING', limit: 1000 });
      for (const o of pending.reverse()) {
        if (o.risk_approved !== true || o.parent_order_id !== null) continue;
        const m = routedSubmitMessage(o, null, this.d.clock.now());
        try {
          await this.locks.run(o.operation_id, () => s.onSubmit(m));
        } catch (err) {
          this.log.warn(`stranded route ${o.operation_id} could not be submitted: ${errorText(err)}`, {
            venue: s.id,
            operation_id: o.operation_id,
          });
        }
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Trading state
  // -------------------------------------------------------------------------------------------

  private async tradingStateOf(strategyId: string): Promise<TradingState | null> {
    try {
      const snap = await this.d.tradingState.snapshot();
      return tradingStateFor(snap, strategyId, this.initialState);
    } catch (err) {
      this.tradingError = `trading state cannot be read: ${errorText(err)}`;
      return null;
    }
  }

  private async tradingStatesOf(
    strategyId: string,
  ): Promise<{ trading_state: TradingState; strategy_trading_state: TradingState } | null> {
    try {
      return effectiveTradingState(await this.d.tradingState.snapshot(), strategyId, this.initialState);
    } catch (err) {
      this.tradingError = `trading state cannot be read: ${errorText(err)}`;
      return null;
    }
  }

  /** Re-read the trading state (≤ every poll), publish changes, cancel / pause / resume. */
  private async pollTradingState(force: boolean): Promise<void> {
    const now = this.d.clock.now();
    if (!force && this.lastTradingPoll !== null && now - this.lastTradingPoll < this.pollNs) return;
    this.lastTradingPoll = now;
    let snap: TradingStateSnapshot;
    try {
      snap = await this.d.tradingState.snapshot();
    } catch (err) {
      // Fail safe: without a readable state no new child order goes out (schedulers pause).
      this.tradingReadable = false;
      this.tradingError = `trading state cannot be read: ${errorText(err)}`;
      this.log.warn(`venue edge: ${this.tradingError}; algorithms pause until it can`, {});
      for (const s of this.sessions.values()) await s.applyTradingState(() => null);
      return;
    }
    this.tradingReadable = true;
    this.tradingError = null;
    await this.publishChanges(snap, now);
    for (const s of this.sessions.values()) {
      await s.applyTradingState((strategyId) => tradingStateFor(snap, strategyId, this.initialState));
    }
  }

  private async publishChanges(snap: TradingStateSnapshot, now: Nanos): Promise<void> {
    const serviceName = this.opts.serviceName ?? 'venue-edge';
    const scopes: Array<
      [
        string,
        { kind: 'global' } | { kind: 'strategy'; strategy_id: string },
        NonNullable<TradingStateSnapshot['global']>,
      ]
    > = [];
    if (snap.global !== null) scopes.push(['global', { kind: 'global' }, snap.global]);
    for (const [id, e] of Object.entries(snap.strategies))
      scopes.push([`strategy:${id}`, { kind: 'strategy', strategy_id: id }, e]);
    for (const [key, scope, entry] of scopes) {
      this.d.metrics?.tradingState.set({ scope: key }, RANK[entry.state]);
      const seen = this.seenVersions.get(key);
      if (seen !== undefined && seen.version >= entry.version) continue;
      const m = tradingStateMessage(entry, scope, seen?.state ?? null, serviceName, now);
      try {
        await this.d.bus.publish(RISK_STATE_TOPIC, m, tradingStateAttributes(m));
        this.seenVersions.set(key, { version: entry.version, state: entry.state });
        if (seen === undefined ? entry.state !== 'ACTIVE' : seen.state !== entry.state) {
          this.log.warn(
            `trading state ${key} is ${entry.state} (was ${seen?.state ?? 'unknown'}): ${entry.reason}`,
            {
              scope: key,
              state: entry.state,
              updated_by: entry.updated_by,
            },
          );
        }
      } catch (err) {
        this.log.warn(`risk.state change of ${key} not published (will retry): ${errorText(err)}`, {
          scope: key,
        });
      }
    }
    if (snap.global === null) this.d.metrics?.tradingState.set({ scope: 'global' }, RANK[this.initialState]);
  }

  private workingQuantities(
    instrumentKey: string,
    exclude: string,
    strategyId?: string,
  ): { buy: Dec; sell: Dec } {
    let buy = new Dec(0);
    let sell = new Dec(0);
    for (const s of this.sessions.values()) {
      const w = s.workingQuantities(instrumentKey, exclude, strategyId);
      buy = buy.plus(w.buy);
      sell = sell.plus(w.sell);
    }
    return { buy, sell };
  }

  // -------------------------------------------------------------------------------------------
  // Diagnostics, health
  // -------------------------------------------------------------------------------------------

  onVenueDiagnostic(event: VenueDiagnosticInput): void {
    const session = this.sessions.get(event.venue);
    if (session === undefined) return;
    session.onDiagnostic(diagnosticMessage(event));
  }

  async health(): Promise<Record<string, { ok: boolean; detail?: string }>> {
    const out: Record<string, { ok: boolean; detail?: string }> = {};
    for (const st of this.status()) {
      const problems: string[] = [];
      if (!this.started || this.stopped) problems.push(this.stopped ? 'edge stopped' : 'edge not started');
      if (!st.connected) problems.push('not connected');
      if (st.private_stream === 'down') problems.push('private stream down');
      if (st.health.startsWith('down') || st.health.startsWith('circuit_open')) problems.push(st.health);
      if (!this.tradingReadable && this.tradingError !== null) problems.push(this.tradingError);
      const detail = `${st.mode}, ${st.health}, streams private ${st.private_stream} / public ${st.public_stream}, ${st.working_orders} working orders, ${st.active_algorithms} algorithms${st.last_error ? `, last error: ${st.last_error}` : ''}`;
      out[st.venue] = {
        ok: problems.length === 0,
        detail: problems.length ? `${problems.join('; ')}; ${detail}` : detail,
      };
    }
    return out;
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.started) reasons.push('not started');
    if (this.stopped) reasons.push('stopped');
    if (this.started && !this.stopped && this.routedSub === null)
      reasons.push('orders.routed subscription not running');
    for (const st of this.status()) {
      if (!st.connected) reasons.push(`venue ${st.venue} not connected`);
      else if (st.private_stream === 'down') reasons.push(`venue ${st.venue} private stream down`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  status(): VenueSessionStatus[] {
    return [...this.sessions.values()].map((s) => s.status());
  }

  algorithms(venueId: string): ReadonlyMap<string, AlgoState> {
    return this.sessions.get(venueId)?.algorithms() ?? new Map();
  }

  private track(task: Promise<unknown>): void {
    const p = task.catch((err: unknown) => {
      this.log.warn(`venue edge task failed: ${errorText(err)}`, {});
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }
}

const RANK: Record<TradingState, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** A venue adapter's diagnostic as a bus message (flat detail, bigints as strings). */
export function diagnosticMessage(event: VenueDiagnosticInput): VenueDiagnosticMessage {
  const detail: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(event as object)) {
    if (k === 'type' || k === 'venue' || k === 'account_id' || k === 'ts') continue;
    if (v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) detail[k] = v;
    else if (typeof v === 'bigint') detail[k] = v.toString();
    else detail[k] = JSON.stringify(v);
  }
  return {
    type: 'venue_diagnostic',
    venue: event.venue,
    account_id: event.account_id,
    diagnostic: event.type,
    message: describeDiagnostic(event.type, event.venue, detail),
    detail,
    ts_event: event.ts.toString(),
  };
}

function describeDiagnostic(
  type: string,
  venue: string,
  d: Record<string, string | number | boolean | null>,
): string {
  switch (type) {
    case 'retry':
      return `venue ${venue}: ${d.operation} failed (${d.error_kind}: ${d.message}); retry ${d.attempt} in ${d.delay_ms} ms`;
    case 'call_failed':
      return `venue ${venue}: ${d.operation} failed for good (${d.error_kind}): ${d.message}`;
    case 'breaker':
      return `venue ${venue}: circuit breaker ${d.state}${d.reason ? ` (${d.reason})` : ''}`;
    case 'stream':
      return `venue ${venue}: ${d.stream} stream ${d.state}${d.reason ? ` (${d.reason})` : ''}`;
    case 'reconnect':
      return `venue ${venue}: ${d.loop} reconnecting (attempt ${d.attempt}, in ${d.delay_ms} ms): ${d.message}`;
    case 'gap_fill':
      return `venue ${venue}: gap fill (${d.reason}) ${d.ok ? 'done' : 'failed'}: ${d.orders} orders, ${d.trades} trades in ${d.duration_ms} ms`;
    case 'submit_recovery':
      return `venue ${venue}: submit of ${d.client_order_id} recovered (${d.outcome}, attempt ${d.attempt})`;
    default:
      return `venue ${venue}: ${type} ${JSON.stringify(d)}`;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

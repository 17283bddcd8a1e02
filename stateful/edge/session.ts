/**
 * One venue session of the edge: the orders this process works at one venue (LIVE through the ccxt
 * adapter, SHADOW through the shadow venue), its algorithm parents with their durable scheduler
 * state, and the venue's streams. Every change to one operation runs under that operation's lock
 * (in call order), so a routed message, a venue event, a timer and the trading-state poll never
 * interleave on the same order. Decisions come from the pure core (shared/algos, the order machine
 * through the ExecutionRecorder, shared/app/venue-edge-rules.ts); this file moves data between the
 * ports and the venue. See docs/venue-edge.md.
 */
import { filledQuantity, initAlgo, isDone, pendingActions } from '../../shared/algos/scheduler.ts';
import type {
  AlgoState,
  ChildOrder,
  ChildRecord,
  ChildUpdate,
  MarketSnapshot,
} from '../../shared/algos/types.ts';
import {
  type ExecutionOutcome,
  isLiveAtVenue,
  type KeyedMutex,
} from '../../shared/app/execution-recorder.ts';
import {
  ORDER_UPDATES_TOPIC,
  type RoutedSubmitMessage,
  type VenueCancelMessage,
  venueInstrumentKey,
} from '../../shared/app/messages.ts';
import {
  type ChildOrderMessage,
  childOrderAttributes,
  type VenueDiagnosticMessage,
  venueDiagnosticAttributes,
} from '../../shared/app/venue-edge-messages.ts';
import {
  childUpdateOf,
  fillOfTrade,
  isFinalAtVenue,
  missingFillQuantity,
  parentOutcome,
  venueOrderReports,
} from '../../shared/app/venue-edge-rules.ts';
import { outsideHoursPolicy, type VenueConfig } from '../../shared/config/schema.ts';
import { Dec, type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import { ValidationError } from '../../shared/domain/errors.ts';
import { parseInstrumentId } from '../../shared/domain/instrument-id.ts';
import { isTerminal, WORKING_STATUSES } from '../../shared/domain/order-machine.ts';
import { NANOS_PER_MILLI, type Nanos, nanosToIso } from '../../shared/domain/time.ts';
import type { Fill, OrderRecord, Side, TradingState } from '../../shared/domain/types.ts';
import {
  decide,
  type ExecutionCommand,
  type ExecutionDecision,
  type ExecutionState,
  fromAlgo,
} from '../../shared/execution/core.ts';
import {
  type ChildRiskView,
  checkChild,
  classifyCancelError,
  classifySubmitError,
  nextBackoff,
  settlementOf,
  sumDecimals,
} from '../../shared/execution/policy.ts';
import {
  gateAt,
  type SessionGate,
  type TradingSchedule,
  UNKNOWN_SCHEDULE,
} from '../../shared/execution/session.ts';
import type { AlgoStateRecord } from '../../shared/ports/algo-state-store.ts';
import {
  type Venue,
  VenueError,
  type VenueErrorKind,
  type VenueEvent,
  type VenueOrderRequest,
  type VenueOrderState,
  type VenueTrade,
} from '../../shared/ports/venue.ts';
import type { RecordingSink } from '../../shared/recording/format.ts';
import {
  childSubmittedEntry,
  parentRoutedEntry,
  recordVenueEvent,
  tradingScheduleEntry,
} from '../../shared/recording/tap.ts';
import type { CompiledRiskLimits } from '../../shared/risk/limits.ts';
import type { RiskDecision } from '../../shared/risk/types.ts';
import { MarketPublisher } from './market.ts';
import type { EdgeMetrics } from './metrics.ts';
import type { EdgeLog, VenueEdgeDeps, VenueSessionStatus } from './types.ts';

// ---------------------------------------------------------------------------------------------
// What the session gets from the edge
// ---------------------------------------------------------------------------------------------

export interface SessionSettings {
  tickMs: number;
  fillGraceMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  orderPollMs: number;
  bookPublishMs: number;
  marketRawMs: number;
  bookPollMs: number;
  venueStateMs: number;
  balancesMs: number;
  seed: number;
}

export interface SessionContext {
  deps: VenueEdgeDeps;
  log: EdgeLog;
  metrics: EdgeMetrics | null;
  settings: SessionSettings;
  /** Per operation: everything that changes one order runs under its lock. */
  locks: KeyedMutex;
  /** The trading state an order of the strategy runs under; null when it cannot be read now. */
  tradingStateFor(strategyId: string): Promise<TradingState | null>;
  /** The platform's and the strategy's own states; null when they cannot be read now. */
  tradingStatesFor(
    strategyId: string,
  ): Promise<{ trading_state: TradingState; strategy_trading_state: TradingState } | null>;
  /**
   * Open quantity of working orders and children in an instrument (across the edge), per side;
   * only the strategy's when `strategyId` is given.
   */
  workingQuantities(instrumentKey: string, exclude: string, strategyId?: string): { buy: Dec; sell: Dec };
  /** The risk limits children are checked against (the configuration's, compiled once). */
  limits: CompiledRiskLimits;
  /** Times children went to a venue (ascending): across the edge and the strategy's. */
  recentOrders(strategyId: string): { global: readonly Nanos[]; strategy: readonly Nanos[] };
  /** A child (or direct order) went to a venue at `at`. */
  noteOrder(strategyId: string, at: Nanos): void;
  /** The strategy's own position in an instrument (the risk ledger's); null when unknown. */
  strategyPosition(instrumentKey: string, strategyId: string): Promise<DecimalString | null>;
  /** Run a task the edge tracks (stop waits for it); errors are logged. */
  track(task: Promise<unknown>): void;
}

// ---------------------------------------------------------------------------------------------
// In-memory bookkeeping
// ---------------------------------------------------------------------------------------------

/** A direct (NORMAL) order working at the venue. */
interface DirectRef {
  kind: 'direct';
  op: string;
  order_id: string;
  client_order_id: string;
  instrument_key: string;
  venue_instrument_key: string;
  side: Side;
  quantity: DecimalString;
  venue_order_id: string | null;
  /** Sent, but the venue's answer is not known yet (being resolved by lookups). */
  unacked: boolean;
  /** The venue's latest view (a final one is applied once the fills are stored). */
  last: VenueOrderState | null;
  /** Fill ids this process recorded (or found stored) for the order. */
  fill_ids: Set<string>;
  /** The instrument's mid when the order was sent (drift), null when unknown. */
  mid_at_arrival: DecimalString | null;
  strategy_id: string;
  since: Nanos;
  retry_at: Nanos | null;
  retry_ms: number;
  fill_check_at: Nanos | null;
  fill_checks: number;
  /** The venue order id our books recorded the acknowledgement under (no second ack call). */
  acked: string | null;
}

/** A child order of an algorithm parent. */
interface ChildRef {
  kind: 'child';
  op: string;
  client_order_id: string;
}

type Ref = DirectRef | ChildRef;

/** A running algorithm parent. `rec` is what is stored; `state` the working copy (dirty when ahead). */
interface Run {
  op: string;
  rec: AlgoStateRecord;
  state: AlgoState;
  dirty: boolean;
  wake_at: Nanos | null;
  retry_at: Nanos | null;
  retry_ms: number;
  fill_check_at: Nanos | null;
  fill_checks: number;
  /** Fill ids accounted for (stored, or handed to reconciliation), and filled quantity per child. */
  fill_ids: Set<string>;
  recorded: Map<string, Dec>;
  /** Children whose cancel this process sent because trading is HALTED. */
  halt_canceled: Set<string>;
  /** Stepping stopped because trading is HALTED (or its state could not be read); woken by the poll. */
  paused: boolean;
  /** The instrument's mid when each child was sent (drift). */
  mids: Map<string, DecimalString | null>;
  /** Last child status published on exec.orders (child_order messages), per child. */
  published: Map<string, string>;
  timer: ReturnType<typeof setTimeout> | null;
  /** The price intake valued the parent at (the routed message's), the child policy's fallback mid. */
  reference: DecimalString | null;
}

type StreamState = 'idle' | 'up' | 'down';

const MAX_STEPS = 64;
const GAP_MARGIN_NS = 5_000n * NANOS_PER_MILLI;
/** Reconnects back off from 1 s to 30 s. */
const RECONNECT_BACKOFF = { initialMs: 1000, maxMs: 30_000 };

export class VenueSession {
  readonly id: string;
  readonly venue: Venue;
  readonly config: VenueConfig;
  private readonly ctx: SessionContext;
  private readonly d: VenueEdgeDeps;
  private readonly log: EdgeLog;
  readonly market: MarketPublisher;
  /** Where this session's recording goes (docs/recording.md); null when not recording. */
  private readonly rec: RecordingSink | null;

  private readonly refs = new Map<string, Ref>();
  private readonly byVenueOrderId = new Map<string, string>();
  private readonly runs = new Map<string, Run>();
  /** Trades already accounted for (`<trade id>`), bounded: REST re-reads need no store round trip. */
  private readonly seenTrades = new Set<string>();
  /** Client order ids finished here recently: their late stream reports are expected, not unmatched. */
  private readonly finished = new Set<string>();
  private instrumentKeys: string[] = [];
  /** The last trading schedule the venue gave per instrument (kept for a failed read). */
  private readonly schedules = new Map<string, TradingSchedule | null>();
  /** The session gate last recorded per instrument (recorded again when it changes). */
  private readonly recordedGates = new Map<string, SessionGate>();
  private orphanParents: OrderRecord[] = [];

  private connected = false;
  private streams: Record<'private' | 'public', StreamState> = { private: 'idle', public: 'idle' };
  private privateDownSince: Nanos | null = null;
  private gapFillWanted: { since: Nanos; reason: string } | null = null;
  private lastPoll: Nanos | null = null;
  private lastError: string | null = null;
  /** When the venue last sent anything on its streams (any event kind), by our clock. */
  private lastMessageAt: Nanos | null = null;
  private stopped = false;
  private ticking = false;
  private reconnectAt: Nanos | null = null;
  private reconnectMs = 1000;
  /** One handler for the session's lifetime (a second `watch` after a failed connect adds no second one). */
  private readonly eventHandler = (ev: VenueEvent): void => this.onVenueEvent(ev);

  constructor(config: VenueConfig, venue: Venue, ctx: SessionContext) {
    this.id = config.id;
    this.venue = venue;
    this.config = config;
    this.ctx = ctx;
    this.d = ctx.deps;
    this.log = ctx.log;
    this.rec = this.d.recordings?.get(config.id) ?? null;
    const s = ctx.settings;
    this.market = new MarketPublisher(this.id, venue, this.d.market, this.d.bus, this.d.clock, this.log, {
      bookPublishMs: s.bookPublishMs,
      marketRawMs: s.marketRawMs,
      bookPollMs: s.bookPollMs,
      venueStateMs: s.venueStateMs,
      balancesMs: s.balancesMs,
      latencyMs: config.latency_ms,
    });
  }

  // ===========================================================================================
  // Lifecycle
  // ===========================================================================================

  /** Which instruments the venue lists (its own canonical ids) and what our stores say is working here. */
  async load(): Promise<void> {
    this.instrumentKeys = (await this.d.instruments.list())
      .map((s) => s.instrument_key)
      .filter((k) => {
        const p = parseInstrumentId(k);
        return (
          p.success &&
          p.data.venue === this.id &&
          this.config.instrument_types.includes(p.data.instrument_type)
        );
      })
      .sort();
    this.market.setInstruments(this.instrumentKeys);
    // Algorithm parents that were running (their children are matched from now on).
    for (const rec of await this.d.algoStates.listActive({ venue: this.id })) {
      await this.ctx.locks.run(rec.operation_id, () => this.adoptRun(rec));
    }
    // Direct orders our books show working here (their venue events are matched from now on).
    const working = await this.d.orders.query({
      venue: this.id,
      status: ['SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL'],
      limit: 1000,
    });
    this.orphanParents = [];
    for (const o of working) {
      if (o.exec_algorithm !== 'NORMAL') {
        // A parent working here without a running scheduler: its state was never stored (a crash
        // between recording it SUBMITTED and persisting the state). Started at resume.
        if (!this.runs.has(o.operation_id)) this.orphanParents.push(o);
        continue;
      }
      // A NORMAL parent that arrived outside its session is worked by the scheduler (a run).
      if (o.client_order_id === null || this.runs.has(o.operation_id)) continue;
      await this.ctx.locks.run(o.operation_id, async () => this.adoptDirect(o));
    }
    this.updateGauges();
  }

  /** Connect and start the streams. A failure is logged and retried by `tick()`. */
  async connect(): Promise<void> {
    try {
      await this.venue.connect();
      await this.venue.watch(this.instrumentKeys, this.eventHandler);
      this.connected = true;
      this.reconnectAt = null;
      this.reconnectMs = 1000;
      this.log.info(
        `venue ${this.id} connected (${this.config.mode}, ${this.instrumentKeys.length} instruments)`,
        {
          venue: this.id,
          mode: this.config.mode,
        },
      );
    } catch (err) {
      this.connected = false;
      this.lastError = `connect failed: ${errorText(err)}`;
      const b = nextBackoff(this.d.clock.now(), this.reconnectMs, RECONNECT_BACKOFF);
      this.log.warn(`venue ${this.id}: ${this.lastError}; retrying in ${this.reconnectMs} ms`, {
        venue: this.id,
      });
      this.reconnectAt = b.at;
      this.reconnectMs = b.nextMs;
    }
  }

  /**
   * After a restart (or a connect): resolve everything in doubt with the venue. Algorithm parents
   * re-send what `pendingActions` says they still owe (submits are looked up by client id first: a
   * child the venue has is never sent twice), unacknowledged direct orders are looked up, and every
   * working order and its trades are read back (fills that happened while we were away).
   */
  async resume(): Promise<void> {
    if (!this.connected) return;
    for (const o of this.orphanParents.splice(0)) {
      const key = venueInstrumentKey(o.instrument_key, this.id);
      this.ctx.track(
        this.ctx.locks.run(o.operation_id, () => this.startAlgo(o, key, o.exec_algorithm_params)),
      );
    }
    for (const run of [...this.runs.values()]) {
      this.ctx.track(this.ctx.locks.run(run.op, () => this.resumeRun(run)));
    }
    for (const ref of [...this.refs.values()]) {
      if (ref.kind !== 'direct') continue;
      this.ctx.track(this.ctx.locks.run(ref.op, () => this.resolveDirect(ref, 'start')));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const run of this.runs.values()) {
      if (run.timer !== null) clearTimeout(run.timer);
      run.timer = null;
    }
  }

  status(): VenueSessionStatus {
    const h = this.venue.health();
    return {
      venue: this.id,
      mode: this.config.mode,
      connected: this.connected,
      private_stream: this.streams.private,
      public_stream: this.streams.public,
      health: h.detail !== undefined ? `${h.state}: ${h.detail}` : h.state,
      working_orders: [...this.refs.values()].filter((r) => r.kind === 'direct').length,
      active_algorithms: this.runs.size,
      last_error: this.lastError,
      last_message_at: this.lastMessageAt,
    };
  }

  /** Algorithm states in memory (parent operation id → state), for views and tests. */
  algorithms(): ReadonlyMap<string, AlgoState> {
    return new Map([...this.runs].map(([op, r]) => [op, r.state]));
  }

  /** Open quantity of this session's working orders in an instrument (the order's key), per side. */
  workingQuantities(instrumentKey: string, exclude: string, strategyId?: string): { buy: Dec; sell: Dec } {
    let buy = new Dec(0);
    let sell = new Dec(0);
    const add = (side: Side, q: Dec) => {
      if (side === 'BUY') buy = buy.plus(q);
      else sell = sell.plus(q);
    };
    for (const ref of this.refs.values()) {
      if (ref.kind !== 'direct' || ref.instrument_key !== instrumentKey || ref.client_order_id === exclude)
        continue;
      if (strategyId !== undefined && ref.strategy_id !== strategyId) continue;
      const filled = ref.last?.filled_quantity ?? '0';
      add(ref.side, Dec.max(toDec(ref.quantity).minus(filled), 0));
    }
    for (const run of this.runs.values()) {
      if (run.rec.instrument_key !== instrumentKey) continue;
      if (strategyId !== undefined && run.rec.strategy_id !== strategyId) continue;
      for (const c of run.state.children) {
        if (isTerminal(c.status) || c.order_id === exclude) continue;
        add(run.state.parent.side, Dec.max(toDec(c.quantity).minus(c.filled_quantity), 0));
      }
    }
    return { buy, sell };
  }

  // ===========================================================================================
  // Routed messages (called under the operation's lock by the edge)
  // ===========================================================================================

  /** `orders.routed` submit: the order store is the source of truth (dedupe by its status). */
  async onSubmit(m: RoutedSubmitMessage): Promise<void> {
    const order = await this.d.orders.get(m.operation_id);
    if (order === null) {
      throw new UnknownRoutedOrderError(m.operation_id);
    }
    if (order.venue !== this.id) {
      this.log.info(
        `routed order ${order.operation_id} is routed to ${order.venue ?? 'no venue'} now; not sent`,
        {
          venue: this.id,
          operation_id: order.operation_id,
        },
      );
      return;
    }
    this.rec?.record(
      parentRoutedEntry(
        order,
        this.id,
        m.venue_instrument_key,
        m.exec_algorithm_params,
        this.market.mid(m.venue_instrument_key),
        this.d.clock.now(),
      ),
    );
    if (order.exec_algorithm === 'NORMAL')
      await this.submitDirect(order, m.venue_instrument_key, m.reference_price);
    else await this.startAlgo(order, m.venue_instrument_key, m.exec_algorithm_params, m.reference_price);
  }

  /** `orders.routed` cancel: cancel the parent's working children, or the direct order, at the venue. */
  async onCancel(m: VenueCancelMessage): Promise<void> {
    this.rec?.record({
      type: 'parent_cancel_requested',
      ts_init: this.d.clock.now(),
      parent_order_id: m.order_id,
      reason: m.reason,
    });
    let run = this.runs.get(m.operation_id);
    if (run === undefined) {
      const rec = await this.d.algoStates.get(m.operation_id);
      if (rec?.active && rec.venue === this.id) run = await this.adoptRun(rec);
    }
    if (run !== undefined) {
      await this.cancelRun(run, m.reason);
      return;
    }
    const clientOrderId = m.client_order_id ?? m.order_id;
    let ref = this.refs.get(clientOrderId);
    if (ref === undefined) {
      const order = await this.d.orders.get(m.operation_id);
      if (order === null) return;
      if (isTerminal(order.status)) return; // finished meanwhile: nothing to cancel
      if (order.exec_algorithm !== 'NORMAL') {
        // A parent whose algorithm never started here (or finished without its final report).
        await this.d.recorder.recordCanceled(
          order.operation_id,
          `${m.reason} (no algorithm running at ${this.id})`,
        );
        return;
      }
      if (order.client_order_id === null) {
        await this.d.recorder.recordCanceled(order.operation_id, `${m.reason} (never sent to ${this.id})`);
        return;
      }
      ref = this.adoptDirect(order);
    }
    if (ref.kind !== 'direct') return;
    await this.cancelDirect(ref, m.reason);
  }

  // ===========================================================================================
  // Direct (NORMAL) orders
  // ===========================================================================================

  private async submitDirect(
    order: OrderRecord,
    venueInstrumentKey: string,
    reference: DecimalString | null,
  ): Promise<void> {
    const op = order.operation_id;
    if (order.status !== 'PENDING' && (this.runs.has(op) || (await this.d.algoStates.get(op)) !== null)) {
      // Worked by the scheduler since it arrived outside the session (below).
      await this.startAlgo(order, venueInstrumentKey, {}, reference);
      return;
    }
    if (order.status !== 'PENDING') {
      // SUBMITTED or beyond: already ours. One this process does not know is resolved with the venue.
      if (
        WORKING_STATUSES.has(order.status) &&
        order.client_order_id !== null &&
        !this.refs.has(order.client_order_id)
      ) {
        const ref = this.adoptDirect(order);
        await this.resolveDirect(ref, 'redelivery');
      }
      return;
    }
    const check = await this.checkDirect(order, venueInstrumentKey, reference);
    if (check === null)
      throw new Error(`trading state of ${order.strategy_id || 'the platform'} cannot be read; retry`);
    if (!check.approved) {
      this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'direct', outcome: 'gated' });
      await this.d.recorder.recordCanceled(op, `${check.rule}: ${check.reason}; not sent to ${this.id}`);
      return;
    }
    // Outside the instrument's session (or not knowing it): the execution core decides, as for
    // any parent — the order runs as a NORMAL parent of the durable scheduler, whose session gate
    // refuses its child or holds it until the open (the backtest window does the same).
    const session = gateAt(await this.sessionGate(venueInstrumentKey), this.d.clock.now());
    if (session.kind !== 'open') {
      await this.startAlgo(order, venueInstrumentKey, {}, reference);
      return;
    }
    this.ctx.noteOrder(order.strategy_id, this.d.clock.now());
    const clientOrderId = order.order_id;
    const submitted = await this.d.recorder.recordSubmitted(op, clientOrderId);
    if (!isLiveAtVenue(submitted)) {
      this.log.info(`routed order ${op} not sent: ${describeOutcome(submitted)}`, {
        venue: this.id,
        operation_id: op,
      });
      return;
    }
    const ref: DirectRef = {
      kind: 'direct',
      op,
      order_id: order.order_id,
      client_order_id: clientOrderId,
      instrument_key: order.instrument_key,
      venue_instrument_key: venueInstrumentKey,
      side: order.side,
      quantity: order.quantity,
      venue_order_id: null,
      unacked: true,
      last: null,
      fill_ids: new Set(),
      mid_at_arrival: this.market.mid(venueInstrumentKey),
      strategy_id: order.strategy_id,
      since: this.d.clock.now(),
      retry_at: null,
      retry_ms: this.ctx.settings.retryInitialMs,
      fill_check_at: null,
      fill_checks: 0,
      acked: null,
    };
    this.refs.set(clientOrderId, ref);
    await this.sendDirect(ref, order, 'sent');
  }

  private requestOf(
    ref: DirectRef,
    order: Pick<OrderRecord, 'order_type' | 'price' | 'time_in_force'>,
  ): VenueOrderRequest {
    return {
      client_order_id: ref.client_order_id,
      instrument_key: ref.venue_instrument_key,
      side: ref.side,
      order_type: order.order_type,
      quantity: ref.quantity,
      price: order.price,
      time_in_force: order.time_in_force,
    };
  }

  private async sendDirect(ref: DirectRef, order: OrderRecord, outcome: 'sent' | 'resent'): Promise<void> {
    const started = performance.now();
    this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'direct', outcome });
    const openBefore = this.breakerOpen();
    let st: VenueOrderState;
    try {
      const request = this.requestOf(ref, order);
      const sentAt = this.d.clock.now();
      this.rec?.record(childSubmittedEntry(ref.order_id, ref.order_id, request, ref.mid_at_arrival, sentAt));
      st = await this.venue.submit(request, sentAt);
    } catch (err) {
      await this.onDirectSendError(ref, err, openBefore);
      return;
    }
    this.observeSubmit(started);
    ref.unacked = false;
    this.market.countOrder(ref.client_order_id, st.status === 'REJECTED');
    await this.applyDirect(ref, st);
  }

  private async onDirectSendError(ref: DirectRef, err: unknown, openBefore: boolean): Promise<void> {
    const kind = errorKind(err);
    this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind });
    const cls = classifySubmitError(kind, openBefore);
    if (cls.outcome === 'refused') {
      // The venue (or our breaker in front of it) refused it: it is not at the venue.
      this.market.countOrder(ref.client_order_id, true);
      this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'direct', outcome: 'rejected' });
      await this.d.recorder.recordRejected(ref.op, `${cls.reason_prefix}: ${errorText(err)}`);
      this.dropDirect(ref);
      return;
    }
    // Outcome unknown (timeout, 5xx after the adapter's retries, rate limit): look it up later.
    this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'direct', outcome: 'unknown' });
    ref.unacked = true;
    this.scheduleDirectRetry(ref);
    this.lastError = `submit of ${ref.op} not confirmed (${kind}): ${errorText(err)}`;
    this.log.warn(`venue ${this.id}: ${this.lastError}; resolving by client order id`, {
      venue: this.id,
      operation_id: ref.op,
      client_order_id: ref.client_order_id,
    });
  }

  private scheduleDirectRetry(ref: DirectRef): void {
    const b = this.backoff(ref.retry_ms);
    ref.retry_at = b.at;
    ref.retry_ms = b.nextMs;
  }

  /**
   * Find out what the venue knows of a direct order we may have sent: found → apply its state (and
   * read its trades when it has fills); not found and never acknowledged → send it (the same
   * client order id: the venue de-duplicates); a failed lookup → try again later.
   */
  private async resolveDirect(ref: DirectRef, why: 'start' | 'retry' | 'redelivery' | 'poll'): Promise<void> {
    let found: VenueOrderState | null;
    try {
      found = await this.venue.fetchOrder(ref.client_order_id, ref.venue_instrument_key);
    } catch (err) {
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      this.scheduleDirectRetry(ref);
      this.log.warn(`venue ${this.id}: lookup of ${ref.op} failed (${why}): ${errorText(err)}`, {
        venue: this.id,
        operation_id: ref.op,
      });
      return;
    }
    ref.retry_at = null;
    ref.retry_ms = this.ctx.settings.retryInitialMs;
    if (found !== null) {
      ref.unacked = false;
      await this.applyDirect(ref, found);
      if (toDec(found.filled_quantity).gt(0)) await this.fetchDirectTrades(ref);
      return;
    }
    const order = await this.d.orders.get(ref.op);
    if (order === null || isTerminal(order.status)) {
      this.dropDirect(ref);
      return;
    }
    if (order.status === 'PENDING_CANCEL') {
      // Canceled before the venue ever had it.
      await this.d.recorder.recordCanceled(ref.op, `cancel requested; the order never reached ${this.id}`);
      this.dropDirect(ref);
      return;
    }
    if (order.venue_order_id !== null) {
      // Acknowledged once, unknown now: the venue forgot a finished order. Trades tell what happened.
      await this.fetchDirectTrades(ref);
      this.log.warn(
        `venue ${this.id} no longer knows ${ref.op} (${order.venue_order_id}); left to reconciliation`,
        {
          venue: this.id,
          operation_id: ref.op,
        },
      );
      return;
    }
    // Recorded SUBMITTED, never reached the venue (a crash or a failure between the two). Outside
    // its session now (or not knowing it): the core decides, as for one arriving now (submitDirect).
    const session = gateAt(await this.sessionGate(ref.venue_instrument_key), this.d.clock.now());
    if (session.kind !== 'open') {
      if (this.refs.get(ref.client_order_id) === ref) this.refs.delete(ref.client_order_id);
      await this.startAlgo(order, ref.venue_instrument_key, {}, null);
      return;
    }
    // Send it now.
    this.log.info(`venue ${this.id}: ${ref.op} is not at the venue; sending it (${why})`, {
      venue: this.id,
      operation_id: ref.op,
    });
    await this.sendDirect(ref, order, 'resent');
  }

  /** Apply the venue's view of a direct order to our books (fills first, then a final status). */
  private async applyDirect(ref: DirectRef, st: VenueOrderState): Promise<void> {
    ref.last = st;
    if (st.venue_order_id !== '' && ref.venue_order_id !== st.venue_order_id) {
      ref.venue_order_id = st.venue_order_id;
      this.byVenueOrderId.set(st.venue_order_id, ref.client_order_id);
    }
    for (const report of venueOrderReports(st)) {
      if (report.kind === 'accepted') {
        if (ref.acked === report.venue_order_id) continue;
        await this.d.recorder.recordAccepted(ref.op, report.venue_order_id, st.ts_event);
        ref.acked = report.venue_order_id;
        continue;
      }
      const order = await this.d.orders.get(ref.op);
      if (order === null) return;
      const missing = missingFillQuantity(st.filled_quantity, order.filled_quantity);
      if (toDec(missing).gt(0)) {
        // Trades first, or they would land on a closed order: wait for the stream, then read them.
        this.armDirectFillCheck(ref);
        return;
      }
      if (report.kind === 'canceled')
        await this.d.recorder.recordCanceled(ref.op, report.reason, st.ts_event);
      else if (report.kind === 'expired')
        await this.d.recorder.recordExpired(ref.op, report.reason, st.ts_event);
      else {
        this.market.countOrder(ref.client_order_id, true);
        await this.d.recorder.recordRejected(ref.op, report.reason, st.ts_event);
      }
    }
    if (isFinalAtVenue(st.status)) await this.finishDirectIfComplete(ref, st);
  }

  /** A final direct order leaves memory once our books have every fill the venue counted. */
  private async finishDirectIfComplete(ref: DirectRef, st: VenueOrderState): Promise<void> {
    const order = await this.d.orders.get(ref.op);
    if (order === null) {
      this.dropDirect(ref);
      return;
    }
    if (toDec(missingFillQuantity(st.filled_quantity, order.filled_quantity)).gt(0)) {
      this.armDirectFillCheck(ref);
      return;
    }
    if (isTerminal(order.status)) this.dropDirect(ref);
  }

  private armDirectFillCheck(ref: DirectRef): void {
    if (ref.fill_check_at !== null) return;
    ref.fill_check_at = this.d.clock.now() + BigInt(this.ctx.settings.fillGraceMs) * NANOS_PER_MILLI;
  }

  /** Fills the venue counted but the stream did not bring: read the trades, then the final state again. */
  private async directFillCheck(ref: DirectRef): Promise<void> {
    ref.fill_check_at = null;
    ref.fill_checks++;
    await this.fetchDirectTrades(ref);
    if (ref.last !== null) await this.applyDirect(ref, ref.last);
    if (ref.fill_check_at === null) return;
    if (
      settlementOf({ scheduler_filled: '1', recorded_filled: '0', fill_checks: ref.fill_checks }).kind ===
      'settle_short'
    ) {
      // The venue counts fills it does not report as trades: our books stay as they are.
      ref.fill_check_at = null;
      this.lastError = `${ref.op}: the venue reports ${ref.last?.filled_quantity ?? '?'} filled but not all its trades`;
      this.log.warn(`venue ${this.id}: ${this.lastError}; left to reconciliation`, {
        venue: this.id,
        operation_id: ref.op,
      });
      return;
    }
    // Still short: back off.
    const b = this.backoff(ref.retry_ms);
    ref.fill_check_at = b.at;
    ref.retry_ms = b.nextMs;
  }

  private async fetchDirectTrades(ref: DirectRef): Promise<void> {
    this.ctx.metrics?.gapFills.inc({ venue: this.id, reason: 'fill_check' });
    let trades: VenueTrade[];
    try {
      trades = await this.venue.fetchTrades(ref.venue_instrument_key, ref.since - GAP_MARGIN_NS);
    } catch (err) {
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      this.log.warn(`venue ${this.id}: trades of ${ref.op} could not be read: ${errorText(err)}`, {
        venue: this.id,
        operation_id: ref.op,
      });
      return;
    }
    for (const t of trades) {
      if (this.matches(t, ref.client_order_id, ref.venue_order_id)) await this.directTrade(ref, t);
    }
  }

  private async directTrade(ref: DirectRef, t: VenueTrade): Promise<void> {
    const fill = fillOfTrade(
      t,
      { operation_id: ref.op, order_id: ref.order_id, instrument_key: ref.instrument_key, venue: this.id },
      ref.client_order_id,
    );
    if (ref.fill_ids.has(fill.fill_id)) return;
    if (t.venue_order_id !== '' && ref.venue_order_id === null) {
      ref.venue_order_id = t.venue_order_id;
      this.byVenueOrderId.set(t.venue_order_id, ref.client_order_id);
    }
    const outcome = await this.d.recorder.recordFill(ref.op, fill);
    ref.fill_ids.add(fill.fill_id);
    if (outcome.kind === 'recorded') this.observeDrift(fill, ref.mid_at_arrival, ref.strategy_id);
    this.rememberTrade(t);
    if (ref.last !== null && isFinalAtVenue(ref.last.status) && ref.fill_check_at !== null) {
      // The missing fill arrived: settle the final status now.
      const order = await this.d.orders.get(ref.op);
      if (
        order !== null &&
        !toDec(missingFillQuantity(ref.last.filled_quantity, order.filled_quantity)).gt(0)
      ) {
        ref.fill_check_at = null;
        await this.applyDirect(ref, ref.last);
      }
    } else {
      const order = await this.d.orders.get(ref.op);
      if (order !== null && isTerminal(order.status)) this.dropDirect(ref);
    }
  }

  private async cancelDirect(ref: DirectRef, reason: string): Promise<void> {
    let st: VenueOrderState | null = null;
    try {
      const sentAt = this.d.clock.now();
      this.rec?.record({
        type: 'child_cancel_requested',
        ts_init: sentAt,
        parent_order_id: ref.order_id,
        order_id: ref.order_id,
      });
      st = await this.venue.cancel(ref.client_order_id, ref.venue_instrument_key, sentAt);
    } catch (err) {
      const kind = errorKind(err);
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind });
      if (classifyCancelError(kind) === 'retry') throw err; // redelivered
      // not_found / rejected (already closed, unknown): what is its state?
      st = await this.venue.fetchOrder(ref.client_order_id, ref.venue_instrument_key);
      if (st === null) {
        const order = await this.d.orders.get(ref.op);
        if (order !== null && order.venue_order_id === null) {
          await this.d.recorder.recordCanceled(ref.op, `${reason} (not working at ${this.id})`);
          this.dropDirect(ref);
          return;
        }
        await this.fetchDirectTrades(ref);
        await this.d.recorder.recordCanceled(
          ref.op,
          `${reason} (not working at ${this.id}: ${errorText(err)})`,
        );
        this.dropDirect(ref);
        return;
      }
    }
    if (st.status === 'CANCELED' && (st.reason === undefined || st.reason === '')) st = { ...st, reason };
    await this.applyDirect(ref, st);
  }

  private adoptDirect(order: OrderRecord): DirectRef {
    const clientOrderId = order.client_order_id ?? order.order_id;
    const existing = this.refs.get(clientOrderId);
    if (existing?.kind === 'direct') return existing;
    const ref: DirectRef = {
      kind: 'direct',
      op: order.operation_id,
      order_id: order.order_id,
      client_order_id: clientOrderId,
      instrument_key: order.instrument_key,
      venue_instrument_key: venueInstrumentKey(order.instrument_key, this.id),
      side: order.side,
      quantity: order.quantity,
      venue_order_id: order.venue_order_id,
      unacked: order.venue_order_id === null,
      last: null,
      fill_ids: new Set(),
      mid_at_arrival: null,
      strategy_id: order.strategy_id,
      since: order.ts_created,
      retry_at: null,
      retry_ms: this.ctx.settings.retryInitialMs,
      fill_check_at: null,
      fill_checks: 0,
      // Re-acknowledged once after a restart: a duplicate re-publishes what a crash may have lost.
      acked: null,
    };
    this.refs.set(clientOrderId, ref);
    if (order.venue_order_id !== null) this.byVenueOrderId.set(order.venue_order_id, clientOrderId);
    return ref;
  }

  private dropDirect(ref: DirectRef): void {
    if (this.refs.get(ref.client_order_id) === ref) this.refs.delete(ref.client_order_id);
    this.rememberFinished(ref.client_order_id);
    if (ref.venue_order_id !== null) this.byVenueOrderId.delete(ref.venue_order_id);
  }

  // ===========================================================================================
  // Algorithm parents
  // ===========================================================================================

  private async startAlgo(
    order: OrderRecord,
    venueInstrumentKey: string,
    params: Record<string, unknown>,
    reference: DecimalString | null = null,
  ): Promise<void> {
    const op = order.operation_id;
    const running = this.runs.get(op);
    if (running !== undefined) return; // a duplicate: the scheduler has it
    const stored = await this.d.algoStates.get(op);
    if (stored !== null) {
      // Known here: running (adopt it) or finished (its final report may still be owed).
      if (stored.active) {
        const run = await this.adoptRun(stored);
        run.reference ??= reference;
        await this.ensureAccepted(run);
        await this.stepRun(run);
      }
      return;
    }
    if (order.status !== 'PENDING' && order.status !== 'SUBMITTED') return; // finished, or not ours
    if (order.status === 'PENDING') {
      const submitted = await this.d.recorder.recordSubmitted(op, order.order_id);
      if (!isLiveAtVenue(submitted)) {
        this.log.info(`routed parent ${op} not started: ${describeOutcome(submitted)}`, {
          venue: this.id,
          operation_id: op,
        });
        return;
      }
    }
    const spec = await this.d.instruments.get(venueInstrumentKey);
    if (spec === null) {
      await this.d.recorder.recordRejected(
        op,
        `UNKNOWN_INSTRUMENT: ${venueInstrumentKey} is not listed on ${this.id}`,
      );
      return;
    }
    const now = this.d.clock.now();
    let state: AlgoState;
    try {
      state = initAlgo(
        order.exec_algorithm,
        {
          order_id: order.order_id,
          instrument_key: venueInstrumentKey,
          side: order.side,
          quantity: order.quantity,
          limit_price: order.order_type === 'LIMIT' ? order.price : null,
          time_in_force: order.time_in_force,
        },
        params,
        now,
        spec,
        this.ctx.settings.seed,
      );
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await this.d.recorder.recordRejected(op, `INVALID_ALGORITHM: ${err.message}`);
      return;
    }
    const rec: AlgoStateRecord = {
      operation_id: op,
      order_id: order.order_id,
      venue: this.id,
      account_id: order.account_id,
      strategy_id: order.strategy_id,
      instrument_key: order.instrument_key,
      venue_instrument_key: venueInstrumentKey,
      state,
      venue_order_ids: {},
      cancel_reason: null,
      last_child_rejection: null,
      active: true,
      version: 1,
      ts_created: now,
      ts_updated: now,
    };
    const put = await this.d.algoStates.put(rec, 0);
    if (!put.ok) {
      // Another delivery (or process) created it first: work from what is stored.
      if (put.current?.active) await this.stepRun(await this.adoptRun(put.current));
      return;
    }
    const run = this.newRun(put.record);
    run.reference = reference;
    this.runs.set(op, run);
    this.updateGauges();
    // The edge's scheduler took the parent: acknowledged (not a venue order id: children have those).
    await this.d.recorder.recordAccepted(op, `${this.id}-ALGO-${order.order_id}`, now);
    this.log.info(
      `algorithm ${state.algo} started for ${op}: ${state.parent.quantity} in ${state.slices.length || 'refills of'} ${state.slices.length ? 'slices' : (state.display_quantity ?? '')}`,
      {
        venue: this.id,
        operation_id: op,
      },
    );
    await this.stepRun(run);
  }

  /** A parent whose state was stored but whose acknowledgement was not recorded (a crash between the two). */
  private async ensureAccepted(run: Run): Promise<void> {
    const order = await this.d.orders.get(run.op);
    if (order?.status === 'SUBMITTED' && order.venue_order_id === null) {
      await this.d.recorder.recordAccepted(run.op, `${this.id}-ALGO-${run.rec.order_id}`);
    }
  }

  private newRun(rec: AlgoStateRecord): Run {
    return {
      op: rec.operation_id,
      rec,
      state: rec.state,
      dirty: false,
      wake_at: this.d.clock.now(),
      retry_at: null,
      retry_ms: this.ctx.settings.retryInitialMs,
      fill_check_at: null,
      fill_checks: 0,
      fill_ids: new Set(),
      recorded: new Map(),
      halt_canceled: new Set(),
      paused: false,
      mids: new Map(),
      published: new Map(),
      timer: null,
      reference: null,
    };
  }

  /** Take over a stored, active parent (start-up, or a message for a parent this process had not loaded). */
  private async adoptRun(rec: AlgoStateRecord): Promise<Run> {
    const existing = this.runs.get(rec.operation_id);
    if (existing !== undefined) return existing;
    const run = this.newRun(rec);
    // The fills stored so far, per child (fill ids are `<child id>-T<trade id>`).
    for (const f of await this.d.orders.fills(rec.operation_id)) {
      run.fill_ids.add(f.fill_id);
      const child = childOfFillId(f.fill_id);
      if (child !== null) run.recorded.set(child, (run.recorded.get(child) ?? new Dec(0)).plus(f.quantity));
    }
    for (const c of rec.state.children) {
      this.refs.set(c.order_id, { kind: 'child', op: rec.operation_id, client_order_id: c.order_id });
      run.published.set(c.order_id, c.status);
    }
    for (const [child, venueOrderId] of Object.entries(rec.venue_order_ids))
      this.byVenueOrderId.set(venueOrderId, child);
    this.runs.set(rec.operation_id, run);
    this.updateGauges();
    return run;
  }

  /** After a restart: re-send what the persisted state owes, read back every child and its trades. */
  private async resumeRun(run: Run): Promise<void> {
    if (this.stopped || this.runs.get(run.op) !== run) return;
    await this.ensureAccepted(run);
    await this.performPending(run, 'start');
    // Children acknowledged before: catch up with what happened while we were away.
    for (const c of run.state.children) {
      if (isTerminal(c.status) || c.status === 'SUBMITTED' || c.status === 'PENDING') continue;
      await this.lookupChild(run, c.order_id);
    }
    await this.fetchRunTrades(run, 'start');
    await this.persistIfDirty(run);
    run.wake_at = this.d.clock.now();
    await this.stepRun(run);
  }

  /**
   * The actions a persisted state still owes the venue (`pendingActions`): each submit is looked up
   * by client order id first and only sent when the venue does not have it; cancels are sent again.
   */
  private async performPending(run: Run, why: 'start' | 'retry'): Promise<void> {
    run.retry_at = null;
    let failed = false;
    for (const a of pendingActions(run.state)) {
      if (a.kind === 'cancel') {
        if (!(await this.cancelChild(run, a.order_id))) failed = true;
        continue;
      }
      let found: VenueOrderState | null;
      try {
        found = await this.venue.fetchOrder(a.child.order_id, run.rec.venue_instrument_key);
      } catch (err) {
        this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
        failed = true;
        continue;
      }
      if (found !== null) {
        this.applyChild(run, found);
        continue;
      }
      this.log.info(
        `venue ${this.id}: child ${a.child.order_id} of ${run.op} is not at the venue; sending it (${why})`,
        {
          venue: this.id,
          operation_id: run.op,
        },
      );
      if (!(await this.submitChild(run, a.child, 'resent'))) failed = true;
    }
    if (failed) this.scheduleRunRetry(run);
    else run.retry_ms = this.ctx.settings.retryInitialMs;
  }

  private scheduleRunRetry(run: Run): void {
    const b = this.backoff(run.retry_ms);
    run.retry_at = b.at;
    run.retry_ms = b.nextMs;
  }

  /** The one retry schedule (shared/execution/policy.ts) from `currentMs` on. */
  private backoff(currentMs: number): { at: Nanos; nextMs: number } {
    const s = this.ctx.settings;
    return nextBackoff(this.d.clock.now(), currentMs, { initialMs: s.retryInitialMs, maxMs: s.retryMaxMs });
  }

  /** The execution core's view of a run. */
  private execOf(run: Run): ExecutionState {
    return fromAlgo(run.state, run.rec.strategy_id, run.rec.instrument_key, {
      cancel_reason: run.rec.cancel_reason,
      last_child_rejection: run.rec.last_child_rejection,
      paused: run.paused,
      halt_canceled: [...run.halt_canceled],
    });
  }

  /** Take the core's decision into the run (dirty when the stored state is behind). */
  private take(run: Run, d: ExecutionDecision): void {
    const next = d.state;
    if (next.algo !== run.state && JSON.stringify(next.algo) !== JSON.stringify(run.state)) {
      run.state = next.algo;
      run.dirty = true;
    }
    if (
      next.last_child_rejection !== run.rec.last_child_rejection ||
      next.cancel_reason !== run.rec.cancel_reason
    ) {
      run.rec = {
        ...run.rec,
        last_child_rejection: next.last_child_rejection,
        cancel_reason: next.cancel_reason,
      };
      run.dirty = true;
    }
    run.paused = next.paused;
    run.halt_canceled = new Set(next.halt_canceled);
    if (d.wake_at !== null) run.wake_at = d.wake_at;
  }

  /**
   * What the child policy needs now (shared/execution/policy.ts `ChildRiskView`): the trading states,
   * the platform's and the strategy's positions, the orders working at venues, child velocity, the
   * instrument and its mid. Null when the trading state cannot be read (the core pauses).
   */
  private async riskView(
    strategyId: string,
    instrumentKey: string,
    venueInstrumentKey: string,
    exclude: string,
    reference: DecimalString | null,
  ): Promise<ChildRiskView | null> {
    const states = await this.ctx.tradingStatesFor(strategyId);
    if (states === null) return null;
    // Positions matter to the child policy only under REDUCING (the book-level limits are the
    // parent reservation's): read them from the stores only then.
    const reducing = states.trading_state === 'REDUCING' || states.strategy_trading_state === 'REDUCING';
    let position = new Dec(0);
    let strategy = '0';
    if (reducing) {
      for (const p of await this.d.positions.list({ instrument_key: instrumentKey }))
        position = position.plus(p.quantity);
      strategy = (await this.ctx.strategyPosition(instrumentKey, strategyId)) ?? fmt(position);
    }
    const wi = this.ctx.workingQuantities(instrumentKey, exclude);
    const ws = this.ctx.workingQuantities(instrumentKey, exclude, strategyId);
    return {
      ...states,
      instrument: await this.d.instruments.get(venueInstrumentKey),
      reference_price:
        this.market.mid(venueInstrumentKey) ?? (await this.storedMid(venueInstrumentKey)) ?? reference,
      position: { instrument: fmt(position), strategy },
      working: {
        instrument: { buy: fmt(wi.buy), sell: fmt(wi.sell) },
        strategy: { buy: fmt(ws.buy), sell: fmt(ws.sell) },
      },
      recent_orders: this.ctx.recentOrders(strategyId),
    };
  }

  /**
   * The instrument's mid when this process has no book of its own yet (just started): the venue's
   * book read now (kept as the session's book), else the last mid published; null when neither is.
   */
  private async storedMid(venueInstrumentKey: string): Promise<DecimalString | null> {
    if (this.connected) {
      try {
        this.market.onBook(await this.venue.fetchBook(venueInstrumentKey, 1));
        const mid = this.market.mid(venueInstrumentKey);
        if (mid !== null) return mid;
      } catch (err) {
        this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      }
    }
    try {
      const [q] = await this.d.market.getQuotes([{ venue: this.id, instrument_key: venueInstrumentKey }]);
      return q?.mid ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Advance the scheduler to now (under the parent's lock) through the execution core: it pauses
   * while trading is HALTED (or unreadable), steps the algorithm and checks every new child by the
   * child policy. Persist, THEN send — repeated while the core says it is due again.
   */
  private async stepRun(run: Run): Promise<void> {
    for (let i = 0; i < MAX_STEPS && !this.stopped; i++) {
      if (this.runs.get(run.op) !== run) return;
      if (isDone(run.state)) break;
      const now = this.d.clock.now();
      if (run.wake_at === null || run.wake_at > now) break;
      this.rec?.record({ type: 'timer_fired', ts_init: now, parent_order_id: run.rec.order_id });
      // The market as of the step's `now` (what a replay feeds up to the recorded step), read
      // before the store reads below let more market events in.
      const market = this.marketSnapshot(run);
      const risk = await this.riskView(
        run.rec.strategy_id,
        run.rec.instrument_key,
        run.rec.venue_instrument_key,
        '',
        run.reference,
      );
      const session = await this.sessionGate(run.rec.venue_instrument_key);
      const d = decide(this.execOf(run), {
        kind: 'step',
        now,
        market,
        risk,
        limits: this.ctx.limits,
        session,
      });
      this.take(run, d);
      run.wake_at = d.wake_at;
      // Persist, THEN act (docs/matching-engine.md): a crash in between is repaired by pendingActions.
      await this.persistIfDirty(run);
      for (const c of d.commands) {
        if (c.kind === 'submit_child')
          this.refs.set(c.child.order_id, { kind: 'child', op: run.op, client_order_id: c.child.order_id });
      }
      for (const ev of d.events) {
        if (ev.kind === 'held') {
          const msg = `parent ${run.op} held until ${nanosToIso(ev.until)}: ${ev.reason}`;
          const fields = { venue: this.id, operation_id: run.op };
          if (ev.unknown) this.log.warn(msg, fields);
          else this.log.info(msg, fields);
        }
        if (ev.kind !== 'child_denied') continue;
        this.refs.set(ev.child.order_id, { kind: 'child', op: run.op, client_order_id: ev.child.order_id });
        this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'child', outcome: 'gated' });
        this.log.info(`child ${ev.child.order_id} of ${run.op} not sent: ${ev.rule}: ${ev.reason}`, {
          venue: this.id,
          operation_id: run.op,
        });
        await this.publishChild(run, ev.child.order_id, `${ev.rule}: ${ev.reason}`);
      }
      await this.perform(run, d.commands);
    }
    await this.persistIfDirty(run);
    if (isDone(run.state)) await this.settleRun(run);
    this.armTimer(run);
  }

  private async perform(run: Run, commands: readonly ExecutionCommand[]): Promise<void> {
    let failed = false;
    for (const c of commands) {
      if (c.kind === 'cancel_child') {
        if (c.why === 'halted') {
          this.log.info(`trading is HALTED: canceling child ${c.order_id} of ${run.op}`, {
            venue: this.id,
            operation_id: run.op,
          });
        }
        if (await this.cancelChild(run, c.order_id)) continue;
        failed = true;
        if (c.why === 'halted') {
          const now = this.d.clock.now();
          this.take(run, decide(this.execOf(run), { kind: 'cancel_unconfirmed', now, child_id: c.order_id }));
        }
        continue;
      }
      this.ctx.noteOrder(run.rec.strategy_id, this.d.clock.now());
      if (!(await this.submitChild(run, c.child, 'sent'))) failed = true;
    }
    if (failed) this.scheduleRunRetry(run);
  }

  /** Send one child. False when the outcome is unknown (it stays SUBMITTED and is resolved later). */
  private async submitChild(run: Run, child: ChildOrder, outcome: 'sent' | 'resent'): Promise<boolean> {
    const started = performance.now();
    this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'child', outcome });
    if (!run.mids.has(child.order_id)) run.mids.set(child.order_id, this.market.mid(child.instrument_key));
    await this.publishChild(run, child.order_id, null);
    const openBefore = this.breakerOpen();
    let st: VenueOrderState;
    try {
      const request = {
        client_order_id: child.order_id,
        instrument_key: child.instrument_key,
        side: child.side,
        order_type: child.order_type,
        quantity: child.quantity,
        price: child.price,
        time_in_force: child.time_in_force,
      };
      const sentAt = this.d.clock.now();
      this.rec?.record(
        childSubmittedEntry(
          run.rec.order_id,
          child.order_id,
          request,
          run.mids.get(child.order_id) ?? null,
          sentAt,
        ),
      );
      st = await this.venue.submit(request, sentAt);
    } catch (err) {
      const kind = errorKind(err);
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind });
      const d = decide(this.execOf(run), {
        kind: 'submit_failed',
        now: this.d.clock.now(),
        child_id: child.order_id,
        error: kind,
        breaker_open_before: openBefore,
        message: errorText(err),
      });
      this.take(run, d);
      for (const ev of d.events) {
        if (ev.kind !== 'child_refused') continue;
        this.market.countOrder(child.order_id, true);
        this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'child', outcome: 'rejected' });
        await this.publishChild(run, child.order_id, ev.reason);
        return true;
      }
      this.ctx.metrics?.orders.inc({ venue: this.id, kind: 'child', outcome: 'unknown' });
      this.lastError = `child ${child.order_id} of ${run.op} not confirmed (${kind}): ${errorText(err)}`;
      this.log.warn(`venue ${this.id}: ${this.lastError}; resolving by client order id`, {
        venue: this.id,
        operation_id: run.op,
      });
      return false;
    }
    this.observeSubmit(started);
    this.market.countOrder(child.order_id, st.status === 'REJECTED');
    this.applyChild(run, st);
    await this.publishChild(run, child.order_id, st.reason ?? null);
    return true;
  }

  /** Cancel one child at the venue. False when the outcome is unknown (retried later). */
  private async cancelChild(run: Run, childId: string): Promise<boolean> {
    const c = run.state.children.find((x) => x.order_id === childId);
    if (c === undefined || isTerminal(c.status)) return true;
    let st: VenueOrderState | null;
    try {
      const sentAt = this.d.clock.now();
      this.rec?.record({
        type: 'child_cancel_requested',
        ts_init: sentAt,
        parent_order_id: run.rec.order_id,
        order_id: childId,
      });
      st = await this.venue.cancel(childId, run.rec.venue_instrument_key, sentAt);
    } catch (err) {
      const kind = errorKind(err);
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind });
      if (classifyCancelError(kind) === 'retry') return false;
      // Unknown at the venue, or already closed: what is its state?
      try {
        st = await this.venue.fetchOrder(childId, run.rec.venue_instrument_key);
      } catch (err2) {
        this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err2) });
        return false;
      }
      if (st === null) {
        // Never reached the venue: nothing filled, nothing to cancel.
        this.report(run, { order_id: childId, filled_quantity: '0', status: 'CANCELED' }, null);
        await this.publishChild(run, childId, `not at ${this.id}`);
        return true;
      }
    }
    this.applyChild(run, st);
    await this.publishChild(run, childId, st.reason ?? null);
    return true;
  }

  private async lookupChild(run: Run, childId: string): Promise<void> {
    try {
      const st = await this.venue.fetchOrder(childId, run.rec.venue_instrument_key);
      if (st !== null) this.applyChild(run, st);
    } catch (err) {
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      this.scheduleRunRetry(run);
    }
  }

  /** A venue report about a child → the core (cumulative and idempotent; a change wakes the scheduler). */
  private report(run: Run, update: ChildUpdate, reason: string | null): void {
    this.take(
      run,
      decide(this.execOf(run), { kind: 'child_report', now: this.d.clock.now(), update, reason }),
    );
  }

  /**
   * The venue's view of a child → the core. The filled quantity the scheduler sees is the venue's;
   * the parent's fills come from trades, and the parent is settled only once those match (settleRun).
   */
  private applyChild(run: Run, st: VenueOrderState): void {
    const childId = st.client_order_id;
    if (st.venue_order_id !== '' && run.rec.venue_order_ids[childId] !== st.venue_order_id) {
      run.rec = { ...run.rec, venue_order_ids: { ...run.rec.venue_order_ids, [childId]: st.venue_order_id } };
      this.byVenueOrderId.set(st.venue_order_id, childId);
      run.dirty = true;
    }
    this.report(run, childUpdateOf(st), st.reason ?? null);
  }

  /** A trade of a child: a fill of the parent (fill id `<child>-T<trade id>`). */
  private async childTrade(run: Run, childId: string, t: VenueTrade): Promise<void> {
    const fill = fillOfTrade(
      t,
      {
        operation_id: run.op,
        order_id: run.rec.order_id,
        instrument_key: run.rec.instrument_key,
        venue: this.id,
      },
      childId,
    );
    if (run.fill_ids.has(fill.fill_id)) return;
    const outcome = await this.d.recorder.recordFill(run.op, fill);
    run.fill_ids.add(fill.fill_id);
    if (outcome.kind === 'recorded')
      this.observeDrift(fill, run.mids.get(childId) ?? null, run.rec.strategy_id);
    this.rememberTrade(t);
    if (outcome.kind === 'ignored') return;
    const total = (run.recorded.get(childId) ?? new Dec(0)).plus(t.quantity);
    run.recorded.set(childId, total);
    // The trades may run ahead of the order stream: the core tells the scheduler what is filled for sure.
    const d = decide(this.execOf(run), {
      kind: 'child_trade',
      now: this.d.clock.now(),
      child_id: childId,
      traded_total: fmt(total),
    });
    this.take(run, d);
    if (d.events.length > 0) await this.publishChild(run, childId, null);
  }

  /** Read the trades of the parent's children since it started (fills the stream did not bring). */
  private async fetchRunTrades(run: Run, reason: string): Promise<void> {
    this.ctx.metrics?.gapFills.inc({ venue: this.id, reason });
    let trades: VenueTrade[];
    try {
      trades = await this.venue.fetchTrades(
        run.rec.venue_instrument_key,
        BigInt(run.state.start_ns) - GAP_MARGIN_NS,
      );
    } catch (err) {
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      this.log.warn(`venue ${this.id}: trades of ${run.op} could not be read: ${errorText(err)}`, {
        venue: this.id,
        operation_id: run.op,
      });
      return;
    }
    for (const t of trades) {
      const child = this.childOfTrade(run, t);
      if (child !== null) await this.childTrade(run, child, t);
    }
  }

  private childOfTrade(run: Run, t: VenueTrade): string | null {
    const ids = new Set(run.state.children.map((c) => c.order_id));
    if (t.client_order_id !== null && ids.has(t.client_order_id)) return t.client_order_id;
    const byVenue = this.byVenueOrderId.get(t.venue_order_id);
    return byVenue !== undefined && ids.has(byVenue) ? byVenue : null;
  }

  private async cancelRun(run: Run, reason: string): Promise<void> {
    if (isDone(run.state)) {
      await this.settleRun(run);
      return;
    }
    const d = decide(this.execOf(run), { kind: 'cancel', now: this.d.clock.now(), reason });
    this.take(run, d);
    await this.persistIfDirty(run);
    await this.perform(run, d.commands);
    run.wake_at = this.d.clock.now();
    await this.stepRun(run);
  }

  /**
   * A finished algorithm settles its parent — but only once every fill its children had is stored
   * (the parent's fills come from trades, the scheduler's quantities from order updates; a final
   * report before the last fill would close the order under it). Then the record goes inactive.
   */
  private async settleRun(run: Run): Promise<void> {
    const outcome = parentOutcome(run.state, run.rec);
    if (outcome === null) return;
    const schedulerFilled = filledQuantity(run.state);
    const recorded = sumDecimals(run.recorded.values());
    const settlement = settlementOf({
      scheduler_filled: schedulerFilled,
      recorded_filled: recorded,
      fill_checks: run.fill_checks,
    });
    if (settlement.kind === 'wait_for_fills') {
      if (run.fill_check_at === null) {
        run.fill_check_at = this.d.clock.now() + BigInt(this.ctx.settings.fillGraceMs) * NANOS_PER_MILLI;
      }
      this.armTimer(run);
      return;
    }
    if (settlement.kind === 'settle_short') {
      this.log.warn(
        `algorithm of ${run.op}: the venue reports ${schedulerFilled} filled, its trades only ${recorded}; settled, the rest left to reconciliation`,
        { venue: this.id, operation_id: run.op },
      );
    }
    run.fill_check_at = null;
    const op = run.op;
    const rec = this.d.recorder;
    if (outcome.kind === 'canceled') await rec.recordCanceled(op, outcome.reason);
    else if (outcome.kind === 'expired') await rec.recordExpired(op, outcome.reason);
    else if (outcome.kind === 'rejected') await rec.recordRejected(op, outcome.reason);
    else {
      const order = await this.d.orders.get(op);
      if (order !== null && !isTerminal(order.status)) {
        this.log.warn(
          `algorithm of ${op} filled ${schedulerFilled} but the order is ${order.status} (${order.filled_quantity} filled); left to reconciliation`,
          {
            venue: this.id,
            operation_id: op,
          },
        );
      }
    }
    await this.persist(run, run.state, { active: false });
    this.dropRun(run);
    this.log.info(
      `algorithm of ${op} finished: ${run.state.done_reason ?? ''}, ${schedulerFilled} of ${run.state.parent.quantity} filled`,
      {
        venue: this.id,
        operation_id: op,
      },
    );
  }

  private dropRun(run: Run): void {
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    this.runs.delete(run.op);
    for (const c of run.state.children) {
      const ref = this.refs.get(c.order_id);
      if (ref?.kind === 'child' && ref.op === run.op) this.refs.delete(c.order_id);
      this.rememberFinished(c.order_id);
    }
    for (const v of Object.values(run.rec.venue_order_ids)) this.byVenueOrderId.delete(v);
    this.updateGauges();
  }

  /** Store `state` (and record fields) as the next version; on success it becomes the run's state. */
  private async persist(
    run: Run,
    state: AlgoState,
    fields: Partial<Pick<AlgoStateRecord, 'cancel_reason' | 'last_child_rejection' | 'active'>> = {},
  ): Promise<void> {
    const next: AlgoStateRecord = {
      ...run.rec,
      ...fields,
      state,
      version: run.rec.version + 1,
      ts_updated: this.d.clock.now(),
    };
    const r = await this.d.algoStates.put(next, run.rec.version);
    if (!r.ok) {
      // Someone else wrote this parent (a second edge?): take what is stored and do not act now.
      this.lastError = `algorithm state of ${run.op} changed under us (stored version ${r.current?.version ?? 'none'})`;
      this.log.warn(`venue ${this.id}: ${this.lastError}; reloading`, {
        venue: this.id,
        operation_id: run.op,
      });
      if (r.current !== null) {
        run.rec = r.current;
        run.state = r.current.state;
      }
      run.dirty = false;
      throw new AlgoStateConflictError(run.op);
    }
    run.rec = r.record;
    run.state = r.record.state;
    run.dirty = false;
  }

  private async persistIfDirty(run: Run): Promise<void> {
    if (run.dirty) await this.persist(run, run.state);
  }

  private marketSnapshot(run: Run): MarketSnapshot {
    const key = run.rec.venue_instrument_key;
    const m: MarketSnapshot = {};
    const mid = this.market.mid(key);
    if (mid !== null) m.mid = mid;
    const volume = this.market.volume(key);
    if (volume !== null) m.volume = volume;
    return m;
  }

  private armTimer(run: Run): void {
    if (this.ctx.settings.tickMs === 0 || this.stopped) return;
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    const at = minNanos(run.wake_at, run.retry_at, run.fill_check_at);
    if (at === null) return;
    const delay = Math.max(0, Number((at - this.d.clock.now()) / NANOS_PER_MILLI));
    // Beyond one tick, the tick loop is precise enough; nearer wake-ups get their own timer.
    if (delay > this.ctx.settings.tickMs) return;
    run.timer = setTimeout(() => {
      run.timer = null;
      this.ctx.track(this.ctx.locks.run(run.op, () => this.dueRun(run)));
    }, delay);
    run.timer.unref?.();
  }

  // ===========================================================================================
  // Trading state
  // ===========================================================================================

  /**
   * A trading-state change → the execution core of every running parent of the strategy: HALTED
   * cancels their working children (once per child) and pauses them; a resume wakes them.
   */
  async applyTradingState(stateOf: (strategyId: string) => TradingState | null): Promise<void> {
    for (const run of [...this.runs.values()]) {
      const state = stateOf(run.rec.strategy_id);
      if (state === null || state === 'HALTED') {
        // Stop stepping at once; the cancels run under the parent's lock.
        run.paused = true;
        run.wake_at = null;
      }
      const probe = decide(this.execOf(run), { kind: 'trading_state', now: this.d.clock.now(), state });
      if (probe.commands.length === 0 && probe.events.length === 0) continue;
      this.ctx.track(
        this.ctx.locks.run(run.op, async () => {
          if (this.runs.get(run.op) !== run) return;
          const d = decide(this.execOf(run), { kind: 'trading_state', now: this.d.clock.now(), state });
          this.take(run, d);
          if (d.state.paused) run.wake_at = null;
          if (d.commands.length > 0) {
            await this.perform(run, d.commands);
            await this.persistIfDirty(run);
            run.wake_at = null;
            run.paused = true;
          }
          if (d.wake_at !== null) await this.dueRun(run);
        }),
      );
    }
  }

  /**
   * The instrument's trading sessions and the venue's policy, for the core's session gate; null: the
   * venue has no sessions. A failed read keeps the last schedule read (none: unknown, so the core
   * holds rather than sends unchecked).
   */
  private async sessionGate(venueInstrumentKey: string): Promise<SessionGate | null> {
    if (this.venue.tradingSchedule === undefined) return null;
    let schedule: TradingSchedule | null;
    try {
      schedule = await this.venue.tradingSchedule(venueInstrumentKey);
      this.schedules.set(venueInstrumentKey, schedule);
    } catch (err) {
      this.ctx.metrics?.venueErrors.inc({ venue: this.id, kind: errorKind(err) });
      schedule = this.schedules.get(venueInstrumentKey) ?? UNKNOWN_SCHEDULE;
      this.log.warn(`venue ${this.id}: trading hours of ${venueInstrumentKey} not read: ${errorText(err)}`, {
        venue: this.id,
      });
    }
    const gate: SessionGate = { schedule, policy: outsideHoursPolicy(this.config) };
    if (this.rec !== null) {
      // The venue hands out the same schedule object until it reads the hours again: a new object
      // or another policy is a change worth recording; anything else is the gate already recorded.
      const last = this.recordedGates.get(venueInstrumentKey);
      if (last?.schedule !== gate.schedule || last.policy !== gate.policy) {
        this.recordedGates.set(venueInstrumentKey, gate);
        this.rec.record(tradingScheduleEntry(this.id, venueInstrumentKey, gate, this.d.clock.now()));
      }
    }
    return gate;
  }

  /** The child policy for a direct (NORMAL) order: the order is its own only child. */
  private async checkDirect(
    order: OrderRecord,
    venueInstrumentKey: string,
    reference: DecimalString | null,
  ): Promise<RiskDecision | null> {
    const view = await this.riskView(
      order.strategy_id,
      order.instrument_key,
      venueInstrumentKey,
      order.order_id,
      reference,
    );
    if (view === null) return null;
    const child: ChildOrder = {
      order_id: order.order_id,
      parent_order_id: order.order_id,
      instrument_key: venueInstrumentKey,
      side: order.side,
      quantity: order.quantity,
      order_type: order.order_type,
      price: order.price,
      time_in_force: order.time_in_force,
      index: 1,
    };
    return checkChild(
      child,
      order.strategy_id,
      order.instrument_key,
      view,
      this.ctx.limits,
      this.d.clock.now(),
    );
  }

  // ===========================================================================================
  // Time
  // ===========================================================================================

  /** Everything due now: reconnects, algorithm steps, retries, fill checks, gap fills, the market. */
  async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      const now = this.d.clock.now();
      if (!this.connected) {
        if (this.reconnectAt === null || this.reconnectAt <= now) {
          await this.connect();
          if (this.connected) await this.resume();
        }
      }
      for (const run of [...this.runs.values()]) {
        const at = minNanos(run.wake_at, run.retry_at, run.fill_check_at);
        if (at !== null && at <= now) await this.ctx.locks.run(run.op, () => this.dueRun(run));
      }
      for (const ref of [...this.refs.values()]) {
        if (ref.kind !== 'direct') continue;
        if (ref.retry_at !== null && ref.retry_at <= now && this.connected) {
          await this.ctx.locks.run(ref.op, () => this.resolveDirect(ref, 'retry'));
        }
        if (ref.fill_check_at !== null && ref.fill_check_at <= now) {
          await this.ctx.locks.run(ref.op, () => this.directFillCheck(ref));
        }
      }
      const pollNs = BigInt(this.ctx.settings.orderPollMs) * NANOS_PER_MILLI;
      if (this.gapFillWanted === null && this.ctx.settings.orderPollMs > 0 && this.connected) {
        if (this.lastPoll === null) this.lastPoll = now;
        else if (now - this.lastPoll >= pollNs) this.gapFillWanted = { since: this.lastPoll, reason: 'poll' };
      }
      if (this.gapFillWanted !== null && this.connected) {
        const want = this.gapFillWanted;
        this.gapFillWanted = null;
        this.lastPoll = now;
        await this.gapFill(want.reason);
      }
      const h = this.venue.health();
      await this.market.publish({
        health: this.connected ? h.state : 'down',
        detail: this.connected ? h.detail : (this.lastError ?? h.detail),
      });
      this.updateGauges();
    } finally {
      this.ticking = false;
    }
  }

  private async dueRun(run: Run): Promise<void> {
    if (this.runs.get(run.op) !== run || this.stopped) return;
    const now = this.d.clock.now();
    try {
      if (run.retry_at !== null && run.retry_at <= now && this.connected)
        await this.performPending(run, 'retry');
      if (run.fill_check_at !== null && run.fill_check_at <= now) {
        run.fill_check_at = null;
        run.fill_checks++;
        await this.fetchRunTrades(run, 'fill_check');
        if (isDone(run.state)) {
          await this.persistIfDirty(run);
          await this.settleRun(run);
          if (run.fill_check_at !== null) {
            // Still short after reading the trades: back off.
            const b = this.backoff(run.retry_ms);
            run.fill_check_at = b.at;
            run.retry_ms = b.nextMs;
          }
          return;
        }
      }
      await this.stepRun(run);
    } catch (err) {
      this.onTaskError(run.op, err);
      if (run.wake_at === null || run.wake_at <= now) {
        const b = this.backoff(run.retry_ms);
        run.wake_at = b.at;
        run.retry_ms = b.nextMs;
      }
    }
  }

  /**
   * Read every working order and its trades back over REST (after the private stream came back,
   * and periodically as a safety net): fills missed by the stream are recorded, states caught up.
   */
  private async gapFill(reason: string): Promise<void> {
    this.ctx.metrics?.gapFills.inc({ venue: this.id, reason });
    for (const run of [...this.runs.values()]) {
      await this.ctx.locks.run(run.op, async () => {
        if (this.runs.get(run.op) !== run) return;
        for (const c of run.state.children) {
          if (!isTerminal(c.status)) await this.lookupChild(run, c.order_id);
        }
        await this.fetchRunTrades(run, reason);
        await this.persistIfDirty(run);
        run.wake_at = this.d.clock.now();
      });
    }
    for (const ref of [...this.refs.values()]) {
      if (ref.kind !== 'direct') continue;
      await this.ctx.locks.run(ref.op, async () => {
        if (this.refs.get(ref.client_order_id) !== ref) return;
        await this.resolveDirect(ref, 'poll');
        await this.fetchDirectTrades(ref);
      });
    }
  }

  // ===========================================================================================
  // Venue events (the streams)
  // ===========================================================================================

  /** Called by the venue adapter for every event; the work runs under the order's lock. */
  onVenueEvent(ev: VenueEvent): void {
    if (this.stopped) return;
    this.lastMessageAt = this.d.clock.now();
    if (this.rec !== null) {
      const at =
        (ev.kind === 'book' || ev.kind === 'public_trade' ? ev.ts_init : undefined) ?? this.d.clock.now();
      recordVenueEvent(this.rec, this.id, ev, at);
    }
    this.ctx.metrics?.venueEvents.inc({ venue: this.id, kind: ev.kind });
    switch (ev.kind) {
      case 'order': {
        const ref = this.lookup(ev.order.client_order_id, ev.order.venue_order_id);
        if (ref === null) {
          this.unmatched('order', ev.order.client_order_id);
          return;
        }
        this.ctx.track(this.ctx.locks.run(ref.op, () => this.onOrderEvent(ref, ev.order)));
        return;
      }
      case 'trade': {
        if (this.seenTrades.has(tradeKey(ev.trade))) return;
        const ref = this.lookup(ev.trade.client_order_id, ev.trade.venue_order_id);
        if (ref === null) {
          this.unmatched('trade', ev.trade.client_order_id ?? ev.trade.venue_order_id);
          return;
        }
        this.ctx.track(this.ctx.locks.run(ref.op, () => this.onTradeEvent(ref, ev.trade)));
        return;
      }
      case 'book':
        this.market.onBook(ev.book);
        return;
      case 'public_trade':
        this.market.onPublicTrade(ev);
        return;
      case 'connection':
        this.onConnection(ev);
        return;
    }
  }

  private async onOrderEvent(ref: Ref, st: VenueOrderState): Promise<void> {
    try {
      if (ref.kind === 'direct') {
        if (this.refs.get(ref.client_order_id) !== ref) return;
        ref.unacked = false;
        await this.applyDirect(ref, st);
        return;
      }
      const run = this.runs.get(ref.op);
      if (run === undefined) return;
      this.applyChild(run, st);
      await this.publishChild(run, st.client_order_id, st.reason ?? null);
      await this.stepRun(run);
    } catch (err) {
      this.onTaskError(ref.op, err);
      this.gapFillWanted ??= { since: this.d.clock.now(), reason: 'recovery' };
    }
  }

  private async onTradeEvent(ref: Ref, t: VenueTrade): Promise<void> {
    try {
      if (ref.kind === 'direct') {
        if (this.refs.get(ref.client_order_id) !== ref) return;
        await this.directTrade(ref, t);
        return;
      }
      const run = this.runs.get(ref.op);
      if (run === undefined) return;
      await this.childTrade(run, ref.client_order_id, t);
      await this.stepRun(run);
    } catch (err) {
      // Not lost: the next gap fill reads the venue's trades again.
      this.onTaskError(ref.op, err);
      this.gapFillWanted ??= { since: this.d.clock.now(), reason: 'recovery' };
    }
  }

  private onConnection(ev: Extract<VenueEvent, { kind: 'connection' }>): void {
    const before = this.streams[ev.stream];
    this.streams[ev.stream] = ev.state;
    this.ctx.metrics?.streamUp.set({ venue: this.id, stream: ev.stream }, ev.state === 'up' ? 1 : 0);
    const msg = `venue ${this.id} ${ev.stream} stream ${ev.state}${ev.reason ? `: ${ev.reason}` : ''}`;
    if (ev.state === 'down') {
      this.log.warn(msg, { venue: this.id, stream: ev.stream });
      if (ev.stream === 'private' && this.privateDownSince === null) this.privateDownSince = ev.ts_event;
      return;
    }
    this.log.info(msg, { venue: this.id, stream: ev.stream });
    if (ev.stream === 'private' && before === 'down') {
      // Back after a gap: read what happened meanwhile.
      const since = this.privateDownSince ?? ev.ts_event;
      this.privateDownSince = null;
      this.gapFillWanted = { since, reason: 'reconnect' };
      this.ctx.track(this.tick());
    }
  }

  private lookup(clientOrderId: string | null, venueOrderId: string): Ref | null {
    if (clientOrderId !== null) {
      const r = this.refs.get(clientOrderId);
      if (r !== undefined) return r;
    }
    const c = this.byVenueOrderId.get(venueOrderId);
    return c === undefined ? null : (this.refs.get(c) ?? null);
  }

  private rememberFinished(clientOrderId: string): void {
    this.finished.add(clientOrderId);
    if (this.finished.size > 10_000) {
      const oldest = this.finished.values().next();
      if (!oldest.done) this.finished.delete(oldest.value);
    }
  }

  private unmatched(kind: 'order' | 'trade', id: string): void {
    if (this.finished.has(id)) return; // a late report of an order finished here
    this.ctx.metrics?.unmatched.inc({ venue: this.id, kind });
    this.log.info(
      `venue ${this.id}: ${kind} report for ${id} matches no order working here; left to reconciliation`,
      {
        venue: this.id,
        kind,
      },
    );
  }

  private rememberTrade(t: VenueTrade): void {
    this.seenTrades.add(tradeKey(t));
    if (this.seenTrades.size > 20_000) {
      const oldest = this.seenTrades.values().next();
      if (!oldest.done) this.seenTrades.delete(oldest.value);
    }
  }

  private matches(t: VenueTrade, clientOrderId: string, venueOrderId: string | null): boolean {
    return (
      t.client_order_id === clientOrderId || (venueOrderId !== null && t.venue_order_id === venueOrderId)
    );
  }

  // ===========================================================================================
  // Reporting
  // ===========================================================================================

  /** Venue diagnostics (retries, breaker, streams, gap fills): log, metrics, `exec.orders`. */
  onDiagnostic(m: VenueDiagnosticMessage): void {
    this.ctx.metrics?.diagnostics.inc({ venue: this.id, diagnostic: m.diagnostic });
    if (m.diagnostic === 'breaker') {
      const open = m.detail.state === 'open' || m.detail.state === 'half_open';
      this.ctx.metrics?.breakerOpen.set({ venue: this.id }, open ? 1 : 0);
    }
    const d = m.detail;
    // A stream change is logged once, from the venue's connection event (onConnection); its
    // diagnostic is still counted and published.
    const logged = m.diagnostic !== 'stream';
    const quiet =
      m.diagnostic === 'clock_offset' ||
      m.diagnostic === 'polling' ||
      (m.diagnostic === 'stream' && d.state === 'up') ||
      (m.diagnostic === 'gap_fill' && d.ok === true) ||
      (m.diagnostic === 'breaker' && d.state === 'closed');
    if (logged && quiet) this.log.info(m.message, { venue: this.id, diagnostic: m.diagnostic, ...m.detail });
    else if (logged) this.log.warn(m.message, { venue: this.id, diagnostic: m.diagnostic, ...m.detail });
    this.ctx.track(
      this.d.bus.publish(ORDER_UPDATES_TOPIC, m, venueDiagnosticAttributes(m)).catch((err: unknown) => {
        this.log.warn(`venue ${this.id}: diagnostic not published: ${errorText(err)}`, { venue: this.id });
      }),
    );
  }

  private async publishChild(run: Run, childId: string, reason: string | null): Promise<void> {
    const c: ChildRecord | undefined = run.state.children.find((x) => x.order_id === childId);
    if (c === undefined) return;
    const key = `${c.status}|${c.filled_quantity}`;
    if (run.published.get(childId) === key) return;
    run.published.set(childId, key);
    const m: ChildOrderMessage = {
      type: 'child_order',
      operation_id: run.op,
      parent_order_id: run.rec.order_id,
      client_order_id: childId,
      venue_order_id: run.rec.venue_order_ids[childId] ?? null,
      venue: this.id,
      instrument_key: run.rec.venue_instrument_key,
      side: run.state.parent.side,
      order_type: run.state.child_order_type,
      quantity: c.quantity,
      price: run.state.child_price,
      status: c.status,
      filled_quantity: c.filled_quantity,
      reason,
      ts_event: this.d.clock.now().toString(),
    };
    try {
      await this.d.bus.publish(ORDER_UPDATES_TOPIC, m, childOrderAttributes(m));
    } catch (err) {
      // An audit message: the order book of record has the fills; do not fail the child for it.
      this.log.warn(`venue ${this.id}: child update of ${childId} not published: ${errorText(err)}`, {
        venue: this.id,
        operation_id: run.op,
      });
    }
  }

  /** Drift of a recorded fill against the mid at arrival (the monitor's failures are logged, never thrown). */
  private observeDrift(fill: Fill, mid: DecimalString | null, strategyId: string): void {
    const drift = this.d.drift;
    if (drift === undefined) return;
    this.ctx.track(
      drift.onFill(fill, mid, { strategy_id: strategyId }).catch((err: unknown) => {
        this.log.warn(`venue ${this.id}: drift check of ${fill.fill_id} failed: ${errorText(err)}`, {
          venue: this.id,
          operation_id: fill.operation_id,
        });
      }),
    );
  }

  private breakerOpen(): boolean {
    return this.venue.health().state === 'circuit_open';
  }

  private observeSubmit(startedMs: number): void {
    const elapsed = performance.now() - startedMs;
    this.market.observeLatency(elapsed);
    this.ctx.metrics?.submitSeconds.observe({ venue: this.id }, elapsed / 1000);
  }

  private onTaskError(op: string, err: unknown): void {
    this.lastError = `${op}: ${errorText(err)}`;
    this.log.warn(`venue ${this.id}: ${this.lastError}`, { venue: this.id, operation_id: op });
  }

  private updateGauges(): void {
    this.ctx.metrics?.activeAlgorithms.set({ venue: this.id }, this.runs.size);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors and helpers
// ---------------------------------------------------------------------------------------------

/** A routed message for an operation the order store does not have (poison: dead-lettered). */
export class UnknownRoutedOrderError extends Error {
  constructor(readonly operationId: string) {
    super(`unknown_order: no order ${operationId} in the order store`);
    this.name = 'UnknownRoutedOrderError';
  }
}

/** Another writer changed an algorithm's stored state (transient: the next step works from it). */
export class AlgoStateConflictError extends Error {
  constructor(readonly operationId: string) {
    super(`the algorithm state of ${operationId} was changed by another writer`);
    this.name = 'AlgoStateConflictError';
  }
}

function errorKind(err: unknown): VenueErrorKind {
  return err instanceof VenueError ? err.kind : 'transient';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describeOutcome(o: ExecutionOutcome): string {
  return o.kind === 'ignored' || o.kind === 'reconciliation'
    ? o.reason
    : `${o.kind}, status ${o.order.status}`;
}

function tradeKey(t: VenueTrade): string {
  return `${t.instrument_key}|${t.trade_id}`;
}

/** `<child id>-T<trade id>` → the child id (children end in -S<i>, -R<k>, -N1). */
function childOfFillId(fillId: string): string | null {
  const m = /^(.*-(?:S|R|N)\d+)-T.+$/.exec(fillId);
  return m?.[1] ?? null;
}

function minNanos(...xs: Array<Nanos | null>): Nanos | null {
  let best: Nanos | null = null;
  for (const x of xs) if (x !== null && (best === null || x < best)) best = x;
  return best;
}

/**
 * The simulated venue: one per venue whose configuration says `mode: SIMULATED`. It consumes
 * `orders.routed` (filter `venue = <id>`), matches orders with our deterministic MatchingEngine
 * (one per instrument) against a seeded moving market (./market-model.ts), runs TWAP / VWAP /
 * ICEBERG parents through the shared/algos schedulers, and records everything through the
 * ExecutionRecorder (shared/app/execution-recorder.ts) — the same service the ccxt edge uses.
 * It publishes its book to the MarketStateStore (so the router sees depth), its venue state
 * (latency, rejection rate, simulated balances) and throttled `market.raw` quotes.
 *
 * Time comes from the injected Clock only. `tick()` advances every instrument to `clock.now()`;
 * `start()` calls it on a timer (`tickMs`), tests call it by hand with a TestClock. Within a tick,
 * market events, order activations and algorithm wake-ups are processed in time order, so slice
 * times and fills do not depend on the tick cadence.
 *
 * See docs/simulated-venue.md.
 */
import { cancelAlgo, initAlgo, isDone, nextAlgo, onChildUpdate } from '../../../shared/algos/scheduler.ts';
import type { AlgoAction, AlgoState, ChildUpdate, MarketSnapshot } from '../../../shared/algos/types.ts';
import {
  MARKET_RAW_TOPIC,
  type MarketRawQuote,
  marketRawAttributes,
} from '../../../shared/app/execution-messages.ts';
import {
  type ExecutionLog,
  type ExecutionRecorder,
  isLiveAtVenue,
  SILENT_EXECUTION_LOG,
} from '../../../shared/app/execution-recorder.ts';
import {
  ROUTED_TOPIC,
  type RoutedMessage,
  RoutedMessageSchema,
  type RoutedSubmitMessage,
  routedSubmitMessage,
  type VenueCancelMessage,
} from '../../../shared/app/messages.ts';
import { parentOutcome } from '../../../shared/app/venue-edge-rules.ts';
import type { VenueConfig } from '../../../shared/config/schema.ts';
import { Dec, fmt, toDec } from '../../../shared/domain/decimal.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { parseInstrumentId, settlementOf } from '../../../shared/domain/instrument-id.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, type Nanos } from '../../../shared/domain/time.ts';
import type {
  Fill,
  InstrumentSpec,
  OrderRecord,
  OrderStatus,
  Position,
} from '../../../shared/domain/types.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { BusMessage, EventBus, HandlerOutcome, Subscription } from '../../../shared/ports/event-bus.ts';
import type { InstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { MarketQuote, MarketStateStore, VenueState } from '../../../shared/ports/market-state.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import type { PositionStore } from '../../../shared/ports/position-store.ts';
import {
  type FillModel,
  MatchingEngine,
  type SimEvent,
  type SimFilled,
  toDomainFill,
} from '../../../shared/sim/index.ts';
import { SyntheticMarketStream } from './market-model.ts';

/** The configuration the simulated venue reads (a `venues[]` entry). */
export type SimulatedVenueConfig = Pick<
  VenueConfig,
  'id' | 'mode' | 'latency_ms' | 'fees' | 'shadow' | 'accounts' | 'instrument_types'
>;

export interface SimulatedVenueDeps {
  venue: SimulatedVenueConfig;
  bus: EventBus;
  recorder: ExecutionRecorder;
  instruments: InstrumentCatalog;
  clock: Clock;
  /** Where the book and the venue state go for the router and risk (optional). */
  market?: MarketStateStore | undefined;
  /** Start-up reconciliation (orders working at this venue before a restart) and resuming routed orders. */
  orders?: Pick<OrderStore, 'query'> | undefined;
  /** Simulated balances are derived from the venue's positions (optional; without it balances are not reported). */
  positions?: Pick<PositionStore, 'list'> | undefined;
  log?: ExecutionLog | undefined;
}

export interface SimulatedVenueOptions {
  /** Seed of the market and the engines (default 42). */
  seed?: number | undefined;
  /** Timer period of `tick()` after `start()`; 0 = no timer (tests drive `tick()`). Default 50 ms. */
  tickMs?: number | undefined;
  /** Book snapshots to the MarketStateStore at most this often per instrument (default 1000 ms). */
  bookPublishMs?: number | undefined;
  /** `market.raw` quotes at most this often per instrument (default 1000 ms). */
  marketRawMs?: number | undefined;
  /** Venue state (latency, rejection rate, balances) at most this often (default 5000 ms). */
  venueStateMs?: number | undefined;
  /** Starting mid per instrument key of this venue (default: a small table, see market-model.ts). */
  startPrices?: Readonly<Record<string, number>> | undefined;
  /** Milliseconds between book snapshots, uniform in [min, max] (default [100, 250]). */
  quoteIntervalMs?: readonly [number, number] | undefined;
  /** Typical spread in bps (default 2). */
  spreadBps?: number | undefined;
  /** Passive fills at the touch (default conservative: never). */
  fillModel?: FillModel | undefined;
  /** Cancel working orders left from before a restart and resubmit routed PENDING orders (default true). */
  reconcileOnStart?: boolean | undefined;
  /** Subscription name (default `sim-venue-<id>.orders.routed`). */
  subscription?: string | undefined;
}

/** One instrument at the venue: its market, its engine. */
interface Book {
  key: string;
  spec: InstrumentSpec;
  stream: SyntheticMarketStream;
  engine: MatchingEngine;
  lastBookPublish: Nanos | null;
  lastRawPublish: Nanos | null;
}

/** What an engine order id stands for. */
type EngineRef =
  | { kind: 'order'; op: string; order_id: string; instrument_key: string }
  | { kind: 'child'; parentOp: string; order_id: string; instrument_key: string };

interface AlgoRun {
  op: string;
  order_id: string;
  /** The order's instrument key (fills carry it). */
  instrument_key: string;
  book: string;
  state: AlgoState;
  wakeAt: Nanos | null;
  cancelReason: string | null;
  lastChildRejection: string | null;
}

/** A venue report waiting to be recorded (kept in order until the recorder took it). */
type Report =
  | { kind: 'accepted'; op: string; venue_order_id: string; ts: Nanos }
  | { kind: 'fill'; op: string; fill: Fill }
  | { kind: 'canceled'; op: string; reason: string; ts: Nanos }
  | { kind: 'expired'; op: string; reason: string; ts: Nanos }
  | { kind: 'rejected'; op: string; reason: string; ts: Nanos };

const WORKING: OrderStatus[] = ['SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL'];
const RECENT_WINDOW = 100;
const MAX_STEPS_PER_TICK = 100_000;
const LEVELS_PUBLISHED = 5;
const FINISHED_MEMORY = 10_000;

export class SimulatedVenue {
  readonly id: string;
  private readonly d: SimulatedVenueDeps;
  private readonly log: ExecutionLog;
  private readonly seed: number;
  private readonly tickMs: number;
  private readonly bookPublishNs: Nanos;
  private readonly marketRawNs: Nanos;
  private readonly venueStateNs: Nanos;
  private readonly latencyNs: number;
  private readonly opts: SimulatedVenueOptions;

  private readonly books = new Map<string, Book>();
  private readonly refs = new Map<string, EngineRef>();
  private readonly algos = new Map<string, AlgoRun>();
  /** Parents whose algorithm finished here (a late duplicate must not start the schedule again). */
  private readonly finishedAlgos = new Set<string>();
  private reports: Report[] = [];
  /** The last orders sent to the engines (id → rejected?), for the venue's rejection rate. */
  private recent = new Map<string, boolean>();
  private lastVenueState: Nanos | null = null;

  private chain: Promise<unknown> = Promise.resolve();
  private subscription: Subscription | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Ticks queued or running (the timer does not add one while any is). */
  private ticking = 0;
  private started = false;
  private stopped = false;
  private lastError: string | null = null;

  constructor(deps: SimulatedVenueDeps, options: SimulatedVenueOptions = {}) {
    if (deps.venue.mode !== 'SIMULATED') {
      throw new RangeError(`venue ${deps.venue.id} is ${deps.venue.mode}, not SIMULATED`);
    }
    this.id = deps.venue.id;
    this.d = deps;
    this.log = deps.log ?? SILENT_EXECUTION_LOG;
    this.opts = options;
    this.seed = Math.trunc(options.seed ?? 42) >>> 0;
    this.tickMs = Math.max(0, Math.trunc(options.tickMs ?? 50));
    this.bookPublishNs = BigInt(Math.max(0, Math.trunc(options.bookPublishMs ?? 1000))) * NANOS_PER_MILLI;
    this.marketRawNs = BigInt(Math.max(0, Math.trunc(options.marketRawMs ?? 1000))) * NANOS_PER_MILLI;
    this.venueStateNs = BigInt(Math.max(0, Math.trunc(options.venueStateMs ?? 5000))) * NANOS_PER_MILLI;
    this.latencyNs = Math.max(0, Math.round(deps.venue.latency_ms * 1e6));
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  /**
   * Load the venue's instruments, subscribe to `orders.routed`, reconcile what a restart left
   * behind, publish the first book and start the timer. Messages that arrive meanwhile wait.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.startLocked();
    } catch (err) {
      await this.subscription?.close().catch(() => undefined);
      this.subscription = null;
      this.stopped = true;
      throw err;
    }
    if (this.tickMs > 0) {
      this.timer = setInterval(() => {
        // A slow tick (a store round trip) is not piled up behind: the next one catches up.
        if (this.ticking === 0) void this.tick().catch(() => undefined);
      }, this.tickMs);
      this.timer.unref?.();
    }
    this.log.info(`simulated venue ${this.id} started`, { venue: this.id, instruments: this.books.size });
  }

  private startLocked(): Promise<void> {
    return this.serial(async () => {
      for (const spec of await this.d.instruments.list()) {
        if (this.lists(spec.instrument_key)) this.addBook(spec);
      }
      this.subscription = await this.d.bus.subscribe(
        ROUTED_TOPIC,
        this.opts.subscription ?? `sim-venue-${this.id.toLowerCase()}.orders.routed`,
        (msg) => this.handleMessage(msg),
        { filter: { venue: this.id } },
      );
      if (this.opts.reconcileOnStart !== false) await this.reconcileOnStart();
      await this.tickLocked();
    });
  }

  /** Stop the timer and the subscription; pending reports are flushed once more. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.subscription?.close();
    this.subscription = null;
    await this.serial(() => this.flushReports());
  }

  /** Component status for `GET /api/health` (`venue:<id>`). */
  health(): { ok: boolean; detail?: string } {
    const working = [...this.books.values()].reduce((n, b) => n + b.engine.workingOrderCount(), 0);
    const detail = `SIMULATED, ${this.books.size} instruments, ${working} working orders, ${this.algos.size} algorithms, ${this.reports.length} reports pending`;
    if (!this.started || this.stopped)
      return { ok: false, detail: `${this.stopped ? 'stopped' : 'not started'}; ${detail}` };
    if (this.lastError !== null) return { ok: false, detail: `${this.lastError}; ${detail}` };
    return { ok: true, detail };
  }

  // -------------------------------------------------------------------------------------------
  // Inputs
  // -------------------------------------------------------------------------------------------

  /** One `orders.routed` message: invalid → dead letter; a store/bus failure throws (redelivery). */
  handleMessage(msg: BusMessage): Promise<HandlerOutcome> {
    let parsed: RoutedMessage;
    try {
      const r = RoutedMessageSchema.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
      if (!r.success) {
        const i = r.error.issues[0];
        return Promise.resolve({
          kind: 'dead_letter',
          reason: `invalid_routed_message: ${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? 'invalid'}`,
        });
      }
      parsed = r.data;
    } catch (err) {
      return Promise.resolve({ kind: 'dead_letter', reason: `invalid_routed_message: ${errorText(err)}` });
    }
    if (parsed.venue !== this.id) return Promise.resolve({ kind: 'ack' });
    const m = parsed;
    return this.serial(async () => {
      if (m.action === 'submit') await this.onSubmit(m);
      else await this.onCancel(m);
      await this.flushReports();
      return { kind: 'ack' } as const;
    });
  }

  /** Advance every instrument to `clock.now()`, record what happened, publish the market. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticking++;
    try {
      await this.serial(() => this.tickLocked());
      if (this.reports.length === 0) this.lastError = null;
    } catch (err) {
      this.lastError = `tick failed: ${errorText(err)}`;
      this.log.warn(`simulated venue ${this.id}: ${this.lastError}`, { venue: this.id });
      throw err;
    } finally {
      this.ticking--;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Views (tests, the ops console)
  // -------------------------------------------------------------------------------------------

  /** The instrument keys this venue lists (its own canonical ids). */
  instrumentKeys(): string[] {
    return [...this.books.keys()].sort();
  }

  /** Best bid / ask of an instrument as numbers, or null. */
  topOfBook(venueInstrumentKey: string): { bid: number | null; ask: number | null } | null {
    const b = this.books.get(venueInstrumentKey);
    if (b === undefined) return null;
    return { bid: b.engine.bestBid()?.price ?? null, ask: b.engine.bestAsk()?.price ?? null };
  }

  /** Algorithm states in memory (parent operation id → state). */
  algorithms(): ReadonlyMap<string, AlgoState> {
    return new Map([...this.algos].map(([op, run]) => [op, run.state]));
  }

  /** Reports not yet recorded (a store outage keeps them here, in order, until the next tick). */
  pendingReports(): number {
    return this.reports.length;
  }

  // -------------------------------------------------------------------------------------------
  // Submit and cancel
  // -------------------------------------------------------------------------------------------

  private async onSubmit(m: RoutedSubmitMessage): Promise<void> {
    const now = this.d.clock.now();
    const op = m.operation_id;
    const clientOrderId = m.order_id;
    const submitted = await this.d.recorder.recordSubmitted(op, clientOrderId, now);
    if (!isLiveAtVenue(submitted)) {
      this.log.info(
        `routed order ${op} not sent: ${submitted.kind === 'ignored' ? submitted.reason : submitted.kind}`,
        {
          venue: this.id,
          operation_id: op,
        },
      );
      return;
    }
    const book = await this.bookFor(m.venue_instrument_key);
    if (book === null) {
      this.countOrder(clientOrderId, true);
      await this.d.recorder.recordRejected(
        op,
        `UNKNOWN_INSTRUMENT: ${m.venue_instrument_key} is not listed on ${this.id}`,
        now,
      );
      return;
    }
    this.advanceBook(book, now);

    if (m.exec_algorithm === 'NORMAL') {
      if (book.engine.getOrder(clientOrderId) !== undefined) return; // the venue de-duplicates client order ids
      this.refs.set(clientOrderId, {
        kind: 'order',
        op,
        order_id: m.order_id,
        instrument_key: m.instrument_key,
      });
      this.countOrder(clientOrderId, false);
      book.engine.submit(
        {
          order_id: clientOrderId,
          side: m.side,
          order_type: m.order_type,
          quantity: m.quantity,
          price: m.price,
          time_in_force: m.time_in_force,
        },
        now,
      );
      return;
    }

    if (this.finishedAlgos.has(op)) return; // finished here; its final report settles the order
    if (!this.algos.has(op)) {
      let state: AlgoState;
      try {
        state = initAlgo(
          m.exec_algorithm,
          {
            order_id: m.order_id,
            instrument_key: book.key,
            side: m.side,
            quantity: m.quantity,
            limit_price: m.order_type === 'LIMIT' ? m.price : null,
            time_in_force: m.time_in_force,
          },
          m.exec_algorithm_params,
          now,
          book.spec,
          this.seed,
        );
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        this.countOrder(clientOrderId, true);
        await this.d.recorder.recordRejected(op, `INVALID_ALGORITHM: ${err.message}`, now);
        return;
      }
      this.algos.set(op, {
        op,
        order_id: m.order_id,
        instrument_key: m.instrument_key,
        book: book.key,
        state,
        wakeAt: now,
        cancelReason: null,
        lastChildRejection: null,
      });
    }
    // The venue's scheduler took the parent: acknowledged (a redelivery acknowledges again: a no-op).
    await this.d.recorder.recordAccepted(op, this.venueOrderId(m.order_id), now);
    this.advanceBook(book, now);
  }

  private async onCancel(m: VenueCancelMessage): Promise<void> {
    const now = this.d.clock.now();
    const op = m.operation_id;
    const run = this.algos.get(op);
    const book = this.books.get(m.venue_instrument_key);
    if (run !== undefined) {
      const b = this.books.get(run.book);
      if (b !== undefined) this.advanceBook(b, now);
      const step = cancelAlgo(run.state);
      run.state = step.state;
      run.cancelReason = m.reason;
      if (b !== undefined) this.perform(b, run, step.actions, now);
      this.settleAlgo(run, now);
      return;
    }
    const clientOrderId = m.client_order_id ?? m.order_id;
    const known = book?.engine.getOrder(clientOrderId);
    if (book !== undefined && known !== undefined) {
      this.advanceBook(book, now);
      // The outcome (canceled, or cancel_rejected when it already finished) comes as engine events.
      book.engine.cancel(clientOrderId, now);
      return;
    }
    // Nothing working here under that id (never reached the engine, or lost in a restart).
    this.reports.push({ kind: 'canceled', op, reason: `${m.reason} (not working at ${this.id})`, ts: now });
  }

  // -------------------------------------------------------------------------------------------
  // Time: market, engine, algorithms
  // -------------------------------------------------------------------------------------------

  private async tickLocked(): Promise<void> {
    const now = this.d.clock.now();
    for (const book of this.books.values()) this.advanceBook(book, now);
    await this.flushReports();
    await this.publish(now);
  }

  /**
   * Bring one instrument to `now`: market events, order activations and algorithm wake-ups in
   * time order. Engine outcomes become reports (recorded by `flushReports`).
   */
  private advanceBook(book: Book, now: Nanos): void {
    for (let steps = 0; steps < MAX_STEPS_PER_TICK; steps++) {
      const due = this.earliestWake(book.key, now);
      const target = due ?? now;
      for (const ev of book.stream.takeUntil(target)) {
        if (ev.kind === 'book') book.engine.onBookSnapshot(ev.ts, ev.bids, ev.asks);
        else book.engine.onTrade(ev.ts, ev.price, ev.size, ev.aggressor);
      }
      book.engine.advanceTo(target);
      for (const ev of book.engine.drainEvents()) this.onEngineEvent(ev);
      if (due === null) {
        // Child updates may have made an algorithm due again (≤ now): loop; otherwise done.
        if (this.earliestWake(book.key, now) !== null) continue;
        this.maybeRebase(book, now);
        return;
      }
      for (const run of this.algos.values()) {
        if (run.book === book.key && run.wakeAt !== null && run.wakeAt <= target)
          this.stepAlgo(book, run, target);
      }
    }
    this.log.warn(
      `simulated venue ${this.id}: ${book.key} needed more than ${MAX_STEPS_PER_TICK} steps in one tick`,
      {
        venue: this.id,
      },
    );
  }

  private earliestWake(bookKey: string, now: Nanos): Nanos | null {
    let best: Nanos | null = null;
    for (const run of this.algos.values()) {
      if (run.book !== bookKey || run.wakeAt === null || run.wakeAt > now) continue;
      if (best === null || run.wakeAt < best) best = run.wakeAt;
    }
    return best;
  }

  private stepAlgo(book: Book, run: AlgoRun, t: Nanos): void {
    const market: MarketSnapshot = { volume: book.stream.cumulativeVolume() };
    const mid = book.engine.mid();
    if (mid !== null) market.mid = mid;
    const step = nextAlgo(run.state, t, market);
    run.state = step.state;
    run.wakeAt = step.wakeAtNs;
    this.perform(book, run, step.actions, t);
    this.settleAlgo(run, t);
  }

  private perform(book: Book, run: AlgoRun, actions: readonly AlgoAction[], t: Nanos): void {
    for (const a of actions) {
      if (a.kind === 'cancel') {
        book.engine.cancel(a.order_id, t);
        continue;
      }
      const c = a.child;
      this.refs.set(c.order_id, {
        kind: 'child',
        parentOp: run.op,
        order_id: run.order_id,
        instrument_key: run.instrument_key,
      });
      this.countOrder(c.order_id, false);
      book.engine.submit(
        {
          order_id: c.order_id,
          side: c.side,
          order_type: c.order_type,
          quantity: c.quantity,
          price: c.price,
          time_in_force: c.time_in_force,
        },
        t,
      );
    }
  }

  /** A finished algorithm settles its parent order and leaves memory. */
  private settleAlgo(run: AlgoRun, t: Nanos): void {
    if (!isDone(run.state)) return;
    this.algos.delete(run.op);
    this.finishedAlgos.add(run.op);
    if (this.finishedAlgos.size > FINISHED_MEMORY) {
      const oldest = this.finishedAlgos.values().next();
      if (!oldest.done) this.finishedAlgos.delete(oldest.value);
    }
    // The same rule as the live edge's (shared/app/venue-edge-rules.ts).
    const outcome = parentOutcome(run.state, {
      cancel_reason: run.cancelReason,
      last_child_rejection: run.lastChildRejection,
    });
    if (outcome === null || outcome.kind === 'filled') return; // the child fills completed the parent
    this.reports.push({ kind: outcome.kind, op: run.op, reason: outcome.reason, ts: t });
  }

  private onEngineEvent(ev: SimEvent): void {
    const ref = this.refs.get(ev.order_id);
    if (ref === undefined) return;
    if (ref.kind === 'child') {
      this.onChildEvent(ref, ev);
      return;
    }
    const op = ref.op;
    switch (ev.type) {
      case 'accepted':
        this.reports.push({
          kind: 'accepted',
          op,
          venue_order_id: this.venueOrderId(ev.order_id),
          ts: ev.ts_event,
        });
        return;
      case 'filled':
        this.reports.push({ kind: 'fill', op, fill: this.fillOf(ev, op, ref.order_id, ref.instrument_key) });
        if (ev.leaves_quantity === '0') this.refs.delete(ev.order_id);
        return;
      case 'canceled':
        this.reports.push({ kind: 'canceled', op, reason: `${ev.reason}: ${ev.message}`, ts: ev.ts_event });
        this.refs.delete(ev.order_id);
        return;
      case 'expired':
        this.reports.push({ kind: 'expired', op, reason: `${ev.reason}: ${ev.message}`, ts: ev.ts_event });
        this.refs.delete(ev.order_id);
        return;
      case 'rejected':
        this.countOrder(ev.order_id, true);
        this.reports.push({ kind: 'rejected', op, reason: `${ev.reason}: ${ev.message}`, ts: ev.ts_event });
        this.refs.delete(ev.order_id);
        return;
      case 'cancel_rejected':
        if (ev.reason === 'UNKNOWN_ORDER') {
          this.reports.push({
            kind: 'canceled',
            op,
            reason: `not working at ${this.id}: ${ev.message}`,
            ts: ev.ts_event,
          });
        }
        return;
    }
  }

  private onChildEvent(ref: Extract<EngineRef, { kind: 'child' }>, ev: SimEvent): void {
    const parentOp = ref.parentOp;
    if (ev.type === 'filled') {
      // Child fills are the parent's fills (fill ids keep the child id: `<parent>-S2-F1`); recorded
      // even when the algorithm already finished.
      this.reports.push({
        kind: 'fill',
        op: parentOp,
        fill: this.fillOf(ev, parentOp, ref.order_id, ref.instrument_key),
      });
    }
    if (
      ev.type !== 'accepted' &&
      (ev.type !== 'filled' || ev.leaves_quantity === '0') &&
      ev.type !== 'cancel_rejected'
    ) {
      this.refs.delete(ev.order_id);
    }
    const run = this.algos.get(parentOp);
    if (run === undefined) return;
    let update: ChildUpdate | null = null;
    switch (ev.type) {
      case 'accepted':
        // Cumulative fills come with the fill events that follow (the scheduler's quantities only grow).
        update = { order_id: ev.order_id, filled_quantity: '0', status: 'ACCEPTED' };
        break;
      case 'filled':
        update = {
          order_id: ev.order_id,
          filled_quantity: ev.cum_quantity,
          status: ev.leaves_quantity === '0' ? 'FILLED' : 'PARTIALLY_FILLED',
        };
        break;
      case 'canceled':
        update = { order_id: ev.order_id, filled_quantity: ev.filled_quantity, status: 'CANCELED' };
        break;
      case 'expired':
        update = { order_id: ev.order_id, filled_quantity: ev.filled_quantity, status: 'EXPIRED' };
        break;
      case 'rejected':
        this.countOrder(ev.order_id, true);
        run.lastChildRejection = `${ev.reason}: ${ev.message}`;
        update = { order_id: ev.order_id, filled_quantity: '0', status: 'REJECTED' };
        break;
      case 'cancel_rejected':
        return;
    }
    run.state = onChildUpdate(run.state, update);
    // The scheduler wants a `next` call after every child update.
    run.wakeAt = run.wakeAt === null || ev.ts_event < run.wakeAt ? ev.ts_event : run.wakeAt;
    this.settleAlgo(run, ev.ts_event);
  }

  private fillOf(ev: SimFilled, op: string, orderId: string, instrumentKey: string): Fill {
    return {
      ...toDomainFill(ev, { operation_id: op, venue: this.id, instrument_key: instrumentKey }),
      order_id: orderId,
    };
  }

  private maybeRebase(book: Book, now: Nanos): void {
    // Engine times are relative to its epoch (exact within ~104 days): move it daily.
    if (now - book.engine.epochNs > 86_400n * NANOS_PER_SECOND) book.engine.rebase(now);
  }

  // -------------------------------------------------------------------------------------------
  // Recording
  // -------------------------------------------------------------------------------------------

  /** Record queued reports in order; a failure leaves the rest queued for the next tick. */
  private async flushReports(): Promise<void> {
    while (this.reports.length > 0) {
      const r = this.reports[0] as Report;
      try {
        await this.record(r);
      } catch (err) {
        this.lastError = `recording ${r.kind} of ${r.op} failed (will retry): ${errorText(err)}`;
        this.log.warn(`simulated venue ${this.id}: ${this.lastError}`, {
          venue: this.id,
          operation_id: r.op,
        });
        return;
      }
      this.reports.shift();
    }
  }

  private record(r: Report): Promise<unknown> {
    const rec = this.d.recorder;
    switch (r.kind) {
      case 'accepted':
        return rec.recordAccepted(r.op, r.venue_order_id, r.ts);
      case 'fill':
        return rec.recordFill(r.op, r.fill);
      case 'canceled':
        return rec.recordCanceled(r.op, r.reason, r.ts);
      case 'expired':
        return rec.recordExpired(r.op, r.reason, r.ts);
      case 'rejected':
        return rec.recordRejected(r.op, r.reason, r.ts);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start-up reconciliation
  // -------------------------------------------------------------------------------------------

  /**
   * The engine lives in memory, so after a restart nothing is working here: orders our books still
   * show as working at this venue are canceled (recorded, with the reason), positions are rebuilt
   * from the stored fills, and routed orders that were never submitted (their bus message may be
   * lost with an in-process bus) are submitted now.
   */
  private async reconcileOnStart(): Promise<void> {
    await this.d.recorder.recoverPositions({ venue: this.id });
    const orders = this.d.orders;
    if (orders === undefined) return;
    const now = this.d.clock.now();
    for (const o of await queryAll(orders, { venue: this.id, status: WORKING })) {
      await this.d.recorder.recordCanceled(
        o.operation_id,
        `VENUE_RESTART: the simulated venue ${this.id} restarted and lost its working orders`,
        now,
      );
    }
    const pending = (await queryAll(orders, { venue: this.id, status: 'PENDING' })).filter(
      (o) => o.risk_approved === true && o.parent_order_id === null,
    );
    for (const o of pending.reverse()) {
      await this.onSubmit(routedSubmitMessage(o, null, now));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Publishing the market
  // -------------------------------------------------------------------------------------------

  private async publish(now: Nanos): Promise<void> {
    for (const book of this.books.values()) {
      const snap = book.stream.book();
      if (snap === null) continue;
      if (this.d.market !== undefined && due(book.lastBookPublish, now, this.bookPublishNs)) {
        book.lastBookPublish = now;
        await this.d.market.putQuote(this.marketQuote(book, snap.ts));
      }
      if (due(book.lastRawPublish, now, this.marketRawNs)) {
        book.lastRawPublish = now;
        const raw = this.rawQuote(book);
        if (raw !== null) await this.d.bus.publish(MARKET_RAW_TOPIC, raw, marketRawAttributes(raw));
      }
    }
    if (this.d.market !== undefined && due(this.lastVenueState, now, this.venueStateNs)) {
      this.lastVenueState = now;
      await this.d.market.putVenueState(await this.venueState(now));
    }
  }

  private marketQuote(book: Book, ts: Nanos): MarketQuote {
    const snap = book.stream.book();
    const bids = (snap?.bids ?? []).slice(0, LEVELS_PUBLISHED);
    const asks = (snap?.asks ?? []).slice(0, LEVELS_PUBLISHED);
    const bid = bids[0]?.price ?? null;
    const ask = asks[0]?.price ?? null;
    return {
      venue: this.id,
      instrument_key: book.key,
      bid,
      ask,
      mid: bid !== null && ask !== null ? fmt(toDec(bid).plus(ask).div(2)) : null,
      bids,
      asks,
      ts_event: ts,
    };
  }

  private rawQuote(book: Book): MarketRawQuote | null {
    const snap = book.stream.book();
    if (snap === null) return null;
    const q = this.marketQuote(book, snap.ts);
    const last = book.stream.lastTrade();
    return {
      type: 'quote',
      venue: this.id,
      instrument_key: book.key,
      bid: q.bid,
      bid_size: q.bids[0]?.size ?? null,
      ask: q.ask,
      ask_size: q.asks[0]?.size ?? null,
      mid: q.mid,
      bids: q.bids,
      asks: q.asks,
      last_trade: last === null ? null : { price: last.price, size: last.size, ts_event: last.ts.toString() },
      ts_event: snap.ts.toString(),
    };
  }

  private async venueState(now: Nanos): Promise<VenueState> {
    return {
      venue: this.id,
      status: 'UP',
      latency_ms: this.d.venue.latency_ms,
      recent_orders: this.recent.size,
      recent_rejections: [...this.recent.values()].filter((r) => r).length,
      balances: await this.balances(),
      detail: `simulated venue, ${this.books.size} instruments`,
      ts_updated: now,
    };
  }

  /**
   * Simulated free cash per currency: every quote currency this venue lists (and the configured
   * `shadow.cash_currency`) starts with `shadow.starting_cash`, moved by the cash flows of the
   * venue's positions (linear instruments): realised PnL − cost of the open quantity − fees.
   */
  private async balances(): Promise<Record<string, string> | null> {
    if (this.d.positions === undefined) return null;
    const start = toDec(this.d.venue.shadow.starting_cash);
    const cash = new Map<string, Dec>([[this.d.venue.shadow.cash_currency, start]]);
    for (const key of this.books.keys()) {
      const parsed = parseInstrumentId(key);
      if (parsed.success && !cash.has(parsed.data.quote)) cash.set(parsed.data.quote, start);
    }
    const accounts = new Set(this.d.venue.accounts.map((a) => a.account_id));
    accounts.add(this.id);
    for (const p of await this.d.positions.list()) {
      if (!accounts.has(p.account_id)) continue;
      const parsed = parseInstrumentId(p.instrument_key);
      if (!parsed.success || settlementOf(parsed.data) === 'INVERSE') continue;
      const ccy = parsed.data.quote;
      cash.set(ccy, (cash.get(ccy) ?? start).plus(cashFlow(p)));
    }
    const out: Record<string, string> = {};
    for (const [ccy, v] of cash) out[ccy] = fmt(v);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private lists(instrumentKey: string): boolean {
    const parsed = parseInstrumentId(instrumentKey);
    return (
      parsed.success &&
      parsed.data.venue === this.id &&
      this.d.venue.instrument_types.includes(parsed.data.instrument_type)
    );
  }

  private addBook(spec: InstrumentSpec): Book {
    const now = this.d.clock.now();
    const fees = this.d.venue.fees;
    const engineSpec: InstrumentSpec =
      fees === undefined ? spec : { ...spec, maker_fee: fees.maker, taker_fee: fees.taker };
    const book: Book = {
      key: spec.instrument_key,
      spec: engineSpec,
      stream: new SyntheticMarketStream({
        spec,
        seed: this.seed,
        startNs: now,
        startPrice: this.opts.startPrices?.[spec.instrument_key],
        quoteIntervalMs: this.opts.quoteIntervalMs,
        spreadBps: this.opts.spreadBps,
      }),
      engine: new MatchingEngine({
        instrument: engineSpec,
        epochNs: now,
        latency: { insertNs: this.latencyNs, cancelNs: this.latencyNs },
        seed: this.seed,
        fillModel: this.opts.fillModel ?? { kind: 'conservative' },
        lateData: 'clamp',
      }),
      lastBookPublish: null,
      lastRawPublish: null,
    };
    this.books.set(book.key, book);
    return book;
  }

  private async bookFor(venueInstrumentKey: string): Promise<Book | null> {
    const existing = this.books.get(venueInstrumentKey);
    if (existing !== undefined) return existing;
    if (!this.lists(venueInstrumentKey)) return null;
    const spec = await this.d.instruments.get(venueInstrumentKey);
    if (spec === null) return null;
    return this.books.get(spec.instrument_key) ?? this.addBook(spec);
  }

  private venueOrderId(orderId: string): string {
    return `${this.id}-${orderId}`;
  }

  /** Count an order sent (or mark it rejected): the last RECENT_WINDOW orders make the rejection rate. */
  private countOrder(orderId: string, rejected: boolean): void {
    const known = this.recent.has(orderId);
    this.recent.set(orderId, rejected || (this.recent.get(orderId) ?? false));
    if (known) return;
    while (this.recent.size > RECENT_WINDOW) {
      const oldest = this.recent.keys().next();
      if (oldest.done) break;
      this.recent.delete(oldest.value);
    }
  }

  /** Run `task` after everything queued before it (engine state is touched by one task at a time). */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function due(last: Nanos | null, now: Nanos, every: Nanos): boolean {
  return last === null || now - last >= every;
}

/** Cash moved by a linear position so far: realised PnL − signed cost of the open quantity − fees. */
export function cashFlow(p: Position): Dec {
  const qty = toDec(p.quantity);
  const cost =
    p.cost_basis !== undefined
      ? toDec(p.cost_basis)
      : p.avg_entry_price === null
        ? new Dec(0)
        : qty.abs().times(p.avg_entry_price);
  const signedCost = qty.isNeg() ? cost.negated() : cost;
  return toDec(p.realized_pnl).minus(signedCost).minus(p.fees);
}

async function queryAll(
  orders: Pick<OrderStore, 'query'>,
  q: { venue: string; status: OrderStatus | OrderStatus[] },
): Promise<OrderRecord[]> {
  // Working orders at one venue are few; 1000 is the store's page cap.
  return orders.query({ ...q, limit: 1000 });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

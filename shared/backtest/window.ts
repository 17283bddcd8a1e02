/**
 * One window, simulated (pure: no I/O, no clock, seeded): the signal's parent order goes through the
 * same pre-trade risk as live intake, the execution algorithm (shared/algos) slices it into child
 * orders, every child passes the same pre-trade risk rules as live (shared/risk, with a RiskLedger
 * carrying working quantities, positions and velocity), and the matching engine (shared/sim) fills
 * the approved ones against the window's trades and quotes (or L2 rows) replayed in time order.
 *
 * Driving loop (docs/backtesting.md, "Window simulation"): time moves from one target to the next,
 * the target being the earliest of the algorithm's wake-up time, the engine's next timer (an order
 * reaching the matching after its latency, a cancel taking effect), the next mark sample and the
 * window end. Market data up to the target is fed first (data at T before orders at T); while the
 * algorithm has a child open, data is fed one row at a time and the engine's events are handled
 * after each row, so the algorithm reacts to a fill at the fill's time. At the window end the
 * algorithm is cancelled and its open children are cancelled at the venue.
 *
 * Risk context per window (the independence assumption, see planner.ts): the ledger starts with the
 * strategy's position = the previous target and the instrument's platform-wide position = the sum
 * of every strategy's previous target; free balance = starting cash − that position × arrival mid
 * (spot); the reference price is the engine's mid (else last trade, else the arrival mid).
 */
import { isDone } from '../algos/scheduler.ts';
import type { ChildOrder, MarketSnapshot } from '../algos/types.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { parseInstrumentId } from '../domain/instrument-id.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import { stricterTradingState } from '../domain/trading-state.ts';
import {
  type OrderInstruction,
  type OrderStatus,
  TERMINAL_STATUSES,
  type TradingState,
} from '../domain/types.ts';
import {
  decide as decideExecution,
  ExecutionCoreError,
  type ExecutionDecision,
  type ExecutionInput,
  type ExecutionState,
  startExecution,
} from '../execution/core.ts';
import type { ChildRiskView } from '../execution/policy.ts';
import type { SessionGate } from '../execution/session.ts';
import { evaluate } from '../risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  markInstrument,
  type RiskLedger,
  recentRetention,
  recordFill,
  releaseReservation,
  riskContextFromLedger,
  setPosition,
} from '../risk/ledger.ts';
import type { RiskLimits } from '../risk/limits.ts';
import type { Reservation, RiskDecision } from '../risk/types.ts';
import { MatchingEngine } from '../sim/matching-engine.ts';
import {
  applySimEvent,
  isFinalPhase,
  newSimOrderView,
  type SimOrderPhase,
  type SimOrderView,
} from '../sim/order-view.ts';
import type { SimEvent } from '../sim/types.ts';
import { firstMid, MarketFeed, type WindowTicks } from './feed.ts';
import type {
  BacktestSettings,
  FillRow,
  MarkSample,
  OrderRow,
  RiskDenial,
  WindowPlan,
  WindowSimulation,
} from './model.ts';

export interface WindowInput {
  window: WindowPlan;
  settings: BacktestSettings;
  limits: RiskLimits;
  ticks: WindowTicks;
  /**
   * Trading-state changes during the window, ascending by time (a replay of a recorded session, a
   * what-if): `global` is the platform's state, `strategy` the window's strategy's own. The window
   * starts with `settings.trading_state` (platform) and ACTIVE (strategy).
   */
  trading_state_changes?: readonly TradingStateChangeAt[] | undefined;
  /** The parent's limit price (a LIMIT parent: its children are LIMIT orders at it); default MARKET. */
  limit_price?: DecimalString | null | undefined;
  /** A cancel request for the parent at `ts_ns` (its working children are canceled). */
  cancel?: { ts_ns: string; reason: string } | undefined;
  /**
   * A replay of a recorded session: the times the edge stepped the algorithm (its recorded
   * `timer_fired`, ascending, digits) and the times it sent each child (`child_submitted.ts_init`
   * by child order id) and cancel times (`child_cancel_requested.ts_init`). When given, the
   * algorithm is stepped at exactly these times (and at no other) and each child and each cancel
   * reaches the matching engine at its recorded time (its decision time when none was recorded);
   * the decisions stay the core's. A key equal to the window id is the parent's own only child (a
   * direct order, recorded under the parent's id).
   */
  recorded_timing?: RecordedTiming | undefined;
  /**
   * A replay: the other parents' orders on the same instrument as the venue received them (send and
   * cancel times), so this window's engine sees the instrument's whole order flow as the venue's one
   * engine per instrument did (liquidity they take is not there for this parent). Their reports are
   * not this window's; it ignores them. Needs `recorded_timing`.
   */
  other_orders?: readonly OtherOrderAt[] | undefined;
  /**
   * The parent's own start when the window (its engine and market data) starts earlier, at the first
   * of the other parents whose orders it replays. Needs `recorded_timing`. Default: the window start.
   */
  parent_start_ns?: string | undefined;
  /**
   * The instrument's trading sessions (an equity or future; crypto has none) and the venue's policy
   * outside them: the core's session gate refuses or holds children exactly as at the edge
   * (docs/execution-core.md "Trading sessions"). Absent: always open.
   */
  session?: SessionGate | null | undefined;
}

/** Another parent's order on the window's instrument, as the venue received it. */
export interface OtherOrderAt {
  ts_ns: string;
  order: Pick<ChildOrder, 'order_id' | 'side' | 'order_type' | 'quantity' | 'price' | 'time_in_force'>;
  /** When the venue received a cancel of it (digits), if it did. */
  cancel_ts_ns?: string | null | undefined;
}

/** The edge's recorded timing of one parent (see {@link WindowInput.recorded_timing}). */
export interface RecordedTiming {
  steps: readonly string[];
  sends: ReadonlyMap<string, string>;
  cancels?: ReadonlyMap<string, string> | undefined;
}

/** A trading-state change at `ts_ns` (integer nanoseconds, digits). */
export interface TradingStateChangeAt {
  ts_ns: string;
  scope: 'global' | 'strategy';
  state: TradingState;
}

/** A window that cannot be simulated (bad plan); names the window. */
export class WindowSimulationError extends Error {
  constructor(
    readonly window_id: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`window ${window_id}: ${message}`, options);
    this.name = 'WindowSimulationError';
  }
}

const isTerminal = (s: OrderStatus) => TERMINAL_STATUSES.has(s);

function msToNs(ms: number): number {
  return Math.round(ms * 1_000_000);
}

function num(x: number | null | undefined): string | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : fmt(toDec(x));
}

/** Simulate one window. Throws {@link WindowSimulationError} only for a plan that cannot run. */
export function simulateWindow(input: WindowInput): WindowSimulation {
  const { window: w, settings, limits } = input;
  const spec = w.spec;
  const key = w.instrument_key;
  const start: Nanos = BigInt(w.start_ns);
  const parentStart: Nanos = input.parent_start_ns === undefined ? start : BigInt(input.parent_start_ns);
  if (
    input.recorded_timing === undefined &&
    (input.parent_start_ns !== undefined || input.other_orders?.length)
  )
    throw new WindowSimulationError(w.window_id, 'other orders and a parent start need the recorded timing');
  if (parentStart < start)
    throw new WindowSimulationError(w.window_id, `the parent starts (${parentStart}) before the window`);
  const end: Nanos = BigInt(w.end_ns);
  const endRel = Number(end - start);
  const lat = {
    insertNs: msToNs(settings.latency.insert_ms),
    cancelNs: msToNs(settings.latency.cancel_ms),
    insertJitterNs: msToNs(settings.latency.jitter_ms),
    cancelJitterNs: msToNs(settings.latency.jitter_ms),
  };
  const engine = new MatchingEngine({
    instrument: spec,
    epochNs: start,
    latency: lat,
    seed: w.seed,
    fillModel: settings.fill_model,
  });
  const feed = new MarketFeed(engine, input.ticks, start);
  feed.primeBook(start);
  const arrivalMid = firstMid(input.ticks);
  const abs = (t: number): Nanos => start + BigInt(t);
  const rel = (t: Nanos): number => Number(t - start);
  const window = `${key} ${nanosToIso(start)} → ${nanosToIso(end)}`;
  const limitPrice = input.limit_price ?? null;
  const cancelAt = input.cancel === undefined ? null : BigInt(input.cancel.ts_ns);
  let cancelDone = false;

  const rows = new Map<string, OrderRow>();
  const fills: FillRow[] = [];
  const marks: MarkSample[] = [];
  const denials: RiskDenial[] = [];
  const warnings: string[] = [];
  const reservations = new Map<string, Reservation>();

  if (feed.counts.trades + feed.counts.quotes + feed.counts.book === 0) {
    warnings.push(`window ${w.window_id} (${window}): no ticks in the window, nothing can trade`);
  } else if (feed.counts.quotes + feed.counts.book === 0) {
    warnings.push(
      `window ${w.window_id} (${window}): no quotes, market orders fill against trade prints only`,
    );
  }
  if (w.truncated_by !== null) {
    warnings.push(
      `window ${w.window_id} (${key}) ends early at ${nanosToIso(end)}: window ${w.truncated_by} of the same instrument starts then`,
    );
  }

  // --- risk ledger: positions implied by the signals (independence assumption) ----------------
  let ledger: RiskLedger = emptyLedger();
  ledger = setPosition(ledger, key, null, w.instrument_position_at_start);
  ledger = setPosition(ledger, key, w.strategy_id, w.previous_target);
  if (arrivalMid !== null) ledger = markInstrument(ledger, key, arrivalMid);
  const maxRecent = recentRetention(limits);
  const parsedKey = parseInstrumentId(key);
  const isSpot = parsedKey.success && parsedKey.data.instrument_type === 'SPOT_PAIR';
  const freeBalance: DecimalString =
    isSpot && arrivalMid !== null
      ? fmt(toDec(settings.starting_cash).minus(toDec(w.instrument_position_at_start).times(arrivalMid)))
      : settings.starting_cash;

  const referencePrice = (): DecimalString | null =>
    num(engine.mid()) ?? num(engine.lastTrade()?.price) ?? arrivalMid;

  // --- trading state: the window's start state, then the given changes in time order -------------
  const changes = [...(input.trading_state_changes ?? [])].sort((x, y) =>
    BigInt(x.ts_ns) < BigInt(y.ts_ns) ? -1 : BigInt(x.ts_ns) > BigInt(y.ts_ns) ? 1 : 0,
  );
  let nextChange = 0;
  let globalState: TradingState = settings.trading_state;
  let strategyState: TradingState = 'ACTIVE';

  const instructionKey = { instrument_key: key, strategy_id: w.strategy_id } as OrderInstruction;
  const market = () => ({
    trading_state: globalState,
    strategy_trading_state: strategyState,
    instrument: spec,
    reference_price: referencePrice(),
    free_balance: freeBalance,
  });

  const decideParent = (order: OrderInstruction, now: Nanos): RiskDecision =>
    evaluate(order, riskContextFromLedger(ledger, order, market()), limits, now);

  /** The child policy's view: the ledger's positions, its venue-working children, their times. */
  const riskView = (): ChildRiskView => {
    const ctx = riskContextFromLedger(ledger, instructionKey, market());
    const s = (x: unknown) => (typeof x === 'string' ? x : fmt(toDec(x as string)));
    return {
      trading_state: globalState,
      strategy_trading_state: strategyState,
      instrument: spec,
      reference_price: referencePrice(),
      position: { instrument: s(ctx.position.instrument), strategy: s(ctx.position.strategy) },
      working: {
        instrument: { buy: s(ctx.working.instrument.buy), sell: s(ctx.working.instrument.sell) },
        strategy: { buy: s(ctx.working.strategy.buy), sell: s(ctx.working.strategy.sell) },
      },
      recent_orders: ctx.recent_orders,
    };
  };

  const deny = (
    row: OrderRow,
    d: { rule: string; limit: string | null; observed: string | null; reason: string },
    now: Nanos,
  ) => {
    row.status = 'DENIED';
    row.reason = `${d.rule}: ${d.reason}`;
    denials.push({
      order_id: row.order_id,
      ts_ns: now.toString(),
      rule: d.rule,
      limit: d.limit,
      observed: d.observed,
      reason: d.reason,
    });
  };

  // --- the parent order: intake's risk check (its reservation is the window's budget) ----------
  const parent: OrderRow = {
    order_id: w.window_id,
    parent_order_id: null,
    operation_id: w.window_id,
    instrument_key: key,
    venue: w.venue,
    side: w.side,
    order_type: limitPrice === null ? 'MARKET' : 'LIMIT',
    time_in_force: 'GTC',
    quantity: w.quantity,
    price: limitPrice,
    status: 'ACCEPTED',
    ts_submitted_ns: parentStart.toString(),
    ts_last_ns: parentStart.toString(),
    filled_quantity: '0',
    filled_notional: '0',
    fees: '0',
    mid_at_arrival: arrivalMid,
    reason: null,
  };
  rows.set(parent.order_id, parent);
  const parentDecision = decideParent(
    {
      operation_id: w.window_id,
      instrument_key: key,
      side: w.side,
      quantity: w.quantity,
      price: limitPrice,
      order_type: limitPrice === null ? 'MARKET' : 'LIMIT',
      time_in_force: 'GTC',
      strategy_id: w.strategy_id,
      exec_algorithm: w.exec_algorithm,
      exec_algorithm_params: w.exec_algorithm_params,
    },
    parentStart,
  );

  let exec: ExecutionState | null = null;
  if (parentDecision.approved) {
    try {
      exec = startExecution(
        {
          strategy_id: w.strategy_id,
          instrument_key: key,
          algorithm: w.exec_algorithm,
          order: {
            order_id: w.window_id,
            instrument_key: key,
            side: w.side,
            quantity: w.quantity,
            limit_price: limitPrice,
          },
          params: w.exec_algorithm_params,
          spec,
          seed: w.seed,
        },
        parentStart,
      );
    } catch (e) {
      throw new WindowSimulationError(w.window_id, e instanceof Error ? e.message : String(e), { cause: e });
    }
  } else {
    deny(parent, parentDecision, parentStart);
    warnings.push(
      `window ${w.window_id} (${window}): parent order denied by risk rule ${parentDecision.rule}: ${parentDecision.reason}`,
    );
  }

  // --- children: the execution core decides, this shell performs on the matching engine ----------
  let closing = false;
  let wakeAt: Nanos | null = null;
  const cancelSent = new Set<string>();
  const timing = input.recorded_timing;
  const recordedSteps = timing === undefined ? [] : timing.steps.map((t) => BigInt(t));
  let nextStep = 0;
  /** Children decided (or cancels), waiting for their recorded send time (ascending by it). */
  type Pending = {
    at: Nanos;
    child: ChildOrder | null;
    cancel: string | null;
    other?: OtherOrderAt['order'];
  };
  const pendingSends: Pending[] = [];
  const recordedAt = (times: ReadonlyMap<string, string> | undefined, orderId: string) =>
    times?.get(orderId) ??
    (w.exec_algorithm === 'NORMAL' && orderId.startsWith(`${w.window_id}-`)
      ? times?.get(w.window_id)
      : undefined);
  const queue = (
    at: Nanos,
    child: ChildOrder | null,
    cancel: string | null,
    other?: OtherOrderAt['order'],
  ) => {
    pendingSends.push(other === undefined ? { at, child, cancel } : { at, child, cancel, other });
    pendingSends.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
  };

  const childRow = (child: ChildOrder, now: Nanos): OrderRow => {
    const row: OrderRow = {
      order_id: child.order_id,
      parent_order_id: child.parent_order_id,
      operation_id: child.order_id,
      instrument_key: key,
      venue: w.venue,
      side: child.side,
      order_type: child.order_type,
      time_in_force: child.time_in_force,
      quantity: child.quantity,
      price: child.price,
      status: 'SUBMITTED',
      ts_submitted_ns: now.toString(),
      ts_last_ns: now.toString(),
      filled_quantity: '0',
      filled_notional: '0',
      fees: '0',
      mid_at_arrival: null,
      reason: null,
    };
    rows.set(row.order_id, row);
    return row;
  };

  const sendCancel = (orderId: string, now: Nanos) => {
    if (otherIds.has(orderId)) {
      engine.cancel(orderId, now);
      return;
    }
    const row = rows.get(orderId);
    if (row === undefined || isTerminal(row.status) || cancelSent.has(orderId)) return;
    cancelSent.add(orderId);
    engine.cancel(orderId, now);
  };

  /** Run one input through the core and perform what it decided. */
  const run = (inputOf: (now: Nanos) => ExecutionInput, now: Nanos): void => {
    if (exec === null) return;
    const input = inputOf(now);
    let d: ExecutionDecision;
    try {
      d = decideExecution(exec, input);
    } catch (e) {
      if (e instanceof ExecutionCoreError)
        throw new WindowSimulationError(w.window_id, e.message, { cause: e });
      throw e;
    }
    exec = d.state;
    if (d.wake_at !== null || input.kind === 'step') wakeAt = d.wake_at;
    for (const ev of d.events) {
      if (ev.kind === 'child_denied') deny(childRow(ev.child, now), ev, now);
    }
    for (const c of d.commands) {
      if (c.kind === 'cancel_child') {
        const cancelAt = recordedAt(timing?.cancels, c.order_id);
        if (cancelAt !== undefined && BigInt(cancelAt) > now) queue(BigInt(cancelAt), null, c.order_id);
        else sendCancel(c.order_id, now);
        continue;
      }
      const row = childRow(c.child, now);
      ledger = applyReservation(ledger, c.reservation, { max_recent: maxRecent });
      reservations.set(c.child.order_id, c.reservation);
      const sentAt = recordedAt(timing?.sends, c.child.order_id);
      if (sentAt !== undefined && BigInt(sentAt) > now) {
        row.ts_submitted_ns = sentAt;
        row.ts_last_ns = sentAt;
        queue(BigInt(sentAt), c.child, null);
      } else {
        sendChild(c.child, now);
      }
    }
  };

  const sendChild = (child: OtherOrderAt['order'], now: Nanos) => {
    engine.submit(
      {
        order_id: child.order_id,
        side: child.side,
        order_type: child.order_type,
        quantity: child.quantity,
        price: child.price,
        time_in_force: child.time_in_force,
      },
      now,
    );
  };

  /** Children whose recorded send time has come reach the engine. */
  const sendDue = (now: Nanos) => {
    while (pendingSends.length > 0 && (pendingSends[0] as { at: Nanos }).at <= now) {
      const p = pendingSends.shift() as Pending;
      if (p.child !== null) sendChild(p.child, p.at);
      if (p.other !== undefined) sendChild(p.other, p.at);
      else if (p.cancel !== null) sendCancel(p.cancel, p.at);
    }
  };
  const otherIds = new Set<string>();
  for (const o of input.other_orders ?? []) {
    otherIds.add(o.order.order_id);
    queue(BigInt(o.ts_ns), null, null, o.order);
    if (o.cancel_ts_ns !== undefined && o.cancel_ts_ns !== null)
      queue(BigInt(o.cancel_ts_ns), null, o.order.order_id);
  }
  const nextSendRel = (): number =>
    pendingSends.length > 0
      ? Math.max(rel((pendingSends[0] as { at: Nanos }).at), 0)
      : Number.POSITIVE_INFINITY;
  const nextStepRel = (): number =>
    nextStep < recordedSteps.length
      ? Math.max(rel(recordedSteps[nextStep] as Nanos), 0)
      : Number.POSITIVE_INFINITY;

  /** Step the algorithm; with recorded timing only at the recorded step times (`scheduled`). */
  const stepAlgo = (now: Nanos, scheduled = false) => {
    if (exec === null || closing || (timing !== undefined && !scheduled)) return;
    run((t) => {
      const m: MarketSnapshot = { volume: feed.volume };
      const mid = engine.mid();
      if (mid !== null) m.mid = mid;
      return { kind: 'step', now: t, market: m, risk: riskView(), limits, session: input.session };
    }, now);
  };

  const release = (orderId: string, filled: DecimalString) => {
    const r = reservations.get(orderId);
    if (r === undefined) return;
    ledger = releaseReservation(ledger, r, filled);
    reservations.delete(orderId);
  };

  /** Engine events → the child's row, through the one mapping (shared/sim/order-view.ts). */
  const views = new Map<string, SimOrderView>();
  const ROW_STATUS: Record<SimOrderPhase, OrderStatus> = {
    PENDING: 'SUBMITTED',
    WORKING: 'ACCEPTED',
    PARTIALLY_FILLED: 'PARTIALLY_FILLED',
    FILLED: 'FILLED',
    CANCELED: 'CANCELED',
    EXPIRED: 'EXPIRED',
    REJECTED: 'REJECTED',
  };
  const apply = (ev: SimEvent) => {
    const row = rows.get(ev.order_id);
    if (row === undefined || ev.type === 'cancel_rejected') return;
    const v = applySimEvent(views.get(ev.order_id) ?? newSimOrderView(), ev);
    views.set(ev.order_id, v);
    row.ts_last_ns = ev.ts_event.toString();
    row.status = ROW_STATUS[v.phase];
    row.filled_quantity = fmt(v.filled);
    row.filled_notional = fmt(v.notional);
    row.fees = fmt(v.fees);
    if (ev.type === 'accepted') row.mid_at_arrival = v.mid_at_arrival;
    if (v.reason !== null) row.reason = v.reason;
    if (ev.type === 'canceled' && closing) row.reason = 'WINDOW_END: canceled at the end of the window';
    if (ev.type === 'filled') {
      fills.push({
        fill_id: ev.fill_id,
        order_id: ev.order_id,
        parent_order_id: w.window_id,
        instrument_key: key,
        venue: w.venue,
        side: ev.side,
        quantity: ev.quantity,
        price: ev.price,
        fee: ev.fee,
        fee_currency: ev.fee_currency,
        liquidity: ev.liquidity,
        ts_ns: ev.ts_event.toString(),
      });
      if (reservations.has(row.order_id)) ledger = recordFill(ledger, row.order_id, ev.quantity);
    }
    if (isFinalPhase(v.phase)) release(row.order_id, row.filled_quantity);
    const update = { order_id: row.order_id, filled_quantity: row.filled_quantity, status: row.status };
    run((t) => ({ kind: 'child_report', now: t, update, reason: row.reason }), ev.ts_event);
  };

  /** Handle the engine's events; true when there were any. */
  const processEvents = (): boolean => {
    const evs = engine.drainEvents();
    if (evs.length === 0) return false;
    for (const ev of evs) apply(ev);
    stepAlgo(engine.now() ?? start);
    return true;
  };

  /** Trading-state changes due at `t` (relative): the core pauses, cancels or resumes. */
  const applyChanges = (t: number) => {
    let changed = false;
    while (
      nextChange < changes.length &&
      rel(BigInt((changes[nextChange] as TradingStateChangeAt).ts_ns)) <= t
    ) {
      const c = changes[nextChange++] as TradingStateChangeAt;
      if (c.scope === 'global') globalState = c.state;
      else strategyState = c.state;
      changed = true;
    }
    if (!changed || exec === null || closing) return;
    const state = stricterTradingState(globalState, strategyState);
    run((now) => ({ kind: 'trading_state', now, state }), abs(t));
    processEvents();
  };
  const nextChangeRel = (): number =>
    nextChange < changes.length
      ? Math.max(rel(BigInt((changes[nextChange] as TradingStateChangeAt).ts_ns)), 0)
      : Number.POSITIVE_INFINITY;

  const hasOpenChild = (): boolean => exec?.algo.children.some((c) => !isTerminal(c.status)) === true;

  let lastMark: number | null = arrivalMid === null ? null : Number(arrivalMid);
  const sample = (t: number) => {
    const m = engine.mid() ?? engine.lastTrade()?.price ?? lastMark;
    if (m === null || !Number.isFinite(m)) return;
    lastMark = m;
    const ts = abs(t).toString();
    const last = marks[marks.length - 1];
    if (last !== undefined && last.ts_ns === ts) last.mid = m;
    else marks.push({ ts_ns: ts, mid: m });
  };

  // --- the driving loop -------------------------------------------------------------------------
  const interval = settings.sample_interval_sec * 1e9;
  let nextSample = 0;
  applyChanges(0);
  if (exec !== null && timing === undefined) stepAlgo(start);
  for (;;) {
    const wakeRel =
      timing !== undefined
        ? nextStepRel()
        : wakeAt === null
          ? Number.POSITIVE_INFINITY
          : Math.max(rel(wakeAt), 0);
    const cancelRel = cancelAt === null || cancelDone ? Number.POSITIVE_INFINITY : Math.max(rel(cancelAt), 0);
    const tgt = Math.min(
      wakeRel,
      nextSample,
      endRel,
      engine.nextTimerRelative(),
      nextChangeRel(),
      cancelRel,
      nextSendRel(),
    );
    if (hasOpenChild()) {
      let reacted = false;
      while (feed.nextTime() <= tgt) {
        feed.feedOne();
        if (processEvents()) {
          reacted = true;
          break;
        }
      }
      if (reacted) continue; // the algorithm may have acted: recompute the target
    } else {
      feed.feedUntil(tgt);
    }
    engine.advanceToRelative(tgt);
    processEvents();
    sendDue(abs(tgt));
    processEvents();
    applyChanges(tgt);
    if (!cancelDone && tgt >= cancelRel && input.cancel !== undefined) {
      cancelDone = true;
      const reason = input.cancel.reason;
      run((now) => ({ kind: 'cancel', now, reason }), abs(tgt));
      stepAlgo(abs(tgt));
    }
    if (tgt >= nextSample) {
      sample(tgt);
      nextSample += interval;
    }
    if (timing !== undefined) {
      while (nextStep < recordedSteps.length && rel(recordedSteps[nextStep] as Nanos) <= tgt) {
        nextStep++;
        stepAlgo(abs(tgt), true);
      }
      sendDue(abs(tgt));
    } else if (wakeAt !== null && tgt >= rel(wakeAt)) stepAlgo(abs(tgt));
    if (tgt >= endRel) break;
  }

  // --- window end: stop the algorithm, cancel what is still working ------------------------------
  let endReason: string;
  if (!parentDecision.approved) endReason = 'DENIED';
  else if (exec !== null && isDone(exec.algo)) endReason = exec.algo.done_reason ?? 'DONE';
  else endReason = 'WINDOW_END';
  if (exec !== null && !isDone(exec.algo)) run((now) => ({ kind: 'cancel', now, reason: 'WINDOW_END' }), end);
  closing = true;
  for (const row of rows.values()) {
    if (row.parent_order_id !== null && !isTerminal(row.status)) sendCancel(row.order_id, end);
  }
  const settle = end + BigInt(lat.insertNs + lat.insertJitterNs + lat.cancelNs + lat.cancelJitterNs);
  engine.advanceTo(settle);
  processEvents();
  for (const row of rows.values()) {
    if (row.parent_order_id !== null && !isTerminal(row.status)) {
      row.status = 'CANCELED';
      row.reason = 'WINDOW_END: still open at the end of the window';
      row.ts_last_ns = settle.toString();
    }
  }
  sample(endRel);

  // --- the parent's totals ----------------------------------------------------------------------
  let filled = new Dec(0);
  let notional = new Dec(0);
  let fees = new Dec(0);
  let last = parentStart;
  for (const row of rows.values()) {
    if (row.parent_order_id === null) continue;
    filled = filled.plus(row.filled_quantity);
    notional = notional.plus(row.filled_notional);
    fees = fees.plus(row.fees);
    const t = BigInt(row.ts_last_ns);
    if (t > last) last = t;
  }
  parent.filled_quantity = fmt(filled);
  parent.filled_notional = fmt(notional);
  parent.fees = fmt(fees);
  parent.ts_last_ns = last.toString();
  if (parent.status !== 'DENIED') {
    parent.status = filled.gte(w.quantity) ? 'FILLED' : 'EXPIRED';
    if (parent.status === 'EXPIRED') {
      parent.reason = `${endReason}: filled ${fmt(filled)} of ${w.quantity}`;
    }
  }

  return {
    window_id: w.window_id,
    index: w.index,
    instrument_key: key,
    strategy_id: w.strategy_id,
    exec_algorithm: w.exec_algorithm,
    start_ns: w.start_ns,
    end_ns: w.end_ns,
    arrival_mid: arrivalMid,
    end_reason: endReason,
    orders: [...rows.values()],
    fills,
    marks,
    risk_denials: denials,
    warnings,
    ticks: { ...feed.counts },
  };
}

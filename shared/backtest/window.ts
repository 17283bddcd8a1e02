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
import { cancelAlgo, initAlgo, isDone, nextAlgo, onChildUpdate } from '../algos/scheduler.ts';
import type { AlgoState, ChildOrder, MarketSnapshot } from '../algos/types.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { parseInstrumentId } from '../domain/instrument-id.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import { type OrderInstruction, type OrderStatus, TERMINAL_STATUSES } from '../domain/types.ts';
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
import type { Reservation, RiskDecision, RiskDenied } from '../risk/types.ts';
import { MatchingEngine } from '../sim/matching-engine.ts';
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

const MAX_ALGO_STEPS_PER_INSTANT = 100_000;
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

  const decide = (order: OrderInstruction, now: Nanos): RiskDecision =>
    evaluate(
      order,
      riskContextFromLedger(ledger, order, {
        trading_state: settings.trading_state,
        strategy_trading_state: 'ACTIVE',
        instrument: spec,
        reference_price: referencePrice(),
        free_balance: freeBalance,
      }),
      limits,
      now,
    );

  const deny = (row: OrderRow, d: RiskDenied, now: Nanos) => {
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

  // --- the parent order: intake risk check (not reserved: its children reserve as they go) -----
  const parent: OrderRow = {
    order_id: w.window_id,
    parent_order_id: null,
    operation_id: w.window_id,
    instrument_key: key,
    venue: w.venue,
    side: w.side,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    quantity: w.quantity,
    price: null,
    status: 'ACCEPTED',
    ts_submitted_ns: w.start_ns,
    ts_last_ns: w.start_ns,
    filled_quantity: '0',
    filled_notional: '0',
    fees: '0',
    mid_at_arrival: arrivalMid,
    reason: null,
  };
  rows.set(parent.order_id, parent);
  const parentDecision = decide(
    {
      operation_id: w.window_id,
      instrument_key: key,
      side: w.side,
      quantity: w.quantity,
      price: null,
      order_type: 'MARKET',
      time_in_force: 'GTC',
      strategy_id: w.strategy_id,
      exec_algorithm: w.exec_algorithm,
      exec_algorithm_params: w.exec_algorithm_params,
    },
    start,
  );

  let state: AlgoState | null = null;
  if (parentDecision.approved) {
    try {
      state = initAlgo(
        w.exec_algorithm,
        { order_id: w.window_id, instrument_key: key, side: w.side, quantity: w.quantity, limit_price: null },
        w.exec_algorithm_params,
        start,
        spec,
        w.seed,
      );
    } catch (e) {
      throw new WindowSimulationError(w.window_id, e instanceof Error ? e.message : String(e), { cause: e });
    }
  } else {
    deny(parent, parentDecision, start);
    warnings.push(
      `window ${w.window_id} (${window}): parent order denied by risk rule ${parentDecision.rule}: ${parentDecision.reason}`,
    );
  }

  // --- children ---------------------------------------------------------------------------------
  let closing = false;
  let wakeAt: Nanos | null = null;
  const cancelSent = new Set<string>();

  const sendChild = (child: ChildOrder, now: Nanos): boolean => {
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
    const instruction: OrderInstruction = {
      operation_id: child.order_id,
      instrument_key: key,
      side: child.side,
      quantity: child.quantity,
      price: child.price,
      order_type: child.order_type,
      time_in_force: child.time_in_force,
      strategy_id: w.strategy_id,
      exec_algorithm: 'NORMAL',
      exec_algorithm_params: {},
    };
    const d = decide(instruction, now);
    if (!d.approved) {
      deny(row, d, now);
      if (state !== null)
        state = onChildUpdate(state, { order_id: row.order_id, filled_quantity: '0', status: 'DENIED' });
      return false;
    }
    ledger = applyReservation(ledger, d.reservation, { max_recent: maxRecent });
    reservations.set(row.order_id, d.reservation);
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
    return true;
  };

  const sendCancel = (orderId: string, now: Nanos) => {
    const row = rows.get(orderId);
    if (row === undefined || isTerminal(row.status) || cancelSent.has(orderId)) return;
    cancelSent.add(orderId);
    engine.cancel(orderId, now);
  };

  const stepAlgo = (now: Nanos) => {
    if (state === null || closing) return;
    for (let guard = 0; ; guard++) {
      if (guard > MAX_ALGO_STEPS_PER_INSTANT) {
        throw new WindowSimulationError(
          w.window_id,
          `execution algorithm did not settle at ${nanosToIso(now)}`,
        );
      }
      const market: MarketSnapshot = { volume: feed.volume };
      const mid = engine.mid();
      if (mid !== null) market.mid = mid;
      const r = nextAlgo(state, now, market);
      state = r.state;
      wakeAt = r.wakeAtNs;
      let updated = false;
      for (const a of r.actions) {
        if (a.kind === 'cancel') sendCancel(a.order_id, now);
        else if (!sendChild(a.child, now)) updated = true;
      }
      if (!updated && !(wakeAt !== null && wakeAt <= now)) return;
    }
  };

  const release = (orderId: string, filled: DecimalString) => {
    const r = reservations.get(orderId);
    if (r === undefined) return;
    ledger = releaseReservation(ledger, r, filled);
    reservations.delete(orderId);
  };

  const apply = (ev: SimEvent) => {
    const row = rows.get(ev.order_id);
    if (row === undefined || ev.type === 'cancel_rejected') return;
    row.ts_last_ns = ev.ts_event.toString();
    switch (ev.type) {
      case 'accepted':
        if (row.status === 'SUBMITTED') row.status = 'ACCEPTED';
        row.mid_at_arrival = ev.mid_at_arrival;
        break;
      case 'filled': {
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
        row.filled_quantity = ev.cum_quantity;
        row.filled_notional = fmt(toDec(row.filled_notional).plus(toDec(ev.quantity).times(ev.price)));
        row.fees = fmt(toDec(row.fees).plus(ev.fee));
        row.status = toDec(ev.leaves_quantity).isZero() ? 'FILLED' : 'PARTIALLY_FILLED';
        if (reservations.has(row.order_id)) ledger = recordFill(ledger, row.order_id, ev.quantity);
        if (row.status === 'FILLED') release(row.order_id, row.filled_quantity);
        break;
      }
      case 'canceled':
        row.status = 'CANCELED';
        row.reason = closing
          ? 'WINDOW_END: canceled at the end of the window'
          : `${ev.reason}: ${ev.message}`;
        release(row.order_id, row.filled_quantity);
        break;
      case 'expired':
        row.status = 'EXPIRED';
        row.reason = `${ev.reason}: ${ev.message}`;
        release(row.order_id, row.filled_quantity);
        break;
      case 'rejected':
        row.status = 'REJECTED';
        row.reason = `${ev.reason}: ${ev.message}`;
        release(row.order_id, row.filled_quantity);
        break;
    }
    if (state !== null) {
      state = onChildUpdate(state, {
        order_id: row.order_id,
        filled_quantity: row.filled_quantity,
        status: row.status,
      });
    }
  };

  /** Handle the engine's events; true when there were any. */
  const processEvents = (): boolean => {
    const evs = engine.drainEvents();
    if (evs.length === 0) return false;
    for (const ev of evs) apply(ev);
    stepAlgo(engine.now() ?? start);
    return true;
  };

  const hasOpenChild = (): boolean => state?.children.some((c) => !isTerminal(c.status)) === true;

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
  if (state !== null) stepAlgo(start);
  for (;;) {
    const wakeRel = wakeAt === null ? Number.POSITIVE_INFINITY : Math.max(rel(wakeAt), 0);
    const tgt = Math.min(wakeRel, nextSample, endRel, engine.nextTimerRelative());
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
    if (tgt >= nextSample) {
      sample(tgt);
      nextSample += interval;
    }
    if (wakeAt !== null && tgt >= rel(wakeAt)) stepAlgo(abs(tgt));
    if (tgt >= endRel) break;
  }

  // --- window end: stop the algorithm, cancel what is still working ------------------------------
  closing = true;
  let endReason: string;
  if (!parentDecision.approved) endReason = 'DENIED';
  else if (state !== null && isDone(state)) endReason = state.done_reason ?? 'DONE';
  else endReason = 'WINDOW_END';
  if (state !== null && !isDone(state)) {
    const c = cancelAlgo(state);
    state = c.state;
    for (const a of c.actions) if (a.kind === 'cancel') sendCancel(a.order_id, end);
  }
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
  let last = start;
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

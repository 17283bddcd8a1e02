/**
 * What a session did, per parent order: its child orders in the order they were sent, and each
 * child's fills. Both sides of a parity check are in this shape — the recorded session (projected
 * from the journal by {@link projectRecordedExecutions}) and its replay (built by the backtest
 * shell) — and {@link toMergeInput} turns either into the backtest's own manifest + per-window
 * partials, so PnL, implementation shortfall and slippage come from the backtest's merge
 * (shared/backtest/merge.ts) with exactly its metric definitions. Pure.
 */

import type {
  FillRow,
  Manifest,
  MarkSample,
  OrderRow,
  WindowPartial,
  WindowPlan,
} from '../backtest/model.ts';
import { type BacktestSettings, DEFAULT_BACKTEST_SETTINGS, windowIdOf } from '../backtest/model.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import { nanosToIso } from '../domain/time.ts';
import type {
  ExecAlgorithm,
  InstrumentSpec,
  Liquidity,
  OrderStatus,
  OrderType,
  Side,
  TimeInForce,
} from '../domain/types.ts';
import { TERMINAL_STATUSES } from '../domain/types.ts';
import { NO_LIMITS } from '../risk/limits.ts';
import type { SequencedRecord } from './format.ts';

export interface FillExecution {
  fill_id: string;
  quantity: DecimalString;
  price: DecimalString;
  fee: DecimalString;
  fee_currency: string;
  liquidity: Liquidity;
  ts_event: Nanos;
}

export interface ChildExecution {
  order_id: string;
  side: Side;
  order_type: OrderType;
  time_in_force: TimeInForce;
  quantity: DecimalString;
  price: DecimalString | null;
  status: OrderStatus;
  ts_submitted: Nanos;
  ts_last: Nanos;
  /** Mid when the child was sent (slippage benchmark). */
  mid_at_arrival: DecimalString | null;
  reason: string | null;
  fills: FillExecution[];
}

export interface ParentExecution {
  parent_order_id: string;
  operation_id: string;
  strategy_id: string;
  instrument_key: string;
  venue: string;
  side: Side;
  order_type: OrderType;
  quantity: DecimalString;
  price: DecimalString | null;
  exec_algorithm: ExecAlgorithm;
  /** When the core received the parent. */
  ts_routed: Nanos;
  /** Mid at arrival (implementation-shortfall benchmark). */
  arrival_mid: DecimalString | null;
  children: ChildExecution[];
}

/** A mid price in time, for the equity curve and the closing marks. */
export interface MidSample {
  instrument_key: string;
  ts: Nanos;
  mid: number;
}

export interface ExecutionSet {
  parents: ParentExecution[];
  /** Mid samples (from the recorded market data) the PnL of both sides is marked with. */
  marks: MidSample[];
  starting_cash: DecimalString;
  instruments: readonly InstrumentSpec[];
  seed: number;
}

const VENUE_STATUS: Record<string, OrderStatus> = {
  NEW: 'ACCEPTED',
  PARTIALLY_FILLED: 'PARTIALLY_FILLED',
  FILLED: 'FILLED',
  CANCELED: 'CANCELED',
  REJECTED: 'REJECTED',
  EXPIRED: 'EXPIRED',
};

function filledOf(child: ChildExecution): Dec {
  let q = new Dec(0);
  for (const f of child.fills) q = q.plus(f.quantity);
  return q;
}

/** A routed parent as an execution without children yet (its time: the record's `ts_init`). */
export function parentExecutionOf(r: Extract<SequencedRecord, { type: 'parent_routed' }>): ParentExecution {
  const p = r.parent;
  return {
    parent_order_id: p.order_id,
    operation_id: p.operation_id,
    strategy_id: p.strategy_id,
    instrument_key: p.instrument_key,
    venue: p.venue,
    side: p.side,
    order_type: p.order_type,
    quantity: fmt(toDec(p.quantity)),
    price: p.price === null ? null : fmt(toDec(p.price)),
    exec_algorithm: p.exec_algorithm,
    ts_routed: BigInt(r.ts_init),
    arrival_mid: r.arrival_mid,
    children: [],
  };
}

/**
 * The recorded session's executions, from its journal records (in run/seq order): parents as
 * routed, children as submitted, each child's status from the venue's order reports and its fills
 * from the venue's trade reports (a trade id counts once; reports for unknown orders are ignored —
 * they belong to orders the session did not send). A child's status never leaves a terminal state,
 * and a child whose fills reach its quantity is FILLED.
 */
export function projectRecordedExecutions(records: readonly SequencedRecord[]): ParentExecution[] {
  const parents: ParentExecution[] = [];
  const parentById = new Map<string, ParentExecution>();
  const childByClientId = new Map<string, ChildExecution>();
  const childByVenueId = new Map<string, ChildExecution>();
  const seenTrades = new Set<string>();
  for (const r of records) {
    const ts = BigInt(r.ts_init);
    switch (r.type) {
      case 'parent_routed': {
        const p = r.parent;
        if (parentById.has(p.order_id)) break;
        const parent = parentExecutionOf(r);
        parents.push(parent);
        parentById.set(p.order_id, parent);
        break;
      }
      case 'child_submitted': {
        const parent = parentById.get(r.parent_order_id);
        if (parent === undefined || childByClientId.has(r.request.client_order_id)) break;
        const child: ChildExecution = {
          order_id: r.order_id,
          side: r.request.side,
          order_type: r.request.order_type,
          time_in_force: r.request.time_in_force,
          quantity: fmt(toDec(r.request.quantity)),
          price: r.request.price === null ? null : fmt(toDec(r.request.price)),
          status: 'SUBMITTED',
          ts_submitted: ts,
          ts_last: ts,
          mid_at_arrival: r.mid_at_arrival,
          reason: null,
          fills: [],
        };
        parent.children.push(child);
        childByClientId.set(r.request.client_order_id, child);
        break;
      }
      case 'venue_report': {
        if (r.report.kind === 'order') {
          const o = r.report.order;
          const child = childByClientId.get(o.client_order_id);
          if (child === undefined) break;
          if (o.venue_order_id) childByVenueId.set(o.venue_order_id, child);
          if (TERMINAL_STATUSES.has(child.status)) break;
          child.status = VENUE_STATUS[o.status] ?? child.status;
          child.ts_last = ts;
          if (o.reason !== undefined) child.reason = o.reason;
        } else {
          const t = r.report.trade;
          const child =
            (t.client_order_id === null ? undefined : childByClientId.get(t.client_order_id)) ??
            childByVenueId.get(t.venue_order_id);
          if (child === undefined) break;
          const key = `${t.instrument_key}\u0000${t.trade_id}`;
          if (seenTrades.has(key)) break;
          seenTrades.add(key);
          child.fills.push({
            fill_id: t.trade_id,
            quantity: fmt(toDec(t.quantity)),
            price: fmt(toDec(t.price)),
            fee: fmt(toDec(t.fee)),
            fee_currency: t.fee_currency,
            liquidity: t.liquidity,
            ts_event: BigInt(t.ts_event),
          });
          child.ts_last = ts;
          if (filledOf(child).gte(child.quantity)) child.status = 'FILLED';
          else if (!TERMINAL_STATUSES.has(child.status)) child.status = 'PARTIALLY_FILLED';
        }
        break;
      }
      default:
        break;
    }
  }
  return parents;
}

/** Parent status from its children: FILLED, PARTIALLY_FILLED, or the last child's terminal status. */
function parentStatus(p: ParentExecution, filled: Dec): OrderStatus {
  if (filled.gte(p.quantity)) return 'FILLED';
  const open = p.children.some((c) => !TERMINAL_STATUSES.has(c.status));
  if (filled.gt(0)) return open ? 'PARTIALLY_FILLED' : 'CANCELED';
  if (open || p.children.length === 0) return 'ACCEPTED';
  return p.children[p.children.length - 1]?.status ?? 'ACCEPTED';
}

function lastTime(p: ParentExecution): Nanos {
  let t = p.ts_routed;
  for (const c of p.children) {
    if (c.ts_last > t) t = c.ts_last;
    for (const f of c.fills) if (f.ts_event > t) t = f.ts_event;
  }
  return t;
}

/** A parent's fields that make a backtest window. */
export interface WindowParent {
  strategy_id: string;
  instrument_key: string;
  venue: string;
  side: Side;
  quantity: DecimalString;
  exec_algorithm: ExecAlgorithm;
}

/**
 * The backtest window of one parent order: from `start` to `end`, its whole quantity as the
 * target change (the replay and the parity merge see each parent as one window).
 */
export function parentWindowPlan(
  p: WindowParent,
  o: {
    window_id: string;
    index: number;
    start: Nanos;
    end: Nanos;
    params: Record<string, unknown>;
    spec: InstrumentSpec;
    seed: number;
  },
): WindowPlan {
  const signed = p.side === 'BUY' ? toDec(p.quantity) : toDec(p.quantity).neg();
  return {
    window_id: o.window_id,
    index: o.index,
    strategy_id: p.strategy_id,
    instrument_key: p.instrument_key,
    venue: p.venue,
    signal: { line: o.index + 1, ts: nanosToIso(o.start), target_position: fmt(signed) },
    start_ns: String(o.start),
    end_ns: String(o.end),
    nominal_end_ns: String(o.end),
    truncated_by: null,
    previous_target: '0',
    target: fmt(signed),
    delta: fmt(signed),
    side: p.side,
    quantity: fmt(toDec(p.quantity)),
    instrument_position_at_start: '0',
    exec_algorithm: p.exec_algorithm,
    exec_algorithm_params: o.params,
    spec: o.spec,
    instruments_file: '',
    seed: o.seed,
  };
}

const ONE_NS_SPEC = (key: string): InstrumentSpec => ({
  instrument_key: key,
  tick_size: '0.00000001',
  step_size: '0.00000001',
  min_qty: '0.00000001',
  max_qty: '1000000000',
  min_notional: '0',
  maker_fee: '0',
  taker_fee: '0',
});

/**
 * The backtest merge's input for an execution set: one "window" per parent (from its arrival to its
 * last report), the parent as the window's first order row, then its children; the mid samples of
 * the session value the positions on one timeline.
 */
export function toMergeInput(
  set: ExecutionSet,
  runId: string,
): { manifest: Manifest; partials: Map<string, WindowPartial> } {
  const settings: BacktestSettings = {
    ...DEFAULT_BACKTEST_SETTINGS,
    seed: set.seed,
    starting_cash: set.starting_cash,
  };
  const specByKey = new Map(set.instruments.map((s) => [s.instrument_key, s]));
  const marksByKey = new Map<string, MidSample[]>();
  for (const m of set.marks) {
    let list = marksByKey.get(m.instrument_key);
    if (list === undefined) {
      list = [];
      marksByKey.set(m.instrument_key, list);
    }
    list.push(m);
  }
  for (const list of marksByKey.values()) list.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));

  const parents = [...set.parents].sort(
    (a, b) =>
      (a.ts_routed < b.ts_routed ? -1 : a.ts_routed > b.ts_routed ? 1 : 0) ||
      (a.parent_order_id < b.parent_order_id ? -1 : a.parent_order_id > b.parent_order_id ? 1 : 0),
  );
  const windows: WindowPlan[] = [];
  const partials = new Map<string, WindowPartial>();
  const strategies = new Set<string>();
  const instruments = new Set<string>();
  const markedInstruments = new Set<string>();
  let periodStart: Nanos | null = null;
  let periodEnd: Nanos | null = null;
  parents.forEach((p, index) => {
    const windowId = windowIdOf(index);
    const start = p.ts_routed;
    const end = lastTime(p);
    periodStart = periodStart === null || start < periodStart ? start : periodStart;
    periodEnd = periodEnd === null || end > periodEnd ? end : periodEnd;
    strategies.add(p.strategy_id);
    instruments.add(p.instrument_key);
    windows.push(
      parentWindowPlan(p, {
        window_id: windowId,
        index,
        start,
        end,
        params: {},
        spec: specByKey.get(p.instrument_key) ?? ONE_NS_SPEC(p.instrument_key),
        seed: set.seed,
      }),
    );

    const orders: OrderRow[] = [];
    const fills: FillRow[] = [];
    let filled = new Dec(0);
    let notional = new Dec(0);
    let fees = new Dec(0);
    const childRows: OrderRow[] = [];
    for (const c of p.children) {
      let cFilled = new Dec(0);
      let cNotional = new Dec(0);
      let cFees = new Dec(0);
      for (const f of c.fills) {
        cFilled = cFilled.plus(f.quantity);
        cNotional = cNotional.plus(toDec(f.quantity).times(f.price));
        cFees = cFees.plus(f.fee);
        fills.push({
          fill_id: f.fill_id,
          order_id: c.order_id,
          parent_order_id: p.parent_order_id,
          instrument_key: p.instrument_key,
          venue: p.venue,
          side: c.side,
          quantity: f.quantity,
          price: f.price,
          fee: f.fee,
          fee_currency: f.fee_currency,
          liquidity: f.liquidity,
          ts_ns: String(f.ts_event),
        });
      }
      filled = filled.plus(cFilled);
      notional = notional.plus(cNotional);
      fees = fees.plus(cFees);
      childRows.push({
        order_id: c.order_id,
        parent_order_id: p.parent_order_id,
        operation_id: p.operation_id,
        instrument_key: p.instrument_key,
        venue: p.venue,
        side: c.side,
        order_type: c.order_type,
        time_in_force: c.time_in_force,
        quantity: c.quantity,
        price: c.price,
        status: c.status,
        ts_submitted_ns: String(c.ts_submitted),
        ts_last_ns: String(c.ts_last),
        filled_quantity: fmt(cFilled),
        filled_notional: fmt(cNotional),
        fees: fmt(cFees),
        mid_at_arrival: c.mid_at_arrival,
        reason: c.reason,
      });
    }
    orders.push({
      order_id: p.parent_order_id,
      parent_order_id: null,
      operation_id: p.operation_id,
      instrument_key: p.instrument_key,
      venue: p.venue,
      side: p.side,
      order_type: p.order_type,
      time_in_force: 'GTC',
      quantity: p.quantity,
      price: p.price,
      status: parentStatus(p, filled),
      ts_submitted_ns: String(start),
      ts_last_ns: String(end),
      filled_quantity: fmt(filled),
      filled_notional: fmt(notional),
      fees: fmt(fees),
      mid_at_arrival: p.arrival_mid,
      reason: null,
    });
    orders.push(...childRows);
    fills.sort((a, b) => {
      const ta = BigInt(a.ts_ns);
      const tb = BigInt(b.ts_ns);
      return ta < tb ? -1 : ta > tb ? 1 : 0;
    });

    // Every mark of the instrument goes with its first window: the merge orders all marks of all
    // windows on one timeline, so the session's last mid values what is held at the end.
    const marks: MarkSample[] = [];
    if (!markedInstruments.has(p.instrument_key)) {
      markedInstruments.add(p.instrument_key);
      for (const m of marksByKey.get(p.instrument_key) ?? []) marks.push({ ts_ns: String(m.ts), mid: m.mid });
    }

    partials.set(windowId, {
      version: 1,
      run_id: runId,
      window_id: windowId,
      index,
      instrument_key: p.instrument_key,
      strategy_id: p.strategy_id,
      exec_algorithm: p.exec_algorithm,
      start_ns: String(start),
      end_ns: String(end),
      arrival_mid: p.arrival_mid,
      end_reason: parentStatus(p, filled),
      orders,
      fills,
      marks,
      risk_denials: [],
      warnings: [],
      ticks: { trades: 0, quotes: 0, book: 0 },
      io: { bytes_read: 0, bytes_total: 0, requests: 0, files: [] },
    });
  });
  const manifest: Manifest = {
    version: 1,
    run_id: runId,
    settings,
    risk_limits: { ...NO_LIMITS, per_strategy: {}, per_instrument: {} },
    signals: {
      source: 'recording',
      sha256: '',
      count: parents.length,
      strategies: [...strategies].sort(),
      instruments: [...instruments].sort(),
    },
    period:
      periodStart === null || periodEnd === null
        ? null
        : { start: nanosToIso(periodStart), end: nanosToIso(periodEnd) },
    windows,
    skipped: [],
  };
  return { manifest, partials };
}

/**
 * Replay a recording through the backtest shell (docs/recording.md, "Replay"): each routed parent
 * becomes one backtest window (shared/backtest/window.ts, the execution core on the matching
 * engine) that starts at the parent's recorded `ts_init` and runs to the end of its run, fed the
 * recorded market events of its instrument with their time set to the recorded `ts_init` (the
 * time the edge's core saw them, so the replay's clock is the recorded receive clock), the session's
 * trading-state changes at their `ts_init`, and the session's seed, latency, fees and risk limits.
 * The result is compared with the recorded session (shared/recording/parity.ts).
 */
import { DEFAULT_BACKTEST_SETTINGS } from '../../shared/backtest/model.ts';
import {
  type OtherOrderAt,
  type RecordedTiming,
  simulateWindow,
  type TradingStateChangeAt,
} from '../../shared/backtest/window.ts';
import { BOOK_ASK, BOOK_BID, SIDE_BUY, SIDE_SELL, SIDE_UNKNOWN } from '../../shared/data/tick-columns.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec, TradingState } from '../../shared/domain/types.ts';
import type { SessionGate } from '../../shared/execution/session.ts';
import {
  type ChildExecution,
  type ExecutionSet,
  type ParentExecution,
  parentExecutionOf,
  parentWindowPlan,
  projectRecordedExecutions,
} from '../../shared/recording/executions.ts';
import type { SequencedMarketEvent, SequencedRecord } from '../../shared/recording/format.ts';
import { sessionGateOf } from '../../shared/recording/tap.ts';
import { MarkSampler } from '../../shared/recording/timeline.ts';
import { NO_LIMITS, type RiskLimits } from '../../shared/risk/limits.ts';
import { quoteColumns } from './compact.ts';
import type { OpenedRecording } from './reader.ts';

type SessionStarted = Extract<SequencedRecord, { type: 'session_started' }>;
type ParentRouted = Extract<SequencedRecord, { type: 'parent_routed' }>;

/** How long a replayed parent may run past its horizon (the algorithm's duration or its last recorded report). */
const REPLAY_GRACE_NS = 300_000_000_000n;

/** Mark samples for the equity curve and the final valuation: one per 10 s of receive time. */
const MARK_INTERVAL_NS = 10_000_000_000n;

export interface ReplayOutcome {
  session: SessionStarted;
  recorded: ExecutionSet;
  replayed: ExecutionSet;
  /** Market events fed (book snapshots count once). */
  market_events: number;
  parents: number;
  warnings: string[];
}

/** The market events of one instrument as columns, timed by `ts_init`. */
class InstrumentTape {
  trades: SequencedMarketEvent[] = [];
  quotes: SequencedMarketEvent[] = [];
  books: SequencedMarketEvent[] = [];

  add(e: SequencedMarketEvent): void {
    (e.kind === 'trade' ? this.trades : e.kind === 'quote' ? this.quotes : this.books).push(e);
  }

  /** Events with from ≤ ts_init < to (each list is in receive order, so ts_init ascends). */
  private slice(list: SequencedMarketEvent[], from: Nanos, to: Nanos): SequencedMarketEvent[] {
    const lower = (t: Nanos) => {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]!.ts_init < t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return list.slice(lower(from), lower(to));
  }

  /** The last event received before `t` (the book in force then), re-timed at `t`. */
  private inForce(list: SequencedMarketEvent[], t: Nanos): SequencedMarketEvent[] {
    const before = this.slice(list, 0n, t);
    const last = before[before.length - 1];
    return last === undefined ? [] : [{ ...last, ts_init: t }];
  }

  /**
   * Events with from ≤ ts_init < to, led by the book (or quote) in force at `from`: a live engine
   * holds the last snapshot it received, so the replay starts from the same one (never a later one).
   */
  window(from: Nanos, to: Nanos) {
    const trades = this.slice(this.trades, from, to).filter((e) => e.kind === 'trade');
    const quotes = [...this.inForce(this.quotes, from), ...this.slice(this.quotes, from, to)].filter(
      (e) => e.kind === 'quote',
    );
    const books = [...this.inForce(this.books, from), ...this.slice(this.books, from, to)].filter(
      (e) => e.kind === 'book',
    );
    const t = {
      ts: BigInt64Array.from(trades, (e) => e.ts_init),
      price: Float64Array.from(trades, (e) => e.price),
      size: Float64Array.from(trades, (e) => e.size),
      side: Int8Array.from(trades, (e) =>
        e.side === 'BUY' ? SIDE_BUY : e.side === 'SELL' ? SIDE_SELL : SIDE_UNKNOWN,
      ),
      trade_id: trades.map((e) => e.trade_id ?? `r${e.run}-s${e.seq}`),
    };
    const q = quoteColumns(quotes, (e) => e.ts_init);
    const rows: Array<[Nanos, number, number, number, number]> = [];
    for (const b of books) {
      b.bids.forEach(([p, s], level) => {
        rows.push([b.ts_init, BOOK_BID, level, p, s]);
      });
      b.asks.forEach(([p, s], level) => {
        rows.push([b.ts_init, BOOK_ASK, level, p, s]);
      });
    }
    const book = {
      ts: BigInt64Array.from(rows, (r) => r[0]),
      side: Int8Array.from(rows, (r) => r[1]),
      level: Int32Array.from(rows, (r) => r[2]),
      price: Float64Array.from(rows, (r) => r[3]),
      size: Float64Array.from(rows, (r) => r[4]),
    };
    return {
      trades: t,
      ...(quotes.length > 0 ? { quotes: q } : {}),
      ...(rows.length > 0 ? { book } : {}),
    };
  }
}

interface VenueSettings {
  latency_ms: number;
  fees: { maker: string; taker: string } | null;
}

/** The venue's latency and fees from the recorded configuration (defaults when absent). */
function venueSettings(config: Record<string, unknown>, venue: string): VenueSettings {
  const venues = Array.isArray(config.venues) ? (config.venues as Array<Record<string, unknown>>) : [];
  const v = venues.find((x) => x?.id === venue);
  const latency = typeof v?.latency_ms === 'number' ? v.latency_ms : 0;
  const f = v?.fees as { maker?: unknown; taker?: unknown } | undefined;
  const fees =
    f && typeof f.maker === 'string' && typeof f.taker === 'string'
      ? { maker: f.maker, taker: f.taker }
      : null;
  return { latency_ms: latency, fees };
}

/** Risk limits recorded with the session (the engine's input shape), else none. */
function recordedLimits(config: Record<string, unknown>): RiskLimits {
  const l = config.risk_limits;
  if (l !== null && typeof l === 'object') return { ...NO_LIMITS, ...(l as Partial<RiskLimits>) };
  return NO_LIMITS;
}

function childOf(row: {
  order_id: string;
  side: 'BUY' | 'SELL';
  order_type: 'MARKET' | 'LIMIT';
  time_in_force: ChildExecution['time_in_force'];
  quantity: string;
  price: string | null;
  status: ChildExecution['status'];
  ts_submitted_ns: string;
  ts_last_ns: string;
  mid_at_arrival: string | null;
  reason: string | null;
}): ChildExecution {
  return {
    order_id: row.order_id,
    side: row.side,
    order_type: row.order_type,
    time_in_force: row.time_in_force,
    quantity: row.quantity,
    price: row.price,
    status: row.status,
    ts_submitted: BigInt(row.ts_submitted_ns),
    ts_last: BigInt(row.ts_last_ns),
    mid_at_arrival: row.mid_at_arrival,
    reason: row.reason,
    fills: [],
  };
}

/**
 * The session gate the edge stepped a parent with: the instrument's last `trading_schedule` of the
 * run at or before the parent arrived, else the first one after (read at its first step). None: the
 * venue has no sessions (every recording before the gate existed) — always open, as then.
 */
function recordedSessionGate(
  records: readonly SequencedRecord[],
  run: number,
  venue: string,
  instrumentKey: string,
  start: Nanos,
): SessionGate | null {
  let before: SessionGate | null = null;
  for (const x of records) {
    if (x.run !== run || x.type !== 'trading_schedule') continue;
    if (x.venue !== venue || x.instrument_key !== instrumentKey) continue;
    if (BigInt(x.ts_init) <= start) before = sessionGateOf(x);
    else return before ?? sessionGateOf(x);
  }
  return before;
}

/**
 * The edge's timing of one parent in its run: the algorithm's steps (`timer_fired`) and each child's
 * send time (`child_submitted.ts_init`) and cancel time (`child_cancel_requested.ts_init`). A direct order is not stepped by a timer: its one decision
 * is taken when it is sent. A parent with neither (a journal that carries no timing) runs on the
 * window's own schedule.
 */
function recordedTiming(
  records: readonly SequencedRecord[],
  run: number,
  parentOrderId: string,
): RecordedTiming | undefined {
  const steps: string[] = [];
  const sends = new Map<string, string>();
  const cancels = new Map<string, string>();
  for (const x of records) {
    if (x.run !== run || !('parent_order_id' in x) || x.parent_order_id !== parentOrderId) continue;
    if (x.type === 'timer_fired') steps.push(String(x.ts_init));
    else if (x.type === 'child_submitted' && !sends.has(x.order_id)) sends.set(x.order_id, String(x.ts_init));
    else if (x.type === 'child_cancel_requested' && !cancels.has(x.order_id))
      cancels.set(x.order_id, String(x.ts_init));
  }
  if (steps.length === 0 && sends.size === 0) return undefined;
  if (steps.length === 0) steps.push(...sends.values());
  return { steps, sends, cancels };
}

/** The orders the venue received for one instrument in one run, by parent, in recorded order. */
interface VenueOrderFlow {
  parent_order_id: string;
  /** From the first order sent to the last report of any of its children (its reach in time). */
  from: Nanos;
  to: Nanos;
  orders: OtherOrderAt[];
}

/** Every parent's orders at the venue per run and instrument (what the venue's one engine saw). */
function orderFlows(
  records: readonly SequencedRecord[],
  recorded: readonly ParentExecution[],
): Map<string, VenueOrderFlow[]> {
  const spans = new Map<string, { from: Nanos; to: Nanos }>();
  for (const p of recorded) {
    for (const c of p.children) {
      const sp = spans.get(p.parent_order_id) ?? { from: c.ts_submitted, to: c.ts_submitted };
      if (c.ts_submitted < sp.from) sp.from = c.ts_submitted;
      if (c.ts_last > sp.to) sp.to = c.ts_last;
      for (const f of c.fills) if (f.ts_event > sp.to) sp.to = f.ts_event;
      spans.set(p.parent_order_id, sp);
    }
  }
  const cancels = new Map<string, string>();
  for (const x of records) {
    const k = `${x.run}|${'parent_order_id' in x ? x.parent_order_id : ''}|${'order_id' in x ? x.order_id : ''}`;
    if (x.type === 'child_cancel_requested' && !cancels.has(k)) cancels.set(k, String(x.ts_init));
  }
  const out = new Map<string, VenueOrderFlow[]>();
  const byParent = new Map<string, VenueOrderFlow>();
  for (const x of records) {
    if (x.type !== 'child_submitted') continue;
    const key = `${x.run}|${x.request.instrument_key}`;
    const pk = `${x.run}|${x.parent_order_id}`;
    let flow = byParent.get(pk);
    if (flow === undefined) {
      const sp = spans.get(x.parent_order_id) ?? { from: BigInt(x.ts_init), to: BigInt(x.ts_init) };
      flow = { parent_order_id: x.parent_order_id, from: sp.from, to: sp.to, orders: [] };
      byParent.set(pk, flow);
      out.set(key, [...(out.get(key) ?? []), flow]);
    }
    if (flow.orders.some((o) => o.order.order_id === x.request.client_order_id)) continue;
    flow.orders.push({
      ts_ns: String(x.ts_init),
      order: {
        order_id: x.request.client_order_id,
        side: x.request.side,
        order_type: x.request.order_type,
        quantity: x.request.quantity,
        price: x.request.price,
        time_in_force: x.request.time_in_force === 'DAY' ? 'GTC' : x.request.time_in_force,
      },
      cancel_ts_ns: cancels.get(`${x.run}|${x.parent_order_id}|${x.order_id}`) ?? null,
    });
  }
  return out;
}

/** Run a validated recording through the backtest shell. */
export async function replayRecording(rec: OpenedRecording): Promise<ReplayOutcome> {
  const { records, manifest } = rec;
  const started = records.filter((r): r is SessionStarted => r.type === 'session_started');
  const first = started[0];
  if (first === undefined) throw new Error('recording has no session_started record');
  const runEnd = new Map<number, Nanos>();
  for (const s of manifest.segments) {
    const t = BigInt(s.last_ts_init);
    if ((runEnd.get(s.run) ?? t) <= t) runEnd.set(s.run, t);
  }

  // One pass over the market parts: tapes per instrument, marks.
  const tapes = new Map<string, InstrumentTape>();
  const sampler = new MarkSampler(MARK_INTERVAL_NS);
  let marketEvents = 0;
  for await (const part of rec.market()) {
    for (const e of part) {
      marketEvents++;
      let tape = tapes.get(e.instrument_key);
      if (tape === undefined) {
        tape = new InstrumentTape();
        tapes.set(e.instrument_key, tape);
      }
      tape.add(e);
      sampler.add(e);
    }
  }
  const marks = sampler.finish();

  const stateChanges = records.filter(
    (r): r is Extract<SequencedRecord, { type: 'trading_state_changed' }> =>
      r.type === 'trading_state_changed',
  );
  const warnings: string[] = [];
  const replayedParents: ParentExecution[] = [];
  const recordedParents = projectRecordedExecutions(records);
  const flows = orderFlows(records, recordedParents);
  const recordedLast = new Map<string, Nanos>();
  for (const rp of recordedParents) {
    let t = rp.ts_routed;
    for (const c of rp.children) {
      if (c.ts_last > t) t = c.ts_last;
      for (const f of c.fills) if (f.ts_event > t) t = f.ts_event;
    }
    recordedLast.set(rp.parent_order_id, t);
  }
  const parents = records.filter((r): r is ParentRouted => r.type === 'parent_routed');
  for (const [index, r] of parents.entries()) {
    const p = r.parent;
    const session = started.findLast((s) => s.run === r.run) ?? first;
    const start = BigInt(r.ts_init);
    // The window runs until the algorithm's horizon or the recorded parent's last report, whichever
    // is later, plus a grace period, and never past the end of its run's recording.
    const params = (p.exec_algorithm_params ?? {}) as Record<string, unknown>;
    const durationNs =
      typeof params.duration_sec === 'number' ? BigInt(Math.ceil(params.duration_sec)) * 1_000_000_000n : 0n;
    const horizon = [start + durationNs, recordedLast.get(p.order_id) ?? start].reduce((a, b) =>
      b > a ? b : a,
    );
    const runLast = (runEnd.get(r.run) ?? start) + 1n;
    const end = horizon + REPLAY_GRACE_NS < runLast ? horizon + REPLAY_GRACE_NS : runLast;
    const vs = venueSettings(session.config, p.venue);
    const baseSpec = session.instruments.find((s) => s.instrument_key === p.instrument_key);
    if (baseSpec === undefined) {
      warnings.push(
        `parent ${p.order_id}: no instrument definition for ${p.instrument_key} in the recording`,
      );
      continue;
    }
    const spec: InstrumentSpec = vs.fees
      ? { ...baseSpec, maker_fee: vs.fees.maker, taker_fee: vs.fees.taker }
      : baseSpec;
    // The platform's state in force at the start, then every change of the platform or the strategy.
    let platform: TradingState = 'ACTIVE';
    const changes: TradingStateChangeAt[] = [];
    for (const c of stateChanges) {
      if (c.run !== r.run || (c.strategy_id !== null && c.strategy_id !== p.strategy_id)) continue;
      const t = BigInt(c.ts_init);
      const scope = c.strategy_id === null ? 'global' : 'strategy';
      if (t <= start && scope === 'global') platform = c.state;
      else changes.push({ ts_ns: String(t < start ? start : t), scope, state: c.state });
    }
    const cancel = records.find(
      (c): c is Extract<SequencedRecord, { type: 'parent_cancel_requested' }> =>
        c.type === 'parent_cancel_requested' && c.run === r.run && c.parent_order_id === p.order_id,
    );
    const tape = tapes.get(p.instrument_key) ?? new InstrumentTape();
    const timing = recordedTiming(records, r.run, p.order_id);
    const sessionGate = recordedSessionGate(records, r.run, p.venue, p.instrument_key, start);
    // The venue matched every parent of the instrument in one engine: this window's engine gets the
    // orders of the others that reached into its time, from the first of them on.
    const others = (flows.get(`${r.run}|${p.instrument_key}`) ?? []).filter(
      (f) => f.parent_order_id !== p.order_id && f.from <= end && f.to >= start,
    );
    let engineStart = start;
    if (timing !== undefined) for (const f of others) if (f.from < engineStart) engineStart = f.from;
    const otherOrders =
      timing === undefined
        ? []
        : others
            .flatMap((f) => f.orders)
            .filter((o) => BigInt(o.ts_ns) >= engineStart && BigInt(o.ts_ns) < end);
    // The window carries the parent's own id, so the core derives the same child ids as the edge did.
    const plan = parentWindowPlan(p, {
      window_id: p.order_id,
      index,
      start: engineStart,
      end,
      params,
      spec,
      seed: session.seed,
    });
    const sim = simulateWindow({
      window: plan,
      settings: {
        ...DEFAULT_BACKTEST_SETTINGS,
        seed: session.seed,
        starting_cash: session.starting_cash,
        latency: { insert_ms: vs.latency_ms, cancel_ms: vs.latency_ms, jitter_ms: 0 },
        fill_model: { kind: 'conservative' },
        trading_state: platform,
      },
      limits: recordedLimits(session.config),
      ticks: tape.window(engineStart, end),
      trading_state_changes: changes,
      limit_price: p.order_type === 'LIMIT' ? p.price : null,
      recorded_timing: timing,
      session: sessionGate,
      ...(timing === undefined ? {} : { other_orders: otherOrders, parent_start_ns: String(start) }),
      ...(cancel === undefined
        ? {}
        : {
            cancel: {
              ts_ns: BigInt(cancel.ts_init) < start ? String(start) : cancel.ts_init,
              reason: cancel.reason,
            },
          }),
    });
    warnings.push(...sim.warnings);
    const children = new Map<string, ChildExecution>();
    const list: ChildExecution[] = [];
    for (const o of sim.orders) {
      if (o.parent_order_id === null) continue;
      const c = childOf(o);
      children.set(o.order_id, c);
      list.push(c);
    }
    for (const f of sim.fills) {
      children.get(f.order_id)?.fills.push({
        fill_id: f.fill_id,
        quantity: f.quantity,
        price: f.price,
        fee: f.fee,
        fee_currency: f.fee_currency,
        liquidity: f.liquidity,
        ts_event: BigInt(f.ts_ns),
      });
    }
    replayedParents.push({ ...parentExecutionOf(r), children: list });
  }

  const base = {
    marks,
    starting_cash: first.starting_cash,
    instruments: first.instruments,
    seed: first.seed,
  };
  return {
    session: first,
    recorded: { ...base, parents: recordedParents },
    replayed: { ...base, parents: replayedParents },
    market_events: marketEvents,
    parents: parents.length,
    warnings,
  };
}

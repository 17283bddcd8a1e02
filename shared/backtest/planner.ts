/**
 * The planner: signals → windows. Rules (docs/backtesting.md, "Windows"):
 *
 * 1. Per (strategy, instrument), signals are taken in time order; the position before the first
 *    signal is 0. A signal whose target equals the previous target opens NO window (it is listed
 *    as skipped, reason `unchanged_target`). A signal that changes the target opens a window
 *    [ts, ts + window_minutes) that trades `delta = target − previous target`.
 * 2. Independence: a window starts from the previous TARGET, not from what earlier windows actually
 *    filled. The starting position is therefore known from the signal list alone, every window can
 *    run on its own machine in any order, and an under-filled window does not leak into the next
 *    one (its shortfall shows in fill_ratio and in the merged position path).
 * 3. Overlap: windows of ONE instrument never overlap (two simulations of one book would both take
 *    the same displayed liquidity). When a window of an instrument starts while an earlier window
 *    of that instrument is still open — whatever the strategy — the earlier window ENDS at that
 *    instant (`truncated_by` names the later window); its algorithm is cancelled there. Windows of
 *    different instruments overlap freely.
 * 4. Order and ids: windows are sorted by (start, instrument, strategy, line); window i is
 *    `w000000`+i and its seed is `deriveSeed(run seed, i)`, so ids and random draws depend only on
 *    the signals and the seed.
 */
import { initAlgo } from '../algos/scheduler.ts';
import { Dec, fmt, toDec } from '../domain/decimal.ts';
import { type Issue, ValidationError } from '../domain/errors.ts';
import { parseInstrumentId } from '../domain/instrument-id.ts';
import { NANOS_PER_SECOND, type Nanos, nanosToIso } from '../domain/time.ts';
import { deriveSeed } from '../sim/prng.ts';
import { type SkippedSignal, type WindowPlan, windowIdOf } from './model.ts';
import { INVALID_SIGNALS, MAX_SIGNAL_ISSUES, type ResolvedSignal } from './signals.ts';

export interface PlanOptions {
  window_minutes: number;
  seed: number;
  /** Name of the signals file in error messages. */
  source?: string | undefined;
}

export interface Plan {
  windows: WindowPlan[];
  skipped: SkippedSignal[];
  /** First window start → last window end, or null without windows. */
  period: { start: string; end: string } | null;
}

interface Draft {
  s: ResolvedSignal;
  previous: Dec;
  instrumentPosition: Dec;
  start: Nanos;
  nominalEnd: Nanos;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Venue part of an instrument id (`BINANCE-SPOT` of `BINANCE-SPOT:SPOT_PAIR:BTC-USDT`). */
export function venueOf(instrumentKey: string): string {
  const r = parseInstrumentId(instrumentKey);
  return r.success ? r.data.venue : (instrumentKey.split(':')[0] ?? instrumentKey);
}

/** Plan the windows of a run (pure; `signals` as returned by resolveSignalInstruments). */
export function planWindows(signals: readonly ResolvedSignal[], opts: PlanOptions): Plan {
  if (!Number.isInteger(opts.window_minutes) || opts.window_minutes < 1) {
    throw new RangeError(`window_minutes must be a positive integer, got ${opts.window_minutes}`);
  }
  const length = BigInt(opts.window_minutes) * 60n * NANOS_PER_SECOND;
  const ordered = [...signals].sort(
    (a, b) =>
      cmpBig(a.ts_ns, b.ts_ns) ||
      (a.instrument_key < b.instrument_key ? -1 : a.instrument_key > b.instrument_key ? 1 : 0) ||
      (a.strategy_id < b.strategy_id ? -1 : a.strategy_id > b.strategy_id ? 1 : 0) ||
      a.line - b.line,
  );

  // Current target per (strategy, instrument) and the sum over strategies per instrument.
  const targets = new Map<string, Dec>();
  const instrumentTotals = new Map<string, Dec>();
  const drafts: Draft[] = [];
  const skipped: SkippedSignal[] = [];
  for (const s of ordered) {
    const key = `${s.strategy_id}\u0000${s.instrument_key}`;
    const previous = targets.get(key) ?? new Dec(0);
    const target = toDec(s.target_position);
    const total = instrumentTotals.get(s.instrument_key) ?? new Dec(0);
    if (target.eq(previous)) {
      skipped.push({
        line: s.line,
        ts: s.ts,
        strategy_id: s.strategy_id,
        instrument_key: s.instrument_key,
        target_position: s.target_position,
        reason: 'unchanged_target',
      });
      continue;
    }
    drafts.push({ s, previous, instrumentPosition: total, start: s.ts_ns, nominalEnd: s.ts_ns + length });
    targets.set(key, target);
    instrumentTotals.set(s.instrument_key, total.plus(target).minus(previous));
  }

  // Drafts are already in (start, instrument, strategy, line) order: that is the window order.
  const windows: WindowPlan[] = drafts.map((d, index) => {
    const target = toDec(d.s.target_position);
    const delta = target.minus(d.previous);
    return {
      window_id: windowIdOf(index),
      index,
      strategy_id: d.s.strategy_id,
      instrument_key: d.s.instrument_key,
      venue: venueOf(d.s.instrument_key),
      signal: { line: d.s.line, ts: d.s.ts, target_position: d.s.target_position },
      start_ns: d.start.toString(),
      end_ns: d.nominalEnd.toString(),
      nominal_end_ns: d.nominalEnd.toString(),
      truncated_by: null,
      previous_target: fmt(d.previous),
      target: fmt(target),
      delta: fmt(delta),
      side: delta.isNeg() ? 'SELL' : 'BUY',
      quantity: fmt(delta.abs()),
      instrument_position_at_start: fmt(d.instrumentPosition),
      exec_algorithm: d.s.exec_algorithm,
      exec_algorithm_params: d.s.exec_algorithm_params,
      spec: d.s.spec,
      instruments_file: d.s.instruments_file,
      seed: deriveSeed(opts.seed, index),
    };
  });

  // Each parent must be workable by its algorithm (e.g. an ICEBERG display below the quantity):
  // checked now, with the algorithm's own validation, so the error names the signal's line.
  const issues: Issue[] = [];
  for (const w of windows) {
    try {
      initAlgo(
        w.exec_algorithm,
        { order_id: w.window_id, instrument_key: w.instrument_key, side: w.side, quantity: w.quantity },
        w.exec_algorithm_params,
        BigInt(w.start_ns),
        w.spec,
        w.seed,
      );
    } catch (e) {
      const at = `${opts.source ?? 'signals'}:${w.signal.line}`;
      if (e instanceof ValidationError) {
        for (const i of e.issues) {
          issues.push({
            path: `${at}.${i.path || 'exec_algorithm_params'}`,
            message: `${i.message} (window ${w.window_id} trades ${w.side} ${w.quantity})`,
          });
        }
      } else {
        issues.push({ path: at, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(INVALID_SIGNALS, issues.slice(0, MAX_SIGNAL_ISSUES));

  // Rule 3: a later window of the same instrument ends the open one at its start.
  const open = new Map<string, WindowPlan>();
  for (const w of windows) {
    const prev = open.get(w.instrument_key);
    if (prev !== undefined && BigInt(prev.end_ns) > BigInt(w.start_ns)) {
      prev.end_ns = w.start_ns;
      prev.truncated_by = w.window_id;
    }
    open.set(w.instrument_key, w);
  }

  let period: Plan['period'] = null;
  if (windows.length > 0) {
    let start = BigInt(windows[0]!.start_ns);
    let end = BigInt(windows[0]!.end_ns);
    for (const w of windows) {
      if (BigInt(w.start_ns) < start) start = BigInt(w.start_ns);
      if (BigInt(w.end_ns) > end) end = BigInt(w.end_ns);
    }
    period = { start: nanosToIso(start), end: nanosToIso(end) };
  }
  return { windows, skipped, period };
}

/**
 * The parity report of a replay (docs/recording.md, "parity.json"): per parent order, the recorded
 * and the replayed child orders and fills side by side with every difference listed, and totals —
 * mismatching orders and fills, the PnL difference (absolute and in % of the recorded traded
 * notional), and the implementation-shortfall and slippage differences in bps, all computed by the
 * backtest's merge on both sides (shared/backtest/merge.ts), so the definitions are the backtest's.
 *
 * Verdict: a SHADOW recording must replay identically (0 mismatches); a LIVE recording (real venue
 * fills against our simulated ones) passes when the PnL, IS and slippage differences are within the
 * tolerances. Pure.
 */
import { mergeRun, type Summary } from '../backtest/merge.ts';
import { round } from '../backtest/metrics.ts';
import { toDec } from '../domain/decimal.ts';
import {
  type ChildExecution,
  type ExecutionSet,
  type FillExecution,
  type ParentExecution,
  toMergeInput,
} from './executions.ts';
import type { RecordingMode } from './format.ts';

export const PARITY_FORMAT_VERSION = 1;

/** Acceptance tolerances for a LIVE replay (reference event-bridge: PnL ≤ 0.05%, IS ≤ 0.5 bps, slippage ≤ 1 bps). */
export interface ParityTolerances {
  /** |PnL difference| in % of the recorded traded notional. */
  pnl_pct: number;
  implementation_shortfall_bps: number;
  slippage_bps: number;
}

export const DEFAULT_PARITY_TOLERANCES: Readonly<ParityTolerances> = Object.freeze({
  pnl_pct: 0.05,
  implementation_shortfall_bps: 0.5,
  slippage_bps: 1,
});

export type Value = string | null;

export interface Mismatch {
  /** e.g. `children[2].fills[0].price`, `children[3]` (missing on one side). */
  path: string;
  recorded: Value;
  replayed: Value;
}

interface OrderView {
  order_id: string;
  side: string;
  order_type: string;
  time_in_force: string;
  quantity: string;
  price: string | null;
  status: string;
  ts_submitted: string;
}

interface FillView {
  fill_id: string;
  quantity: string;
  price: string;
  fee: string;
  fee_currency: string;
  liquidity: string;
  ts_event: string;
}

export interface ChildComparison {
  index: number;
  recorded: OrderView | null;
  replayed: OrderView | null;
  fills: Array<{ index: number; recorded: FillView | null; replayed: FillView | null }>;
}

export interface ParentComparison {
  parent_order_id: string;
  operation_id: string;
  instrument_key: string;
  exec_algorithm: string;
  /** Present in the recording / in the replay. */
  recorded: boolean;
  replayed: boolean;
  children: ChildComparison[];
  mismatches: Mismatch[];
}

export interface MetricDiff {
  recorded: number | null;
  replayed: number | null;
  /** replayed − recorded (null when either is null). */
  diff: number | null;
}

export interface ToleranceBreach {
  metric: 'pnl_pct' | 'implementation_shortfall_bps' | 'slippage_bps';
  value: number | null;
  limit: number;
  reason: string;
}

export interface ParityReport {
  format_version: number;
  session_id: string;
  mode: RecordingMode;
  verdict: 'identical' | 'within_tolerance' | 'mismatch' | 'outside_tolerance';
  exit_code: 0 | 1;
  totals: {
    parents: number;
    child_orders: { recorded: number; replayed: number };
    fills: { recorded: number; replayed: number };
    mismatches: number;
    mismatching_orders: number;
    mismatching_fills: number;
    pnl: MetricDiff & { diff_pct: number | null };
    traded_notional: { recorded: number | null; replayed: number | null };
    implementation_shortfall_bps: MetricDiff;
    slippage_bps: MetricDiff;
  };
  tolerances: ParityTolerances;
  tolerance_check: { applied: boolean; passed: boolean; breaches: ToleranceBreach[] };
  parents: ParentComparison[];
}

function orderView(c: ChildExecution): OrderView {
  return {
    order_id: c.order_id,
    side: c.side,
    order_type: c.order_type,
    time_in_force: c.time_in_force,
    quantity: c.quantity,
    price: c.price,
    status: c.status,
    ts_submitted: String(c.ts_submitted),
  };
}

function fillView(f: FillExecution): FillView {
  return {
    fill_id: f.fill_id,
    quantity: f.quantity,
    price: f.price,
    fee: f.fee,
    fee_currency: f.fee_currency,
    liquidity: f.liquidity,
    ts_event: String(f.ts_event),
  };
}

const DECIMAL_FIELDS = new Set(['quantity', 'price', 'fee']);

function sameValue(field: string, a: Value, b: Value): boolean {
  if (a === null || b === null) return a === b;
  if (DECIMAL_FIELDS.has(field)) return toDec(a).eq(toDec(b));
  return a === b;
}

/** Compare the fields of two records; every difference becomes a mismatch at `path.field`. */
function compareFields<T extends object>(
  path: string,
  a: T,
  b: T,
  fields: ReadonlyArray<keyof T>,
): Mismatch[] {
  const out: Mismatch[] = [];
  for (const f of fields) {
    const x = a[f] as Value;
    const y = b[f] as Value;
    if (!sameValue(String(f), x, y)) out.push({ path: `${path}.${String(f)}`, recorded: x, replayed: y });
  }
  return out;
}

// Compared: what the order and the fill ARE (side, type, quantity, price, status, time, fee). Ids
// are shown but not compared: a backtest window and a venue name orders and fills their own way
// (venue trade ids, the engine's fill ids); children are matched by the order they were sent in.
const ORDER_FIELDS: ReadonlyArray<keyof OrderView> = [
  'side',
  'order_type',
  'time_in_force',
  'quantity',
  'price',
  'status',
  'ts_submitted',
];
const FILL_FIELDS: ReadonlyArray<keyof FillView> = [
  'quantity',
  'price',
  'fee',
  'fee_currency',
  'liquidity',
  'ts_event',
];

interface Counts {
  mismatchingOrders: number;
  mismatchingFills: number;
}

function compareParent(
  rec: ParentExecution | undefined,
  rep: ParentExecution | undefined,
  counts: Counts,
): ParentComparison {
  const any = (rec ?? rep) as ParentExecution;
  const children: ChildComparison[] = [];
  const mismatches: Mismatch[] = [];
  const recChildren = rec?.children ?? [];
  const repChildren = rep?.children ?? [];
  if (rec === undefined || rep === undefined) {
    mismatches.push({
      path: 'parent',
      recorded: rec === undefined ? null : rec.parent_order_id,
      replayed: rep === undefined ? null : rep.parent_order_id,
    });
  }
  const n = Math.max(recChildren.length, repChildren.length);
  for (let i = 0; i < n; i++) {
    const a = recChildren[i];
    const b = repChildren[i];
    const path = `children[${i}]`;
    const before = mismatches.length;
    const fillsBefore = counts.mismatchingFills;
    const fills: ChildComparison['fills'] = [];
    if (a === undefined || b === undefined) {
      mismatches.push({ path, recorded: a?.order_id ?? null, replayed: b?.order_id ?? null });
    } else {
      mismatches.push(...compareFields(path, orderView(a), orderView(b), ORDER_FIELDS));
    }
    const fa = a?.fills ?? [];
    const fb = b?.fills ?? [];
    const m = Math.max(fa.length, fb.length);
    for (let j = 0; j < m; j++) {
      const x = fa[j];
      const y = fb[j];
      const fpath = `${path}.fills[${j}]`;
      const fBefore = mismatches.length;
      if (x === undefined || y === undefined) {
        mismatches.push({ path: fpath, recorded: x?.fill_id ?? null, replayed: y?.fill_id ?? null });
      } else {
        mismatches.push(...compareFields(fpath, fillView(x), fillView(y), FILL_FIELDS));
      }
      if (mismatches.length > fBefore) counts.mismatchingFills++;
      fills.push({
        index: j,
        recorded: x === undefined ? null : fillView(x),
        replayed: y === undefined ? null : fillView(y),
      });
    }
    if (mismatches.length > before || counts.mismatchingFills > fillsBefore) counts.mismatchingOrders++;
    children.push({
      index: i,
      recorded: a === undefined ? null : orderView(a),
      replayed: b === undefined ? null : orderView(b),
      fills,
    });
  }
  return {
    parent_order_id: any.parent_order_id,
    operation_id: any.operation_id,
    instrument_key: any.instrument_key,
    exec_algorithm: any.exec_algorithm,
    recorded: rec !== undefined,
    replayed: rep !== undefined,
    children,
    mismatches,
  };
}

function num(summary: Summary, key: string): number | null {
  const v = summary[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function diffOf(a: number | null, b: number | null): MetricDiff {
  return { recorded: a, replayed: b, diff: a === null || b === null ? null : round(b - a) };
}

/** Check the differences against the tolerances; a metric one side has and the other lacks breaches. */
export function checkTolerances(
  totals: ParityReport['totals'],
  tolerances: ParityTolerances,
): { passed: boolean; breaches: ToleranceBreach[] } {
  const breaches: ToleranceBreach[] = [];
  const check = (
    metric: ToleranceBreach['metric'],
    value: number | null,
    bothMissing: boolean,
    limit: number,
  ) => {
    if (value === null) {
      if (!bothMissing) {
        breaches.push({ metric, value, limit, reason: 'defined on one side only (one side has no fills)' });
      }
      return;
    }
    if (Math.abs(value) > limit) {
      breaches.push({ metric, value, limit, reason: `|${value}| exceeds ${limit}` });
    }
  };
  const pnl = totals.pnl;
  if (pnl.diff_pct === null) {
    // No recorded notional: any PnL difference at all is a breach.
    if (pnl.diff !== null && pnl.diff !== 0) {
      breaches.push({
        metric: 'pnl_pct',
        value: null,
        limit: tolerances.pnl_pct,
        reason: `PnL differs by ${pnl.diff} with no recorded traded notional to compare it to`,
      });
    }
  } else check('pnl_pct', pnl.diff_pct, false, tolerances.pnl_pct);
  const is = totals.implementation_shortfall_bps;
  check(
    'implementation_shortfall_bps',
    is.diff,
    is.recorded === null && is.replayed === null,
    tolerances.implementation_shortfall_bps,
  );
  const sl = totals.slippage_bps;
  check('slippage_bps', sl.diff, sl.recorded === null && sl.replayed === null, tolerances.slippage_bps);
  return { passed: breaches.length === 0, breaches };
}

export interface ParityInput {
  session_id: string;
  mode: RecordingMode;
  recorded: ExecutionSet;
  replayed: ExecutionSet;
  tolerances: ParityTolerances;
}

export interface ParityResult {
  report: ParityReport;
  /** The replay's merge (the five result files are written from it). */
  replayed: ReturnType<typeof mergeRun>;
  recorded: ReturnType<typeof mergeRun>;
}

/** Compare a replay with its recording: parents matched by id, children and fills by their order. */
export function compareReplay(input: ParityInput, runId: string): ParityResult {
  const rec = toMergeInput(input.recorded, runId);
  const rep = toMergeInput(input.replayed, runId);
  const recorded = mergeRun(rec.manifest, rec.partials);
  const replayed = mergeRun(rep.manifest, rep.partials);

  const recById = new Map(input.recorded.parents.map((p) => [p.parent_order_id, p]));
  const repById = new Map(input.replayed.parents.map((p) => [p.parent_order_id, p]));
  const ids: string[] = [];
  for (const p of input.recorded.parents) ids.push(p.parent_order_id);
  for (const p of input.replayed.parents) if (!recById.has(p.parent_order_id)) ids.push(p.parent_order_id);
  const counts: Counts = { mismatchingOrders: 0, mismatchingFills: 0 };
  const parents = ids.map((id) => compareParent(recById.get(id), repById.get(id), counts));
  const mismatches = parents.reduce((s, p) => s + p.mismatches.length, 0);

  const count = (set: ExecutionSet) => {
    let children = 0;
    let fills = 0;
    for (const p of set.parents) {
      children += p.children.length;
      for (const c of p.children) fills += c.fills.length;
    }
    return { children, fills };
  };
  const a = count(input.recorded);
  const b = count(input.replayed);
  const pnl = diffOf(num(recorded.summary, 'pnl'), num(replayed.summary, 'pnl'));
  const notionalRec = num(recorded.summary, 'traded_notional');
  const diffPct =
    pnl.diff === null || notionalRec === null || notionalRec === 0
      ? null
      : round((Math.abs(pnl.diff) / notionalRec) * 100);
  const totals: ParityReport['totals'] = {
    parents: parents.length,
    child_orders: { recorded: a.children, replayed: b.children },
    fills: { recorded: a.fills, replayed: b.fills },
    mismatches,
    mismatching_orders: counts.mismatchingOrders + parents.filter((p) => !p.recorded || !p.replayed).length,
    mismatching_fills: counts.mismatchingFills,
    pnl: { ...pnl, diff_pct: diffPct },
    traded_notional: { recorded: notionalRec, replayed: num(replayed.summary, 'traded_notional') },
    implementation_shortfall_bps: diffOf(
      num(recorded.summary, 'implementation_shortfall_bps'),
      num(replayed.summary, 'implementation_shortfall_bps'),
    ),
    slippage_bps: diffOf(num(recorded.summary, 'slippage_bps'), num(replayed.summary, 'slippage_bps')),
  };
  const tol = checkTolerances(totals, input.tolerances);
  const live = input.mode === 'LIVE';
  const identical = mismatches === 0;
  const verdict: ParityReport['verdict'] = live
    ? tol.passed
      ? 'within_tolerance'
      : 'outside_tolerance'
    : identical
      ? 'identical'
      : 'mismatch';
  const report: ParityReport = {
    format_version: PARITY_FORMAT_VERSION,
    session_id: input.session_id,
    mode: input.mode,
    verdict,
    exit_code: verdict === 'identical' || verdict === 'within_tolerance' ? 0 : 1,
    totals,
    tolerances: { ...input.tolerances },
    tolerance_check: { applied: live, passed: tol.passed, breaches: tol.breaches },
    parents,
  };
  return { report, replayed, recorded };
}

function cell(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : String(x);
}

/** The summary table the replay prints. */
export function formatParityTable(r: ParityReport): string {
  const t = r.totals;
  const rows: Array<[string, string, string, string]> = [
    ['', 'recorded', 'replayed', 'difference'],
    ['parent orders', String(t.parents), String(t.parents), ''],
    [
      'child orders',
      String(t.child_orders.recorded),
      String(t.child_orders.replayed),
      `${t.mismatching_orders} mismatching`,
    ],
    ['fills', String(t.fills.recorded), String(t.fills.replayed), `${t.mismatching_fills} mismatching`],
    [
      'PnL',
      cell(t.pnl.recorded),
      cell(t.pnl.replayed),
      t.pnl.diff === null ? '—' : `${t.pnl.diff} (${cell(t.pnl.diff_pct)}%)`,
    ],
    [
      'impl. shortfall (bps)',
      cell(t.implementation_shortfall_bps.recorded),
      cell(t.implementation_shortfall_bps.replayed),
      cell(t.implementation_shortfall_bps.diff),
    ],
    [
      'slippage (bps)',
      cell(t.slippage_bps.recorded),
      cell(t.slippage_bps.replayed),
      cell(t.slippage_bps.diff),
    ],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = rows.map(line);
  out.push('');
  out.push(`mismatches: ${t.mismatches}`);
  if (r.tolerance_check.applied) {
    const tol = r.tolerances;
    out.push(
      `tolerances: PnL ≤ ${tol.pnl_pct}%, IS ≤ ${tol.implementation_shortfall_bps} bps, slippage ≤ ${tol.slippage_bps} bps`,
    );
    for (const b of r.tolerance_check.breaches) out.push(`  breach ${b.metric}: ${b.reason}`);
  }
  out.push(`verdict: ${r.verdict} (${r.mode}), exit ${r.exit_code}`);
  return out.join('\n');
}

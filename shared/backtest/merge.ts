/**
 * The merge: the run's manifest and one partial per window → the rows of SPEC's four Parquet files
 * and the summary (without `wall_seconds`, which the shell adds). Pure and deterministic: the same
 * manifest and partials give the same rows and summary, whatever order the partials arrive in
 * (they are keyed and sorted by window id) and however many times a window was retried.
 *
 * Position path: every fill of every window is applied in time order (ties: window index, then the
 * window's own order) to one netting position per instrument (shared/domain/position.ts), so the
 * merged positions are what the fills really produced, not the signals' targets. Marks: each
 * window's mid samples; between windows an instrument keeps its last mark.
 *
 * Money: one currency (the instruments' quote currency). `cash` = starting cash + realised PnL −
 * fees (the settled balance of a margin account; for spot it is the same equity), `exposure` =
 * Σ |position| × mark, `equity` = cash + Σ unrealised PnL. Inverse contracts' PnL (in the base
 * currency) is converted at the mark (unrealised) or fill price (realised).
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { applyFill, exposure, settlementFor, unrealizedPnl } from '../domain/position.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import type { ExecAlgorithm, Fill, Position, Side } from '../domain/types.ts';
import { addFillTerms, addOrderTerms, bpsOf, emptyTcaSums, type TcaSums } from '../tca/tca.ts';
import {
  type EquityPoint,
  MINUTES_PER_YEAR,
  maxDrawdown,
  NS_PER_MINUTE,
  resampleEquity,
  returnsOf,
  round,
  sharpeRatio,
} from './metrics.ts';
import type { Manifest, OrderRow, WindowPartial } from './model.ts';

export const BACKTEST_ACCOUNT = 'backtest';
/** Denials listed one by one in the summary (the rest are counted). */
export const MAX_LISTED_DENIALS = 200;

export interface OrderOut {
  order_id: string;
  parent_order_id: string | null;
  operation_id: string;
  instrument_key: string;
  venue: string;
  side: Side;
  order_type: string;
  quantity: number;
  price: number | null;
  status: string;
  ts_submitted: Nanos;
  ts_last: Nanos;
}

export interface FillOut {
  fill_id: string;
  order_id: string;
  instrument_key: string;
  venue: string;
  side: Side;
  quantity: number;
  price: number;
  fee: number;
  fee_currency: string;
  liquidity: string;
  ts_event: Nanos;
}

export interface PositionOut {
  ts_event: Nanos;
  instrument_key: string;
  quantity: number;
  avg_price: number | null;
  realized_pnl: number;
  unrealized_pnl: number;
}

export interface EquityOut {
  ts_event: Nanos;
  equity: number;
  cash: number;
  exposure: number;
}

export interface ResultTables {
  orders: OrderOut[];
  fills: FillOut[];
  positions: PositionOut[];
  equity: EquityOut[];
}

/** The summary as merged (JSON-safe); the shell appends `wall_seconds`. */
export type Summary = Record<string, unknown>;

export interface MergeResult {
  tables: ResultTables;
  summary: Summary;
}

/** The partials do not match the manifest (missing, extra or foreign windows). */
export class MergeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeInputError';
  }
}

function n(d: Dec | DecimalString): number {
  return Number(typeof d === 'string' ? d : fmt(d));
}

/** Execution statistics of a run: the TCA sums (shared/tca) plus the run's own counts. */
interface ExecStats extends TcaSums {
  windows: number;
  parents: number;
  children: number;
}

function emptyStats(): ExecStats {
  return { ...emptyTcaSums(), windows: 0, parents: 0, children: 0 };
}

function statsJson(s: ExecStats): Record<string, unknown> {
  return {
    windows: s.windows,
    orders: s.parents + s.children,
    child_orders: s.children,
    fills: s.fills,
    quantity: n(s.quantity),
    filled_quantity: n(s.filled),
    fill_ratio: s.quantity.gt(0) ? round(n(s.filled.div(s.quantity))) : null,
    traded_notional: round(n(s.notional)),
    fees: round(n(s.fees)),
    implementation_shortfall_bps: bpsOf(s.isCost, s.isBase),
    slippage_bps: bpsOf(s.slipCost, s.slipBase),
  };
}

function addWindowStats(s: ExecStats, p: WindowPartial): void {
  const parent = p.orders[0];
  if (parent === undefined) return;
  s.windows++;
  s.parents++;
  addOrderTerms(s, {
    side: parent.side,
    quantity: parent.quantity,
    filled_quantity: parent.filled_quantity,
    filled_notional: parent.filled_notional,
    fees: parent.fees,
    arrival_mid: p.arrival_mid,
  });
  const children = new Map<string, OrderRow>();
  for (const o of p.orders) {
    if (o.parent_order_id === null) continue;
    s.children++;
    children.set(o.order_id, o);
  }
  for (const f of p.fills) addFillTerms(s, f, children.get(f.order_id)?.mid_at_arrival ?? null);
}

type TimelineEvent =
  | { kind: 0; ts: Nanos; window: number; seq: number; instrument: string; mid: number }
  | { kind: 1; ts: Nanos; window: number; seq: number; fill: Fill }
  | { kind: 2; ts: Nanos; window: number; seq: number; instrument: string };

interface Book {
  position: Position | null;
  mark: Dec | null;
  /** Realised PnL converted to the quote currency. */
  realizedQuote: Dec;
  fees: Dec;
}

/** Check the partials against the manifest: exactly one per planned window, same run. */
export function checkPartials(
  manifest: Manifest,
  partials: ReadonlyMap<string, WindowPartial>,
): WindowPartial[] {
  const out: WindowPartial[] = [];
  const missing: string[] = [];
  for (const w of manifest.windows) {
    const p = partials.get(w.window_id);
    if (p === undefined) {
      missing.push(w.window_id);
      continue;
    }
    if (p.run_id !== manifest.run_id || p.window_id !== w.window_id || p.index !== w.index) {
      throw new MergeInputError(
        `partial ${w.window_id} belongs to run ${p.run_id} window ${p.window_id} (index ${p.index}), not run ${manifest.run_id} window ${w.window_id} (index ${w.index})`,
      );
    }
    out.push(p);
  }
  if (missing.length > 0) {
    throw new MergeInputError(
      `${missing.length} of ${manifest.windows.length} windows have no partial result: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`,
    );
  }
  return out;
}

/** Reads made for the run as a whole rather than by one window (e.g. footers read once up front). */
export interface RunIo {
  bytes_read: number;
  requests: number;
}

/** Merge a run. `partials` keyed by window id (a retried window is one entry). */
export function mergeRun(
  manifest: Manifest,
  partials: ReadonlyMap<string, WindowPartial>,
  runIo: RunIo = { bytes_read: 0, requests: 0 },
): MergeResult {
  const parts = checkPartials(manifest, partials);
  const settings = manifest.settings;
  const startingCash = toDec(settings.starting_cash);

  // --- orders and fills -----------------------------------------------------------------------
  const orders: OrderOut[] = [];
  const fills: FillOut[] = [];
  const byStatus: Record<string, number> = {};
  let parentCount = 0;
  for (const p of parts) {
    for (const o of p.orders) {
      if (o.parent_order_id === null) parentCount++;
      byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
      orders.push({
        order_id: o.order_id,
        parent_order_id: o.parent_order_id,
        operation_id: o.operation_id,
        instrument_key: o.instrument_key,
        venue: o.venue,
        side: o.side,
        order_type: o.order_type,
        quantity: n(o.quantity),
        price: o.price === null ? null : n(o.price),
        status: o.status,
        ts_submitted: BigInt(o.ts_submitted_ns),
        ts_last: BigInt(o.ts_last_ns),
      });
    }
  }

  // --- timeline: marks, fills, window ends ------------------------------------------------------
  const events: TimelineEvent[] = [];
  for (const p of parts) {
    let seq = 0;
    for (const m of p.marks) {
      events.push({
        kind: 0,
        ts: BigInt(m.ts_ns),
        window: p.index,
        seq: seq++,
        instrument: p.instrument_key,
        mid: m.mid,
      });
    }
    for (const f of p.fills) {
      events.push({
        kind: 1,
        ts: BigInt(f.ts_ns),
        window: p.index,
        seq: seq++,
        fill: {
          fill_id: f.fill_id,
          order_id: f.order_id,
          operation_id: f.order_id,
          instrument_key: f.instrument_key,
          venue: f.venue,
          side: f.side,
          quantity: f.quantity,
          price: f.price,
          fee: f.fee,
          fee_currency: f.fee_currency,
          liquidity: f.liquidity,
          ts_event: BigInt(f.ts_ns),
        },
      });
    }
    events.push({ kind: 2, ts: BigInt(p.end_ns), window: p.index, seq: seq++, instrument: p.instrument_key });
  }
  events.sort((a, b) =>
    a.ts !== b.ts
      ? a.ts < b.ts
        ? -1
        : 1
      : a.kind !== b.kind
        ? a.kind - b.kind
        : a.window - b.window || a.seq - b.seq,
  );

  const books = new Map<string, Book>();
  const bookOf = (key: string): Book => {
    let b = books.get(key);
    if (b === undefined) {
      b = { position: null, mark: null, realizedQuote: new Dec(0), fees: new Dec(0) };
      books.set(key, b);
    }
    return b;
  };
  const inverseByKey = new Map<string, boolean>();
  const inverse = (key: string): boolean => {
    let v = inverseByKey.get(key);
    if (v === undefined) {
      v = settlementFor(key) === 'INVERSE';
      inverseByKey.set(key, v);
    }
    return v;
  };
  const unrealizedQuote = (key: string, b: Book, markOverride?: Dec): Dec => {
    const mark = markOverride ?? b.mark;
    if (b.position === null || mark === null || toDec(b.position.quantity).isZero()) return new Dec(0);
    const u = toDec(unrealizedPnl(b.position, fmt(mark)));
    return inverse(key) ? u.times(mark) : u;
  };

  const positions: PositionOut[] = [];
  const equity: EquityOut[] = [];
  const points: EquityPoint[] = [];
  const positionRow = (ts: Nanos, key: string, b: Book, fallbackMark: Dec | null) => {
    const p = b.position;
    const mark = b.mark ?? fallbackMark;
    positions.push({
      ts_event: ts,
      instrument_key: key,
      quantity: p === null ? 0 : n(p.quantity),
      avg_price: p?.avg_entry_price == null ? null : n(p.avg_entry_price),
      realized_pnl: n(b.realizedQuote),
      unrealized_pnl: mark === null ? 0 : n(unrealizedQuote(key, b, mark)),
    });
  };
  const equityRow = (ts: Nanos) => {
    let cash = startingCash;
    let unreal = new Dec(0);
    let expo = new Dec(0);
    for (const [key, b] of books) {
      cash = cash.plus(b.realizedQuote).minus(b.fees);
      unreal = unreal.plus(unrealizedQuote(key, b));
      if (b.position !== null && b.mark !== null && !toDec(b.position.quantity).isZero()) {
        expo = expo.plus(exposure(b.position, fmt(b.mark)));
      }
    }
    const eq = cash.plus(unreal);
    const row = { ts_event: ts, equity: n(eq), cash: n(cash), exposure: n(expo) };
    const last = equity[equity.length - 1];
    if (last !== undefined && last.ts_event === ts) {
      equity[equity.length - 1] = row;
      points[points.length - 1] = { ts, equity: row.equity };
    } else {
      equity.push(row);
      points.push({ ts, equity: row.equity });
    }
  };

  let tradedNotional = new Dec(0);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 0) {
      bookOf(e.instrument).mark = toDec(e.mid);
    } else if (e.kind === 1) {
      const f = e.fill;
      const b = bookOf(f.instrument_key);
      const before = b.position === null ? new Dec(0) : toDec(b.position.realized_pnl);
      b.position = applyFill(b.position, f, BACKTEST_ACCOUNT);
      const realizedDelta = toDec(b.position.realized_pnl).minus(before);
      b.realizedQuote = b.realizedQuote.plus(
        inverse(f.instrument_key) ? realizedDelta.times(f.price) : realizedDelta,
      );
      b.fees = b.fees.plus(f.fee);
      tradedNotional = tradedNotional.plus(toDec(f.quantity).times(f.price));
      positionRow(f.ts_event, f.instrument_key, b, toDec(f.price));
      fills.push({
        fill_id: f.fill_id,
        order_id: f.order_id,
        instrument_key: f.instrument_key,
        venue: f.venue,
        side: f.side,
        quantity: n(f.quantity),
        price: n(f.price),
        fee: n(f.fee),
        fee_currency: f.fee_currency,
        liquidity: f.liquidity,
        ts_event: f.ts_event,
      });
    } else {
      positionRow(e.ts, e.instrument, bookOf(e.instrument), null);
    }
    const next = events[i + 1];
    if (next === undefined || next.ts !== e.ts) equityRow(e.ts);
  }

  // --- summary ----------------------------------------------------------------------------------
  const all = emptyStats();
  const perAlgo = new Map<ExecAlgorithm, ExecStats>();
  let withFills = 0;
  let withoutTicks = 0;
  let parentDenied = 0;
  let truncated = 0;
  const endReasons: Record<string, number> = {};
  const warnings: string[] = [];
  const denials: Array<Record<string, unknown>> = [];
  let denialCount = 0;
  let bytesRead = runIo.bytes_read;
  let requests = runIo.requests;
  let rowsRead = 0;
  let rowsInWindow = 0;
  let rowGroupBytes = 0;
  const fileSizes = new Map<string, number>();
  const windowResults: Array<Record<string, unknown>> = [];
  for (const p of parts) {
    const plan = manifest.windows[p.index];
    addWindowStats(all, p);
    let s = perAlgo.get(p.exec_algorithm);
    if (s === undefined) {
      s = emptyStats();
      perAlgo.set(p.exec_algorithm, s);
    }
    addWindowStats(s, p);
    if (p.fills.length > 0) withFills++;
    if (p.ticks.trades + p.ticks.quotes + p.ticks.book === 0) withoutTicks++;
    if (p.orders[0]?.status === 'DENIED') parentDenied++;
    if (plan?.truncated_by != null) truncated++;
    endReasons[p.end_reason] = (endReasons[p.end_reason] ?? 0) + 1;
    warnings.push(...p.warnings);
    for (const d of p.risk_denials) {
      denialCount++;
      if (denials.length < MAX_LISTED_DENIALS) {
        denials.push({ window_id: p.window_id, ...d, ts: nanosToIso(BigInt(d.ts_ns)) });
      }
    }
    bytesRead += p.io.bytes_read;
    requests += p.io.requests;
    for (const f of p.io.files) {
      fileSizes.set(f.key, f.bytes_total);
      rowsRead += f.rows_read;
      rowsInWindow += f.rows_in_window;
      rowGroupBytes += f.row_group_bytes;
    }
    const parent = p.orders[0];
    const filledQty = parent ? toDec(parent.filled_quantity) : new Dec(0);
    windowResults.push({
      window_id: p.window_id,
      strategy_id: p.strategy_id,
      instrument_key: p.instrument_key,
      exec_algorithm: p.exec_algorithm,
      signal_line: plan?.signal.line ?? null,
      start: nanosToIso(BigInt(p.start_ns)),
      end: nanosToIso(BigInt(p.end_ns)),
      side: parent?.side ?? null,
      quantity: parent ? n(parent.quantity) : null,
      filled_quantity: n(filledQty),
      avg_price: parent && filledQty.gt(0) ? round(n(toDec(parent.filled_notional).div(filledQty))) : null,
      arrival_mid: p.arrival_mid === null ? null : n(p.arrival_mid),
      status: parent?.status ?? null,
      end_reason: p.end_reason,
      child_orders: p.orders.length - 1,
      fills: p.fills.length,
      ticks: p.ticks,
    });
  }
  const bytesTotal = [...fileSizes.values()].reduce((a, b) => a + b, 0);

  const final = equity[equity.length - 1];
  const finalEquity = final === undefined ? n(startingCash) : final.equity;
  let realized = new Dec(0);
  let fees = new Dec(0);
  let unrealized = new Dec(0);
  for (const [key, b] of books) {
    realized = realized.plus(b.realizedQuote);
    fees = fees.plus(b.fees);
    unrealized = unrealized.plus(unrealizedQuote(key, b));
  }
  const pnl = realized.plus(unrealized).minus(fees);

  let sharpe: number | null = null;
  if (manifest.period !== null && points.length > 0) {
    const start = points[0]!.ts;
    const end = points[points.length - 1]!.ts;
    sharpe = sharpeRatio(returnsOf(resampleEquity(points, start, end, NS_PER_MINUTE)), MINUTES_PER_YEAR);
  }
  const dd = maxDrawdown(equity.map((r) => r.equity));

  const algoJson: Record<string, unknown> = {};
  for (const algo of [...perAlgo.keys()].sort()) algoJson[algo] = statsJson(perAlgo.get(algo)!);

  const summary: Summary = {
    run_id: manifest.run_id,
    status: 'completed',
    config: {
      ...settings,
      risk_limits: manifest.risk_limits,
      signals_sha256: manifest.signals.sha256,
    },
    period: manifest.period,
    signals: {
      total: manifest.signals.count,
      windows_opened: manifest.windows.length,
      unchanged_skipped: manifest.skipped.length,
      strategies: manifest.signals.strategies,
      instruments: manifest.signals.instruments,
    },
    windows: {
      total: parts.length,
      with_fills: withFills,
      without_ticks: withoutTicks,
      parent_denied: parentDenied,
      truncated,
      end_reasons: endReasons,
    },
    orders: orders.length,
    parent_orders: parentCount,
    child_orders: orders.length - parentCount,
    orders_by_status: Object.fromEntries(Object.entries(byStatus).sort(([a], [b]) => (a < b ? -1 : 1))),
    risk_denials: denialCount,
    fills: fills.length,
    traded_notional: round(n(tradedNotional)),
    starting_cash: n(startingCash),
    final_equity: round(finalEquity),
    pnl: round(n(pnl)),
    realized_pnl: round(n(realized)),
    unrealized_pnl: round(n(unrealized)),
    fees: round(n(fees)),
    return_pct: round((n(pnl) / n(startingCash)) * 100),
    sharpe: round(sharpe),
    max_drawdown: round(dd.fraction),
    max_drawdown_abs: round(dd.amount),
    turnover: round(n(tradedNotional.div(startingCash))),
    implementation_shortfall_bps: bpsOf(all.isCost, all.isBase),
    slippage_bps: bpsOf(all.slipCost, all.slipBase),
    fill_ratio: all.quantity.gt(0) ? round(n(all.filled.div(all.quantity))) : null,
    per_algorithm: algoJson,
    bytes_read: bytesRead,
    bytes_total: bytesTotal,
    io: {
      requests,
      run_level_bytes: runIo.bytes_read,
      files: fileSizes.size,
      rows_read: rowsRead,
      rows_in_windows: rowsInWindow,
      row_group_bytes: rowGroupBytes,
    },
    warnings,
    denials,
    window_results: windowResults,
  };
  return { tables: { orders, fills, positions, equity }, summary };
}

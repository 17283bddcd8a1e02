/**
 * The shell of a rebalance backtest (docs/rebalancing.md): read the weights series and the daily
 * bars, run the pure event-driven backtest (shared/rebalance/backtest.ts) and the vectorized
 * reference over the same inputs, and write the five SPEC result files to
 * `<out>/backtest_results/<run_id>/`, with the annualized return divergence in summary.json.
 */

import type { EquityOut, FillOut, OrderOut, PositionOut } from '../../shared/backtest/merge.ts';
import { maxDrawdown, returnsOf, round, sharpeRatio } from '../../shared/backtest/metrics.ts';
import type { BacktestSettings } from '../../shared/backtest/model.ts';
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import { indexInstruments } from '../../shared/domain/instrument.ts';
import { canonicalInstrumentId } from '../../shared/domain/instrument-id.ts';
import { nanosToIso } from '../../shared/domain/time.ts';
import type { TradingState } from '../../shared/domain/types.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { orderPaceNs, runRebalanceBacktest } from '../../shared/rebalance/backtest.ts';
import type { RebalanceDefaults } from '../../shared/rebalance/instructions.ts';
import { createTickExecutor } from '../../shared/rebalance/tick-execution.ts';
import { annualizedReturn, runVectorized } from '../../shared/rebalance/vectorized.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { writeResults } from '../backtest/results.ts';
import { loadInstrumentSpecs } from '../ticks/instruments.ts';
import { loadDailyCloses, loadWeightsSeries } from './daily-data.ts';
import { loadRebalanceTicks, type RebalanceTickData } from './tick-data.ts';

const NS_PER_YEAR = 365 * 86_400 * 1e9;

export interface RebalanceBacktestOptions {
  data: BlobStore;
  weights: BlobStore;
  /** Prefix (folder) or key of the weights file(s) inside `weights`. */
  weightsPrefix: string;
  out: BlobStore;
  runId: string;
  startingCash: string;
  slippageBps: number;
  defaults: RebalanceDefaults;
  limits: RiskLimits;
  tradingState: TradingState;
  flatNavSnapshots: number;
  maxDivergence: number | null;
  /**
   * Execute on tick data where it exists (`market-data-tick/...` in `data`): each order a window of the
   * execution algorithm and the matching engine with these settings (window length, latency, fill
   * model, seed); null = the daily-bar fill model everywhere.
   */
  ticks?: BacktestSettings | null | undefined;
  /** For the summary's `config`. */
  config: Record<string, unknown>;
  nowMs: () => number;
}

export interface RebalanceBacktestOutcome {
  summary: Record<string, unknown>;
  files: string[];
  /** False when the divergence is beyond `maxDivergence`. */
  withinGate: boolean;
}

export class RebalanceBacktestInputError extends Error {}

export async function runRebalanceBacktestJob(
  o: RebalanceBacktestOptions,
): Promise<RebalanceBacktestOutcome> {
  const t0 = o.nowMs();
  const series = await loadWeightsSeries(o.weights, o.weightsPrefix);
  if (series.entries.length === 0) {
    const why = series.invalid.map(
      (i) => `${i.source}: ${i.issues.map((x) => `${x.path}: ${x.message}`).join('; ')}`,
    );
    throw new RebalanceBacktestInputError(
      `no valid weights file under ${o.weightsPrefix}${why.length ? `\n${why.join('\n')}` : ''}`,
    );
  }
  const keys = new Set<string>();
  for (const e of series.entries) for (const k of Object.keys(e.file.weights)) keys.add(k);
  const asOfs = series.entries.map((e) => e.file.as_of_ns).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const firstDay = nanosToIso(asOfs[0] ?? 0n).slice(0, 10);
  const instruments = await loadInstrumentSpecs(o.data, firstDay);
  const index = indexInstruments(instruments.specs);
  const bars = await loadDailyCloses(o.data, [...keys]);
  if (bars.times.length < 2)
    throw new RebalanceBacktestInputError('fewer than two daily bars for the weighted instruments');
  const missingBars = [...keys].filter((k) => !bars.closes.has(k));

  // Tick data: read once per bar close at which a weights file applies, for every weighted instrument.
  let tickData: RebalanceTickData | null = null;
  const venueOfRun = 'BACKTEST';
  if (o.ticks) {
    const pace = orderPaceNs(o.limits.max_orders_per_second);
    const span = BigInt(o.ticks.window_minutes) * 60_000_000_000n + pace * BigInt(keys.size);
    const due: bigint[] = [];
    let next = 0;
    for (const t of bars.times) {
      let any = false;
      while (next < asOfs.length && (asOfs[next] as bigint) <= t) {
        next++;
        any = true;
      }
      if (any) due.push(t);
    }
    tickData = await loadRebalanceTicks(
      o.data,
      due.map((ts) => ({ ts, keys: [...keys].sort(), spanNs: span })),
    );
  }

  const tRun = o.nowMs();
  const result = runRebalanceBacktest({
    times: bars.times,
    closes: bars.closes,
    weights: series.entries,
    instrument: (k) => index.get(canonicalInstrumentId(k)),
    defaults: o.defaults,
    starting_cash: o.startingCash,
    slippage_bps: o.slippageBps,
    limits: o.limits,
    trading_state: o.tradingState,
    flat_nav_snapshots: o.flatNavSnapshots,
    venue: venueOfRun,
    execute:
      o.ticks && tickData
        ? createTickExecutor({
            ticksFor: tickData.ticksFor,
            settings: { ...o.ticks, trading_state: o.tradingState },
            limits: o.limits,
            venue: venueOfRun,
          })
        : undefined,
  });
  const slip = o.slippageBps / 10_000;
  const vec = runVectorized({
    closes: bars.closes,
    times: bars.times,
    rebalances: result.applied,
    costRate: (k) => slip + Number(index.get(k)?.taker_fee ?? 0),
    startingNav: Number(o.startingCash),
  });
  const simSeconds = (o.nowMs() - tRun) / 1000;

  const start = Number(o.startingCash);
  const navs = result.snapshots.map((s) => (s.nav === null ? Number.NaN : Number(s.nav)));
  const endNav = navs[navs.length - 1] ?? Number.NaN;
  const years =
    Number((bars.times[bars.times.length - 1] as bigint) - (bars.times[0] as bigint)) / NS_PER_YEAR;
  const annEvent = annualizedReturn(start, endNav, years);
  const annVec = annualizedReturn(start, vec.nav[vec.nav.length - 1] ?? Number.NaN, years);
  const divergence = annEvent === null || annVec === null ? null : Math.abs(annEvent - annVec);
  const withinGate = o.maxDivergence === null || (divergence !== null && divergence <= o.maxDivergence);

  // Tables in the SPEC shapes.
  // The rebalance's orders (parents), each followed by its algorithm's child orders (tick windows).
  const orders: OrderOut[] = result.orders.flatMap((r): OrderOut[] => [
    {
      order_id: r.order_id,
      parent_order_id: null,
      operation_id: r.operation_id,
      instrument_key: r.instrument_key,
      venue: r.venue,
      side: r.side,
      order_type: 'MARKET',
      quantity: Number(r.quantity),
      price: null,
      status: r.status,
      ts_submitted: r.ts_submitted,
      ts_last: r.ts_last,
    },
    ...r.children.map((c) => ({
      order_id: c.order_id,
      parent_order_id: r.order_id,
      operation_id: r.operation_id,
      instrument_key: r.instrument_key,
      venue: r.venue,
      side: r.side,
      order_type: c.order_type,
      quantity: Number(c.quantity),
      price: c.price === null ? null : Number(c.price),
      status: c.status,
      ts_submitted: c.ts_submitted,
      ts_last: c.ts_last,
    })),
  ]);
  const fills: FillOut[] = result.fills.map((f) => ({
    fill_id: f.fill_id,
    order_id: f.order_id,
    instrument_key: f.instrument_key,
    venue: f.venue,
    side: f.side,
    quantity: Number(f.quantity),
    price: Number(f.price),
    fee: Number(f.fee),
    fee_currency: f.fee_currency,
    liquidity: f.liquidity,
    ts_event: f.ts_event,
  }));
  const positions: PositionOut[] = [];
  for (const s of result.snapshots) {
    for (const [k, p] of Object.entries(s.positions)) {
      const avg = p.avg_price === null ? null : Number(p.avg_price);
      positions.push({
        ts_event: s.ts_event,
        instrument_key: k,
        quantity: Number(p.quantity),
        avg_price: avg,
        realized_pnl: Number(p.realized_pnl),
        unrealized_pnl:
          avg === null || p.price === null
            ? 0
            : Number(toDec(p.quantity).times(toDec(p.price).minus(p.avg_price ?? 0))),
      });
    }
  }
  const equity: EquityOut[] = result.snapshots.map((s) => ({
    ts_event: s.ts_event,
    equity: s.nav === null ? Number.NaN : Number(s.nav),
    cash: Number(s.cash),
    exposure: s.exposure === null ? Number.NaN : Number(s.exposure),
  }));

  let slipCost = 0;
  let base = 0;
  // Slippage against the rebalance's price (the close it planned at), for its children's fills too.
  const refOf = new Map(
    result.orders.flatMap((r) =>
      [r.order_id, ...r.children.map((c) => c.order_id)].map(
        (id) => [id, Number(r.reference_price)] as const,
      ),
    ),
  );
  for (const f of result.fills) {
    const ref = refOf.get(f.order_id) ?? Number(f.price);
    const q = Number(f.quantity);
    slipCost += (f.side === 'BUY' ? Number(f.price) - ref : ref - Number(f.price)) * q;
    base += ref * q;
  }
  const fees = Number(result.fees);
  const dd = maxDrawdown(navs);
  const applied = result.rebalances.filter((r) => r.status === 'APPLIED');
  const skipReasons: Record<string, number> = {};
  for (const r of applied)
    for (const s of r.skipped) skipReasons[s.reason] = (skipReasons[s.reason] ?? 0) + 1;
  const summary: Record<string, unknown> = {
    run_id: o.runId,
    kind: 'rebalance',
    config: o.config,
    period: {
      start: nanosToIso(bars.times[0] as bigint),
      end: nanosToIso(bars.times[bars.times.length - 1] as bigint),
    },
    signals: {
      weights_files: series.entries.length + series.invalid.length,
      applied: applied.length,
      superseded: result.rebalances.filter((r) => r.status === 'SUPERSEDED').length,
      not_reached: result.rebalances.filter((r) => r.status === 'NOT_REACHED').length,
      unplannable: result.rebalances.filter((r) => r.status === 'UNPLANNABLE').length,
      invalid: series.invalid,
    },
    windows: {
      total: result.orders.filter((r) => r.fill_model === 'ticks').length,
      fill_model: o.ticks ? 'ticks, daily_bar where there are none' : 'daily_bar',
      bars: bars.times.length,
    },
    execution: executionSummary(result.orders, tickData),
    orders: result.orders.length,
    parent_orders: result.orders.length,
    child_orders: result.orders.reduce((n, r) => n + r.children.length, 0),
    partially_filled: result.orders.filter((r) => r.status === 'EXPIRED').length,
    risk_denials: result.orders.filter((r) => r.status === 'DENIED').length,
    rejected: result.orders.filter((r) => r.status === 'REJECTED').length,
    fills: result.fills.length,
    pnl: round(endNav - start),
    fees: round(fees),
    sharpe: round(sharpeRatio(returnsOf(navs), 365)),
    max_drawdown: round(dd.fraction),
    max_drawdown_abs: round(dd.amount),
    turnover: round(Number(result.traded_notional) / start),
    implementation_shortfall_bps: round(base > 0 ? ((slipCost + fees) / base) * 10_000 : null),
    slippage_bps: round(base > 0 ? (slipCost / base) * 10_000 : null),
    skipped: skipReasons,
    nav_alerts: result.alerts.map((a) => ({ ...a, ts_event: nanosToIso(a.ts_event) })),
    instruments_without_bars: missingBars,
    final_holdings: result.final_holdings,
    final_nav: Number.isFinite(endNav) ? fmt(toDec(endNav)) : null,
    divergence: {
      event_driven_annualized_return: round(annEvent),
      vectorized_annualized_return: round(annVec),
      annualized_return_divergence: round(divergence),
      max_divergence: o.maxDivergence,
      within: withinGate,
      vectorized_turnover: round(vec.turnover),
      vectorized_costs: round(vec.costs),
      years: round(years),
    },
    bytes_read: bars.bytes_read + (tickData?.bytes_read ?? 0),
    bytes_total: bars.bytes_total + (tickData?.bytes_total ?? 0),
    simulation_seconds: round(simSeconds),
    wall_seconds: 0,
  };
  summary.wall_seconds = round((o.nowMs() - t0) / 1000);
  const files = await writeResults(o.out, o.runId, { orders, fills, positions, equity }, summary);
  return { summary, files, withinGate };
}

/**
 * Which orders ran on ticks and which fell back to daily bars, per instrument and UTC day (the
 * day of the bar close the rebalance applied at).
 */
function executionSummary(
  orders: ReadonlyArray<{ instrument_key: string; ts_submitted: bigint; fill_model: string | null }>,
  ticks: RebalanceTickData | null,
) {
  const count = (model: string) => {
    const m = new Map<string, { instrument_key: string; day: string; orders: number }>();
    for (const r of orders) {
      if (r.fill_model !== model) continue;
      const day = nanosToIso(r.ts_submitted).slice(0, 10);
      const id = `${r.instrument_key} ${day}`;
      const e = m.get(id) ?? { instrument_key: r.instrument_key, day, orders: 0 };
      e.orders++;
      m.set(id, e);
    }
    return [...m.values()].sort((a, b) =>
      a.day < b.day ? -1 : a.day > b.day ? 1 : a.instrument_key < b.instrument_key ? -1 : 1,
    );
  };
  return {
    tick_data: ticks !== null,
    on_ticks: count('ticks'),
    on_daily_bars: count('daily_bar'),
    tick_days_read: ticks?.days.length ?? 0,
  };
}

/**
 * Rebalance backtest benchmark (`npm run bench -- rebalance`): the generated 300-day, 20-asset daily
 * market with a weights file every day (docs/rebalancing.md), through the pure event-driven
 * backtest (planner + risk + daily-bar fills) and the vectorized reference, in memory (no Parquet,
 * no disk: the CLI adds reading and writing). Prints wall time per run, orders, and the annualized
 * return divergence. Figures only, never a pass/fail on timing.
 */
import { generateDailyMarket, sampleWeightsSeries } from '../../shared/data/daily.ts';
import { indexInstruments } from '../../shared/domain/instrument.ts';
import { runRebalanceBacktest } from '../../shared/rebalance/backtest.ts';
import { DEFAULT_REBALANCE, rebalanceIdOf } from '../../shared/rebalance/instructions.ts';
import { annualizedReturn, runVectorized } from '../../shared/rebalance/vectorized.ts';
import { parseWeightsFile } from '../../shared/rebalance/weights.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';

const ASSETS = 20;
const DAYS = 300;
const RUNS = 3;
const SLIPPAGE_BPS = 5;
const LIMITS: RiskLimits = {
  enabled: true,
  max_orders_per_second: 10,
  max_orders_per_minute: 100,
  max_notional_per_order: '1000000',
  max_total_notional: '10000000',
  max_position_global: null,
  price_tolerance_bps: 500,
  min_free_balance: '0',
  per_strategy: {},
  per_instrument: {},
};

const market = generateDailyMarket({ seed: 42, assets: ASSETS, days: DAYS, start: '2025-01-01' });
const index = indexInstruments(market.specs);
const weights = sampleWeightsSeries(market, { seed: 42, every: 1 }).map((w) => {
  const r = parseWeightsFile(w.document);
  if (!r.success) throw r.error;
  return { rebalance_id: rebalanceIdOf(JSON.stringify(w.document)), source: w.day, file: r.data };
});
const closes = new Map(market.bars.map((b) => [b.instrument_key, b.close]));
const years = Number((market.closes.at(-1) as bigint) - (market.closes[0] as bigint)) / (365 * 86_400e9);

const rows: string[][] = [];
for (let run = 1; run <= RUNS; run++) {
  const t0 = performance.now();
  const r = runRebalanceBacktest({
    times: market.closes,
    closes,
    weights,
    instrument: (k) => index.get(k),
    defaults: DEFAULT_REBALANCE,
    starting_cash: '100000',
    slippage_bps: SLIPPAGE_BPS,
    limits: LIMITS,
    trading_state: 'ACTIVE',
    flat_nav_snapshots: 3,
  });
  const t1 = performance.now();
  const vec = runVectorized({
    closes,
    times: market.closes,
    rebalances: r.applied,
    costRate: (k) => SLIPPAGE_BPS / 10_000 + Number(index.get(k)?.taker_fee ?? 0),
    startingNav: 100_000,
  });
  const t2 = performance.now();
  const ev = annualizedReturn(100_000, Number(r.snapshots.at(-1)?.nav), years) ?? Number.NaN;
  const vc = annualizedReturn(100_000, vec.nav.at(-1) ?? Number.NaN, years) ?? Number.NaN;
  rows.push([
    String(run),
    `${((t1 - t0) / 1000).toFixed(2)} s`,
    `${(t2 - t1).toFixed(1)} ms`,
    String(r.orders.length),
    `${((r.orders.length / (t1 - t0)) * 1000).toFixed(0)}`,
    `${(ev * 100).toFixed(4)}%`,
    `${(vc * 100).toFixed(4)}%`,
    `${(Math.abs(ev - vc) * 100).toFixed(4)}%`,
  ]);
}
const head = [
  'run',
  'event-driven',
  'vectorized',
  'orders',
  'orders/s',
  'ann. return',
  'vectorized',
  'divergence',
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
console.log(
  `rebalance backtest: ${ASSETS} assets × ${DAYS} days, weights every day, ${SLIPPAGE_BPS} bps slippage, 0.1% taker fee, 2% buffer`,
);
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log('timings on a shared machine are noisy; the divergence is deterministic');

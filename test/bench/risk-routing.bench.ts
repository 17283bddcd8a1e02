/**
 * Intake-path throughput of pre-trade risk + routing (a plain tsx script, not a vitest file):
 *
 *   npx tsx test/bench/risk-routing.bench.ts [orders]
 *
 * On one core, for N synthetic orders (default 200,000; seeded, generated before timing):
 *   1. snapshot: `evaluate` against a prepared context + `route` over 3 venues with 10-level books;
 *   2. ledger:   the full serialised cycle — `riskContextFromLedger` → `evaluate` →
 *                `applyReservation` → `route`, with orders released (`releaseReservation`) after a
 *                while so that ~200 are open at any time, as an in-process single writer would;
 *                two scenarios (see LEDGER_SCENARIOS): a busy desk (~600 approval times held) and
 *                a stress case (~12,000 held), because the ledger's cost grows with what it holds.
 * Throughput is measured over the whole loop; latency with `process.hrtime.bigint()` around each of
 * a 1-in-8 sample of orders. Target: ≥ 20,000 orders/s and p99 ≤ 1 ms for intake + risk + routing.
 */
import { pathToFileURL } from 'node:url';
import type { InstrumentSpec, OrderInstruction } from '../../shared/domain/types.ts';
import { evaluate } from '../../shared/risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  type RiskLedger,
  recentRetention,
  releaseReservation,
  riskContextFromLedger,
} from '../../shared/risk/ledger.ts';
import { compileRiskLimits, type RiskLimits } from '../../shared/risk/limits.ts';
import type { Reservation, RiskContext } from '../../shared/risk/types.ts';
import { DEFAULT_ROUTER_SETTINGS } from '../../shared/routing/config.ts';
import { route } from '../../shared/routing/router.ts';
import type { BookLevel, VenueCandidate } from '../../shared/routing/types.ts';
import { Mulberry32 } from '../../shared/sim/prng.ts';

const KEYS = [
  'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
  'BINANCE-SPOT:SPOT_PAIR:SOL-USDT',
];
const MIDS = [60_000, 3_000, 150];
const STRATEGIES = ['momentum', 'meanrev', 'basis', 'rebalance'];
const T0 = 1_751_328_000_000_000_000n;

function spec(key: string): InstrumentSpec {
  return {
    instrument_key: key,
    tick_size: '0.01',
    step_size: '0.001',
    min_qty: '0.001',
    max_qty: '10000',
    min_notional: '5',
    maker_fee: '0.0002',
    taker_fee: '0.0005',
  };
}
const SPECS = KEYS.map(spec);

/** Production-like limits, loose enough that most orders pass every check (the expensive path). */
const LIMITS: RiskLimits = {
  enabled: true,
  max_orders_per_second: 1_000,
  max_orders_per_minute: 15_000,
  max_notional_per_order: '1000000',
  max_total_notional: '1000000000',
  max_position_global: '1000000',
  price_tolerance_bps: 500,
  min_free_balance: '1000',
  per_strategy: {
    '*': { max_orders_per_second: 500, max_notional_per_order: '500000', max_position: '1000000' },
  },
  per_instrument: Object.fromEntries(
    KEYS.map((k) => [k, { max_position: '1000000', max_order_size: '5000' }]),
  ),
};

function book(mid: number, rng: Mulberry32, spread: number): { bids: BookLevel[]; asks: BookLevel[] } {
  const bids: BookLevel[] = [];
  const asks: BookLevel[] = [];
  for (let i = 0; i < 10; i++) {
    bids.push({ price: mid - spread / 2 - i * spread, size: 0.5 + rng.next() * 5 });
    asks.push({ price: mid + spread / 2 + i * spread, size: 0.5 + rng.next() * 5 });
  }
  return { bids, asks };
}

function candidates(rng: Mulberry32): VenueCandidate[][] {
  return MIDS.map((mid) => [
    {
      venue: 'BINANCE-SPOT',
      status: 'UP',
      maker_fee: 0.0002,
      taker_fee: 0.0005,
      depth: book(mid, rng, mid * 1e-5),
      latency_ms: 12,
      rejection_rate: 0.01,
    },
    {
      venue: 'OKX',
      status: 'UP',
      maker_fee: 0.0001,
      taker_fee: 0.0006,
      depth: book(mid * 1.00002, rng, mid * 2e-5),
      latency_ms: 25,
      rejection_rate: 0,
    },
    {
      venue: 'BYBIT',
      status: 'DEGRADED',
      maker_fee: 0.0001,
      taker_fee: 0.00055,
      depth: book(mid, rng, mid * 1.5e-5),
      latency_ms: 40,
      rejection_rate: 0.05,
    },
  ]);
}

function makeOrders(n: number, rng: Mulberry32): OrderInstruction[] {
  const out: OrderInstruction[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rng.next() * KEYS.length);
    const mid = MIDS[k] as number;
    const limit = rng.next() < 0.5;
    const buy = rng.next() < 0.5;
    const qty = (Math.floor(rng.next() * 2000) + 100) / 1000; // 0.1 .. 2.1
    const px = Math.round(mid * (1 + (buy ? -1 : 1) * rng.next() * 0.001) * 100) / 100;
    out.push({
      operation_id: `OP-${i}`,
      instrument_key: KEYS[k] as string,
      side: buy ? 'BUY' : 'SELL',
      quantity: String(qty),
      price: limit ? px.toFixed(2) : null,
      order_type: limit ? 'LIMIT' : 'MARKET',
      time_in_force: 'GTC',
      strategy_id: STRATEGIES[i % STRATEGIES.length] as string,
      exec_algorithm: 'NORMAL',
      exec_algorithm_params: {},
    });
  }
  return out;
}

export interface BenchResult {
  name: string;
  orders: number;
  approved: number;
  routed: number;
  orders_per_sec: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
}

function percentile(sorted: readonly bigint[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Number(sorted[Math.max(0, idx)] as bigint) / 1000;
}

function summarise(
  name: string,
  orders: number,
  approved: number,
  routed: number,
  wallNs: bigint,
  samples: bigint[],
): BenchResult {
  samples.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    name,
    orders,
    approved,
    routed,
    orders_per_sec: Math.round((orders * 1e9) / Number(wallNs)),
    p50_us: percentile(samples, 50),
    p99_us: percentile(samples, 99),
    max_us: percentile(samples, 100),
  };
}

const SAMPLE_EVERY = 8;

function benchSnapshot(orders: readonly OrderInstruction[], cands: VenueCandidate[][]): BenchResult {
  const limits = compileRiskLimits(LIMITS);
  const contexts: RiskContext[] = KEYS.map((_, k) => ({
    trading_state: 'ACTIVE',
    strategy_trading_state: 'ACTIVE',
    instrument: SPECS[k] as InstrumentSpec,
    reference_price: String(MIDS[k]),
    position: { instrument: '12.5', strategy: '3.25' },
    working: { instrument: { buy: '4', sell: '1.5' }, strategy: { buy: '1', sell: '0' } },
    exposure: { total: '2500000', instrument: String(16.5 * (MIDS[k] as number)) },
    free_balance: '50000000',
    reserved_balance: '125000',
    recent_orders: {
      // ascending, as the ledger keeps them
      global: Array.from({ length: 50 }, (_, i) => T0 - BigInt(50 - i) * 10_000_000n),
      strategy: Array.from({ length: 12 }, (_, i) => T0 - BigInt(12 - i) * 40_000_000n),
    },
  }));
  let approved = 0;
  let routed = 0;
  const samples: bigint[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < orders.length; i++) {
    const o = orders[i] as OrderInstruction;
    const k = KEYS.indexOf(o.instrument_key);
    const t0 = i % SAMPLE_EVERY === 0 ? process.hrtime.bigint() : 0n;
    const d = evaluate(o, contexts[k] as RiskContext, limits, T0 + BigInt(i) * 50_000n);
    if (d.approved) {
      approved++;
      if (route(o, cands[k] as VenueCandidate[], DEFAULT_ROUTER_SETTINGS).routed) routed++;
    }
    if (t0 !== 0n) samples.push(process.hrtime.bigint() - t0);
  }
  return summarise(
    'snapshot: evaluate + route',
    orders.length,
    approved,
    routed,
    process.hrtime.bigint() - start,
    samples,
  );
}

interface LedgerScenario {
  name: string;
  /** Simulated time between orders. */
  spacingNs: bigint;
  limits: RiskLimits;
}

function benchLedger(
  orders: readonly OrderInstruction[],
  cands: VenueCandidate[][],
  sc: LedgerScenario,
): BenchResult {
  const limits = compileRiskLimits(sc.limits);
  const retention = recentRetention(limits);
  let ledger: RiskLedger = emptyLedger();
  const openQueue: Reservation[] = [];
  const OPEN = 200;
  let approved = 0;
  let routed = 0;
  const samples: bigint[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < orders.length; i++) {
    const o = orders[i] as OrderInstruction;
    const k = KEYS.indexOf(o.instrument_key);
    const now = T0 + BigInt(i) * sc.spacingNs;
    const t0 = i % SAMPLE_EVERY === 0 ? process.hrtime.bigint() : 0n;
    const ctx = riskContextFromLedger(ledger, o, {
      trading_state: 'ACTIVE',
      strategy_trading_state: 'ACTIVE',
      instrument: SPECS[k] as InstrumentSpec,
      reference_price: String(MIDS[k]),
      free_balance: '50000000',
    });
    const d = evaluate(o, ctx, limits, now);
    if (d.approved) {
      ledger = applyReservation(ledger, d.reservation, { max_recent: retention });
      approved++;
      openQueue.push(d.reservation);
      if (route(o, cands[k] as VenueCandidate[], DEFAULT_ROUTER_SETTINGS).routed) routed++;
    }
    if (t0 !== 0n) samples.push(process.hrtime.bigint() - t0);
    if (openQueue.length > OPEN) {
      const r = openQueue.shift() as Reservation;
      ledger = releaseReservation(ledger, r, r.quantity); // filled in full
    }
  }
  return summarise(sc.name, orders.length, approved, routed, process.hrtime.bigint() - start, samples);
}

/**
 * Ledger scenarios. The ledger's per-approval cost grows with what it holds: the approval times of
 * the last minute (bounded by the largest velocity limit) and the open reservations (~200 here).
 * - busy desk: 10 approvals/s of simulated time, limits 50/s and 1,000/min → ~600 times held;
 * - stress:    200 approvals/s, limits 1,000/s and 15,000/min → ~12,000 times held.
 */
const LEDGER_SCENARIOS: LedgerScenario[] = [
  {
    name: 'ledger, busy desk (600 times held)',
    spacingNs: 100_000_000n,
    limits: { ...LIMITS, max_orders_per_second: 50, max_orders_per_minute: 1_000 },
  },
  { name: 'ledger, stress (12,000 times held)', spacingNs: 5_000_000n, limits: LIMITS },
];

/** Run every scenario and print a table; returns the figures. */
export function runRiskRoutingBench(n = 200_000): BenchResult[] {
  const rng = new Mulberry32(20250701);
  const cands = candidates(rng);
  const warm = makeOrders(20_000, rng);
  benchSnapshot(warm, cands); // JIT warm-up
  for (const sc of LEDGER_SCENARIOS) benchLedger(warm, cands, sc);
  const orders = makeOrders(n, rng);
  const results = [
    benchSnapshot(orders, cands),
    ...LEDGER_SCENARIOS.map((sc) => benchLedger(orders, cands, sc)),
  ];
  console.log(`risk + routing, ${n} orders, one core (Node ${process.version})`);
  console.table(
    results.map((r) => ({
      scenario: r.name,
      'orders/s': r.orders_per_sec,
      'p50 µs': r.p50_us,
      'p99 µs': r.p99_us,
      'max µs': r.max_us,
      approved: r.approved,
      routed: r.routed,
    })),
  );
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = process.argv[2] === undefined ? 200_000 : Number(process.argv[2]);
  runRiskRoutingBench(n);
}

/**
 * Matching-engine throughput (a plain tsx script, not a vitest file):
 *
 *   npx tsx test/bench/engine.bench.ts
 *
 * Generates a few million synthetic events in memory with a seeded generator, then measures events
 * per second through the columnar batch methods (the backtest hot path), in batches of 100,000 rows
 * (one Parquet row group):
 *   - L1 trades with no working order, and with resting orders on both sides that the market never
 *     reaches (every print still goes through the trigger checks);
 *   - L1 trades with a resting order that keeps getting filled and re-placed near the market;
 *   - L1 quotes with no working order and with resting orders;
 *   - L2 book rows (10 levels a side) with no working order and with resting orders.
 * Targets (per core): ≥ 10M L1 trade ticks/s, ≥ 3M L2 book events/s.
 */
import { pathToFileURL } from 'node:url';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import { MatchingEngine } from '../../shared/sim/matching-engine.ts';
import { Mulberry32 } from '../../shared/sim/prng.ts';
import type { BookColumns, QuoteColumns, TradeColumns } from '../../shared/sim/types.ts';

const SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
};
const EPOCH = 1_751_328_000_000_000_000n;
const BATCH = 100_000;

function gen(seed: number) {
  const rng = new Mulberry32(seed);
  let mid = 60_000;
  return {
    rng,
    step(): number {
      mid += (rng.next() < 0.5 ? -1 : 1) * 0.01 * Math.floor(rng.next() * 3);
      return Math.round(mid * 100) / 100;
    },
  };
}

function makeTrades(n: number, seed: number): TradeColumns {
  const g = gen(seed);
  const c: TradeColumns = {
    ts: new Float64Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
    side: new Int8Array(n),
  };
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(g.rng.next() * 2000);
    c.ts[i] = t;
    c.price[i] = g.step();
    c.size[i] = Math.round(g.rng.next() * 100_000) / 100_000 + 0.00001;
    c.side[i] = g.rng.next() < 0.5 ? 1 : -1;
  }
  return c;
}

function makeQuotes(n: number, seed: number): QuoteColumns {
  const g = gen(seed);
  const c: QuoteColumns = {
    ts: new Float64Array(n),
    bidPx: new Float64Array(n),
    bidSz: new Float64Array(n),
    askPx: new Float64Array(n),
    askSz: new Float64Array(n),
  };
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(g.rng.next() * 2000);
    const m = g.step();
    c.ts[i] = t;
    c.bidPx[i] = m;
    c.askPx[i] = Math.round((m + 0.01) * 100) / 100;
    c.bidSz[i] = Math.round(g.rng.next() * 500_000) / 100_000;
    c.askSz[i] = Math.round(g.rng.next() * 500_000) / 100_000;
  }
  return c;
}

/** L2 rows: each event rewrites one of 10 levels on one side around a random-walk mid. */
function makeBook(n: number, seed: number): BookColumns {
  const g = gen(seed);
  const c: BookColumns = {
    ts: new Float64Array(n),
    side: new Int8Array(n),
    level: new Int32Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
  };
  let t = 0;
  let m = 60_000;
  for (let i = 0; i < n; i++) {
    t += 1 + Math.floor(g.rng.next() * 1000);
    if (i % 20 === 0) m = g.step();
    const bid = g.rng.next() < 0.5;
    const level = Math.floor(g.rng.next() * 10);
    c.ts[i] = t;
    c.side[i] = bid ? 1 : -1;
    c.level[i] = level;
    c.price[i] = Math.round((bid ? m - 0.01 * level : m + 0.01 * (level + 1)) * 100) / 100;
    c.size[i] = Math.round(g.rng.next() * 500_000) / 100_000;
  }
  return c;
}

function engine(): MatchingEngine {
  return new MatchingEngine({ instrument: SPEC, epochNs: EPOCH });
}

/** Resting orders on both sides that the synthetic market never reaches. */
function addFarOrders(e: MatchingEngine): void {
  e.submitRelative(
    {
      order_id: 'FAR-B',
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '1',
      price: '30000',
      time_in_force: 'GTC',
    },
    0,
  );
  e.submitRelative(
    {
      order_id: 'FAR-S',
      side: 'SELL',
      order_type: 'LIMIT',
      quantity: '1',
      price: '90000',
      time_in_force: 'GTC',
    },
    0,
  );
  e.advanceToRelative(0);
  e.drainEvents();
}

function timeIt(n: number, run: () => void): number {
  const t0 = process.hrtime.bigint();
  run();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return n / dt;
}

function inBatches(n: number, f: (from: number, to: number) => void): void {
  for (let i = 0; i < n; i += BATCH) f(i, Math.min(n, i + BATCH));
}

export async function runEngineBench(
  sizes: { trades?: number; quotes?: number; book?: number } = {},
): Promise<Record<string, number>> {
  const nT = sizes.trades ?? 5_000_000;
  const nQ = sizes.quotes ?? 3_000_000;
  const nB = sizes.book ?? 3_000_000;
  const trades = makeTrades(nT, 1);
  const quotes = makeQuotes(nQ, 2);
  const book = makeBook(nB, 3);
  const out: Record<string, number> = {};

  // Warm-up: let the JIT see every path once.
  for (let k = 0; k < 3; k++) {
    const w = engine();
    addFarOrders(w);
    w.onTrades(trades, 0, Math.min(nT, 200_000));
    const w2 = engine();
    w2.onQuotes(quotes, 0, Math.min(nQ, 200_000));
    const w3 = engine();
    w3.onBookLevels(book, 0, Math.min(nB, 200_000));
  }

  {
    const e = engine();
    out.l1_trades_per_s_idle = timeIt(nT, () => inBatches(nT, (a, b) => e.onTrades(trades, a, b)));
  }
  {
    const e = engine();
    addFarOrders(e);
    out.l1_trades_per_s_resting = timeIt(nT, () => inBatches(nT, (a, b) => e.onTrades(trades, a, b)));
  }
  {
    // A resting BUY one tick under the last price, re-placed whenever it fills: many slow-path hits.
    const e = engine();
    let k = 0;
    let fills = 0;
    const place = (i: number) => {
      const px = (Math.round(trades.price[i]! * 100) - 1) / 100;
      e.submitRelative(
        {
          order_id: `N${k++}`,
          side: 'BUY',
          order_type: 'LIMIT',
          quantity: '0.01',
          price: px.toFixed(2),
          time_in_force: 'GTC',
        },
        trades.ts[i]!,
      );
    };
    place(0);
    out.l1_trades_per_s_active = timeIt(nT, () =>
      inBatches(nT, (a, b) => {
        for (let i = a; i < b; i += 1000) {
          const j = Math.min(b, i + 1000);
          e.onTrades(trades, i, j);
          if (e.workingOrderCount() === 0) {
            fills += e.drainEvents().filter((x) => x.type === 'filled').length;
            place(j - 1);
          }
        }
      }),
    );
    out.l1_trades_active_fills = fills;
  }
  {
    const e = engine();
    out.l1_quotes_per_s_idle = timeIt(nQ, () => inBatches(nQ, (a, b) => e.onQuotes(quotes, a, b)));
  }
  {
    const e = engine();
    addFarOrders(e);
    out.l1_quotes_per_s_resting = timeIt(nQ, () => inBatches(nQ, (a, b) => e.onQuotes(quotes, a, b)));
  }
  {
    const e = engine();
    out.l2_book_events_per_s_idle = timeIt(nB, () => inBatches(nB, (a, b) => e.onBookLevels(book, a, b)));
  }
  {
    const e = engine();
    addFarOrders(e);
    out.l2_book_events_per_s_resting = timeIt(nB, () => inBatches(nB, (a, b) => e.onBookLevels(book, a, b)));
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runEngineBench();
  for (const [k, v] of Object.entries(r)) {
    const shown = k.includes('per_s') ? `${(v / 1e6).toFixed(2)} M/s` : String(v);
    console.log(`${k.padEnd(32)} ${shown}`);
  }
}

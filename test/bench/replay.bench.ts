/**
 * Recording and replay benchmark (a plain tsx script, run by `npm run bench` as `replay`):
 *
 *   npx tsx test/bench/replay.bench.ts [--seconds 10] [--events 400000]
 *
 * 1. The recorder's cost on the edge at 1,000 market events/s (paced by the wall clock, periodic
 *    flush every second to a local folder): CPU time of the process with the recorder minus the
 *    same paced loop without it, as % of one core and µs per event; heap and RSS growth; bytes
 *    written per second. Half the events are 10-level book snapshots, half public trades, as the
 *    edge receives them.
 * 2. The recorder's ceiling: events/s accepted and flushed when fed as fast as possible.
 * 3. Replay speed: a recorded hour of quotes and trades with TWAP parents replayed by
 *    `npm run replay`'s runner (validation, the backtest shell, parity, result files): market
 *    events replayed per second, and the phase split.
 *
 * Figures depend on the machine and on what else runs on it (shared cores are noisy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { openRecording } from '../../infra/recording/reader.ts';
import { Recorder, type RecorderOptions } from '../../infra/recording/recorder.ts';
import { replayRecording } from '../../infra/recording/replay.ts';
import { runReplay } from '../../infra/recording/replay-run.ts';
import type { JournalInput, MarketEvent } from '../../shared/recording/format.ts';
import { DEFAULT_PARITY_TOLERANCES } from '../../shared/recording/parity.ts';
import { BTC, BTC_SPEC, MS, T0 } from '../support/recording.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const dirs: string[] = [];
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'replay-bench-'));
  dirs.push(d);
  return d;
}

function options(blobs: LocalBlobStore, over: Partial<RecorderOptions> = {}): RecorderOptions {
  return {
    blobs,
    session_id: 'bench',
    mode: 'SHADOW',
    venues: ['BINANCE-SPOT'],
    seed: 1,
    config: { venues: [{ id: 'BINANCE-SPOT', mode: 'SHADOW', latency_ms: 5 }] },
    instruments: [BTC_SPEC],
    starting_cash: '100000',
    ...over,
  };
}

/** The i-th event of an edge's public feed: a 10-level book snapshot or a trade. */
function edgeEvent(i: number, tsInit: bigint): MarketEvent {
  const mid = 60_000 + 20 * Math.sin(i / 500);
  const t = tsInit - MS;
  if (i % 2 === 0) {
    const bids: Array<readonly [number, number]> = [];
    const asks: Array<readonly [number, number]> = [];
    for (let l = 0; l < 10; l++) {
      bids.push([Math.round((mid - 0.5 - l) * 100) / 100, 1 + l]);
      asks.push([Math.round((mid + 0.5 + l) * 100) / 100, 1 + l]);
    }
    return { kind: 'book', instrument_key: BTC, ts_event: t, ts_init: tsInit, bids, asks };
  }
  return {
    kind: 'trade',
    instrument_key: BTC,
    ts_event: t,
    ts_init: tsInit,
    price: Math.round(mid * 100) / 100,
    size: 0.01,
    side: i % 4 === 1 ? 'BUY' : 'SELL',
    trade_id: `t${i}`,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Feed `rate` events/s for `seconds` (paced in 10 ms ticks); the sink gets each event. */
async function paced(seconds: number, rate: number, sink: (e: MarketEvent) => void) {
  const perTick = rate / 100;
  const start = performance.now();
  let i = 0;
  for (let tick = 0; tick < seconds * 100; tick++) {
    const now = BigInt(Date.now()) * MS;
    for (let k = 0; k < perTick; k++) sink(edgeEvent(i++, now));
    const due = start + (tick + 1) * 10;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return i;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function recorderCost(seconds: number) {
  const rate = 1_000;
  // Baseline: the same paced loop, events built and dropped.
  let sinkCount = 0;
  global.gc?.();
  let c0 = cpuMs();
  await paced(seconds, rate, () => {
    sinkCount++;
  });
  const baseCpu = cpuMs() - c0;

  const blobs = new LocalBlobStore(folder(), { durable: true });
  const rec = await Recorder.open(options(blobs, { flush_interval_ms: 1_000 }), BigInt(Date.now()) * MS);
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  let heapPeak = heap0;
  let rssPeak = rss0;
  c0 = cpuMs();
  const n = await paced(seconds, rate, (e) => {
    rec.marketEvent(e);
    if (sinkCount++ % 1000 === 0) {
      const m = process.memoryUsage();
      heapPeak = Math.max(heapPeak, m.heapUsed);
      rssPeak = Math.max(rssPeak, m.rss);
    }
  });
  await rec.flush();
  const recCpu = cpuMs() - c0;
  const stats = rec.stats();
  rec.abandon();
  const extra = recCpu - baseCpu;
  return {
    events: n,
    seconds,
    cpu_pct_of_core: (extra / (seconds * 1000)) * 100,
    us_per_event: (extra * 1000) / n,
    heap_growth_mb: (heapPeak - heap0) / 1e6,
    rss_growth_mb: (rssPeak - rss0) / 1e6,
    bytes_per_s: stats.bytes_written / seconds,
    parts: stats.parts_written,
    dropped: stats.dropped_market_events,
  };
}

async function recorderCeiling(events: number) {
  const blobs = new LocalBlobStore(folder(), { durable: true });
  const rec = await Recorder.open(options(blobs, { auto_flush: false }), T0);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    rec.marketEvent(edgeEvent(i, T0 + BigInt(i) * MS));
    if (i % 20_000 === 19_999) await rec.flush();
  }
  await rec.flush();
  const s = (performance.now() - t0) / 1000;
  return { events, seconds: s, events_per_s: events / s, dropped: rec.stats().dropped_market_events };
}

async function replaySpeed(events: number) {
  const root = folder();
  const blobs = new LocalBlobStore(root, { durable: false });
  const rec = await Recorder.open(options(blobs, { auto_flush: false, session_id: 'replay-bench' }), T0);
  const step = (3_600_000n * MS) / BigInt(events); // one hour of data
  const parents = 6;
  for (let i = 0; i < events; i++) {
    const t = T0 + BigInt(i) * step;
    const mid = 60_000 + 20 * Math.sin(i / 500);
    if (i % 3 === 0) {
      rec.marketEvent({
        kind: 'trade',
        instrument_key: BTC,
        ts_event: t,
        ts_init: t + MS,
        price: Math.round(mid * 100) / 100,
        size: 0.05,
        side: i % 2 ? 'BUY' : 'SELL',
        trade_id: `t${i}`,
      });
    } else {
      rec.marketEvent({
        kind: 'quote',
        instrument_key: BTC,
        ts_event: t,
        ts_init: t + MS,
        bid_px: Math.round((mid - 0.5) * 100) / 100,
        bid_sz: 2,
        ask_px: Math.round((mid + 0.5) * 100) / 100,
        ask_sz: 2,
      });
    }
    if (i % Math.floor(events / parents) === 1000) {
      const k = Math.floor(i / Math.floor(events / parents));
      const routed: JournalInput = {
        type: 'parent_routed',
        ts_init: t + 2n * MS,
        arrival_mid: String(Math.round(mid * 100) / 100),
        parent: {
          order_id: `ORD-${k}`,
          operation_id: `OP-${k}`,
          strategy_id: 's1',
          instrument_key: BTC,
          venue: 'BINANCE-SPOT',
          side: k % 2 ? 'SELL' : 'BUY',
          order_type: 'MARKET',
          quantity: '0.5',
          price: null,
          exec_algorithm: 'TWAP',
          exec_algorithm_params: { duration_sec: 300, max_slices: 10 },
        },
      };
      rec.record(routed);
    }
    if (i % 50_000 === 49_999) await rec.flush();
  }
  await rec.close(T0 + 3_600_000n * MS + MS);
  const t0 = performance.now();
  const opened = await openRecording(blobs);
  const t1 = performance.now();
  await replayRecording(opened);
  const t2 = performance.now();
  const out = new LocalBlobStore(folder(), { durable: false });
  const r = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
  const t3 = performance.now();
  return {
    events,
    parents,
    open_validate_s: (t1 - t0) / 1000,
    replay_s: (t2 - t1) / 1000,
    end_to_end_s: (t3 - t2) / 1000,
    ticks_per_s: events / ((t3 - t2) / 1000),
    child_orders: r.report.totals.child_orders.replayed,
    fills: r.report.totals.fills.replayed,
  };
}

async function main() {
  const seconds = arg('seconds', 10);
  const events = arg('events', 400_000);
  try {
    const cost = await recorderCost(seconds);
    console.log(`recorder on the edge, ${cost.events} events at 1,000/s for ${seconds} s (flush every 1 s):`);
    console.table({
      'CPU (% of one core)': cost.cpu_pct_of_core.toFixed(2),
      'CPU per event (µs)': cost.us_per_event.toFixed(1),
      'heap growth (MB)': cost.heap_growth_mb.toFixed(1),
      'RSS growth (MB)': cost.rss_growth_mb.toFixed(1),
      'written (KB/s)': (cost.bytes_per_s / 1024).toFixed(1),
      parts: cost.parts,
      dropped: cost.dropped,
    });
    const ceiling = await recorderCeiling(Math.min(events, 200_000));
    console.log('recorder ceiling (fed as fast as possible, flush every 20,000 events):');
    console.table({
      events: ceiling.events,
      'events/s': Math.round(ceiling.events_per_s),
      dropped: ceiling.dropped,
    });
    const speed = await replaySpeed(events);
    console.log(`replay of a recorded hour: ${events} market events, ${speed.parents} TWAP parents:`);
    console.table({
      'open + validate (s)': speed.open_validate_s.toFixed(2),
      'replay through the backtest shell (s)': speed.replay_s.toFixed(2),
      'npm run replay end to end (s)': speed.end_to_end_s.toFixed(2),
      'replay ticks/s (end to end)': Math.round(speed.ticks_per_s),
      'child orders': speed.child_orders,
      fills: speed.fills,
    });
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();

/**
 * Backtest benchmark (a plain tsx script; `runBacktestBench()` is exported for test/bench/run.ts):
 *
 *   npx tsx test/bench/backtest.bench.ts [--trades-per-day 2000000] [--keep DIR]
 *
 * 1. Generates a busy reference day with the generator (scripts/generate-data.ts): BTC-USDT spot,
 *    2M trades and 5M quotes, 29 sample signals. `--keep DIR` keeps it (and reuses it next time).
 * 2. End to end from Parquet, in one thread: ticks/s per core (rows of the windows replayed through
 *    risk, algorithms and the matching engine, I/O and merge included).
 * 3. Bytes read: the windows' reads vs the bytes of the row groups that overlap the windows (goal
 *    ≤ 1.02×; windows get their byte ranges from the manifest and read no footer), the planner's
 *    footer reads, and the I/O cut vs reading the whole days — on the busy day AND on a highly
 *    compressible day (where the footers weigh most). Next to it, what the same windows read when
 *    each opens its files itself (footer + row groups, as a window function did before planned
 *    reads).
 * 4. Speed-up with 2 worker threads vs 1 (worker start-up included).
 * 5. Peak RSS of one window worker (a separate process running one 5-minute window of the day).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { partialKey } from '../../infra/backtest/keys.ts';
import { readManifest } from '../../infra/backtest/plan-run.ts';
import { type LocalRunResult, runLocalBacktest } from '../../infra/backtest/runner.ts';
import { computeWindow, parsePartial } from '../../infra/backtest/window-task.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { FooterCache, openParquetBlob } from '../../infra/parquet/reader.ts';
import { loadWindow } from '../../infra/ticks/loader.ts';
import { writeTickDay } from '../../infra/ticks/writer.ts';
import { generateData, SAMPLE_SIGNALS_KEY } from '../../scripts/generate-data.ts';
import { DEFAULT_BACKTEST_SETTINGS, type WindowPartial } from '../../shared/backtest/model.ts';
import { dayStartNs, NS_PER_DAY } from '../../shared/data/tick-layout.ts';
import { argOf, BENCH_LIMITS, peakRssKb, printTable } from './support/backtest-bench.ts';

const exec = promisify(execFile);
const INSTRUMENT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const DAY = '2025-07-01';

export interface BacktestBenchOptions {
  tradesPerDay?: number | undefined;
  keepDir?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface BacktestBenchResult {
  day: { trades: number; quotes: number; bytes: number; signals: number; windows: number };
  inline: {
    cold_s: number;
    wall_s: number;
    window_ticks: number;
    ticks_per_s: number;
    cpu_s: number;
    ticks_per_cpu_s: number;
    cold_ticks_per_s: number;
    fills: number;
  };
  io: IoFigures;
  io_compressible: IoFigures & { day_bytes: number; trades: number; quotes: number };
  workers: {
    five_min: { one_s: number; two_s: number; speedup: number; ticks: number };
    thirty_min: { one_s: number; two_s: number; speedup: number; ticks: number };
    identical: boolean;
    /** Parallel CPU the machine offered during the bench (2 CPU-bound threads vs 1). */
    available_parallelism: number;
  };
  window_worker: {
    window_id: string;
    ticks: number;
    peak_rss_mb: number;
    baseline_rss_mb: number;
    ms: number;
  };
}

/** I/O of a run: the windows' reads vs their row groups, the planner's footers, the days' bytes. */
export interface IoFigures {
  windows: number;
  /** Bytes the windows fetched. */
  window_bytes_read: number;
  /** Bytes of the selected columns' chunks in the row groups that overlap the windows. */
  row_group_bytes: number;
  /** window_bytes_read / row_group_bytes (goal ≤ 1.02). */
  ratio: number;
  /** Footer bytes, read once by the planner. */
  planner_footer_bytes: number;
  /** Size of every tick file the run touched (reading whole days would fetch this). */
  bytes_total: number;
  /** 1 − (window + planner bytes) / bytes_total. */
  io_cut: number;
  /** What the same windows fetch when each opens its files (footer + row groups), summed. */
  self_opening_bytes: number;
  self_opening_cut: number;
}

async function ioFigures(data: string, parts: readonly WindowPartial[], summary: Record<string, unknown>) {
  const s = summary as { bytes_total: number; io: { run_level_bytes: number } };
  const windowBytes = parts.reduce((x, p) => x + p.io.bytes_read, 0);
  const groupBytes = parts.reduce((x, p) => x + p.io.files.reduce((y, f) => y + f.row_group_bytes, 0), 0);
  // Each window opening its own files, as a window function without planned reads does.
  const store = new LocalBlobStore(data, { durable: false });
  let selfOpening = 0;
  for (const p of parts) {
    const kinds = p.io.files.map((f) =>
      f.key.endsWith('book.parquet') ? 'book' : f.key.endsWith('quotes.parquet') ? 'quotes' : 'trades',
    ) as Array<'trades' | 'quotes' | 'book'>;
    const w = await loadWindow(store, {
      instrument_key: p.instrument_key,
      fromNs: BigInt(p.start_ns),
      toNs: BigInt(p.end_ns),
      kinds: [...new Set(kinds)],
    });
    selfOpening += w.bytes_read;
  }
  const total = windowBytes + s.io.run_level_bytes;
  return {
    windows: parts.length,
    window_bytes_read: windowBytes,
    row_group_bytes: groupBytes,
    ratio: windowBytes / groupBytes,
    planner_footer_bytes: s.io.run_level_bytes,
    bytes_total: s.bytes_total,
    io_cut: 1 - total / s.bytes_total,
    self_opening_bytes: selfOpening,
    self_opening_cut: 1 - selfOpening / s.bytes_total,
  } satisfies IoFigures;
}

function ioRows(label: string, io: IoFigures): Array<[string, string]> {
  return [
    [
      `${label}: windows read`,
      `${mb(io.window_bytes_read)} vs ${mb(io.row_group_bytes)} of overlapping row groups = ${io.ratio.toFixed(4)}× (goal ≤ 1.02×), no footer read by any of the ${io.windows} windows`,
    ],
    [
      `${label}: + planner footers`,
      `${mb(io.planner_footer_bytes)} once per file → ${mb(io.window_bytes_read + io.planner_footer_bytes)} of ${mb(io.bytes_total)} = I/O cut ${(100 * io.io_cut).toFixed(2)} % vs whole days`,
    ],
    [
      `${label}: self-opening windows`,
      `${mb(io.self_opening_bytes)} (each window reads its footers) = I/O cut ${(100 * io.self_opening_cut).toFixed(2)} %`,
    ],
  ];
}

/**
 * The busy day made highly compressible (prices on a 50-USD grid, unit sizes): same timestamps and
 * row groups, far fewer bytes per row group, the same footers — the shape where footers weigh most.
 */
async function writeCompressibleDay(
  from: LocalBlobStore,
  to: LocalBlobStore,
): Promise<{ trades: number; quotes: number }> {
  for (const key of [SAMPLE_SIGNALS_KEY, `instruments/${DAY}.json`]) {
    await to.put(key, await from.get(key));
  }
  const day = await loadWindow(from, {
    instrument_key: INSTRUMENT,
    fromNs: dayStartNs(DAY),
    toNs: dayStartNs(DAY) + NS_PER_DAY,
    kinds: ['trades', 'quotes'],
    tradeIds: true,
  });
  const t = day.trades;
  const q = day.quotes;
  if (!t || !q) throw new Error('busy day has no trades or quotes');
  const grid = (x: number) => Math.round(x / 50) * 50;
  const trades = { ...t, price: t.price.map(grid), size: t.size.map(() => 1) };
  const bid = q.bid_px.map((x) => Math.floor(x / 50) * 50);
  const quotes = {
    ts: q.ts,
    bid_px: bid,
    ask_px: bid.map((x) => x + 50),
    bid_sz: q.bid_sz.map(() => 1),
    ask_sz: q.ask_sz.map(() => 1),
  };
  await writeTickDay(to, INSTRUMENT, DAY, { trades, quotes });
  return { trades: t.ts.length, quotes: q.ts.length };
}

function mb(b: number): string {
  return `${(b / 1e6).toFixed(2)} MB`;
}

async function dirBytes(root: string, rel: string): Promise<number> {
  const st = await stat(path.join(root, rel)).catch(() => null);
  return st?.size ?? 0;
}

function run(
  data: string,
  out: string,
  signals: string,
  runId: string,
  workers: number,
  inline: boolean,
  windowMinutes = 5,
): Promise<LocalRunResult> {
  return runLocalBacktest({
    signals: { text: signals, source: 'sample.jsonl' },
    data: new LocalBlobStore(data, { durable: false }),
    dataLocation: data,
    results: new LocalBlobStore(out, { durable: false }),
    resultsLocation: out,
    runId,
    settings: { ...DEFAULT_BACKTEST_SETTINGS, window_minutes: windowMinutes },
    limits: BENCH_LIMITS,
    workers,
    inline,
  });
}

/**
 * How much parallel CPU the machine gives right now: two CPU-bound threads doing twice the work of
 * one, in units of "cores" (2.0 on an idle 2-core machine; ~1.0 when other processes take a core).
 * Printed next to the worker speed-up, which cannot exceed it.
 */
export async function availableParallelism(): Promise<number> {
  const code =
    "const { parentPort } = require('node:worker_threads'); let x = 0; for (let i = 0; i < 3e8; i++) x += i % 7; parentPort.postMessage(x);";
  const timed = async (n: number) => {
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.on('message', () => {
              void w.terminate();
              resolve();
            });
            w.on('error', reject);
          }),
      ),
    );
    return performance.now() - t0;
  };
  const one = await timed(1);
  const two = await timed(2);
  return (2 * one) / two;
}

/** Wall seconds of a run with 1 and with 2 worker threads, and whether their files are identical. */
async function workerSpeedup(data: string, outs: string, signals: string, windowMinutes: number) {
  const dir = (w: number) => path.join(outs, `w${w}-${windowMinutes}m`);
  let t0 = performance.now();
  await run(data, dir(1), signals, 'bench', 1, false, windowMinutes);
  const one_s = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const r2 = await run(data, dir(2), signals, 'bench', 2, false, windowMinutes);
  const two_s = (performance.now() - t0) / 1000;
  const ticks = (await partials(dir(2), r2)).reduce((s, p) => s + p.ticks.trades + p.ticks.quotes, 0);
  return {
    one_s,
    two_s,
    speedup: one_s / two_s,
    identical: await filesEqual(dir(1), dir(2), 'bench'),
    ticks,
  };
}

async function partials(out: string, r: LocalRunResult): Promise<WindowPartial[]> {
  if (r.status !== 'completed')
    throw new Error(`run ${r.run_id} failed: ${JSON.stringify(r.failure.errors.slice(0, 3))}`);
  return Promise.all(
    r.manifest.windows.map(async (w) => {
      const key = partialKey(r.run_id, w.window_id);
      return parsePartial(key, new Uint8Array(await readFile(path.join(out, key))));
    }),
  );
}

async function filesEqual(a: string, b: string, runId: string): Promise<boolean> {
  for (const f of ['orders.parquet', 'fills.parquet', 'positions.parquet', 'equity_curve.parquet']) {
    const [x, y] = await Promise.all([
      readFile(path.join(a, 'backtest_results', runId, f)),
      readFile(path.join(b, 'backtest_results', runId, f)),
    ]);
    if (!x.equals(y)) return false;
  }
  return true;
}

/** Child-process mode: run one window, print {max_rss_kb, ms} (the parent measures a worker's peak RSS). */
async function oneWindow(data: string, out: string, runId: string, windowId: string | null): Promise<void> {
  const results = new LocalBlobStore(out, { durable: false });
  const manifest = await readManifest(results, runId);
  if (manifest === null) throw new Error(`no manifest for ${runId}`);
  const baseline = await peakRssKb();
  if (windowId === null) {
    console.log(JSON.stringify({ max_rss_kb: baseline, baseline_kb: baseline, ms: 0 }));
    return;
  }
  const window = manifest.windows.find((w) => w.window_id === windowId);
  if (!window) throw new Error(`no window ${windowId}`);
  const t0 = performance.now();
  await computeWindow(
    { data: new LocalBlobStore(data, { durable: false }), cache: new FooterCache() },
    { run_id: runId, window, settings: manifest.settings, limits: manifest.risk_limits },
  );
  console.log(
    JSON.stringify({ max_rss_kb: await peakRssKb(), baseline_kb: baseline, ms: performance.now() - t0 }),
  );
}

export async function runBacktestBench(opts: BacktestBenchOptions = {}): Promise<BacktestBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const tradesPerDay = opts.tradesPerDay ?? 2_000_000;
  const root = opts.keepDir ?? (await mkdtemp(path.join(tmpdir(), 'bt-bench-')));
  const data = path.join(root, 'data');
  const outs = path.join(root, 'out');
  try {
    const blobs = new LocalBlobStore(data, { durable: false });
    let trades = 0;
    let quotes = 0;
    if ((await blobs.stat(SAMPLE_SIGNALS_KEY)) === null) {
      const t0 = performance.now();
      const g = await generateData(blobs, {
        start: DAY,
        days: 1,
        seed: 42,
        tradesPerDay,
        instruments: [INSTRUMENT],
        signalsPerDay: 29,
      });
      trades = g.trades;
      quotes = g.quotes;
      log(`generated the busy day in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const dayBytes =
      (await dirBytes(data, `market-data-tick/BINANCE-SPOT/${DAY}/BTC-USDT/trades.parquet`)) +
      (await dirBytes(data, `market-data-tick/BINANCE-SPOT/${DAY}/BTC-USDT/quotes.parquet`));
    const signals = new TextDecoder().decode(await blobs.get(SAMPLE_SIGNALS_KEY));

    // 2. end to end, one thread: a cold run (first in this process: module loading, JIT), then warm
    const outInline = path.join(outs, 'inline');
    let t0 = performance.now();
    await run(data, outInline, signals, 'bench', 1, true);
    const coldS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const inline = await run(data, outInline, signals, 'bench', 1, true);
    const inlineS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // CPU seconds of the process (GC threads included): steadier than wall time on a shared machine.
    const inlineCpuS = (cpu.user + cpu.system) / 1e6;
    const parts = await partials(outInline, inline);
    const windowTicks = parts.reduce((s, p) => s + p.ticks.trades + p.ticks.quotes + p.ticks.book, 0);
    if (inline.status !== 'completed') throw new Error('inline run failed');
    const s = inline.summary as {
      fills: number;
      bytes_read: number;
      bytes_total: number;
      io: { row_group_bytes: number; rows_read: number; rows_in_windows: number };
    };
    if (trades === 0) {
      // Reused data: the day's row counts from the footers.
      const rowsOf = async (kind: 'trades' | 'quotes') =>
        Number(
          (await openParquetBlob(blobs, `market-data-tick/BINANCE-SPOT/${DAY}/BTC-USDT/${kind}.parquet`))
            .metadata.num_rows,
        );
      trades = await rowsOf('trades');
      quotes = await rowsOf('quotes');
    }
    const io = await ioFigures(data, parts, inline.summary);

    // 3b. the same windows on a highly compressible day
    const flat = path.join(root, 'data-flat');
    const flatBlobs = new LocalBlobStore(flat, { durable: false });
    if ((await flatBlobs.stat(SAMPLE_SIGNALS_KEY)) === null) await writeCompressibleDay(blobs, flatBlobs);
    const flatDayBytes =
      (await dirBytes(flat, `market-data-tick/BINANCE-SPOT/${DAY}/BTC-USDT/trades.parquet`)) +
      (await dirBytes(flat, `market-data-tick/BINANCE-SPOT/${DAY}/BTC-USDT/quotes.parquet`));
    const outFlat = path.join(outs, 'flat');
    const flatRun = await run(flat, outFlat, signals, 'bench', 1, true);
    const ioFlat = {
      ...(await ioFigures(
        flat,
        await partials(outFlat, flatRun),
        flatRun.status === 'completed' ? flatRun.summary : {},
      )),
      day_bytes: flatDayBytes,
      trades,
      quotes,
    };

    // 4. workers 1 vs 2: the reference windows (5 min), and 30-minute windows (6× the work per window)
    const w5 = await workerSpeedup(data, outs, signals, 5);
    const w30 = await workerSpeedup(data, outs, signals, 30);
    const parallel = await availableParallelism();
    const identical =
      w5.identical && w30.identical && (await filesEqual(outInline, path.join(outs, 'w1-5m'), 'bench'));

    // 5. one window worker's peak RSS (a separate process), on the busiest window
    const busiest = parts.reduce((a, b) =>
      b.ticks.trades + b.ticks.quotes > a.ticks.trades + a.ticks.quotes ? b : a,
    );
    const self = pathToFileURL(import.meta.filename).pathname;
    const child = async (windowId: string | null) => {
      const args = ['--import', 'tsx', self, '--one-window', data, outInline, 'bench', windowId ?? '-'];
      const { stdout } = await exec(process.execPath, args, { maxBuffer: 1 << 20 });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
        max_rss_kb: number;
        baseline_kb: number;
        ms: number;
      };
    };
    const idle = await child(null);
    const one = await child(busiest.window_id);
    const manifest = await readManifest(new LocalBlobStore(outInline, { durable: false }), 'bench');

    const result: BacktestBenchResult = {
      day: { trades, quotes, bytes: dayBytes, signals: manifest?.signals.count ?? 0, windows: parts.length },
      inline: {
        cold_s: coldS,
        wall_s: inlineS,
        window_ticks: windowTicks,
        ticks_per_s: windowTicks / inlineS,
        cpu_s: inlineCpuS,
        ticks_per_cpu_s: windowTicks / inlineCpuS,
        cold_ticks_per_s: windowTicks / coldS,
        fills: s.fills,
      },
      io,
      io_compressible: ioFlat,
      workers: {
        five_min: { one_s: w5.one_s, two_s: w5.two_s, speedup: w5.speedup, ticks: w5.ticks },
        thirty_min: { one_s: w30.one_s, two_s: w30.two_s, speedup: w30.speedup, ticks: w30.ticks },
        identical,
        available_parallelism: parallel,
      },
      window_worker: {
        window_id: busiest.window_id,
        ticks: busiest.ticks.trades + busiest.ticks.quotes,
        peak_rss_mb: one.max_rss_kb / 1024,
        baseline_rss_mb: idle.max_rss_kb / 1024,
        ms: one.ms,
      },
    };
    const rows: Array<[string, string]> = [
      [
        'reference day',
        `${trades.toLocaleString('en')} trades, ${quotes.toLocaleString('en')} quotes, ${mb(dayBytes)}; ${result.day.signals} signals → ${result.day.windows} windows`,
      ],
      [
        'end to end, 1 thread',
        `${result.inline.window_ticks.toLocaleString('en')} window ticks in ${inlineS.toFixed(2)} s = ${Math.round(result.inline.ticks_per_s).toLocaleString('en')} ticks/s per core warm (${inlineCpuS.toFixed(2)} CPU-s = ${Math.round(result.inline.ticks_per_cpu_s).toLocaleString('en')} ticks per CPU-second); cold (first run in the process) ${coldS.toFixed(2)} s = ${Math.round(result.inline.cold_ticks_per_s).toLocaleString('en')} ticks/s (${result.inline.fills} fills)`,
      ],
      ...ioRows('busy day', io),
      ['compressible day', `same timestamps, prices on a 50-USD grid, unit sizes: ${mb(ioFlat.day_bytes)}`],
      ...ioRows('compressible day', ioFlat),
      [
        'workers 1 → 2, 5-min windows',
        `${w5.one_s.toFixed(2)} s → ${w5.two_s.toFixed(2)} s = ${w5.speedup.toFixed(2)}× (${w5.ticks.toLocaleString('en')} ticks; outputs identical: ${identical})`,
      ],
      [
        'workers 1 → 2, 30-min windows',
        `${w30.one_s.toFixed(2)} s → ${w30.two_s.toFixed(2)} s = ${w30.speedup.toFixed(2)}× (${w30.ticks.toLocaleString('en')} ticks)`,
      ],
      [
        'parallel CPU available',
        `${parallel.toFixed(2)}× (2 CPU-bound threads vs 1, measured now: the ceiling for the speed-ups)`,
      ],
      [
        'one window worker, peak RSS',
        `${result.window_worker.peak_rss_mb.toFixed(0)} MB on ${busiest.window_id} (${result.window_worker.ticks.toLocaleString('en')} ticks, ${one.ms.toFixed(0)} ms); idle process ${result.window_worker.baseline_rss_mb.toFixed(0)} MB`,
      ],
    ];
    printTable(log, 'backtest bench', rows);
    return result;
  } finally {
    if (!opts.keepDir) await rm(root, { recursive: true, force: true });
    else await rm(outs, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => argOf(args, name);
  const one = args.indexOf('--one-window');
  const main =
    one >= 0
      ? () =>
          oneWindow(
            args[one + 1] ?? '',
            args[one + 2] ?? '',
            args[one + 3] ?? '',
            args[one + 4] === '-' ? null : (args[one + 4] ?? null),
          )
      : async () => {
          const tpd = arg('--trades-per-day');
          await runBacktestBench({ tradesPerDay: tpd ? Number(tpd) : undefined, keepDir: arg('--keep') });
        };
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

/**
 * Backtest at scale (a plain tsx script; `runScaleBench()` is exported for test/bench/run.ts):
 *
 *   npx tsx test/bench/scale.bench.ts [--days 30] [--trades-per-day 20000] [--signals 29]
 *                                     [--workers 1,2] [--keep DIR]
 *                                     [--profile binance-btcusdt] [--instruments KEY,...]
 *
 * Generates `--days` days of the three default instruments (BTC-USDT and ETH-USDT spot, the BTC-USDT
 * perpetual) at `--trades-per-day` trades (2.5 quotes a trade) per instrument, with `--signals`
 * signals PER INSTRUMENT per day (5-minute windows), and runs the whole backtest locally with each
 * worker count. Prints: wall time, CPU seconds and ticks/s per CPU-second, peak RSS of the process
 * (the workers are threads of it) and of one window worker process, the windows' bytes vs the bytes
 * of their row groups, the planner's footer bytes and the I/O cut vs whole days, and the manifest's
 * size and its read + validation time (what every window function pays once per invocation).
 *
 * The default size (30 days × 3 instruments × 20,000 trades a day) runs in minutes on a 2-core
 * machine. `--profile binance-btcusdt` generates exchange-sized days instead (1.5 M trades and
 * 22.5 M quotes per BTC spot day, streamed to the files one row group at a time) and prints the
 * generation's time, rows, bytes and peak RSS too; e.g. `--profile binance-btcusdt --days 1
 * --instruments BINANCE-SPOT:SPOT_PAIR:BTC-USDT` is one real-volume instrument-day (~0.5 GB).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readManifest } from '../../infra/backtest/plan-run.ts';
import { runLocalBacktest } from '../../infra/backtest/runner.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { generateData, SAMPLE_SIGNALS_KEY } from '../../scripts/generate-data.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../shared/backtest/model.ts';
import { syntheticProfile } from '../../shared/data/profiles.ts';
import { sampleSignals } from '../../shared/data/synthetic.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { argOf, BENCH_LIMITS, peakRssKb, printTable } from './support/backtest-bench.ts';

const START = '2025-07-01';
const LIMITS: RiskLimits = { ...BENCH_LIMITS, max_total_notional: '100000000' };

export interface ScaleBenchOptions {
  days?: number | undefined;
  tradesPerDay?: number | undefined;
  signalsPerInstrumentDay?: number | undefined;
  workers?: readonly number[] | undefined;
  keepDir?: string | undefined;
  /** Synthetic profile (default `default`); `binance-btcusdt` streams exchange-sized days. */
  profile?: string | undefined;
  /** Subset of the profile's instruments (default all). */
  instruments?: readonly string[] | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface GenerationFigures {
  wall_s: number;
  cpu_s: number;
  rows: number;
  bytes: number;
  /** Process peak RSS right after generating (before any backtest ran). */
  peak_rss_mb: number;
  /** Largest row group handed to the writer (streamed profiles). */
  max_row_group_rows: number;
}

export interface ScaleRun {
  workers: number;
  wall_s: number;
  cpu_s: number;
  ticks: number;
  ticks_per_cpu_s: number;
  peak_rss_mb: number;
}

export interface ScaleBenchResult {
  days: number;
  instruments: number;
  trades: number;
  quotes: number;
  data_bytes: number;
  generation: GenerationFigures | null;
  signals: number;
  windows: number;
  runs: ScaleRun[];
  io: {
    window_bytes_read: number;
    row_group_bytes: number;
    ratio: number;
    planner_footer_bytes: number;
    bytes_total: number;
    io_cut: number;
  };
  manifest: { bytes: number; read_ms: number };
}

async function peakRssMb(): Promise<number> {
  return (await peakRssKb()) / 1024;
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const int = (n: number) => Math.round(n).toLocaleString('en');

export async function runScaleBench(opts: ScaleBenchOptions = {}): Promise<ScaleBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const days = opts.days ?? 30;
  const profile = syntheticProfile(opts.profile ?? 'default');
  // The default profile runs smaller days than its own default; other profiles keep theirs.
  const tradesPerDay = opts.tradesPerDay ?? (profile.name === 'default' ? 20_000 : undefined);
  const wanted = opts.instruments && opts.instruments.length > 0 ? new Set(opts.instruments) : null;
  const instruments = profile.instruments.filter((i) => !wanted || wanted.has(i.spec.instrument_key));
  const perInstrument = opts.signalsPerInstrumentDay ?? 29;
  const root = opts.keepDir ?? (await mkdtemp(path.join(tmpdir(), 'bt-scale-')));
  const data = path.join(root, 'data');
  const blobs = new LocalBlobStore(data, { durable: false });
  try {
    let trades = 0;
    let quotes = 0;
    let dataBytes = 0;
    let generation: GenerationFigures | null = null;
    if ((await blobs.stat(SAMPLE_SIGNALS_KEY)) === null) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const g = await generateData(blobs, {
        start: START,
        days,
        seed: 7,
        profile: profile.name,
        instruments: instruments.map((i) => i.spec.instrument_key),
        tradesPerDay,
        signalsPerDay: 0,
        onProgress: (done, total, label) => {
          if (done % 15 === 0 || done === total)
            log(`  generated ${done}/${total} instrument-days (${label})`);
        },
      });
      trades = g.trades;
      quotes = g.quotes;
      dataBytes = g.files.reduce((s, f) => s + f.bytes, 0);
      const cpu = process.cpuUsage(c0);
      generation = {
        wall_s: (performance.now() - t0) / 1000,
        cpu_s: (cpu.user + cpu.system) / 1e6,
        rows: g.trades + g.quotes + g.bookRows,
        bytes: dataBytes,
        peak_rss_mb: await peakRssMb(),
        max_row_group_rows: g.maxRowGroupRows,
      };
      // Exactly `perInstrument` signals per instrument per day (sampleSignals' count is per day).
      const dayList = g.days;
      const signals = instruments
        .flatMap((inst, i) =>
          sampleSignals({ seed: 100 + i, days: dayList, instruments: [inst], perDay: perInstrument }),
        )
        .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      await blobs.put(SAMPLE_SIGNALS_KEY, `${signals.map((s) => JSON.stringify(s)).join('\n')}\n`);
      log(`generated ${days} days × ${instruments.length} instruments in ${generation.wall_s.toFixed(0)} s`);
    } else {
      for (const b of await blobs.list('market-data-tick/')) dataBytes += b.size;
    }
    const signalsText = new TextDecoder().decode(await blobs.get(SAMPLE_SIGNALS_KEY));
    const runs: ScaleRun[] = [];
    let io: ScaleBenchResult['io'] | null = null;
    let windows = 0;
    let manifest: ScaleBenchResult['manifest'] = { bytes: 0, read_ms: 0 };
    for (const workers of opts.workers ?? [1, 2]) {
      const out = path.join(root, `out-w${workers}`);
      const results = new LocalBlobStore(out, { durable: false });
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await runLocalBacktest({
        signals: { text: signalsText, source: 'scale.jsonl' },
        data: blobs,
        dataLocation: data,
        results,
        resultsLocation: out,
        runId: 'scale',
        settings: { ...DEFAULT_BACKTEST_SETTINGS, window_minutes: 5 },
        limits: LIMITS,
        workers,
      });
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      if (r.status !== 'completed')
        throw new Error(`run failed: ${JSON.stringify(r.failure.errors.slice(0, 3))}`);
      const s = r.summary as {
        bytes_read: number;
        bytes_total: number;
        io: { run_level_bytes: number; row_group_bytes: number; rows_in_windows: number };
      };
      const ticks = s.io.rows_in_windows;
      const cpu = (c.user + c.system) / 1e6;
      runs.push({
        workers,
        wall_s: wall,
        cpu_s: cpu,
        ticks,
        ticks_per_cpu_s: ticks / cpu,
        peak_rss_mb: await peakRssMb(),
      });
      windows = r.manifest.windows.length;
      const windowBytes = s.bytes_read - s.io.run_level_bytes;
      io = {
        window_bytes_read: windowBytes,
        row_group_bytes: s.io.row_group_bytes,
        ratio: windowBytes / s.io.row_group_bytes,
        planner_footer_bytes: s.io.run_level_bytes,
        bytes_total: s.bytes_total,
        io_cut: 1 - s.bytes_read / s.bytes_total,
      };
      const m0 = performance.now();
      await readManifest(results, 'scale');
      manifest = {
        bytes: (await results.stat('backtest_results/scale/_manifest.json'))?.size ?? 0,
        read_ms: performance.now() - m0,
      };
    }
    if (trades === 0) {
      // Reused data: count rows from the window stats only.
      trades = Number.NaN;
      quotes = Number.NaN;
    }
    const result: ScaleBenchResult = {
      days,
      instruments: instruments.length,
      trades,
      quotes,
      data_bytes: dataBytes,
      generation,
      signals: signalsText.split('\n').filter(Boolean).length,
      windows,
      runs,
      io: io ?? {
        window_bytes_read: 0,
        row_group_bytes: 0,
        ratio: 0,
        planner_footer_bytes: 0,
        bytes_total: 0,
        io_cut: 0,
      },
      manifest,
    };
    const rows: Array<[string, string]> = [
      [
        'data',
        `${days} days × ${result.instruments} instruments (profile ${profile.name}), ${Number.isNaN(trades) ? '(reused)' : `${int(trades)} trades + ${int(quotes)} quotes`}, ${mb(dataBytes)} of Parquet`,
      ],
      ...(generation
        ? [
            [
              'generate',
              `${generation.wall_s.toFixed(1)} s wall, ${generation.cpu_s.toFixed(1)} s CPU = ${int(generation.rows / generation.cpu_s)} rows per CPU-second, ${int(generation.bytes / generation.cpu_s / 1e6)} MB per CPU-second; peak RSS ${generation.peak_rss_mb.toFixed(0)} MB${generation.max_row_group_rows > 0 ? `, largest row group ${int(generation.max_row_group_rows)} rows` : ''}`,
            ] as [string, string],
          ]
        : []),
      [
        'signals → windows',
        `${result.signals} signals (${perInstrument} per instrument per day) → ${windows} 5-minute windows`,
      ],
      ...runs.map((x): [string, string] => [
        `workers ${x.workers}`,
        `${x.wall_s.toFixed(1)} s wall, ${x.cpu_s.toFixed(1)} s CPU; ${int(x.ticks)} window ticks = ${int(x.ticks / x.wall_s)} ticks/s wall, ${int(x.ticks_per_cpu_s)} ticks per CPU-second; process peak RSS ${x.peak_rss_mb.toFixed(0)} MB`,
      ]),
      [
        'windows read',
        `${mb(result.io.window_bytes_read)} vs ${mb(result.io.row_group_bytes)} of overlapping row groups = ${result.io.ratio.toFixed(4)}×`,
      ],
      [
        'planner footers',
        `${mb(result.io.planner_footer_bytes)}, once per file; total ${mb(result.io.window_bytes_read + result.io.planner_footer_bytes)} of ${mb(result.io.bytes_total)} = I/O cut ${(100 * result.io.io_cut).toFixed(2)} % vs whole days`,
      ],
      [
        'manifest',
        `${mb(manifest.bytes)} (${(manifest.bytes / Math.max(1, windows) / 1000).toFixed(1)} kB per window); read + validated in ${manifest.read_ms.toFixed(0)} ms`,
      ],
    ];
    printTable(log, 'backtest at scale', rows);
    return result;
  } finally {
    if (!opts.keepDir) await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => argOf(args, name);
  const num = (name: string) => {
    const v = arg(name);
    return v === undefined ? undefined : Number(v);
  };
  runScaleBench({
    days: num('--days'),
    tradesPerDay: num('--trades-per-day'),
    signalsPerInstrumentDay: num('--signals'),
    workers: arg('--workers')?.split(',').map(Number),
    keepDir: arg('--keep'),
    profile: arg('--profile'),
    instruments: arg('--instruments')?.split(','),
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

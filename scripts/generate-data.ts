/**
 * Generate a synthetic market in the SPEC tick layout, plus `instruments/<day>.json` and a sample
 * signals file:
 *
 *   npx tsx scripts/generate-data.ts --out data --days 2 --start 2025-07-01 --seed 42 \
 *     [--trades-per-day 50000] [--quotes-per-trade 2.5] [--l2 [--l2-levels 5]] \
 *     [--instruments BINANCE-SPOT:SPOT_PAIR:BTC-USDT,...] [--signals-per-day 29] \
 *     [--profile default|binance-btcusdt]
 *
 * `--profile binance-btcusdt` makes exchange-sized days (bursty arrivals, millions of trades and
 * tens of millions of quotes per instrument-day) and streams them to the files one row group at a
 * time, so memory stays bounded however large the day (shared/data/profiles.ts, docs/tick-data.md).
 *
 * Same options → byte-identical files. `--out` is a folder or `gs://bucket/prefix`.
 */
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { writeDailyMarket } from '../infra/rebalance/daily-data.ts';
import { openBlobLocation } from '../infra/ticks/blob-location.ts';
import { writeInstrumentSpecs, writeTickDay, writeTickDayStream } from '../infra/ticks/writer.ts';
import { SYNTHETIC_PROFILES, syntheticProfile } from '../shared/data/profiles.ts';
import { SyntheticMarket, sampleSignals, syntheticInstrumentSpecs } from '../shared/data/synthetic.ts';
import { tickRowGroupRows } from '../shared/data/tick-columns.ts';
import { addDays, isUtcDay } from '../shared/data/tick-layout.ts';
import type { BlobStore } from '../shared/ports/blob-store.ts';

export const SAMPLE_SIGNALS_KEY = 'signals/sample.jsonl';

export interface GenerateDataOptions {
  start: string;
  days: number;
  seed: number;
  /** Named settings (default `default`); explicit counts below override the profile's. */
  profile?: string | undefined;
  tradesPerDay?: number | undefined;
  quotesPerTrade?: number | undefined;
  /** L2 levels per side; 0 = no book files. */
  l2Levels?: number | undefined;
  /** Subset of the default instruments by key (default all). */
  instruments?: readonly string[] | undefined;
  signalsPerDay?: number | undefined;
  /** Called after each instrument-day is written. */
  onProgress?: ((done: number, total: number, label: string) => void) | undefined;
}

export interface GenerateDataSummary {
  days: string[];
  files: Array<{ key: string; rows: number; bytes: number }>;
  trades: number;
  quotes: number;
  bookRows: number;
  signals: number;
  /** Highest row count of any row group written (streamed profiles; 0 otherwise). */
  maxRowGroupRows: number;
}

/** Generate the data set into a BlobStore. */
export async function generateData(
  blobs: BlobStore,
  opts: GenerateDataOptions,
): Promise<GenerateDataSummary> {
  if (!isUtcDay(opts.start)) throw new RangeError(`--start must be a date YYYY-MM-DD, got ${opts.start}`);
  if (!Number.isInteger(opts.days) || opts.days < 1)
    throw new RangeError(`--days must be ≥ 1, got ${opts.days}`);
  const profile = syntheticProfile(opts.profile ?? 'default');
  let instruments = profile.instruments;
  if (opts.instruments && opts.instruments.length > 0) {
    const wanted = new Set(opts.instruments);
    instruments = profile.instruments.filter((i) => wanted.has(i.spec.instrument_key));
    const unknown = [...wanted].filter((k) => !instruments.some((i) => i.spec.instrument_key === k));
    if (unknown.length > 0) {
      throw new RangeError(
        `unknown instrument(s) ${unknown.join(', ')}; available: ${profile.instruments.map((i) => i.spec.instrument_key).join(', ')}`,
      );
    }
  }
  const market = new SyntheticMarket({
    seed: opts.seed,
    instruments,
    tradesPerDay: opts.tradesPerDay ?? profile.tradesPerDay,
    quotesPerTrade: opts.quotesPerTrade ?? profile.quotesPerTrade,
    l2Levels: opts.l2Levels ?? 0,
    arrivals: profile.arrivals,
  });
  const days = Array.from({ length: opts.days }, (_, i) => addDays(opts.start, i));
  const summary: GenerateDataSummary = {
    days,
    files: [],
    trades: 0,
    quotes: 0,
    bookRows: 0,
    signals: 0,
    maxRowGroupRows: 0,
  };
  const specs = syntheticInstrumentSpecs(instruments);
  const total = days.length * instruments.length;
  let done = 0;
  for (const day of days) {
    const key = await writeInstrumentSpecs(blobs, day, specs);
    summary.files.push({ key, rows: specs.length, bytes: 0 });
    market.startDay(day);
    for (const inst of instruments) {
      if (profile.arrivals) {
        // Streamed: each row group is generated, encoded and uploaded before the next one exists.
        let largest = 0;
        const groups = market.instrumentDayGroups(inst);
        const counted = (function* () {
          for (const g of groups) {
            const rows = tickRowGroupRows(g);
            if (rows > largest) largest = rows;
            yield g;
          }
        })();
        const written = await writeTickDayStream(blobs, inst.spec.instrument_key, day, counted);
        summary.maxRowGroupRows = Math.max(summary.maxRowGroupRows, largest);
        for (const f of written) {
          summary.files.push({ key: f.key, rows: f.rows, bytes: f.bytes });
          if (f.kind === 'trades') summary.trades += f.rows;
          else if (f.kind === 'quotes') summary.quotes += f.rows;
          else summary.bookRows += f.rows;
        }
      } else {
        const d = market.instrumentDay(inst);
        const written = await writeTickDay(blobs, d.instrument_key, day, d);
        summary.files.push(...written.map(({ key, rows, bytes }) => ({ key, rows, bytes })));
        summary.trades += d.trades.ts.length;
        summary.quotes += d.quotes.ts.length;
        summary.bookRows += d.book?.ts.length ?? 0;
      }
      done++;
      opts.onProgress?.(done, total, `${day} ${inst.spec.instrument_key}`);
    }
  }
  const signals = sampleSignals({ seed: opts.seed, days, instruments, perDay: opts.signalsPerDay });
  const jsonl = signals.map((s) => JSON.stringify(s)).join('\n') + (signals.length > 0 ? '\n' : '');
  await blobs.put(SAMPLE_SIGNALS_KEY, jsonl, { contentType: 'application/x-ndjson' });
  summary.files.push({ key: SAMPLE_SIGNALS_KEY, rows: signals.length, bytes: Buffer.byteLength(jsonl) });
  summary.signals = signals.length;
  return summary;
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = new Command()
    .name('generate-data')
    .description('Generate a seeded synthetic market (tick Parquet files, instruments, sample signals)')
    .option('--out <dir>', 'output folder or gs://bucket/prefix', 'data')
    .option('--start <day>', 'first UTC day, YYYY-MM-DD', '2025-07-01')
    .option('--days <n>', 'number of days', positiveInt('--days'), 2)
    .option('--seed <n>', 'random seed', nonNegativeInt('--seed'), 42)
    .option(
      '--profile <name>',
      `named settings: ${Object.values(SYNTHETIC_PROFILES)
        .map((p) => `${p.name}: ${p.description}`)
        .join('; ')}`,
      'default',
    )
    .option(
      '--trades-per-day <n>',
      "trades per day of the BTC spot instrument (default: the profile's, 50000 for default)",
      positiveInt('--trades-per-day'),
    )
    .option(
      '--quotes-per-trade <x>',
      "quote updates per trade (default: the profile's, 2.5 for default)",
      (v) => {
        const x = Number(v);
        if (!(x > 0)) throw new InvalidArgumentError('--quotes-per-trade must be > 0');
        return x;
      },
    )
    .option(
      '--l2',
      'also write book.parquet (L2 snapshots: at every quote change; binance-btcusdt: every 100 ms)',
      false,
    )
    .option('--l2-levels <n>', 'levels per side in L2 snapshots', positiveInt('--l2-levels'), 5)
    .option('--instruments <keys>', 'comma-separated subset of instruments', (v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .option('--signals-per-day <n>', 'sample signals per day', nonNegativeInt('--signals-per-day'), 29)
    .option('--quiet', 'no progress bar', false)
    // Daily multi-asset market for rebalance backtests (shared/data/daily.ts, docs/rebalancing.md).
    .option(
      '--daily',
      'write a multi-asset daily-bar market and a sample weights series instead of ticks',
      false,
    )
    .option('--assets <n>', 'with --daily: number of assets', positiveInt('--assets'), 20)
    .option(
      '--rebalance-every <n>',
      'with --daily: sample weights every n days',
      positiveInt('--rebalance-every'),
      1,
    )
    .parse(argv);
  const o = program.opts<{
    out: string;
    start: string;
    days: number;
    seed: number;
    profile: string;
    tradesPerDay?: number;
    quotesPerTrade?: number;
    l2: boolean;
    l2Levels: number;
    instruments?: string[];
    signalsPerDay: number;
    quiet: boolean;
    daily: boolean;
    assets: number;
    rebalanceEvery: number;
  }>();
  const blobs = await openBlobLocation(o.out, { durable: false });
  if (o.daily) {
    const t = performance.now();
    const opts = {
      seed: o.seed,
      assets: o.assets,
      days: o.days,
      start: o.start,
      rebalanceEvery: o.rebalanceEvery,
    };
    const { files } = await writeDailyMarket(blobs, opts);
    console.log(
      `wrote ${files.length} daily files to ${o.out} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    return;
  }
  const bar = o.quiet
    ? null
    : new cliProgress.SingleBar(
        { format: 'generate [{bar}] {value}/{total} {label}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
  const started = performance.now();
  bar?.start(1, 0, { label: '' });
  const summary = await generateData(blobs, {
    start: o.start,
    days: o.days,
    seed: o.seed,
    profile: o.profile,
    tradesPerDay: o.tradesPerDay,
    quotesPerTrade: o.quotesPerTrade,
    l2Levels: o.l2 ? o.l2Levels : 0,
    instruments: o.instruments,
    signalsPerDay: o.signalsPerDay,
    onProgress: (done, total, label) => {
      bar?.setTotal(total);
      bar?.update(done, { label });
    },
  });
  bar?.stop();
  const seconds = (performance.now() - started) / 1000;
  const bytes = summary.files.reduce((s, f) => s + f.bytes, 0);
  console.log(
    `wrote ${summary.files.length} files (${(bytes / 1e6).toFixed(1)} MB) to ${o.out} in ${seconds.toFixed(1)} s: ` +
      `${summary.trades} trades, ${summary.quotes} quotes${summary.bookRows ? `, ${summary.bookRows} book rows` : ''}, ` +
      `${summary.signals} signals (${SAMPLE_SIGNALS_KEY}); peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB` +
      (summary.maxRowGroupRows > 0 ? `, largest row group ${summary.maxRowGroupRows} rows` : ''),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

/**
 * Daily bars and weights series on a BlobStore (docs/rebalancing.md): writing the generated daily
 * market (`market-data-daily/<VENUE>/<PAYLOAD>/bars.parquet`, `instruments/<start>.json`, a sample
 * weights series under `weights/<strategy>/<day>.json`) and reading bars and weights files back.
 */
import {
  type DailyBars,
  type DailyMarket,
  dailyBarsKey,
  generateDailyMarket,
  sampleWeightsSeries,
} from '../../shared/data/daily.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { rebalanceIdOf } from '../../shared/rebalance/instructions.ts';
import { parseWeightsText, type WeightsFile } from '../../shared/rebalance/weights.ts';
import { readParquetBlob } from '../parquet/reader.ts';
import type { ColumnDef } from '../parquet/schema.ts';
import { writeParquet } from '../parquet/writer.ts';
import { writeInstrumentSpecs } from '../ticks/writer.ts';

export const DAILY_BARS_SCHEMA: readonly ColumnDef[] = [
  { name: 'ts_event', kind: 'TIMESTAMP_NS' },
  { name: 'open', kind: 'DOUBLE' },
  { name: 'high', kind: 'DOUBLE' },
  { name: 'low', kind: 'DOUBLE' },
  { name: 'close', kind: 'DOUBLE' },
  { name: 'volume', kind: 'DOUBLE' },
];

export function encodeDailyBars(b: DailyBars): Uint8Array {
  const data = [b.ts, b.open, b.high, b.low, b.close, b.volume];
  return writeParquet({
    columns: DAILY_BARS_SCHEMA.map((def, i) => ({ def, data: data[i] as Float64Array })),
    codec: 'SNAPPY',
    createdBy: 'execution-platform daily bars (hyparquet-writer)',
  });
}

export interface WriteDailyOptions {
  seed: number;
  assets: number;
  days: number;
  start: string;
  /** Sample weights every this many days (default 1). */
  rebalanceEvery?: number | undefined;
  strategyId?: string | undefined;
}

/** Generate and write the daily market and its sample weights series. */
export async function writeDailyMarket(
  blobs: BlobStore,
  opts: WriteDailyOptions,
): Promise<{ market: DailyMarket; files: string[] }> {
  const market = generateDailyMarket(opts);
  const files: string[] = [];
  files.push(await writeInstrumentSpecs(blobs, opts.start, market.specs));
  for (const b of market.bars) {
    const key = dailyBarsKey(b.instrument_key);
    await blobs.put(key, encodeDailyBars(b), { contentType: 'application/vnd.apache.parquet' });
    files.push(key);
  }
  const strategy = opts.strategyId ?? 'sample-rebalance';
  for (const w of sampleWeightsSeries(market, {
    seed: opts.seed,
    every: opts.rebalanceEvery,
    strategyId: strategy,
  })) {
    const key = `weights/${strategy}/${w.day}.json`;
    await blobs.put(key, `${JSON.stringify(w.document, null, 2)}\n`, { contentType: 'application/json' });
    files.push(key);
  }
  return { market, files };
}

export interface LoadedBars {
  times: Nanos[];
  closes: Map<string, Float64Array>;
  bytes_read: number;
  bytes_total: number;
}

/**
 * Read the daily bars of these instruments and align their closes on the union of bar times (NaN
 * where an instrument has no bar). Instruments without a bars file are left out (the caller reports
 * them).
 */
export async function loadDailyCloses(blobs: BlobStore, keys: readonly string[]): Promise<LoadedBars> {
  const per = new Map<string, { ts: bigint[]; close: number[] }>();
  let bytesRead = 0;
  let bytesTotal = 0;
  for (const k of keys) {
    const key = dailyBarsKey(k);
    const info = await blobs.stat(key);
    if (info === null) continue;
    const r = await readParquetBlob(blobs, key, { columns: ['ts_event', 'close'] });
    bytesRead += r.bytesRead;
    bytesTotal += info.size;
    const ts = Array.from(r.columns.get('ts_event') as ArrayLike<bigint>);
    const close = Array.from(r.columns.get('close') as ArrayLike<number>);
    per.set(k, { ts, close });
  }
  const all = new Set<bigint>();
  for (const v of per.values()) for (const t of v.ts) all.add(t);
  const times = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(times.map((t, i) => [t, i]));
  const closes = new Map<string, Float64Array>();
  for (const [k, v] of per) {
    const arr = new Float64Array(times.length).fill(Number.NaN);
    v.ts.forEach((t, i) => {
      arr[index.get(t) as number] = v.close[i] as number;
    });
    closes.set(k, arr);
  }
  return { times, closes, bytes_read: bytesRead, bytes_total: bytesTotal };
}

export interface LoadedWeights {
  entries: Array<{ rebalance_id: string; source: string; file: WeightsFile }>;
  /** Files that failed validation: recorded with their reasons, never traded. */
  invalid: Array<{ source: string; issues: Array<{ path: string; message: string }> }>;
}

/** Read every `*.json` weights file under `prefix` (or the one key when it ends in .json). */
export async function loadWeightsSeries(blobs: BlobStore, prefix: string): Promise<LoadedWeights> {
  const keys = prefix.endsWith('.json')
    ? [prefix]
    : (await blobs.list(prefix === '' ? '' : `${prefix.replace(/\/$/, '')}/`))
        .map((b) => b.key)
        .filter((k) => k.endsWith('.json'))
        .sort();
  const out: LoadedWeights = { entries: [], invalid: [] };
  for (const key of keys) {
    const bytes = await blobs.get(key);
    const r = parseWeightsText(new TextDecoder().decode(bytes));
    if (r.success) out.entries.push({ rebalance_id: rebalanceIdOf(bytes), source: key, file: r.data });
    else out.invalid.push({ source: key, issues: r.error.issues });
  }
  return out;
}

/**
 * The latest daily close of an instrument from its bars file (the last fallback of the live price
 * chain), or null when there is no bars file.
 */
export function dailyCloseReader(blobs: BlobStore): (instrumentKey: string) => Promise<string | null> {
  return async (instrumentKey) => {
    const key = dailyBarsKey(instrumentKey);
    if ((await blobs.stat(key)) === null) return null;
    const r = await readParquetBlob(blobs, key, { columns: ['close'] });
    const close = r.columns.get('close') as ArrayLike<number>;
    const last = close.length > 0 ? close[close.length - 1] : undefined;
    return last !== undefined && Number.isFinite(last) && last > 0 ? String(last) : null;
  };
}

/** Shared helpers for the tick-data tests (not a test file). */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { TRADES_COLUMNS } from '../../../infra/ticks/schemas.ts';
import { writeTickDay } from '../../../infra/ticks/writer.ts';
import {
  DEFAULT_INSTRUMENTS,
  type SyntheticDay,
  type SyntheticInstrument,
  SyntheticMarket,
} from '../../../shared/data/synthetic.ts';
import { tradeSideName } from '../../../shared/data/tick-columns.ts';

export const BTC_SPOT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const ETH_SPOT = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
export const BTC_PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';

export function instrument(key: string): SyntheticInstrument {
  const inst = DEFAULT_INSTRUMENTS.find((i) => i.spec.instrument_key === key);
  if (!inst) throw new Error(`no synthetic instrument ${key}`);
  return inst;
}

/** Consecutive synthetic days of one instrument. */
export function syntheticDays(
  key: string,
  days: readonly string[],
  opts: { seed?: number; tradesPerDay?: number; l2Levels?: number } = {},
): SyntheticDay[] {
  const inst = instrument(key);
  const market = new SyntheticMarket({
    seed: opts.seed ?? 7,
    instruments: [inst],
    tradesPerDay: opts.tradesPerDay ?? 50_000,
    l2Levels: opts.l2Levels ?? 0,
  });
  return days.map((d) => {
    market.startDay(d);
    return market.instrumentDay(inst);
  });
}

/** A LocalBlobStore on a fresh temporary folder, and its cleanup. */
export async function tempBlobStore(
  label: string,
): Promise<{ blobs: LocalBlobStore; root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), `ticks-${label}-`));
  return {
    blobs: new LocalBlobStore(root, { durable: false }),
    root,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Indexes i with from ≤ ts[i] < to. */
export function indexesInWindow(ts: BigInt64Array, from: bigint, to: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as bigint;
    if (t >= from && t < to) out.push(i);
  }
  return out;
}

export function pick<T extends { [i: number]: unknown; length: number }>(
  arr: T,
  idx: readonly number[],
): unknown[] {
  return idx.map((i) => arr[i]);
}

/** A temporary blob store holding the tick files of synthetic days of `key` (written by writeTickDay). */
export async function storeWithTickDays(
  label: string,
  key: string,
  dayList: readonly string[],
  opts: { seed?: number; tradesPerDay?: number },
): Promise<{ blobs: LocalBlobStore; cleanup: () => Promise<void>; days: SyntheticDay[] }> {
  const { blobs, cleanup } = await tempBlobStore(label);
  const days = syntheticDays(key, dayList, opts);
  for (const d of days) await writeTickDay(blobs, key, d.day, d);
  return { blobs, cleanup, days };
}

/** A day's trades as writeParquet columns (TRADES_COLUMNS), with or without statistics: files as other tools write them. */
export function tradeParquetColumns(t: SyntheticDay['trades'], statistics: boolean) {
  const data = [t.ts, t.price, t.size, Array.from(t.side, (s) => tradeSideName(s)), t.trade_id];
  return TRADES_COLUMNS.map((def, i) => ({
    def,
    statistics,
    data: data[i] as BigInt64Array | Float64Array | string[],
  }));
}

/** SHA-256 of every file under `root` by relative path (the local store's temporary folder skipped). */
export async function fileDigests(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.blobstore-tmp') await walk(full);
      } else
        out.set(
          path.relative(root, full),
          createHash('sha256')
            .update(await readFile(full))
            .digest('hex'),
        );
    }
  };
  await walk(root);
  return out;
}

/**
 * Import Binance public trade dumps (CSV, unzipped) into our tick layout:
 *
 *   npx tsx scripts/import-binance-trades.ts --instrument BINANCE-SPOT:SPOT_PAIR:BTC-USDT \
 *     --out data BTCUSDT-trades-2025-07-01.csv [more.csv ...]
 *
 * Trades are split by UTC day, sorted by time and written as
 * `market-data-tick/<VENUE>/<day>/<PAYLOAD>/trades.parquet` (side = is_buyer_maker ? SELL : BUY,
 * trade_id = id). Only trades are imported: read such days with `kinds: ['trades']`. A malformed
 * line stops the import with an error naming the file and line number; nothing is written then.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { openBlobLocation } from '../infra/ticks/blob-location.ts';
import { writeTickDay } from '../infra/ticks/writer.ts';
import { parseBinanceTradeLine, TradeDaySplitter } from '../shared/data/binance-trades.ts';
import { tickPathParts } from '../shared/data/tick-layout.ts';
import type { BlobStore } from '../shared/ports/blob-store.ts';

export interface ImportSummary {
  trades: number;
  days: Array<{ day: string; key: string; rows: number; bytes: number }>;
}

/** Stream the lines of CSV files (line numbers per file, 1-based). */
export async function forEachCsvLine(
  files: readonly string[],
  fn: (line: string, lineNo: number, file: string) => void,
): Promise<void> {
  for (const file of files) {
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    let lineNo = 0;
    for await (const line of rl) fn(line, ++lineNo, file);
  }
}

/** Stream the CSV files into a splitter (line numbers are per file, 1-based). */
export async function readBinanceCsvFiles(files: readonly string[]): Promise<TradeDaySplitter> {
  const splitter = new TradeDaySplitter();
  await forEachCsvLine(files, (line, lineNo, file) => {
    const t = parseBinanceTradeLine(line, lineNo, file);
    if (t) splitter.add(t);
  });
  return splitter;
}

/** Import CSV files for one instrument into a BlobStore. */
export async function importBinanceTrades(
  blobs: BlobStore,
  instrumentKey: string,
  files: readonly string[],
): Promise<ImportSummary> {
  tickPathParts(instrumentKey); // validate the id before reading anything
  const splitter = await readBinanceCsvFiles(files);
  const summary: ImportSummary = { trades: splitter.count, days: [] };
  for (const { day, trades } of splitter.days()) {
    const written = await writeTickDay(blobs, instrumentKey, day, { trades });
    for (const w of written) summary.days.push({ day, key: w.key, rows: w.rows, bytes: w.bytes });
  }
  return summary;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = new Command()
    .name('import-binance-trades')
    .description(
      'Import Binance public trade dump CSVs into market-data-tick/<VENUE>/<day>/<PAYLOAD>/trades.parquet',
    )
    .requiredOption('--instrument <key>', 'canonical instrument id, e.g. BINANCE-SPOT:SPOT_PAIR:BTC-USDT')
    .option('--out <dir>', 'output folder or gs://bucket/prefix', 'data')
    .argument('<csv...>', 'trade dump CSV files (unzipped)')
    .parse(argv);
  const o = program.opts<{ instrument: string; out: string }>();
  const files = program.args;
  const started = performance.now();
  const summary = await importBinanceTrades(
    await openBlobLocation(o.out, { durable: false }),
    o.instrument,
    files,
  );
  for (const d of summary.days) console.log(`${d.key}: ${d.rows} trades, ${(d.bytes / 1e6).toFixed(2)} MB`);
  console.log(
    `imported ${summary.trades} trades from ${files.map((f) => basename(f)).join(', ')} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

/**
 * Import Binance public book-ticker dumps (CSV, unzipped) into our tick layout as L1 quotes:
 *
 *   npx tsx scripts/import-binance-book-ticker.ts --instrument BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN \
 *     --out data BTCUSDT-bookTicker-2025-07-01.csv [more.csv ...]
 *
 * Rows are split by UTC day of `transaction_time`, sorted by (time, update_id) and written as
 * `market-data-tick/<VENUE>/<day>/<PAYLOAD>/quotes.parquet` (bid_px/bid_sz/ask_px/ask_sz = the best
 * bid and ask). With the same days' trades (scripts/import-binance-trades.ts) a backtest reads the
 * venue's real book. A malformed line (crossed book included) stops the import with an error naming
 * the file and line number; nothing is written then.
 */
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { openBlobLocation } from '../infra/ticks/blob-location.ts';
import { writeTickDay } from '../infra/ticks/writer.ts';
import { parseBinanceBookTickerLine, QuoteDaySplitter } from '../shared/data/binance-book-ticker.ts';
import { tickPathParts } from '../shared/data/tick-layout.ts';
import type { BlobStore } from '../shared/ports/blob-store.ts';
import { forEachCsvLine } from './import-binance-trades.ts';

export interface BookTickerImportSummary {
  quotes: number;
  days: Array<{ day: string; key: string; rows: number; bytes: number }>;
}

/** Import book-ticker CSV files for one instrument into a BlobStore. */
export async function importBinanceBookTicker(
  blobs: BlobStore,
  instrumentKey: string,
  files: readonly string[],
): Promise<BookTickerImportSummary> {
  tickPathParts(instrumentKey); // validate the id before reading anything
  const splitter = new QuoteDaySplitter();
  await forEachCsvLine(files, (line, lineNo, file) => {
    const q = parseBinanceBookTickerLine(line, lineNo, file);
    if (q) splitter.add(q);
  });
  const summary: BookTickerImportSummary = { quotes: splitter.count, days: [] };
  for (const { day, quotes } of splitter.days()) {
    const written = await writeTickDay(blobs, instrumentKey, day, { quotes });
    for (const w of written) summary.days.push({ day, key: w.key, rows: w.rows, bytes: w.bytes });
  }
  return summary;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const program = new Command()
    .name('import-binance-book-ticker')
    .description(
      'Import Binance public book-ticker dump CSVs into market-data-tick/<VENUE>/<day>/<PAYLOAD>/quotes.parquet',
    )
    .requiredOption(
      '--instrument <key>',
      'canonical instrument id, e.g. BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
    )
    .option('--out <dir>', 'output folder or gs://bucket/prefix', 'data')
    .argument('<csv...>', 'book-ticker dump CSV files (unzipped)')
    .parse(argv);
  const o = program.opts<{ instrument: string; out: string }>();
  const files = program.args;
  const started = performance.now();
  const summary = await importBinanceBookTicker(
    await openBlobLocation(o.out, { durable: false }),
    o.instrument,
    files,
  );
  for (const d of summary.days) console.log(`${d.key}: ${d.rows} quotes, ${(d.bytes / 1e6).toFixed(2)} MB`);
  console.log(
    `imported ${summary.quotes} quotes from ${files.map((f) => basename(f)).join(', ')} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

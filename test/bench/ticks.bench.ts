/**
 * Tick-data benchmark (a plain tsx script; `runTickBench()` is also exported for test/bench/run.ts):
 *
 *   npx tsx test/bench/ticks.bench.ts [--trades-per-day 2000000] [--keep DIR]
 *
 * Generates a busy day (default 2M trades, 5M quotes for BINANCE-SPOT:SPOT_PAIR:BTC-USDT), writes it
 * in our layout to a local folder, and prints: write throughput, full-file read rows/s, 5-minute
 * window read rows/s, and bytes read vs file sizes for that window (cold: footers fetched; warm:
 * footers cached, as in a worker that serves several windows of the day).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { FooterCache, readParquetBlob } from '../../infra/parquet/reader.ts';
import { loadWindow, type TickWindow } from '../../infra/ticks/loader.ts';
import { encodeQuotes, encodeTrades, PARQUET_CONTENT_TYPE } from '../../infra/ticks/writer.ts';
import { DEFAULT_INSTRUMENTS, SyntheticMarket } from '../../shared/data/synthetic.ts';
import { tickFileKey } from '../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../shared/domain/time.ts';

export interface TickBenchOptions {
  tradesPerDay?: number | undefined;
  quotesPerTrade?: number | undefined;
  /** Keep the written files in this folder instead of a temporary one. */
  keepDir?: string | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface TickBenchResult {
  trades: number;
  quotes: number;
  generate_seconds: number;
  write: {
    trades_rows_per_s: number;
    quotes_rows_per_s: number;
    mb_per_s: number;
    trades_bytes: number;
    quotes_bytes: number;
  };
  full_read: { trades_rows_per_s: number; quotes_rows_per_s: number };
  window: {
    from: string;
    to: string;
    rows: number;
    cold_rows_per_s: number;
    warm_rows_per_s: number;
    bytes_read_cold: number;
    bytes_read_warm: number;
    footer_bytes: number;
    row_group_bytes: number;
    bytes_total: number;
  };
}

const INSTRUMENT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const DAY = '2025-07-01';

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

function windowRows(w: TickWindow): number {
  return (w.trades?.ts.length ?? 0) + (w.quotes?.ts.length ?? 0);
}

export async function runTickBench(opts: TickBenchOptions = {}): Promise<TickBenchResult> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const tradesPerDay = opts.tradesPerDay ?? 2_000_000;
  const inst = DEFAULT_INSTRUMENTS.find((i) => i.spec.instrument_key === INSTRUMENT);
  if (!inst) throw new Error(`no synthetic instrument ${INSTRUMENT}`);
  const root = opts.keepDir ?? (await mkdtemp(path.join(tmpdir(), 'ticks-bench-')));
  const blobs = new LocalBlobStore(root, { durable: false });
  try {
    let t0 = performance.now();
    const market = new SyntheticMarket({
      seed: 1,
      instruments: [inst],
      tradesPerDay,
      quotesPerTrade: opts.quotesPerTrade,
    });
    market.startDay(DAY);
    const day = market.instrumentDay(inst);
    const generate_seconds = seconds(t0);
    const nT = day.trades.ts.length;
    const nQ = day.quotes.ts.length;
    log(
      `busy day: ${nT.toLocaleString('en')} trades, ${nQ.toLocaleString('en')} quotes generated in ${generate_seconds.toFixed(1)} s`,
    );

    t0 = performance.now();
    const tradesBytes = encodeTrades(day.trades);
    const tWrite = seconds(t0);
    t0 = performance.now();
    const quotesBytes = encodeQuotes(day.quotes);
    const qWrite = seconds(t0);
    await blobs.put(tickFileKey(INSTRUMENT, DAY, 'trades'), tradesBytes, {
      contentType: PARQUET_CONTENT_TYPE,
    });
    await blobs.put(tickFileKey(INSTRUMENT, DAY, 'quotes'), quotesBytes, {
      contentType: PARQUET_CONTENT_TYPE,
    });
    const write = {
      trades_rows_per_s: nT / tWrite,
      quotes_rows_per_s: nQ / qWrite,
      mb_per_s: (tradesBytes.byteLength + quotesBytes.byteLength) / 1e6 / (tWrite + qWrite),
      trades_bytes: tradesBytes.byteLength,
      quotes_bytes: quotesBytes.byteLength,
    };
    log(
      `write: trades ${fmtRate(write.trades_rows_per_s)} rows/s (${mb(tradesBytes.byteLength)} in ${tWrite.toFixed(1)} s), ` +
        `quotes ${fmtRate(write.quotes_rows_per_s)} rows/s (${mb(quotesBytes.byteLength)} in ${qWrite.toFixed(1)} s), ${write.mb_per_s.toFixed(1)} MB/s`,
    );

    t0 = performance.now();
    const fullT = await readParquetBlob(blobs, tickFileKey(INSTRUMENT, DAY, 'trades'));
    const tRead = seconds(t0);
    t0 = performance.now();
    const fullQ = await readParquetBlob(blobs, tickFileKey(INSTRUMENT, DAY, 'quotes'));
    const qRead = seconds(t0);
    if (fullT.columns.get('ts_event')?.length !== nT || fullQ.columns.get('ts_event')?.length !== nQ) {
      throw new Error('full read returned the wrong row count');
    }
    const full_read = { trades_rows_per_s: nT / tRead, quotes_rows_per_s: nQ / qRead };
    log(
      `full-file read (all columns): trades ${fmtRate(full_read.trades_rows_per_s)} rows/s (${tRead.toFixed(1)} s), ` +
        `quotes ${fmtRate(full_read.quotes_rows_per_s)} rows/s (${qRead.toFixed(1)} s)`,
    );

    const from = '2025-07-01T14:00:00Z';
    const to = '2025-07-01T14:05:00Z';
    const req = {
      instrument_key: INSTRUMENT,
      fromNs: isoToNanos(from),
      toNs: isoToNanos(to),
      kinds: ['trades', 'quotes'] as const,
    };
    t0 = performance.now();
    const cold = await loadWindow(blobs, req);
    const coldS = seconds(t0);
    const cache = new FooterCache();
    await loadWindow(blobs, req, { cache });
    t0 = performance.now();
    const warm = await loadWindow(blobs, req, { cache });
    const warmS = seconds(t0);
    const rows = windowRows(cold);
    const window = {
      from,
      to,
      rows,
      cold_rows_per_s: rows / coldS,
      warm_rows_per_s: rows / warmS,
      bytes_read_cold: cold.bytes_read,
      bytes_read_warm: warm.bytes_read,
      footer_bytes: cold.files.reduce((s, f) => s + f.footer_bytes, 0),
      row_group_bytes: cold.files.reduce((s, f) => s + f.row_group_bytes, 0),
      bytes_total: cold.bytes_total,
    };
    log(
      `5-minute window ${from} → ${to}: ${rows.toLocaleString('en')} rows; cold ${fmtRate(window.cold_rows_per_s)} rows/s (${(coldS * 1000).toFixed(0)} ms), ` +
        `warm ${fmtRate(window.warm_rows_per_s)} rows/s (${(warmS * 1000).toFixed(0)} ms)`,
    );
    log(
      `  bytes_read cold ${mb(window.bytes_read_cold)} (footers ${mb(window.footer_bytes)} + row groups ${mb(window.row_group_bytes)}), ` +
        `warm ${mb(window.bytes_read_warm)}; bytes_total ${mb(window.bytes_total)} ` +
        `→ ${((100 * window.bytes_read_cold) / window.bytes_total).toFixed(2)}% cold, ${((100 * window.bytes_read_warm) / window.bytes_total).toFixed(2)}% warm`,
    );
    return { trades: nT, quotes: nQ, generate_seconds, write, full_read, window };
  } finally {
    if (!opts.keepDir) await rm(root, { recursive: true, force: true });
  }
}

function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const tpd = arg('--trades-per-day');
  runTickBench({ tradesPerDay: tpd ? Number(tpd) : undefined, keepDir: arg('--keep') }).catch(
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

/**
 * A recording's market part: the market events of one flush, in the order they were received, as
 * one Parquet file (docs/recording.md, "Market parts"). One row per trade or quote, one row per
 * level of a book snapshot (the rows of one snapshot share `seq`). Columns:
 *
 * `seq` INT64, `ts_init` and `ts_event` TIMESTAMP(NANOS), `instrument_key`, `kind`
 * (trade | quote | book) STRING, then nullable by kind: `side` STRING (trade aggressor BUY/SELL,
 * book BID/ASK), `level` INT32 (book, 0 = best), `price`, `size` DOUBLE (trade, book),
 * `trade_id` STRING (trade), `bid_px`, `bid_sz`, `ask_px`, `ask_sz` DOUBLE (quote).
 */
import type { SequencedMarketEvent } from '../../shared/recording/format.ts';
import { ParquetFileError, readParquetBytes } from '../parquet/reader.ts';
import type { ColumnDef } from '../parquet/schema.ts';
import { writeParquet } from '../parquet/writer.ts';

export const MARKET_PART_COLUMNS: readonly ColumnDef[] = [
  { name: 'seq', kind: 'INT64' },
  { name: 'ts_init', kind: 'TIMESTAMP_NS' },
  { name: 'ts_event', kind: 'TIMESTAMP_NS' },
  { name: 'instrument_key', kind: 'STRING' },
  { name: 'kind', kind: 'STRING' },
  { name: 'side', kind: 'STRING', nullable: true },
  { name: 'level', kind: 'INT32', nullable: true },
  { name: 'price', kind: 'DOUBLE', nullable: true },
  { name: 'size', kind: 'DOUBLE', nullable: true },
  { name: 'trade_id', kind: 'STRING', nullable: true },
  { name: 'bid_px', kind: 'DOUBLE', nullable: true },
  { name: 'bid_sz', kind: 'DOUBLE', nullable: true },
  { name: 'ask_px', kind: 'DOUBLE', nullable: true },
  { name: 'ask_sz', kind: 'DOUBLE', nullable: true },
];

type Cell = string | number | bigint | null;

/** Encode the events of one part (one run, sorted by seq). Returns the bytes and the row count. */
export function encodeMarketPart(
  events: readonly SequencedMarketEvent[],
  meta: Readonly<Record<string, string>>,
): { bytes: Uint8Array; rows: number } {
  const cols: Cell[][] = MARKET_PART_COLUMNS.map(() => []);
  const push = (row: readonly Cell[]) => {
    for (let i = 0; i < cols.length; i++) cols[i]!.push(row[i] ?? null);
  };
  for (const e of events) {
    const base: Cell[] = [BigInt(e.seq), e.ts_init, e.ts_event, e.instrument_key, e.kind];
    if (e.kind === 'trade') {
      push([...base, e.side, null, e.price, e.size, e.trade_id, null, null, null, null]);
    } else if (e.kind === 'quote') {
      push([...base, null, null, null, null, null, e.bid_px, e.bid_sz, e.ask_px, e.ask_sz]);
    } else {
      for (const [side, levels] of [
        ['BID', e.bids],
        ['ASK', e.asks],
      ] as const) {
        levels.forEach(([p, s], level) => {
          push([...base, side, level, p, s, null, null, null, null, null]);
        });
      }
      // An empty snapshot (a cleared book) is still an event: one row without a level.
      if (e.bids.length === 0 && e.asks.length === 0) {
        push([...base, null, null, null, null, null, null, null, null, null]);
      }
    }
  }
  const rows = cols[0]!.length;
  const bytes = writeParquet({
    columns: MARKET_PART_COLUMNS.map((def, i) => ({ def, data: cols[i]!, statistics: i < 3 })),
    codec: 'SNAPPY',
    metadata: meta,
    createdBy: 'execution-platform recorder (hyparquet-writer)',
  });
  return { bytes, rows };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function dbl(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN;
}

/** Decode a market part of `run`; throws ParquetFileError naming `key` on anything malformed. */
export async function decodeMarketPart(
  bytes: Uint8Array,
  key: string,
  run: number,
): Promise<SequencedMarketEvent[]> {
  const { columns } = await readParquetBytes(bytes, {
    name: key,
    columns: MARKET_PART_COLUMNS.map((c) => c.name),
  });
  const col = (name: string) => columns.get(name) as ArrayLike<unknown>;
  const seq = columns.get('seq') as BigInt64Array;
  const tsInit = columns.get('ts_init') as BigInt64Array;
  const tsEvent = columns.get('ts_event') as BigInt64Array;
  const [inst, kind, side, level, price, size, tradeId, bidPx, bidSz, askPx, askSz] = [
    'instrument_key',
    'kind',
    'side',
    'level',
    'price',
    'size',
    'trade_id',
    'bid_px',
    'bid_sz',
    'ask_px',
    'ask_sz',
  ].map(col) as Array<ArrayLike<unknown>>;
  const out: SequencedMarketEvent[] = [];
  let lastSeq = -1;
  for (let i = 0; i < seq.length; i++) {
    const s = Number(seq[i]);
    const k = str(kind![i]);
    const base = {
      run,
      seq: s,
      instrument_key: str(inst![i]) ?? '',
      ts_init: tsInit[i] as bigint,
      ts_event: tsEvent[i] as bigint,
    };
    if (s < lastSeq) throw new ParquetFileError(key, `row ${i}: seq ${s} after ${lastSeq} (not in order)`);
    if (k === 'book') {
      const prev = out[out.length - 1];
      const snapshot =
        prev !== undefined && prev.kind === 'book' && prev.seq === s
          ? prev
          : (() => {
              const e: SequencedMarketEvent = { ...base, kind: 'book', bids: [], asks: [] };
              out.push(e);
              return e;
            })();
      if (snapshot.kind !== 'book') continue;
      const sd = str(side![i]);
      if (sd === null) continue;
      const lv = level![i];
      const list = sd === 'BID' ? snapshot.bids : sd === 'ASK' ? snapshot.asks : null;
      if (list === null || typeof lv !== 'number' || lv !== list.length) {
        throw new ParquetFileError(key, `row ${i}: book level ${String(lv)} ${String(sd)} out of order`);
      }
      list.push([dbl(price![i]), dbl(size![i])]);
    } else if (k === 'trade') {
      const sd = str(side![i]);
      out.push({
        ...base,
        kind: 'trade',
        price: dbl(price![i]),
        size: dbl(size![i]),
        side: sd === 'BUY' || sd === 'SELL' ? sd : null,
        trade_id: str(tradeId![i]),
      });
    } else if (k === 'quote') {
      out.push({
        ...base,
        kind: 'quote',
        bid_px: dbl(bidPx![i]),
        bid_sz: dbl(bidSz![i]),
        ask_px: dbl(askPx![i]),
        ask_sz: dbl(askSz![i]),
      });
    } else {
      throw new ParquetFileError(key, `row ${i}: unknown kind ${JSON.stringify(k)}`);
    }
    lastSeq = s;
  }
  return out;
}

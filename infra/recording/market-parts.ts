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

/** Encode the events of one part (one run, sorted by seq). Returns the bytes and the row count. */
export function encodeMarketPart(
  events: readonly SequencedMarketEvent[],
  meta: Readonly<Record<string, string>>,
): { bytes: Uint8Array; rows: number } {
  const seq: bigint[] = [];
  const tsInit: bigint[] = [];
  const tsEvent: bigint[] = [];
  const inst: string[] = [];
  const kind: string[] = [];
  const side: Array<string | null> = [];
  const level: Array<number | null> = [];
  const price: Array<number | null> = [];
  const size: Array<number | null> = [];
  const tradeId: Array<string | null> = [];
  const bidPx: Array<number | null> = [];
  const bidSz: Array<number | null> = [];
  const askPx: Array<number | null> = [];
  const askSz: Array<number | null> = [];
  const row = (e: SequencedMarketEvent) => {
    seq.push(BigInt(e.seq));
    tsInit.push(e.ts_init);
    tsEvent.push(e.ts_event);
    inst.push(e.instrument_key);
    kind.push(e.kind);
  };
  const l2 = (sd: string | null, lv: number | null, p: number | null, sz: number | null) => {
    side.push(sd);
    level.push(lv);
    price.push(p);
    size.push(sz);
    tradeId.push(null);
    bidPx.push(null);
    bidSz.push(null);
    askPx.push(null);
    askSz.push(null);
  };
  for (const e of events) {
    if (e.kind === 'trade') {
      row(e);
      side.push(e.side);
      level.push(null);
      price.push(e.price);
      size.push(e.size);
      tradeId.push(e.trade_id);
      bidPx.push(null);
      bidSz.push(null);
      askPx.push(null);
      askSz.push(null);
    } else if (e.kind === 'quote') {
      row(e);
      side.push(null);
      level.push(null);
      price.push(null);
      size.push(null);
      tradeId.push(null);
      bidPx.push(e.bid_px);
      bidSz.push(e.bid_sz);
      askPx.push(e.ask_px);
      askSz.push(e.ask_sz);
    } else {
      for (let i = 0; i < e.bids.length; i++) {
        row(e);
        l2('BID', i, e.bids[i]![0], e.bids[i]![1]);
      }
      for (let i = 0; i < e.asks.length; i++) {
        row(e);
        l2('ASK', i, e.asks[i]![0], e.asks[i]![1]);
      }
      // An empty snapshot (a cleared book) is still an event: one row without a level.
      if (e.bids.length === 0 && e.asks.length === 0) {
        row(e);
        l2(null, null, null, null);
      }
    }
  }
  const data = [
    seq,
    tsInit,
    tsEvent,
    inst,
    kind,
    side,
    level,
    price,
    size,
    tradeId,
    bidPx,
    bidSz,
    askPx,
    askSz,
  ];
  const rows = seq.length;
  const bytes = writeParquet({
    // seq and the times carry statistics; doubles are PLAIN (the dictionary trial rarely pays).
    columns: MARKET_PART_COLUMNS.map((def, i) => ({
      def,
      data: data[i]!,
      statistics: i < 3,
      ...(def.kind === 'DOUBLE' ? { encoding: 'PLAIN' as const } : {}),
    })),
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
  let snapshot: Extract<SequencedMarketEvent, { kind: 'book' }> | null = null;
  for (let i = 0; i < seq.length; i++) {
    const s = Number(seq[i]);
    if (s < lastSeq) throw new ParquetFileError(key, `row ${i}: seq ${s} after ${lastSeq} (not in order)`);
    const k = kind![i];
    const instrument_key = str(inst![i]) ?? '';
    const ts_init = tsInit[i] as bigint;
    const ts_event = tsEvent[i] as bigint;
    if (k === 'book') {
      if (snapshot === null || snapshot.seq !== s) {
        snapshot = { kind: 'book', instrument_key, ts_event, ts_init, bids: [], asks: [], run, seq: s };
        out.push(snapshot);
      }
      const sd = side![i];
      if (sd !== null && sd !== undefined) {
        const lv = level![i];
        const list = sd === 'BID' ? snapshot.bids : sd === 'ASK' ? snapshot.asks : null;
        if (list === null || typeof lv !== 'number' || lv !== list.length) {
          throw new ParquetFileError(key, `row ${i}: book level ${String(lv)} ${String(sd)} out of order`);
        }
        list.push([dbl(price![i]), dbl(size![i])]);
      }
    } else if (k === 'trade') {
      const sd = side![i];
      out.push({
        kind: 'trade',
        instrument_key,
        ts_event,
        ts_init,
        price: dbl(price![i]),
        size: dbl(size![i]),
        side: sd === 'BUY' || sd === 'SELL' ? sd : null,
        trade_id: str(tradeId![i]),
        run,
        seq: s,
      });
    } else if (k === 'quote') {
      out.push({
        kind: 'quote',
        instrument_key,
        ts_event,
        ts_init,
        bid_px: dbl(bidPx![i]),
        bid_sz: dbl(bidSz![i]),
        ask_px: dbl(askPx![i]),
        ask_sz: dbl(askSz![i]),
        run,
        seq: s,
      });
    } else {
      throw new ParquetFileError(key, `row ${i}: unknown kind ${JSON.stringify(k)}`);
    }
    lastSeq = s;
  }
  return out;
}

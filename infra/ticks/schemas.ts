/** Parquet column definitions of the tick files (SPEC "Tick data"). */
import type { TickKind } from '../../shared/data/tick-layout.ts';
import type { ColumnDef } from '../parquet/schema.ts';

export const TRADES_COLUMNS: readonly ColumnDef[] = [
  { name: 'ts_event', kind: 'TIMESTAMP_NS' },
  { name: 'price', kind: 'DOUBLE' },
  { name: 'size', kind: 'DOUBLE' },
  { name: 'side', kind: 'STRING' }, // aggressor: BUY | SELL
  { name: 'trade_id', kind: 'STRING' },
];

export const QUOTES_COLUMNS: readonly ColumnDef[] = [
  { name: 'ts_event', kind: 'TIMESTAMP_NS' },
  { name: 'bid_px', kind: 'DOUBLE' },
  { name: 'bid_sz', kind: 'DOUBLE' },
  { name: 'ask_px', kind: 'DOUBLE' },
  { name: 'ask_sz', kind: 'DOUBLE' },
];

export const BOOK_COLUMNS: readonly ColumnDef[] = [
  { name: 'ts_event', kind: 'TIMESTAMP_NS' },
  { name: 'side', kind: 'STRING' }, // BID | ASK
  { name: 'level', kind: 'INT32' }, // 1 = best
  { name: 'price', kind: 'DOUBLE' },
  { name: 'size', kind: 'DOUBLE' },
];

export const TICK_COLUMNS: Readonly<Record<TickKind, readonly ColumnDef[]>> = {
  trades: TRADES_COLUMNS,
  quotes: QUOTES_COLUMNS,
  book: BOOK_COLUMNS,
};

/** Every tick file is sorted by, and its row groups cut on, this column. */
export const TS_COLUMN = 'ts_event';

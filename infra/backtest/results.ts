/**
 * Writing a run's results (SPEC "Backtest results"): the four Parquet files with explicit schemas
 * (timestamps INT64 TIMESTAMP(NANOS) holding UTC epoch nanoseconds, quantities and prices DOUBLE,
 * the rest UTF-8 strings), then `summary.json` LAST, so a reader that sees summary.json sees a
 * complete run. A failed run gets `summary.failed.json` instead, and any summary.json of an
 * earlier attempt is removed first: a failure never leaves a summary that looks complete.
 *
 * Output bytes are deterministic: fixed `created_by`, no time in the footer, rows in merge order.
 * The only non-deterministic value is `wall_seconds`, the last key of summary.json.
 */
import type {
  EquityOut,
  FillOut,
  OrderOut,
  PositionOut,
  ResultTables,
  Summary,
} from '../../shared/backtest/merge.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { ColumnDef } from '../parquet/schema.ts';
import { type ColumnInput, writeParquet } from '../parquet/writer.ts';
import { FAILED_FILE, RESULT_FILES, resultKey, SUMMARY_FILE } from './keys.ts';

const PARQUET = 'application/vnd.apache.parquet';
const CREATED_BY = 'execution-platform backtest (hyparquet-writer)';

const ts = (name: string): ColumnDef => ({ name, kind: 'TIMESTAMP_NS' });
const str = (name: string, nullable = false): ColumnDef => ({ name, kind: 'STRING', nullable });
const dbl = (name: string, nullable = false): ColumnDef => ({ name, kind: 'DOUBLE', nullable });

export const ORDERS_SCHEMA: readonly ColumnDef[] = [
  str('order_id'),
  str('parent_order_id', true),
  str('operation_id'),
  str('instrument_key'),
  str('venue'),
  str('side'),
  str('order_type'),
  dbl('quantity'),
  dbl('price', true),
  str('status'),
  ts('ts_submitted'),
  ts('ts_last'),
];

export const FILLS_SCHEMA: readonly ColumnDef[] = [
  str('fill_id'),
  str('order_id'),
  str('instrument_key'),
  str('venue'),
  str('side'),
  dbl('quantity'),
  dbl('price'),
  dbl('fee'),
  str('fee_currency'),
  str('liquidity'),
  ts('ts_event'),
];

export const POSITIONS_SCHEMA: readonly ColumnDef[] = [
  ts('ts_event'),
  str('instrument_key'),
  dbl('quantity'),
  dbl('avg_price', true),
  dbl('realized_pnl'),
  dbl('unrealized_pnl'),
];

export const EQUITY_SCHEMA: readonly ColumnDef[] = [
  ts('ts_event'),
  dbl('equity'),
  dbl('cash'),
  dbl('exposure'),
];

/** Columnar values of `rows[*][def.name]` in the shape the Parquet writer takes. */
function columns<T extends object>(rows: readonly T[], schema: readonly ColumnDef[]): ColumnInput[] {
  return schema.map((def) => {
    const get = (r: T): unknown => (r as Record<string, unknown>)[def.name];
    if (def.kind === 'TIMESTAMP_NS') {
      const out = new BigInt64Array(rows.length);
      rows.forEach((r, i) => {
        const v = get(r);
        if (typeof v !== 'bigint') throw new RangeError(`${def.name} row ${i}: expected bigint nanoseconds`);
        out[i] = v;
      });
      return { def, data: out };
    }
    if (def.kind === 'DOUBLE' && !def.nullable) {
      const out = new Float64Array(rows.length);
      rows.forEach((r, i) => {
        const v = get(r);
        if (typeof v !== 'number') throw new RangeError(`${def.name} row ${i}: expected a number`);
        out[i] = v;
      });
      return { def, data: out };
    }
    const out: Array<string | number | null> = rows.map((r) => {
      const v = get(r);
      return typeof v === 'string' || typeof v === 'number' ? v : null;
    });
    return { def, data: out };
  });
}

function encode<T extends object>(rows: readonly T[], schema: readonly ColumnDef[]): Uint8Array {
  return writeParquet({ columns: columns(rows, schema), codec: 'SNAPPY', createdBy: CREATED_BY });
}

export function encodeOrders(rows: readonly OrderOut[]): Uint8Array {
  return encode(rows, ORDERS_SCHEMA);
}
export function encodeFills(rows: readonly FillOut[]): Uint8Array {
  return encode(rows, FILLS_SCHEMA);
}
export function encodePositions(rows: readonly PositionOut[]): Uint8Array {
  return encode(rows, POSITIONS_SCHEMA);
}
export function encodeEquity(rows: readonly EquityOut[]): Uint8Array {
  return encode(rows, EQUITY_SCHEMA);
}

/** summary.json text: 2-space JSON with a trailing newline. */
export function summaryText(summary: Summary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

/** Write the five files of a completed run: the Parquet files, then summary.json last. */
export async function writeResults(
  blobs: BlobStore,
  runId: string,
  tables: ResultTables,
  summary: Summary,
): Promise<string[]> {
  const [orders, fills, positions, equity] = RESULT_FILES;
  const files: Array<[string, Uint8Array]> = [
    [orders, encodeOrders(tables.orders)],
    [fills, encodeFills(tables.fills)],
    [positions, encodePositions(tables.positions)],
    [equity, encodeEquity(tables.equity)],
  ];
  const keys: string[] = [];
  for (const [name, bytes] of files) {
    const key = resultKey(runId, name);
    await blobs.put(key, bytes, { contentType: PARQUET });
    keys.push(key);
  }
  await blobs.delete(resultKey(runId, FAILED_FILE));
  const key = resultKey(runId, SUMMARY_FILE);
  await blobs.put(key, summaryText(summary), { contentType: 'application/json' });
  keys.push(key);
  return keys;
}

/** One problem of a failed run, naming what it is about. */
export interface RunError {
  stage: 'signals' | 'plan' | 'window' | 'merge';
  window_id?: string | undefined;
  file?: string | undefined;
  /** Where in the input (e.g. `signals.jsonl:12.target_position`). */
  path?: string | undefined;
  code: string;
  message: string;
}

export interface RunFailure {
  run_id: string;
  status: 'failed';
  errors: RunError[];
  windows: { total: number; completed: number; failed: number };
  wall_seconds: number;
}

/** Record a failed run: remove any summary.json, write summary.failed.json. */
export async function writeFailure(blobs: BlobStore, failure: RunFailure): Promise<string> {
  await blobs.delete(resultKey(failure.run_id, SUMMARY_FILE));
  const key = resultKey(failure.run_id, FAILED_FILE);
  await blobs.put(key, `${JSON.stringify(failure, null, 2)}\n`, { contentType: 'application/json' });
  return key;
}

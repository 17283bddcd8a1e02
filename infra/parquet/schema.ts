/**
 * Column definitions for the Parquet files the platform writes (tick data, backtest results), mapped
 * to explicit Parquet schema elements. hyparquet-writer guesses types from data when no schema is
 * given, which cannot produce TIMESTAMP(NANOS) and guesses wrong on empty or integral columns, so
 * every file we write carries an explicit schema built here.
 */
import type { SchemaElement } from 'hyparquet';

/** Logical column types we write. */
export type ColumnKind =
  | 'TIMESTAMP_NS' // INT64 TIMESTAMP(unit=NANOS), UTC epoch nanoseconds; data: BigInt64Array | bigint[]
  | 'DOUBLE' // data: Float64Array | number[]
  | 'STRING' // BYTE_ARRAY UTF8; data: string[]
  | 'INT32' // data: Int32Array | number[]
  | 'INT64' // data: BigInt64Array | bigint[]
  | 'BOOLEAN' // data: boolean[]
  | 'DECIMAL'; // INT64 DECIMAL(precision ≤ 18, scale); data: decimal strings or unscaled bigints

export interface ColumnDef {
  name: string;
  kind: ColumnKind;
  /** Allow nulls (OPTIONAL). Default false (REQUIRED). */
  nullable?: boolean | undefined;
  /** DECIMAL only: total digits, 1..18 (stored as INT64). */
  precision?: number | undefined;
  /** DECIMAL only: digits after the point, 0..precision. */
  scale?: number | undefined;
  /**
   * TIMESTAMP_NS only: the Parquet `isAdjustedToUTC` flag. Default false. The values are UTC epoch
   * nanoseconds either way; with `true` (instant semantics) DuckDB reads the column as TIMESTAMPTZ,
   * which has microsecond precision and silently drops the last three digits, and pandas/pyarrow
   * attach tz=UTC. With `false` DuckDB reads TIMESTAMP_NS exactly and pyarrow gives timestamp[ns].
   */
  adjustedToUtc?: boolean | undefined;
}

/** The largest precision an INT64-backed DECIMAL can hold. */
export const MAX_INT64_DECIMAL_PRECISION = 18;

function decimalParams(def: ColumnDef): { precision: number; scale: number } {
  const { precision, scale } = def;
  if (
    precision === undefined ||
    !Number.isInteger(precision) ||
    precision < 1 ||
    precision > MAX_INT64_DECIMAL_PRECISION
  ) {
    throw new RangeError(
      `column ${def.name}: DECIMAL needs an integer precision 1..${MAX_INT64_DECIMAL_PRECISION}, got ${String(precision)}`,
    );
  }
  if (scale === undefined || !Number.isInteger(scale) || scale < 0 || scale > precision) {
    throw new RangeError(
      `column ${def.name}: DECIMAL needs an integer scale 0..${precision}, got ${String(scale)}`,
    );
  }
  return { precision, scale };
}

/** The Parquet schema element for one column. */
export function schemaElementFor(def: ColumnDef): SchemaElement {
  const repetition_type = def.nullable ? 'OPTIONAL' : 'REQUIRED';
  const name = def.name;
  switch (def.kind) {
    case 'TIMESTAMP_NS':
      return {
        name,
        repetition_type,
        type: 'INT64',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: def.adjustedToUtc ?? false, unit: 'NANOS' },
      };
    case 'DOUBLE':
      return { name, repetition_type, type: 'DOUBLE' };
    case 'STRING':
      return {
        name,
        repetition_type,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      };
    case 'INT32':
      return { name, repetition_type, type: 'INT32' };
    case 'INT64':
      return { name, repetition_type, type: 'INT64' };
    case 'BOOLEAN':
      return { name, repetition_type, type: 'BOOLEAN' };
    case 'DECIMAL': {
      const { precision, scale } = decimalParams(def);
      return {
        name,
        repetition_type,
        type: 'INT64',
        converted_type: 'DECIMAL',
        precision,
        scale,
        logical_type: { type: 'DECIMAL', precision, scale },
      };
    }
  }
}

/** The full schema (root + one leaf per column) for a flat table. */
export function parquetSchemaFor(defs: readonly ColumnDef[]): SchemaElement[] {
  const names = new Set<string>();
  for (const d of defs) {
    if (!d.name) throw new RangeError('column name must not be empty');
    if (names.has(d.name)) throw new RangeError(`duplicate column name: ${d.name}`);
    names.add(d.name);
  }
  return [{ name: 'root', num_children: defs.length }, ...defs.map(schemaElementFor)];
}

/** The DECIMAL scale/precision of a validated definition (throws for other kinds). */
export function decimalOf(def: ColumnDef): { precision: number; scale: number } {
  if (def.kind !== 'DECIMAL') throw new RangeError(`column ${def.name} is ${def.kind}, not DECIMAL`);
  return decimalParams(def);
}

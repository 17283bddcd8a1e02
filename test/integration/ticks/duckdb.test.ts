/**
 * DuckDB as an independent Parquet reader: our tick files must read with the SPEC column names and
 * types, the exact nanosecond timestamps and the row-group layout we claim.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minuteRowGroupSizes, writeParquet } from '../../../infra/parquet/writer.ts';
import { writeTickDay } from '../../../infra/ticks/writer.ts';
import type { SyntheticDay } from '../../../shared/data/synthetic.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import { ETH_SPOT, syntheticDays, tempBlobStore } from '../../unit/ticks/helpers.ts';

let root: string;
let cleanup: () => Promise<void>;
let day: SyntheticDay;
let instance: DuckDBInstance;
let con: DuckDBConnection;

const file = (kind: 'trades' | 'quotes' | 'book') =>
  path.join(root, tickFileKey(ETH_SPOT, '2025-07-01', kind));

async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Array<Record<string, unknown>>;
}

async function describeTypes(f: string): Promise<Record<string, unknown>> {
  const r = await rows(`DESCRIBE SELECT * FROM read_parquet('${f}')`);
  return Object.fromEntries(r.map((x) => [x.column_name, x.column_type]));
}

beforeAll(async () => {
  const store = await tempBlobStore('duckdb');
  root = store.root;
  cleanup = store.cleanup;
  const [d] = syntheticDays(ETH_SPOT, ['2025-07-01'], { seed: 5, tradesPerDay: 20_000, l2Levels: 2 });
  if (!d) throw new Error('no day');
  day = d;
  await writeTickDay(store.blobs, ETH_SPOT, d.day, d);
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
});

afterAll(async () => {
  con?.closeSync();
  instance?.closeSync();
  await cleanup?.();
});

describe('DuckDB reads our tick files', () => {
  it('with the SPEC column names and types', async () => {
    expect(await describeTypes(file('trades'))).toEqual({
      ts_event: 'TIMESTAMP_NS',
      price: 'DOUBLE',
      size: 'DOUBLE',
      side: 'VARCHAR',
      trade_id: 'VARCHAR',
    });
    expect(await describeTypes(file('quotes'))).toEqual({
      ts_event: 'TIMESTAMP_NS',
      bid_px: 'DOUBLE',
      bid_sz: 'DOUBLE',
      ask_px: 'DOUBLE',
      ask_sz: 'DOUBLE',
    });
    expect(await describeTypes(file('book'))).toEqual({
      ts_event: 'TIMESTAMP_NS',
      side: 'VARCHAR',
      level: 'INTEGER',
      price: 'DOUBLE',
      size: 'DOUBLE',
    });
  });

  it('with the exact values, nanoseconds included', async () => {
    const t = day.trades;
    const n = t.ts.length;
    const [agg] = await rows(
      `SELECT count(*) AS n, epoch_ns(min(ts_event)) AS first, epoch_ns(max(ts_event)) AS last,
              count(*) FILTER (WHERE side = 'BUY') AS buys, sum(size) AS volume
         FROM read_parquet('${file('trades')}')`,
    );
    expect(agg?.n).toBe(String(n));
    expect(agg?.first).toBe(String(t.ts[0]));
    expect(agg?.last).toBe(String(t.ts[n - 1]));
    expect(agg?.buys).toBe(String(t.side.filter((s) => s === 1).length));
    expect(agg?.volume as number).toBeCloseTo(
      t.size.reduce((s, x) => s + x, 0),
      6,
    );
    expect((t.ts[0] as bigint) % 1000n).not.toBe(0n); // really sub-microsecond

    const sample = await rows(
      `SELECT epoch_ns(ts_event) AS ts, price, size, side, trade_id FROM read_parquet('${file('trades')}') LIMIT 5 OFFSET 1000`,
    );
    expect(sample).toEqual(
      [1000, 1001, 1002, 1003, 1004].map((i) => ({
        ts: String(t.ts[i]),
        price: t.price[i],
        size: t.size[i],
        side: t.side[i] === 1 ? 'BUY' : 'SELL',
        trade_id: t.trade_id[i],
      })),
    );
    const [q] = await rows(
      `SELECT count(*) AS n, sum(ask_px - bid_px) > 0 AS positive, epoch_ns(max(ts_event)) AS last FROM read_parquet('${file('quotes')}')`,
    );
    expect(q).toEqual({
      n: String(day.quotes.ts.length),
      positive: true,
      last: String(day.quotes.ts[day.quotes.ts.length - 1]),
    });
  });

  it('with row groups cut at whole minutes and at most 100,000 rows', async () => {
    for (const kind of ['trades', 'quotes'] as const) {
      const meta = await rows(
        `SELECT row_group_id AS id, row_group_num_rows AS n, stats_min_value AS lo, stats_max_value AS hi, compression
           FROM parquet_metadata('${file(kind)}') WHERE path_in_schema = 'ts_event' ORDER BY row_group_id`,
      );
      const ts = kind === 'trades' ? day.trades.ts : day.quotes.ts;
      expect(meta.map((m) => Number(m.n))).toEqual(minuteRowGroupSizes(ts));
      expect(meta.length).toBeGreaterThan(1000);
      for (const m of meta) {
        expect(Number(m.n)).toBeLessThanOrEqual(100_000);
        expect(m.compression).toBe('SNAPPY');
      }
      // Each row group (row ranges from the metadata) lies inside one minute, by DuckDB's reading of the rows.
      let start = 0;
      const bounds = meta.map((m) => {
        const b = [start, start + Number(m.n)];
        start += Number(m.n);
        return b;
      });
      const values = bounds.map(([a, b]) => `(${a}, ${b})`).join(',');
      const [check] = await rows(
        `WITH g(a, b) AS (VALUES ${values}),
              t AS (SELECT file_row_number AS r, date_trunc('minute', ts_event) AS m FROM read_parquet('${file(kind)}', file_row_number = true))
         SELECT max(cnt) AS most_minutes FROM (SELECT g.a, count(DISTINCT t.m) AS cnt FROM g JOIN t ON t.r >= g.a AND t.r < g.b GROUP BY g.a)`,
      );
      expect(Number(check?.most_minutes)).toBe(1);
    }
  });

  it('reads DECIMAL columns exactly; instant-semantics timestamps would lose nanoseconds', async () => {
    const f = path.join(root, 'decimal.parquet');
    const ts = new BigInt64Array([1_751_328_000_123_456_789n]);
    await writeFile(
      f,
      writeParquet({
        columns: [
          { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: ts },
          { def: { name: 'ts_utc', kind: 'TIMESTAMP_NS', adjustedToUtc: true }, data: ts },
          {
            def: { name: 'quantity', kind: 'DECIMAL', precision: 18, scale: 8 },
            data: ['1234567890.12345678'],
          },
        ],
      }),
    );
    expect(await describeTypes(f)).toEqual({
      ts_event: 'TIMESTAMP_NS',
      ts_utc: 'TIMESTAMP WITH TIME ZONE',
      quantity: 'DECIMAL(18,8)',
    });
    const [r] = await rows(
      `SELECT epoch_ns(ts_event) AS ns, epoch_ns(ts_utc) AS utc_ns, CAST(quantity AS VARCHAR) AS q FROM read_parquet('${f}')`,
    );
    expect(r).toEqual({ ns: '1751328000123456789', utc_ns: '1751328000123456000', q: '1234567890.12345678' });
  });
});

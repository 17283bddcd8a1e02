/**
 * `npm run replay` end to end on a local folder: a recorded session (market data + journal written
 * through the Recorder) is validated, replayed through the backtest shell, compared, and the five
 * result files plus parity.json are written and read back with an independent Parquet reader
 * (DuckDB). SHADOW: identical → exit 0, one altered fill → exit 1. LIVE: within the tolerances →
 * exit 0, a fill price altered in the recording → the tolerance check fails, exit 1.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { openRecording } from '../../../infra/recording/reader.ts';
import { Recorder, type RecorderOptions } from '../../../infra/recording/recorder.ts';
import { replayRecording } from '../../../infra/recording/replay.ts';
import { runReplay } from '../../../infra/recording/replay-run.ts';
import { main } from '../../../scripts/replay.ts';
import type { ParentExecution } from '../../../shared/recording/executions.ts';
import type { RecordingManifest, RecordingMode } from '../../../shared/recording/format.ts';
import { DEFAULT_PARITY_TOLERANCES, type ParityReport } from '../../../shared/recording/parity.ts';
import { BTC, BTC_SPEC, MS, SEC, T0 } from '../../support/recording.ts';

const dirs: string[] = [];
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'replay-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(blobs: LocalBlobStore, mode: RecordingMode): RecorderOptions {
  return {
    blobs,
    session_id: `${mode.toLowerCase()}-binance-spot-2025-07-01`,
    mode,
    venues: ['BINANCE-SPOT'],
    seed: 11,
    config: { venues: [{ id: 'BINANCE-SPOT', mode, latency_ms: 5 }] },
    instruments: [BTC_SPEC],
    starting_cash: '100000',
    auto_flush: false,
  };
}

/** Two minutes of a quoted market with a trade every 250 ms; received 1 ms after the venue time. */
function feed(r: Recorder): void {
  for (let i = 0; i < 480; i++) {
    const t = T0 + BigInt(i) * 250n * MS;
    const mid = 60_000 + 5 * Math.sin(i / 20);
    r.marketEvent({
      kind: 'quote',
      instrument_key: BTC,
      ts_event: t,
      ts_init: t + MS,
      bid_px: Math.round((mid - 0.5) * 100) / 100,
      bid_sz: 2,
      ask_px: Math.round((mid + 0.5) * 100) / 100,
      ask_sz: 2,
    });
    r.marketEvent({
      kind: 'trade',
      instrument_key: BTC,
      ts_event: t + 100n * MS,
      ts_init: t + 101n * MS,
      price: Math.round((mid + (i % 2 ? 0.5 : -0.5)) * 100) / 100,
      size: 0.05,
      side: i % 2 ? 'BUY' : 'SELL',
      trade_id: `t${i}`,
    });
  }
}

function routeParent(r: Recorder): void {
  r.record({
    type: 'parent_routed',
    ts_init: T0 + 5n * SEC,
    arrival_mid: '60000',
    parent: {
      order_id: 'ORD-1',
      operation_id: 'OP-1',
      strategy_id: 's1',
      instrument_key: BTC,
      venue: 'BINANCE-SPOT',
      side: 'BUY',
      order_type: 'MARKET',
      quantity: '0.3',
      price: null,
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60, max_slices: 3 },
    },
  });
}

/** What the edge would have journaled for these executions (children, acks, fills, final states). */
function journalExecutions(r: Recorder, parents: readonly ParentExecution[], venue = 'BINANCE-SPOT'): void {
  for (const p of parents) {
    for (const c of p.children) {
      const cid = `cid-${c.order_id}`;
      r.record({
        type: 'child_submitted',
        ts_init: c.ts_submitted,
        parent_order_id: p.parent_order_id,
        order_id: c.order_id,
        mid_at_arrival: c.mid_at_arrival,
        request: {
          client_order_id: cid,
          instrument_key: p.instrument_key,
          side: c.side,
          order_type: c.order_type,
          quantity: c.quantity,
          price: c.price,
          time_in_force: c.time_in_force,
        },
      });
      for (const f of c.fills) {
        r.record({
          type: 'venue_report',
          ts_init: f.ts_event,
          venue,
          report: {
            kind: 'trade',
            trade: {
              trade_id: f.fill_id,
              venue_order_id: `v-${c.order_id}`,
              client_order_id: cid,
              instrument_key: p.instrument_key,
              side: c.side,
              quantity: f.quantity,
              price: f.price,
              fee: f.fee,
              fee_currency: f.fee_currency,
              liquidity: f.liquidity,
              ts_event: String(f.ts_event),
            },
          },
        });
      }
      const status = { FILLED: 'FILLED', CANCELED: 'CANCELED', REJECTED: 'REJECTED', EXPIRED: 'EXPIRED' }[
        c.status as string
      ];
      if (status !== undefined && status !== 'FILLED') {
        r.record({
          type: 'venue_report',
          ts_init: c.ts_last,
          venue,
          report: {
            kind: 'order',
            order: {
              client_order_id: cid,
              venue_order_id: `v-${c.order_id}`,
              instrument_key: p.instrument_key,
              side: c.side,
              status: status as 'CANCELED',
              quantity: c.quantity,
              filled_quantity: '0',
              avg_price: null,
              ts_event: String(c.ts_last),
            },
          },
        });
      }
    }
  }
}

/**
 * Record a session whose fills are what the backtest shell produces for its inputs (the SHADOW
 * promise), with `alter` applied to the journaled executions (a LIVE venue's different fills).
 */
async function recordSession(mode: RecordingMode, alter: (p: ParentExecution[]) => void = () => {}) {
  // The executions the shell produces from this market data and parent …
  const scratch = new LocalBlobStore(folder(), { durable: false });
  const s = await Recorder.open(options(scratch, mode), T0);
  feed(s);
  routeParent(s);
  await s.close(T0 + 120n * SEC);
  const parents = (await replayRecording(await openRecording(scratch))).replayed.parents;
  expect(parents[0]?.children.length).toBe(3);
  alter(parents);
  // … journaled as the session's own record.
  const root = folder();
  const blobs = new LocalBlobStore(root, { durable: false });
  const r = await Recorder.open(options(blobs, mode), T0);
  feed(r);
  await r.flush();
  routeParent(r);
  journalExecutions(r, parents);
  await r.close(T0 + 120n * SEC);
  return { root, blobs };
}

async function duckRows(file: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
  conn.closeSync();
  return rows;
}

describe('replay of a SHADOW recording', () => {
  it('replays identically: 0 mismatches, exit 0, the five result files and parity.json', async () => {
    const { root } = await recordSession('SHADOW');
    const out = folder();
    const result = await main(['node', 'replay', '--recording', root, '--out', out, '--quiet']);
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
    const report = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8')) as ParityReport;
    expect(report.verdict).toBe('identical');
    expect(report.totals.mismatches).toBe(0);
    expect(report.totals.child_orders).toEqual({ recorded: 3, replayed: 3 });
    expect(report.totals.fills.recorded).toBeGreaterThan(0);
    expect(report.totals.pnl.diff).toBe(0);
    expect(report.parents[0]?.children[0]?.recorded).toEqual(report.parents[0]?.children[0]?.replayed);
    expect(result?.keys).toEqual([
      'orders.parquet',
      'fills.parquet',
      'positions.parquet',
      'equity_curve.parquet',
      'parity.json',
      'summary.json',
    ]);
    const orders = await duckRows(join(out, 'orders.parquet'));
    expect(orders.length).toBe(4); // the parent and its three children
    const fills = await duckRows(join(out, 'fills.parquet'));
    expect(fills.length).toBe(report.totals.fills.replayed);
    expect((await duckRows(join(out, 'positions.parquet'))).length).toBeGreaterThan(0);
    expect((await duckRows(join(out, 'equity_curve.parquet'))).length).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ fills: fills.length, replay: { verdict: 'identical', mismatches: 0 } });
  });

  it('one fill that differs is listed, and the replay exits 1', async () => {
    const { blobs } = await recordSession('SHADOW', (parents) => {
      const f = parents[0]!.children[1]!.fills[0]!;
      f.ts_event += 1n;
    });
    const out = new LocalBlobStore(folder(), { durable: false });
    const r = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
    expect(r.report.exit_code).toBe(1);
    expect(r.report.totals.mismatching_fills).toBe(1);
    expect(r.report.parents[0]?.mismatches).toEqual([
      expect.objectContaining({ path: 'children[1].fills[0].ts_event' }),
    ]);
  });
});

/** Change a fill price inside a recorded journal part and re-seal the manifest (a deliberate edit). */
function alterFillPrice(root: string, from: string, to: string): void {
  const manifestPath = join(root, 'recordings/live-binance-spot-2025-07-01/manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as RecordingManifest;
  for (const s of manifest.segments) {
    if (s.journal === null) continue;
    const path = join(root, s.journal.key);
    const text = readFileSync(path, 'utf8');
    const needle = `"price":"${from}"`;
    if (!text.includes(needle)) continue;
    const edited = text.replace(needle, `"price":"${to}"`);
    writeFileSync(path, edited);
    s.journal.bytes = Buffer.byteLength(edited);
    s.journal.sha256 = createHash('sha256').update(edited).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    return;
  }
  throw new Error(`no fill at ${from}`);
}

describe('replay of a LIVE recording', () => {
  it('reports the differences and passes within the tolerances; an altered fill price fails them', async () => {
    let firstPrice = '';
    const { root, blobs } = await recordSession('LIVE', (parents) => {
      // The real venue filled a hair better than our simulation (0.01 on ~60,000).
      const f = parents[0]!.children[0]!.fills[0]!;
      firstPrice = f.price;
      f.fill_id = 'venue-trade-991';
      f.price = String(Number(f.price) - 0.01);
    });
    firstPrice = String(Number(firstPrice) - 0.01);
    const out = new LocalBlobStore(folder(), { durable: false });
    const ok = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
    expect(ok.report.mode).toBe('LIVE');
    expect(ok.report.totals.mismatches).toBe(1);
    expect(ok.report.tolerance_check.applied).toBe(true);
    expect(ok.report.verdict).toBe('within_tolerance');
    expect(ok.report.exit_code).toBe(0);
    expect(Math.abs(ok.report.totals.implementation_shortfall_bps.diff ?? 1)).toBeLessThan(0.5);

    // A fill price altered in the recording by 30 (5 bps on that fill): outside the tolerances.
    alterFillPrice(root, firstPrice, String(Number(firstPrice) + 30));
    const bad = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
    expect(bad.report.verdict).toBe('outside_tolerance');
    expect(bad.report.exit_code).toBe(1);
    expect(bad.report.tolerance_check.breaches.map((b) => b.metric)).toContain(
      'implementation_shortfall_bps',
    );
    const cli = folder();
    await main(['node', 'replay', '--recording', root, '--out', cli, '--quiet']);
    expect(process.exitCode).toBe(1);
    // Looser tolerances from the command line accept it.
    await main([
      'node',
      'replay',
      '--recording',
      root,
      '--out',
      cli,
      '--quiet',
      '--pnl-pct',
      '1',
      '--is-bps',
      '10',
      '--slippage-bps',
      '10',
    ]);
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
  });
});

describe('a refused recording', () => {
  it('names the file and the problem, writes nothing and exits 1', async () => {
    const { root } = await recordSession('SHADOW');
    rmSync(join(root, 'recordings/shadow-binance-spot-2025-07-01/market/r0001-p000001.parquet'));
    const out = folder();
    const errors: string[] = [];
    const orig = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      await main(['node', 'replay', '--recording', root, '--out', out, '--quiet']);
    } finally {
      console.error = orig;
    }
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    expect(errors.join('\n')).toMatch(
      /recordings\/shadow-binance-spot-2025-07-01\/market\/r0001-p000001\.parquet: missing/,
    );
    expect(await new LocalBlobStore(out).list('')).toEqual([]);
  });
});

describe('replay with the session gate the edge used (trading_schedule)', () => {
  /** Closed until T0 + 30 s, then open; the edge read it when the parent arrived. */
  async function replayWith(policy: 'refuse' | 'queue' | null) {
    const blobs = new LocalBlobStore(folder(), { durable: false });
    const r = await Recorder.open(options(blobs, 'SHADOW'), T0);
    feed(r);
    if (policy !== null) {
      r.record({
        type: 'trading_schedule',
        ts_init: T0 + 5n * SEC,
        venue: 'BINANCE-SPOT',
        instrument_key: BTC,
        policy,
        schedule: {
          sessions: [{ start: String(T0 + 30n * SEC), end: String(T0 + 3600n * SEC) }],
          horizon: String(T0 + 86_400n * SEC),
        },
      });
    }
    routeParent(r);
    await r.close(T0 + 120n * SEC);
    return (await replayRecording(await openRecording(blobs))).replayed.parents[0]?.children ?? [];
  }
  const view = (cs: Awaited<ReturnType<typeof replayWith>>) =>
    cs.map((c) => ({ id: c.order_id.slice(-2), status: c.status, at: (c.ts_submitted - T0) / SEC }));

  it('none recorded (a venue without sessions): the TWAP slices go out on their schedule', async () => {
    expect(view(await replayWith(null)).map((c) => c.at)).toEqual([5n, 25n, 45n]);
  });

  it('refuse: the slices before the open are denied with the next open named, as the edge did', async () => {
    const cs = await replayWith('refuse');
    expect(view(cs).slice(0, 2)).toEqual([
      { id: 'S1', status: 'DENIED', at: 5n },
      { id: 'S2', status: 'DENIED', at: 25n },
    ]);
    expect(cs[0]?.reason).toContain('trading_hours: outside trading hours (next session opens');
    expect(view(cs)[2]).toMatchObject({ id: 'S3', at: 45n });
    expect(view(cs)[2]?.status).not.toBe('DENIED');
  });

  it('queue: nothing before the open; the slices due by then go out at the open', async () => {
    const cs = view(await replayWith('queue'));
    expect(cs[0]).toMatchObject({ at: 30n });
    expect(cs.every((c) => c.status !== 'DENIED' && c.at >= 30n)).toBe(true);
  });
});

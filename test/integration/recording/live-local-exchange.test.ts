/**
 * A LIVE session recorded and replayed: the venue edge trades through the real ccxt client against
 * the local Binance-spot exchange (dev/local-exchange) with a Recorder attached at its hook points
 * (market data, routed parents, children sent, venue reports, trading-state changes), then
 * `npm run replay`'s runner replays the recording through the backtest shell. The report's figures
 * are printed; tolerances just above the measured differences pass (exit 0), and the same
 * tolerances fail (exit 1) once a fill price is altered in the recording.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUMENTS, type LocalExchange } from '../../../dev/local-exchange/index.ts';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { Recorder } from '../../../infra/recording/recorder.ts';
import { runReplay } from '../../../infra/recording/replay-run.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import type { RecordingManifest } from '../../../shared/recording/format.ts';
import {
  DEFAULT_PARITY_TOLERANCES,
  formatParityTable,
  type ParityReport,
} from '../../../shared/recording/parity.ts';
import { NO_LIMITS } from '../../../shared/risk/limits.ts';
import {
  BTC,
  clock,
  createRoutedOrder,
  EdgeOnExchange,
  localExchange,
  publishRoute,
  untilStatus,
  VENUE,
} from '../edge/support.ts';

let ex: LocalExchange;
const dirs: string[] = [];
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'live-recording-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  ex = await localExchange();
});
afterAll(async () => {
  await ex?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Change one fill price in the recorded journal and re-seal the manifest (a deliberate edit). */
function alterFirstFillPrice(root: string, sessionId: string, factor: number): { from: string; to: string } {
  const manifestPath = join(root, `recordings/${sessionId}/manifest.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as RecordingManifest;
  for (const s of manifest.segments) {
    if (s.journal === null) continue;
    const path = join(root, s.journal.key);
    const text = readFileSync(path, 'utf8');
    const m = /"kind":"trade","trade":\{[^}]*"price":"([0-9.]+)"/.exec(text);
    if (m?.[1] === undefined) continue;
    const from = m[1];
    const to = (Number(from) * factor).toFixed(2);
    const edited = text.replace(m[0], m[0].replace(`"price":"${from}"`, `"price":"${to}"`));
    writeFileSync(path, edited);
    s.journal.bytes = Buffer.byteLength(edited);
    s.journal.sha256 = createHash('sha256').update(edited).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    return { from, to };
  }
  throw new Error('no recorded fill');
}

describe('a LIVE session against the local exchange, recorded and replayed', () => {
  it('reports the figures; an altered fill price fails the tolerance check', async () => {
    const root = folder();
    const blobs = new LocalBlobStore(root, { durable: false });
    const spec = (DEFAULT_INSTRUMENTS as InstrumentSpec[]).find((s) => s.instrument_key === BTC);
    expect(spec).toBeDefined();
    const recorder = await Recorder.open(
      {
        blobs,
        session_id: 'binance-spot-live-it',
        mode: 'LIVE',
        venues: [VENUE],
        seed: 42,
        config: { venues: [{ id: VENUE, mode: 'LIVE', latency_ms: 5 }], risk_limits: NO_LIMITS },
        instruments: [spec as InstrumentSpec],
        starting_cash: '100000',
        flush_interval_ms: 200,
      },
      clock.now(),
    );
    const ports = {
      orders: LocalOrderStore.memory(),
      positions: LocalPositionStore.memory(),
      bus: new MemoryEventBus(),
      algoStates: LocalAlgoStateStore.memory(),
      tradingState: LocalTradingStateStore.memory(),
      market: new LocalMarketStateStore(),
    };
    const h = new EdgeOnExchange(ex, ports, {}, new Map([[VENUE, recorder]]));
    try {
      await h.start();
      // Let market data flow, then a TWAP parent and a direct order.
      await new Promise((r) => setTimeout(r, 1_000));
      const twap = await createRoutedOrder(ports.orders, 'OP-REC-TWAP', {
        quantity: '0.03',
        exec_algorithm: 'TWAP',
        exec_algorithm_params: { duration_sec: 3, max_slices: 3 },
      });
      await publishRoute(ports.bus, twap);
      const direct = await createRoutedOrder(ports.orders, 'OP-REC-NORMAL', {
        quantity: '0.01',
        side: 'SELL',
      });
      await publishRoute(ports.bus, direct);
      await untilStatus(ports.orders, 'OP-REC-TWAP', 'FILLED', 30_000).catch(async (e) => {
        console.log(h.logs.slice(-40).join('\n'), await ports.orders.get('OP-REC-TWAP'), recorder.stats());
        throw e;
      });
      await untilStatus(ports.orders, 'OP-REC-NORMAL', 'FILLED', 30_000);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await h.stop();
      await recorder.close(clock.now());
    }
    expect(recorder.stats().dropped_market_events).toBe(0);

    const out = new LocalBlobStore(folder(), { durable: false });
    const first = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
    const r = first.report;
    console.info(`LIVE session replay (local exchange):\n${formatParityTable(r)}`);
    expect(r.mode).toBe('LIVE');
    expect(r.tolerance_check.applied).toBe(true);
    expect(r.totals.parents).toBe(2);
    expect(r.totals.child_orders.recorded).toBe(4); // three TWAP slices and the direct order
    expect(r.totals.fills.recorded).toBeGreaterThanOrEqual(4);
    expect(r.totals.pnl.recorded).not.toBeNull();
    expect(first.market_events).toBeGreaterThan(0);
    const written = (await out.list('')).map((b) => b.key);
    expect(written).toEqual(
      expect.arrayContaining([
        'orders.parquet',
        'fills.parquet',
        'positions.parquet',
        'equity_curve.parquet',
        'parity.json',
        'summary.json',
      ]),
    );

    // Tolerances just above what this session measured: the unaltered recording passes …
    const t = r.totals;
    const tolerances = {
      pnl_pct: (t.pnl.diff_pct ?? 0) + 0.01,
      implementation_shortfall_bps: Math.abs(t.implementation_shortfall_bps.diff ?? 0) + 0.5,
      slippage_bps: Math.abs(t.slippage_bps.diff ?? 0) + 1,
    };
    const pass = await runReplay({ recording: blobs, out, tolerances });
    expect(pass.report.verdict).toBe('within_tolerance');
    expect(pass.report.exit_code).toBe(0);

    // … and a fill price altered by 1 % in the recording fails the same tolerances.
    const edit = alterFirstFillPrice(root, 'binance-spot-live-it', 1.01);
    const fail = await runReplay({ recording: blobs, out, tolerances });
    const f: ParityReport = fail.report;
    console.info(`after altering a recorded fill price ${edit.from} → ${edit.to}:\n${formatParityTable(f)}`);
    expect(f.verdict).toBe('outside_tolerance');
    expect(f.exit_code).toBe(1);
    expect(f.tolerance_check.breaches.map((b) => b.metric)).toContain('pnl_pct');
    expect(f.totals.pnl.recorded).not.toBe(t.pnl.recorded);
  }, 90_000);
});

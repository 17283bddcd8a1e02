import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import {
  type ReconciliationDifferenceMessage,
  ReconciliationDifferenceMessageSchema,
} from '../../../shared/recon/messages.ts';
import { LocalReconciliationLog, MemoryReconciliationLog } from '../../../stateful/edge/reconcile/log.ts';
import { createReconciler, type ReconcilerDeps } from '../../../stateful/edge/reconcile/reconciler.ts';
import { BTC_SPEC, createRoutedOrder, RecordingBus, T0 } from '../venues/fixtures.ts';
import { FakeVenue } from './fake-venue.ts';

const V = 'BINANCE-SPOT';
const ACC = 'ACC-1';
const BTC = BTC_SPEC.instrument_key;
const SEC = 1_000_000_000n;

describe('createReconciler', () => {
  let orders: LocalOrderStore;
  let positions: LocalPositionStore;
  let bus: RecordingBus;
  let clock: TestClock;
  let recorder: ExecutionRecorder;
  let venue: FakeVenue;
  let journal: MemoryReconciliationLog;

  const reconciler = (over: Partial<ReconcilerDeps> = {}) =>
    createReconciler({
      venue,
      recorder,
      orders,
      positions,
      bus,
      clock,
      journal,
      intervalMs: 0,
      ...over,
    });

  const differenceMessages = (): ReconciliationDifferenceMessage[] =>
    bus
      .on('exec.orders')
      .filter((m) => m.attributes.source === 'reconciler')
      .map((m) => ReconciliationDifferenceMessageSchema.parse(m.data));

  /** An order routed to V and acknowledged there (what the edge records before going down). */
  async function working(op: string, quantity = '0.5'): Promise<OrderRecord> {
    const o = await createRoutedOrder(
      orders,
      op,
      { quantity, order_type: 'LIMIT', price: '60000' },
      { venue: V, account_id: ACC },
    );
    await recorder.recordSubmitted(op, o.order_id, T0);
    const acked = await recorder.recordAccepted(op, `V-${op}`, T0);
    if (acked.kind !== 'recorded') throw new Error(acked.kind);
    return acked.order;
  }

  function filledAtVenue(o: OrderRecord, fills: Array<[string, string, string]>): void {
    let filled = 0;
    for (const [id, qty, px] of fills) {
      filled += Number(qty);
      venue.trades.push({
        trade_id: id,
        venue_order_id: `V-${o.operation_id}`,
        client_order_id: o.order_id,
        instrument_key: BTC,
        side: o.side,
        quantity: qty,
        price: px,
        fee: '0',
        fee_currency: 'USDT',
        liquidity: 'MAKER',
        ts_event: T0 + 10n * SEC,
      });
    }
    venue.orders.set(o.order_id, {
      client_order_id: o.order_id,
      venue_order_id: `V-${o.operation_id}`,
      instrument_key: BTC,
      side: o.side,
      status: String(filled) === o.quantity ? 'FILLED' : 'PARTIALLY_FILLED',
      quantity: o.quantity,
      filled_quantity: String(filled),
      avg_price: fills[0]?.[2] ?? null,
      ts_event: T0 + 10n * SEC,
    });
  }

  beforeEach(() => {
    orders = LocalOrderStore.memory();
    positions = LocalPositionStore.memory();
    bus = new RecordingBus();
    clock = new TestClock(T0);
    recorder = new ExecutionRecorder({ orders, positions, bus, clock });
    venue = new FakeVenue(V, ACC);
    journal = new MemoryReconciliationLog();
  });

  it('records the fills made while the edge was down, exactly once; a second run is a no-op', async () => {
    const o = await working('OP-1');
    filledAtVenue(o, [
      ['101', '0.2', '60000'],
      ['102', '0.3', '59990'],
    ]);
    clock.advance(120n * SEC);
    const r = reconciler();
    const first = await r.runOnce();
    expect(first.status).toBe('CORRECTED');
    expect(first.differences.map((d) => d.kind)).toEqual(['missing_fill', 'missing_fill', 'status_mismatch']);
    expect(first.corrections.map((c) => [c.correction.kind, c.outcome])).toEqual([
      ['apply_fill', 'recorded'],
      ['apply_fill', 'recorded'],
    ]);
    const stored = await orders.get('OP-1');
    expect(stored).toMatchObject({ status: 'FILLED', filled_quantity: '0.5' });
    expect((await orders.fills('OP-1')).map((f) => f.fill_id)).toEqual([
      `${o.order_id}-T101`,
      `${o.order_id}-T102`,
    ]);
    expect(await positions.get(ACC, BTC)).toMatchObject({ quantity: '0.5' });
    expect(bus.on('exec.fills')).toHaveLength(2);
    const messages = differenceMessages();
    expect(messages.map((m) => [m.kind, m.state, m.correction?.outcome ?? null])).toEqual([
      ['missing_fill', 'found', 'recorded'],
      ['missing_fill', 'found', 'recorded'],
      ['status_mismatch', 'found', 'recorded'],
    ]);
    expect((await journal.entries({ venue: V })).length).toBe(3);

    // Again: nothing differs, nothing is written or published.
    const published = bus.published.length;
    clock.advance(300n * SEC);
    const second = await r.runOnce();
    expect(second.status).toBe('OK');
    expect(second.differences).toEqual([]);
    expect(bus.published.length).toBe(published);
    expect(await orders.fills('OP-1')).toHaveLength(2);
    expect(await positions.get(ACC, BTC)).toMatchObject({ quantity: '0.5', version: 2 });
    expect(r.health()).toMatchObject({ ok: true, state: 'OK' });
  });

  it('an unreachable venue is DEGRADED and nothing is read as flat: orders and positions stay untouched', async () => {
    const o = await working('OP-1');
    filledAtVenue(o, [['101', '0.5', '60000']]);
    clock.advance(120n * SEC);
    const r = reconciler();
    await r.runOnce();
    const before = await positions.get(ACC, BTC);
    expect(before?.quantity).toBe('0.5');

    venue.offline = true;
    venue.orders.clear();
    venue.trades = [];
    const published = bus.published.length;
    clock.advance(300n * SEC);
    const report = await r.runOnce();
    expect(report.status).toBe('DEGRADED');
    expect(report.errors[0]).toContain('ECONNREFUSED');
    expect(report.differences).toEqual([]);
    expect(await positions.get(ACC, BTC)).toEqual(before);
    expect(await orders.get('OP-1')).toMatchObject({ status: 'FILLED' });
    expect(bus.published.length).toBe(published);
    expect(r.health()).toMatchObject({ ok: false, state: 'DEGRADED' });
  });

  it('an order the venue no longer knows is recorded as ended; an order the venue ended is recorded so', async () => {
    await working('OP-1');
    const b = await working('OP-2');
    venue.orders.set(b.order_id, {
      client_order_id: b.order_id,
      venue_order_id: 'V-OP-2',
      instrument_key: BTC,
      side: 'BUY',
      status: 'CANCELED',
      quantity: '0.5',
      filled_quantity: '0',
      avg_price: null,
      reason: 'canceled by the operator',
      ts_event: T0 + SEC,
    });
    clock.advance(120n * SEC);
    const report = await reconciler().runOnce();
    expect(report.status).toBe('CORRECTED');
    const a = await orders.get('OP-1');
    expect(a?.status).toBe('CANCELED');
    expect((await orders.timeline('OP-1')).at(-1)).toMatchObject({
      type: 'OrderCanceled',
      reason: `RECONCILIATION: ${V} no longer knows order ${a?.client_order_id}`,
    });
    expect(await orders.get('OP-2')).toMatchObject({ status: 'CANCELED' });
  });

  it('orders in flight are left alone', async () => {
    await working('OP-1');
    clock.advance(5n * SEC);
    const report = await reconciler().runOnce();
    expect(report.status).toBe('OK');
    expect(venue.calls).not.toContain('fetchOrder');
    expect(await orders.get('OP-1')).toMatchObject({ status: 'ACCEPTED' });
  });

  it('a difference it cannot correct is recorded once while it lasts, and once when it is resolved', async () => {
    venue.orders.set('manual-1', {
      client_order_id: 'manual-1',
      venue_order_id: 'V-manual',
      instrument_key: BTC,
      side: 'SELL',
      status: 'NEW',
      quantity: '1',
      filled_quantity: '0',
      avg_price: null,
      ts_event: T0,
    });
    const r = reconciler({ instrumentKeys: [BTC] });
    const first = await r.runOnce();
    expect(first.status).toBe('DIFFERENCES');
    expect(first.open).toEqual(['missing_order|venue|manual-1']);
    clock.advance(300n * SEC);
    const second = await r.runOnce();
    expect(second.recorded).toBe(0);
    expect(second.open).toEqual(['missing_order|venue|manual-1']);
    venue.orders.delete('manual-1');
    clock.advance(300n * SEC);
    const third = await r.runOnce();
    expect(third.resolved).toEqual(['missing_order|venue|manual-1']);
    expect(third.status).toBe('OK');
    expect(differenceMessages().map((m) => [m.kind, m.state])).toEqual([
      ['missing_order', 'found'],
      ['missing_order', 'resolved'],
    ]);
  });

  it('captures a balance baseline, then reports a balance change our fills do not explain', async () => {
    venue.balances = [
      { asset: 'BTC', free: '2', total: '2' },
      { asset: 'USDT', free: '50000', total: '50000' },
      { asset: 'BNB', free: '1', total: '1' },
    ];
    const r = reconciler({ instrumentKeys: [BTC] });
    expect((await r.runOnce()).status).toBe('OK');
    expect(await journal.baseline(V)).toMatchObject({ assets: { BTC: '2', USDT: '50000' } });

    // We buy 0.5 at 60,000 (fee 3 USDT) and the venue moves the balances accordingly: still fine.
    const o = await working('OP-1');
    filledAtVenue(o, [['7', '0.5', '60000']]);
    await recorder.recordFill('OP-1', {
      fill_id: `${o.order_id}-T7`,
      order_id: o.order_id,
      operation_id: 'OP-1',
      instrument_key: BTC,
      venue: V,
      side: 'BUY',
      quantity: '0.5',
      price: '60000',
      fee: '3',
      fee_currency: 'USDT',
      liquidity: 'MAKER',
      ts_event: T0 + 10n * SEC,
    });
    venue.balances = [
      { asset: 'BTC', free: '2.5', total: '2.5' },
      { asset: 'USDT', free: '19997', total: '19997' },
    ];
    clock.advance(300n * SEC);
    expect((await r.runOnce()).differences).toEqual([]);

    // Somebody withdraws 1 BTC.
    venue.balances = [
      { asset: 'BTC', free: '1.5', total: '1.5' },
      { asset: 'USDT', free: '19997', total: '19997' },
    ];
    clock.advance(300n * SEC);
    const report = await r.runOnce();
    expect(report.differences).toMatchObject([
      { kind: 'balance_mismatch', key: 'balance_mismatch|BTC', ours: '2.5', theirs: '1.5' },
    ]);
    expect(report.status).toBe('DIFFERENCES');
  });

  it('start() checks the instrument specs against the venue and reports each difference (log + event)', async () => {
    venue.rules = [
      {
        instrument_key: BTC,
        tick_size: '0.010',
        step_size: '0.0001',
        min_qty: '0.00001',
        max_qty: '9000',
        min_notional: '10',
      },
    ];
    const warnings: string[] = [];
    const r = reconciler({
      instruments: [BTC_SPEC, { ...BTC_SPEC, instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' }],
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
    });
    await r.start();
    await r.stop();
    const specs = differenceMessages().filter((m) => m.kind === 'spec_mismatch');
    expect(specs.map((m) => [m.detail.field, m.ours, m.theirs, m.detail.severity])).toEqual([
      ['step_size', '0.00001', '0.0001', 'error'],
      ['min_notional', '5', '10', 'error'],
    ]);
    expect(warnings.filter((w) => w.startsWith('instrument spec difference'))).toHaveLength(2);
    // Checked again (a restart): still open, not reported twice.
    await r.checkSpecs([BTC_SPEC]);
    expect(differenceMessages().filter((m) => m.kind === 'spec_mismatch')).toHaveLength(2);
  });

  it('cancels at the venue an order our books consider finished, when configured', async () => {
    const o = await working('OP-1');
    await recorder.recordCanceled('OP-1', 'user', T0);
    venue.orders.set(o.order_id, {
      client_order_id: o.order_id,
      venue_order_id: 'V-OP-1',
      instrument_key: BTC,
      side: 'BUY',
      status: 'NEW',
      quantity: '0.5',
      filled_quantity: '0',
      avg_price: null,
      ts_event: T0,
    });
    clock.advance(120n * SEC);
    const report = await reconciler({ cancelStrayOrders: true }).runOnce();
    expect(report.corrections.map((c) => [c.correction.kind, c.outcome])).toEqual([
      ['cancel_at_venue', 'recorded'],
    ]);
    expect(venue.canceled).toEqual([o.order_id]);
    expect(report.status).toBe('CORRECTED');
  });

  it('skips an instrument the venue does not list (not an outage) and hands every report to onReport', async () => {
    const eth = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
    const o = await createRoutedOrder(orders, 'OP-E', { instrument_key: eth }, { venue: V, account_id: ACC });
    await recorder.recordSubmitted('OP-E', o.order_id, T0);
    venue.listed = new Set([BTC]);
    clock.advance(120n * SEC);
    const reports: string[] = [];
    const report = await reconciler({
      instrumentKeys: [BTC],
      onReport: (r) => void reports.push(r.status),
    }).runOnce();
    expect(report.status).toBe('OK');
    expect(report.unlisted).toEqual([`${eth}: ${V}: fetchOpenOrders: unknown symbol ${eth}`]);
    expect(await orders.get('OP-E')).toMatchObject({ status: 'SUBMITTED' });
    expect(reports).toEqual(['OK']);
  });

  describe('LocalReconciliationLog', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'recon-log-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps open differences and the balance baseline across a restart', async () => {
      venue.balances = [{ asset: 'USDT', free: '100', total: '100' }];
      venue.orders.set('manual-1', {
        client_order_id: 'manual-1',
        venue_order_id: 'V-manual',
        instrument_key: BTC,
        side: 'SELL',
        status: 'NEW',
        quantity: '1',
        filled_quantity: '0',
        avg_price: null,
        ts_event: T0,
      });
      const log1 = await LocalReconciliationLog.open({ dataDir: dir });
      const first = await reconciler({ journal: log1, instrumentKeys: [BTC] }).runOnce();
      expect(first.recorded).toBe(1);
      await log1.close();

      const log2 = await LocalReconciliationLog.open({ dataDir: dir });
      expect(await log2.baseline(V)).toMatchObject({ assets: { BTC: '0', USDT: '100' } });
      expect([...(await log2.open(V)).keys()]).toEqual(['missing_order|venue|manual-1']);
      clock.advance(300n * SEC);
      const again = await reconciler({ journal: log2, instrumentKeys: [BTC] }).runOnce();
      expect(again.recorded).toBe(0);
      expect(again.open).toEqual(['missing_order|venue|manual-1']);
      await log2.close();
    });
  });
});

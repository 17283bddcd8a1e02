import { beforeEach, describe, expect, it } from 'vitest';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import {
  ExecFillMessageSchema,
  ExecReconciliationMessageSchema,
} from '../../../shared/app/execution-messages.ts';
import { ExecutionRecorder, isLiveAtVenue, KeyedMutex } from '../../../shared/app/execution-recorder.ts';
import { OrderUpdateMessageSchema } from '../../../shared/app/messages.ts';
import type { Position } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { PositionStore, PositionUpdateResult } from '../../../shared/ports/position-store.ts';
import type { Decimalish } from '../../../shared/risk/types.ts';
import { createRoutedOrder, fillOf, MS, RecordingBus, T0, transition } from '../venues/fixtures.ts';

/** A position store whose next `put`s fail (a crash between the order transition and the position). */
class FlakyPositions implements PositionStore {
  failPuts = 0;
  constructor(private readonly inner: PositionStore) {}
  get(a: string, i: string) {
    return this.inner.get(a, i);
  }
  list(f?: { account_id?: string | undefined; instrument_key?: string | undefined }) {
    return this.inner.list(f);
  }
  async put(next: Position, expected: number): Promise<PositionUpdateResult> {
    if (this.failPuts > 0) {
      this.failPuts--;
      throw new Error('position store unavailable');
    }
    return this.inner.put(next, expected);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

class RecordingLedger {
  readonly calls: Array<{
    op: 'release' | 'fill';
    operationId: string;
    qty: string;
    scope: string | undefined;
  }> = [];
  async releaseReservation(operationId: string, filledQty: Decimalish, scopeKey?: string): Promise<boolean> {
    this.calls.push({ op: 'release', operationId, qty: String(filledQty), scope: scopeKey });
    return true;
  }
  async recordFill(operationId: string, fillQty: Decimalish, scopeKey?: string): Promise<boolean> {
    this.calls.push({ op: 'fill', operationId, qty: String(fillQty), scope: scopeKey });
    return true;
  }
}

describe('ExecutionRecorder', () => {
  let orders: LocalOrderStore;
  let positions: FlakyPositions;
  let bus: RecordingBus;
  let clock: TestClock;
  let ledger: RecordingLedger;
  let recorder: ExecutionRecorder;
  const newRecorder = () => new ExecutionRecorder({ orders, positions, bus, clock, ledger });

  beforeEach(async () => {
    orders = LocalOrderStore.memory();
    positions = new FlakyPositions(LocalPositionStore.memory());
    bus = new RecordingBus();
    clock = new TestClock(T0);
    ledger = new RecordingLedger();
    recorder = newRecorder();
  });

  it('records submitted → accepted → filled, stores the fill, updates the position and publishes', async () => {
    const o = await createRoutedOrder(orders, 'OP-1', { quantity: '0.02' });
    clock.advance(MS);
    const sub = await recorder.recordSubmitted('OP-1', o.order_id);
    expect(sub.kind).toBe('recorded');
    expect(isLiveAtVenue(sub)).toBe(true);
    const acc = await recorder.recordAccepted('OP-1', 'SIM-1', T0 + 2n * MS);
    expect(acc.kind).toBe('recorded');
    const f1 = await recorder.recordFill('OP-1', fillOf(o, 1, '0.01', '60000', T0 + 3n * MS));
    expect(f1.kind === 'recorded' && f1.order.status).toBe('PARTIALLY_FILLED');
    const f2 = await recorder.recordFill('OP-1', fillOf(o, 2, '0.01', '60010', T0 + 4n * MS));
    expect(f2.kind === 'recorded' && f2.order.status).toBe('FILLED');

    const stored = await orders.get('OP-1');
    expect(stored).toMatchObject({
      status: 'FILLED',
      version: 5, // created at 1; submit, accept, two fills: one version each
      client_order_id: o.order_id,
      venue_order_id: 'SIM-1',
      filled_quantity: '0.02',
      avg_fill_price: '60005',
      fees: '0.02',
    });
    expect((await orders.fills('OP-1')).map((f) => f.fill_id)).toEqual([
      `${o.order_id}-F1`,
      `${o.order_id}-F2`,
    ]);
    const timeline = (await orders.timeline('OP-1')).map((e) => e.type);
    expect(timeline.slice(-4)).toEqual(['OrderSubmitted', 'OrderAccepted', 'OrderFilled', 'OrderFilled']);

    const pos = await positions.get('SIM', o.instrument_key);
    expect(pos).toMatchObject({
      quantity: '0.02',
      avg_entry_price: '60005',
      fees: '0.02',
      venues: { SIM: '0.02' },
    });

    // exec.fills: one per fill, valid, with venue and instrument attributes.
    const fills = bus.on('exec.fills');
    expect(fills).toHaveLength(2);
    for (const m of fills) {
      expect(ExecFillMessageSchema.parse(m.data).venue).toBe('SIM');
      expect(m.attributes).toMatchObject({
        venue: 'SIM',
        instrument_key: o.instrument_key,
        operation_id: 'OP-1',
      });
    }
    expect(ExecFillMessageSchema.parse(fills[1]?.data)).toMatchObject({
      order_status: 'FILLED',
      leaves_quantity: '0',
      position: { quantity: '0.02' },
    });
    // exec.orders: one order update per transition.
    const updates = bus.on('exec.orders').map((m) => OrderUpdateMessageSchema.parse(m.data));
    expect(updates.map((u) => u.status)).toEqual(['SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED']);
    expect(bus.on('exec.orders').every((m) => m.attributes.venue === 'SIM')).toBe(true);
    // Risk ledger: the partial fill moves quantity, the final one releases the reservation.
    expect(ledger.calls).toEqual([
      { op: 'fill', operationId: 'OP-1', qty: '0.01', scope: 'global' },
      { op: 'release', operationId: 'OP-1', qty: '0.02', scope: 'global' },
    ]);
  });

  it('the same fill twice is stored once and counted once in the position', async () => {
    const o = await createRoutedOrder(orders, 'OP-2', { quantity: '0.02' });
    await recorder.recordSubmitted('OP-2', o.order_id);
    const fill = fillOf(o, 1, '0.01', '60000', T0);
    const first = await recorder.recordFill('OP-2', fill);
    const second = await recorder.recordFill('OP-2', fill);
    expect(first.kind).toBe('recorded');
    expect(second.kind).toBe('duplicate');
    expect(await orders.fills('OP-2')).toHaveLength(1);
    expect((await orders.get('OP-2'))?.filled_quantity).toBe('0.01');
    const pos = await positions.get('SIM', o.instrument_key);
    expect(pos).toMatchObject({ quantity: '0.01', version: 1 });
    // A fresh process (no memory of the first) gets the same answer.
    const third = await newRecorder().recordFill('OP-2', fill);
    expect(third.kind).toBe('duplicate');
    expect((await positions.get('SIM', o.instrument_key))?.quantity).toBe('0.01');
    expect(bus.on('exec.fills').length).toBeGreaterThanOrEqual(1);
  });

  it('a crash between storing the fill and the position is repaired by the redelivery', async () => {
    const o = await createRoutedOrder(orders, 'OP-3', { quantity: '0.03' });
    await recorder.recordSubmitted('OP-3', o.order_id);
    await recorder.recordFill('OP-3', fillOf(o, 1, '0.01', '60000', T0 + MS));
    positions.failPuts = 1;
    const f2 = fillOf(o, 2, '0.01', '61000', T0 + 2n * MS);
    await expect(recorder.recordFill('OP-3', f2)).rejects.toThrow('position store unavailable');
    // The fill is stored, the position is behind.
    expect(await orders.fills('OP-3')).toHaveLength(2);
    expect((await positions.get('SIM', o.instrument_key))?.quantity).toBe('0.01');

    // The venue reports it again (after a restart: a new recorder).
    const again = await newRecorder().recordFill('OP-3', f2);
    expect(again.kind).toBe('duplicate');
    const pos = await positions.get('SIM', o.instrument_key);
    expect(pos).toMatchObject({ quantity: '0.02', avg_entry_price: '60500', fees: '0.02' });
    // Later fills continue from the repaired position, once each.
    await newRecorder().recordFill('OP-3', fillOf(o, 3, '0.01', '62000', T0 + 3n * MS));
    expect((await positions.get('SIM', o.instrument_key))?.quantity).toBe('0.03');
    expect((await orders.get('OP-3'))?.status).toBe('FILLED');
  });

  it('recoverPositions rebuilds positions from stored fills that will never be redelivered', async () => {
    const a = await createRoutedOrder(orders, 'OP-4a', { quantity: '0.01' });
    const b = await createRoutedOrder(orders, 'OP-4b', { quantity: '0.01', side: 'SELL' }, { ts: T0 + MS });
    const c = await createRoutedOrder(orders, 'OP-4c', { quantity: '0.01' }, { ts: T0 + 2n * MS });
    for (const o of [a, b, c]) await recorder.recordSubmitted(o.operation_id, o.order_id);
    await recorder.recordFill('OP-4a', fillOf(a, 1, '0.01', '60000', T0 + 10n * MS));
    await recorder.recordFill('OP-4b', fillOf(b, 1, '0.01', '60100', T0 + 11n * MS));
    positions.failPuts = 1;
    await expect(
      recorder.recordFill('OP-4c', fillOf(c, 1, '0.01', '60200', T0 + 12n * MS)),
    ).rejects.toThrow();
    expect((await positions.get('SIM', a.instrument_key))?.quantity).toBe('0');

    const r = await newRecorder().recoverPositions({ venue: 'SIM' });
    expect(r).toEqual({ checked: 1, rebuilt: 1 });
    expect(await positions.get('SIM', a.instrument_key)).toMatchObject({
      quantity: '0.01',
      avg_entry_price: '60200',
      realized_pnl: '1', // 0.01 × (60100 − 60000)
      fees: '0.03',
    });
    // Nothing to do the second time.
    expect(await newRecorder().recoverPositions({ venue: 'SIM' })).toEqual({ checked: 1, rebuilt: 0 });
  });

  it('a fill before the ack is applied; the late ack records the venue order id or is ignored', async () => {
    const o = await createRoutedOrder(orders, 'OP-5', { quantity: '0.02' });
    await recorder.recordSubmitted('OP-5', o.order_id);
    const f = await recorder.recordFill('OP-5', fillOf(o, 1, '0.01', '60000', T0));
    expect(f.kind === 'recorded' && f.order.status).toBe('PARTIALLY_FILLED');
    const ack = await recorder.recordAccepted('OP-5', 'V-5');
    expect(ack.kind === 'recorded' && ack.order).toMatchObject({
      status: 'PARTIALLY_FILLED',
      venue_order_id: 'V-5',
    });

    const p = await createRoutedOrder(orders, 'OP-6', { quantity: '0.01' });
    await recorder.recordSubmitted('OP-6', p.order_id);
    await recorder.recordFill('OP-6', fillOf(p, 1, '0.01', '60000', T0));
    const late = await recorder.recordAccepted('OP-6', 'V-6');
    expect(late.kind).toBe('ignored');
    expect((await orders.get('OP-6'))?.status).toBe('FILLED');
  });

  it('duplicate acks and duplicate submits write nothing', async () => {
    const o = await createRoutedOrder(orders, 'OP-7');
    await recorder.recordSubmitted('OP-7', o.order_id);
    const again = await recorder.recordSubmitted('OP-7', o.order_id);
    expect(again.kind).toBe('duplicate');
    expect(isLiveAtVenue(again)).toBe(true);
    await recorder.recordAccepted('OP-7', 'V-7');
    const dup = await recorder.recordAccepted('OP-7', 'V-7');
    expect(dup.kind).toBe('duplicate');
    expect((await orders.get('OP-7'))?.version).toBe(3);
    // Another venue order id for the same order contradicts our record.
    const other = await recorder.recordAccepted('OP-7', 'V-OTHER');
    expect(other.kind === 'reconciliation' && other.reconciliation).toBe('unexpected_ack');
  });

  it('a submit for an order canceled before it reached the venue is not live', async () => {
    await createRoutedOrder(orders, 'OP-8');
    await transition(orders, 'OP-8', { type: 'RequestCancel', reason: 'user', ts_event: T0, ts_init: T0 });
    const sub = await recorder.recordSubmitted('OP-8', 'cid');
    expect(sub.kind).toBe('ignored');
    expect(isLiveAtVenue(sub)).toBe(false);
  });

  it('a fill after the cancel is kept as a reconciliation event, not lost and not applied', async () => {
    const o = await createRoutedOrder(orders, 'OP-9', { quantity: '0.02' });
    await recorder.recordSubmitted('OP-9', o.order_id);
    await recorder.recordAccepted('OP-9', 'V-9');
    await transition(orders, 'OP-9', { type: 'RequestCancel', reason: 'user', ts_event: T0, ts_init: T0 });
    const canceled = await recorder.recordCanceled('OP-9', 'USER_CANCEL');
    expect(canceled.kind === 'recorded' && canceled.order.status).toBe('CANCELED');
    expect(ledger.calls).toContainEqual({ op: 'release', operationId: 'OP-9', qty: '0', scope: 'global' });

    const late = await recorder.recordFill('OP-9', fillOf(o, 1, '0.01', '60000', T0 + 5n * MS));
    expect(late).toMatchObject({
      kind: 'reconciliation',
      reconciliation: 'unapplied_fill',
      code: 'terminal_state',
    });
    expect(await orders.fills('OP-9')).toHaveLength(0);
    expect(await positions.get('SIM', o.instrument_key)).toBeNull();
    // Reported again (a venue re-reading its recent trades): the same answer, told once.
    const again = await recorder.recordFill('OP-9', fillOf(o, 1, '0.01', '60000', T0 + 5n * MS));
    expect(again.kind).toBe('reconciliation');
    const rec = bus.on('exec.orders').filter((m) => m.attributes.reconciliation === 'true');
    expect(rec).toHaveLength(1);
    expect(rec[0]?.attributes).toMatchObject({
      venue: 'SIM',
      instrument_key: o.instrument_key,
      operation_id: 'OP-9',
    });
    expect(ExecReconciliationMessageSchema.parse(rec[0]?.data)).toMatchObject({
      kind: 'unapplied_fill',
      order_status: 'CANCELED',
      fill: { fill_id: `${o.order_id}-F1`, quantity: '0.01' },
    });
    // A duplicate cancel confirmation is a no-op.
    expect((await recorder.recordCanceled('OP-9', 'USER_CANCEL')).kind).toBe('duplicate');
  });

  it('an overfill, a fill of another order and an unknown order are reconciliation events', async () => {
    const o = await createRoutedOrder(orders, 'OP-10', { quantity: '0.01' });
    await recorder.recordSubmitted('OP-10', o.order_id);
    const over = await recorder.recordFill('OP-10', fillOf(o, 1, '0.02', '60000', T0));
    expect(over).toMatchObject({ kind: 'reconciliation', code: 'overfill' });
    const other = await recorder.recordFill('OP-10', {
      ...fillOf(o, 2, '0.01', '60000', T0),
      order_id: 'ord_other',
    });
    expect(other).toMatchObject({ kind: 'reconciliation', code: 'fill_mismatch' });
    const unknown = await recorder.recordFill('NOPE', {
      ...fillOf(o, 3, '0.01', '60000', T0),
      operation_id: 'NOPE',
    });
    expect(unknown).toMatchObject({ kind: 'reconciliation', reconciliation: 'unknown_order', order: null });
    expect(await recorder.recordAccepted('NOPE', 'x')).toMatchObject({
      kind: 'reconciliation',
      reconciliation: 'unknown_order',
    });
    expect(bus.on('exec.orders').filter((m) => m.attributes.reconciliation === 'true')).toHaveLength(4);
    expect((await orders.get('OP-10'))?.filled_quantity).toBe('0');
  });

  it('rejections, expiries and venue cancels of a partly filled order release the ledger with the filled quantity', async () => {
    const r = await createRoutedOrder(orders, 'OP-11');
    await recorder.recordSubmitted('OP-11', r.order_id);
    const rej = await recorder.recordRejected('OP-11', 'INVALID_ORDER: too small');
    expect(rej.kind === 'recorded' && rej.order).toMatchObject({
      status: 'REJECTED',
      rejection_reason: 'INVALID_ORDER: too small',
    });

    const e = await createRoutedOrder(orders, 'OP-12', { quantity: '0.02', time_in_force: 'DAY' });
    await recorder.recordSubmitted('OP-12', e.order_id);
    await recorder.recordFill('OP-12', fillOf(e, 1, '0.01', '60000', T0));
    const exp = await recorder.recordExpired('OP-12', 'DAY_END');
    expect(exp.kind === 'recorded' && exp.order.status).toBe('EXPIRED');
    // A venue rejection after fills contradicts our books.
    const late = await recorder.recordRejected('OP-12', 'x');
    expect(late).toMatchObject({ kind: 'reconciliation', reconciliation: 'unexpected_reject' });

    const c = await createRoutedOrder(orders, 'OP-13', { quantity: '0.02' });
    await recorder.recordSubmitted('OP-13', c.order_id);
    await recorder.recordFill('OP-13', fillOf(c, 1, '0.015', '60000', T0));
    const ioc = await recorder.recordCanceled('OP-13', 'IOC_REMAINDER');
    expect(ioc.kind === 'recorded' && ioc.order).toMatchObject({
      status: 'CANCELED',
      filled_quantity: '0.015',
    });

    const releases = ledger.calls.filter((x) => x.op === 'release');
    expect(releases).toEqual([
      { op: 'release', operationId: 'OP-11', qty: '0', scope: 'global' },
      { op: 'release', operationId: 'OP-12', qty: '0.01', scope: 'global' },
      { op: 'release', operationId: 'OP-13', qty: '0.015', scope: 'global' },
    ]);
  });

  it('concurrent reports on one order each land once (version conflicts are retried)', async () => {
    const o = await createRoutedOrder(orders, 'OP-14', { quantity: '0.03' });
    await recorder.recordSubmitted('OP-14', o.order_id);
    const results = await Promise.all([
      recorder.recordAccepted('OP-14', 'V-14'),
      recorder.recordFill('OP-14', fillOf(o, 1, '0.01', '60000', T0)),
      newRecorder().recordFill('OP-14', fillOf(o, 2, '0.01', '60000', T0)),
      newRecorder().recordFill('OP-14', fillOf(o, 2, '0.01', '60000', T0)),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['duplicate', 'recorded', 'recorded', 'recorded']);
    const stored = await orders.get('OP-14');
    expect(stored).toMatchObject({ filled_quantity: '0.02', venue_order_id: 'V-14', version: 5 });
    expect((await positions.get('SIM', o.instrument_key))?.quantity).toBe('0.02');
  });

  it('a failed publish is retried by the caller and published on the duplicate path', async () => {
    const o = await createRoutedOrder(orders, 'OP-15');
    await recorder.recordSubmitted('OP-15', o.order_id);
    bus.failNext = 1;
    await expect(recorder.recordAccepted('OP-15', 'V-15')).rejects.toThrow('bus unavailable');
    const retry = await recorder.recordAccepted('OP-15', 'V-15');
    expect(retry.kind).toBe('duplicate');
    const statuses = bus.on('exec.orders').map((m) => OrderUpdateMessageSchema.parse(m.data).status);
    expect(statuses).toEqual(['SUBMITTED', 'ACCEPTED']);
  });
});

describe('KeyedMutex', () => {
  it('runs tasks of one key in call order and other keys concurrently', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await Promise.all([
      m.run('a', async () => {
        await wait(20);
        log.push('a1');
      }),
      m.run('a', async () => {
        log.push('a2');
      }),
      m.run('b', async () => {
        log.push('b1');
      }),
    ]);
    expect(log).toEqual(['b1', 'a1', 'a2']);
    await expect(m.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await m.run('a', async () => 7)).toBe(7);
  });
});

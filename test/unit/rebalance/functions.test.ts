/**
 * The two Pub/Sub functions of rebalancing, over scripted services: `rebalance-complete` on
 * `exec.orders` (only final updates of rebalance orders reach the service; a broken order_update is
 * dead-lettered; a NAV alert is logged; a failure is redelivered) and `rebalance-nav` on
 * `rebalance.daily` (the daily snapshots, their alerts logged).
 */
import { describe, expect, it } from 'vitest';
import { createRebalanceCompleteHandler } from '../../../functions/rebalance-complete/handler.ts';
import { createRebalanceNavHandler } from '../../../functions/rebalance-nav/handler.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../../shared/ports/event-bus.ts';
import type { NavSnapshot, PortfolioActualState } from '../../../shared/ports/portfolio-state-store.ts';
import type { OrderUpdateOutcome, OrderUpdateRef } from '../../../shared/rebalance/rebalance-service.ts';
import { pushEvent, recordingBus } from '../functions/fakes.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const OP = `RB-${'a'.repeat(20)}:${BTC}`;

function update(over: Record<string, unknown> = {}) {
  return JSON.stringify({
    type: 'order_update',
    operation_id: OP,
    order_id: 'ORD-1',
    status: 'FILLED',
    venue: 'BINANCE-SPOT',
    rejection_reason: null,
    strategy_id: 'rb',
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.1',
    filled_quantity: '0.1',
    events: ['OrderFilled'],
    version: 5,
    ts_event: '1796601600000000000',
    ...over,
  });
}

const state = { nav: '100', orders: [{}] } as unknown as PortfolioActualState;

function complete(answer: (u: OrderUpdateRef) => OrderUpdateOutcome | Promise<OrderUpdateOutcome>) {
  const calls: OrderUpdateRef[] = [];
  const log = memoryLogger();
  const bus = recordingBus();
  const fn = createRebalanceCompleteHandler({
    service: {
      onOrderUpdate: async (u) => {
        calls.push(u);
        return answer(u);
      },
    },
    bus,
    log,
  });
  return { fn, calls, log, bus };
}

describe('rebalance-complete', () => {
  it("other orders' updates and other message types are acked unread", async () => {
    const { fn, calls } = complete(() => ({ outcome: 'not_final' }));
    expect(
      await fn(pushEvent(update({ operation_id: 'op-1' }), { attributes: { operation_id: 'op-1' } })),
    ).toMatchObject({ outcome: 'ignored' });
    expect(
      await fn(
        pushEvent(JSON.stringify({ type: 'reconciliation', operation_id: OP }), {
          attributes: { operation_id: OP, reconciliation: 'true' },
        }),
      ),
    ).toMatchObject({ outcome: 'ignored' });
    expect(calls).toEqual([]);
  });

  it('a final update of a rebalance order completes it; the NAV alert is logged', async () => {
    const { fn, calls, log } = complete(() => ({
      outcome: 'completed',
      rebalance_id: 'rb-1',
      strategy_id: 'rb',
      state,
      alert: { kind: 'NAV_FLAT', message: 'NAV flat', nav: '100', snapshots: 3 },
    }));
    const r = await fn(pushEvent(update(), { attributes: { operation_id: OP, status: 'FILLED' } }));
    expect(r).toMatchObject({ outcome: 'completed', rebalance_id: 'rb-1', strategy_id: 'rb', nav: '100' });
    expect(calls).toEqual([{ operation_id: OP, status: 'FILLED' }]);
    expect(log.entries.find((e) => e.severity === 'WARNING')?.fields).toMatchObject({
      event: 'PortfolioNavAlerted',
      kind: 'NAV_FLAT',
    });
  });

  it('pending, already completed: acked with the outcome', async () => {
    const pending = complete(() => ({
      outcome: 'pending',
      rebalance_id: 'rb-1',
      strategy_id: 'rb',
      open: ['x'],
    }));
    expect(await pending.fn(pushEvent(update()))).toMatchObject({ outcome: 'pending', open: 1 });
    const again = complete(() => ({
      outcome: 'already_completed',
      rebalance_id: 'rb-1',
      strategy_id: 'rb',
      state,
      alert: null,
    }));
    expect(await again.fn(pushEvent(update()))).toMatchObject({ outcome: 'already_completed' });
  });

  it('an order_update that fails its schema is dead-lettered with its reason', async () => {
    const { fn, bus, calls } = complete(() => ({ outcome: 'not_final' }));
    const r = await fn(pushEvent(update({ status: 'DONE' }), { attributes: { operation_id: OP } }));
    expect(r.dead_letter).toMatchObject({
      topic: 'rebalance-complete.exec.orders.dlq',
      reason: 'invalid_order_update',
    });
    expect(bus.published[0]?.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toBe('invalid_order_update');
    expect(r.dead_letter?.message_id).toBeDefined();
    expect(calls).toEqual([]);
  });

  it('a failure (the record not written yet) throws: Pub/Sub redelivers', async () => {
    const { fn } = complete(() => {
      throw new Error('record is not written yet');
    });
    await expect(fn(pushEvent(update()))).rejects.toThrow(/not written yet/);
  });
});

describe('rebalance-nav', () => {
  const snapshot: NavSnapshot = {
    strategy_id: 'rb',
    ts_event: 1n,
    reason: 'DAILY',
    nav: null,
    cash: null,
    exposure: null,
    issues: [{ path: 'cash.USDT', message: 'no cash balance in USDT' }],
  };

  it('takes the daily snapshots and logs their alerts', async () => {
    const log = memoryLogger();
    const fn = createRebalanceNavHandler({
      service: {
        snapshotDaily: async () => [
          {
            strategy_id: 'rb',
            snapshot,
            alert: { kind: 'NAV_UNCOMPUTABLE', message: 'NAV cannot be computed', issues: snapshot.issues },
          },
          { strategy_id: 'other', snapshot: { ...snapshot, strategy_id: 'other', nav: '5' }, alert: null },
        ],
      },
      bus: recordingBus(),
      log,
    });
    expect(await fn(pushEvent('{"type":"nav_daily"}'))).toMatchObject({
      outcome: 'snapshotted',
      portfolios: 2,
      alerts: 1,
    });
    expect(log.entries.filter((e) => e.fields.event === 'PortfolioNavAlerted')).toHaveLength(1);
  });

  it('a failing store throws (redelivered)', async () => {
    const fn = createRebalanceNavHandler({
      service: {
        snapshotDaily: async () => {
          throw new Error('firestore unavailable');
        },
      },
      bus: recordingBus(),
      log: memoryLogger(),
    });
    await expect(fn(pushEvent('{}'))).rejects.toThrow(/unavailable/);
  });
});

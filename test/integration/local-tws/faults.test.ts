/**
 * The local TWS's fault injection against the real @stoqey/ib client: disconnect mid-order (with
 * and without the order executed), duplicated and reordered execDetails / commissionReport, pacing
 * violations (error 100), rejections (201), connectivity loss (1100 / 1102), dropped sockets, withheld
 * commission reports and an order cancelled while its client is away.
 */
import { EventName, type Execution } from '@stoqey/ib';
import { describe, expect, it } from 'vitest';
import type { LocalTws } from '../../../dev/local-tws/index.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { arg, limitOrder, marketOrder, SPY, type TestIbClient, useLocalTws } from './ib-client.ts';

describe('local TWS: faults', () => {
  const suite = useLocalTws({ seed: 5, tickMs: 20, quoteIntervalMs: 20 });
  const connect = (id: number, t?: LocalTws): Promise<TestIbClient> => suite.connect(id, t);
  const names = (c: TestIbClient): string[] =>
    c.events
      .map((e) => e.name)
      .filter((n) => n === EventName.execDetails || n === EventName.commissionReport);

  it('drops the socket on placeOrder without executing it: nothing to find after reconnecting', async () => {
    const c = await connect(1);
    suite.tws.faults.disconnectOnPlaceOrder(1);
    const id = c.place(SPY, marketOrder('BUY', 1, 'op-lost'));
    await c.until(() => c.of(EventName.disconnected).length === 1, 'disconnected');
    expect(c.statuses(id)).toEqual([]);
    expect(suite.tws.ordersWithRef('op-lost')).toBe(0);

    const again = await connect(1);
    again.ib.reqOpenOrders();
    again.ib.reqExecutions(1, {});
    await again.until(
      () => again.of(EventName.openOrderEnd).length === 1 && again.of(EventName.execDetailsEnd).length === 1,
      'both ends',
    );
    expect(again.of(EventName.openOrder)).toEqual([]);
    expect(again.of(EventName.execDetails)).toEqual([]);
    expect(suite.tws.faults.stats).toMatchObject({ droppedOnPlaceOrder: 1, droppedOnPlaceOrderExecuted: 0 });
  });

  it('drops the socket after executing the order: reqExecutions and reqOpenOrders find it by orderRef', async () => {
    const c = await connect(2);
    suite.tws.faults.disconnectOnPlaceOrder(2, { execute: true });
    const filled = c.place(SPY, marketOrder('BUY', 2, 'op-crash-fill'));
    await c.until(() => c.of(EventName.disconnected).length === 1, 'disconnected');
    expect(c.of(EventName.execDetails)).toEqual([]);
    expect(suite.tws.ordersWithRef('op-crash-fill')).toBe(1);

    const again = await connect(2);
    const resting = again.place(SPY, limitOrder('BUY', 1, 300, 'op-crash-rest'));
    await again.until(() => again.of(EventName.disconnected).length === 1, 'disconnected again');
    const third = await connect(2);
    third.ib.reqExecutions(7, { clientId: '2' });
    third.ib.reqOpenOrders();
    await third.until(
      () => third.of(EventName.execDetailsEnd).length === 1 && third.of(EventName.openOrderEnd).length === 1,
      'ends',
    );
    const execs = third.of(EventName.execDetails).map((a) => a[2] as Execution);
    expect(execs.map((e) => [e.orderId, e.orderRef, e.shares])).toEqual([[filled, 'op-crash-fill', 2]]);
    await third.until(() => third.of(EventName.commissionReport).length === 1, 'its commission');
    expect(
      third.of(EventName.openOrder).map((a) => [a[0], arg<{ orderRef: string }>(a, 2).orderRef]),
    ).toEqual([[resting, 'op-crash-rest']]);
    expect(suite.tws.faults.stats.droppedOnPlaceOrderExecuted).toBe(2);
  });

  it('sends execDetails and commissionReport twice', async () => {
    const c = await connect(3);
    suite.tws.faults.duplicateExecutions(1);
    const id = c.place(SPY, marketOrder('BUY', 1, 'op-dup'));
    await c.until(
      () => c.statuses(id).includes('Filled') && c.of(EventName.commissionReport).length === 2,
      'dups',
    );
    const execIds = c.of(EventName.execDetails).map((a) => arg<Execution>(a, 2).execId);
    expect(execIds).toHaveLength(2);
    expect(new Set(execIds).size).toBe(1);
    expect(names(c)).toEqual(['execDetails', 'execDetails', 'commissionReport', 'commissionReport']);
    // Only the commissionReport, once more.
    suite.tws.faults.duplicateExecutions(1, { execDetails: false });
    const id2 = c.place(SPY, marketOrder('SELL', 1, 'op-dup-2'));
    await c.until(
      () => c.statuses(id2).includes('Filled') && c.of(EventName.commissionReport).length === 4,
      'dup 2',
    );
    expect(names(c).slice(4)).toEqual(['execDetails', 'commissionReport', 'commissionReport']);
    expect(suite.tws.ordersWithRef('op-dup')).toBe(1);
  });

  it('sends the commissionReport before the execDetails', async () => {
    const c = await connect(4);
    suite.tws.faults.reorderExecutions(1);
    const id = c.place(SPY, marketOrder('BUY', 1, 'op-reorder'));
    await c.until(
      () => c.statuses(id).includes('Filled') && c.of(EventName.execDetails).length === 1,
      'fill',
    );
    expect(names(c)).toEqual(['commissionReport', 'execDetails']);
    expect(arg<{ execId: string }>(c.of(EventName.commissionReport)[0], 0).execId).toBe(
      arg<Execution>(c.of(EventName.execDetails)[0], 2).execId,
    );
    expect(suite.tws.faults.stats.reorderedFills).toBe(1);
  });

  it('refuses a message with error 100 when armed, and past the message rate', async () => {
    const c = await connect(5);
    suite.tws.faults.pacingViolationNext(1);
    c.ib.reqCurrentTime();
    c.ib.reqCurrentTime();
    await c.until(
      () => c.of(EventName.currentTime).length === 1 && c.errors().some((e) => e.code === 100),
      'one of each',
    );
    expect(c.errors().find((e) => e.code === 100)?.message).toMatch(
      /^Max rate of messages per second has been exceeded:max=50/,
    );

    // A frozen clock: every message falls in the same second; the sixth and seventh are refused.
    const clock = new TestClock(BigInt(Date.now()) * 1_000_000n);
    await suite.withServer({ clock, autoTick: false, maxMessagesPerSecond: 5 }, async (slow) => {
      const s = await connect(1, slow);
      for (let i = 0; i < 7; i++) s.ib.reqCurrentTime();
      await s.until(
        () => s.of(EventName.currentTime).length + s.errors().filter((e) => e.code === 100).length === 7,
        'seven answers',
      );
      expect(s.of(EventName.currentTime)).toHaveLength(5);
      // A second later the budget is back.
      clock.advance(1_000_000_000n);
      s.ib.reqCurrentTime();
      await s.until(() => s.of(EventName.currentTime).length === 6, 'answered after a second');
    });
  });

  it('rejects the next order with 201 and the reason, status Inactive', async () => {
    const c = await connect(6);
    suite.tws.faults.rejectNextOrder('Simulated venue rejection');
    const id = c.place(SPY, marketOrder('BUY', 1, 'op-reject'));
    await c.until(() => c.statuses(id).includes('Inactive'), 'Inactive');
    expect(c.errors().find((e) => e.reqId === id)).toMatchObject({
      code: 201,
      message: 'Order rejected - reason:Simulated venue rejection',
    });
    expect(c.of(EventName.execDetails)).toEqual([]);
    const next = c.place(SPY, marketOrder('BUY', 1, 'op-after-reject'));
    await c.until(() => c.statuses(next).includes('Filled'), 'the next order fills');
  });

  it('broadcasts connectivity lost (1100) and restored (1102); orders are refused meanwhile', async () => {
    const a = await connect(7);
    const b = await connect(8);
    suite.tws.faults.connectivityLost();
    await a.until(() => a.errors().some((e) => e.code === 1100), '1100 on a');
    await b.until(() => b.errors().some((e) => e.code === 1100), '1100 on b');
    const id = a.place(SPY, marketOrder('BUY', 1, 'op-offline'));
    await a.until(() => a.errors().some((e) => e.reqId === id), 'refused');
    expect(a.errors().find((e) => e.reqId === id)?.code).toBe(201);
    suite.tws.faults.connectivityRestored();
    await a.until(() => a.errors().some((e) => e.code === 1102), '1102');
    const ok = a.place(SPY, marketOrder('BUY', 1, 'op-online'));
    await a.until(() => a.statuses(ok).includes('Filled'), 'filled after restore');
  });

  it('drops every connection on disconnectAll', async () => {
    const a = await connect(9);
    expect(suite.tws.faults.disconnectAll()).toBeGreaterThanOrEqual(1);
    await a.until(() => a.of(EventName.disconnected).length === 1, 'disconnected');
    const again = await connect(9);
    expect(again.nextId).toBeGreaterThan(0);
  });
  it('withholds commission reports, live and in reqExecutions answers, until released', async () => {
    const c = await connect(11);
    suite.tws.faults.withholdCommissionReports(1);
    const id = c.place(SPY, marketOrder('BUY', 1, 'op-withheld'));
    await c.until(
      () => c.statuses(id).includes('Filled') && c.of(EventName.execDetails).length === 1,
      'fill',
    );
    c.ib.reqExecutions(21, {});
    await c.until(() => c.of(EventName.execDetailsEnd).some((a) => a[0] === 21), 'execDetailsEnd');
    expect(c.of(EventName.commissionReport)).toEqual([]);
    expect(suite.tws.faults.releaseCommissionReports()).toBe(1);
    await c.until(() => c.of(EventName.commissionReport).length === 1, 'released report');
    const execId = arg<Execution>(c.of(EventName.execDetails)[0], 2).execId;
    expect(arg<{ execId: string }>(c.of(EventName.commissionReport)[0], 0).execId).toBe(execId);
    expect(suite.tws.faults.releaseCommissionReports()).toBe(0);
  });

  it('cancels the order while its client is away: only reqCompletedOrders tells', async () => {
    const c = await connect(12);
    suite.tws.faults.disconnectOnPlaceOrder(1, { execute: true, cancelWhileAway: true });
    c.place(SPY, limitOrder('BUY', 3, 400, 'op-away'));
    await c.until(() => c.of(EventName.disconnected).length === 1, 'disconnected');
    const again = await connect(12);
    again.ib.reqOpenOrders();
    again.ib.reqCompletedOrders(true);
    await again.until(
      () =>
        again.of(EventName.openOrderEnd).length === 1 && again.of(EventName.completedOrdersEnd).length === 1,
      'both ends',
    );
    expect(again.of(EventName.openOrder)).toEqual([]);
    const done = again
      .of(EventName.completedOrder)
      .filter((a) => arg<{ orderRef: string }>(a, 1).orderRef === 'op-away');
    expect(done.map((a) => arg<{ status: string }>(a, 2).status)).toEqual(['Cancelled']);
  });
});

/**
 * Orders through the local TWS with the real @stoqey/ib client: an ETF market order filled with
 * execDetails + commissionReport (positions and account summary follow, exactly), a resting limit
 * order cancelled, a future, IB's rejections, the session, and open orders / executions found again
 * after a reconnect, and done orders listed by reqCompletedOrders.
 */
import { EventName, type Execution, type OrderState } from '@stoqey/ib';
import { describe, expect, it } from 'vitest';
import { type LocalTws, US_EQUITY_HOURS } from '../../../dev/local-tws/index.ts';
import { toDec as dec, fmt } from '../../../shared/domain/decimal.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { arg, ES, limitOrder, marketOrder, SPY, type TestIbClient, useLocalTws } from './ib-client.ts';

type CommissionReport = { execId: string; commission: number; currency: string; realizedPNL?: number };

describe('local TWS: orders', () => {
  const suite = useLocalTws({ seed: 11, tickMs: 20, quoteIntervalMs: 20 });
  const connect = (id: number, t?: LocalTws): Promise<TestIbClient> => suite.connect(id, t);

  it('fills an ETF market order: execDetails + commissionReport, position and account summary updated', async () => {
    const c = await connect(1);
    const id = c.place(SPY, marketOrder('BUY', 10, 'op-etf-1'));
    await c.until(
      () => c.statuses(id).includes('Filled') && c.of(EventName.commissionReport).length === 1,
      'fill',
    );
    expect(c.statuses(id).slice(0, 2)).toEqual(['PreSubmitted', 'Submitted']);
    const open = c.of(EventName.openOrder).find((a) => a[0] === id);
    expect(arg<{ orderRef: string }>(open, 2).orderRef).toBe('op-etf-1');

    const execs = c.of(EventName.execDetails).map((a) => a[2] as Execution);
    expect(execs).toHaveLength(1);
    const exec = execs[0] as Execution;
    expect(exec).toMatchObject({
      orderId: id,
      side: 'BOT',
      shares: 10,
      cumQty: 10,
      orderRef: 'op-etf-1',
      acctNumber: 'DU1234567',
      clientId: 1,
    });
    const report = c.of(EventName.commissionReport)[0]?.[0] as CommissionReport;
    // IB's fixed schedule: 0.005 USD per share, at least 1 USD per order.
    expect(report).toMatchObject({ execId: exec.execId, commission: 1, currency: 'USD' });
    expect(report.realizedPNL).toBeUndefined();

    const price = dec(String(exec.price));
    const cash = dec('1000000').minus(price.times(10)).minus(1);
    expect(suite.tws.cash()).toBe(fmt(cash));

    c.ib.reqPositions();
    await c.until(() => c.of(EventName.positionEnd).length === 1, 'positionEnd');
    const pos = c.of(EventName.position).find((a) => (a[1] as { symbol: string }).symbol === 'SPY');
    expect(pos?.[0]).toBe('DU1234567');
    expect(pos?.[2]).toBe(10);
    expect(pos?.[3]).toBe(exec.price);

    c.ib.reqAccountSummary(
      5,
      'All',
      'NetLiquidation,TotalCashValue,AvailableFunds,GrossPositionValue,AccountType',
    );
    await c.until(() => c.of(EventName.accountSummaryEnd).length === 1, 'accountSummaryEnd');
    const summary = Object.fromEntries(
      c
        .of(EventName.accountSummary)
        .map((a) => [a[2] as string, { value: a[3] as string, currency: a[4] as string }]),
    );
    expect(summary.TotalCashValue).toEqual({ value: cash.toFixed(2), currency: 'USD' });
    expect(summary.AccountType?.value).toBe('INDIVIDUAL');
    // One snapshot: net liquidation = cash + the SPY position at the mark (its gross value), to the cent.
    const netLiq = dec(summary.NetLiquidation?.value ?? 'NaN');
    const gross = dec(summary.GrossPositionValue?.value ?? 'NaN');
    expect(netLiq.minus(cash.toFixed(2)).minus(gross).abs().lte('0.01')).toBe(true);
    expect(gross.div(10).minus(price).abs().lt(price.times('0.01'))).toBe(true);
    expect(suite.tws.positions()).toContainEqual({
      instrument_key: 'IBKR:STOCK:SPY-USD@ARCA',
      symbol: 'SPY',
      position: '10',
      avgCost: fmt(price),
    });

    // Positions stay subscribed: selling sends the new position without asking.
    const sell = c.place(SPY, marketOrder('SELL', 10, 'op-etf-2'));
    await c.until(
      () => c.statuses(sell).includes('Filled') && c.of(EventName.commissionReport).length === 2,
      'sell',
    );
    await c.until(() => c.of(EventName.position).some((a) => a[2] === 0), 'flat position update');
    const closing = c.of(EventName.commissionReport)[1]?.[0] as CommissionReport;
    expect(typeof closing.realizedPNL).toBe('number');
  });

  it('rests a limit order away from the market, lists it in reqOpenOrders, then cancels it (202)', async () => {
    const c = await connect(2);
    const id = c.place(SPY, limitOrder('BUY', 5, 400, 'op-rest-1'));
    await c.until(() => c.statuses(id).includes('Submitted'), 'Submitted');
    c.ib.reqOpenOrders();
    await c.until(() => c.of(EventName.openOrderEnd).length === 1, 'openOrderEnd');
    expect(c.of(EventName.openOrder).filter((a) => a[0] === id).length).toBeGreaterThan(1);

    c.ib.cancelOrder(id);
    await c.until(() => c.statuses(id).includes('Cancelled'), 'Cancelled');
    expect(c.errors().find((e) => e.reqId === id)?.code).toBe(202);
    expect(suite.tws.ordersWithRef('op-rest-1')).toBe(1);

    c.ib.cancelOrder(id);
    await c.until(() => c.errors().some((e) => e.reqId === id && e.code === 10148), 'error 10148');
    c.ib.cancelOrder(9999);
    await c.until(() => c.errors().some((e) => e.reqId === 9999 && e.code === 135), 'error 135');
  });

  it('modifies an open order placed again with its id; a filled one cannot be modified (104)', async () => {
    const c = await connect(5);
    const order = limitOrder('BUY', 5, 400, 'op-modify');
    const id = c.place(SPY, order);
    await c.until(() => c.statuses(id).includes('Submitted'), 'Submitted');
    const opens = () =>
      c
        .of(EventName.openOrder)
        .filter((a) => a[0] === id)
        .map((a) => arg<{ lmtPrice: number; totalQuantity: number }>(a, 2));
    // The same order again (a resend after an unknown outcome): a modification that changes nothing.
    const before = opens().length;
    c.ib.placeOrder(id, SPY, order);
    await c.until(() => opens().length > before, 'openOrder after the resend');
    c.ib.placeOrder(id, SPY, { ...order, lmtPrice: 401, totalQuantity: 6 });
    await c.until(() => opens().at(-1)?.lmtPrice === 401, 'modified');
    expect(opens().at(-1)).toMatchObject({ lmtPrice: 401, totalQuantity: 6 });
    expect(suite.tws.ordersWithRef('op-modify')).toBe(1);
    // Another side is not a modification.
    c.ib.placeOrder(id, SPY, { ...order, action: 'SELL' as never });
    await c.until(() => c.errors().some((e) => e.reqId === id && e.code === 105), 'error 105');
    // Through the market: it fills, then cannot be modified.
    c.ib.placeOrder(id, SPY, { ...order, lmtPrice: 2000, totalQuantity: 6 });
    await c.until(() => c.statuses(id).includes('Filled'), 'Filled');
    const filled = c
      .of(EventName.execDetails)
      .map((a) => arg<Execution>(a, 2))
      .filter((e) => e.orderId === id);
    expect(filled.reduce((n, e) => n + (e.shares ?? 0), 0)).toBe(6);
    c.ib.placeOrder(id, SPY, { ...order, lmtPrice: 2000, totalQuantity: 7 });
    await c.until(() => c.errors().some((e) => e.reqId === id && e.code === 104), 'error 104');
    expect(c.errors().find((e) => e.code === 104)?.message).toBe("Can't modify a filled order.");
  });

  it('fills a future with its multiplier: commission per contract, cash moves by realised PnL only', async () => {
    const c = await connect(3);
    const cashBefore = dec(suite.tws.cash());
    const id = c.place(ES, marketOrder('BUY', 2, 'op-es-1'));
    await c.until(
      () => c.statuses(id).includes('Filled') && c.of(EventName.commissionReport).length > 0,
      'ES fill',
    );
    // Two contracts may fill at one or two levels: every fill has its commission report.
    const execs = c.of(EventName.execDetails).map((a) => arg<Execution>(a, 2));
    await c.until(() => c.of(EventName.commissionReport).length === execs.length, 'a report per fill');
    expect(arg<{ multiplier: number; exchange: string }>(c.of(EventName.execDetails)[0], 1)).toMatchObject({
      multiplier: 50,
      exchange: 'CME',
    });
    const reports = c.of(EventName.commissionReport).map((a) => arg<CommissionReport>(a, 0));
    // 2.25 USD a contract, charged per order as it fills.
    expect(reports.reduce((sum, r) => sum.plus(String(r.commission)), dec('0')).toFixed()).toBe('4.5');
    expect(suite.tws.cash()).toBe(fmt(cashBefore.minus('4.5')));
    const notional = execs.reduce(
      (sum, e) => sum.plus(dec(String(e.price)).times(String(e.shares))),
      dec('0'),
    );
    const es = suite.tws.positions().find((p) => p.symbol === 'ES');
    expect(es).toMatchObject({ position: '2', avgCost: fmt(notional.div(2).times(50)) });
  });

  it("refuses what TWS refuses, with IB's codes", async () => {
    const c = await connect(4);
    const offTick = c.place(SPY, limitOrder('BUY', 1, 400.005, 'bad-tick'));
    const stop = c.place(SPY, {
      ...marketOrder('BUY', 1, 'bad-type'),
      orderType: 'STP' as never,
      auxPrice: 500,
    });
    const tif = c.place(SPY, { ...marketOrder('BUY', 1, 'bad-tif'), tif: 'FOK' as never });
    const huge = c.place(SPY, marketOrder('BUY', 100_000, 'too-big'));
    await c.until(
      () => [offTick, stop, tif, huge].every((id) => c.errors().some((e) => e.reqId === id)),
      'four errors',
    );
    const err = (id: number) => c.errors().find((e) => e.reqId === id);
    expect(err(offTick)).toMatchObject({ code: 110 });
    expect(err(stop)).toMatchObject({ code: 387 });
    expect(err(tif)?.code).toBe(321);
    expect(err(tif)?.message).toMatch(/'tif' : cause - time in force "FOK" is not supported/);
    expect(err(huge)?.code).toBe(201);
    expect(err(huge)?.message).toMatch(
      /^Order rejected - reason:YOUR ORDER IS NOT ACCEPTED\. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE \[\d+\.\d\d USD\] MUST EXCEED THE INITIAL MARGIN/,
    );
    await c.until(() => c.statuses(huge).includes('Inactive'), 'Inactive');

    // An order id already used by this client.
    c.ib.placeOrder(huge, SPY, marketOrder('BUY', 1, 'dup'));
    await c.until(() => c.errors().some((e) => e.reqId === huge && e.code === 103), 'error 103');
    expect(suite.tws.ordersWithRef('dup')).toBe(0);
  });

  it('refuses an order outside the session (201) and accepts it inside', async () => {
    // Saturday 2026-12-05 12:00 New York: closed. Monday 2026-12-07 10:00 New York: open.
    const clock = new TestClock(BigInt(Date.UTC(2026, 11, 5, 17, 0)) * 1_000_000n);
    await suite.withServer(
      {
        clock,
        autoTick: false,
        session: US_EQUITY_HOURS,
        quoteIntervalMs: 60_000,
      },
      async (closed) => {
        const c = await connect(1, closed);
        const id = c.place(SPY, limitOrder('BUY', 1, 400, 'weekend'));
        await c.until(() => c.errors().some((e) => e.reqId === id), 'rejection');
        expect(c.errors().find((e) => e.reqId === id)).toMatchObject({
          code: 201,
          message: expect.stringMatching(
            /^Order rejected - reason:The contract is not available for trading at this time/,
          ),
        });
        await c.until(() => c.statuses(id).includes('Inactive'), 'Inactive');

        // Monday 08:00 New York: extended hours. Without outsideRth the order waits, PreSubmitted.
        clock.set(BigInt(Date.UTC(2026, 11, 7, 13, 0)) * 1_000_000n);
        const ok = c.place(SPY, limitOrder('BUY', 1, 400, 'monday', 'DAY'));
        const early = c.place(SPY, { ...limitOrder('BUY', 1, 401, 'pre-market', 'DAY'), outsideRth: true });
        await c.until(
          () => c.errors().some((e) => e.reqId === ok) && c.statuses(early).includes('Submitted'),
          'held and submitted',
        );
        expect(c.errors().find((e) => e.reqId === ok)).toEqual({
          code: 399,
          reqId: ok,
          message:
            'Order Message:\nBUY 1 SPY SMART\nWarning: your order will not be placed at the exchange until 2026-12-07 09:30:00 US/Eastern',
        });
        expect(c.statuses(ok)).toEqual(['PreSubmitted']);
        // 09:31: regular hours, the held order goes to the exchange.
        clock.set(BigInt(Date.UTC(2026, 11, 7, 14, 31)) * 1_000_000n);
        closed.tick();
        await c.until(() => c.statuses(ok).includes('Submitted'), 'Submitted at the open');
        // The DAY order ends with the session (20:00 New York).
        clock.set(BigInt(Date.UTC(2026, 11, 8, 1, 30)) * 1_000_000n);
        closed.tick();
        await c.until(() => c.statuses(ok).includes('Cancelled'), 'DAY order cancelled at the close');
      },
    );
  });

  it('finds open orders and executions again after a reconnect (reqOpenOrders, reqExecutions with a filter)', async () => {
    const first = await connect(7);
    const rest = first.place(SPY, limitOrder('SELL', 3, 990, 'op-re-rest'));
    const fill = first.place(SPY, marketOrder('BUY', 4, 'op-re-fill'));
    await first.until(
      () => first.statuses(rest).includes('Submitted') && first.statuses(fill).includes('Filled'),
      'both',
    );
    await first.until(() => first.of(EventName.commissionReport).length === 1, 'commission');
    const execId = arg<Execution>(first.of(EventName.execDetails)[0], 2).execId;
    first.disconnect();
    await first.until(() => first.of(EventName.disconnected).length === 1, 'disconnected');

    const again = await connect(7);
    expect(again.nextId).toBeGreaterThan(fill);
    again.ib.reqOpenOrders();
    await again.until(() => again.of(EventName.openOrderEnd).length === 1, 'openOrderEnd');
    const opens = again.of(EventName.openOrder);
    expect(opens.map((a) => a[0])).toEqual([rest]);
    expect(arg<{ orderRef: string }>(opens[0], 2).orderRef).toBe('op-re-rest');
    expect(arg<OrderState>(opens[0], 3).status).toBe('Submitted');

    again.ib.reqExecutions(40, { symbol: 'SPY', side: 'BUY' as never });
    await again.until(() => again.of(EventName.execDetailsEnd).some((a) => a[0] === 40), 'execDetailsEnd');
    await again.until(() => again.of(EventName.commissionReport).length === 1, 'commission replayed');
    const found = again
      .of(EventName.execDetails)
      .filter((a) => a[0] === 40)
      .map((a) => a[2] as Execution);
    expect(found.map((e) => [e.execId, e.orderRef])).toEqual([[execId, 'op-re-fill']]);
    expect(arg<CommissionReport>(again.of(EventName.commissionReport)[0], 0).execId).toBe(execId);

    again.ib.reqExecutions(41, { side: 'SELL' as never });
    again.ib.reqExecutions(42, { time: '20990101-00:00:00' });
    await again.until(
      () => again.of(EventName.execDetailsEnd).filter((a) => a[0] === 41 || a[0] === 42).length === 2,
      'ends',
    );
    expect(again.of(EventName.execDetails).filter((a) => a[0] === 41 || a[0] === 42)).toEqual([]);

    // Another client sees its own orders only; reqAllOpenOrders shows everyone's.
    const other = await connect(8);
    other.ib.reqOpenOrders();
    await other.until(() => other.of(EventName.openOrderEnd).length === 1, 'openOrderEnd (other)');
    expect(other.of(EventName.openOrder)).toEqual([]);
    other.ib.reqAllOpenOrders();
    await other.until(() => other.of(EventName.openOrderEnd).length === 2, 'all open orders');
    expect(other.of(EventName.openOrder).map((a) => a[0])).toContain(rest);
  });
  it('lists done orders in reqCompletedOrders (no order id: orderRef and permId), cancelled by the operator while the client was away, or filled', async () => {
    const first = await connect(9);
    const rest = first.place(SPY, limitOrder('BUY', 5, 400, 'op-done-rest'));
    const fill = first.place(SPY, marketOrder('BUY', 2, 'op-done-fill'));
    await first.until(
      () => first.statuses(rest).includes('Submitted') && first.statuses(fill).includes('Filled'),
      'resting and filled',
    );
    const permId = arg<{ permId: number }>(
      first.of(EventName.openOrder).find((a) => a[0] === rest),
      2,
    ).permId;
    first.disconnect();
    await first.until(() => first.of(EventName.disconnected).length === 1, 'disconnected');
    expect(suite.tws.cancelOrder('op-done-rest')).toBe(true);
    expect(suite.tws.cancelOrder('op-done-rest')).toBe(false);

    const again = await connect(9);
    again.ib.reqCompletedOrders(true);
    await again.until(() => again.of(EventName.completedOrdersEnd).length === 1, 'completedOrdersEnd');
    type Done = [{ symbol: string; secType: string }, Record<string, unknown>, OrderState];
    const done = again
      .of(EventName.completedOrder)
      .map((a) => a as unknown as Done)
      .filter(([, o]) => String(o.orderRef).startsWith('op-done-'))
      .sort(([, a], [, b]) => String(a.orderRef).localeCompare(String(b.orderRef)));
    expect(done.map(([, o, st]) => [o.orderRef, st.status, o.filledQuantity])).toEqual([
      ['op-done-fill', 'Filled', 2],
      ['op-done-rest', 'Cancelled', 0],
    ]);
    const [, cancelled, state] = done[1] as Done;
    expect(cancelled).toMatchObject({
      permId,
      action: 'BUY',
      totalQuantity: 5,
      lmtPrice: 400,
      orderType: 'LMT',
    });
    expect((done[1] as Done)[0]).toMatchObject({ symbol: 'SPY', secType: 'STK' });
    expect(state.completedStatus).toBe('Cancelled by Trader');
    expect(state.completedTime).toMatch(/^\d{8} \d{2}:\d{2}:\d{2} UTC$/);
    expect((done[0] as Done)[2].completedStatus).toBe('Filled Size: 2');
    expect(suite.tws.unhandledMessages).not.toContain('REQ_COMPLETED_ORDERS');
  });
});

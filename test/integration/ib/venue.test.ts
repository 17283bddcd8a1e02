/**
 * The IBKR adapter end to end: the real `@stoqey/ib` client in the adapter, the local TWS speaking
 * the TWS API socket protocol over our matching engine, and its fault injection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CME_EQUITY_FUTURE_HOURS, US_EQUITY_HOURS } from '../../../dev/local-tws/index.ts';
import { createIbVenue } from '../../../infra/ib/index.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { gateAt } from '../../../shared/execution/session.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { VenueError, type VenueOrderRequest, type VenueTrade } from '../../../shared/ports/venue.ts';
import { ES, type IbHarness, localTwsVenueOptions, SPY, startIbHarness } from './harness.ts';

let h: IbHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

let seq = 0;
const order = (over: Partial<VenueOrderRequest> = {}): VenueOrderRequest => ({
  client_order_id: `ib-${Date.now().toString(36)}-${++seq}`,
  instrument_key: SPY,
  side: 'BUY',
  order_type: 'MARKET',
  quantity: '10',
  price: null,
  time_in_force: 'IOC',
  ...over,
});

const tradesOf = (x: IbHarness, clientOrderId: string): VenueTrade[] =>
  x.events.flatMap((e) => (e.kind === 'trade' && e.trade.client_order_id === clientOrderId ? [e.trade] : []));

describe('IBKR adapter on the local TWS', () => {
  it('an ETF market order end to end: order id from nextValidId, client id in orderRef, one fill with its fee, the position', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    const balancesBefore = await x.venue.fetchBalances();
    const req = order();
    const st = await x.venue.submit(req);
    expect(st).toMatchObject({ client_order_id: req.client_order_id, instrument_key: SPY, side: 'BUY' });
    expect(Number(st.venue_order_id)).toBeGreaterThanOrEqual(1);
    expect(x.tws.ordersWithRef(req.client_order_id)).toBe(1);
    expect(await x.until(() => tradesOf(x, req.client_order_id).length > 0)).toBe(true);
    const [fill] = tradesOf(x, req.client_order_id);
    // IB fixed commission for stocks: 0.005 a share, at least 1 USD an order.
    expect(fill).toMatchObject({
      venue_order_id: st.venue_order_id,
      quantity: '10',
      fee: '1',
      fee_currency: 'USD',
      side: 'BUY',
    });
    const done = await x.venue.fetchOrder(req.client_order_id, SPY);
    expect(done).toMatchObject({ status: 'FILLED', filled_quantity: '10', avg_price: fill?.price });
    const read = (await x.venue.fetchTrades(SPY, 0n)).filter(
      (t) => t.client_order_id === req.client_order_id,
    );
    expect(read).toEqual([fill]);
    const pos = (await x.venue.fetchPositions()).find((p) => p.instrument_key === SPY);
    expect(pos).toEqual({ instrument_key: SPY, quantity: '10', entry_price: fill?.price });
    const usd = (b: typeof balancesBefore) => toDec(b.find((r) => r.asset === 'USD')?.total ?? 'NaN');
    const paid = toDec(fill?.price ?? '0')
      .times(10)
      .plus(1);
    expect(
      usd(balancesBefore)
        .minus(usd(await x.venue.fetchBalances()))
        .eq(paid),
    ).toBe(true);
  });

  it('a limit order rests, is found by its client id, and is cancelled', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'GTC', quantity: '5' });
    const st = await x.venue.submit(req);
    expect(st.status).toBe('NEW');
    expect((await x.venue.submit(req)).venue_order_id).toBe(st.venue_order_id);
    expect(x.tws.ordersWithRef(req.client_order_id)).toBe(1);
    expect((await x.venue.fetchOpenOrders(SPY)).map((o) => o.client_order_id)).toContain(req.client_order_id);
    const canceled = await x.venue.cancel(req.client_order_id, SPY);
    expect(canceled).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
    expect((await x.venue.fetchOpenOrders(SPY)).some((o) => o.client_order_id === req.client_order_id)).toBe(
      false,
    );
    // Cancelling again answers the final state; an unknown order is not_found.
    expect((await x.venue.cancel(req.client_order_id, SPY)).status).toBe('CANCELED');
    const err = await x.venue.cancel('never-sent', SPY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('not_found');
  });

  it('an ES future: contract size 50 from the multiplier; the position is priced per unit', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([ES], (e) => x.events.push(e));
    const [rules] = await x.venue.fetchInstrumentRules([ES]);
    expect(rules).toMatchObject({ instrument_key: ES, tick_size: '0.25', contract_size: '50' });
    const req = order({ instrument_key: ES, quantity: '1' });
    await x.venue.submit(req);
    expect(await x.until(() => tradesOf(x, req.client_order_id).length > 0)).toBe(true);
    const [fill] = tradesOf(x, req.client_order_id);
    expect(fill).toMatchObject({ instrument_key: ES, quantity: '1' });
    expect(toDec(fill?.fee ?? '0').gt(0)).toBe(true);
    const pos = (await x.venue.fetchPositions()).find((p) => p.instrument_key === ES);
    // IB reports avgCost per contract (× 50); the port's entry price is per unit: the fill price.
    expect(pos).toEqual({ instrument_key: ES, quantity: '1', entry_price: fill?.price });
    const tws = x.tws.positions().find((p) => p.instrument_key === ES);
    expect(toDec(tws?.avgCost ?? '0').eq(toDec(fill?.price ?? '0').times(50))).toBe(true);
  });

  it('execDetails / commissionReport reordered and duplicated: one fill each, with its fee', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.reorderExecutions(1);
    x.tws.faults.duplicateExecutions(2);
    const a = order();
    const b = order({ quantity: '300' });
    await x.venue.submit(a);
    await x.venue.submit(b);
    expect(
      await x.until(
        () => tradesOf(x, a.client_order_id).length > 0 && tradesOf(x, b.client_order_id).length > 0,
      ),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 200)); // the duplicates arrive after the first copies
    expect(x.tws.faults.stats.reorderedFills).toBe(1);
    expect(x.tws.faults.stats.duplicatedMessages).toBeGreaterThanOrEqual(2);
    const ids = (id: string) => tradesOf(x, id).map((t) => t.trade_id);
    expect(new Set(ids(a.client_order_id)).size).toBe(ids(a.client_order_id).length);
    expect(new Set(ids(b.client_order_id)).size).toBe(ids(b.client_order_id).length);
    const sum = (id: string) =>
      tradesOf(x, id)
        .reduce((s, t) => s.plus(t.quantity), toDec(0))
        .toString();
    expect(sum(a.client_order_id)).toBe('10');
    expect(sum(b.client_order_id)).toBe('300');
    // 300 shares × 0.005 = 1.5 USD over the order's fills.
    const fees = tradesOf(x, b.client_order_id)
      .reduce((s, t) => s.plus(t.fee), toDec(0))
      .toString();
    expect(fees).toBe('1.5');
  });

  it('the socket drops after the order reached TWS: looked up by orderRef after the reconnect, never sent twice, its fill gap-filled', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.disconnectOnPlaceOrder(1, { execute: true });
    const req = order();
    const st = await x.venue.submit(req);
    expect(st).toMatchObject({
      client_order_id: req.client_order_id,
      status: 'FILLED',
      filled_quantity: '10',
    });
    expect(x.tws.ordersWithRef(req.client_order_id)).toBe(1);
    expect(x.tws.calls('PLACE_ORDER')).toBe(1);
    expect(x.diagnostics.some((d) => d.type === 'submit_recovery' && d.outcome === 'found')).toBe(true);
    // The stream said down then up, and the fill the dropped socket never delivered came from the gap fill, once.
    const conn = x.events.flatMap((e) =>
      e.kind === 'connection' && e.stream === 'private' ? [e.state] : [],
    );
    expect(conn).toEqual(['up', 'down', 'up']);
    expect(await x.until(() => tradesOf(x, req.client_order_id).length === 1)).toBe(true);
    expect(x.diagnostics.some((d) => d.type === 'gap_fill' && d.reason === 'reconnect' && d.ok)).toBe(true);
    expect(x.venue.health().state).toBe('up');
  });

  it('the socket drops before the order reached TWS: not found after the reconnect, sent again under the same order id', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.disconnectOnPlaceOrder(1, { execute: false });
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'GTC' });
    const st = await x.venue.submit(req);
    expect(st.status).toBe('NEW');
    expect(x.tws.ordersWithRef(req.client_order_id)).toBe(1);
    expect(x.tws.calls('PLACE_ORDER')).toBe(2);
    expect(x.diagnostics.some((d) => d.type === 'submit_recovery' && d.outcome === 'resend')).toBe(true);
    await x.venue.cancel(req.client_order_id, SPY);
  });

  it('the socket drops after the order reached TWS, which cancels it while we are away: found CANCELED among the completed orders, never sent twice', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.disconnectOnPlaceOrder(1, { execute: true, cancelWhileAway: true });
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'GTC', quantity: '5' });
    const st = await x.venue.submit(req);
    expect(st).toMatchObject({
      client_order_id: req.client_order_id,
      status: 'CANCELED',
      quantity: '5',
      filled_quantity: '0',
      avg_price: null,
    });
    expect(x.tws.calls('PLACE_ORDER')).toBe(1);
    expect(x.tws.ordersWithRef(req.client_order_id)).toBe(1);
    expect(x.tws.calls('REQ_COMPLETED_ORDERS')).toBeGreaterThanOrEqual(1);
    expect(x.tws.unhandledMessages).toEqual([]);
    expect(x.diagnostics.some((d) => d.type === 'submit_recovery' && d.outcome === 'found')).toBe(true);
    expect(await x.venue.fetchOrder(req.client_order_id, SPY)).toMatchObject({
      status: 'CANCELED',
      filled_quantity: '0',
      venue_order_id: st.venue_order_id,
    });
    // Submitting it again answers the final state and sends nothing.
    expect((await x.venue.submit(req)).status).toBe('CANCELED');
    expect(x.tws.calls('PLACE_ORDER')).toBe(1);
  });

  it('a marketable order filled while we were away: FILLED with its quantity from the completed order, the price from the executions', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.disconnectOnPlaceOrder(1, { execute: true, cancelWhileAway: true });
    const req = order();
    const st = await x.venue.submit(req);
    expect(st).toMatchObject({ status: 'FILLED', quantity: '10', filled_quantity: '10' });
    expect(x.tws.calls('PLACE_ORDER')).toBe(1);
    expect(await x.until(() => tradesOf(x, req.client_order_id).length === 1)).toBe(true);
    const [fill] = tradesOf(x, req.client_order_id);
    expect(st.avg_price).toBe(fill?.price);
    expect(st.venue_order_id).toBe(fill?.venue_order_id);
  });

  it('a resting order cancelled at TWS during a disconnect: the reconnect gap fill finishes it (CANCELED, filled 0), the watcher hears it, a resubmit sends nothing', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'GTC', quantity: '5' });
    expect((await x.venue.submit(req)).status).toBe('NEW');
    expect(x.tws.faults.disconnectAll()).toBe(1);
    expect(x.tws.cancelOrder(req.client_order_id)).toBe(true);
    expect(
      await x.until(() =>
        x.diagnostics.some((d) => d.type === 'gap_fill' && d.reason === 'reconnect' && d.ok),
      ),
    ).toBe(true);
    expect(await x.venue.fetchOrder(req.client_order_id, SPY)).toMatchObject({
      status: 'CANCELED',
      filled_quantity: '0',
    });
    expect(
      x.events.some(
        (e) =>
          e.kind === 'order' &&
          e.order.client_order_id === req.client_order_id &&
          e.order.status === 'CANCELED',
      ),
    ).toBe(true);
    expect((await x.venue.submit(req)).status).toBe('CANCELED');
    expect((await x.venue.cancel(req.client_order_id, SPY)).status).toBe('CANCELED');
    expect(x.tws.calls('PLACE_ORDER')).toBe(1);
    expect(x.tws.calls('CANCEL_ORDER')).toBe(0);
  });

  it('an order of an earlier process, cancelled at TWS after it stopped: a new process finds it CANCELED (named by permId), neither cancels nor sends it again', async () => {
    h = await startIbHarness();
    const x = h;
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'GTC', quantity: '5' });
    expect((await x.venue.submit(req)).status).toBe('NEW');
    await x.venue.close();
    expect(x.tws.cancelOrder(req.client_order_id)).toBe(true);
    const later = createIbVenue({ ...localTwsVenueOptions(x.tws, { clientId: 900 }), commissionWaitMs: 200 });
    try {
      await later.connect();
      const found = await later.fetchOrder(req.client_order_id, SPY);
      expect(found).toMatchObject({
        client_order_id: req.client_order_id,
        instrument_key: SPY,
        side: 'BUY',
        status: 'CANCELED',
        quantity: '5',
        filled_quantity: '0',
      });
      expect(found?.venue_order_id).toMatch(/^perm:\d+$/);
      expect((await later.cancel(req.client_order_id, SPY)).status).toBe('CANCELED');
      expect(x.tws.calls('CANCEL_ORDER')).toBe(0);
      // Submitting it again answers the final state: the connect's gap fill read the completed orders.
      expect((await later.submit(req)).status).toBe('CANCELED');
      expect(x.tws.calls('PLACE_ORDER')).toBe(1);
      expect(await later.fetchOrder('never-sent', SPY)).toBeNull();
    } finally {
      await later.close();
    }
  });

  it('a commission report that does not come: the fill is left out of query answers, then delivered once by the stream when it arrives', async () => {
    h = await startIbHarness();
    const x = h;
    await x.venue.watch([SPY], (e) => x.events.push(e));
    x.tws.faults.withholdCommissionReports(1);
    const req = order();
    await x.venue.submit(req);
    expect(await x.until(() => x.events.some((e) => e.kind === 'order' && e.order.status === 'FILLED'))).toBe(
      true,
    );
    const mine = (ts: VenueTrade[]) => ts.filter((t) => t.client_order_id === req.client_order_id);
    // The query waits commissionWaitMs for the report, then answers without the fill (no fee, no trade).
    expect(mine(await x.venue.fetchTrades(SPY, 0n))).toEqual([]);
    expect(tradesOf(x, req.client_order_id)).toEqual([]);
    expect(await x.venue.fetchOrder(req.client_order_id, SPY)).toMatchObject({
      status: 'FILLED',
      filled_quantity: '10',
    });
    expect(x.tws.faults.releaseCommissionReports()).toBe(1);
    expect(await x.until(() => tradesOf(x, req.client_order_id).length === 1)).toBe(true);
    const [fill] = tradesOf(x, req.client_order_id);
    expect(fill).toMatchObject({ quantity: '10', fee: '1', fee_currency: 'USD' });
    expect(mine(await x.venue.fetchTrades(SPY, 0n))).toEqual([fill]);
    // A reconnect's gap fill reads it again: still one trade event.
    x.tws.faults.disconnectAll();
    expect(
      await x.until(
        () =>
          x.diagnostics.filter((d) => d.type === 'gap_fill' && d.reason === 'reconnect' && d.ok).length === 1,
      ),
    ).toBe(true);
    expect(tradesOf(x, req.client_order_id)).toHaveLength(1);
  });

  it('pacing: a burst beyond the budget waits for it; an error 100 from TWS is retried as rate_limited', async () => {
    h = await startIbHarness();
    const x = h;
    // Each balance query is two messages (request + cancel): 40 of them are 80 messages.
    const all = await Promise.all(Array.from({ length: 40 }, () => x.venue.fetchBalances()));
    expect(all.every((b) => b.length > 0)).toBe(true);
    // Over the budget: the adapter waited, and never had more than 45 messages in one second.
    const stats = x.venue.rateLimiterStats();
    expect(stats.waited).toBeGreaterThan(0);
    expect(stats.usage.MESSAGES_1S).toBeLessThanOrEqual(45);
    const before = x.tws.faults.stats.pacingViolations;
    // A violation TWS reports anyway (error 100) is a rate_limited failure, retried after a back-off.
    x.tws.faults.pacingViolationNext(1);
    expect((await x.venue.fetchBalances()).length).toBeGreaterThan(0);
    expect(x.tws.faults.stats.pacingViolations).toBeGreaterThan(before);
    expect(x.diagnostics.some((d) => d.type === 'retry' && d.error_kind === 'rate_limited')).toBe(true);
  });

  it('a rejection by TWS is a rejected VenueError with its reason, and the order reads back REJECTED', async () => {
    h = await startIbHarness();
    const x = h;
    x.tws.faults.rejectNextOrder('Order size exceeds limit');
    const req = order();
    const err = await x.venue.submit(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('rejected');
    expect((err as VenueError).message).toContain('Order size exceeds limit');
    expect(await x.venue.fetchOrder(req.client_order_id, SPY)).toMatchObject({ status: 'REJECTED' });
  });
});

describe('IBKR adapter outside trading hours: it offers the schedule and decides nothing', () => {
  // Saturday 2026-12-05 15:00 UTC: US equities and CME futures are closed.
  const saturday = BigInt(Date.UTC(2026, 11, 5, 15)) * 1_000_000n;

  it('the contract hours as the shared schedule: the core gate names the next open (Monday 04:00 New York)', async () => {
    const clock = new TestClock(saturday);
    h = await startIbHarness({ clock, session: US_EQUITY_HOURS, autoTick: false }, { clock });
    const schedule = await h.venue.tradingSchedule(SPY);
    expect(schedule).not.toBeNull();
    expect(gateAt({ schedule, policy: 'refuse' }, saturday)).toEqual({
      kind: 'refuse',
      reason: 'outside trading hours (next session opens 2026-12-07T09:00:00.000000000Z)',
    });
    expect(gateAt({ schedule, policy: 'queue' }, saturday)).toMatchObject({
      kind: 'hold',
      until: BigInt(Date.UTC(2026, 11, 7, 9)) * 1_000_000n,
    });
    expect(h.tws.calls('PLACE_ORDER')).toBe(0);
  });

  it('read again once the clock passes its horizon', async () => {
    const clock = new TestClock(saturday);
    // Quotes a minute apart: the local TWS replays the market up to the clock (a week here).
    h = await startIbHarness(
      { clock, session: CME_EQUITY_FUTURE_HOURS, autoTick: false, quoteIntervalMs: [60_000, 120_000] },
      { clock },
    );
    const first = await h.venue.tradingSchedule(ES);
    if (first === null) throw new Error('no schedule');
    clock.set(first.horizon + 1n);
    const again = await h.venue.tradingSchedule(ES);
    expect(again?.horizon).toBeGreaterThan(first.horizon);
    expect(gateAt({ schedule: again ?? null, policy: 'refuse' }, first.horizon + 1n).kind).not.toBe('hold');
  });

  it('an order sent out of hours anyway goes to TWS: its refusal (201) is a rejection like any other', async () => {
    const clock = new TestClock(saturday);
    h = await startIbHarness({ clock, session: US_EQUITY_HOURS, autoTick: false }, { clock });
    const req = order({ order_type: 'LIMIT', price: '100', time_in_force: 'DAY' });
    const err = await h.venue.submit(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('rejected');
    expect((err as VenueError).message).toContain('not available for trading at this time');
    expect(h.tws.calls('PLACE_ORDER')).toBe(1);
    expect(await h.venue.fetchOrder(req.client_order_id, SPY)).toMatchObject({ status: 'REJECTED' });
  });
});

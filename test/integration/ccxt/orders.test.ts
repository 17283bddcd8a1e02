/**
 * The ccxt venue adapter against the local Binance-spot-compatible exchange: the real ccxt client
 * (REST and ccxt pro WebSockets) through the adapter's boundary, no fault injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalExchange } from '../../../dev/local-exchange/index.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { VenueError, type VenueEvent, type VenueTrade } from '../../../shared/ports/venue.ts';
import {
  BTC,
  ETH,
  eventually,
  limitOrder,
  localExchange,
  marketOrder,
  nextClientOrderId,
  observer,
  ordersWithClientId,
  type Session,
  session,
} from './support.ts';

let ex: LocalExchange;
let s: Session;

beforeAll(async () => {
  ex = await localExchange({ startingBalances: { USDT: '5000000', BTC: '10', ETH: '100' } });
  s = session(ex);
  await s.venue.connect();
  await s.venue.watch([BTC], (e) => s.events.push(e));
});

afterAll(async () => {
  await s?.venue.close();
  await ex?.stop();
  // Every route or WebSocket method ccxt used through the adapter exists on the local exchange.
  expect(ex.unhandledRequests).toEqual([]);
});

function tradesOf(events: VenueEvent[], venueOrderId: string): VenueTrade[] {
  const byId = new Map<string, VenueTrade>();
  for (const e of events)
    if (e.kind === 'trade' && e.trade.venue_order_id === venueOrderId) byId.set(e.trade.trade_id, e.trade);
  return [...byId.values()];
}

describe('connect', () => {
  it('measures the clock offset and is healthy', async () => {
    const d = s.venue.diagnostics();
    expect(d.connected).toBe(true);
    expect(d.clock_offset_ms).not.toBeNull();
    expect(Math.abs(d.clock_offset_ms ?? 99_999)).toBeLessThan(1_000);
    expect(s.diags.some((e) => e.type === 'clock_offset')).toBe(true);
    await eventually(() => (s.venue.health().state === 'up' ? true : undefined), 'health up');
    expect(s.venue.diagnostics().streams).toEqual({ private: 'up', public: 'up' });
    expect(s.venue.id).toBe('BINANCE-SPOT');
    expect(s.venue.account_id).toBe('binance-spot-test');
    expect(s.venue.mode).toBe('LIVE');
  });

  it('reads the instrument rules from the exchange (PRICE_FILTER, LOT_SIZE, NOTIONAL)', async () => {
    const rules = await s.venue.fetchInstrumentRules([BTC, ETH, 'BINANCE-SPOT:SPOT_PAIR:DOGE-USDT']);
    expect(rules).toEqual([
      {
        instrument_key: BTC,
        tick_size: '0.01',
        step_size: '0.00001',
        min_qty: '0.00001',
        max_qty: '9000',
        min_notional: '5',
        contract_size: '1',
      },
      {
        instrument_key: ETH,
        tick_size: '0.01',
        step_size: '0.0001',
        min_qty: '0.0001',
        max_qty: '9000',
        min_notional: '5',
        contract_size: '1',
      },
    ]);
    expect(s.diags.some((e) => e.type === 'instrument_missing' && e.symbol === 'DOGE/USDT')).toBe(true);
  });

  it('reads balances, the book and spot positions', async () => {
    const balances = await s.venue.fetchBalances();
    expect(balances.find((b) => b.asset === 'ETH')).toBeDefined();
    const book = await s.venue.fetchBook(BTC, 3);
    expect(book.bids).toHaveLength(3);
    expect(book.asks).toHaveLength(3);
    expect(toDec(book.bids[0]?.price ?? '0').lt(toDec(book.asks[0]?.price ?? '0'))).toBe(true);
    for (const l of [...book.bids, ...book.asks]) {
      expect(toDec(l.price).mod('0.01').isZero()).toBe(true);
      expect(toDec(l.size).mod('0.00001').isZero()).toBe(true);
    }
    const positions = await s.venue.fetchPositions();
    expect(positions.map((p) => p.instrument_key).sort()).toEqual([BTC, ETH]);
    expect(positions.every((p) => p.entry_price === null)).toBe(true);
  });
});

describe('orders', () => {
  it('a market buy fills, with its trade by REST and by WebSocket', async () => {
    const req = marketOrder('BUY', '0.01');
    const st = await s.venue.submit(req);
    expect(st).toMatchObject({
      client_order_id: req.client_order_id,
      instrument_key: BTC,
      side: 'BUY',
      status: 'FILLED',
      quantity: '0.01',
      filled_quantity: '0.01',
    });
    expect(st.avg_price).not.toBeNull();
    expect(typeof st.ts_event).toBe('bigint');

    const trades = await s.venue.fetchTrades(BTC, st.ts_event - 60_000_000_000n);
    const mine = trades.filter((t) => t.venue_order_id === st.venue_order_id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.reduce((a, t) => a.plus(t.quantity), toDec('0')).toString()).toBe('0.01');
    expect(mine.every((t) => t.client_order_id === req.client_order_id && t.side === 'BUY')).toBe(true);
    expect(mine[0]?.fee_currency).toBe('USDT');

    const viaWs = await eventually(() => {
      const t = tradesOf(s.events, st.venue_order_id);
      return t.length === mine.length ? t : undefined;
    }, 'the trade over the WebSocket');
    expect(viaWs.map((t) => t.trade_id).sort()).toEqual(mine.map((t) => t.trade_id).sort());
    await eventually(
      () =>
        s.events.find(
          (e) =>
            e.kind === 'order' && e.order.venue_order_id === st.venue_order_id && e.order.status === 'FILLED',
        ),
      'the FILLED order update',
    );
    expect(await s.venue.fetchOrder(req.client_order_id, BTC)).toMatchObject({
      status: 'FILLED',
      venue_order_id: st.venue_order_id,
    });
  });

  it('a resting limit order is listed open, canceled, and cancel is idempotent', async () => {
    const book = await s.venue.fetchBook(BTC, 1);
    const far = toDec(book.bids[0]?.price ?? '0')
      .mul('0.9')
      .toDecimalPlaces(2)
      .toFixed();
    const req = limitOrder('BUY', '0.001', far);
    const st = await s.venue.submit(req);
    expect(st.status).toBe('NEW');
    const open = await s.venue.fetchOpenOrders(BTC);
    expect(open.map((o) => o.client_order_id)).toContain(req.client_order_id);
    expect((await s.venue.fetchOpenOrders()).map((o) => o.client_order_id)).toContain(req.client_order_id);

    const canceled = await s.venue.cancel(req.client_order_id, BTC);
    expect(canceled).toMatchObject({
      client_order_id: req.client_order_id,
      status: 'CANCELED',
      filled_quantity: '0',
    });
    // Again: the venue says "unknown order"; the adapter answers with the order's state.
    expect(await s.venue.cancel(req.client_order_id, BTC)).toMatchObject({ status: 'CANCELED' });
    expect((await s.venue.fetchOpenOrders(BTC)).map((o) => o.client_order_id)).not.toContain(
      req.client_order_id,
    );
    await eventually(
      () =>
        s.events.find(
          (e) =>
            e.kind === 'order' &&
            e.order.client_order_id === req.client_order_id &&
            e.order.status === 'CANCELED',
        ),
      'the CANCELED update',
    );
  });

  it('canceling a filled order returns it FILLED; an unknown order is not_found', async () => {
    const st = await s.venue.submit(marketOrder('SELL', '0.002'));
    expect(st.status).toBe('FILLED');
    expect(await s.venue.cancel(st.client_order_id, BTC)).toMatchObject({
      status: 'FILLED',
      filled_quantity: '0.002',
    });
    const err = await s.venue.cancel(nextClientOrderId('nope'), BTC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('not_found');
    expect(await s.venue.fetchOrder(nextClientOrderId('nope'), BTC)).toBeNull();
  });

  it('partial fills arrive as PARTIALLY_FILLED updates and trades that add up', async () => {
    const book = await s.venue.fetchBook(BTC, 1);
    // Through a few ask levels, far more than they show: fills part, rests the remainder.
    const price = toDec(book.asks[0]?.price ?? '0')
      .plus('0.03')
      .toFixed();
    const req = limitOrder('BUY', '20', price);
    const st = await s.venue.submit(req);
    expect(st.status).toBe('PARTIALLY_FILLED');
    expect(toDec(st.filled_quantity).gt(0)).toBe(true);
    expect(toDec(st.filled_quantity).lt(20)).toBe(true);

    const partial = await eventually(
      () =>
        s.events.find(
          (e) =>
            e.kind === 'order' &&
            e.order.client_order_id === req.client_order_id &&
            e.order.status === 'PARTIALLY_FILLED',
        ),
      'a PARTIALLY_FILLED update',
    );
    expect(partial.kind === 'order' && partial.order.quantity).toBe('20');
    const canceled = await s.venue.cancel(req.client_order_id, BTC);
    expect(canceled.status).toBe('CANCELED');
    const filled = toDec(canceled.filled_quantity);
    expect(filled.gte(toDec(st.filled_quantity))).toBe(true);
    const trades = await eventually(() => {
      const t = tradesOf(s.events, st.venue_order_id);
      const sum = t.reduce((a, x) => a.plus(x.quantity), toDec('0'));
      return sum.eq(filled) ? t : undefined;
    }, 'trades adding up to the filled quantity');
    expect(trades.length).toBeGreaterThan(1);
    expect(trades.every((t) => toDec(t.price).lte(toDec(price)))).toBe(true);
  });

  it('refuses orders the venue could not take as given, without sending them', async () => {
    const client = await observer(ex);
    const before = (await client.fetchOrders('BTC/USDT', undefined, 1000)).length;
    const bad = [
      { ...marketOrder('BUY', '0.000015') }, // off the step: ccxt would truncate it
      { ...limitOrder('BUY', '0.001', '100.005') }, // off the tick
      { ...limitOrder('BUY', '0.001', '100'), time_in_force: 'DAY' as const },
      { ...limitOrder('BUY', '0.001', '100'), price: null },
      { ...marketOrder('BUY', '0.001'), instrument_key: 'BINANCE-SPOT:SPOT_PAIR:DOGE-USDT' },
      { ...marketOrder('BUY', '0.001'), instrument_key: 'BYBIT:SPOT_PAIR:BTC-USDT' },
    ];
    for (const req of bad) {
      const err = await s.venue.submit(req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VenueError);
      expect((err as VenueError).kind).toBe('rejected');
    }
    expect((await client.fetchOrders('BTC/USDT', undefined, 1000)).length).toBe(before);
  });

  it('passes venue rejections through as rejected (insufficient balance)', async () => {
    const err = await s.venue.submit(marketOrder('SELL', '5000')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('rejected');
  });

  it('a second submit of the same client id returns the first order, never a second one', async () => {
    const req = marketOrder('BUY', '0.003');
    const first = await s.venue.submit(req);
    const again = await s.venue.submit(req);
    expect(again.venue_order_id).toBe(first.venue_order_id);
    expect(
      await ordersWithClientId(await observer(ex), 'BTC/USDT', s.venue.venueClientId(req.client_order_id)),
    ).toBe(1);
  });
});

/**
 * The ccxt adapter's Deribit path against the local Deribit: the real ccxt `pro.deribit` client
 * (JSON-RPC over HTTP and WebSocket) through the adapter — inverse perpetual, dated future and
 * option orders, fills with coin fees, positions, account summary, open orders, user trades.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDeribit } from '../../../dev/local-deribit/index.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { settlementValue } from '../../../shared/domain/instrument.ts';
import type { VenueEvent, VenueTrade } from '../../../shared/ports/venue.ts';
import {
  eventually,
  FUTURE,
  limitOrder,
  localDeribit,
  marketOrder,
  OPTION,
  PERP,
  type Session,
  session,
} from './support.ts';

let d: LocalDeribit;
let s: Session;

beforeAll(async () => {
  d = await localDeribit();
  s = session(d);
  await s.venue.connect();
  await s.venue.watch([PERP], (e) => s.events.push(e));
  await eventually(
    () => (d.connections().privateSubscriptions >= 2 ? true : undefined),
    'private subscriptions',
  );
});

afterAll(async () => {
  await s?.venue.close();
  await d?.stop();
  // Every JSON-RPC method ccxt used through the adapter exists on the local Deribit.
  expect(d.unhandledRequests).toEqual([]);
});

function tradesOf(events: VenueEvent[], venueOrderId: string): VenueTrade[] {
  const byId = new Map<string, VenueTrade>();
  for (const e of events)
    if (e.kind === 'trade' && e.trade.venue_order_id === venueOrderId) byId.set(e.trade.trade_id, e.trade);
  return [...byId.values()];
}

describe('instruments', () => {
  it('reads the rules of the perpetual, the future and the option (contract size 1: amounts in USD / coin)', async () => {
    const rules = await s.venue.fetchInstrumentRules([PERP, FUTURE, OPTION]);
    expect(rules).toEqual([
      {
        instrument_key: PERP,
        tick_size: '0.5',
        step_size: '10',
        min_qty: '10',
        max_qty: null,
        min_notional: null,
        contract_size: '1',
      },
      {
        instrument_key: FUTURE,
        tick_size: '2.5',
        step_size: '10',
        min_qty: '10',
        max_qty: null,
        min_notional: null,
        contract_size: '1',
      },
      {
        instrument_key: OPTION,
        tick_size: '0.0005',
        step_size: '0.1',
        min_qty: '0.1',
        max_qty: null,
        min_notional: null,
        contract_size: '1',
      },
    ]);
  });

  it('reads a book with bids below asks', async () => {
    const book = await s.venue.fetchBook(PERP, 5);
    expect(book.bids.length).toBeGreaterThan(0);
    expect(book.asks.length).toBeGreaterThan(0);
    expect(toDec(book.bids[0]?.price ?? '0').lt(book.asks[0]?.price ?? '0')).toBe(true);
  });
});

describe('inverse perpetual', () => {
  it('a market buy of 1000 USD fills, pays its fee in BTC, and shows as a position', async () => {
    const before = toDec(d.balance('BTC'));
    const req = marketOrder('BUY', '1000', PERP);
    const ack = await s.venue.submit(req);
    expect(ack.client_order_id).toBe(req.client_order_id);
    expect(ack.instrument_key).toBe(PERP);
    const done = await eventually(async () => {
      const o = await s.venue.fetchOrder(req.client_order_id, PERP);
      return o?.status === 'FILLED' ? o : undefined;
    }, 'perpetual order filled');
    expect(done.filled_quantity).toBe('1000');
    const trades = await s.venue.fetchTrades(PERP, 0n);
    const mine = trades.filter((t) => t.venue_order_id === done.venue_order_id);
    expect(mine.length).toBeGreaterThan(0);
    const sum = mine.reduce((a, t) => a.plus(t.quantity), toDec(0));
    expect(sum.toFixed()).toBe('1000');
    for (const t of mine) {
      expect(t.fee_currency).toBe('BTC');
      expect(t.client_order_id).toBe(req.client_order_id);
      // Taker fee 0.05 % of the coin value of the USD amount, rounded up to 10^-10 BTC.
      const expected = settlementValue(t.quantity, t.price, '1', 'INVERSE').times('0.0005');
      expect(toDec(t.fee).toFixed()).toBe(expected.toDecimalPlaces(10, 0).toFixed());
    }
    const fees = mine.reduce((a, t) => a.plus(t.fee), toDec(0));
    expect(toDec(d.balance('BTC')).eq(before.minus(fees))).toBe(true);
    // The fills also reach the stream, once per trade id.
    await eventually(
      () => (tradesOf(s.events, done.venue_order_id).length === mine.length ? true : undefined),
      'stream fills',
    );
    const positions = await s.venue.fetchPositions();
    expect(positions.find((p) => p.instrument_key === PERP)?.quantity).toBe('1000');
    const balances = await s.venue.fetchBalances();
    const btc = balances.find((b) => b.asset === 'BTC');
    expect(btc).toBeDefined();
  });

  it('a resting limit sell shows as open, then cancels', async () => {
    const book = await s.venue.fetchBook(PERP, 1);
    const far = toDec(book.asks[0]?.price ?? '60000')
      .times(2)
      .toFixed(0);
    const req = limitOrder('SELL', '500', far, PERP);
    const ack = await s.venue.submit(req);
    expect(ack.status).toBe('NEW');
    const open = await s.venue.fetchOpenOrders(PERP);
    expect(open.map((o) => o.client_order_id)).toContain(req.client_order_id);
    const canceled = await s.venue.cancel(req.client_order_id, PERP);
    expect(canceled.status).toBe('CANCELED');
    expect((await s.venue.fetchOpenOrders(PERP)).map((o) => o.client_order_id)).not.toContain(
      req.client_order_id,
    );
  });

  it('refuses an amount that is not a multiple of the 10 USD contract', async () => {
    await expect(s.venue.submit(marketOrder('BUY', '15', PERP))).rejects.toMatchObject({ kind: 'rejected' });
  });
});

describe('dated future and option', () => {
  it('a future market sell opens a short in USD', async () => {
    const req = marketOrder('SELL', '200', FUTURE);
    await s.venue.submit(req);
    await eventually(
      async () =>
        (await s.venue.fetchOrder(req.client_order_id, FUTURE))?.status === 'FILLED' ? true : undefined,
      'future filled',
    );
    const positions = await s.venue.fetchPositions();
    expect(positions.find((p) => p.instrument_key === FUTURE)?.quantity).toBe('-200');
  });

  it('an option market buy of 0.5 BTC pays premium and fee in BTC', async () => {
    const before = toDec(d.balance('BTC'));
    const req = marketOrder('BUY', '0.5', OPTION);
    await s.venue.submit(req);
    const o = await eventually(async () => {
      const x = await s.venue.fetchOrder(req.client_order_id, OPTION);
      return x?.status === 'FILLED' ? x : undefined;
    }, 'option filled');
    const trades = (await s.venue.fetchTrades(OPTION, 0n)).filter(
      (t) => t.venue_order_id === o.venue_order_id,
    );
    const premium = trades.reduce((a, t) => a.plus(toDec(t.quantity).times(t.price)), toDec(0));
    const fees = trades.reduce((a, t) => a.plus(t.fee), toDec(0));
    expect(toDec(d.balance('BTC')).eq(before.minus(premium).minus(fees))).toBe(true);
    const positions = await s.venue.fetchPositions();
    expect(positions.find((p) => p.instrument_key === OPTION)?.quantity).toBe('0.5');
  });
});

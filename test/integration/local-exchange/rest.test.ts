/**
 * The real ccxt REST client (binance, ccxt 4.5.84) against the local exchange on a TestClock:
 * markets, book, orders through the matching engine, balances, trades and Binance's errors.
 */
import ccxt, { type binance as BinanceRest } from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, harness } from './support.ts';

const BTC = 'BTC/USDT';

function idOf(o: { id: string | undefined }): string {
  if (o.id === undefined) throw new Error('order without an id');
  return o.id;
}

describe('local exchange: ccxt binance REST', () => {
  let h: Harness;
  let c: BinanceRest;

  beforeAll(async () => {
    h = await harness({ startingBalances: { USDT: '10000000', BTC: '10', ETH: '100' } });
    c = await h.rest();
    await c.loadMarkets();
  });
  afterAll(async () => {
    await h.close();
  });

  it('loadMarkets: exchangeInfo filters become ccxt precision and limits', () => {
    expect(Object.keys(c.markets ?? {}).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
    const m = c.market(BTC);
    expect(m.id).toBe('BTCUSDT');
    expect(m.spot).toBe(true);
    expect(m.active).toBe(true);
    expect(m.precision.price).toBe(0.01);
    expect(m.precision.amount).toBe(0.00001);
    expect(m.limits.amount).toEqual({ min: 0.00001, max: 9000 });
    expect(m.limits.cost?.min).toBe(5);
    expect(c.market('ETH/USDT').precision.amount).toBe(0.0001);
  });

  it('ping, time and the 24 h ticker', async () => {
    await c.publicGetPing();
    expect(await c.fetchTime()).toBe(Number(h.clock.now() / 1_000_000n));
    h.advance(2_000);
    const t = await c.fetchTicker(BTC);
    expect(t.symbol).toBe(BTC);
    expect(t.bid).toBeLessThan(t.ask ?? 0);
    expect(t.last).toBeGreaterThan(50_000);
    const tickers = await c.fetchTickers();
    expect(Object.keys(tickers).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
  });

  it('fetchOrderBook: sorted, uncrossed, on the tick grid, with the depth update id as nonce', async () => {
    const ob = await c.fetchOrderBook(BTC);
    expect(ob.bids.length).toBe(10);
    expect(ob.asks.length).toBe(10);
    const bestBid = ob.bids[0]?.[0] ?? 0;
    const bestAsk = ob.asks[0]?.[0] ?? 0;
    expect(bestBid).toBeLessThan(bestAsk);
    for (let i = 1; i < ob.bids.length; i++) expect(ob.bids[i]?.[0]).toBeLessThan(ob.bids[i - 1]?.[0] ?? 0);
    for (let i = 1; i < ob.asks.length; i++)
      expect(ob.asks[i]?.[0]).toBeGreaterThan(ob.asks[i - 1]?.[0] ?? 0);
    for (const [p] of [...ob.bids, ...ob.asks])
      expect(Math.abs(Math.round((p ?? 0) * 100) - (p ?? 0) * 100)).toBeLessThan(1e-6);
    expect(typeof ob.nonce).toBe('number');
    const again = await c.fetchOrderBook(BTC);
    expect(again.nonce).toBe(ob.nonce); // the clock did not move: nothing changed
    h.advance(1_000);
    expect((await c.fetchOrderBook(BTC)).nonce).toBeGreaterThan(ob.nonce ?? 0);
  });

  it('a market buy fills at once (FULL reply with fills) and moves the balances', async () => {
    const before = await c.fetchBalance();
    const book = await c.fetchOrderBook(BTC);
    const bestAsk = book.asks[0]?.[0] ?? 0;
    const o = await c.createOrder(BTC, 'market', 'buy', 0.05);
    expect(o.status).toBe('closed');
    expect(o.filled).toBe(0.05);
    expect(o.average).toBeGreaterThanOrEqual(bestAsk);
    expect(o.trades.length).toBeGreaterThanOrEqual(1);
    expect(o.fee?.currency).toBe('USDT');
    const cost = o.cost ?? 0;
    expect(o.fee?.cost).toBeCloseTo(cost * 0.001, 8);
    const after = await c.fetchBalance();
    expect((after.BTC?.free ?? 0) - (before.BTC?.free ?? 0)).toBeCloseTo(0.05, 10);
    expect((before.USDT?.free ?? 0) - (after.USDT?.free ?? 0)).toBeCloseTo(cost * 1.001, 6);
    // The exchange's own exact ledger agrees.
    expect(h.ex.balance('BTC').free).toBe('10.05');
  });

  it('a market sell walks the bids and the fee is taken in the quote asset', async () => {
    const o = await c.createOrder(BTC, 'market', 'sell', 0.02);
    expect(o.status).toBe('closed');
    expect(o.side).toBe('sell');
    expect(o.filled).toBe(0.02);
    expect(h.ex.balance('BTC').free).toBe('10.03');
  });

  it('a limit order rests → fetchOrder open, funds locked → cancel → canceled, funds released', async () => {
    const ob = await c.fetchOrderBook(BTC);
    const far = Math.round((ob.bids[0]?.[0] ?? 0) * 0.9 * 100) / 100;
    const o = await c.createOrder(BTC, 'limit', 'buy', 0.1, far);
    expect(o.status).toBe('open');
    expect(o.filled).toBe(0);
    const fetched = await c.fetchOrder(idOf(o), BTC);
    expect(fetched.status).toBe('open');
    expect(fetched.price).toBe(far);
    expect(fetched.amount).toBe(0.1);
    const bal = await c.fetchBalance();
    expect(bal.USDT?.used).toBeCloseTo(far * 0.1 * 1.001, 6);
    const open = await c.fetchOpenOrders(BTC);
    expect(open.map((x) => x.id)).toContain(idOf(o));
    h.advance(1_000);
    const canceled = await c.cancelOrder(idOf(o), BTC);
    expect(canceled.status).toBe('canceled');
    expect((await c.fetchOrder(idOf(o), BTC)).status).toBe('canceled');
    expect((await c.fetchBalance()).USDT?.used).toBe(0);
    await expect(c.cancelOrder(idOf(o), BTC)).rejects.toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('a resting limit fills in several trades over ticks (partial fills), then FILLED', async () => {
    const ob = await c.fetchOrderBook(BTC);
    const bid = ob.bids[0]?.[0] ?? 0;
    const ask = ob.asks[0]?.[0] ?? 0;
    const price = Math.round(((bid + ask) / 2) * 100) / 100;
    const o = await c.createOrder(BTC, 'limit', 'buy', 0.1, price);
    expect(o.status).toBe('open');
    const seen: number[] = [];
    let last = o;
    for (let i = 0; i < 60 && last.status === 'open'; i++) {
      h.advance(500);
      last = await c.fetchOrder(idOf(o), BTC);
      if ((last.filled ?? 0) > 0 && !seen.includes(last.filled ?? 0)) seen.push(last.filled ?? 0);
    }
    expect(last.status).toBe('closed');
    expect(last.filled).toBe(0.1);
    expect(seen.length).toBeGreaterThanOrEqual(2); // observed partially filled at least once
    expect(seen[0]).toBeLessThan(0.1);
    const trades = (await c.fetchMyTrades(BTC)).filter((t) => t.order === o.id);
    expect(trades.length).toBeGreaterThanOrEqual(2);
    for (const t of trades) {
      expect(t.price).toBe(price); // a resting order fills at its own limit
      expect(t.takerOrMaker).toBe('maker');
      expect(t.fee?.currency).toBe('USDT');
    }
    expect(trades.reduce((s, t) => s + (t.amount ?? 0), 0)).toBeCloseTo(0.1, 10);
  });

  it('fetchMyTrades: by since (startTime), fromId and limit', async () => {
    const all = await c.fetchMyTrades(BTC);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const ids = all.map((t) => Number(t.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const second = all[1];
    if (second === undefined) throw new Error('need two trades');
    const fromId = await c.fetchMyTrades(BTC, undefined, undefined, { fromId: second.id });
    expect(fromId.map((t) => t.id)).toEqual(all.slice(1).map((t) => t.id));
    const limited = await c.fetchMyTrades(BTC, undefined, 2);
    expect(limited.map((t) => t.id)).toEqual(all.slice(-2).map((t) => t.id));
    const since = await c.fetchMyTrades(BTC, all.at(-1)?.timestamp);
    expect(since.map((t) => t.id)).toContain(all.at(-1)?.id);
    expect(since.length).toBeLessThan(all.length);
  });

  it('clientOrderId round trip, fetch by client id, and a duplicate of an open order is rejected', async () => {
    const id = 'OP-42-c1';
    const ob = await c.fetchOrderBook(BTC);
    const far = Math.round((ob.bids[0]?.[0] ?? 0) * 0.8 * 100) / 100;
    const o = await c.createOrder(BTC, 'limit', 'buy', 0.01, far, { clientOrderId: id });
    expect(o.clientOrderId).toBe(id);
    const byClient = await c.fetchOrder('', BTC, { origClientOrderId: id });
    expect(byClient.id).toBe(o.id);
    expect(byClient.clientOrderId).toBe(id);
    const dup = c.createOrder(BTC, 'limit', 'buy', 0.01, far, { clientOrderId: id });
    await expect(dup).rejects.toBeInstanceOf(ccxt.InvalidOrder);
    await expect(dup).rejects.toThrow(/Duplicate order sent/);
    expect((await c.fetchOpenOrders(BTC)).filter((x) => x.clientOrderId === id)).toHaveLength(1);
    await c.cancelOrder(idOf(o), BTC);
    // Once closed, the id may be used again (Binance: unique among open orders).
    const again = await c.createOrder(BTC, 'limit', 'buy', 0.01, far, { clientOrderId: id });
    expect(again.id).not.toBe(o.id);
    await c.cancelOrder('', BTC, { origClientOrderId: id });
    expect((await c.fetchOrder(idOf(again), BTC)).status).toBe('canceled');
  });

  it('fetchOrders (allOrders) lists open and closed orders; fetchOrder of an unknown id → OrderNotFound', async () => {
    const orders = await c.fetchOrders(BTC);
    const statuses = new Set(orders.map((o) => o.status));
    expect(statuses.has('closed')).toBe(true);
    expect(statuses.has('canceled')).toBe(true);
    await expect(c.fetchOrder('999999', BTC)).rejects.toBeInstanceOf(ccxt.OrderNotFound);
  });

  it('LIMIT_MAKER (postOnly) that would take → OrderImmediatelyFillable; resting post-only is fine', async () => {
    const ob = await c.fetchOrderBook(BTC);
    const ask = ob.asks[0]?.[0] ?? 0;
    const bid = ob.bids[0]?.[0] ?? 0;
    await expect(c.createOrder(BTC, 'limit', 'buy', 0.01, ask, { postOnly: true })).rejects.toBeInstanceOf(
      ccxt.OrderImmediatelyFillable,
    );
    const ok = await c.createOrder(BTC, 'limit', 'buy', 0.01, bid, { postOnly: true });
    expect(['open', undefined]).toContain(ok.status); // LIMIT_MAKER defaults to an ACK reply
    const fetched = await c.fetchOrder(idOf(ok), BTC);
    expect(fetched.postOnly).toBe(true);
    await c.cancelOrder(idOf(ok), BTC);
  });

  it('IOC and FOK limits that cannot fill expire', async () => {
    const ob = await c.fetchOrderBook(BTC);
    const far = Math.round((ob.bids[0]?.[0] ?? 0) * 0.9 * 100) / 100;
    const ioc = await c.createOrder(BTC, 'limit', 'buy', 0.01, far, { timeInForce: 'IOC' });
    expect(ioc.status).toBe('expired');
    const fok = await c.createOrder(BTC, 'limit', 'buy', 100, (ob.asks[0]?.[0] ?? 0) + 1, {
      timeInForce: 'FOK',
    });
    expect(fok.status).toBe('expired');
    expect(fok.filled).toBe(0);
    // A marketable IOC fills what the book shows (across levels) and expires the rest.
    const ask = ob.asks[0]?.[0] ?? 0;
    const cross = await c.createOrder(BTC, 'limit', 'buy', 0.01, ask, { timeInForce: 'IOC' });
    expect(cross.filled).toBe(0.01);
    expect(cross.status).toBe('closed');
  });

  it('Binance errors map to ccxt errors: balance, filters, symbol', async () => {
    await expect(c.createOrder(BTC, 'market', 'buy', 1000)).rejects.toBeInstanceOf(ccxt.InsufficientFunds);
    await expect(c.createOrder('ETH/USDT', 'market', 'sell', 5_000)).rejects.toBeInstanceOf(
      ccxt.InsufficientFunds,
    );
    // Off the step grid (ccxt rounds amounts itself, so call the raw endpoint).
    const lot = c.privatePostOrder({ symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.000015' });
    await expect(lot).rejects.toBeInstanceOf(ccxt.InvalidOrder);
    await expect(lot).rejects.toThrow(/LOT_SIZE/);
    const px = c.privatePostOrder({
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'LIMIT',
      timeInForce: 'GTC',
      quantity: '0.001',
      price: '50000.005',
    });
    await expect(px).rejects.toThrow(/PRICE_FILTER/);
    const notional = c.createOrder(BTC, 'limit', 'buy', 0.00001, 50_000);
    await expect(notional).rejects.toBeInstanceOf(ccxt.BadRequest);
    await expect(notional).rejects.toThrow(/NOTIONAL/);
    await expect(c.privateGetOrder({ symbol: 'DOGEUSDT', orderId: 1 })).rejects.toBeInstanceOf(
      ccxt.BadSymbol,
    );
  });

  it('fetchTrades (aggTrades), fetchOHLCV (klines) and fetchTradingFees', async () => {
    h.advance(5_000);
    const trades = await c.fetchTrades(BTC, undefined, 20);
    expect(trades.length).toBe(20);
    expect(trades.at(-1)?.timestamp).toBeLessThanOrEqual(Number(h.clock.now() / 1_000_000n));
    const ohlcv = await c.fetchOHLCV(BTC, '1m');
    expect(ohlcv.length).toBeGreaterThanOrEqual(1);
    const [, o, hi, lo, cl] = ohlcv.at(-1) ?? [];
    expect(hi).toBeGreaterThanOrEqual(Math.max(o ?? 0, cl ?? 0));
    expect(lo).toBeLessThanOrEqual(Math.min(o ?? 0, cl ?? 0));
    const fees = await c.fetchTradingFees();
    expect(fees[BTC]?.maker).toBe(0.001);
    expect(fees[BTC]?.taker).toBe(0.001);
  });

  it('market buy by cost (quoteOrderQty) spends about the cost', async () => {
    const o = await c.createMarketBuyOrderWithCost(BTC, 1_000);
    expect(o.status).toBe('closed');
    expect(o.cost).toBeLessThanOrEqual(1_000);
    expect(o.cost).toBeGreaterThan(990);
  });
});

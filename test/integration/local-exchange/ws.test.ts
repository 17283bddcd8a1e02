/**
 * ccxt pro (binance, ccxt 4.5.84) WebSockets against the local exchange: the order book by REST
 * snapshot + depthUpdate sequence ids, trades, and the spot user data stream that ccxt subscribes
 * through the WebSocket API (`userDataStream.subscribe.signature`): orders, my trades, balances.
 * Then the WebSocket faults: dropped connections, duplicated / reordered / paused private events.
 */
import { createHmac } from 'node:crypto';
import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, type Harness, harness, type ProBinance, pump, within } from './support.ts';

const BTC = 'BTC/USDT';

function idOf(o: { id: string | undefined }): string {
  if (o.id === undefined) throw new Error('order without an id');
  return o.id;
}

/** A bare WebSocket client that collects every message it receives. */
class RawClient {
  readonly messages: Array<Record<string, unknown>> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
  }
  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawClient(ws);
  }
  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }
  /** The `event` payloads of user data stream messages (WS API form `{subscriptionId, event}`). */
  events(): Array<Record<string, unknown>> {
    return this.messages
      .map((m) =>
        typeof m.event === 'object' && m.event !== null ? (m.event as Record<string, unknown>) : null,
      )
      .filter((e): e is Record<string, unknown> => e !== null);
  }
  close(): void {
    this.ws.close();
  }
}

/** Subscribe a raw WS API connection to the user data stream, signed as Binance documents. */
async function rawUserStream(h: Harness): Promise<RawClient> {
  const raw = await RawClient.open(h.ex.wsApiUrl);
  const params: Record<string, string | number> = {
    apiKey: h.ex.apiKey,
    timestamp: Number(h.clock.now() / 1_000_000n),
  };
  const payload = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  const signature = createHmac('sha256', h.ex.secret).update(payload).digest('hex');
  raw.send({ id: 'sub-1', method: 'userDataStream.subscribe.signature', params: { ...params, signature } });
  const ack = await eventually(() => raw.messages.find((m) => m.id === 'sub-1'), 'subscribe reply');
  expect(ack).toMatchObject({ status: 200, result: { subscriptionId: 0 } });
  return raw;
}

describe('local exchange: ccxt pro binance WebSockets', () => {
  let h: Harness;
  let c: ProBinance;

  beforeAll(async () => {
    h = await harness({ startingBalances: { USDT: '1000000', BTC: '10' } });
    c = await h.pro();
    await c.loadMarkets();
  });
  afterAll(async () => {
    await h.close();
  });

  it('watchOrderBook: REST snapshot + depthUpdates stays equal to the REST book, tick after tick', async () => {
    const first = await within(c.watchOrderBook(BTC), 5_000, 'first order book');
    expect(first.bids.length).toBeGreaterThan(0);
    for (let i = 0; i < 15; i++) {
      const next = c.watchOrderBook(BTC);
      h.advance(300, 300);
      const ob = await within(next, 5_000, `order book update ${i}`);
      const rest = await c.fetchOrderBook(BTC);
      expect(ob.nonce).toBe(rest.nonce);
      expect(ob.bids.slice(0, 10)).toEqual(rest.bids.slice(0, 10));
      expect(ob.asks.slice(0, 10)).toEqual(rest.asks.slice(0, 10));
      expect(ob.bids.length).toBe(10); // levels that left the book were deleted (size 0 updates)
      expect(ob.asks.length).toBe(10);
    }
  });

  it('watchTrades and watchBidsAsks stream the market', async () => {
    const got = await pump(h, c.watchTrades(BTC), 'trades');
    expect(got.length).toBeGreaterThan(0);
    const rest = await c.fetchTrades(BTC, undefined, 1000, { fetchTradesMethod: 'publicGetTrades' });
    const restIds = new Set(rest.map((t) => t.id));
    for (const t of got) expect(restIds.has(t.id)).toBe(true);
    await pump(h, c.watchBidsAsks([BTC]), 'bids/asks');
    const top = await c.fetchOrderBook(BTC);
    const ba = await eventually(
      () => (c.bidsasks[BTC]?.bid === top.bids[0]?.[0] ? c.bidsasks[BTC] : undefined),
      'bookTicker to match the book',
    );
    expect(ba.ask).toBe(top.asks[0]?.[0]);
  });

  it('watchOrders, watchMyTrades and watchBalance receive the fills of a market order', async () => {
    const orders = h.collect(() => c.watchOrders(BTC));
    const myTrades = h.collect(() => c.watchMyTrades(BTC));
    const balance = c.watchBalance();
    await eventually(
      () => (h.ex.connections().userDataSubscriptions > 0 ? true : undefined),
      'user data subscription',
    );
    const placed = await c.createOrder(BTC, 'market', 'buy', 0.25, undefined, { clientOrderId: 'ws-mkt-1' });
    const oid = idOf(placed);
    const closed = await eventually(
      () => orders.items.find((o) => o.id === oid && o.status === 'closed'),
      'the order closed on the stream',
    );
    expect(closed.clientOrderId).toBe('ws-mkt-1');
    expect(closed.filled).toBe(0.25);
    const restTrades = (await c.fetchMyTrades(BTC)).filter((t) => t.order === oid);
    const wsTrades = await eventually(() => {
      const mine = myTrades.items.filter((t) => t.order === oid);
      return mine.length >= restTrades.length ? mine : undefined;
    }, 'my trades on the stream');
    expect(wsTrades.map((t) => t.id)).toEqual(restTrades.map((t) => t.id));
    expect(wsTrades.map((t) => t.price)).toEqual(restTrades.map((t) => t.price));
    expect(wsTrades.map((t) => t.fee?.cost)).toEqual(restTrades.map((t) => t.fee?.cost));
    const bal = await within(balance, 5_000, 'balance');
    expect(bal.USDT?.free).toBeDefined();
    const restBal = await c.fetchBalance();
    const latest = await eventually(() => {
      const spot = c.balance.spot as Record<string, { free?: number }> | undefined;
      return spot?.BTC?.free === restBal.BTC?.free ? spot : undefined;
    }, 'balance to catch up');
    expect(latest.BTC?.free).toBe(10.25);
    orders.stop();
    myTrades.stop();
    expect(orders.errors).toEqual([]);
    expect(myTrades.errors).toEqual([]);
  });

  it('a limit order: NEW, partial TRADEs over ticks, then CANCELED on the stream', async () => {
    const orders = h.collect(() => c.watchOrders(BTC));
    await eventually(() => (h.ex.connections().userDataSubscriptions > 0 ? true : undefined), 'subscribed');
    const ob = await c.fetchOrderBook(BTC);
    const price = Math.round((((ob.bids[0]?.[0] ?? 0) + (ob.asks[0]?.[0] ?? 0)) / 2) * 100) / 100;
    const placed = await c.createOrder(BTC, 'limit', 'buy', 5, price);
    const oid = idOf(placed);
    const partial = await eventually(
      () => orders.items.find((o) => o.id === oid && (o.filled ?? 0) > 0),
      'a partial fill on the stream',
      { tick: () => h.advance(500), tries: 200 },
    );
    expect(partial.status).toBe('open');
    expect(partial.filled).toBeLessThan(5);
    await c.cancelOrder(oid, BTC);
    const final = await eventually(
      () => orders.items.find((o) => o.id === oid && o.status === 'canceled'),
      'canceled update',
    );
    expect(final.filled).toBe((await c.fetchOrder(oid, BTC)).filled);
    orders.stop();
  });

  it('dropWebSockets: pending watches fail with NetworkError and the next watch calls reconnect', async () => {
    await pump(h, c.watchOrderBook(BTC), 'book before the drop');
    const pendingBook = c.watchOrderBook(BTC);
    const pendingOrders = c.watchOrders(BTC);
    await eventually(() => (h.ex.connections().userDataSubscriptions > 0 ? true : undefined), 'subscribed');
    const dropped = h.ex.faults.dropWebSockets();
    expect(dropped).toBeGreaterThanOrEqual(2);
    const [book, ord] = await Promise.allSettled([pendingBook, pendingOrders]);
    expect(book.status === 'rejected' && book.reason).toBeInstanceOf(ccxt.NetworkError);
    expect(ord.status === 'rejected' && ord.reason).toBeInstanceOf(ccxt.NetworkError);
    expect(h.ex.connections()).toEqual({ market: 0, api: 0, user: 0, userDataSubscriptions: 0 });

    // The next watch calls open new connections, subscribe again and take a new snapshot.
    const orders = c.watchOrders(BTC);
    await pump(h, c.watchOrderBook(BTC), 'book after reconnect');
    const rest = await c.fetchOrderBook(BTC);
    await eventually(
      () => (c.orderbooks[BTC]?.nonce === rest.nonce ? true : undefined),
      'book in sync again',
    );
    await eventually(() => (h.ex.connections().userDataSubscriptions > 0 ? true : undefined), 'resubscribed');
    const placed = await c.createOrder(BTC, 'market', 'sell', 0.01);
    const got = await within(orders, 5_000, 'orders after reconnect');
    expect(got.map((o) => o.id)).toContain(placed.id);
    expect(h.ex.faults.stats.droppedWebSockets).toBe(dropped);
  });
});

describe('local exchange: private event faults and raw streams', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('duplicateEvents sends every private event twice', async () => {
    const raw = await rawUserStream(h);
    const rest = await h.rest();
    h.ex.faults.duplicateEvents(true);
    await rest.createOrder(BTC, 'market', 'buy', 0.01);
    const events = await eventually(() => {
      const e = raw.events();
      return e.length >= 6 ? e : undefined;
    }, 'events');
    h.ex.faults.duplicateEvents(false);
    for (let i = 0; i < events.length; i += 2) expect(events[i]).toEqual(events[i + 1]);
    expect(events.filter((e) => e.e === 'executionReport').map((e) => e.x)).toEqual([
      'NEW',
      'NEW',
      'TRADE',
      'TRADE',
    ]);
    expect(h.ex.faults.stats.duplicatedEvents).toBe(events.length / 2);
    raw.close();
  });

  it('reorderEvents swaps adjacent private events', async () => {
    const raw = await rawUserStream(h);
    const rest = await h.rest();
    h.ex.faults.reorderEvents(true);
    // NEW, acct, TRADE, acct → acct, NEW, acct, TRADE
    await rest.createOrder(BTC, 'market', 'buy', 0.01);
    const events = await eventually(() => {
      const e = raw.events();
      return e.length >= 4 ? e : undefined;
    }, 'reordered events');
    expect(events.map((e) => (e.e === 'executionReport' ? e.x : e.e))).toEqual([
      'outboundAccountPosition',
      'NEW',
      'outboundAccountPosition',
      'TRADE',
    ]);
    expect(h.ex.faults.stats.reorderedEvents).toBe(2);
    // A far limit: NEW + acct (a pair), then a cancel: CANCELED + acct.
    const ob = await rest.fetchOrderBook(BTC);
    const far = Math.round((ob.bids[0]?.[0] ?? 0) * 0.9 * 100) / 100;
    const o = await rest.createOrder(BTC, 'limit', 'buy', 0.001, far);
    await rest.cancelOrder(idOf(o), BTC);
    const more = await eventually(() => {
      const e = raw.events();
      return e.length >= 8 ? e.slice(4) : undefined;
    }, 'more events');
    expect(more.map((e) => (e.e === 'executionReport' ? e.x : e.e))).toEqual([
      'outboundAccountPosition',
      'NEW',
      'outboundAccountPosition',
      'CANCELED',
    ]);
    h.ex.faults.reorderEvents(false);
    raw.close();
  });

  it('pauseWs holds every message, then delivers them in order', async () => {
    const raw = await rawUserStream(h);
    const rest = await h.rest();
    // Paused for longer than the test can take, then released by hand: no timing decides it.
    h.ex.faults.pauseWs(60_000);
    await rest.createOrder(BTC, 'market', 'buy', 0.01);
    await new Promise((r) => setTimeout(r, 100));
    expect(raw.events()).toEqual([]);
    h.ex.faults.pauseWs(0);
    const events = await eventually(() => {
      const e = raw.events();
      return e.length >= 4 ? e : undefined;
    }, 'events after the pause');
    expect(events.map((e) => (e.e === 'executionReport' ? e.x : e.e))).toEqual([
      'NEW',
      'outboundAccountPosition',
      'TRADE',
      'outboundAccountPosition',
    ]);
    expect(h.ex.faults.stats.pausedMessages).toBeGreaterThanOrEqual(4);
    raw.close();
  });

  it('executionReport fields (Binance spot user data stream)', async () => {
    const raw = await rawUserStream(h);
    const rest = await h.rest();
    const placed = await rest.createOrder(BTC, 'market', 'sell', 0.002, undefined, {
      clientOrderId: 'fields-1',
    });
    const trade = await eventually(
      () => raw.events().find((e) => e.e === 'executionReport' && e.x === 'TRADE'),
      'trade report',
    );
    expect(trade).toMatchObject({
      s: 'BTCUSDT',
      c: 'fields-1',
      S: 'SELL',
      o: 'MARKET',
      X: 'FILLED',
      i: Number(placed.id),
      z: '0.00200000',
      N: 'USDT',
      m: false,
    });
    expect(typeof trade.t).toBe('number');
    expect(Number(trade.l)).toBe(0.002);
    expect(Number(trade.n)).toBeGreaterThan(0);
    expect(typeof trade.T).toBe('number');
    expect(typeof trade.E).toBe('number');
    raw.close();
  });

  it('listen key: POST → /ws/<listenKey> gets raw events; PUT keeps it alive; DELETE closes it', async () => {
    const headers = { 'X-MBX-APIKEY': h.ex.apiKey };
    const created = (await (
      await fetch(`${h.ex.url}/api/v3/userDataStream`, { method: 'POST', headers })
    ).json()) as {
      listenKey: string;
    };
    expect(created.listenKey).toMatch(/^[A-Za-z0-9]{60}$/);
    const raw = await RawClient.open(`${h.ex.wsUrl}/${created.listenKey}`);
    await eventually(() => (h.ex.connections().user === 1 ? true : undefined), 'user stream');
    const rest = await h.rest();
    await rest.createOrder(BTC, 'market', 'buy', 0.001);
    const ev = await eventually(
      () => raw.messages.find((m) => m.e === 'executionReport' && m.x === 'TRADE'),
      'raw event',
    );
    expect(ev.s).toBe('BTCUSDT');
    const put = await fetch(`${h.ex.url}/api/v3/userDataStream?listenKey=${created.listenKey}`, {
      method: 'PUT',
      headers,
    });
    expect(await put.json()).toEqual({});
    const bad = await fetch(`${h.ex.url}/api/v3/userDataStream?listenKey=nope`, { method: 'PUT', headers });
    expect(await bad.json()).toEqual({ code: -1125, msg: 'This listenKey does not exist.' });
    const closed = new Promise<void>((r) => raw.ws.once('close', () => r()));
    await fetch(`${h.ex.url}/api/v3/userDataStream?listenKey=${created.listenKey}`, {
      method: 'DELETE',
      headers,
    });
    await within(closed, 2_000, 'listen key stream closed');
  });

  it('a listen key not kept alive expires after 60 minutes: listenKeyExpired, then the stream closes', async () => {
    const headers = { 'X-MBX-APIKEY': h.ex.apiKey };
    const res = await fetch(`${h.ex.url}/api/v3/userDataStream`, { method: 'POST', headers });
    const { listenKey } = (await res.json()) as { listenKey: string };
    const raw = await RawClient.open(`${h.ex.wsUrl}/${listenKey}`);
    const closed = new Promise<void>((r) => raw.ws.once('close', () => r()));
    h.advance(59 * 60_000, 60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(raw.messages.find((m) => m.e === 'listenKeyExpired')).toBeUndefined();
    h.advance(2 * 60_000, 60_000);
    await within(closed, 2_000, 'expired stream closed');
    expect(raw.messages.find((m) => m.e === 'listenKeyExpired')).toMatchObject({ listenKey });
    const put = await fetch(`${h.ex.url}/api/v3/userDataStream?listenKey=${listenKey}`, {
      method: 'PUT',
      headers,
    });
    expect(((await put.json()) as { code: number }).code).toBe(-1125);
  });

  it('combined streams (/stream?streams=…) wrap messages as {stream, data}; unknown streams are refused', async () => {
    const raw = await RawClient.open(
      `${h.ex.url.replace('http', 'ws')}/stream?streams=btcusdt@trade/btcusdt@bookTicker`,
    );
    await eventually(() => (h.ex.connections().market >= 1 ? true : undefined), 'market connection');
    h.advance(2_000);
    const msgs = await eventually(() => {
      const names = new Set(raw.messages.map((m) => m.stream));
      return names.has('btcusdt@trade') && names.has('btcusdt@bookTicker') ? raw.messages : undefined;
    }, 'combined messages');
    const trade = msgs.find((m) => m.stream === 'btcusdt@trade')?.data as Record<string, unknown>;
    expect(trade.e).toBe('trade');
    raw.send({ method: 'SUBSCRIBE', params: ['dogeusdt@trade'], id: 9 });
    const err = await eventually(() => raw.messages.find((m) => m.id === 9), 'subscribe error');
    expect(err.error).toMatchObject({ code: 2 });
    raw.send({ method: 'LIST_SUBSCRIPTIONS', id: 10 });
    const list = await eventually(() => raw.messages.find((m) => m.id === 10), 'list');
    expect(list.result).toEqual(['btcusdt@trade', 'btcusdt@bookTicker']);
    raw.close();
  });
});

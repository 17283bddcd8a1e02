/**
 * Authentication (HMAC signature, API key, recvWindow) and the HTTP faults, seen through the real
 * ccxt client: each fault surfaces as the ccxt error a live venue session has to handle.
 */
import ccxt, { type binance as BinanceRest } from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ccxtOptionsFor, startLocalExchange } from '../../../dev/local-exchange/index.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { type Harness, harness, startNs } from './support.ts';

const BTC = 'BTC/USDT';

describe('local exchange: authentication', () => {
  let h: Harness;
  let good: BinanceRest;

  beforeAll(async () => {
    h = await harness();
    good = await h.rest();
    await good.loadMarkets();
  });
  afterAll(async () => {
    await h.close();
  });

  it('a wrong secret → -1022 → AuthenticationError; the right one works', async () => {
    const bad = new ccxt.binance({ ...ccxtOptionsFor(h.ex), secret: 'not-the-secret' });
    await h.ex.configureCcxt(bad);
    bad.milliseconds = () => Number(h.clock.now() / 1_000_000n);
    const err = await bad.fetchBalance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.AuthenticationError);
    expect(String(err)).toMatch(/-1022/);
    expect((await good.fetchBalance()).USDT?.free).toBe(100_000);
    await bad.close();
  });

  it('an unknown API key → -2015 → AuthenticationError', async () => {
    const bad = new ccxt.binance({ ...ccxtOptionsFor(h.ex), apiKey: 'someone-else' });
    await h.ex.configureCcxt(bad);
    bad.milliseconds = () => Number(h.clock.now() / 1_000_000n);
    await expect(bad.fetchBalance()).rejects.toBeInstanceOf(ccxt.AuthenticationError);
    await bad.close();
  });

  it('a timestamp outside the recvWindow → -1021 → InvalidNonce; a larger recvWindow accepts it', async () => {
    const late = new ccxt.binance(ccxtOptionsFor(h.ex));
    await h.ex.configureCcxt(late);
    // ccxt signs with recvWindow 10000 by default.
    late.milliseconds = () => Number(h.clock.now() / 1_000_000n) - 15_000;
    const err = await late.fetchBalance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.InvalidNonce);
    expect(String(err)).toMatch(/recvWindow/);
    late.options.recvWindow = 20_000;
    await expect(late.fetchBalance()).resolves.toBeDefined();
    // Ahead of the server by more than a second is refused whatever the window.
    late.milliseconds = () => Number(h.clock.now() / 1_000_000n) + 5_000;
    await expect(late.fetchBalance()).rejects.toThrow(/ahead of the server/);
    await late.close();
  });

  it('a tampered body fails the signature check (raw HTTP)', async () => {
    const ts = Number(h.clock.now() / 1_000_000n);
    const body = `symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&timestamp=${ts}&signature=${'0'.repeat(64)}`;
    const res = await fetch(`${h.ex.url}/api/v3/order`, {
      method: 'POST',
      headers: { 'X-MBX-APIKEY': h.ex.apiKey, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: -1022, msg: 'Signature for this request is not valid.' });
    const noKey = await fetch(`${h.ex.url}/api/v3/account?timestamp=${ts}&signature=x`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { code: number }).code).toBe(-2014);
  });
});

describe('local exchange: HTTP faults', () => {
  let h: Harness;
  let c: BinanceRest;

  beforeAll(async () => {
    h = await harness();
    c = await h.rest();
    await c.loadMarkets();
  });
  afterAll(async () => {
    await h.close();
  });

  it('rateLimitNext → 429 with Retry-After and -1003 → ccxt DDoSProtection (a NetworkError), then normal', async () => {
    h.ex.faults.rateLimitNext(1, { retryAfterSec: 3 });
    const err = await c.fetchOrderBook(BTC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.DDoSProtection);
    expect(err).toBeInstanceOf(ccxt.NetworkError);
    expect(String(err)).toMatch(/429/);
    expect(c.last_response_headers?.['retry-after'] ?? c.last_response_headers?.['Retry-After']).toBe('3');
    expect(h.ex.faults.stats.rateLimited).toBe(1);
    await expect(c.fetchOrderBook(BTC)).resolves.toBeDefined();
  });

  it('failNext 500 / 502 / 503 → ExchangeNotAvailable (NetworkError); the request is not executed', async () => {
    for (const status of [500, 502, 503] as const) {
      h.ex.faults.failNext(1, { status, path: '/api/v3/order', method: 'POST' });
      const err = await c
        .createOrder(BTC, 'market', 'buy', 0.001, undefined, { clientOrderId: `fail-${status}` })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ccxt.ExchangeNotAvailable);
      expect(err).toBeInstanceOf(ccxt.NetworkError);
      await expect(c.fetchOrder('', BTC, { origClientOrderId: `fail-${status}` })).rejects.toBeInstanceOf(
        ccxt.OrderNotFound,
      );
    }
    expect(h.ex.faults.stats.failed).toBe(3);
  });

  it('a fault with a path matcher leaves other paths alone', async () => {
    h.ex.faults.failNext(1, { path: '/api/v3/account' });
    await expect(c.fetchOrderBook(BTC)).resolves.toBeDefined();
    await expect(c.fetchBalance()).rejects.toBeInstanceOf(ccxt.ExchangeNotAvailable);
    await expect(c.fetchBalance()).resolves.toBeDefined();
    expect(h.ex.faults.pending).toBe(0);
  });

  it('timeoutNext (not executed) → RequestTimeout and no order', async () => {
    c.timeout = 300;
    h.ex.faults.timeoutNext(1, { path: '/api/v3/order', method: 'POST' });
    const err = await c
      .createOrder(BTC, 'market', 'buy', 0.001, undefined, { clientOrderId: 'lost-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.RequestTimeout);
    c.timeout = 10_000;
    await expect(c.fetchOrder('', BTC, { origClientOrderId: 'lost-1' })).rejects.toBeInstanceOf(
      ccxt.OrderNotFound,
    );
  });

  it('timeoutNext with execute: the order is placed but never acknowledged (crash between submit and ack)', async () => {
    c.timeout = 300;
    h.ex.faults.timeoutNext(1, { path: '/api/v3/order', method: 'POST', execute: true });
    const err = await c
      .createOrder(BTC, 'market', 'buy', 0.001, undefined, { clientOrderId: 'ghost-1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.RequestTimeout);
    c.timeout = 10_000;
    const found = await c.fetchOrder('', BTC, { origClientOrderId: 'ghost-1' });
    expect(found.status).toBe('closed');
    expect(found.filled).toBe(0.001);
    // A retry with the same client order id after the crash fills nothing twice: the first is closed,
    // so Binance would accept a new one; the session must look it up first (as done above).
    expect(h.ex.faults.stats.timedOutExecuted).toBe(1);
  });

  it('timeoutNext with execute and delayMs: a late ack after the client gave up', async () => {
    c.timeout = 200;
    h.ex.faults.timeoutNext(1, { path: '/api/v3/order', method: 'POST', execute: true, delayMs: 600 });
    const ob = await c.fetchOrderBook(BTC);
    const far = Math.round((ob.bids[0]?.[0] ?? 0) * 0.9 * 100) / 100;
    await expect(
      c.createOrder(BTC, 'limit', 'buy', 0.001, far, { clientOrderId: 'late-1' }),
    ).rejects.toBeInstanceOf(ccxt.RequestTimeout);
    c.timeout = 10_000;
    const open = await c.fetchOpenOrders(BTC);
    expect(open.map((o) => o.clientOrderId)).toContain('late-1');
    await c.cancelOrder('', BTC, { origClientOrderId: 'late-1' });
  });

  it('delayAcks holds order replies (after executing them)', async () => {
    h.ex.faults.delayAcks(400);
    const t0 = Date.now();
    const o = await c.createOrder(BTC, 'market', 'buy', 0.001);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380);
    expect(o.status).toBe('closed');
    h.ex.faults.delayAcks(0);
    const t1 = Date.now();
    await c.fetchBalance();
    expect(h.ex.faults.stats.delayedAcks).toBe(1);
    expect(Date.now() - t1).toBeLessThan(5_000);
  });

  it('offline → NetworkError (connections reset); online → works again', async () => {
    h.ex.faults.offline();
    const err = await c.fetchBalance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ccxt.NetworkError);
    expect(h.ex.faults.stats.refusedOffline).toBeGreaterThanOrEqual(1);
    h.ex.faults.online();
    await expect(c.fetchBalance()).resolves.toBeDefined();
  });
});

describe('local exchange: unknown routes', () => {
  it('answer 404 with a clear message and are recorded', async () => {
    const ex = await startLocalExchange({ clock: new TestClock(startNs()), autoTick: false });
    try {
      const res = await fetch(`${ex.url}/fapi/v1/exchangeInfo`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        code: -1000,
        msg: 'The local exchange does not implement GET /fapi/v1/exchangeInfo.',
      });
      expect(ex.unhandledRequests).toEqual(['GET /fapi/v1/exchangeInfo']);
    } finally {
      await ex.stop();
    }
  });
});

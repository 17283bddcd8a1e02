/**
 * The local exchange as `npm start` runs it: the wall clock and its own timer move the market
 * (autoTick), and ccxt signs with its own clock. Also the Binance fee convention (`feeMode`).
 */
import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { ccxtOptionsFor, startLocalExchange } from '../../../dev/local-exchange/index.ts';
import { harness, within } from './support.ts';

const BTC = 'BTC/USDT';

describe('local exchange: wall clock and timers (npm start)', () => {
  it('the market moves by itself; ccxt trades and streams with its own clock', async () => {
    const ex = await startLocalExchange({ seed: 3, quoteIntervalMs: 50, tickMs: 20 });
    const c = new ccxt.pro.binance(ccxtOptionsFor(ex));
    await ex.configureCcxt(c);
    try {
      await c.loadMarkets();
      const first = await c.fetchOrderBook(BTC);
      // Book updates arrive without anyone ticking.
      let ob = await within(c.watchOrderBook(BTC), 5_000, 'first book');
      for (let i = 0; i < 5; i++) ob = await within(c.watchOrderBook(BTC), 5_000, `update ${i}`);
      expect(ob.nonce).toBeGreaterThan(first.nonce ?? 0);
      const serverTime = await c.fetchTime();
      expect(Math.abs((serverTime ?? 0) - Date.now())).toBeLessThan(2_000);
      const o = await c.createOrder(BTC, 'market', 'buy', 0.01);
      expect(o.status).toBe('closed');
      expect(o.filled).toBe(0.01);
      const balance = await c.fetchBalance();
      expect(balance.BTC?.free).toBe(1.01);
    } finally {
      await c.close();
      await ex.stop();
    }
    expect(ex.unhandledRequests).toEqual([]);
    // Stopped: nothing listens any more.
    await expect(fetch(`${ex.url}/api/v3/ping`)).rejects.toThrow();
  });

  it('ports: 0 picks a free port, an explicit port is used, two exchanges run side by side', async () => {
    const a = await startLocalExchange({ autoTick: false });
    const b = await startLocalExchange({ autoTick: false, port: 0, seed: 9 });
    try {
      expect(a.port).not.toBe(b.port);
      expect(a.url).toBe(`http://127.0.0.1:${a.port}`);
      expect(a.wsUrl).toBe(`ws://127.0.0.1:${a.port}/ws`);
      expect(a.wsApiUrl).toBe(`ws://127.0.0.1:${a.port}/ws-api/v3`);
      expect(await (await fetch(`${b.url}/api/v3/ping`)).json()).toEqual({});
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('local exchange: feeMode binance', () => {
  it('a buy pays its fee in the base asset, a sell in the quote asset', async () => {
    const h = await harness({ feeMode: 'binance', startingBalances: { USDT: '100000', BTC: '0' } });
    try {
      const c = await h.rest();
      await c.loadMarkets();
      const buy = await c.createOrder(BTC, 'market', 'buy', 0.1);
      expect(buy.fee?.currency).toBe('BTC');
      expect(buy.fee?.cost).toBeCloseTo(0.0001, 10);
      expect(h.ex.balance('BTC').free).toBe('0.0999');
      // Binance locks price × qty (no fee) for a buy.
      const usdtBefore = Number(h.ex.balance('USDT').free);
      expect(usdtBefore).toBeCloseTo(100_000 - (buy.cost ?? 0), 6);
      const sell = await c.createOrder(BTC, 'market', 'sell', 0.05);
      expect(sell.fee?.currency).toBe('USDT');
      expect(Number(h.ex.balance('USDT').free)).toBeCloseTo(usdtBefore + (sell.cost ?? 0) * 0.999, 6);
    } finally {
      await h.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { VENUE_RATE_LIMITS, VenueRateLimiter, type VenueRateLimits } from '../../../infra/ccxt/limits.ts';

/** A manual clock: `sleep` advances it (and records the waits). */
function clock() {
  let now = 1_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

const LIMITS: VenueRateLimits = {
  weight: [{ name: 'W', limit: 10, windowMs: 1_000, usedHeader: 'x-used-weight' }],
  orders: [{ name: 'O', limit: 2, windowMs: 500 }],
  orderOperations: ['createOrder'],
};

describe('VenueRateLimiter', () => {
  it('never waits while the budget has room (no fixed spacing between calls)', async () => {
    const c = clock();
    const l = new VenueRateLimiter(LIMITS, c.now, c.sleep);
    for (let i = 0; i < 10; i++) await l.acquireWeight(1);
    expect(c.sleeps).toEqual([]);
    expect(l.stats).toMatchObject({ waited: 0, usage: { W: 10 } });
  });

  it('a call beyond the budget waits until enough earlier weight has left the window', async () => {
    const c = clock();
    const l = new VenueRateLimiter(LIMITS, c.now, c.sleep);
    await l.acquireWeight(4); // t=1000
    c.advance(300);
    await l.acquireWeight(6); // t=1300: window full
    c.advance(100);
    await l.acquireWeight(3); // needs the 4 of t=1000 to expire: at t=2001
    expect(c.sleeps).toEqual([601]);
    expect(c.now()).toBe(2_001);
    expect(l.stats.waited).toBe(1);
    expect(l.stats.usage.W).toBe(9);
  });

  it('counts orders only for order operations, in their own window', async () => {
    const c = clock();
    const l = new VenueRateLimiter(LIMITS, c.now, c.sleep);
    await l.acquireOrder('fetchOrder');
    await l.acquireOrder('createOrder');
    await l.acquireOrder('createOrder');
    expect(c.sleeps).toEqual([]);
    await l.acquireOrder('createOrder');
    expect(c.sleeps).toEqual([501]);
  });

  it("takes the venue's reported usage when it is higher than ours (other clients on the key)", async () => {
    const c = clock();
    const l = new VenueRateLimiter(LIMITS, c.now, c.sleep);
    await l.acquireWeight(1);
    l.observeHeaders({ 'X-Used-Weight': '9' });
    expect(l.stats.usage.W).toBe(9);
    l.observeHeaders({ 'x-used-weight': '3' }); // lower: ignored
    expect(l.stats.usage.W).toBe(9);
    await l.acquireWeight(2);
    expect(c.sleeps.length).toBe(1);
  });

  it('serves waiters in order', async () => {
    const c = clock();
    const l = new VenueRateLimiter(LIMITS, c.now, c.sleep);
    await l.acquireWeight(10);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => l.acquireWeight(3).then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('has documented limits for every ccxt exchange', () => {
    expect(Object.keys(VENUE_RATE_LIMITS).sort()).toEqual([
      'binance',
      'binanceusdm',
      'bybit',
      'deribit',
      'okx',
    ]);
    expect(VENUE_RATE_LIMITS.binance.weight[0]).toMatchObject({ limit: 6_000, windowMs: 60_000 });
    expect(VENUE_RATE_LIMITS.deribit.matchingEngineCost).toBe(4);
  });

  it('Deribit: a matching-engine call (ccxt cost 4) pays one order, not weight', async () => {
    const c = clock();
    const l = new VenueRateLimiter(VENUE_RATE_LIMITS.deribit, c.now, c.sleep);
    for (let i = 0; i < 5; i++) await l.acquireWeight(4);
    expect(l.stats.usage).toMatchObject({ MATCHING_1S: 5, NON_MATCHING_1S: 0 });
    expect(c.sleeps).toEqual([]);
    await l.acquireWeight(4); // the sixth in one second waits for the first to age out
    expect(c.sleeps).toEqual([1_001]);
    for (let i = 0; i < 20; i++) await l.acquireWeight(1);
    expect(l.stats.usage.NON_MATCHING_1S).toBe(20);
  });
});

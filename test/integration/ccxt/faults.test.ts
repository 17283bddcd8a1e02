/**
 * The adapter's resilience against the local exchange's fault injection: unknown submit outcomes
 * resolved by client-id look-ups (never a second order), 5xx / 429 bursts retried with back-off
 * (Retry-After honoured), and the circuit breaker.
 */
import { describe, expect, it } from 'vitest';
import type { LocalExchange } from '../../../dev/local-exchange/index.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { VenueError } from '../../../shared/ports/venue.ts';
import {
  BTC,
  eventually,
  limitOrder,
  localExchange,
  localVenueSuite,
  marketOrder,
  observer,
  ordersWithClientId,
  session,
  sleep,
} from './support.ts';

let ex: LocalExchange;

const { open, sessions } = localVenueSuite(async () => {
  ex = await localExchange();
  return ex;
}, session);

const ORDER = { path: '/api/v3/order', method: 'POST' } as const;

describe('submit with an unknown outcome', () => {
  it('executed but never answered (timeout): found by client id, no second order', async () => {
    const s = await open({ requestTimeoutMs: 700 });
    ex.faults.timeoutNext(1, { ...ORDER, execute: true });
    const req = marketOrder('BUY', '0.004');
    const st = await s.venue.submit(req);
    expect(st).toMatchObject({
      client_order_id: req.client_order_id,
      status: 'FILLED',
      filled_quantity: '0.004',
    });
    expect(ex.faults.stats.timedOutExecuted).toBe(1);
    expect(
      s.diags
        .filter((d) => d.type === 'submit_recovery')
        .map((d) => d.type === 'submit_recovery' && d.outcome),
    ).toEqual(['found']);
    const client = await observer(ex);
    expect(await ordersWithClientId(client, 'BTC/USDT', req.client_order_id)).toBe(1);
    await client.close();
  });

  it('answered late (slow ack): still one order', async () => {
    const s = await open({ requestTimeoutMs: 500 });
    ex.faults.timeoutNext(1, { ...ORDER, execute: true, delayMs: 1_500 });
    const req = marketOrder('BUY', '0.001');
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    const client = await observer(ex);
    expect(await ordersWithClientId(client, 'BTC/USDT', req.client_order_id)).toBe(1);
    await client.close();
  });

  it('lost before the venue (timeout, not executed): not found, so sent again with the same id, once', async () => {
    const s = await open({ requestTimeoutMs: 500 });
    ex.faults.timeoutNext(1, { ...ORDER, execute: false });
    const req = marketOrder('BUY', '0.002');
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    expect(s.diags.some((d) => d.type === 'submit_recovery' && d.outcome === 'resend')).toBe(true);
    const client = await observer(ex);
    expect(await ordersWithClientId(client, 'BTC/USDT', req.client_order_id)).toBe(1);
    await client.close();
  });

  it('a 503 on the order endpoint: looked up, sent again, one order', async () => {
    const s = await open();
    ex.faults.failNext(2, { ...ORDER, status: 503 });
    const req = marketOrder('SELL', '0.001');
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    expect(ex.faults.stats.failed).toBeGreaterThanOrEqual(2);
    const client = await observer(ex);
    expect(await ordersWithClientId(client, 'BTC/USDT', req.client_order_id)).toBe(1);
    await client.close();
  });

  it('a 429 on the order endpoint waits for Retry-After before looking and resending', async () => {
    const s = await open();
    ex.faults.rateLimitNext(1, { ...ORDER, retryAfterSec: 1 });
    const req = marketOrder('BUY', '0.001');
    const started = Date.now();
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const retry = s.diags.find((d) => d.type === 'retry' && d.operation === 'createOrder');
    expect(retry?.type === 'retry' && retry.error_kind).toBe('rate_limited');
    expect(retry?.type === 'retry' && retry.delay_ms).toBeGreaterThanOrEqual(1_000);
  });

  it('gives up with a transient error when the venue stays unreachable, and looks first on the next submit', async () => {
    const s = await open({ submitAttempts: 2, retry: { initialDelayMs: 10, maxDelayMs: 20, maxRetries: 1 } });
    ex.faults.failNext(20, { status: 502 });
    const req = marketOrder('BUY', '0.001');
    const err = await s.venue.submit(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect(['transient', 'circuit_open']).toContain((err as VenueError).kind);
    ex.faults.reset();
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    const client = await observer(ex);
    expect(await ordersWithClientId(client, 'BTC/USDT', req.client_order_id)).toBe(1);
    await client.close();
  });
});

describe('cancel with an unknown outcome', () => {
  it('a cancel whose reply is late is retried; the venue says unknown order; the answer is CANCELED', async () => {
    const s = await open({ requestTimeoutMs: 500 });
    const book = await s.venue.fetchBook(BTC, 1);
    const far = toDec(book.bids[0]?.price ?? '0')
      .mul('0.9')
      .toDecimalPlaces(2)
      .toFixed();
    const req = limitOrder('BUY', '0.001', far);
    expect((await s.venue.submit(req)).status).toBe('NEW');
    ex.faults.delayAcks(1_500);
    const st = await s.venue.cancel(req.client_order_id, BTC);
    ex.faults.delayAcks(0);
    expect(st).toMatchObject({ client_order_id: req.client_order_id, status: 'CANCELED' });
    expect(ex.faults.stats.delayedAcks).toBeGreaterThanOrEqual(1);
    expect(s.diags.some((d) => d.type === 'retry' && d.operation === 'cancelOrder')).toBe(true);
  });
});

describe('retries and the circuit breaker', () => {
  it('a burst of 5xx on a query is retried with back-off, then succeeds', async () => {
    const s = await open();
    ex.faults.failNext(2, { path: '/api/v3/account', status: 502 });
    const balances = await s.venue.fetchBalances();
    expect(balances.length).toBeGreaterThan(0);
    const retries = s.diags.filter((d) => d.type === 'retry' && d.operation === 'fetchBalance');
    expect(retries).toHaveLength(2);
    expect(retries.every((d) => d.type === 'retry' && d.error_kind === 'transient')).toBe(true);
    expect(s.venue.health().state).not.toBe('circuit_open');
  });

  it('a burst of 429 honours Retry-After', async () => {
    const s = await open();
    ex.faults.rateLimitNext(2, { path: '/api/v3/openOrders', retryAfterSec: 1 });
    const started = Date.now();
    await s.venue.fetchOpenOrders(BTC);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(s.diags.filter((d) => d.type === 'retry' && d.error_kind === 'rate_limited')).toHaveLength(2);
  });

  it('a failed balance query throws: it never reads as flat', async () => {
    const s = await open({ retry: { initialDelayMs: 5, maxDelayMs: 10, maxRetries: 1 } });
    ex.faults.failNext(5, { path: '/api/v3/account', status: 500 });
    const err = await s.venue.fetchBalances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('transient');
  });

  it('sustained failures open the breaker: health circuit_open, calls fail fast, then it recovers', async () => {
    const s = await open({
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: 400 },
      retry: { initialDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
    });
    ex.faults.failNext(100, { status: 503 });
    await s.venue.fetchBalances().catch(() => undefined);
    await s.venue.fetchBalances().catch(() => undefined);
    expect(s.venue.health().state).toBe('circuit_open');
    expect(s.diags.some((d) => d.type === 'breaker' && d.state === 'open')).toBe(true);

    const failedBefore = ex.faults.stats.failed;
    const started = Date.now();
    const fast = await s.venue.submit(marketOrder('BUY', '0.001')).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(VenueError);
    expect((fast as VenueError).kind).toBe('circuit_open');
    const q = await s.venue.fetchOpenOrders(BTC).catch((e: unknown) => e);
    expect((q as VenueError).kind).toBe('circuit_open');
    expect(Date.now() - started).toBeLessThan(500);
    expect(ex.faults.stats.failed).toBe(failedBefore); // the venue was not reached

    ex.faults.reset();
    await sleep(450);
    await eventually(
      async () => ((await s.venue.fetchBalances().catch(() => null)) ? true : undefined),
      'a trial call',
    );
    expect(s.venue.health().state).toBe('up');
    const states = s.diags.filter((d) => d.type === 'breaker').map((d) => d.type === 'breaker' && d.state);
    expect(states).toEqual(['open', 'half_open', 'closed']);
    expect(s.venue.diagnostics().breaker).toBe('closed');
  });
});

describe('rate limit', () => {
  it('our own budget (rate_limit_per_second) spaces requests out', async () => {
    const s = await open({ venue: { rate_limit_per_second: 4 } });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await s.venue.fetchBook(BTC, 5);
    // A burst of at most 4, then one request every 250 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
  });
});

describe('configuration', () => {
  it("the ccxtOverrides hook (the local exchange's own configureCcxt) works as well as urls", async () => {
    const s = session(ex, {
      venue: { urls: undefined },
      ccxtOverrides: (exchange) => ex.configureCcxt(exchange),
    });
    sessions.push(s);
    await s.venue.connect();
    expect((await s.venue.fetchBook(BTC, 5)).bids).toHaveLength(5);
  });

  it('an unreachable venue fails connect with a classified error', async () => {
    const s = session(ex, {
      venue: { urls: { rest: 'http://127.0.0.1:9', ws: 'ws://127.0.0.1:9' } },
      retry: { initialDelayMs: 5, maxDelayMs: 10, maxRetries: 1 },
    });
    sessions.push(s);
    const err = await s.venue.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('transient');
    expect(s.venue.health().state).toBe('down');
    expect(s.diags.some((d) => d.type === 'clock_offset_failed')).toBe(true);
  });

  it('calls before connect fail as transient, wrong credentials as auth', async () => {
    const s = session(ex);
    sessions.push(s);
    const before = await s.venue.fetchBalances().catch((e: unknown) => e);
    expect((before as VenueError).kind).toBe('transient');
    const wrong = session(ex, {
      account: { account_id: 'x', api_key: ex.apiKey, api_secret: 'not-the-secret' },
    });
    sessions.push(wrong);
    await wrong.venue.connect();
    const err = await wrong.venue.fetchBalances().catch((e: unknown) => e);
    expect((err as VenueError).kind).toBe('auth');
  });
});

/**
 * The SHADOW venue on real market data: a ccxt session on the local Binance-compatible exchange is
 * its data source. Orders fill against that exchange's live book in our matching engine and the
 * exchange account is never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_INSTRUMENTS,
  type LocalExchange,
  startLocalExchange,
} from '../../../dev/local-exchange/index.ts';
import { type CcxtVenue, createCcxtVenue } from '../../../infra/ccxt/index.ts';
import { createShadowVenue, type ShadowVenue } from '../../../infra/shadow/index.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { VenueEvent } from '../../../shared/ports/venue.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const wallClock: Clock = { now: (): Nanos => BigInt(Date.now()) * 1_000_000n };

async function eventually<T>(
  f: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the SHADOW venue on live data from the local exchange', () => {
  let ex: LocalExchange;
  let data: CcxtVenue;
  let shadow: ShadowVenue;
  const events: VenueEvent[] = [];

  beforeAll(async () => {
    ex = await startLocalExchange({ seed: 5 });
    data = createCcxtVenue({
      venue: {
        id: 'BINANCE-SPOT',
        exchange: 'binance',
        mode: 'SHADOW',
        sandbox: false,
        instrument_types: ['SPOT_PAIR'],
        rate_limit_per_second: 50,
        urls: { rest: ex.url, ws: ex.url.replace(/^http/, 'ws') },
      },
      account: { account_id: 'data', api_key: ex.apiKey, api_secret: ex.secret },
      clock: wallClock,
      instrumentKeys: [BTC],
      requestTimeoutMs: 2_000,
      timeSyncIntervalMs: 0,
    });
    shadow = createShadowVenue({
      id: 'BINANCE-SPOT',
      account_id: 'shadow',
      data,
      instruments: DEFAULT_INSTRUMENTS,
      clock: wallClock,
      seed: 1,
    });
    await shadow.connect();
    await shadow.watch([BTC], (e) => events.push(e));
  }, 60_000);

  afterAll(async () => {
    await shadow?.close();
    await ex?.stop();
  });

  it('streams the live book and fills a market order against it, leaving the exchange account alone', async () => {
    await eventually(() => (events.some((e) => e.kind === 'book') ? true : undefined), 'a live book');
    const before = { usdt: ex.balance('USDT'), btc: ex.balance('BTC') };
    const book = await shadow.fetchBook(BTC, 5);
    const ask = book.asks[0];
    expect(ask).toBeDefined();

    const st = await shadow.submit({
      client_order_id: 'shadow-1',
      instrument_key: BTC,
      side: 'BUY',
      order_type: 'MARKET',
      quantity: '0.01',
      price: null,
      time_in_force: 'GTC',
    });
    expect(st.status).toBe('FILLED');
    const trades = await shadow.fetchTrades(BTC, 0n);
    expect(trades.length).toBeGreaterThan(0);
    // Prices come from the live book (within its levels), not from a model of our own.
    const levels = new Set(book.asks.map((l) => l.price));
    for (const t of trades) expect(levels.has(t.price) || Number(t.price) >= Number(ask?.price)).toBe(true);
    expect(events.filter((e) => e.kind === 'trade')).toHaveLength(trades.length);

    const balances = await shadow.fetchBalances();
    expect(balances.find((b) => b.asset === 'BTC')).toMatchObject({ total: '0.01' });
    expect(Number(balances.find((b) => b.asset === 'USDT')?.total)).toBeLessThan(100_000);
    // The exchange account did not trade.
    expect({ usdt: ex.balance('USDT'), btc: ex.balance('BTC') }).toEqual(before);
  });

  it("shows its data session's venue budgets: market data spends request weight, no order reaches the venue", async () => {
    await shadow.fetchBook(BTC, 5);
    const budgets = shadow.rateLimitBudgets();
    expect(budgets?.map((b) => b.name)).toEqual(['REQUEST_WEIGHT_1M', 'ORDERS_10S', 'ORDERS_1D']);
    const used = (bs: ReturnType<typeof shadow.rateLimitBudgets>) => bs?.map((b) => [b.name, b.used]);
    expect(used(budgets)).toEqual(used(data.rateLimitBudgets()));
    const weight = budgets?.find((b) => b.name === 'REQUEST_WEIGHT_1M');
    expect(weight).toMatchObject({ kind: 'weight', limit: 6_000, window_ms: 60_000 });
    expect(weight?.used).toBeGreaterThan(0);
    expect(weight?.refill_ms).toBeGreaterThan(0);
    for (const b of budgets?.filter((x) => x.kind === 'orders') ?? []) expect(b.used).toBe(0);
  });
});

/**
 * `npm start`'s SIM as the edge builds it (`defaultVenueFactory` for a SIMULATED venue): a
 * ShadowVenue whose market data is the seeded moving market (stateful/venues/simulated/data-venue.ts).
 */
import { describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { Venue, VenueEvent, VenueOrderRequest } from '../../../shared/ports/venue.ts';
import { defaultVenueFactory } from '../../../stateful/edge/runtime.ts';
import { SyntheticDataVenue } from '../../../stateful/venues/simulated/data-venue.ts';
import { MS, SECOND, SIM_BTC_SPEC, T0 } from './fixtures.ts';

const KEY = SIM_BTC_SPEC.instrument_key;

function dataVenue(clock: TestClock, seed = 42) {
  return new SyntheticDataVenue({ id: 'SIM', instruments: [SIM_BTC_SPEC], clock, seed, tickMs: 0 });
}

async function stream(seed: number, steps: bigint[]): Promise<VenueEvent[]> {
  const clock = new TestClock(T0);
  const data = dataVenue(clock, seed);
  const events: VenueEvent[] = [];
  await data.connect();
  await data.watch([KEY], (e) => events.push(e));
  for (const step of steps) {
    clock.advance(step);
    data.advance();
  }
  await data.close();
  return events;
}

function simVenue(clock: TestClock, seed = 42): Venue {
  const config = parseConfig(EMBEDDED_CONFIG, { env: { EXEC_DATA_DIR: '/nonexistent' } });
  const vc = config.venues.find((v) => v.id === 'SIM');
  if (vc === undefined) throw new Error('the embedded configuration has no SIM venue');
  expect(vc.mode).toBe('SIMULATED');
  return defaultVenueFactory(
    { ...vc, latency_ms: 1 },
    { instrumentKeys: [KEY], specs: [SIM_BTC_SPEC], clock, log: undefined, onEvent: () => undefined, seed },
  );
}

const buy = (id: string, quantity: string): VenueOrderRequest => ({
  client_order_id: id,
  instrument_key: KEY,
  side: 'BUY',
  order_type: 'MARKET',
  quantity,
  price: null,
  time_in_force: 'GTC',
});

/** Run SIM for 3 s of market, buy, run 1 s more: the fills and the cash. */
async function session(seed: number) {
  const clock = new TestClock(T0);
  const venue = simVenue(clock, seed);
  const events: VenueEvent[] = [];
  await venue.connect();
  await venue.watch([KEY], (e) => events.push(e));
  const tick = async (total: bigint, step: bigint) => {
    for (let t = 0n; t < total; t += step) {
      clock.advance(step);
      await venue.fetchBook(KEY, 5); // pulls the market up to now, as the data session's timer does
    }
  };
  await tick(3n * SECOND, 250n * MS);
  await venue.submit(buy('c-1', '0.5'));
  await tick(SECOND, 100n * MS);
  const trades = await venue.fetchTrades(KEY, T0);
  const balances = await venue.fetchBalances();
  await venue.close();
  return { trades, balances, events };
}

describe('the SIM market-data session', () => {
  it('streams books with depth on the tick grid and trade prints, in time order', async () => {
    const events = await stream(
      42,
      Array.from({ length: 20 }, () => 100n * MS),
    );
    expect(events[0]).toMatchObject({ kind: 'connection', state: 'up', stream: 'public' });
    const books = events.flatMap((e) => (e.kind === 'book' ? [e.book] : []));
    expect(books.length).toBeGreaterThan(3);
    for (const b of books) {
      expect(b.instrument_key).toBe(KEY);
      expect(b.bids).toHaveLength(5);
      expect(b.asks).toHaveLength(5);
      expect(toDec(b.asks[0]?.price ?? '0').gt(b.bids[0]?.price ?? '0')).toBe(true);
      for (const { price } of [...b.bids, ...b.asks])
        expect(toDec(price).mod(SIM_BTC_SPEC.tick_size).eq(0)).toBe(true);
    }
    const ts = events
      .slice(1)
      .map((e) => (e.kind === 'book' ? e.book.ts_event : 'ts_event' in e ? e.ts_event : 0n));
    expect([...ts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ts);
    expect(events.some((e) => e.kind === 'public_trade')).toBe(true);
  });

  it('is deterministic: the same seed and clock give the same events; another seed differs', async () => {
    const steps = Array.from({ length: 20 }, () => 100n * MS);
    const a = await stream(42, steps);
    expect(a.length).toBeGreaterThan(3);
    expect((await stream(42, steps)).slice(1)).toEqual(a.slice(1));
    expect((await stream(43, steps)).slice(1)).not.toEqual(a.slice(1));
  });

  it('sends no orders and has no account; refuses instruments it does not list', async () => {
    const data = dataVenue(new TestClock(T0));
    await expect(data.submit()).rejects.toMatchObject({ kind: 'rejected' });
    await expect(data.fetchBalances()).rejects.toMatchObject({ kind: 'auth' });
    await expect(data.watch(['SIM:SPOT_PAIR:ETH-USDT'], () => undefined)).rejects.toThrow(/not listed/);
    await expect(data.fetchBook('SIM:SPOT_PAIR:ETH-USDT', 5)).rejects.toThrow(/UNKNOWN_INSTRUMENT/);
  });
});

describe('SIM as the edge builds it: a ShadowVenue on the seeded market', () => {
  it('fills a MARKET buy from the synthetic book; the cash moves by its cost and fee', async () => {
    const { trades, balances } = await session(42);
    expect(trades.length).toBeGreaterThan(0);
    const qty = trades.reduce((s, t) => s.plus(t.quantity), toDec(0));
    expect(qty.eq('0.5')).toBe(true);
    const cost = trades.reduce((s, t) => s.plus(toDec(t.quantity).times(t.price)).plus(t.fee), toDec(0));
    const cash = balances.find((b) => b.asset === 'USDT');
    expect(toDec(cash?.total ?? '0').eq(toDec('100000').minus(cost))).toBe(true);
    expect(balances.find((b) => b.asset === 'BTC')?.total).toBe('0.5');
  });

  it('is deterministic: the same seed and clock give the same fills', async () => {
    const a = await session(42);
    const b = await session(42);
    expect(a.trades.length).toBeGreaterThan(0);
    expect(b.trades).toEqual(a.trades);
    expect(b.balances).toEqual(a.balances);
  });
});

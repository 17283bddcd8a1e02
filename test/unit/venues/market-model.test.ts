import { describe, expect, it } from 'vitest';
import { toDec } from '../../../shared/domain/decimal.ts';
import {
  defaultStartPrice,
  type MarketEvent,
  SyntheticMarketStream,
} from '../../../stateful/venues/simulated/market-model.ts';
import { MS, SECOND, SIM_BTC_SPEC, T0 } from './fixtures.ts';

const stream = (seed = 7) => new SyntheticMarketStream({ spec: SIM_BTC_SPEC, seed, startNs: T0 });

const onGrid = (x: number, inc: string) => toDec(String(x)).mod(inc).isZero();

describe('SyntheticMarketStream', () => {
  it('gives the same events whatever the cadence at which they are pulled', () => {
    const a = stream().takeUntil(T0 + 30n * SECOND);
    const b: MarketEvent[] = [];
    const s = stream();
    for (let t = T0; t <= T0 + 30n * SECOND; t += 37n * MS) b.push(...s.takeUntil(t));
    b.push(...s.takeUntil(T0 + 30n * SECOND));
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(100);
    expect(stream(8).takeUntil(T0 + 30n * SECOND)).not.toEqual(a);
  });

  it('publishes books on the tick and step grid every 100–250 ms, with trades at the touch in between', () => {
    const events = stream().takeUntil(T0 + 60n * SECOND);
    let lastBook: Extract<MarketEvent, { kind: 'book' }> | null = null;
    let trades = 0;
    for (const ev of events) {
      if (ev.kind === 'book') {
        if (lastBook !== null) {
          const gap = ev.ts - lastBook.ts;
          expect(gap).toBeGreaterThanOrEqual(100n * MS);
          expect(gap).toBeLessThanOrEqual(250n * MS);
        }
        expect(ev.bids).toHaveLength(5);
        expect(ev.asks).toHaveLength(5);
        const [bid] = ev.bids[0] ?? [0];
        const [ask] = ev.asks[0] ?? [0];
        expect(bid).toBeLessThan(ask);
        for (const [p, sz] of [...ev.bids, ...ev.asks]) {
          expect(onGrid(p, SIM_BTC_SPEC.tick_size)).toBe(true);
          expect(onGrid(sz, SIM_BTC_SPEC.step_size)).toBe(true);
          expect(sz).toBeGreaterThanOrEqual(Number(SIM_BTC_SPEC.min_qty));
        }
        // Bids descend, asks ascend.
        for (let i = 1; i < 5; i++) {
          expect(ev.bids[i]?.[0] ?? 0).toBeLessThan(ev.bids[i - 1]?.[0] ?? 0);
          expect(ev.asks[i]?.[0] ?? 0).toBeGreaterThan(ev.asks[i - 1]?.[0] ?? 0);
        }
        lastBook = ev;
      } else {
        trades++;
        expect(lastBook).not.toBeNull();
        const touch = ev.aggressor === 'BUY' ? lastBook?.asks[0]?.[0] : lastBook?.bids[0]?.[0];
        expect(ev.price).toBe(touch);
        expect(onGrid(ev.size, SIM_BTC_SPEC.step_size)).toBe(true);
      }
    }
    expect(trades).toBeGreaterThan(50);
    // The price moves, but stays near the start over a minute.
    const books = events.filter((e) => e.kind === 'book');
    const mids = books.map((b) => ((b.bids[0]?.[0] ?? 0) + (b.asks[0]?.[0] ?? 0)) / 2);
    expect(new Set(mids).size).toBeGreaterThan(10);
    for (const m of mids) expect(Math.abs(m / 60_000 - 1)).toBeLessThan(0.01);
  });

  it('exposes the book as exact decimals and the cumulative volume', () => {
    const s = stream();
    expect(s.book()).toBeNull();
    s.takeUntil(T0 + 5n * SECOND);
    const book = s.book();
    expect(book?.bids[0]?.price).toMatch(/^\d+(\.\d{1,2})?$/);
    expect(toDec(book?.asks[0]?.price ?? '0').gt(book?.bids[0]?.price ?? '0')).toBe(true);
    expect(toDec(s.cumulativeVolume()).gt(0)).toBe(true);
    expect(s.lastTrade()?.ts).toBeLessThanOrEqual(T0 + 5n * SECOND);
  });

  it('starts from a plausible price per asset', () => {
    expect(defaultStartPrice('SIM:SPOT_PAIR:BTC-USDT')).toBe(60_000);
    expect(defaultStartPrice('SIM:SPOT_PAIR:ETH-BTC')).toBeCloseTo(0.05);
    expect(defaultStartPrice('SIM:SPOT_PAIR:FOO-USDT')).toBe(100);
    expect(defaultStartPrice('SIM:PERPETUAL:ETH-USDT@LIN')).toBe(3_000);
    const s = new SyntheticMarketStream({ spec: SIM_BTC_SPEC, seed: 1, startNs: T0, startPrice: 123.45 });
    s.takeUntil(T0);
    expect(Number(s.book()?.bids[0]?.price)).toBeCloseTo(123.45, 0);
  });
});

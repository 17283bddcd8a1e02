import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../../shared/data/prng.ts';
import {
  DEFAULT_INSTRUMENTS,
  type SyntheticDay,
  SyntheticMarket,
  sampleSignals,
} from '../../../shared/data/synthetic.ts';
import { BOOK_ASK, BOOK_BID, SIDE_BUY, SIDE_SELL } from '../../../shared/data/tick-columns.ts';
import { dayStartNs, NS_PER_DAY } from '../../../shared/data/tick-layout.ts';
import { isMultipleOf } from '../../../shared/domain/instrument.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import { BTC_PERP, BTC_SPOT, instrument } from './helpers.ts';

const DAYS = ['2025-07-01', '2025-07-02'];

function generate(seed: number, tradesPerDay = 20_000, l2Levels = 0): SyntheticDay[][] {
  const market = new SyntheticMarket({ seed, tradesPerDay, l2Levels });
  return DAYS.map((d) => market.day(d));
}

describe('seeded PRNG', () => {
  it('repeats per seed and differs across seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xa);
    const r = new Prng('x');
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < 20_000; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / 20_000)).toBeLessThan(0.05);
    expect(Math.abs(sq / 20_000 - 1)).toBeLessThan(0.05);
  });
});

describe('synthetic market', () => {
  let days: SyntheticDay[][];
  beforeAll(() => {
    days = generate(42, 20_000, 3);
  });

  it('is deterministic per seed', () => {
    expect(digest(generate(42, 20_000, 3))).toBe(digest(days));
    expect(digest(generate(43, 20_000, 3))).not.toBe(digest(days));
  });

  it('scales trade and quote counts with --trades-per-day and activity', () => {
    for (const perDay of days) {
      for (const d of perDay) {
        const inst = instrument(d.instrument_key);
        expect(d.trades.ts.length).toBe(Math.round(20_000 * inst.activity));
        expect(d.quotes.ts.length).toBe(Math.round(d.trades.ts.length * 2.5));
        expect(d.book?.ts.length).toBe(d.quotes.ts.length * 3 * 2);
      }
    }
  });

  it('keeps every tick sorted, inside its UTC day, on the tick and step grids', () => {
    for (const perDay of days) {
      for (const d of perDay) {
        const start = dayStartNs(d.day);
        const spec = instrument(d.instrument_key).spec;
        for (const ts of [d.trades.ts, d.quotes.ts, d.book?.ts ?? new BigInt64Array(0)]) {
          let bad = 0;
          for (let i = 0; i < ts.length; i++) {
            const t = ts[i] as bigint;
            if (t < start || t >= start + NS_PER_DAY || (i > 0 && t < (ts[i - 1] as bigint))) bad++;
          }
          expect(bad).toBe(0);
        }
        // Check exactness on a sample with decimal arithmetic (String(x) is the shortest round trip).
        for (let i = 0; i < d.trades.ts.length; i += 97) {
          expect(isMultipleOf(String(d.trades.price[i]), spec.tick_size)).toBe(true);
          expect(isMultipleOf(String(d.trades.size[i]), spec.step_size)).toBe(true);
          expect(d.trades.size[i]).toBeGreaterThanOrEqual(Number(spec.min_qty));
        }
        for (let i = 0; i < d.quotes.ts.length; i += 97) {
          expect(isMultipleOf(String(d.quotes.bid_px[i]), spec.tick_size)).toBe(true);
          expect(isMultipleOf(String(d.quotes.ask_px[i]), spec.tick_size)).toBe(true);
          expect(isMultipleOf(String(d.quotes.bid_sz[i]), spec.step_size)).toBe(true);
          expect(d.quotes.ask_px[i]).toBeGreaterThan(d.quotes.bid_px[i] as number);
        }
      }
    }
  });

  it('trades hit the last published quote: BUY at the ask, SELL at the bid', () => {
    for (const d of days[0] ?? []) {
      const { trades, quotes } = d;
      let q = -1;
      let buys = 0;
      const mismatches: number[] = [];
      for (let i = 0; i < trades.ts.length; i++) {
        const t = trades.ts[i] as bigint;
        while (q + 1 < quotes.ts.length && (quotes.ts[q + 1] as bigint) <= t) q++;
        const side = trades.side[i];
        if (side === SIDE_BUY) buys++;
        const ok =
          q >= 0 &&
          ((side === SIDE_BUY && trades.price[i] === quotes.ask_px[q]) ||
            (side === SIDE_SELL && trades.price[i] === quotes.bid_px[q]));
        if (!ok) mismatches.push(i);
      }
      expect(mismatches).toEqual([]);
      expect(buys / trades.ts.length).toBeGreaterThan(0.35);
      expect(buys / trades.ts.length).toBeLessThan(0.65);
      expect(new Set(trades.trade_id).size).toBe(trades.trade_id.length);
    }
  });

  it('L2 level 0 is the quote and deeper levels move away from the touch', () => {
    const d = days[0]?.[0];
    const book = d?.book;
    if (!d || !book) throw new Error('no book');
    for (let qi = 0; qi < 200; qi++) {
      const base = qi * 6;
      expect(book.ts[base]).toBe(d.quotes.ts[qi]);
      expect(book.level[base]).toBe(0);
      expect(book.side[base]).toBe(BOOK_BID);
      expect(book.side[base + 3]).toBe(BOOK_ASK);
      expect(book.level[base + 5]).toBe(2);
      expect(book.price[base]).toBe(d.quotes.bid_px[qi]);
      expect(book.price[base + 1]).toBeLessThan(book.price[base] as number);
      expect(book.price[base + 3]).toBe(d.quotes.ask_px[qi]);
      expect(book.price[base + 4]).toBeGreaterThan(book.price[base + 3] as number);
    }
  });

  it('has a U-shaped intraday volume profile', () => {
    const d = days[0]?.[0];
    if (!d) throw new Error('no day');
    const perHour = new Array<number>(24).fill(0);
    const start = dayStartNs(d.day);
    for (const t of d.trades.ts) {
      const h = Number((t - start) / 3_600_000_000_000n);
      perHour[h] = (perHour[h] ?? 0) + 1;
    }
    const edges = (perHour[0] ?? 0) + (perHour[1] ?? 0) + (perHour[22] ?? 0) + (perHour[23] ?? 0);
    const middle = (perHour[10] ?? 0) + (perHour[11] ?? 0) + (perHour[12] ?? 0) + (perHour[13] ?? 0);
    expect(edges).toBeGreaterThan(1.8 * middle);
  });

  it('widens the spread when the market is volatile', () => {
    // Per minute: mean relative spread vs realised volatility of the mid.
    const d = days[0]?.[0];
    if (!d) throw new Error('no day');
    const start = dayStartNs(d.day);
    const spread = new Float64Array(1440);
    const count = new Float64Array(1440);
    const absRet = new Float64Array(1440);
    let prevMid = 0;
    for (let i = 0; i < d.quotes.ts.length; i++) {
      const m = Number(((d.quotes.ts[i] as bigint) - start) / 60_000_000_000n);
      const mid = ((d.quotes.bid_px[i] as number) + (d.quotes.ask_px[i] as number)) / 2;
      spread[m] =
        (spread[m] as number) + ((d.quotes.ask_px[i] as number) - (d.quotes.bid_px[i] as number)) / mid;
      count[m] = (count[m] as number) + 1;
      if (prevMid > 0) absRet[m] = (absRet[m] as number) + Math.abs(Math.log(mid / prevMid));
      prevMid = mid;
    }
    const xs: number[] = [];
    const ys: number[] = [];
    for (let m = 0; m < 1440; m++) {
      const c = count[m] as number;
      if (c < 5) continue;
      xs.push((absRet[m] as number) / c);
      ys.push((spread[m] as number) / c);
    }
    expect(correlation(xs, ys)).toBeGreaterThan(0.3);
  });

  it('has occasional jumps: fat-tailed one-minute returns', () => {
    const d = days[0]?.[0];
    if (!d) throw new Error('no day');
    const start = dayStartNs(d.day);
    const lastMid = new Float64Array(1440);
    for (let i = 0; i < d.quotes.ts.length; i++) {
      const m = Number(((d.quotes.ts[i] as bigint) - start) / 60_000_000_000n);
      lastMid[m] = ((d.quotes.bid_px[i] as number) + (d.quotes.ask_px[i] as number)) / 2;
    }
    const rets: number[] = [];
    for (let m = 1; m < 1440; m++) {
      if ((lastMid[m] as number) > 0 && (lastMid[m - 1] as number) > 0)
        rets.push(Math.log((lastMid[m] as number) / (lastMid[m - 1] as number)));
    }
    const mean = rets.reduce((s, r) => s + r, 0) / rets.length;
    const v = rets.reduce((s, r) => s + (r - mean) ** 2, 0) / rets.length;
    const k = rets.reduce((s, r) => s + (r - mean) ** 4, 0) / rets.length / (v * v);
    expect(k).toBeGreaterThan(4); // a Gaussian has kurtosis 3
  });

  it('BTC spot and the BTC perpetual move together; days continue from the previous close', () => {
    const [spot, perp] = [BTC_SPOT, BTC_PERP].map((k) => days[0]?.find((d) => d.instrument_key === k));
    if (!spot || !perp) throw new Error('missing instruments');
    const last = (d: SyntheticDay) => d.trades.price[d.trades.price.length - 1] as number;
    expect(Math.abs(last(perp) / last(spot) - 1)).toBeLessThan(0.002);
    const nextDay = days[1]?.find((d) => d.instrument_key === BTC_SPOT);
    if (!nextDay) throw new Error('no second day');
    expect(Math.abs((nextDay.trades.price[0] as number) / last(spot) - 1)).toBeLessThan(0.003);
  });
});

describe('sample signals', () => {
  it('gives ~29 signals a day at 5-minute marks, in SPEC format, with target changes and repeats', () => {
    const signals = sampleSignals({ seed: 42, days: DAYS });
    expect(signals).toHaveLength(58);
    expect(sampleSignals({ seed: 42, days: DAYS })).toEqual(signals);
    const keys = new Set(DEFAULT_INSTRUMENTS.map((i) => i.spec.instrument_key));
    let repeats = 0;
    let changes = 0;
    const current = new Map<string, string>();
    let prevTs = 0n;
    for (const s of signals) {
      expect(Object.keys(s).sort()).toEqual(
        [
          'exec_algorithm',
          'exec_algorithm_params',
          'instrument_key',
          'strategy_id',
          'target_position',
          'ts',
        ].sort(),
      );
      expect(s.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);
      const ts = isoToNanos(s.ts);
      expect(ts).toBeGreaterThan(prevTs);
      prevTs = ts;
      expect(Number(s.ts.slice(14, 16)) % 5).toBe(0);
      expect(keys.has(s.instrument_key)).toBe(true);
      expect(s.target_position).toMatch(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
      const inst = instrument(s.instrument_key);
      if (!inst.allowShort) expect(Number(s.target_position)).toBeGreaterThanOrEqual(0);
      expect(isMultipleOf(s.target_position, inst.spec.step_size)).toBe(true);
      if (s.exec_algorithm !== 'NORMAL')
        expect(s.exec_algorithm_params.duration_sec).toBeLessThanOrEqual(300);
      const prev = current.get(s.instrument_key) ?? '0';
      if (prev === s.target_position) repeats++;
      else changes++;
      current.set(s.instrument_key, s.target_position);
    }
    expect(repeats).toBeGreaterThan(3);
    expect(changes).toBeGreaterThan(30);
  });
});

/** SHA-256 over every column of every generated day. */
function digest(days: SyntheticDay[][]): string {
  const h = createHash('sha256');
  for (const perDay of days) {
    for (const d of perDay) {
      h.update(d.instrument_key);
      for (const a of [
        d.trades.ts,
        d.trades.price,
        d.trades.size,
        d.trades.side,
        d.quotes.ts,
        d.quotes.bid_px,
        d.quotes.bid_sz,
        d.quotes.ask_px,
        d.quotes.ask_sz,
      ]) {
        h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      }
      h.update(d.trades.trade_id.join(','));
      if (d.book)
        for (const a of [d.book.ts, d.book.side, d.book.level, d.book.price, d.book.size])
          h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  }
  return h.digest('hex');
}

function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

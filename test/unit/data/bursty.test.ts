import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { BINANCE_ARRIVALS, type HawkesArrivals } from '../../../shared/data/bursty.ts';
import { SYNTHETIC_PROFILES, syntheticProfile } from '../../../shared/data/profiles.ts';
import { SyntheticMarket } from '../../../shared/data/synthetic.ts';
import {
  SIDE_BUY,
  SIDE_SELL,
  type TickRowGroup,
  tickRowGroupRows,
} from '../../../shared/data/tick-columns.ts';
import { dayStartNs } from '../../../shared/data/tick-layout.ts';

const DAY = '2025-07-01';
const PROFILE = syntheticProfile('binance-btcusdt');
const BTC = PROFILE.instruments[0];
const NS_PER_MINUTE = 60_000_000_000n;

function groupsOf(opts: {
  seed?: number;
  tradesPerDay?: number;
  quotesPerTrade?: number;
  cap?: number;
  l2Levels?: number;
  arrivals?: HawkesArrivals;
  days?: readonly string[];
}): TickRowGroup[][] {
  if (!BTC) throw new Error('no BTC instrument');
  const market = new SyntheticMarket({
    seed: opts.seed ?? 5,
    instruments: [BTC],
    tradesPerDay: opts.tradesPerDay ?? 4_000,
    quotesPerTrade: opts.quotesPerTrade ?? 10,
    l2Levels: opts.l2Levels ?? 0,
    arrivals: opts.arrivals ?? BINANCE_ARRIVALS,
  });
  return (opts.days ?? [DAY]).map((d) => {
    market.startDay(d);
    return [...market.instrumentDayGroups(BTC, opts.cap ?? 100_000)];
  });
}

function tsOf(g: TickRowGroup): BigInt64Array {
  return g.kind === 'trades' ? g.trades.ts : g.kind === 'quotes' ? g.quotes.ts : g.book.ts;
}

function digest(days: TickRowGroup[][]): string {
  const h = createHash('sha256');
  for (const groups of days) {
    for (const g of groups) {
      h.update(g.kind);
      const cols = g.kind === 'trades' ? g.trades : g.kind === 'quotes' ? g.quotes : g.book;
      for (const [name, c] of Object.entries(cols)) {
        h.update(name);
        if (Array.isArray(c)) h.update(c.join(','));
        else h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
      }
    }
  }
  return h.digest('hex');
}

/** Variance / mean of per-second counts of a kind (1 for a Poisson process of constant rate). */
function dispersion(groups: readonly TickRowGroup[], kind: TickRowGroup['kind']): number {
  const counts = new Float64Array(86_400);
  const start = dayStartNs(DAY);
  for (const g of groups) {
    if (g.kind !== kind) continue;
    for (const t of tsOf(g)) {
      const s = Number((t - start) / 1_000_000_000n);
      counts[s] = (counts[s] as number) + 1;
    }
  }
  let sum = 0;
  let sq = 0;
  for (const c of counts) {
    sum += c;
    sq += c * c;
  }
  const mean = sum / counts.length;
  return (sq / counts.length - mean * mean) / mean;
}

describe('profiles', () => {
  it('names the default and the exchange-sized profile, and rejects an unknown one', () => {
    expect(Object.keys(SYNTHETIC_PROFILES)).toEqual(['default', 'binance-btcusdt']);
    expect(SYNTHETIC_PROFILES.default?.arrivals).toBeUndefined();
    expect(PROFILE.tradesPerDay * PROFILE.quotesPerTrade).toBeGreaterThanOrEqual(20_000_000);
    expect(() => syntheticProfile('nasdaq')).toThrow(
      /unknown profile "nasdaq"; available: default, binance-btcusdt/,
    );
  });
});

// Generous timeouts: whole synthetic days on a shared machine (nothing here asserts a duration).
describe('bursty instrument-day (streamed row groups)', { timeout: 120_000 }, () => {
  let groups: TickRowGroup[];
  beforeAll(() => {
    [groups = []] = groupsOf({ l2Levels: 3 });
  }, 120_000);

  it('is deterministic per seed, and continues across days', () => {
    expect(digest([groups])).toBe(digest(groupsOf({ l2Levels: 3 })));
    expect(digest(groupsOf({ seed: 6, l2Levels: 3 }))).not.toBe(digest([groups]));
    const two = groupsOf({ days: [DAY, '2025-07-02'] });
    const [d1 = [], d2 = []] = two;
    const lastId = (gs: TickRowGroup[]) =>
      Number(
        gs
          .filter((g) => g.kind === 'trades')
          .at(-1)
          ?.trades.trade_id.at(-1),
      );
    const firstId = Number(d2.find((g) => g.kind === 'trades')?.trades.trade_id[0]);
    expect(firstId).toBe(lastId(d1) + 1);
  });

  it('hits the expected counts of the day', () => {
    const trades = groups.filter((g) => g.kind === 'trades').reduce((s, g) => s + tickRowGroupRows(g), 0);
    const quotes = groups.filter((g) => g.kind === 'quotes').reduce((s, g) => s + tickRowGroupRows(g), 0);
    expect(trades).toBeGreaterThan(4_000 * 0.85);
    expect(trades).toBeLessThan(4_000 * 1.15);
    expect(quotes).toBeGreaterThan(40_000 * 0.85);
    expect(quotes).toBeLessThan(40_000 * 1.15);
  });

  it('cuts every kind at whole minutes and at the row cap: no group is larger than one row group', () => {
    const cap = 200;
    const [capped = []] = groupsOf({ cap, l2Levels: 3 });
    const last = new Map<string, bigint>();
    const start = dayStartNs(DAY);
    let full = 0;
    const problems: string[] = [];
    for (const [k, g] of capped.entries()) {
      const ts = tsOf(g);
      if (ts.length === 0 || ts.length > cap) problems.push(`group ${k}: ${ts.length} rows`);
      if (ts.length === cap) full++;
      const first = ts[0] as bigint;
      const end = ts[ts.length - 1] as bigint;
      if ((first - start) / NS_PER_MINUTE !== (end - start) / NS_PER_MINUTE)
        problems.push(`group ${k} spans minutes`);
      for (let i = 1; i < ts.length; i++)
        if ((ts[i] as bigint) < (ts[i - 1] as bigint)) problems.push(`group ${k} unsorted`);
      if (first < (last.get(g.kind) ?? start))
        problems.push(`group ${k} starts before the previous ${g.kind} group`);
      last.set(g.kind, end);
    }
    expect(problems).toEqual([]);
    expect(full).toBeGreaterThan(0); // busy minutes were cut at the cap
    // The same rows as with the default cap, only cut differently.
    const rowsDigest = (gs: TickRowGroup[], kind: string) => {
      const h = createHash('sha256');
      for (const g of gs) if (g.kind === kind) h.update(new Uint8Array(tsOf(g).buffer));
      return h.digest('hex');
    };
    for (const kind of ['trades', 'quotes', 'book'])
      expect(rowsDigest(capped, kind)).toBe(rowsDigest(groups, kind));
  });

  it('arrives in bursts: per-second counts are far more dispersed than without self-excitation', () => {
    const calm: HawkesArrivals = { ...BINANCE_ARRIVALS, tradeOnTrade: 0, quoteOnTrade: 0, quoteOnQuote: 0 };
    const [flat = []] = groupsOf({ arrivals: calm });
    const bursty = dispersion(groups, 'trades');
    const poissonLike = dispersion(flat, 'trades');
    expect(bursty).toBeGreaterThan(1.8 * poissonLike);
    expect(dispersion(groups, 'quotes')).toBeGreaterThan(1.8 * dispersion(flat, 'quotes'));
  });

  it('quotes a one-tick spread most of the time, wider sometimes, always on the tick grid', () => {
    const spreads = new Map<number, number>();
    let n = 0;
    let offGrid = 0;
    for (const g of groups) {
      if (g.kind !== 'quotes') continue;
      for (let i = 0; i < g.quotes.ts.length; i++) {
        const bid = g.quotes.bid_px[i] as number;
        const ask = g.quotes.ask_px[i] as number;
        if (Math.abs(bid * 100 - Math.round(bid * 100)) > 1e-6) offGrid++;
        if (Math.abs(ask * 100 - Math.round(ask * 100)) > 1e-6) offGrid++;
        const ticks = Math.round((ask - bid) * 100);
        spreads.set(ticks, (spreads.get(ticks) ?? 0) + 1);
        n++;
      }
    }
    expect(offGrid).toBe(0);
    expect(Math.min(...spreads.keys())).toBe(1);
    expect((spreads.get(1) ?? 0) / n).toBeGreaterThan(0.8);
    expect((spreads.get(1) ?? 0) / n).toBeLessThan(0.999);
  });

  it('trades hit the last published quote: BUY at the ask, SELL at the bid', () => {
    type Ev = { ts: bigint; quote: boolean; i: number; g: TickRowGroup };
    const events: Ev[] = [];
    for (const g of groups) {
      if (g.kind === 'book') continue;
      const ts = tsOf(g);
      for (let i = 0; i < ts.length; i++)
        events.push({ ts: ts[i] as bigint, quote: g.kind === 'quotes', i, g });
    }
    events.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.quote === b.quote ? 0 : a.quote ? -1 : 1));
    let bid = Number.NaN;
    let ask = Number.NaN;
    let checked = 0;
    const bad: string[] = [];
    for (const e of events) {
      if (e.g.kind === 'quotes') {
        bid = e.g.quotes.bid_px[e.i] as number;
        ask = e.g.quotes.ask_px[e.i] as number;
      } else if (e.g.kind === 'trades') {
        const side = e.g.trades.side[e.i];
        const px = e.g.trades.price[e.i];
        if (side !== SIDE_BUY && side !== SIDE_SELL) bad.push(`side ${side} at ${e.ts}`);
        else if (px !== (side === SIDE_BUY ? ask : bid)) bad.push(`price ${px} vs ${bid}/${ask} at ${e.ts}`);
        if (!((e.g.trades.size[e.i] as number) > 0)) bad.push(`size at ${e.ts}`);
        checked++;
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(3_000);
  });

  it('L2: snapshots at most every 100 ms, level 0 = the quote of that instant', () => {
    const snapshotTs = new Set<bigint>();
    const quoteAt = new Map<bigint, { bid: number; ask: number }>();
    for (const g of groups) {
      if (g.kind === 'quotes')
        for (let i = 0; i < g.quotes.ts.length; i++)
          quoteAt.set(g.quotes.ts[i] as bigint, {
            bid: g.quotes.bid_px[i] as number,
            ask: g.quotes.ask_px[i] as number,
          });
    }
    let level0 = 0;
    let mismatched = 0;
    for (const g of groups) {
      if (g.kind !== 'book') continue;
      for (let i = 0; i < g.book.ts.length; i++) {
        const t = g.book.ts[i] as bigint;
        snapshotTs.add(t);
        if (g.book.level[i] === 0) {
          const q = quoteAt.get(t);
          if (g.book.price[i] !== (g.book.side[i] === 1 ? q?.bid : q?.ask)) mismatched++;
          level0++;
        }
      }
    }
    expect(mismatched).toBe(0);
    expect(level0).toBe(snapshotTs.size * 2);
    const slots = new Set([...snapshotTs].map((t) => t / 100_000_000n));
    expect(slots.size).toBe(snapshotTs.size);
  });

  it('rejects arrivals that would explode and caps trade-driven quotes to the quote target', () => {
    expect(() => groupsOf({ arrivals: { ...BINANCE_ARRIVALS, tradeOnTrade: 1 } })).toThrow(/tradeOnTrade/);
    // 1 quote a trade: fewer quotes than trades would trigger; the day still hits its targets.
    const [few = []] = groupsOf({ quotesPerTrade: 1 });
    const quotes = few.filter((g) => g.kind === 'quotes').reduce((s, g) => s + tickRowGroupRows(g), 0);
    expect(quotes).toBeGreaterThan(4_000 * 0.85);
    expect(quotes).toBeLessThan(4_000 * 1.15);
  });
});

/**
 * The simulated venue's moving market: a seeded, streaming random walk per instrument that emits
 * L2 book snapshots (every 100–250 ms by default) and trade prints between them. Pure and
 * deterministic: the same spec, seed, start time and options give the same events, whatever the
 * cadence at which they are pulled (`takeUntil`), so a test driving a TestClock sees exactly what
 * `npm start` sees at the same times.
 *
 * Why not `shared/data/synthetic.ts`: that model generates a whole UTC day at once (a one-second
 * fundamental grid, then Poisson event times over the day) and cannot be stepped forward a few
 * hundred milliseconds at a time. This one borrows its conventions — log-price random walk with the
 * asset's daily volatility (`DEFAULT_ASSETS`), spread in bps rounded to whole ticks (≥ 1), sizes in
 * whole steps (≥ min_qty) drawn around a mean notional, trades by an aggressor at the published
 * bid or ask — in a form that generates the next event on demand.
 *
 * Prices are integers of `tick_size` and sizes integers of `step_size` inside; events carry JS
 * numbers exactly on the grid (what the matching engine takes) and the book can be read as exact
 * decimal strings (what the market state store and `market.raw` carry).
 */

import { Prng } from '../../../shared/data/prng.ts';
import { DEFAULT_ASSETS } from '../../../shared/data/synthetic.ts';
import { fmt, toDec } from '../../../shared/domain/decimal.ts';
import { parseInstrumentId, settlementOf } from '../../../shared/domain/instrument-id.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../../shared/domain/time.ts';
import type { InstrumentSpec, Side } from '../../../shared/domain/types.ts';

export interface MarketModelOptions {
  spec: InstrumentSpec;
  /** Seed of the stream (combined with the instrument key). */
  seed: number;
  /** Time of the first book snapshot. */
  startNs: Nanos;
  /** Starting mid in the quote currency (default {@link defaultStartPrice}). */
  startPrice?: number | undefined;
  /** Standard deviation of daily log returns (default: the asset's in `DEFAULT_ASSETS`, else 0.03). */
  dailyVol?: number | undefined;
  /** Typical spread in bps (default 2); at least one tick. */
  spreadBps?: number | undefined;
  /** Mean notional shown per book level, quote currency (default 50,000). */
  levelNotional?: number | undefined;
  /** Mean notional of one trade print (default 2,000). */
  tradeNotional?: number | undefined;
  /** Levels per side in each snapshot (default 5). */
  levels?: number | undefined;
  /** Time between snapshots, uniform in [min, max] milliseconds (default [100, 250]). */
  quoteIntervalMs?: readonly [number, number] | undefined;
  /** Probability of a trade print between two snapshots (default 0.6). */
  tradeProbability?: number | undefined;
}

/** A book level: price and size as numbers on the tick / step grid. */
export type Level = readonly [price: number, size: number];

export type MarketEvent =
  | { kind: 'book'; ts: Nanos; bids: Level[]; asks: Level[] }
  | { kind: 'trade'; ts: Nanos; price: number; size: number; aggressor: Side };

/** The latest book as exact decimal strings. */
export interface BookSnapshot {
  ts: Nanos;
  bids: Array<{ price: string; size: string }>;
  asks: Array<{ price: string; size: string }>;
}

/** Mid prices in USD used to start the walk (BTC and ETH from the synthetic market's assets). */
export const START_PRICES_USD: Readonly<Record<string, number>> = {
  BTC: DEFAULT_ASSETS.BTC?.initialPrice ?? 60_000,
  ETH: DEFAULT_ASSETS.ETH?.initialPrice ?? 3_000,
  SOL: 150,
  BNB: 600,
  XRP: 0.6,
  ADA: 0.45,
  DOGE: 0.15,
  USD: 1,
  USDT: 1,
  USDC: 1,
  FDUSD: 1,
  EUR: 1.08,
};

/**
 * A plausible starting mid for an instrument: base / quote from {@link START_PRICES_USD} (an
 * unknown base is 100 units of the quote); options start at 2% of that (quoted in the settlement
 * asset for inverse options).
 */
export function defaultStartPrice(instrumentKey: string): number {
  const parsed = parseInstrumentId(instrumentKey);
  if (!parsed.success) return 100;
  const id = parsed.data;
  const base = START_PRICES_USD[id.base];
  const quote = START_PRICES_USD[id.quote] ?? 1;
  const underlying = base === undefined ? 100 : base / quote;
  if (id.instrument_type !== 'OPTION') return underlying;
  return settlementOf(id) === 'INVERSE' ? 0.02 : 0.02 * underlying;
}

function dailyVolOf(instrumentKey: string): number {
  const parsed = parseInstrumentId(instrumentKey);
  if (!parsed.success) return 0.03;
  return DEFAULT_ASSETS[parsed.data.base]?.dailyVol ?? 0.03;
}

/** A decimal increment as an exact integer ratio: value = units / scale. */
interface Grid {
  units: number;
  scale: number;
  value: number;
  dec: string;
}

function gridOf(decimal: string, what: string): Grid {
  const d = toDec(decimal);
  if (!d.gt(0)) throw new RangeError(`${what} must be positive, got ${decimal}`);
  const dp = d.decimalPlaces();
  if (dp > 15) throw new RangeError(`${what} ${decimal} is too fine for the simulated market`);
  const scale = 10 ** dp;
  const units = Number(d.times(scale).toFixed(0));
  if (!Number.isSafeInteger(units)) throw new RangeError(`${what} ${decimal} is too large`);
  return { units, scale, value: units / scale, dec: fmt(d) };
}

const SECONDS_PER_DAY = 86_400;

export class SyntheticMarketStream {
  readonly spec: InstrumentSpec;
  private readonly rng: Prng;
  private readonly tick: Grid;
  private readonly step: Grid;
  private readonly minUnits: number;
  private readonly maxUnits: number;
  private readonly sigmaPerSqrtSecond: number;
  private readonly spreadBps: number;
  private readonly levelNotional: number;
  private readonly tradeNotional: number;
  private readonly levels: number;
  private readonly intervalNs: readonly [number, number];
  private readonly tradeProbability: number;

  private logMid: number;
  private lastQuoteTs: Nanos | null = null;
  private nextQuoteTs: Nanos;
  private pendingTrade: Nanos | null = null;
  private bidTicks = 0;
  private askTicks = 0;
  private bids: Array<[number, number]> = [];
  private asks: Array<[number, number]> = [];
  private bookTs: Nanos | null = null;
  private volumeUnits = 0;
  private last: { priceTicks: number; units: number; ts: Nanos } | null = null;

  constructor(opts: MarketModelOptions) {
    this.spec = opts.spec;
    this.rng = new Prng(`${opts.seed}:sim-market:${opts.spec.instrument_key}`);
    this.tick = gridOf(opts.spec.tick_size, 'tick_size');
    this.step = gridOf(opts.spec.step_size, 'step_size');
    this.minUnits = Math.max(1, Math.ceil(toDec(opts.spec.min_qty).div(this.step.dec).toNumber() - 1e-9));
    this.maxUnits = Math.max(
      this.minUnits,
      Math.floor(toDec(opts.spec.max_qty).div(this.step.dec).toNumber() + 1e-9),
    );
    const vol = opts.dailyVol ?? dailyVolOf(opts.spec.instrument_key);
    if (!(vol >= 0)) throw new RangeError(`dailyVol must be >= 0, got ${vol}`);
    this.sigmaPerSqrtSecond = vol / Math.sqrt(SECONDS_PER_DAY);
    this.spreadBps = positive(opts.spreadBps ?? 2, 'spreadBps');
    this.levelNotional = positive(opts.levelNotional ?? 50_000, 'levelNotional');
    this.tradeNotional = positive(opts.tradeNotional ?? 2_000, 'tradeNotional');
    this.levels = Math.max(1, Math.min(50, Math.trunc(opts.levels ?? 5)));
    const [lo, hi] = opts.quoteIntervalMs ?? [100, 250];
    if (!(lo > 0 && hi >= lo))
      throw new RangeError(`quoteIntervalMs must be 0 < min <= max, got [${lo}, ${hi}]`);
    this.intervalNs = [lo * 1e6, hi * 1e6];
    this.tradeProbability = Math.min(1, Math.max(0, opts.tradeProbability ?? 0.6));
    // Start at least 20 ticks above zero so the walk and the spread have room.
    const start = Math.max(
      opts.startPrice ?? defaultStartPrice(opts.spec.instrument_key),
      20 * this.tick.value,
    );
    this.logMid = Math.log(start);
    this.nextQuoteTs = opts.startNs;
  }

  /** Time of the next event. */
  peekTs(): Nanos {
    return this.pendingTrade !== null && this.pendingTrade < this.nextQuoteTs
      ? this.pendingTrade
      : this.nextQuoteTs;
  }

  /** The next event (generated on demand). */
  next(): MarketEvent {
    if (this.pendingTrade !== null && this.pendingTrade < this.nextQuoteTs) {
      const ts = this.pendingTrade;
      this.pendingTrade = null;
      return this.trade(ts);
    }
    return this.quote(this.nextQuoteTs);
  }

  /** Every event with `ts <= t`, in time order. */
  takeUntil(t: Nanos): MarketEvent[] {
    const out: MarketEvent[] = [];
    while (this.peekTs() <= t) out.push(this.next());
    return out;
  }

  /** The latest book (exact decimals), or null before the first snapshot. */
  book(): BookSnapshot | null {
    if (this.bookTs === null) return null;
    const level = ([p, s]: [number, number]) => ({ price: this.priceDec(p), size: this.sizeDec(s) });
    return { ts: this.bookTs, bids: this.bids.map(level), asks: this.asks.map(level) };
  }

  /** The latest trade print (exact decimals), or null. */
  lastTrade(): { price: string; size: string; ts: Nanos } | null {
    return this.last === null
      ? null
      : { price: this.priceDec(this.last.priceTicks), size: this.sizeDec(this.last.units), ts: this.last.ts };
  }

  /** Cumulative traded size since the start (decimal string, for VWAP participation). */
  cumulativeVolume(): string {
    return this.sizeDec(this.volumeUnits);
  }

  private priceDec(ticks: number): string {
    return fmt(toDec(this.tick.dec).times(ticks));
  }

  private sizeDec(units: number): string {
    return fmt(toDec(this.step.dec).times(units));
  }

  private price(ticks: number): number {
    return (ticks * this.tick.units) / this.tick.scale;
  }

  private size(units: number): number {
    return (units * this.step.units) / this.step.scale;
  }

  private drawUnits(meanNotional: number, mid: number, sigma: number): number {
    const mean = meanNotional / mid / this.step.value;
    const drawn = Math.floor(mean * Math.exp(sigma * this.rng.normal() - (sigma * sigma) / 2));
    return Math.min(this.maxUnits, Math.max(this.minUnits, drawn));
  }

  private quote(ts: Nanos): MarketEvent {
    const dtSeconds = this.lastQuoteTs === null ? 0 : Number(ts - this.lastQuoteTs) / 1e9;
    if (dtSeconds > 0) {
      const sd = this.sigmaPerSqrtSecond * Math.sqrt(dtSeconds);
      this.logMid += sd * this.rng.normal() - (sd * sd) / 2;
    }
    const mid = Math.exp(this.logMid);
    const midTicks = mid / this.tick.value;
    const spreadTicks = Math.max(
      1,
      Math.round((midTicks * this.spreadBps * (0.8 + 0.4 * this.rng.uniform())) / 1e4),
    );
    this.bidTicks = Math.max(1, Math.floor(midTicks - spreadTicks / 2));
    this.askTicks = this.bidTicks + spreadTicks;
    this.bids = [];
    this.asks = [];
    let b = this.bidTicks;
    let a = this.askTicks;
    for (let level = 0; level < this.levels; level++) {
      if (level > 0) {
        b -= 1 + (this.rng.uniform() < 0.3 ? this.rng.int(2) : 0);
        a += 1 + (this.rng.uniform() < 0.3 ? this.rng.int(2) : 0);
      }
      const scale = 1 + 0.35 * level;
      if (b >= 1) this.bids.push([b, this.drawUnits(this.levelNotional * scale, mid, 0.7)]);
      this.asks.push([a, this.drawUnits(this.levelNotional * scale, mid, 0.7)]);
    }
    this.bookTs = ts;
    this.lastQuoteTs = ts;
    const gap = this.intervalNs[0] + this.rng.uniform() * (this.intervalNs[1] - this.intervalNs[0]);
    this.nextQuoteTs = ts + BigInt(Math.max(1, Math.round(gap)));
    if (this.rng.uniform() < this.tradeProbability) {
      const span = Number(this.nextQuoteTs - ts);
      this.pendingTrade = ts + BigInt(Math.min(span - 1, 1 + Math.floor(this.rng.uniform() * (span - 1))));
      if (this.pendingTrade <= ts) this.pendingTrade = null;
    }
    return {
      kind: 'book',
      ts,
      bids: this.bids.map(([p, s]) => [this.price(p), this.size(s)] as const),
      asks: this.asks.map(([p, s]) => [this.price(p), this.size(s)] as const),
    };
  }

  private trade(ts: Nanos): MarketEvent {
    const buy = this.rng.uniform() < 0.5;
    const ticks = buy ? this.askTicks : this.bidTicks;
    const units = this.drawUnits(this.tradeNotional, Math.exp(this.logMid), 1.1);
    this.volumeUnits += units;
    this.last = { priceTicks: ticks, units, ts };
    return {
      kind: 'trade',
      ts,
      price: this.price(ticks),
      size: this.size(units),
      aggressor: buy ? 'BUY' : 'SELL',
    };
  }
}

function positive(v: number, what: string): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${what} must be a positive number, got ${v}`);
  return v;
}

/** Milliseconds as nanoseconds (integer). */
export function msToNs(ms: number): Nanos {
  return BigInt(Math.round(ms)) * NANOS_PER_MILLI;
}

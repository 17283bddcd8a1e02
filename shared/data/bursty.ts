/**
 * Exchange-sized synthetic ticks, streamed: one instrument-day as a sequence of row groups (one UTC
 * minute of one kind, at most `maxRowGroupRows` rows each), generated lazily, so a day of tens of
 * millions of quotes never sits in memory. Pure and deterministic: the same inputs give the same
 * row groups.
 *
 * Arrivals are a bivariate Hawkes process with exponential kernels (simulated exactly by Ogata
 * thinning): trades excite trades (traders chase prints), trades excite quote updates (the book
 * refills after a print), quote updates excite quote updates. The baseline intensity follows the
 * asset's minute weights (U-shaped day × volatility regime × noise, see `synthetic.ts`) and is
 * scaled so the expected counts of the day are the targets. The price path is the same latent
 * fundamental as the default profile (the asset's one-second grid plus the instrument's basis and
 * micro-noise), so instruments on one asset stay together.
 *
 * Quotes are book-ticker updates: the touch sits on whole ticks around the latent mid with a spread
 * of one tick most of the time, wider (geometric in ticks) with volatility and in bursts; when the
 * prices stay, an update changes one side's size (like a real book ticker), when they move the
 * sizes are drawn afresh. Trades hit the last published bid or lift the ask and take size off that
 * side. Optional L2: a snapshot of N levels per side at the first quote change in each
 * `l2IntervalMs` (Binance's partial-depth streams are 100 ms), level 0 = the quote.
 */
import { gridOf } from './grid.ts';
import type { Prng } from './prng.ts';
import type { AssetDay, InstrumentState, SyntheticInstrument } from './synthetic.ts';
import {
  BOOK_ASK,
  BOOK_BID,
  type BookColumns,
  type QuoteColumns,
  SIDE_BUY,
  SIDE_SELL,
  type TickRowGroup,
  type TradeColumns,
} from './tick-columns.ts';
import { dayStartNs } from './tick-layout.ts';

/** Parameters of the self-exciting arrivals (branching ratios: expected children per event). */
export interface HawkesArrivals {
  /** Decay rate of every kernel, per second (1 / memory). */
  decayPerS: number;
  /** Trades caused by one trade (< 1). */
  tradeOnTrade: number;
  /** Quote updates caused by one trade. */
  quoteOnTrade: number;
  /** Quote updates caused by one quote update (< 1). */
  quoteOnQuote: number;
  /** Probability scale of a spread wider than one tick (× volatility regime, × 2 in a burst). */
  widenProbability: number;
  /** L2 snapshot cadence in milliseconds (one at the first quote change of each interval). */
  l2IntervalMs: number;
}

export const BINANCE_ARRIVALS: HawkesArrivals = {
  decayPerS: 4,
  tradeOnTrade: 0.6,
  quoteOnTrade: 2,
  quoteOnQuote: 0.5,
  widenProbability: 0.04,
  l2IntervalMs: 100,
};

export interface BurstyDayInput {
  inst: SyntheticInstrument;
  day: string;
  assetDay: AssetDay;
  /** Carried to the next day (micro-noise, next trade id); updated as the day is generated. */
  state: InstrumentState;
  rng: Prng;
  /** Expected trades and quote updates of the day. */
  trades: number;
  quotes: number;
  l2Levels: number;
  maxRowGroupRows: number;
  arrivals: HawkesArrivals;
}

const SECONDS_PER_MINUTE = 60;
const MINUTES_PER_DAY = 1_440;
const NS_PER_MINUTE = 60_000_000_000;
/** Instrument micro-noise, as in the default profile. */
const NOISE_REVERSION_S = 5;
const NOISE_SD = 0.00003;

/** A growable-to-cap columnar buffer of one kind; `take()` copies out the rows and resets. */
class TradeBuffer {
  readonly ts: BigInt64Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  readonly side: Int8Array;
  readonly ids: string[] = [];
  n = 0;
  constructor(readonly cap: number) {
    this.ts = new BigInt64Array(cap);
    this.price = new Float64Array(cap);
    this.size = new Float64Array(cap);
    this.side = new Int8Array(cap);
  }
  take(): TickRowGroup {
    const n = this.n;
    this.n = 0;
    const trades: TradeColumns & { trade_id: string[] } = {
      ts: this.ts.slice(0, n),
      price: this.price.slice(0, n),
      size: this.size.slice(0, n),
      side: this.side.slice(0, n),
      trade_id: this.ids.splice(0),
    };
    return { kind: 'trades', trades };
  }
}

class QuoteBuffer {
  readonly ts: BigInt64Array;
  readonly bid_px: Float64Array;
  readonly bid_sz: Float64Array;
  readonly ask_px: Float64Array;
  readonly ask_sz: Float64Array;
  n = 0;
  constructor(readonly cap: number) {
    this.ts = new BigInt64Array(cap);
    this.bid_px = new Float64Array(cap);
    this.bid_sz = new Float64Array(cap);
    this.ask_px = new Float64Array(cap);
    this.ask_sz = new Float64Array(cap);
  }
  take(): TickRowGroup {
    const n = this.n;
    this.n = 0;
    const quotes: QuoteColumns = {
      ts: this.ts.slice(0, n),
      bid_px: this.bid_px.slice(0, n),
      bid_sz: this.bid_sz.slice(0, n),
      ask_px: this.ask_px.slice(0, n),
      ask_sz: this.ask_sz.slice(0, n),
    };
    return { kind: 'quotes', quotes };
  }
}

class BookBuffer {
  readonly ts: BigInt64Array;
  readonly side: Int8Array;
  readonly level: Int32Array;
  readonly price: Float64Array;
  readonly size: Float64Array;
  n = 0;
  constructor(readonly cap: number) {
    this.ts = new BigInt64Array(cap);
    this.side = new Int8Array(cap);
    this.level = new Int32Array(cap);
    this.price = new Float64Array(cap);
    this.size = new Float64Array(cap);
  }
  take(): TickRowGroup {
    const n = this.n;
    this.n = 0;
    const book: BookColumns = {
      ts: this.ts.slice(0, n),
      side: this.side.slice(0, n),
      level: this.level.slice(0, n),
      price: this.price.slice(0, n),
      size: this.size.slice(0, n),
    };
    return { kind: 'book', book };
  }
}

/** Validate the arrival parameters; returns the effective quote-on-trade ratio for the targets. */
function effectiveQuoteOnTrade(a: HawkesArrivals, trades: number, quotes: number): number {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new RangeError(`Hawkes arrivals: ${what}`);
  };
  check(a.decayPerS > 0, `decayPerS must be > 0, got ${a.decayPerS}`);
  check(a.tradeOnTrade >= 0 && a.tradeOnTrade < 1, `tradeOnTrade must be in [0, 1), got ${a.tradeOnTrade}`);
  check(a.quoteOnQuote >= 0 && a.quoteOnQuote < 1, `quoteOnQuote must be in [0, 1), got ${a.quoteOnQuote}`);
  check(a.quoteOnTrade >= 0, `quoteOnTrade must be ≥ 0, got ${a.quoteOnTrade}`);
  check(a.widenProbability >= 0 && a.widenProbability < 1, 'widenProbability must be in [0, 1)');
  check(Number.isInteger(a.l2IntervalMs) && a.l2IntervalMs >= 1, 'l2IntervalMs must be a positive integer');
  // Quotes caused by trades may not exceed what the quote target leaves room for (keep a fifth
  // of the quotes on the baseline, so few quotes per trade still works).
  return Math.min(a.quoteOnTrade, (0.8 * quotes * (1 - a.quoteOnQuote)) / Math.max(1, trades));
}

/**
 * The row groups of one instrument-day: for each minute, its trades, quotes and book rows (each kind
 * cut into groups of at most `maxRowGroupRows`), in time order per kind. Lazy: nothing beyond the
 * current group of each kind is held.
 */
export function* burstyInstrumentDay(input: BurstyDayInput): Generator<TickRowGroup> {
  const { inst, day, assetDay, state, rng, l2Levels, arrivals } = input;
  const cap = input.maxRowGroupRows;
  if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`maxRowGroupRows must be ≥ 1, got ${cap}`);
  if (!(input.trades > 0) || !(input.quotes > 0)) throw new RangeError('trades and quotes must be > 0');
  const quoteOnTrade = effectiveQuoteOnTrade(arrivals, input.trades, input.quotes);
  const beta = arrivals.decayPerS;
  const jumpTT = arrivals.tradeOnTrade * beta;
  const jumpTQ = quoteOnTrade * beta;
  const jumpQQ = arrivals.quoteOnQuote * beta;
  // Baseline totals of the day so that the expected counts are the targets.
  const baseTrades = input.trades * (1 - arrivals.tradeOnTrade);
  const baseQuotes = input.quotes * (1 - arrivals.quoteOnQuote) - quoteOnTrade * input.trades;

  // Instrument-specific noise on the asset's minute weights, normalised to mean 1.
  const weights = new Float64Array(MINUTES_PER_DAY);
  let wSum = 0;
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const w = (assetDay.minuteWeight[m] as number) * Math.exp(0.1 * rng.normal() - 0.005);
    weights[m] = w;
    wSum += w;
  }
  const wScale = MINUTES_PER_DAY / wSum;

  const tick = gridOf(inst.spec.tick_size, 'tick_size');
  const step = gridOf(inst.spec.step_size, 'step_size');
  const minQtyUnits = Math.max(1, Math.round(Number(inst.spec.min_qty) / step.value));
  const toTicks = 1 / tick.value;
  const price = (ticks: number) => (ticks * tick.units) / tick.scale;
  const qty = (units: number) => (units * step.units) / step.scale;
  const drawUnits = (mean: number, sigma: number) =>
    Math.max(minQtyUnits, Math.floor(mean * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2)));
  const basis = inst.basisBps / 1e4;
  const base = dayStartNs(day);

  const tb = new TradeBuffer(cap);
  const qb = new QuoteBuffer(cap);
  const bb = l2Levels > 0 ? new BookBuffer(cap) : null;

  let noise = state.noise;
  let tradeId = state.nextTradeId;
  let lastT = 0;
  let lastMidForFlow = 0;
  let bidTicks = 0;
  let askTicks = 0;
  let bidUnits = minQtyUnits;
  let askUnits = minQtyUnits;
  let haveQuote = false;
  let lastSnapshot = -1;
  // Excitation above the baseline, per kind (events per second).
  let exT = 0;
  let exQ = 0;

  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const w = (weights[m] as number) * wScale;
    const muT = (baseTrades * w) / 86_400;
    const muQ = (baseQuotes * w) / 86_400;
    const start = m * SECONDS_PER_MINUTE;
    const end = start + SECONDS_PER_MINUTE;
    const maxNs = (m + 1) * NS_PER_MINUTE - 1;
    let t = start;
    // The day opens with a quote, so the first trade has a touch to trade against.
    let forceQuote = !haveQuote;
    for (;;) {
      let isQuote: boolean;
      if (forceQuote) {
        forceQuote = false;
        isQuote = true;
      } else {
        const bound = muT + muQ + exT + exQ;
        const dt = -Math.log(rng.uniformPositive()) / bound;
        if (t + dt >= end) {
          const k = Math.exp(-beta * (end - t));
          exT *= k;
          exQ *= k;
          break;
        }
        t += dt;
        const k = Math.exp(-beta * dt);
        exT *= k;
        exQ *= k;
        const u = rng.uniform() * bound;
        const lambdaT = muT + exT;
        if (u < lambdaT) isQuote = false;
        else if (u < lambdaT + muQ + exQ) isQuote = true;
        else continue; // thinned
      }
      if (isQuote) exQ += jumpQQ;
      else {
        exT += jumpTT;
        exQ += jumpTQ;
      }

      // Latent mid at t: fundamental (linear within the second) + basis + micro-noise.
      const sec = Math.min(86_399, Math.floor(t));
      const frac = t - sec;
      const lf = (assetDay.logF[sec] as number) * (1 - frac) + (assetDay.logF[sec + 1] as number) * frac;
      const gap = t - lastT;
      lastT = t;
      if (gap > 0) {
        const k = Math.exp(-gap / NOISE_REVERSION_S);
        noise = noise * k + NOISE_SD * Math.sqrt(1 - k * k) * rng.normal();
      }
      const mid = Math.exp(lf + basis + noise);
      const v = assetDay.vol[sec] as number;
      const offsetNs = Math.min(maxNs, Math.floor(t * 1e9));
      const ns = base + BigInt(offsetNs);

      if (isQuote) {
        const burst = exQ / (muQ + exQ);
        const widen = Math.min(0.9, arrivals.widenProbability * v * (1 + burst));
        let spread = 1;
        while (spread < 50 && rng.uniform() < widen) spread++;
        const midTicks = mid * toTicks;
        const bid = Math.max(1, Math.floor(midTicks - spread / 2));
        const ask = bid + spread;
        const meanTop = inst.meanTopNotional / mid / step.value;
        if (haveQuote && bid === bidTicks && ask === askTicks) {
          // Same touch: one side's size changes.
          if (rng.uniform() < 0.5) bidUnits = drawUnits(Math.max(bidUnits, meanTop * 0.2), 0.4);
          else askUnits = drawUnits(Math.max(askUnits, meanTop * 0.2), 0.4);
        } else {
          bidUnits = drawUnits(meanTop, 0.8);
          askUnits = drawUnits(meanTop, 0.8);
        }
        bidTicks = bid;
        askTicks = ask;
        haveQuote = true;
        const qi = qb.n++;
        qb.ts[qi] = ns;
        qb.bid_px[qi] = price(bidTicks);
        qb.bid_sz[qi] = qty(bidUnits);
        qb.ask_px[qi] = price(askTicks);
        qb.ask_sz[qi] = qty(askUnits);
        if (qb.n === cap) yield qb.take();
        if (bb) {
          const slot = Math.floor(offsetNs / (arrivals.l2IntervalMs * 1e6));
          if (slot !== lastSnapshot) {
            lastSnapshot = slot;
            for (const sideCode of [BOOK_BID, BOOK_ASK]) {
              let levelTicks = sideCode === BOOK_BID ? bidTicks : askTicks;
              for (let level = 0; level < l2Levels; level++) {
                let units: number;
                if (level === 0) units = sideCode === BOOK_BID ? bidUnits : askUnits;
                else {
                  const gapTicks = 1 + (rng.uniform() < 0.3 ? rng.int(3) : 0);
                  levelTicks += sideCode === BOOK_BID ? -gapTicks : gapTicks;
                  units = drawUnits(meanTop * (1 + 0.35 * level), 0.7);
                }
                const bi = bb.n++;
                bb.ts[bi] = ns;
                bb.side[bi] = sideCode;
                bb.level[bi] = level;
                bb.price[bi] = price(Math.max(1, levelTicks));
                bb.size[bi] = qty(units);
                if (bb.n === cap) yield bb.take();
              }
            }
          }
        }
      } else {
        const move = lastMidForFlow > 0 ? (mid - lastMidForFlow) / lastMidForFlow / 1e-4 : 0;
        lastMidForFlow = mid;
        const buy = rng.uniform() < 0.5 + 0.3 * Math.tanh(move);
        const units = drawUnits(inst.meanTradeNotional / mid / step.value, 1.1);
        // The print takes size off the side it hit (the next quote update shows it).
        if (buy) askUnits = Math.max(minQtyUnits, askUnits - units);
        else bidUnits = Math.max(minQtyUnits, bidUnits - units);
        const ti = tb.n++;
        tb.ts[ti] = ns;
        tb.side[ti] = buy ? SIDE_BUY : SIDE_SELL;
        tb.price[ti] = price(buy ? askTicks : bidTicks);
        tb.size[ti] = qty(units);
        tb.ids.push(String(tradeId++));
        if (tb.n === cap) yield tb.take();
      }
    }
    // Minute boundary: every kind's open group ends here.
    if (qb.n > 0) yield qb.take();
    if (tb.n > 0) yield tb.take();
    if (bb && bb.n > 0) yield bb.take();
  }
  state.noise = noise;
  state.nextTradeId = tradeId;
}

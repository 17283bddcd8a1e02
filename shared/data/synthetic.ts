/**
 * A seeded synthetic market for tests, local runs and benchmarks. Pure and deterministic: the same
 * seed, instruments, start day and options give the same ticks on every machine.
 *
 * Model (per UTC day, carried over from one day to the next):
 *
 * - each underlying asset (BTC, ETH) has a "fundamental" log price on a one-second grid: Gaussian
 *   increments scaled by an intraday U-shaped activity profile (busy at the start and end of the
 *   UTC day) and by a mean-reverting volatility regime, plus occasional jumps that also lift the
 *   volatility regime. Instruments on the same asset (BTC spot and the BTC perpetual) share it, so
 *   they move together up to a small basis and their own micro-noise;
 * - event times: trades and quote updates arrive as a Poisson-like process whose intensity follows
 *   the same U shape, the volatility regime (busier when volatile) and per-minute noise;
 * - quotes: the spread (in bps, then whole ticks, ≥ 1 tick) widens with the volatility regime;
 *   bid/ask are whole ticks around the latent mid, sizes whole steps;
 * - trades: the aggressor buys at the last published ask or sells at the last published bid (so
 *   every trade is consistent with the quote stream), buyers being likelier after up-moves; sizes
 *   are heavy-tailed, whole steps, at least min_qty;
 * - optional L2 snapshots: N levels per side at every quote update, level 0 = the quote.
 */
import { fmt, toDec } from '../domain/decimal.ts';
import type { InstrumentSpec } from '../domain/types.ts';
import { burstyInstrumentDay, type HawkesArrivals } from './bursty.ts';
import { gridOf } from './grid.ts';
import { Prng } from './prng.ts';
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

export interface SyntheticAsset {
  /** Starting price of the fundamental (in the quote currency). */
  initialPrice: number;
  /** Standard deviation of daily log returns, e.g. 0.03. */
  dailyVol: number;
  /** Expected number of jumps per day. */
  jumpsPerDay: number;
  /** Standard deviation of a jump's log size, e.g. 0.006. */
  jumpSize: number;
}

export interface SyntheticInstrument {
  spec: InstrumentSpec;
  /** Key into the assets map (e.g. `BTC`). */
  asset: string;
  /** Constant premium over the fundamental, in bps (perpetuals trade slightly rich). */
  basisBps: number;
  /** Trades per day relative to the `tradesPerDay` option. */
  activity: number;
  /** Typical spread in bps in a calm market. */
  spreadBps: number;
  /** Mean notional of one trade, in the quote currency. */
  meanTradeNotional: number;
  /** Mean notional shown at the best level, in the quote currency. */
  meanTopNotional: number;
  /** Grid of target positions for sample signals (decimal string, a multiple of step_size). */
  signalUnit: string;
  /** Whether sample signals may go short. */
  allowShort: boolean;
}

export const DEFAULT_ASSETS: Readonly<Record<string, SyntheticAsset>> = {
  BTC: { initialPrice: 60_000, dailyVol: 0.03, jumpsPerDay: 3, jumpSize: 0.006 },
  ETH: { initialPrice: 3_000, dailyVol: 0.04, jumpsPerDay: 3, jumpSize: 0.008 },
};

export const DEFAULT_INSTRUMENTS: readonly SyntheticInstrument[] = [
  {
    spec: {
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      tick_size: '0.01',
      step_size: '0.00001',
      min_qty: '0.00001',
      max_qty: '9000',
      min_notional: '5',
      maker_fee: '0.001',
      taker_fee: '0.001',
    },
    asset: 'BTC',
    basisBps: 0,
    activity: 1,
    spreadBps: 1,
    meanTradeNotional: 2_000,
    meanTopNotional: 60_000,
    signalUnit: '0.05',
    allowShort: false,
  },
  {
    spec: {
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
      tick_size: '0.01',
      step_size: '0.0001',
      min_qty: '0.0001',
      max_qty: '9000',
      min_notional: '5',
      maker_fee: '0.001',
      taker_fee: '0.001',
    },
    asset: 'ETH',
    basisBps: 0,
    activity: 0.6,
    spreadBps: 1.5,
    meanTradeNotional: 1_500,
    meanTopNotional: 40_000,
    signalUnit: '0.5',
    allowShort: false,
  },
  {
    spec: {
      instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
      tick_size: '0.1',
      step_size: '0.001',
      min_qty: '0.001',
      max_qty: '1000',
      min_notional: '100',
      maker_fee: '0.0002',
      taker_fee: '0.0005',
    },
    asset: 'BTC',
    basisBps: 3,
    activity: 0.8,
    spreadBps: 0.5,
    meanTradeNotional: 5_000,
    meanTopNotional: 200_000,
    signalUnit: '0.05',
    allowShort: true,
  },
];

export interface SyntheticOptions {
  seed: number;
  /** Trades per day of an instrument with activity 1 (default 50,000). */
  tradesPerDay?: number | undefined;
  /** Quote updates per trade (default 2.5). */
  quotesPerTrade?: number | undefined;
  /** L2 levels per side in book snapshots; 0 (default) = no book. */
  l2Levels?: number | undefined;
  instruments?: readonly SyntheticInstrument[] | undefined;
  assets?: Readonly<Record<string, SyntheticAsset>> | undefined;
  /** Self-exciting arrivals for {@link SyntheticMarket.instrumentDayGroups} (streamed days). */
  arrivals?: HawkesArrivals | undefined;
}

export const DEFAULT_TRADES_PER_DAY = 50_000;
export const DEFAULT_QUOTES_PER_TRADE = 2.5;

export interface SyntheticDay {
  day: string;
  instrument_key: string;
  trades: TradeColumns & { trade_id: string[] };
  quotes: QuoteColumns;
  book?: BookColumns | undefined;
}

const SECONDS_PER_DAY = 86_400;
const MINUTES_PER_DAY = 1_440;
const NS_PER_SECOND = 1e9;
/** Volatility regime: mean reversion time (s) and stationary standard deviation of log v. */
const VOL_REVERSION_S = 1_800;
const VOL_STATIONARY_SD = 0.35;
const JUMP_VOL_KICK = 0.8;
/** Instrument micro-noise (mean-reverting log offset from the fundamental). */
const NOISE_REVERSION_S = 5;
const NOISE_SD = 0.00003;
/** Amplitude of the intraday U shape: the edges of the day are (1 + U_AMPLITUDE)× the middle. */
const U_AMPLITUDE = 2;

/** Intraday activity profile at fraction f of the day: U-shaped, mean 1 over the day. */
function uShape(f: number): number {
  const x = 2 * f - 1;
  return (1 + U_AMPLITUDE * x * x) / (1 + U_AMPLITUDE / 3);
}

/** One day of an asset's fundamental on a one-second grid. */
export interface AssetDay {
  /** log price at the start of each second, length 86,401 (the last one = next day's open). */
  logF: Float64Array;
  /** volatility regime multiplier during each second, length 86,400. */
  vol: Float64Array;
  /** relative event intensity of each minute, length 1,440 (shape × regime × noise). */
  minuteWeight: Float64Array;
}

interface AssetState {
  logF: number;
  logV: number;
}

export interface InstrumentState {
  noise: number;
  nextTradeId: number;
}

/**
 * The synthetic market: call {@link SyntheticMarket.day} for consecutive days (state carries over:
 * each day opens where the previous one closed). Generating the same sequence of days from the same
 * options gives identical ticks.
 */
export class SyntheticMarket {
  readonly instruments: readonly SyntheticInstrument[];
  readonly assets: Readonly<Record<string, SyntheticAsset>>;
  private readonly tradesPerDay: number;
  private readonly quotesPerTrade: number;
  private readonly l2Levels: number;
  private readonly seed: number;
  private readonly arrivals: HawkesArrivals | undefined;
  private readonly assetState = new Map<string, AssetState>();
  private readonly instrumentState = new Map<string, InstrumentState>();
  private readonly assetDays = new Map<string, AssetDay>();
  private lastDay: string | null = null;

  constructor(opts: SyntheticOptions) {
    this.seed = opts.seed;
    this.instruments = opts.instruments ?? DEFAULT_INSTRUMENTS;
    this.assets = opts.assets ?? DEFAULT_ASSETS;
    this.tradesPerDay = opts.tradesPerDay ?? DEFAULT_TRADES_PER_DAY;
    this.quotesPerTrade = opts.quotesPerTrade ?? DEFAULT_QUOTES_PER_TRADE;
    this.l2Levels = opts.l2Levels ?? 0;
    this.arrivals = opts.arrivals;
    if (!Number.isInteger(this.tradesPerDay) || this.tradesPerDay < 1) {
      throw new RangeError(`tradesPerDay must be a positive integer, got ${this.tradesPerDay}`);
    }
    if (!(this.quotesPerTrade > 0))
      throw new RangeError(`quotesPerTrade must be > 0, got ${this.quotesPerTrade}`);
    if (!Number.isInteger(this.l2Levels) || this.l2Levels < 0 || this.l2Levels > 100) {
      throw new RangeError(`l2Levels must be an integer 0..100, got ${this.l2Levels}`);
    }
    for (const inst of this.instruments) {
      const a = this.assets[inst.asset];
      if (!a) throw new RangeError(`instrument ${inst.spec.instrument_key}: unknown asset ${inst.asset}`);
      if (!this.assetState.has(inst.asset))
        this.assetState.set(inst.asset, { logF: Math.log(a.initialPrice), logV: 0 });
      const idBase =
        1_000_000 +
        (new Prng(`${this.seed}:ids:${inst.spec.instrument_key}`).nextUint32() % 1_000_000) * 1_000;
      this.instrumentState.set(inst.spec.instrument_key, { noise: 0, nextTradeId: idBase });
    }
  }

  /** Advance the market to `day` (the next day after the previous call, or any day the first time). */
  startDay(day: string): void {
    if (this.lastDay !== null && day <= this.lastDay) {
      throw new RangeError(`days must be generated in increasing order: ${day} after ${this.lastDay}`);
    }
    this.lastDay = day;
    this.assetDays.clear();
    for (const [name, state] of this.assetState) {
      const asset = this.assets[name];
      if (!asset) continue;
      this.assetDays.set(name, simulateAssetDay(asset, state, new Prng(`${this.seed}:asset:${name}:${day}`)));
    }
  }

  /** Ticks of one instrument for the current day (call {@link startDay} first). */
  instrumentDay(inst: SyntheticInstrument): SyntheticDay {
    const day = this.lastDay;
    if (day === null) throw new Error('call startDay(day) first');
    const assetDay = this.assetDays.get(inst.asset);
    const state = this.instrumentState.get(inst.spec.instrument_key);
    if (!assetDay || !state) throw new RangeError(`unknown instrument ${inst.spec.instrument_key}`);
    const rng = new Prng(`${this.seed}:inst:${inst.spec.instrument_key}:${day}`);
    return simulateInstrumentDay({
      inst,
      day,
      assetDay,
      state,
      rng,
      trades: Math.max(1, Math.round(this.tradesPerDay * inst.activity)),
      quotesPerTrade: this.quotesPerTrade,
      l2Levels: this.l2Levels,
    });
  }

  /**
   * The current day of one instrument as a lazy stream of row groups (one minute of one kind, at
   * most `maxRowGroupRows` rows), with self-exciting arrivals (`arrivals` option): for days too
   * large to hold, written with `writeTickDayStream`. Pull it to the end before the next
   * instrument or day (the carried-over state is updated when it finishes).
   */
  instrumentDayGroups(inst: SyntheticInstrument, maxRowGroupRows = 100_000): Generator<TickRowGroup> {
    const day = this.lastDay;
    if (day === null) throw new Error('call startDay(day) first');
    if (!this.arrivals) throw new Error('streamed days need the arrivals option');
    const assetDay = this.assetDays.get(inst.asset);
    const state = this.instrumentState.get(inst.spec.instrument_key);
    if (!assetDay || !state) throw new RangeError(`unknown instrument ${inst.spec.instrument_key}`);
    const trades = Math.max(1, Math.round(this.tradesPerDay * inst.activity));
    return burstyInstrumentDay({
      inst,
      day,
      assetDay,
      state,
      rng: new Prng(`${this.seed}:bursty:${inst.spec.instrument_key}:${day}`),
      trades,
      quotes: Math.max(1, Math.round(trades * this.quotesPerTrade)),
      l2Levels: this.l2Levels,
      maxRowGroupRows,
      arrivals: this.arrivals,
    });
  }

  /** All instruments for one day. */
  day(day: string): SyntheticDay[] {
    this.startDay(day);
    return this.instruments.map((inst) => this.instrumentDay(inst));
  }
}

function simulateAssetDay(asset: SyntheticAsset, state: AssetState, rng: Prng): AssetDay {
  const logF = new Float64Array(SECONDS_PER_DAY + 1);
  const vol = new Float64Array(SECONDS_PER_DAY);
  const sigma1s = asset.dailyVol / Math.sqrt(SECONDS_PER_DAY);
  const decay = Math.exp(-1 / VOL_REVERSION_S);
  const volShock = VOL_STATIONARY_SD * Math.sqrt(1 - decay * decay);
  const jumpP = asset.jumpsPerDay / SECONDS_PER_DAY;
  let x = state.logF;
  let lv = state.logV;
  const minuteVol = new Float64Array(MINUTES_PER_DAY);
  for (let s = 0; s < SECONDS_PER_DAY; s++) {
    logF[s] = x;
    lv = lv * decay + volShock * rng.normal();
    let v = Math.exp(lv - (VOL_STATIONARY_SD * VOL_STATIONARY_SD) / 2);
    const shape = uShape((s + 0.5) / SECONDS_PER_DAY);
    if (rng.uniform() < jumpP) {
      x += asset.jumpSize * rng.normal();
      lv += JUMP_VOL_KICK;
      v = Math.exp(lv - (VOL_STATIONARY_SD * VOL_STATIONARY_SD) / 2);
    }
    vol[s] = v;
    const sd = sigma1s * v * Math.sqrt(shape);
    x += sd * rng.normal() - (sd * sd) / 2;
    const mi = Math.floor(s / 60);
    minuteVol[mi] = (minuteVol[mi] as number) + v / 60;
  }
  logF[SECONDS_PER_DAY] = x;
  state.logF = x;
  state.logV = lv;
  const minuteWeight = new Float64Array(MINUTES_PER_DAY);
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const noise = Math.exp(0.25 * rng.normal() - 0.03125);
    minuteWeight[m] = uShape((m + 0.5) / MINUTES_PER_DAY) * (minuteVol[m] as number) * noise;
  }
  return { logF, vol, minuteWeight };
}

/**
 * `n` sorted event times in seconds within [0, 86400), with intensity proportional to the per-minute
 * weights (piecewise constant). Sorted uniforms come from normalised exponential spacings.
 */
function eventTimes(n: number, weights: Float64Array, rng: Prng): Float64Array {
  const out = new Float64Array(n);
  if (n === 0) return out;
  const cum = new Float64Array(weights.length + 1);
  for (let m = 0; m < weights.length; m++) cum[m + 1] = (cum[m] as number) + (weights[m] as number);
  const total = cum[weights.length] as number;
  // Spacings E_0..E_n; the i-th sorted uniform is (E_0 + … + E_i) / (E_0 + … + E_n).
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += -Math.log(rng.uniformPositive());
    out[i] = sum;
  }
  sum += -Math.log(rng.uniformPositive());
  let m = 0;
  for (let i = 0; i < n; i++) {
    const target = ((out[i] as number) / sum) * total;
    while (m < weights.length - 1 && (cum[m + 1] as number) <= target) m++;
    const w = weights[m] as number;
    const within = w > 0 ? (target - (cum[m] as number)) / w : 0;
    out[i] = Math.min(SECONDS_PER_DAY - 1e-9, (m + Math.min(Math.max(within, 0), 1)) * 60);
  }
  return out;
}

interface InstrumentDayInput {
  inst: SyntheticInstrument;
  day: string;
  assetDay: AssetDay;
  state: InstrumentState;
  rng: Prng;
  trades: number;
  quotesPerTrade: number;
  l2Levels: number;
}

function simulateInstrumentDay(input: InstrumentDayInput): SyntheticDay {
  const { inst, day, assetDay, state, rng, l2Levels } = input;
  const tick = gridOf(inst.spec.tick_size, 'tick_size');
  const step = gridOf(inst.spec.step_size, 'step_size');
  const minQtyUnits = Math.max(1, Math.ceil(toDec(inst.spec.min_qty).div(step.value).toNumber() - 1e-9));
  const nTrades = input.trades;
  const nQuotes = Math.max(1, Math.round(nTrades * input.quotesPerTrade));

  // Event times: instrument-specific noise on the asset's minute weights.
  const weights = new Float64Array(MINUTES_PER_DAY);
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    weights[m] = (assetDay.minuteWeight[m] as number) * Math.exp(0.1 * rng.normal() - 0.005);
  }
  const tradeT = eventTimes(nTrades, weights, rng);
  const quoteT = eventTimes(nQuotes, weights, rng);
  quoteT[0] = 0; // the day opens with a quote, so the first trade has one to trade against

  const base = dayStartNs(day);
  const trades = {
    ts: new BigInt64Array(nTrades),
    price: new Float64Array(nTrades),
    size: new Float64Array(nTrades),
    side: new Int8Array(nTrades),
    trade_id: new Array<string>(nTrades),
  };
  const quotes: QuoteColumns = {
    ts: new BigInt64Array(nQuotes),
    bid_px: new Float64Array(nQuotes),
    bid_sz: new Float64Array(nQuotes),
    ask_px: new Float64Array(nQuotes),
    ask_sz: new Float64Array(nQuotes),
  };
  const bookRows = nQuotes * l2Levels * 2;
  const book: BookColumns | undefined =
    l2Levels > 0
      ? {
          ts: new BigInt64Array(bookRows),
          side: new Int8Array(bookRows),
          level: new Int32Array(bookRows),
          price: new Float64Array(bookRows),
          size: new Float64Array(bookRows),
        }
      : undefined;

  const basis = inst.basisBps / 1e4;
  const noiseDecayPerS = 1 / NOISE_REVERSION_S;
  let noise = state.noise;
  let lastT = 0;
  let lastMidForFlow = 0;
  // Published top of book (in whole ticks / whole steps).
  let bidTicks = 0;
  let askTicks = 0;
  let bidSzUnits = minQtyUnits;
  let askSzUnits = minQtyUnits;
  const toTicks = 1 / tick.value;
  const meanTopUnits = (p: number) => inst.meanTopNotional / p / step.value;
  const meanTradeUnits = (p: number) => inst.meanTradeNotional / p / step.value;

  const price = (ticks: number) => (ticks * tick.units) / tick.scale;
  const qty = (units: number) => (units * step.units) / step.scale;
  const drawUnits = (mean: number, sigma: number) =>
    Math.max(minQtyUnits, Math.floor(mean * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2)));

  let ti = 0;
  let qi = 0;
  let bi = 0;
  let tradeId = state.nextTradeId;
  while (ti < nTrades || qi < nQuotes) {
    // Quotes first on ties, so a trade always follows the quote it trades against.
    const isQuote = qi < nQuotes && (ti >= nTrades || (quoteT[qi] as number) <= (tradeT[ti] as number));
    const t = isQuote ? (quoteT[qi] as number) : (tradeT[ti] as number);
    const dt = t - lastT;
    lastT = t;
    // Latent mid: fundamental (linear within the second) + basis + mean-reverting micro-noise.
    const sec = Math.min(SECONDS_PER_DAY - 1, Math.floor(t));
    const frac = t - sec;
    const lf = (assetDay.logF[sec] as number) * (1 - frac) + (assetDay.logF[sec + 1] as number) * frac;
    if (dt > 0) {
      const k = Math.exp(-dt * noiseDecayPerS);
      noise = noise * k + NOISE_SD * Math.sqrt(1 - k * k) * rng.normal();
    }
    const mid = Math.exp(lf + basis + noise);
    const v = assetDay.vol[sec] as number;
    const ns = base + BigInt(Math.floor(t * NS_PER_SECOND));

    if (isQuote) {
      const spreadBps = inst.spreadBps * v * (0.8 + 0.4 * rng.uniform());
      const spreadTicks = Math.max(1, Math.round(((mid * spreadBps) / 1e4) * toTicks));
      const midTicks = mid * toTicks;
      bidTicks = Math.floor(midTicks - spreadTicks / 2);
      askTicks = bidTicks + spreadTicks;
      bidSzUnits = drawUnits(meanTopUnits(mid), 0.8);
      askSzUnits = drawUnits(meanTopUnits(mid), 0.8);
      quotes.ts[qi] = ns;
      quotes.bid_px[qi] = price(bidTicks);
      quotes.bid_sz[qi] = qty(bidSzUnits);
      quotes.ask_px[qi] = price(askTicks);
      quotes.ask_sz[qi] = qty(askSzUnits);
      if (book) {
        for (const sideCode of [BOOK_BID, BOOK_ASK]) {
          let levelTicks = sideCode === BOOK_BID ? bidTicks : askTicks;
          for (let level = 0; level < l2Levels; level++) {
            let units: number;
            if (level === 0) units = sideCode === BOOK_BID ? bidSzUnits : askSzUnits;
            else {
              const gap = 1 + (rng.uniform() < 0.3 ? rng.int(3) : 0);
              levelTicks += sideCode === BOOK_BID ? -gap : gap;
              units = drawUnits(meanTopUnits(mid) * (1 + 0.35 * level), 0.7);
            }
            book.ts[bi] = ns;
            book.side[bi] = sideCode;
            book.level[bi] = level;
            book.price[bi] = price(Math.max(1, levelTicks));
            book.size[bi] = qty(units);
            bi++;
          }
        }
      }
      qi++;
    } else {
      // Order flow follows the latent move since the last trade.
      const move = lastMidForFlow > 0 ? (mid - lastMidForFlow) / lastMidForFlow / 1e-4 : 0;
      lastMidForFlow = mid;
      const pBuy = 0.5 + 0.3 * Math.tanh(move);
      const buy = rng.uniform() < pBuy;
      trades.ts[ti] = ns;
      trades.side[ti] = buy ? SIDE_BUY : SIDE_SELL;
      trades.price[ti] = price(buy ? askTicks : bidTicks);
      trades.size[ti] = qty(drawUnits(meanTradeUnits(mid), 1.1));
      trades.trade_id[ti] = String(tradeId++);
      ti++;
    }
  }
  state.noise = noise;
  state.nextTradeId = tradeId;
  const result: SyntheticDay = { day, instrument_key: inst.spec.instrument_key, trades, quotes };
  if (book) result.book = book;
  return result;
}

/** Instrument definitions of the synthetic market (for `instruments/<day>.json`). */
export function syntheticInstrumentSpecs(
  instruments: readonly SyntheticInstrument[] = DEFAULT_INSTRUMENTS,
): InstrumentSpec[] {
  return instruments.map((i) => ({ ...i.spec }));
}

// ------------------------------------------------------------------------------------------------
// Sample signals
// ------------------------------------------------------------------------------------------------

/** One line of a signals file (SPEC "Signals"). */
export interface SampleSignal {
  ts: string;
  instrument_key: string;
  target_position: string;
  strategy_id: string;
  exec_algorithm: 'NORMAL' | 'TWAP' | 'VWAP';
  exec_algorithm_params: Record<string, number>;
}

export interface SampleSignalOptions {
  seed: number;
  days: readonly string[];
  instruments?: readonly SyntheticInstrument[] | undefined;
  /** Signals per day (default 29). */
  perDay?: number | undefined;
  /** Probability that a signal repeats the instrument's current target (default 0.25). */
  repeatProbability?: number | undefined;
  strategyId?: string | undefined;
}

/**
 * Sample signals for the synthetic data: `perDay` per day at distinct 5-minute marks between 00:05
 * and 23:50 UTC (so a 5-minute window after each stays inside the day), spread over the instruments.
 * Targets move on each instrument's signal grid; about `repeatProbability` of them repeat the
 * current target, which a backtest planner should skip.
 */
export function sampleSignals(opts: SampleSignalOptions): SampleSignal[] {
  const instruments = opts.instruments ?? DEFAULT_INSTRUMENTS;
  const perDay = opts.perDay ?? 29;
  const repeatP = opts.repeatProbability ?? 0.25;
  const strategyId = opts.strategyId ?? 'synthetic-rebalance-v1';
  const firstSlot = 1; // 00:05
  const lastSlot = 286; // 23:50
  const slots = lastSlot - firstSlot + 1;
  if (!Number.isInteger(perDay) || perDay < 0 || perDay > slots) {
    throw new RangeError(`perDay must be an integer 0..${slots}, got ${perDay}`);
  }
  if (instruments.length === 0) throw new RangeError('no instruments for signals');
  const rng = new Prng(`${opts.seed}:signals`);
  const current = new Map<string, number>(instruments.map((i) => [i.spec.instrument_key, 0]));
  const out: SampleSignal[] = [];
  for (const day of opts.days) {
    const base = Date.parse(`${day}T00:00:00Z`);
    if (Number.isNaN(base)) throw new RangeError(`bad day ${day}`);
    // Distinct slots: partial Fisher–Yates over the slot indices.
    const idx = Array.from({ length: slots }, (_, i) => firstSlot + i);
    for (let i = 0; i < perDay; i++) {
      const j = i + rng.int(slots - i);
      const tmp = idx[i] as number;
      idx[i] = idx[j] as number;
      idx[j] = tmp;
    }
    const chosen = idx.slice(0, perDay).sort((a, b) => a - b);
    for (const slot of chosen) {
      const inst = rng.pick(instruments);
      const key = inst.spec.instrument_key;
      const cur = current.get(key) ?? 0;
      let next = cur;
      if (!rng.chance(repeatP)) {
        const lo = inst.allowShort ? -6 : 0;
        const hi = 6;
        while (next === cur) next = lo + rng.int(hi - lo + 1);
      }
      current.set(key, next);
      const u = rng.uniform();
      const algo: SampleSignal['exec_algorithm'] = u < 0.6 ? 'TWAP' : u < 0.85 ? 'VWAP' : 'NORMAL';
      const params: Record<string, number> = algo === 'NORMAL' ? {} : { duration_sec: 240, max_slices: 8 };
      out.push({
        ts: new Date(base + slot * 300_000).toISOString().replace('.000Z', 'Z'),
        instrument_key: key,
        target_position: fmt(toDec(inst.signalUnit).times(next)),
        strategy_id: strategyId,
        exec_algorithm: algo,
        exec_algorithm_params: params,
      });
    }
  }
  return out;
}

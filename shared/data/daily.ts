/**
 * A seeded synthetic multi-asset DAILY market for rebalance backtests (docs/rebalancing.md), plus a
 * sample weights time series. Pure and deterministic: the same options give the same bars.
 *
 * Model: a one-factor market. Each day a market return m ~ N(μ_m, σ_m) is drawn; asset i's log
 * return is β_i m + ε_i with ε_i ~ N(0, σ_i) (β in [0.5, 1.5], σ_i in [1%, 4%] a day, drawn once per
 * asset). Open = the previous close; high / low add an intraday excursion; the close is rounded to
 * the tick (never below one tick). Volume is a lognormal notional over the close.
 *
 * Layout (the daily counterpart of the tick layout): `market-data-daily/<VENUE>/<PAYLOAD>/bars.parquet`
 * with `ts_event` (TIMESTAMP(NANOS), the bar's close = the next UTC midnight), `open`, `high`,
 * `low`, `close`, `volume` (DOUBLE), one row per day, sorted by `ts_event`. Instrument definitions go
 * to `instruments/<start>.json` as for tick data.
 */
import { Dec, fmt } from '../domain/decimal.ts';
import { roundToTick } from '../domain/instrument.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec } from '../domain/types.ts';
import { Prng } from './prng.ts';
import { addDays, dayStartNs, NS_PER_DAY, tickPathParts } from './tick-layout.ts';

export const DAILY_ROOT = 'market-data-daily';
export const DAILY_BARS_FILE = 'bars.parquet';
export const DAILY_VENUE = 'SIM';

/** Key of an instrument's daily bars file. */
export function dailyBarsKey(instrumentKey: string): string {
  const { venue, payload } = tickPathParts(instrumentKey);
  return `${DAILY_ROOT}/${venue}/${payload}/${DAILY_BARS_FILE}`;
}

/** One instrument's bars, column-wise; `ts` is the close time of each bar. */
export interface DailyBars {
  instrument_key: string;
  ts: BigInt64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export interface DailyMarketOptions {
  seed: number;
  assets: number;
  days: number;
  /** First UTC day, YYYY-MM-DD. */
  start: string;
  /** Market drift and volatility per day (default 0.0004 and 0.012). */
  marketDrift?: number | undefined;
  marketVol?: number | undefined;
}

export interface DailyMarket {
  specs: InstrumentSpec[];
  bars: DailyBars[];
  /** Close times, one per day (the same for every instrument). */
  closes: Nanos[];
  days: string[];
}

/** `SIM:SPOT_PAIR:A000-USDT` … : the generated instruments. */
export function dailyInstrumentKey(i: number): string {
  return `${DAILY_VENUE}:SPOT_PAIR:A${String(i).padStart(3, '0')}-USDT`;
}

function specFor(key: string, price: number): InstrumentSpec {
  // Steps and ticks scaled to the price, as venues list them: ~5 significant digits of price.
  const tickExp = Math.max(-8, Math.floor(Math.log10(price)) - 4);
  const stepExp = Math.min(0, Math.max(-8, -Math.floor(Math.log10(price)) - 2));
  const tick = fmt(new Dec(10).pow(tickExp));
  const step = fmt(new Dec(10).pow(stepExp));
  return {
    instrument_key: key,
    tick_size: tick,
    step_size: step,
    min_qty: step,
    max_qty: '100000000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  };
}

function roundPrice(x: number, tick: string): number {
  const r = roundToTick(x.toPrecision(15), tick, 'nearest');
  return Math.max(Number(r.toString()), Number(tick));
}

/** Generate the market. */
export function generateDailyMarket(opts: DailyMarketOptions): DailyMarket {
  if (!Number.isInteger(opts.assets) || opts.assets < 1 || opts.assets > 1000) {
    throw new RangeError(`assets must be an integer in 1..1000, got ${opts.assets}`);
  }
  if (!Number.isInteger(opts.days) || opts.days < 2) {
    throw new RangeError(`days must be an integer ≥ 2, got ${opts.days}`);
  }
  const rng = new Prng(`daily:${opts.seed}`);
  const params = Array.from({ length: opts.assets }, (_, i) => {
    const r = rng.fork(`asset:${i}`);
    const price = 10 ** (r.uniform() * 4); // 1 … 10,000
    return {
      key: dailyInstrumentKey(i),
      beta: 0.5 + r.uniform(),
      vol: 0.01 + r.uniform() * 0.03,
      price,
    };
  });
  const specs = params.map((p) => specFor(p.key, p.price));
  const days = Array.from({ length: opts.days }, (_, d) => addDays(opts.start, d));
  const closes = days.map((d) => dayStartNs(d) + NS_PER_DAY);
  const bars: DailyBars[] = params.map((p) => ({
    instrument_key: p.key,
    ts: BigInt64Array.from(closes),
    open: new Float64Array(opts.days),
    high: new Float64Array(opts.days),
    low: new Float64Array(opts.days),
    close: new Float64Array(opts.days),
    volume: new Float64Array(opts.days),
  }));
  const drift = opts.marketDrift ?? 0.0004;
  const mvol = opts.marketVol ?? 0.012;
  const mkt = rng.fork('market');
  const idio = params.map((_, i) => rng.fork(`idio:${i}`));
  const last = params.map((p, i) => roundPrice(p.price, (specs[i] as InstrumentSpec).tick_size));
  for (let d = 0; d < opts.days; d++) {
    const m = drift + mvol * mkt.normal();
    params.forEach((p, i) => {
      const r = idio[i] as Prng;
      const b = bars[i] as DailyBars;
      const tick = (specs[i] as InstrumentSpec).tick_size;
      const open = last[i] as number;
      const ret = p.beta * m + p.vol * r.normal() - 0.5 * p.vol * p.vol;
      const close = roundPrice(open * Math.exp(ret), tick);
      const excursion = Math.abs(r.normal()) * p.vol * 0.5;
      b.open[d] = open;
      b.close[d] = close;
      b.high[d] = roundPrice(Math.max(open, close) * (1 + excursion), tick);
      b.low[d] = roundPrice(Math.min(open, close) * (1 - excursion), tick);
      b.volume[d] = Math.round(Math.exp(15 + r.normal()) / close);
      last[i] = close;
    });
  }
  return { specs, bars, closes, days };
}

export interface SampleWeightsOptions {
  seed: number;
  /** Rebalance every this many days (default 1: daily). */
  every?: number | undefined;
  /** How many instruments get a weight each time (default: all). */
  holdings?: number | undefined;
  strategyId?: string | undefined;
}

/**
 * A sample weights series over the market (as weights-file documents, version 1): on every
 * `every`-th day, momentum-tilted random weights on `holdings` instruments summing to 1, dated at
 * the day's close (so they trade at that close).
 */
export function sampleWeightsSeries(
  market: DailyMarket,
  opts: SampleWeightsOptions,
): Array<{
  day: string;
  document: Record<string, unknown>;
}> {
  const rng = new Prng(`weights:${opts.seed}`);
  const every = Math.max(1, opts.every ?? 1);
  const n = market.specs.length;
  const k = Math.min(n, Math.max(1, opts.holdings ?? n));
  const out: Array<{ day: string; document: Record<string, unknown> }> = [];
  for (let d = 0; d < market.days.length - 1; d += every) {
    const scores = market.bars.map((b, i) => {
      const back = Math.max(0, d - 20);
      const mom = Math.log((b.close[d] as number) / (b.close[back] as number));
      return { i, s: mom + 0.05 * rng.normal() };
    });
    scores.sort((a, b) => b.s - a.s);
    const chosen = scores.slice(0, k);
    const raw = chosen.map(() => 0.5 + rng.uniform());
    const total = raw.reduce((a, b) => a + b, 0);
    // Four decimals, rounded down so the sum stays ≤ 1.
    const weights: Record<string, string> = {};
    chosen.forEach((c, j) => {
      const w = Math.floor(((raw[j] as number) / total) * 10_000) / 10_000;
      weights[(market.specs[c.i] as InstrumentSpec).instrument_key] = w.toFixed(4);
    });
    const day = market.days[d] as string;
    out.push({
      day,
      document: {
        schema_version: 1,
        strategy_id: opts.strategyId ?? 'sample-rebalance',
        as_of: `${addDays(day, 1)}T00:00:00Z`,
        quote_currency: 'USDT',
        weights,
      },
    });
  }
  return out;
}

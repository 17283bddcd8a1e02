/**
 * Named settings of the synthetic market (`npm run data:generate -- --profile NAME`).
 *
 * - `default`: the small market of the tests and the default backtests (50,000 BTC spot trades a
 *   day, 2.5 quotes a trade, Poisson-like arrivals, whole days in memory).
 * - `binance-btcusdt`: exchange-sized days like Binance's BTCUSDT (spot and USDⓈ-M perpetual) and
 *   ETHUSDT: 1.5 M BTC spot trades and 22.5 M book-ticker updates a day (ETH 0.6×, the perpetual
 *   1.3×), bursty self-exciting arrivals, a one-tick spread most of the time, L2 (with `--l2`) as
 *   100 ms snapshots; streamed to the files one row group at a time.
 */
import { BINANCE_ARRIVALS, type HawkesArrivals } from './bursty.ts';
import {
  DEFAULT_INSTRUMENTS,
  DEFAULT_QUOTES_PER_TRADE,
  DEFAULT_TRADES_PER_DAY,
  type SyntheticInstrument,
} from './synthetic.ts';

export interface SyntheticProfile {
  name: string;
  description: string;
  /** Trades per day of an instrument with activity 1. */
  tradesPerDay: number;
  quotesPerTrade: number;
  instruments: readonly SyntheticInstrument[];
  /** Self-exciting arrivals and streamed writing; absent = the default whole-day model. */
  arrivals?: HawkesArrivals | undefined;
}

const BINANCE_ACTIVITY: Readonly<Record<string, number>> = {
  'BINANCE-SPOT:SPOT_PAIR:BTC-USDT': 1,
  'BINANCE-SPOT:SPOT_PAIR:ETH-USDT': 0.6,
  'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN': 1.3,
};

export const SYNTHETIC_PROFILES: Readonly<Record<string, SyntheticProfile>> = {
  default: {
    name: 'default',
    description: 'small days for tests and quick backtests, whole days in memory',
    tradesPerDay: DEFAULT_TRADES_PER_DAY,
    quotesPerTrade: DEFAULT_QUOTES_PER_TRADE,
    instruments: DEFAULT_INSTRUMENTS,
  },
  'binance-btcusdt': {
    name: 'binance-btcusdt',
    description:
      'exchange-sized days, 1.5 M trades + 22.5 M book-ticker quotes for BTC spot, bursty arrivals, streamed',
    tradesPerDay: 1_500_000,
    quotesPerTrade: 15,
    instruments: DEFAULT_INSTRUMENTS.map((i) => ({
      ...i,
      activity: BINANCE_ACTIVITY[i.spec.instrument_key] ?? i.activity,
    })),
    arrivals: BINANCE_ARRIVALS,
  },
};

export function syntheticProfile(name: string): SyntheticProfile {
  const p = SYNTHETIC_PROFILES[name];
  if (!p) {
    throw new RangeError(
      `unknown profile ${JSON.stringify(name)}; available: ${Object.keys(SYNTHETIC_PROFILES).join(', ')}`,
    );
  }
  return p;
}

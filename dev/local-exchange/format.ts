/**
 * Binance wire formats: decimals with 8 places ("0.00100000"), millisecond times, symbol ids
 * (`BTCUSDT`) from our instrument keys.
 */
import { Dec, toDec } from '../../shared/domain/decimal.ts';
import { parseInstrumentId } from '../../shared/domain/instrument-id.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';

/** Decimals on the wire: fixed 8 places, as Binance spot prints prices, quantities and balances. */
export function d8(value: Dec | string | number): string {
  return toDec(value).toFixed(8);
}

/** Round up to 8 places (fees and reservations: never in the account's favour). */
export function up8(value: Dec): Dec {
  return value.toDecimalPlaces(8, Dec.ROUND_UP);
}

export function nsToMs(ns: Nanos): number {
  return Number(ns / 1_000_000n);
}

export interface SymbolInfo {
  /** Binance symbol id, e.g. `BTCUSDT`. */
  symbol: string;
  base: string;
  quote: string;
  spec: InstrumentSpec;
}

/** The Binance symbol of a spot instrument key (`BINANCE-SPOT:SPOT_PAIR:BTC-USDT` → `BTCUSDT`). */
export function symbolInfoOf(spec: InstrumentSpec): SymbolInfo {
  const parsed = parseInstrumentId(spec.instrument_key);
  if (!parsed.success) {
    throw new RangeError(
      `local exchange: bad instrument key ${spec.instrument_key}: ${parsed.error.message}`,
    );
  }
  const id = parsed.data;
  if (id.instrument_type !== 'SPOT_PAIR') {
    throw new RangeError(
      `local exchange: only spot pairs are listed (Binance spot API), got ${spec.instrument_key}`,
    );
  }
  return { symbol: `${id.base}${id.quote}`, base: id.base, quote: id.quote, spec };
}

/** The two default instruments (the values of config/instruments.json for BINANCE-SPOT). */
export const DEFAULT_INSTRUMENTS: readonly InstrumentSpec[] = [
  {
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    tick_size: '0.01',
    step_size: '0.00001',
    min_qty: '0.00001',
    max_qty: '9000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  },
  {
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
    tick_size: '0.01',
    step_size: '0.0001',
    min_qty: '0.0001',
    max_qty: '9000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  },
];

export const DEFAULT_BALANCES: Readonly<Record<string, string>> = {
  USDT: '100000',
  BTC: '1',
  ETH: '10',
};

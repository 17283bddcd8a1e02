/** Shared fixtures of the backtest unit tests (not a test file). */

import type { ResolvedSignal } from '../../../shared/backtest/signals.ts';
import {
  type QuoteColumns,
  SIDE_BUY,
  SIDE_SELL,
  type TradeColumns,
} from '../../../shared/data/tick-columns.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';

export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
export const T0 = '2025-07-01T00:05:00Z';
export const T0_NS = isoToNanos(T0);
export const SEC = 1_000_000_000n;

/** Round numbers: tick 0.5, step 0.1, fees 10 / 20 bps. */
export const SPEC: InstrumentSpec = {
  instrument_key: BTC,
  tick_size: '0.5',
  step_size: '0.1',
  min_qty: '0.1',
  max_qty: '1000',
  min_notional: '1',
  maker_fee: '0.001',
  taker_fee: '0.002',
};
export const ETH_SPEC: InstrumentSpec = { ...SPEC, instrument_key: ETH };

export function signal(
  line: number,
  ts: string,
  target: string,
  over: Partial<ResolvedSignal> = {},
): ResolvedSignal {
  const key = over.instrument_key ?? BTC;
  return {
    line,
    ts,
    ts_ns: isoToNanos(ts),
    instrument_key: key,
    target_position: target,
    strategy_id: 's1',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    spec: key === ETH ? ETH_SPEC : SPEC,
    instruments_file: 'instruments/2025-07-01.json',
    ...over,
  };
}

/** Quotes at `start + t_i` seconds, every row the same (bid, ask, size each side). */
export function flatQuotes(
  startNs: bigint,
  seconds: readonly number[],
  bid: number,
  ask: number,
  size: number,
): QuoteColumns {
  const n = seconds.length;
  const q: QuoteColumns = {
    ts: new BigInt64Array(n),
    bid_px: new Float64Array(n).fill(bid),
    bid_sz: new Float64Array(n).fill(size),
    ask_px: new Float64Array(n).fill(ask),
    ask_sz: new Float64Array(n).fill(size),
  };
  seconds.forEach((s, i) => {
    q.ts[i] = startNs + BigInt(Math.round(s * 1e9));
  });
  return q;
}

/** Trades at `start + t_i` seconds: [seconds, price, size, 'BUY' | 'SELL']. */
export function trades(
  startNs: bigint,
  rows: ReadonlyArray<[number, number, number, 'BUY' | 'SELL']>,
): TradeColumns {
  const n = rows.length;
  const t: TradeColumns = {
    ts: new BigInt64Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
    side: new Int8Array(n),
  };
  rows.forEach(([s, p, z, side], i) => {
    t.ts[i] = startNs + BigInt(Math.round(s * 1e9));
    t.price[i] = p;
    t.size[i] = z;
    t.side[i] = side === 'BUY' ? SIDE_BUY : SIDE_SELL;
  });
  return t;
}

import type { ChildExecution, ExecutionSet, ParentExecution } from '../../../shared/recording/executions.ts';

export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const T0 = 1_751_328_000_000_000_000n; // 2025-07-01T00:00:00Z
export const SEC = 1_000_000_000n;

export function child(i: number, over: Partial<ChildExecution> = {}): ChildExecution {
  return {
    order_id: `P1-c${i}`,
    side: 'BUY',
    order_type: 'MARKET',
    time_in_force: 'GTC',
    quantity: '0.5',
    price: null,
    status: 'FILLED',
    ts_submitted: T0 + BigInt(i) * 10n * SEC,
    ts_last: T0 + BigInt(i) * 10n * SEC + 5_000_000n,
    mid_at_arrival: '60000',
    reason: null,
    fills: [
      {
        fill_id: `F${i}`,
        quantity: '0.5',
        price: '60010',
        fee: '30.005',
        fee_currency: 'USDT',
        liquidity: 'TAKER',
        ts_event: T0 + BigInt(i) * 10n * SEC + 5_000_000n,
      },
    ],
    ...over,
  };
}

export function parent(children: ChildExecution[], over: Partial<ParentExecution> = {}): ParentExecution {
  return {
    parent_order_id: 'P1',
    operation_id: 'OP-1',
    strategy_id: 's1',
    instrument_key: BTC,
    venue: 'BINANCE-SPOT',
    side: 'BUY',
    order_type: 'MARKET',
    quantity: '1',
    price: null,
    exec_algorithm: 'TWAP',
    ts_routed: T0,
    arrival_mid: '60000',
    children,
    ...over,
  };
}

export function executionSet(parents: ParentExecution[]): ExecutionSet {
  return {
    parents,
    marks: [
      { instrument_key: BTC, ts: T0, mid: 60000 },
      { instrument_key: BTC, ts: T0 + 60n * SEC, mid: 60100 },
    ],
    starting_cash: '100000',
    instruments: [],
    seed: 7,
  };
}

/** A deep copy (bigints kept). */
export function clone<T>(x: T): T {
  return structuredClone(x);
}

/** Shared builders for the risk tests: one spot and one perpetual instrument, a neutral context. */
import type { InstrumentSpec, OrderInstruction } from '../../../shared/domain/types.ts';
import { NO_LIMITS, type RiskLimits } from '../../../shared/risk/limits.ts';
import type { RiskContext } from '../../../shared/risk/types.ts';

export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const BTC_PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';
export const NOW = 1_750_000_000_000_000_000n;
export const MS = 1_000_000n;

export const BTC_SPEC: InstrumentSpec = {
  instrument_key: BTC,
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '100',
  min_notional: '10',
  maker_fee: '0.001',
  taker_fee: '0.001',
};

export const PERP_SPEC: InstrumentSpec = {
  instrument_key: BTC_PERP,
  tick_size: '0.1',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '1000',
  min_notional: '5',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
};

export function order(over: Partial<OrderInstruction> = {}): OrderInstruction {
  return {
    operation_id: 'OP-1',
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.5',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'momo',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    ...over,
  };
}

export function limitOrder(side: 'BUY' | 'SELL', price: string, quantity = '0.5'): OrderInstruction {
  return order({ side, price, quantity, order_type: 'LIMIT' });
}

export function ctx(over: Partial<RiskContext> = {}): RiskContext {
  return {
    trading_state: 'ACTIVE',
    strategy_trading_state: 'ACTIVE',
    instrument: BTC_SPEC,
    reference_price: '50000',
    position: { instrument: '0', strategy: '0' },
    working: { instrument: { buy: '0', sell: '0' }, strategy: { buy: '0', sell: '0' } },
    exposure: { total: '0', instrument: '0' },
    free_balance: '1000000',
    reserved_balance: '0',
    recent_orders: { global: [], strategy: [] },
    ...over,
  };
}

export function limits(over: Partial<RiskLimits> = {}): RiskLimits {
  return { ...NO_LIMITS, ...over };
}

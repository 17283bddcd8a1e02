/** Hand-made states for the reconciliation tests: our orders, venue orders and trades. */
import { orderIdFor } from '../../../shared/app/order-id.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import type { VenueOrderState, VenueTrade } from '../../../shared/ports/venue.ts';
import type { OurState, VenueSnapshot } from '../../../shared/recon/types.ts';

export const VENUE = 'BINANCE-SPOT';
export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const T0: Nanos = isoToNanos('2025-07-01T12:00:00Z');
export const SEC = 1_000_000_000n;
/** "now" of the diffs: a minute after T0 (orders changed at T0 are out of the grace period). */
export const NOW: Nanos = T0 + 60n * SEC;

/** An order of ours at VENUE (working, ACCEPTED by default; client id = order id, as the edge sends it). */
export function order(op: string, over: Partial<OrderRecord> = {}): OrderRecord {
  const id = orderIdFor(op);
  return {
    order_id: id,
    operation_id: op,
    parent_order_id: null,
    instrument_key: BTC,
    side: 'BUY',
    order_type: 'LIMIT',
    time_in_force: 'GTC',
    quantity: '0.5',
    price: '60000',
    strategy_id: 'strat-1',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    status: 'ACCEPTED',
    venue: VENUE,
    account_id: VENUE,
    client_order_id: id,
    venue_order_id: `V-${op}`,
    filled_quantity: '0',
    avg_fill_price: null,
    fees: '0',
    rejection_reason: null,
    risk_approved: true,
    version: 3,
    ts_created: T0,
    ts_updated: T0,
    ...over,
  };
}

/** The venue's view of our order. */
export function venueOrder(o: OrderRecord, over: Partial<VenueOrderState> = {}): VenueOrderState {
  return {
    client_order_id: o.client_order_id ?? o.order_id,
    venue_order_id: o.venue_order_id ?? `V-${o.operation_id}`,
    instrument_key: o.instrument_key,
    side: o.side,
    status: 'NEW',
    quantity: o.quantity,
    filled_quantity: o.filled_quantity,
    avg_price: null,
    ts_event: T0,
    ...over,
  };
}

export function trade(
  o: OrderRecord,
  id: string,
  quantity: string,
  price: string,
  over: Partial<VenueTrade> = {},
): VenueTrade {
  return {
    trade_id: id,
    venue_order_id: o.venue_order_id ?? `V-${o.operation_id}`,
    client_order_id: o.client_order_id ?? o.order_id,
    instrument_key: o.instrument_key,
    side: o.side,
    quantity,
    price,
    fee: '0.1',
    fee_currency: 'USDT',
    liquidity: 'MAKER',
    ts_event: T0 + 10n * SEC,
    ...over,
  };
}

export function ours(over: Partial<OurState> = {}): OurState {
  return { orders: [], fills: [], positions: null, balances: null, ...over };
}

export function snapshot(over: Partial<VenueSnapshot> = {}): VenueSnapshot {
  return { openOrders: [], lookups: [], trades: [], balances: null, positions: null, ...over };
}

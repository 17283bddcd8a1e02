import { handle, type OrderCommand } from '../../../shared/domain/order-machine.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { Fill, InstrumentSpec, OrderInstruction, OrderRecord } from '../../../shared/domain/types.ts';
import type { BusMessage, EventBus } from '../../../shared/ports/event-bus.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import { createRoutedOrder as routeOrder } from '../../support/routed-order.ts';

export const T0: Nanos = isoToNanos('2025-07-01T12:00:00Z');
export const MS = 1_000_000n;
export const SECOND = 1_000_000_000n;

export const BTC_SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
};
/** The same instrument as listed on the simulated venue SIM. */
export const SIM_BTC_SPEC: InstrumentSpec = { ...BTC_SPEC, instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' };

export function instruction(operationId: string, over: Partial<OrderInstruction> = {}): OrderInstruction {
  return {
    operation_id: operationId,
    instrument_key: BTC_SPEC.instrument_key,
    side: 'BUY',
    quantity: '0.01',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'strat-1',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    ...over,
  };
}

/** An order as the pipeline leaves it after routing: PENDING, risk-approved, venue chosen (version 1). */
export function createRoutedOrder(
  orders: OrderStore,
  operationId: string,
  over: Partial<OrderInstruction> = {},
  opts: { venue?: string; account_id?: string | null; ts?: Nanos } = {},
): Promise<OrderRecord> {
  return routeOrder(orders, instruction(operationId, over), {
    venue: opts.venue ?? 'SIM',
    account_id: opts.account_id === undefined ? 'SIM' : opts.account_id,
    ts: opts.ts ?? T0,
  });
}

/** Apply one command to a stored order (as another component would). */
export async function transition(
  orders: OrderStore,
  operationId: string,
  command: OrderCommand,
): Promise<OrderRecord> {
  const current = await orders.get(operationId);
  if (current === null) throw new Error(`no order ${operationId}`);
  const r = handle(command, current);
  if (!r.success) throw new Error(`${command.type}: ${r.error.reason}`);
  const t = await orders.transition(operationId, current.version, r.data.order, r.data.events);
  if (!t.ok) throw new Error(`transition failed: ${t.reason}`);
  return t.order;
}

export function fillOf(order: OrderRecord, n: number, quantity: string, price: string, ts: Nanos): Fill {
  return {
    fill_id: `${order.order_id}-F${n}`,
    order_id: order.order_id,
    operation_id: order.operation_id,
    instrument_key: order.instrument_key,
    venue: order.venue ?? 'SIM',
    side: order.side,
    quantity,
    price,
    fee: '0.01',
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: ts,
  };
}

export interface Published {
  topic: string;
  data: unknown;
  attributes: Record<string, string>;
}

/** A bus that keeps every published message (JSON round-tripped, as consumers see it). */
export class RecordingBus implements Pick<EventBus, 'publish'> {
  readonly published: Published[] = [];
  failNext = 0;
  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('bus unavailable');
    }
    this.published.push({ topic, data: JSON.parse(JSON.stringify(data)), attributes: { ...attributes } });
    return String(this.published.length);
  }
  on(topic: string): Published[] {
    return this.published.filter((p) => p.topic === topic);
  }
}

let messageSeq = 0;
/** A bus message carrying `data` as JSON, as a subscription hands it to a handler. */
export function busMessage(data: unknown, attributes: Record<string, string> = {}): BusMessage {
  messageSeq++;
  return {
    id: `m${messageSeq}`,
    data: new TextEncoder().encode(JSON.stringify(data)),
    attributes,
    deliveryAttempt: 1,
    publishTimeMs: 0,
  };
}

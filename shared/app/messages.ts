/**
 * Messages the order pipeline publishes (zod schemas, so consumers validate them and other teams
 * get them as JSON Schema via `z.toJSONSchema`):
 *
 * - `orders.routed` — to the venue edge. Two actions, told apart by the `action` attribute (and
 *   field): `submit` (a routed order to place) and `cancel` (cancel a working order at the venue).
 *   Attributes: `action`, `venue`, `instrument_key` (the order's), `operation_id`, `strategy_id`;
 *   the edge of a venue subscribes with the filter `{venue: <id>}`.
 * - `exec.orders` — an order update after every change the pipeline records (routed, denied,
 *   rejected, cancel requested, canceled). Attributes: `operation_id`, `strategy_id`,
 *   `instrument_key`, `status`, and `venue` when known.
 *
 * Decimals are canonical decimal strings, nanosecond times strings of digits.
 */
import { z } from 'zod';
import { formatInstrumentId, parseInstrumentIdOrThrow } from '../domain/instrument-id.ts';
import type { Nanos } from '../domain/time.ts';
import {
  EXEC_ALGORITHMS,
  ORDER_STATUSES,
  ORDER_TYPES,
  type OrderRecord,
  SIDES,
  TIME_IN_FORCE,
} from '../domain/types.ts';

export const ROUTED_TOPIC = 'orders.routed';
export const ORDER_UPDATES_TOPIC = 'exec.orders';

/** Values of the `action` attribute on `orders.routed`. */
export const ROUTED_ACTIONS = ['submit', 'cancel'] as const;
export type RoutedAction = (typeof ROUTED_ACTIONS)[number];

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nsString = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

export const RoutedSubmitMessageSchema = z.strictObject({
  action: z.literal('submit'),
  operation_id: z.string().min(1),
  order_id: z.string().min(1),
  parent_order_id: z.string().nullable(),
  /** The order's canonical instrument id (as the strategy named it). */
  instrument_key: z.string().min(1),
  venue: z.string().min(1),
  /** The same instrument as listed on the chosen venue (VENUE part replaced). */
  venue_instrument_key: z.string().min(1),
  account_id: z.string().nullable(),
  side: z.enum(SIDES),
  order_type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE),
  quantity: decimal,
  price: decimal.nullable(),
  strategy_id: z.string(),
  exec_algorithm: z.enum(EXEC_ALGORITHMS),
  exec_algorithm_params: z.record(z.string(), z.unknown()),
  /** Price the risk engine valued the order at (mid, the order's reference price or its limit). */
  reference_price: decimal.nullable(),
  /** Order version at routing: the edge's SubmitOrder transition expects it. */
  version: z.number().int().min(1),
  ts_created: nsString,
  ts_routed: nsString,
});
export type RoutedSubmitMessage = z.output<typeof RoutedSubmitMessageSchema>;

export const VenueCancelMessageSchema = z.strictObject({
  action: z.literal('cancel'),
  operation_id: z.string().min(1),
  order_id: z.string().min(1),
  instrument_key: z.string().min(1),
  venue: z.string().min(1),
  venue_instrument_key: z.string().min(1),
  account_id: z.string().nullable(),
  client_order_id: z.string().nullable(),
  venue_order_id: z.string().nullable(),
  reason: z.string(),
  ts_requested: nsString,
});
export type VenueCancelMessage = z.output<typeof VenueCancelMessageSchema>;

/** Any message on `orders.routed`. */
export const RoutedMessageSchema = z.discriminatedUnion('action', [
  RoutedSubmitMessageSchema,
  VenueCancelMessageSchema,
]);
export type RoutedMessage = z.output<typeof RoutedMessageSchema>;

export const OrderUpdateMessageSchema = z.strictObject({
  type: z.literal('order_update'),
  operation_id: z.string().min(1),
  order_id: z.string().min(1),
  status: z.enum(ORDER_STATUSES),
  venue: z.string().nullable(),
  rejection_reason: z.string().nullable(),
  strategy_id: z.string(),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  quantity: decimal,
  filled_quantity: decimal,
  /** The event types recorded by this change, in order (e.g. OrderReceived, OrderRiskApproved, OrderRouted). */
  events: z.array(z.string()).min(1),
  version: z.number().int().min(1),
  ts_event: nsString,
});
export type OrderUpdateMessage = z.output<typeof OrderUpdateMessageSchema>;

/** The instrument `key` as listed on `venue` (its VENUE part replaced), in canonical spelling. */
export function venueInstrumentKey(key: string, venue: string): string {
  const p = parseInstrumentIdOrThrow(key);
  return formatInstrumentId({ ...p, venue });
}

export function routedSubmitMessage(
  order: OrderRecord,
  referencePrice: string | null,
  tsRouted: Nanos,
): RoutedSubmitMessage {
  if (order.venue === null) throw new RangeError(`order ${order.operation_id} has no venue`);
  return {
    action: 'submit',
    operation_id: order.operation_id,
    order_id: order.order_id,
    parent_order_id: order.parent_order_id,
    instrument_key: order.instrument_key,
    venue: order.venue,
    venue_instrument_key: venueInstrumentKey(order.instrument_key, order.venue),
    account_id: order.account_id,
    side: order.side,
    order_type: order.order_type,
    time_in_force: order.time_in_force,
    quantity: order.quantity,
    price: order.price,
    strategy_id: order.strategy_id,
    exec_algorithm: order.exec_algorithm,
    exec_algorithm_params: order.exec_algorithm_params,
    reference_price: referencePrice,
    version: order.version,
    ts_created: order.ts_created.toString(),
    ts_routed: tsRouted.toString(),
  };
}

export function venueCancelMessage(order: OrderRecord, reason: string, ts: Nanos): VenueCancelMessage {
  if (order.venue === null) throw new RangeError(`order ${order.operation_id} has no venue`);
  return {
    action: 'cancel',
    operation_id: order.operation_id,
    order_id: order.order_id,
    instrument_key: order.instrument_key,
    venue: order.venue,
    venue_instrument_key: venueInstrumentKey(order.instrument_key, order.venue),
    account_id: order.account_id,
    client_order_id: order.client_order_id,
    venue_order_id: order.venue_order_id,
    reason,
    ts_requested: ts.toString(),
  };
}

/** Attributes of an `orders.routed` message. */
export function routedAttributes(order: OrderRecord, action: RoutedAction): Record<string, string> {
  return {
    action,
    venue: order.venue ?? '',
    instrument_key: order.instrument_key,
    operation_id: order.operation_id,
    strategy_id: order.strategy_id,
  };
}

export function orderUpdateMessage(
  order: OrderRecord,
  eventTypes: readonly string[],
  ts: Nanos,
): OrderUpdateMessage {
  return {
    type: 'order_update',
    operation_id: order.operation_id,
    order_id: order.order_id,
    status: order.status,
    venue: order.venue,
    rejection_reason: order.rejection_reason,
    strategy_id: order.strategy_id,
    instrument_key: order.instrument_key,
    side: order.side,
    quantity: order.quantity,
    filled_quantity: order.filled_quantity,
    events: [...eventTypes],
    version: order.version,
    ts_event: ts.toString(),
  };
}

/** Attributes of an `exec.orders` message (attribute values must not be empty: absent ones are left out). */
export function orderUpdateAttributes(order: OrderRecord): Record<string, string> {
  const a: Record<string, string> = { operation_id: order.operation_id, status: order.status };
  if (order.strategy_id !== '') a.strategy_id = order.strategy_id;
  if (order.instrument_key !== '') a.instrument_key = order.instrument_key;
  if (order.venue !== null) a.venue = order.venue;
  return a;
}

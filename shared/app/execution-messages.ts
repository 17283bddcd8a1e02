/**
 * Messages the venue edge publishes (zod schemas, so consumers validate them and other teams get
 * them as JSON Schema via `z.toJSONSchema`). The simulated venue publishes them today; the ccxt
 * edge (LIVE / SHADOW) publishes the same shapes.
 *
 * - `exec.orders` — two message types, told apart by `type`:
 *   - `order_update` (`OrderUpdateMessageSchema` in ./messages.ts): after every change the venue
 *     edge records (submitted, accepted, filled, canceled, rejected, expired);
 *   - `reconciliation` ({@link ExecReconciliationMessageSchema}): a venue report our books could
 *     not take (a fill after the order was canceled, an ack for an order never submitted, ...).
 *     Nothing was written to the order; the report is kept here (and in the log) so that
 *     reconciliation can settle it. Attribute `reconciliation: "true"`.
 *   Attributes: `operation_id`, `venue`, `instrument_key`, and `status` / `strategy_id` when known.
 * - `exec.fills` — one {@link ExecFillMessageSchema} per stored fill. Attributes: `venue`,
 *   `instrument_key`, `operation_id`, `fill_id`, `strategy_id`. Published at least once: a
 *   consumer de-duplicates by `(operation_id, fill.fill_id)`.
 * - `market.raw` — {@link MarketRawQuoteSchema}: the venue's top of book (plus a few levels) at a
 *   throttled rate. Attributes: `venue`, `instrument_key` (the venue's canonical id), `type`.
 *
 * Decimals are canonical decimal strings, nanosecond times strings of digits.
 */
import { z } from 'zod';
import type { Nanos } from '../domain/time.ts';
import {
  type Fill,
  LIQUIDITY,
  ORDER_STATUSES,
  type OrderRecord,
  type Position,
  SIDES,
} from '../domain/types.ts';

export const FILLS_TOPIC = 'exec.fills';
export const MARKET_RAW_TOPIC = 'market.raw';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nsString = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

/** A fill as it travels on the bus (the domain `Fill` with `ts_event` as a digit string). */
export const FillPayloadSchema = z.strictObject({
  fill_id: z.string().min(1),
  order_id: z.string().min(1),
  operation_id: z.string().min(1),
  instrument_key: z.string().min(1),
  venue: z.string().min(1),
  side: z.enum(SIDES),
  quantity: decimal,
  price: decimal,
  fee: decimal,
  fee_currency: z.string(),
  liquidity: z.enum(LIQUIDITY),
  ts_event: nsString,
});
export type FillPayload = z.output<typeof FillPayloadSchema>;

export const PositionPayloadSchema = z.strictObject({
  account_id: z.string(),
  instrument_key: z.string().min(1),
  quantity: decimal,
  avg_entry_price: decimal.nullable(),
  realized_pnl: decimal,
  fees: decimal,
  version: z.number().int().min(0),
});
export type PositionPayload = z.output<typeof PositionPayloadSchema>;

export const ExecFillMessageSchema = z.strictObject({
  type: z.literal('fill'),
  operation_id: z.string().min(1),
  order_id: z.string().min(1),
  strategy_id: z.string(),
  venue: z.string().min(1),
  instrument_key: z.string().min(1),
  account_id: z.string().nullable(),
  fill: FillPayloadSchema,
  /** The order after this fill. */
  order_status: z.enum(ORDER_STATUSES),
  filled_quantity: decimal,
  leaves_quantity: decimal,
  avg_fill_price: decimal.nullable(),
  /** The account's position in the instrument after this fill (null when it could not be read). */
  position: PositionPayloadSchema.nullable(),
  ts_init: nsString,
});
export type ExecFillMessage = z.output<typeof ExecFillMessageSchema>;

/** What kind of venue report could not be applied to our books. */
export const RECONCILIATION_KINDS = [
  /** A fill for an order that is terminal, not submitted, for another order, or that would overfill it. */
  'unapplied_fill',
  /** An acknowledgement that contradicts our record (never submitted, another venue order id). */
  'unexpected_ack',
  /** A rejection of an order that has fills, or was never submitted. */
  'unexpected_reject',
  /** A cancel or expiry report for an order that was never submitted. */
  'unexpected_cancel',
  'unexpected_expiry',
  /** A report for an operation_id our order store does not know. */
  'unknown_order',
] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

export const ExecReconciliationMessageSchema = z.strictObject({
  type: z.literal('reconciliation'),
  reconciliation: z.literal(true),
  kind: z.enum(RECONCILIATION_KINDS),
  operation_id: z.string().min(1),
  venue: z.string().nullable(),
  instrument_key: z.string().nullable(),
  /** Our order's status when the report arrived (null: no such order). */
  order_status: z.enum(ORDER_STATUSES).nullable(),
  /** The order-machine command the report would have been (ApplyFill, AcceptOrder, ...). */
  command: z.string().min(1),
  /** Why it was not applied: the order machine's rejection code and reason. */
  code: z.string().min(1),
  reason: z.string(),
  /** The report's details (venue_order_id, reason, ...), as strings. */
  detail: z.record(z.string(), z.string()),
  fill: FillPayloadSchema.nullable(),
  ts_event: nsString,
  ts_init: nsString,
});
export type ExecReconciliationMessage = z.output<typeof ExecReconciliationMessageSchema>;

const LevelSchema = z.strictObject({ price: decimal, size: decimal });

export const MarketRawQuoteSchema = z.strictObject({
  type: z.literal('quote'),
  venue: z.string().min(1),
  /** The venue's canonical instrument id (VENUE part = the venue). */
  instrument_key: z.string().min(1),
  bid: decimal.nullable(),
  bid_size: decimal.nullable(),
  ask: decimal.nullable(),
  ask_size: decimal.nullable(),
  mid: decimal.nullable(),
  /** A few levels per side, best first. */
  bids: z.array(LevelSchema),
  asks: z.array(LevelSchema),
  last_trade: z.strictObject({ price: decimal, size: decimal, ts_event: nsString }).nullable(),
  ts_event: nsString,
});
export type MarketRawQuote = z.output<typeof MarketRawQuoteSchema>;

// ---------------------------------------------------------------------------------------------
// Builders (pure)
// ---------------------------------------------------------------------------------------------

export function fillPayload(fill: Fill): FillPayload {
  return {
    fill_id: fill.fill_id,
    order_id: fill.order_id,
    operation_id: fill.operation_id,
    instrument_key: fill.instrument_key,
    venue: fill.venue,
    side: fill.side,
    quantity: fill.quantity,
    price: fill.price,
    fee: fill.fee,
    fee_currency: fill.fee_currency,
    liquidity: fill.liquidity,
    ts_event: fill.ts_event.toString(),
  };
}

/** The domain `Fill` of a bus payload. */
export function fillFromPayload(p: FillPayload): Fill {
  return { ...p, ts_event: BigInt(p.ts_event) };
}

export function positionPayload(p: Position): PositionPayload {
  return {
    account_id: p.account_id,
    instrument_key: p.instrument_key,
    quantity: p.quantity,
    avg_entry_price: p.avg_entry_price,
    realized_pnl: p.realized_pnl,
    fees: p.fees,
    version: p.version,
  };
}

export function execFillMessage(
  order: OrderRecord,
  fill: Fill,
  leaves: string,
  position: Position | null,
  tsInit: Nanos,
): ExecFillMessage {
  return {
    type: 'fill',
    operation_id: order.operation_id,
    order_id: order.order_id,
    strategy_id: order.strategy_id,
    venue: fill.venue,
    instrument_key: order.instrument_key,
    account_id: order.account_id,
    fill: fillPayload(fill),
    order_status: order.status,
    filled_quantity: order.filled_quantity,
    leaves_quantity: leaves,
    avg_fill_price: order.avg_fill_price,
    position: position === null ? null : positionPayload(position),
    ts_init: tsInit.toString(),
  };
}

/** Attributes of an `exec.fills` message (empty values are left out, as Pub/Sub requires). */
export function execFillAttributes(order: OrderRecord, fill: Fill): Record<string, string> {
  const a: Record<string, string> = {
    operation_id: order.operation_id,
    venue: fill.venue,
    instrument_key: order.instrument_key,
    fill_id: fill.fill_id,
  };
  if (order.strategy_id !== '') a.strategy_id = order.strategy_id;
  return a;
}

/** Attributes of a reconciliation message on `exec.orders`. */
export function reconciliationAttributes(m: ExecReconciliationMessage): Record<string, string> {
  const a: Record<string, string> = { operation_id: m.operation_id, reconciliation: 'true', kind: m.kind };
  if (m.venue !== null && m.venue !== '') a.venue = m.venue;
  if (m.instrument_key !== null && m.instrument_key !== '') a.instrument_key = m.instrument_key;
  if (m.order_status !== null) a.status = m.order_status;
  return a;
}

/** Attributes of a `market.raw` quote. */
export function marketRawAttributes(q: MarketRawQuote): Record<string, string> {
  return { venue: q.venue, instrument_key: q.instrument_key, type: q.type };
}

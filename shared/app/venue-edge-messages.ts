/**
 * Messages the venue edge publishes besides the recorder's order updates and fills (zod schemas,
 * so consumers validate them and other teams get them as JSON Schema):
 *
 * - `risk.state` — {@link TradingStateMessageSchema}: a trading state (global or one strategy's)
 *   the edge saw change, once per (scope, version). Attributes `scope` (`global` | `strategy`),
 *   `state`, and `strategy_id` for a strategy. Consumers de-duplicate by (scope, strategy_id,
 *   version): several edge processes may report the same change.
 * - `exec.orders`, `type: venue_diagnostic` — {@link VenueDiagnosticMessageSchema}: what a venue
 *   session reported about itself (retries, circuit breaker transitions, stream drops and
 *   reconnects, gap fills, recovered submits). Attributes `venue`, `diagnostic` (the kind) and
 *   `diagnostic_message=true`, so order-update consumers can filter them out.
 * - `exec.orders`, `type: child_order` — {@link ChildOrderMessageSchema}: every change of an
 *   algorithm's child order at the venue (sent, acknowledged, filled, canceled, refused by the
 *   trading-state gate). Children are not OMS records; this is their audit trail. Attributes
 *   `operation_id` (the parent's), `venue`, `status`, `child_order=true`.
 *
 * Decimals are canonical decimal strings, nanosecond times strings of digits.
 */
import { z } from 'zod';
import type { Nanos } from '../domain/time.ts';
import { ORDER_STATUSES, ORDER_TYPES, SIDES, TRADING_STATES, type TradingState } from '../domain/types.ts';

export const RISK_STATE_TOPIC = 'risk.state';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nsString = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

export const TradingStateMessageSchema = z.strictObject({
  type: z.literal('trading_state'),
  scope: z.enum(['global', 'strategy']),
  /** The strategy for `scope: strategy`, else null. */
  strategy_id: z.string().min(1).nullable(),
  state: z.enum(TRADING_STATES),
  /** The state this process saw before (null: the first it saw). */
  previous: z.enum(TRADING_STATES).nullable(),
  reason: z.string(),
  updated_by: z.string(),
  /** The stored version of the scope's state. */
  version: z.number().int().min(1),
  ts_updated: nsString,
  /** Which process saw it (e.g. `venue-edge`). */
  observed_by: z.string().min(1),
  ts_observed: nsString,
});
export type TradingStateMessage = z.output<typeof TradingStateMessageSchema>;

export function tradingStateMessage(
  entry: {
    state: TradingState;
    reason: string;
    updated_by: string;
    version: number;
    ts_updated: Nanos;
  },
  scope: { kind: 'global' } | { kind: 'strategy'; strategy_id: string },
  previous: TradingState | null,
  observedBy: string,
  now: Nanos,
): TradingStateMessage {
  return {
    type: 'trading_state',
    scope: scope.kind,
    strategy_id: scope.kind === 'strategy' ? scope.strategy_id : null,
    state: entry.state,
    previous,
    reason: entry.reason,
    updated_by: entry.updated_by,
    version: entry.version,
    ts_updated: entry.ts_updated.toString(),
    observed_by: observedBy,
    ts_observed: now.toString(),
  };
}

export function tradingStateAttributes(m: TradingStateMessage): Record<string, string> {
  const a: Record<string, string> = { scope: m.scope, state: m.state };
  if (m.strategy_id !== null) a.strategy_id = m.strategy_id;
  return a;
}

const detailValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const VenueDiagnosticMessageSchema = z.strictObject({
  type: z.literal('venue_diagnostic'),
  venue: z.string().min(1),
  account_id: z.string(),
  /** retry, call_failed, breaker, stream, reconnect, gap_fill, polling, clock_offset, submit_recovery, ... */
  diagnostic: z.string().min(1),
  /** One line for people. */
  message: z.string(),
  /** The diagnostic's own fields (flat). */
  detail: z.record(z.string(), detailValue),
  ts_event: nsString,
});
export type VenueDiagnosticMessage = z.output<typeof VenueDiagnosticMessageSchema>;

export function venueDiagnosticAttributes(m: VenueDiagnosticMessage): Record<string, string> {
  return { venue: m.venue, diagnostic: m.diagnostic, diagnostic_message: 'true' };
}

export const ChildOrderMessageSchema = z.strictObject({
  type: z.literal('child_order'),
  /** The parent's operation id and order id. */
  operation_id: z.string().min(1),
  parent_order_id: z.string().min(1),
  /** The child's id (= its client order id at the venue). */
  client_order_id: z.string().min(1),
  venue_order_id: z.string().nullable(),
  venue: z.string().min(1),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  order_type: z.enum(ORDER_TYPES),
  quantity: decimal,
  price: decimal.nullable(),
  status: z.enum(ORDER_STATUSES),
  filled_quantity: decimal,
  /** Why it was refused or canceled, when it was. */
  reason: z.string().nullable(),
  ts_event: nsString,
});
export type ChildOrderMessage = z.output<typeof ChildOrderMessageSchema>;

export function childOrderAttributes(m: ChildOrderMessage): Record<string, string> {
  return { operation_id: m.operation_id, venue: m.venue, status: m.status, child_order: 'true' };
}

/**
 * The drift monitor's message on `exec.orders`: `type: "drift_alert"` (attributes `type`,
 * `drift_alert: "true"`, `venue`, `instrument_key`, `operation_id`). One per fill whose drift
 * exceeded the threshold; `persistent` says whether the persistence rule holds after it, and
 * `trading_state_set` whether the monitor switched the platform to REDUCING because of it.
 * Consumers de-duplicate by `(operation_id, fill_id)`.
 */
import { z } from 'zod';
import { SIDES, TRADING_STATES } from '../domain/types.ts';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nsString = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

export const DRIFT_ALERT_TYPE = 'drift_alert';

export const DriftAlertMessageSchema = z.strictObject({
  type: z.literal(DRIFT_ALERT_TYPE),
  operation_id: z.string().min(1),
  order_id: z.string().min(1),
  fill_id: z.string().min(1),
  strategy_id: z.string().nullable(),
  venue: z.string().min(1),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  fill_price: decimal,
  fill_quantity: decimal,
  mid_at_arrival: decimal,
  /** Signed, positive = worse for us. */
  drift_bps: decimal,
  threshold_bps: z.number(),
  /** The persistence rule holds after this fill. */
  persistent: z.boolean(),
  /** Why it is persistent (empty when not). */
  persistence_reason: z.string(),
  /** The trading state the monitor set because of this fill (null: none). */
  trading_state_set: z.enum(TRADING_STATES).nullable(),
  ts_event: nsString,
  ts_init: nsString,
});
export type DriftAlertMessage = z.output<typeof DriftAlertMessageSchema>;

export function driftAlertAttributes(m: DriftAlertMessage): Record<string, string> {
  return {
    type: m.type,
    drift_alert: 'true',
    venue: m.venue,
    instrument_key: m.instrument_key,
    operation_id: m.operation_id,
  };
}

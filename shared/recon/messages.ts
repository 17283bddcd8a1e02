/**
 * The reconciler's message on `exec.orders` (zod, exported as JSON Schema by the schema export).
 *
 * `exec.orders` carries two `type: "reconciliation"` shapes, both with attribute
 * `reconciliation: "true"`:
 * - the ExecutionRecorder's {@link ExecReconciliationMessageSchema}: a venue REPORT our books could
 *   not take (a fill for a canceled order, ...), `kind` ∈ RECONCILIATION_KINDS;
 * - the reconciler's {@link ReconciliationDifferenceMessageSchema} (`source: "reconciler"`, also an
 *   attribute): a DIFFERENCE found by comparing our books with the venue (`kind` ∈ missing_order,
 *   status_mismatch, missing_fill, balance_mismatch, position_mismatch, spec_mismatch), with the
 *   correction recorded for it and its outcome.
 * {@link ExecOrdersReconciliationMessageSchema} parses either.
 */
import { z } from 'zod';
import { ExecReconciliationMessageSchema } from '../app/execution-messages.ts';
import type { Nanos } from '../domain/time.ts';
import { DIFFERENCE_KINDS, type Difference } from './types.ts';

export const RECONCILER_KINDS = [...DIFFERENCE_KINDS, 'spec_mismatch'] as const;
export type ReconcilerKind = (typeof RECONCILER_KINDS)[number];

/** What became of a correction (the ExecutionRecorder's outcome, or `failed` with the error). */
export const CORRECTION_OUTCOMES = [
  'recorded',
  'duplicate',
  'ignored',
  'reconciliation',
  'failed',
  'skipped',
] as const;
export type CorrectionOutcome = (typeof CORRECTION_OUTCOMES)[number];

const nsString = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

export const ReconciliationDifferenceMessageSchema = z.strictObject({
  type: z.literal('reconciliation'),
  reconciliation: z.literal(true),
  source: z.literal('reconciler'),
  kind: z.enum(RECONCILER_KINDS),
  /** `found`: first seen (or changed); `resolved`: no longer found. */
  state: z.enum(['found', 'resolved']),
  venue: z.string().min(1),
  /** The reconciliation run that found it. */
  run_id: z.string().min(1),
  /** Identity of the difference across runs. */
  key: z.string().min(1),
  operation_id: z.string().nullable(),
  instrument_key: z.string().nullable(),
  client_order_id: z.string().nullable(),
  ours: z.string().nullable(),
  theirs: z.string().nullable(),
  message: z.string(),
  detail: z.record(z.string(), z.string().nullable()),
  /** The correction recorded for it (null: reported only). */
  correction: z
    .strictObject({
      kind: z.string().min(1),
      outcome: z.enum(CORRECTION_OUTCOMES),
      detail: z.string(),
    })
    .nullable(),
  ts_event: nsString,
});
export type ReconciliationDifferenceMessage = z.output<typeof ReconciliationDifferenceMessageSchema>;

/** Either `reconciliation` message of `exec.orders`. */
export const ExecOrdersReconciliationMessageSchema = z.union([
  ExecReconciliationMessageSchema,
  ReconciliationDifferenceMessageSchema,
]);

export interface CorrectionNote {
  kind: string;
  outcome: CorrectionOutcome;
  detail: string;
}

export function differenceMessage(
  d: Pick<
    Difference,
    | 'key'
    | 'venue'
    | 'operation_id'
    | 'instrument_key'
    | 'client_order_id'
    | 'ours'
    | 'theirs'
    | 'message'
    | 'detail'
  > & { kind: ReconcilerKind },
  runId: string,
  state: 'found' | 'resolved',
  correction: CorrectionNote | null,
  ts: Nanos,
): ReconciliationDifferenceMessage {
  return {
    type: 'reconciliation',
    reconciliation: true,
    source: 'reconciler',
    kind: d.kind,
    state,
    venue: d.venue,
    run_id: runId,
    key: d.key,
    operation_id: d.operation_id,
    instrument_key: d.instrument_key,
    client_order_id: d.client_order_id,
    ours: d.ours,
    theirs: d.theirs,
    message: d.message,
    detail: { ...d.detail },
    correction,
    ts_event: ts.toString(),
  };
}

/** Attributes of the reconciler's message (empty values are left out, as Pub/Sub requires). */
export function differenceAttributes(m: ReconciliationDifferenceMessage): Record<string, string> {
  const a: Record<string, string> = {
    reconciliation: 'true',
    source: 'reconciler',
    kind: m.kind,
    state: m.state,
    venue: m.venue,
  };
  if (m.operation_id !== null && m.operation_id !== '') a.operation_id = m.operation_id;
  if (m.instrument_key !== null && m.instrument_key !== '') a.instrument_key = m.instrument_key;
  return a;
}

/**
 * The port the audit trail is written through (adapters in infra/audit/): a local JSON Lines file
 * per day under the data folder, or a Pub/Sub topic whose Cloud Storage subscription writes the
 * records to a bucket with a locked retention policy (terraform/modules/audit).
 */
import type { AuditRecord } from './chain.ts';

/** Pub/Sub topic of audit records (declared in terraform/modules/audit, not a platform message topic). */
export const AUDIT_TOPIC = 'audit.records';

export interface AuditSink {
  /** Append records (in stream order). Writing the same record twice is harmless: verify ignores exact duplicates. */
  append(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

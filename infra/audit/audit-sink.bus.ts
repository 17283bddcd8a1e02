/**
 * The audit trail in the cloud: each record published to the `audit.records` topic (attribute
 * `stream`), from where a Pub/Sub Cloud Storage subscription writes newline-separated records into
 * the audit bucket under `audit/<YYYY-MM-DD>/...` — a bucket with a locked retention policy, so no
 * one (the service account included) can delete or overwrite a record before it expires
 * (terraform/modules/audit). Delivery is at least once: a duplicate is an exact copy, which
 * verification counts and ignores.
 */
import type { AuditRecord } from '../../shared/audit/chain.ts';
import { AUDIT_TOPIC, type AuditSink } from '../../shared/audit/sink.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';

export class BusAuditSink implements AuditSink {
  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly topic: string = AUDIT_TOPIC,
  ) {}

  async append(records: readonly AuditRecord[]): Promise<void> {
    await Promise.all(
      records.map((r) => this.bus.publish(this.topic, JSON.stringify(r), { stream: r.stream })),
    );
  }

  async close(): Promise<void> {}
}

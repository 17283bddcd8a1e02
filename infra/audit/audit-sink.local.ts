/**
 * The audit trail on this machine: JSON Lines under `<dir>/<YYYY-MM-DD>/records.jsonl` (the UTC day
 * of each record's ts_event), appended one write per batch (O_APPEND), so several processes on one
 * data folder interleave whole lines. `npm run audit -- verify --day <day>` reads it back.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type AuditRecord, recordDay } from '../../shared/audit/chain.ts';
import type { AuditSink } from '../../shared/audit/sink.ts';

export const AUDIT_FILE = 'records.jsonl';

export class LocalAuditSink implements AuditSink {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const byDay = new Map<string, string[]>();
    for (const r of records) {
      const day = recordDay(r);
      const lines = byDay.get(day) ?? [];
      lines.push(`${JSON.stringify(r)}\n`);
      byDay.set(day, lines);
    }
    // In this process, batches are written in call order (a stream's records never swap places).
    const write = this.tail.then(async () => {
      for (const [day, lines] of byDay) {
        const folder = join(this.dir, day);
        await mkdir(folder, { recursive: true });
        await appendFile(join(folder, AUDIT_FILE), lines.join(''), { flag: 'a' });
      }
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.tail;
  }
}

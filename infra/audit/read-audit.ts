/**
 * Reading a day of the audit trail back for verification, from a folder (`<data_dir>/audit`) or the
 * audit bucket (`gs://<bucket>/audit`): every object under `<day>/`, split into lines.
 */
import type { AuditLine, ChainHead } from '../../shared/audit/chain.ts';
import { headsOf } from '../../shared/audit/chain.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export async function readAuditDay(store: BlobStore, day: string): Promise<AuditLine[]> {
  if (!DAY_RE.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new RangeError(`day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  }
  const objects = await store.list(`${day}/`);
  const out: AuditLine[] = [];
  for (const o of objects) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(await store.get(o.key));
    text.split('\n').forEach((t, i) => {
      if (t.trim() !== '') out.push({ file: o.key, line: i + 1, text: t });
    });
  }
  return out;
}

/**
 * The heads of every stream at the end of the days before `day` that the trail holds, and whether
 * there is any such day (when there is, a stream continuing into `day` must continue one of them).
 */
export async function anchorsBefore(
  store: BlobStore,
  day: string,
): Promise<{ heads: Map<string, ChainHead>; earlierDays: number }> {
  const days = new Set<string>();
  for (const o of await store.list('')) {
    const d = o.key.slice(0, o.key.indexOf('/'));
    if (DAY_RE.test(d) && d < day) days.add(d);
  }
  const lines: AuditLine[] = [];
  for (const d of [...days].sort()) lines.push(...(await readAuditDay(store, d)));
  return { heads: headsOf(lines), earlierDays: days.size };
}

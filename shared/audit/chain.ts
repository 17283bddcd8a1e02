/**
 * The audit trail's hash chain (pure: no I/O, no clock). Every order event (fills included, as
 * `OrderFilled`) and every trading-state change becomes one `AuditRecord` in a STREAM — one per order
 * (`order:<operation_id>`), one per trading-state scope (`trading-state:<scope>`) — and each record
 * carries the hash of the previous record of its stream:
 *
 *   hash = sha256( canonical JSON of the record without `hash` )      (hex)
 *   record 0 of a stream: prev_hash = GENESIS (64 zeros), seq 0; record n: prev_hash = hash of n-1
 *
 * So an edited record no longer matches its own hash, a removed or reordered record breaks the
 * next record's `prev_hash` / `seq`, and a record slipped in cannot be made to fit without
 * rewriting every later record of the stream — which the bucket's locked retention policy forbids.
 *
 * An order's chain is a function of its timeline alone (`chainRecords`), so any process can compute
 * the head of a chain from the stored timeline, and the records written are the same whoever
 * writes them (a redelivered write is an exact duplicate, which verification ignores).
 */
import { createHash } from 'node:crypto';

export const AUDIT_RECORD_VERSION = 1;
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditRecord {
  v: typeof AUDIT_RECORD_VERSION;
  /** `order:<operation_id>` or `trading-state:<scope>`. */
  stream: string;
  /** 0, 1, 2, ... within the stream. */
  seq: number;
  /** The event type (`OrderReceived`, `OrderFilled`, `TradingStateChanged`, ...). */
  kind: string;
  /** When it happened, integer nanoseconds since the epoch as a string of digits. */
  ts_event: string;
  /** The event itself, as JSON (bigints as strings of digits). */
  payload: unknown;
  prev_hash: string;
  hash: string;
}

/** Where a stream stands: the last record's seq and hash (null: no record yet). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const orderStream = (operationId: string) => `order:${operationId}`;
export const tradingStateStream = (scope: string) => `trading-state:${scope}`;

/**
 * JSON with object keys sorted at every level and bigints as strings of digits: one byte string per
 * value, whatever the key order it was built in. `undefined` fields are left out (as JSON does).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'number':
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined && typeof o[k] !== 'function')
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

/** The payload as plain JSON data (bigints → strings), so what is hashed is what is written. */
export function toJsonData(value: unknown): unknown {
  return JSON.parse(canonicalJson(value)) as unknown;
}

export function hashOf(record: Omit<AuditRecord, 'hash'>): string {
  const { v, stream, seq, kind, ts_event, payload, prev_hash } = record;
  return createHash('sha256')
    .update(canonicalJson({ v, stream, seq, kind, ts_event, payload, prev_hash }))
    .digest('hex');
}

export interface ChainEntry {
  kind: string;
  ts_event: bigint | string;
  payload: unknown;
}

/** Append entries to a stream whose head is `head` (null: a new stream). */
export function appendRecords(
  stream: string,
  head: ChainHead | null,
  entries: readonly ChainEntry[],
): { records: AuditRecord[]; head: ChainHead | null } {
  const records: AuditRecord[] = [];
  let seq = head === null ? 0 : head.seq + 1;
  let prev = head === null ? GENESIS_HASH : head.hash;
  for (const e of entries) {
    const body = {
      v: AUDIT_RECORD_VERSION,
      stream,
      seq,
      kind: e.kind,
      ts_event: String(e.ts_event),
      payload: toJsonData(e.payload),
      prev_hash: prev,
    } as const;
    const record: AuditRecord = { ...body, hash: hashOf(body) };
    records.push(record);
    prev = record.hash;
    seq += 1;
  }
  const last = records.at(-1);
  return { records, head: last === undefined ? head : { seq: last.seq, hash: last.hash } };
}

/** The whole chain of a stream from its entries in order (e.g. an order's timeline). */
export function chainRecords(stream: string, entries: readonly ChainEntry[]): AuditRecord[] {
  return appendRecords(stream, null, entries).records;
}

/** An order event (or any `{type, ts_event}` event) as a chain entry. */
export function eventEntry(event: { type: string; ts_event: bigint }): ChainEntry {
  return { kind: event.type, ts_event: event.ts_event, payload: event };
}

/** UTC day (YYYY-MM-DD) of a record, by its ts_event: the file it belongs to. */
export function recordDay(record: Pick<AuditRecord, 'ts_event'>): string {
  const ms = Number(BigInt(record.ts_event) / 1_000_000n);
  return new Date(ms).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/** One line of an audit file, as read: where it came from and its text. */
export interface AuditLine {
  file: string;
  line: number;
  text: string;
}

export interface BrokenRecord {
  file: string;
  line: number;
  stream: string | null;
  seq: number | null;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Distinct records checked (exact duplicates from at-least-once delivery counted once). */
  records: number;
  duplicates: number;
  streams: number;
  /** Streams whose first record here continues a chain from an earlier day (checked against `anchors` when given). */
  continued: number;
  /** The first broken record, in file and line order; null when the chain holds. */
  first_broken: BrokenRecord | null;
  /** Every broken record found (at most 100). */
  broken: BrokenRecord[];
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseRecord(text: string): { record: AuditRecord } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'not a JSON object' };
  const r = raw as Record<string, unknown>;
  if (r.v !== AUDIT_RECORD_VERSION) return { problem: `unknown record version ${JSON.stringify(r.v)}` };
  if (typeof r.stream !== 'string' || r.stream === '') return { problem: 'stream missing' };
  if (typeof r.seq !== 'number' || !Number.isInteger(r.seq) || r.seq < 0)
    return { problem: 'seq is not a whole number ≥ 0' };
  if (typeof r.kind !== 'string') return { problem: 'kind missing' };
  if (typeof r.ts_event !== 'string' || !/^\d+$/.test(r.ts_event))
    return { problem: 'ts_event is not digits' };
  if (typeof r.prev_hash !== 'string' || !HEX64.test(r.prev_hash))
    return { problem: 'prev_hash is not a sha256' };
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return { problem: 'hash is not a sha256' };
  return { record: raw as AuditRecord };
}

/**
 * Check a day's records (any order, any number of files): each record's own hash, and per stream
 * an unbroken run of seq with each prev_hash equal to the previous record's hash. A stream must
 * start at seq 0 from GENESIS, or continue the head given in `anchors` (the chain as of the end of
 * the previous day); without an anchor, a stream that starts later is accepted as continued from an
 * earlier day only when `allowContinued` (the default) — its first link is then unchecked.
 */
export function verifyChain(
  lines: Iterable<AuditLine>,
  options: { anchors?: ReadonlyMap<string, ChainHead>; allowContinued?: boolean } = {},
): VerifyReport {
  const broken: BrokenRecord[] = [];
  const fail = (b: BrokenRecord) => {
    if (broken.length < 100) broken.push(b);
  };
  const byStream = new Map<string, Map<number, { rec: AuditRecord; at: AuditLine }>>();
  let duplicates = 0;
  let records = 0;
  for (const at of lines) {
    if (at.text.trim() === '') continue;
    const parsed = parseRecord(at.text);
    if ('problem' in parsed) {
      fail({ file: at.file, line: at.line, stream: null, seq: null, reason: parsed.problem });
      continue;
    }
    const rec = parsed.record;
    const where = { file: at.file, line: at.line, stream: rec.stream, seq: rec.seq };
    if (hashOf(rec) !== rec.hash) {
      fail({ ...where, reason: 'content does not match its hash (the record was edited)' });
      continue;
    }
    let seqs = byStream.get(rec.stream);
    if (seqs === undefined) {
      seqs = new Map();
      byStream.set(rec.stream, seqs);
    }
    const seen = seqs.get(rec.seq);
    if (seen !== undefined) {
      if (seen.rec.hash === rec.hash) duplicates += 1;
      else
        fail({
          ...where,
          reason: `a second, different record for seq ${rec.seq} (first at ${seen.at.file}:${seen.at.line})`,
        });
      continue;
    }
    seqs.set(rec.seq, { rec, at });
    records += 1;
  }

  let continued = 0;
  for (const [stream, seqs] of byStream) {
    const ordered = [...seqs.values()].sort((a, b) => a.rec.seq - b.rec.seq);
    const first = ordered[0];
    if (first === undefined) continue;
    const anchor = options.anchors?.get(stream);
    if (first.rec.seq === 0) {
      if (first.rec.prev_hash !== GENESIS_HASH) {
        fail({
          file: first.at.file,
          line: first.at.line,
          stream,
          seq: 0,
          reason: 'seq 0 does not start from GENESIS',
        });
      }
    } else if (anchor !== undefined) {
      if (anchor.seq !== first.rec.seq - 1 || anchor.hash !== first.rec.prev_hash) {
        fail({
          file: first.at.file,
          line: first.at.line,
          stream,
          seq: first.rec.seq,
          reason: `does not continue the earlier day's chain (which ends at seq ${anchor.seq})`,
        });
      }
      continued += 1;
    } else if (options.allowContinued ?? true) {
      continued += 1;
    } else {
      fail({
        file: first.at.file,
        line: first.at.line,
        stream,
        seq: first.rec.seq,
        reason: `records 0..${first.rec.seq - 1} are missing`,
      });
    }
    for (let i = 1; i < ordered.length; i++) {
      const prev = ordered[i - 1] as { rec: AuditRecord; at: AuditLine };
      const cur = ordered[i] as { rec: AuditRecord; at: AuditLine };
      const where = { file: cur.at.file, line: cur.at.line, stream, seq: cur.rec.seq };
      if (cur.rec.seq !== prev.rec.seq + 1) {
        fail({ ...where, reason: `gap: records ${prev.rec.seq + 1}..${cur.rec.seq - 1} are missing` });
      } else if (cur.rec.prev_hash !== prev.rec.hash) {
        fail({ ...where, reason: `prev_hash does not match the hash of seq ${prev.rec.seq}` });
      }
    }
  }
  broken.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return {
    ok: broken.length === 0,
    records,
    duplicates,
    streams: byStream.size,
    continued,
    first_broken: broken[0] ?? null,
    broken,
  };
}

/** The head of every stream in a set of verified records (the anchors for the next day). */
export function headsOf(lines: Iterable<AuditLine>): Map<string, ChainHead> {
  const heads = new Map<string, ChainHead>();
  for (const at of lines) {
    const parsed = at.text.trim() === '' ? null : parseRecord(at.text);
    if (parsed === null || 'problem' in parsed) continue;
    const h = heads.get(parsed.record.stream);
    if (h === undefined || parsed.record.seq > h.seq) {
      heads.set(parsed.record.stream, { seq: parsed.record.seq, hash: parsed.record.hash });
    }
  }
  return heads;
}

/**
 * A recording's journal part: the journal records of one flush as JSON Lines (one record per line,
 * every line ending in a newline, so a torn write is recognisable), validated line by line on read.
 */
import { type JournalRecord, JournalRecordSchema } from '../../shared/recording/format.ts';

/** A part that cannot be read; names the file, and the line when one is at fault. */
export class JournalPartError extends Error {
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(`${key}: ${detail}`);
    this.name = 'JournalPartError';
  }
}

export function encodeJournalPart(records: readonly JournalRecord[]): Uint8Array {
  let text = '';
  for (const r of records) text += `${JSON.stringify(r)}\n`;
  return new TextEncoder().encode(text);
}

export function decodeJournalPart(bytes: Uint8Array, key: string): JournalRecord[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new JournalPartError(key, 'not valid UTF-8');
  }
  if (text.length === 0) throw new JournalPartError(key, 'empty file');
  if (!text.endsWith('\n')) {
    throw new JournalPartError(key, 'truncated: the last line has no newline (a write was cut short)');
  }
  const lines = text.slice(0, -1).split('\n');
  const out: JournalRecord[] = [];
  let lastSeq = -1;
  lines.forEach((line, i) => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new JournalPartError(key, `line ${i + 1}: not valid JSON`);
    }
    const parsed = JournalRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new JournalPartError(
        key,
        `line ${i + 1}: ${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    if (parsed.data.seq <= lastSeq) {
      throw new JournalPartError(key, `line ${i + 1}: seq ${parsed.data.seq} not after ${lastSeq}`);
    }
    lastSeq = parsed.data.seq;
    out.push(parsed.data);
  });
  return out;
}

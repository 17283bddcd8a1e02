/**
 * Each event once on the terminal: one venue stream coming up (or going down) is reported by the
 * venue adapter, by the venue session and by the session's diagnostic, three lines in three
 * wordings. `eventOnceLog` wraps the execution log given to the venue edge and lets the first line
 * of such an event through, dropping the others for `windowMs` — the key is (venue, stream, state)
 * read from the fields or the message. Every other line passes untouched; the diagnostic still
 * goes to `exec.orders` and the metrics as before.
 */
import type { ExecutionLog, LogFields } from '../../../shared/app/execution-recorder.ts';

const STREAM_EVENT = /^(?:venue )?([A-Za-z0-9._-]+):? (private|public) stream (up|down)\b/;

/** The (venue, stream, state) of a stream event line, or null for any other line. */
export function streamEventKey(message: string, fields?: LogFields): string | null {
  const m = STREAM_EVENT.exec(message);
  if (m !== null) return `${m[1]}|${m[2]}|${m[3]}`;
  const f = (fields ?? {}) as Record<string, unknown>;
  if (f.diagnostic === 'stream' && typeof f.venue === 'string' && typeof f.stream === 'string')
    return `${f.venue}|${f.stream}|${String(f.state)}`;
  return null;
}

export function eventOnceLog(
  log: ExecutionLog,
  opts: { windowMs?: number; now?: () => number } = {},
): ExecutionLog {
  const windowMs = opts.windowMs ?? 5_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, number>();
  const pass = (message: string, fields?: LogFields): boolean => {
    const key = streamEventKey(message, fields);
    if (key === null) return true;
    const t = now();
    const last = seen.get(key);
    if (last !== undefined && t - last < windowMs) return false;
    seen.set(key, t);
    return true;
  };
  return {
    info: (message, fields) => {
      if (pass(message, fields)) log.info(message, fields);
    },
    warn: (message, fields) => {
      if (pass(message, fields)) log.warn(message, fields);
    },
  };
}

/**
 * Decoding the JSON payload of a backtest Pub/Sub message at the function boundary. Malformed
 * bytes are poison (dead-letter with a reason), never an exception.
 */
import type { Issue } from '../../shared/domain/errors.ts';

export type JsonPayload = { ok: true; value: unknown } | { ok: false; reason: string; issues: Issue[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The message data as a JSON value; invalid UTF-8 or JSON → `{ok: false}` with the reason. */
export function jsonPayload(data: Uint8Array): JsonPayload {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return {
      ok: false,
      reason: 'malformed_utf8',
      issues: [{ path: '', message: 'message data is not valid UTF-8' }],
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return {
      ok: false,
      reason: 'malformed_json',
      issues: [{ path: '', message: `malformed JSON: ${e instanceof Error ? e.message : String(e)}` }],
    };
  }
}

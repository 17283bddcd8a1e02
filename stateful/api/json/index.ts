/**
 * JSON on the wire. One replacer for every response: bigint nanosecond timestamps (`ts_event`,
 * `ts_init`, `ts_created`, ...) become strings of digits, exactly (a JSON number would lose
 * precision past 2^53). Request bodies are read here too, so malformed JSON, an empty body or a
 * body that is not JSON is always a 4xx with a clear message, never a 500.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { ApiError } from '../errors/index.ts';

/** JSON.stringify replacer: bigint → decimal string of digits. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Serialise a response value (bigints as digit strings). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, jsonReplacer, indent);
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A JSON response through the shared replacer. */
export function sendJson(
  c: Context,
  status: ContentfulStatusCode,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return c.body(toJson(body), status, { 'Content-Type': JSON_CONTENT_TYPE, ...headers });
}

/** `application/json` or any `application/*+json`, parameters (charset) ignored. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const mediaType = header.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  );
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The body as UTF-8, strictly: a byte sequence that is not UTF-8 is a 400, never silently replaced. */
function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ValidationError('invalid_json', [{ path: '', message: 'request body is not valid UTF-8' }]);
  }
}

/**
 * Read the request body as JSON. `required: false` → an empty body is `undefined`. A non-empty body
 * must be sent as `Content-Type: application/json` (else 415 `unsupported_media_type`), be UTF-8 and parse
 * (else 400 `invalid_json` saying where it broke); a required body that is empty is 400
 * `invalid_json` too.
 */
export async function readJsonBody(c: Context, opts: { required: boolean; what: string }): Promise<unknown> {
  const text = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
  if (text.trim() === '') {
    if (!opts.required) return undefined;
    throw new ValidationError('invalid_json', [
      { path: '', message: `request body is empty: expected ${opts.what} as JSON` },
    ]);
  }
  const contentType = c.req.header('content-type');
  if (!isJsonContentType(contentType)) {
    throw new ApiError(
      415,
      'unsupported_media_type',
      `expected Content-Type: application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new ValidationError('invalid_json', [{ path: '', message: `malformed JSON: ${detail}` }]);
  }
}

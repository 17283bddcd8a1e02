/**
 * Pub/Sub resource ids and filters.
 *
 * Naming rule: our topic and subscription names ARE the Pub/Sub ids, unchanged. Pub/Sub allows
 * letters, digits, `-`, `_`, `.`, `~`, `+`, `%`, 3 to 255 characters, starting with a letter and
 * not starting with `goog`, so `orders.requests` and `intake.orders-requests.dlq` are valid as
 * they are. Anything else is refused here with a message saying why, before a request is sent.
 */
const RESOURCE_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export function pubSubIdProblem(id: string): string | undefined {
  if (id.length < 3) return 'must be at least 3 characters';
  if (id.length > 255) return 'must be at most 255 characters';
  if (!/^[A-Za-z]/.test(id)) return 'must start with a letter';
  if (/^goog/i.test(id)) return 'must not start with "goog"';
  if (!RESOURCE_ID.test(id)) return 'may contain only letters, digits and - _ . ~ + %';
  return undefined;
}

export function assertPubSubResourceId(kind: string, id: string): void {
  const problem = pubSubIdProblem(id);
  if (problem) throw new TypeError(`invalid Pub/Sub ${kind} name ${JSON.stringify(id)}: ${problem}`);
}

const FILTER_MAX_BYTES = 256;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: values with control characters are not sent to the server
const SAFE_VALUE = /^[^"\\\u0000-\u001f\u007f]*$/;

/**
 * The server-side filter for an attribute filter: `attributes.k1 = "v1" AND attributes.k2 = "v2"`
 * with keys sorted, so the same filter always gives the same string. Only conditions Pub/Sub's
 * filter syntax expresses without escaping (identifier keys, values without quotes, backslashes or
 * control characters) are included, within the 256-byte limit; the server then delivers a superset
 * of what the subscriber wants, and the adapter's own filter (always applied) does the rest.
 * Returns '' when nothing can be sent.
 */
export function buildServerFilter(filter: Record<string, string> | undefined): string {
  if (!filter) return '';
  const parts: string[] = [];
  let bytes = 0;
  for (const key of Object.keys(filter).sort()) {
    const value = filter[key];
    if (value === undefined || !PLAIN_KEY.test(key) || !SAFE_VALUE.test(value)) continue;
    const part = `attributes.${key} = "${value}"`;
    const added = Buffer.byteLength(part, 'utf8') + (parts.length > 0 ? ' AND '.length : 0);
    if (bytes + added > FILTER_MAX_BYTES) continue;
    parts.push(part);
    bytes += added;
  }
  return parts.join(' AND ');
}

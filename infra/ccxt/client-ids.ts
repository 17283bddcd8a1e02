/**
 * Our client order ids → ids each venue accepts, deterministically and (for the ids the platform
 * makes) reversibly, so that the same operation always reaches the venue under the same id and an
 * id that comes back from the venue (WebSocket order updates, open-order lists) maps back to ours
 * without any stored table.
 *
 * Our ids: `ord_` + 32 lowercase hex digits (128 bits of SHA-256 of the operation id, see
 * shared/app/order-id.ts), and algorithm children `ord_<32 hex>-<suffix>` (e.g. `-t3`, a TWAP
 * slice). Venue rules (checked against each venue's API documentation and the ccxt source
 * `ccxt/js/src/<exchange>.js`, which passes the unified `clientOrderId` param through as):
 *
 * | exchange | venue field (ccxt mapping) | allowed |
 * | --- | --- | --- |
 * | binance, binanceusdm | `newClientOrderId` / `origClientOrderId` | `^[.A-Z:/a-z0-9_-]{1,36}$` |
 * | bybit | `orderLinkId` | letters, digits, `-`, `_`; at most 36 |
 * | okx | `clOrdId` | letters and digits; at most 32 |
 * | deribit | `label` (ccxt does NOT map `clientOrderId`; we pass `label` ourselves) | at most 64 characters |
 *
 * Mapping, in order:
 * 1. **identity** — the id already satisfies the venue's rule (and does not look like forms 2/3):
 *    sent unchanged (`ord_<32 hex>` on Binance, Bybit and Deribit).
 * 2. **compact** — an `ord_<32 hex>[-<suffix>]` id that does not fit: `o` + the 128 bits in
 *    base62 (exactly 22 characters) + the suffix (letters and digits, no separator). 23 characters
 *    for a parent order, so it fits OKX's 32 and Binance's 36 with children up to 9 suffix
 *    characters. Decoding reverses it exactly.
 * 3. **hashed** — anything else that does not fit: `h` + 22 base62 characters of SHA-256(our id).
 *    Deterministic but one-way: the session keeps the ids it sent in a reverse map, and an
 *    unknown hashed id coming back is reported as-is.
 */
import { createHash } from 'node:crypto';

export type ClientIdExchange = 'binance' | 'binanceusdm' | 'bybit' | 'okx' | 'deribit';

interface ClientIdRule {
  pattern: RegExp;
  maxLength: number;
  /** Human description for errors and docs. */
  description: string;
}

export const CLIENT_ID_RULES: Readonly<Record<ClientIdExchange, ClientIdRule>> = {
  binance: { pattern: /^[.A-Z:/a-z0-9_-]{1,36}$/, maxLength: 36, description: '^[.A-Z:/a-z0-9_-]{1,36}$' },
  binanceusdm: {
    pattern: /^[.A-Z:/a-z0-9_-]{1,36}$/,
    maxLength: 36,
    description: '^[.A-Z:/a-z0-9_-]{1,36}$',
  },
  bybit: { pattern: /^[A-Za-z0-9_-]{1,36}$/, maxLength: 36, description: '^[A-Za-z0-9_-]{1,36}$' },
  okx: { pattern: /^[A-Za-z0-9]{1,32}$/, maxLength: 32, description: '^[A-Za-z0-9]{1,32}$' },
  deribit: { pattern: /^[\x20-\x7e]{1,64}$/, maxLength: 64, description: 'printable ASCII, 1-64 characters' },
};

const OUR_ID_RE = /^ord_([0-9a-f]{32})(?:-([a-z0-9]{1,16}))?$/;
const COMPACT_RE = /^o([0-9A-Za-z]{22})([a-z0-9]{0,16})$/;
const HASHED_RE = /^h[0-9A-Za-z]{22}$/;
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 128-bit value as exactly 22 base62 digits (62^22 > 2^128). */
function toBase62(value: bigint): string {
  let v = value;
  let out = '';
  for (let i = 0; i < 22; i++) {
    out = (B62[Number(v % 62n)] ?? '0') + out;
    v /= 62n;
  }
  return out;
}

function fromBase62(s: string): bigint | null {
  let v = 0n;
  for (const ch of s) {
    const d = B62.indexOf(ch);
    if (d < 0) return null;
    v = v * 62n + BigInt(d);
  }
  return v < 1n << 128n ? v : null;
}

function looksEncoded(id: string): boolean {
  return COMPACT_RE.test(id) || HASHED_RE.test(id);
}

/** How an id was mapped (for tests and docs). */
export type ClientIdForm = 'identity' | 'compact' | 'hashed';

export interface VenueClientId {
  id: string;
  form: ClientIdForm;
}

/** The id to send to `exchange` for our client order id (see the module doc). */
export function venueClientIdOf(exchange: ClientIdExchange, clientOrderId: string): VenueClientId {
  if (clientOrderId === '') throw new RangeError('client order id must not be empty');
  const rule = CLIENT_ID_RULES[exchange];
  if (rule.pattern.test(clientOrderId) && !looksEncoded(clientOrderId)) {
    return { id: clientOrderId, form: 'identity' };
  }
  const m = OUR_ID_RE.exec(clientOrderId);
  if (m) {
    const compact = `o${toBase62(BigInt(`0x${m[1]}`))}${m[2] ?? ''}`;
    if (rule.pattern.test(compact)) return { id: compact, form: 'compact' };
  }
  const digest = createHash('sha256').update(clientOrderId, 'utf8').digest('hex').slice(0, 32);
  return { id: `h${toBase62(BigInt(`0x${digest}`))}`, form: 'hashed' };
}

/**
 * Our client order id for an id seen at the venue: identity and compact forms decode without any
 * state; hashed ids through `known` (the ids this session sent). Returns null for a hashed id we do
 * not know, and the id unchanged for ids not made by us (orders placed by hand).
 */
export function ourClientIdOf(venueId: string, known?: ReadonlyMap<string, string>): string | null {
  const fromMap = known?.get(venueId);
  if (fromMap !== undefined) return fromMap;
  const c = COMPACT_RE.exec(venueId);
  if (c) {
    const v = fromBase62(c[1] ?? '');
    if (v !== null) {
      const hex = v.toString(16).padStart(32, '0');
      return c[2] ? `ord_${hex}-${c[2]}` : `ord_${hex}`;
    }
  }
  if (HASHED_RE.test(venueId)) return null;
  return venueId;
}

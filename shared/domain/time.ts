/**
 * Timestamps are integer nanoseconds since the Unix epoch, held as `bigint` (a JS number cannot
 * represent 1.7e18 exactly). At JSON boundaries they travel as strings of digits.
 */
export type Nanos = bigint;

export const NANOS_PER_MICRO = 1_000n;
export const NANOS_PER_MILLI = 1_000_000n;
export const NANOS_PER_SECOND = 1_000_000_000n;

export function millisToNanos(ms: number): Nanos {
  return BigInt(Math.trunc(ms)) * NANOS_PER_MILLI;
}

export function nanosToMillis(ns: Nanos): number {
  return Number(ns / NANOS_PER_MILLI);
}

/** Parse an ISO-8601 timestamp (e.g. `2025-07-01T00:05:00Z`, optional fraction up to ns). */
export function isoToNanos(iso: string): Nanos {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) throw new RangeError(`not an ISO-8601 timestamp with a zone: ${JSON.stringify(iso)}`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new RangeError(`not a valid date: ${JSON.stringify(iso)}`);
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(ms) * NANOS_PER_MILLI + BigInt(frac);
}

/** Format nanoseconds as ISO-8601 UTC with nanosecond fraction, e.g. `2025-07-01T00:05:00.000000000Z`. */
export function nanosToIso(ns: Nanos): string {
  const ms = ns / NANOS_PER_MILLI;
  const sub = ns - ms * NANOS_PER_MILLI;
  const base = new Date(Number(ms)).toISOString(); // ...SS.mmmZ
  const fracNs = (BigInt(base.slice(20, 23)) * NANOS_PER_MILLI + sub).toString().padStart(9, '0');
  return `${base.slice(0, 19)}.${fracNs}Z`;
}

/** Parse a JSON-boundary nanosecond value (digits string, bigint, or safe integer). */
export function toNanos(value: string | number | bigint): Nanos {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer nanosecond value: ${value}`);
    return BigInt(value);
  }
  if (!/^-?\d+$/.test(value))
    throw new RangeError(`not an integer nanosecond value: ${JSON.stringify(value)}`);
  return BigInt(value);
}

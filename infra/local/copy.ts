/**
 * Deep copies for the embedded stores, which keep records in memory and must neither share them
 * with their callers (a caller mutating its object must not change the store) nor hand out their
 * own (results are copies).
 *
 * `structuredClone` does this for any value, but it serialises and deserialises through V8's
 * structured-clone format: ≈ 24 µs for an order's first timeline (three events with every risk
 * check and venue score), the largest single cost of an in-memory create. Records are trees of
 * plain objects, arrays, strings, numbers, booleans, null and bigints; copying those directly is
 * several times faster. Anything else (a Date, a Map, a typed array inside a free-form field) is
 * still copied by `structuredClone`, so the result is the same as before, only cheaper.
 */

const MAX_DEPTH = 200;

/** A deep copy of `value` (see module doc): plain data copied directly, anything else by structuredClone. */
export function copyData<T>(value: T): T {
  return copyValue(value, 0) as T;
}

function copyValue(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) {
    // Primitives (bigint included) are immutable. Functions and symbols are refused like
    // structuredClone refuses them.
    if (typeof v === 'function' || typeof v === 'symbol') return structuredClone(v);
    return v;
  }
  if (depth > MAX_DEPTH) throw new RangeError(`value nests more than ${MAX_DEPTH} levels deep (a cycle?)`);
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(copyValue(v[i], depth + 1));
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  const src = v as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    const item = copyValue(src[k], depth + 1);
    if (k === '__proto__') {
      Object.defineProperty(out, k, { value: item, enumerable: true, writable: true, configurable: true });
    } else {
      out[k] = item;
    }
  }
  return out;
}

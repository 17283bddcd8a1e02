/**
 * Recent approval times for the velocity checks.
 *
 * The ledger keeps them exactly, as nanosecond digit strings in one ascending array per scope (a
 * flat array of strings, so the ledger stays a plain JSON value that Firestore can store: no nested
 * arrays). Only what a window can still count is kept: times within a minute of the newest, and at
 * most the newest `maxRecent` (the largest velocity limit decides every check exactly). An approval
 * therefore copies O(retention) references; parsed arrays are cached by identity so nothing is
 * re-parsed, and a window is counted by binary search (O(log n)).
 */
import type { Nanos } from '../domain/time.ts';

/** One minute: the longest velocity window, and how long the ledger keeps a timestamp. */
export const RECENT_HORIZON_NS: Nanos = 60_000_000_000n;

/** Index of the first element > `since` in an ascending array. */
function firstAfter(ts: readonly Nanos[], since: Nanos): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as Nanos) > since) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** How many of the ASCENDING times `ts` are > `since`. */
export function countSince(ts: readonly Nanos[], since: Nanos): number {
  return ts.length - firstAfter(ts, since);
}

const parsed = new WeakMap<readonly string[], readonly Nanos[]>();

/** A ledger's recent-times array as bigints (cached by identity: ledger arrays are never mutated). */
export function recentNanos(recent: readonly string[]): readonly Nanos[] {
  let p = parsed.get(recent);
  if (p === undefined) {
    p = recent.map((t) => BigInt(t));
    parsed.set(recent, p);
  }
  return p;
}

/**
 * A new ascending array with `ts` added, without times a minute or more older than the newest and
 * beyond the newest `maxRecent`. Never mutates its input.
 */
export function pushRecent(
  recent: readonly string[],
  ts: Nanos,
  maxRecent: number | null | undefined,
): string[] {
  const old = recentNanos(recent);
  const at = firstAfter(old, ts); // insertion point (after equal times): old.length when in order
  const newest = at === old.length ? ts : (old[old.length - 1] as Nanos);
  // Merged sequence = old[0..at) ++ [ts] ++ old[at..); keep its tail from `from`.
  const total = old.length + 1;
  let from = firstAfter(old, newest - RECENT_HORIZON_NS); // index in old; ts itself is never expired
  if (from > at) from = at; // a time more than a minute late: kept (harmless, never counted)
  if (maxRecent !== null && maxRecent !== undefined && total - from > maxRecent) {
    from = total - Math.max(0, maxRecent);
  }
  let strings: string[];
  let nanos: Nanos[];
  if (at === old.length) {
    strings = recent.slice(Math.min(from, old.length));
    nanos = old.slice(Math.min(from, old.length));
    if (from <= old.length) {
      strings.push(ts.toString());
      nanos.push(ts);
    }
  } else {
    // Out of order (a late evaluation): rare.
    const s = recent.slice();
    const n = old.slice();
    s.splice(at, 0, ts.toString());
    n.splice(at, 0, ts);
    strings = s.slice(from);
    nanos = n.slice(from);
  }
  parsed.set(strings, nanos);
  return strings;
}

/** How to take back one {@link pushRecentInPlace}. */
export type RecentUndo = () => void;

/**
 * {@link pushRecent} on an array its caller OWNS: the same contents afterwards (same retention
 * rules), but changed in place — the new time appended (or inserted, when late) and the expired
 * head cut off — in O(1) amortised instead of O(retention) copying. The parsed bigints cached for
 * the array are kept in step, so {@link recentNanos} stays exact. Only for arrays that nobody else
 * holds (a store's owned ledger, see owned-ledger.ts): every pure function here treats arrays as
 * immutable. Returns how to undo the change.
 */
export function pushRecentInPlace(
  recent: string[],
  ts: Nanos,
  maxRecent: number | null | undefined,
): RecentUndo {
  const nanos = recentNanos(recent) as Nanos[];
  const len = nanos.length;
  const at = firstAfter(nanos, ts);
  const newest = at === len ? ts : (nanos[len - 1] as Nanos);
  const total = len + 1;
  let from = firstAfter(nanos, newest - RECENT_HORIZON_NS);
  if (from > at) from = at;
  if (maxRecent !== null && maxRecent !== undefined && total - from > maxRecent) {
    from = total - Math.max(0, maxRecent);
  }
  // Merged sequence = old[0..at) ++ [ts] ++ old[at..); keep its tail from `from`. When ts is kept
  // (from <= at) the cut prefix is `from` old times; otherwise it holds ts and `from - 1` old times.
  const kept = from <= at;
  if (kept) {
    if (at === len) {
      recent.push(ts.toString());
      nanos.push(ts);
    } else {
      recent.splice(at, 0, ts.toString());
      nanos.splice(at, 0, ts);
    }
  }
  const cut = kept ? from : from - 1;
  const removed = cutHead(recent, cut);
  const removedNanos = cutHead(nanos, cut);
  return () => {
    if (kept) {
      recent.splice(at - cut, 1);
      nanos.splice(at - cut, 1);
    }
    prepend(recent, removed);
    prepend(nanos, removedNanos);
  };
}

/**
 * Remove and return the first `n` elements. `shift()` one at a time for the usual one or two:
 * V8 moves the array's start instead of its elements (O(1)) where `splice(0, n)` copies.
 */
function cutHead<T>(a: T[], n: number): T[] {
  if (n <= 0) return [];
  if (n <= 8) {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(a.shift() as T);
    return out;
  }
  return a.splice(0, n);
}

/** Put `items` back in front of `a` (undo of {@link cutHead}); no argument spreading. */
function prepend<T>(a: T[], items: readonly T[]): void {
  const n = items.length;
  if (n === 0) return;
  const len = a.length;
  a.length = len + n;
  for (let i = len - 1; i >= 0; i--) a[i + n] = a[i] as T;
  for (let i = 0; i < n; i++) a[i] = items[i] as T;
}

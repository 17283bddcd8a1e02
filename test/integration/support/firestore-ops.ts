/**
 * Counts what a process asks of Firestore, by wrapping the client's public calls on their
 * prototypes (so every client in the process — the ones compose.ts makes included — is counted):
 *
 * - reads: documents asked for by `Firestore.getAll` (which `DocumentReference.get` goes through)
 *   plus documents returned by `Query.get` (at least 1 per query, as Firestore bills);
 * - writes: document writes in `WriteBatch.commit` (which `DocumentReference.create/set/update/
 *   delete` go through), split into committed and failed (a lost precondition race, ALREADY_EXISTS);
 * - round trips: getAll calls, queries, commits.
 *
 * Transactions are not used by our adapters; their commits would not be counted.
 */
import { DocumentReference, Firestore, Query, WriteBatch } from '@google-cloud/firestore';

export interface FirestoreOpCounts {
  /** Documents read (getAll documents + query results). */
  reads: number;
  /** Documents written by successful commits. */
  writes: number;
  /** Documents in commits that failed (precondition / already exists / contention). */
  failedWrites: number;
  getAllCalls: number;
  queries: number;
  commits: number;
  failedCommits: number;
}

export interface FirestoreOpCounter {
  counts(): FirestoreOpCounts;
  reset(): void;
  uninstall(): void;
}

const zero = (): FirestoreOpCounts => ({
  reads: 0,
  writes: 0,
  failedWrites: 0,
  getAllCalls: 0,
  queries: 0,
  commits: 0,
  failedCommits: 0,
});

type Method = (this: unknown, ...args: unknown[]) => unknown;

function original(proto: object, name: string): Method {
  const fn: unknown = Reflect.get(proto, name);
  if (typeof fn !== 'function') throw new TypeError(`Firestore client has no method ${name} to count`);
  return function (this: unknown, ...args: unknown[]): unknown {
    return Reflect.apply(fn, this, args);
  };
}

function replace(proto: object, name: string, fn: Method, restore: Array<() => void>): void {
  const before = Object.getOwnPropertyDescriptor(proto, name);
  Object.defineProperty(proto, name, { value: fn, configurable: true, writable: true });
  restore.push(() => {
    if (before) Object.defineProperty(proto, name, before);
  });
}

let installed: FirestoreOpCounter | null = null;

/** Start counting (once per process; a second call returns the same counter). */
export function installFirestoreOpCounter(): FirestoreOpCounter {
  if (installed) return installed;
  let c = zero();
  const pending = new WeakMap<object, number>();
  const restore: Array<() => void> = [];

  const getAll = original(Firestore.prototype, 'getAll');
  replace(
    Firestore.prototype,
    'getAll',
    function (this: unknown, ...args: unknown[]) {
      c.getAllCalls++;
      // Arguments are document references, optionally followed by a ReadOptions object.
      c.reads += args.filter((a) => a instanceof DocumentReference).length;
      return getAll.apply(this, args);
    },
    restore,
  );

  const queryGet = original(Query.prototype, 'get');
  replace(
    Query.prototype,
    'get',
    async function (this: unknown, ...args: unknown[]) {
      c.queries++;
      const snap: unknown = await queryGet.apply(this, args);
      const size = snap instanceof Object && 'size' in snap && typeof snap.size === 'number' ? snap.size : 0;
      c.reads += Math.max(1, size);
      return snap;
    },
    restore,
  );

  for (const op of ['create', 'set', 'update', 'delete']) {
    const fn = original(WriteBatch.prototype, op);
    replace(
      WriteBatch.prototype,
      op,
      function (this: unknown, ...args: unknown[]) {
        if (this instanceof Object) pending.set(this, (pending.get(this) ?? 0) + 1);
        return fn.apply(this, args);
      },
      restore,
    );
  }

  const commit = original(WriteBatch.prototype, 'commit');
  replace(
    WriteBatch.prototype,
    'commit',
    async function (this: unknown, ...args: unknown[]) {
      const n = this instanceof Object ? (pending.get(this) ?? 0) : 0;
      try {
        const result: unknown = await commit.apply(this, args);
        c.commits++;
        c.writes += n;
        return result;
      } catch (err) {
        c.failedCommits++;
        c.failedWrites += n;
        throw err;
      }
    },
    restore,
  );

  installed = {
    counts: () => ({ ...c }),
    reset: () => {
      c = zero();
    },
    uninstall: () => {
      for (const r of restore.reverse()) r();
      installed = null;
    },
  };
  return installed;
}

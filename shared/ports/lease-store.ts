/**
 * Port: a named lease with a fencing token — at most one holder at a time, so at most one venue
 * edge sends orders and writes algorithm state.
 *
 * A lease is granted to a holder (a process-unique id) for `ttl_ms`; the holder renews it before it
 * expires and releases it when it stops. Every grant to a new holder increments the lease's
 * `token` (the fencing token), which never decreases — the record is never deleted, a release only
 * clears the holder — so a token identifies one tenure for good: whatever carries an older token
 * is refused (stateful/edge/lease.ts). A holder cannot renew an expired lease: once it may have
 * lapsed it must acquire again and get a new token.
 *
 * The decisions are pure (`decideAcquire`, `decideRenew`, `decideRelease`); every adapter applies
 * them atomically (a Firestore transaction, the local store's single thread).
 * Adapters: `lease-store.firestore.ts` (collection `leases`), `lease-store.local.ts` (memory,
 * optionally journaled).
 */
import { z } from 'zod';
import { fromZodIssues, ValidationError } from '../domain/errors.ts';
import type { Nanos } from '../domain/time.ts';

export interface LeaseRecord {
  /** The lease's name, e.g. `venue-edge`. */
  name: string;
  /** The current holder; null once released (or never granted). */
  holder: string | null;
  /** The fencing token of the latest grant (1, 2, ...); never decreases. */
  token: number;
  /** When the current grant lapses unless renewed (0 when released). */
  ts_expires: Nanos;
  /** When the current holder got the lease. */
  ts_acquired: Nanos;
  /** The last successful acquire, renew or release. */
  ts_updated: Nanos;
}

export type LeaseResult =
  | { ok: true; lease: LeaseRecord }
  | {
      ok: false;
      /** `held`: another holder has an unexpired grant. `lost`: this grant lapsed or was superseded. */
      reason: 'held' | 'lost';
      current: LeaseRecord | null;
    };

export interface LeaseStore {
  /**
   * Grant `name` to `holder` for `ttlMs` when it is free (never granted, released or expired): a new
   * token (previous + 1). Held by `holder` itself and unexpired: the same grant, extended.
   */
  acquire(name: string, holder: string, ttlMs: number, now: Nanos): Promise<LeaseResult>;
  /** Extend the grant `token` of `holder` by `ttlMs` from `now`; refused once it expired or was superseded. */
  renew(name: string, holder: string, token: number, ttlMs: number, now: Nanos): Promise<LeaseResult>;
  /** Give the grant up (the next acquire gets it at once). False when it was no longer held with `token`. */
  release(name: string, holder: string, token: number, now: Nanos): Promise<boolean>;
  get(name: string): Promise<LeaseRecord | null>;
  /** Every lease granted and unexpired at `now`, soonest expiry first (operators: "who holds what"). */
  held(now: Nanos): Promise<LeaseRecord[]>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

const MS = 1_000_000n;

function checkArgs(name: string, holder: string, ttlMs?: number): void {
  const issues: Array<{ path: string; message: string }> = [];
  if (name.trim() === '') issues.push({ path: 'name', message: 'must not be empty' });
  if (holder.trim() === '') issues.push({ path: 'holder', message: 'must not be empty' });
  if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs <= 0))
    issues.push({ path: 'ttl_ms', message: `must be a positive integer, got ${ttlMs}` });
  if (issues.length > 0) throw new ValidationError('invalid_lease_request', issues);
}

/** True while `lease` is granted to someone and has not expired at `now`. */
export function leaseActive(lease: LeaseRecord | null, now: Nanos): boolean {
  return lease !== null && lease.holder !== null && now < lease.ts_expires;
}

/** The record after `holder` asks for the lease at `now`, or why not. */
export function decideAcquire(
  current: LeaseRecord | null,
  name: string,
  holder: string,
  ttlMs: number,
  now: Nanos,
): LeaseResult {
  checkArgs(name, holder, ttlMs);
  const expires = now + BigInt(ttlMs) * MS;
  if (current !== null && leaseActive(current, now)) {
    if (current.holder !== holder) return { ok: false, reason: 'held', current };
    return { ok: true, lease: { ...current, ts_expires: expires, ts_updated: now } };
  }
  return {
    ok: true,
    lease: {
      name,
      holder,
      token: (current?.token ?? 0) + 1,
      ts_expires: expires,
      ts_acquired: now,
      ts_updated: now,
    },
  };
}

/** The record after `holder` renews grant `token` at `now`, or `lost`. */
export function decideRenew(
  current: LeaseRecord | null,
  name: string,
  holder: string,
  token: number,
  ttlMs: number,
  now: Nanos,
): LeaseResult {
  checkArgs(name, holder, ttlMs);
  if (
    current === null ||
    !leaseActive(current, now) ||
    current.holder !== holder ||
    current.token !== token
  ) {
    return { ok: false, reason: 'lost', current };
  }
  return { ok: true, lease: { ...current, ts_expires: now + BigInt(ttlMs) * MS, ts_updated: now } };
}

/** The record after `holder` releases grant `token` (null: nothing to change, it was not held so). */
export function decideRelease(
  current: LeaseRecord | null,
  holder: string,
  token: number,
  now: Nanos,
): LeaseRecord | null {
  if (current === null || current.holder !== holder || current.token !== token) return null;
  return { ...current, holder: null, ts_expires: 0n, ts_updated: now };
}

/** Soonest expiry first (the order of `held()`). */
export function compareLeaseExpiry(a: LeaseRecord, b: LeaseRecord): number {
  return a.ts_expires < b.ts_expires ? -1 : a.ts_expires > b.ts_expires ? 1 : 0;
}

/** An adapter's one atomic step: read the lease, apply `decide`, store the result when it is ok. */
export type LeaseChange = (
  name: string,
  decide: (current: LeaseRecord | null) => LeaseResult,
) => Promise<LeaseResult>;

/** acquire / renew / release of every adapter, from its atomic `change`. */
export function leaseOperations(change: LeaseChange): Pick<LeaseStore, 'acquire' | 'renew' | 'release'> {
  return {
    acquire: (name, holder, ttlMs, now) =>
      change(name, (cur) => decideAcquire(cur, name, holder, ttlMs, now)),
    renew: (name, holder, token, ttlMs, now) =>
      change(name, (cur) => decideRenew(cur, name, holder, token, ttlMs, now)),
    release: async (name, holder, token, now) => {
      const r = await change(name, (cur) => {
        const next = decideRelease(cur, holder, token, now);
        return next === null ? { ok: false, reason: 'lost', current: cur } : { ok: true, lease: next };
      });
      return r.ok;
    },
  };
}

const nanos = z.bigint().min(0n);

export const LeaseRecordSchema = z.object({
  name: z.string().min(1),
  holder: z.string().min(1).nullable(),
  token: z.number().int().min(0),
  ts_expires: nanos,
  ts_acquired: nanos,
  ts_updated: nanos,
});

const _shape: (x: z.output<typeof LeaseRecordSchema>) => LeaseRecord = (x) => x;
void _shape;

export function parseLeaseRecord(value: unknown, where: string): LeaseRecord {
  const r = LeaseRecordSchema.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(
    'corrupt_lease',
    fromZodIssues(r.error.issues).map((i) => ({ path: i.path, message: `${where}: ${i.message}` })),
  );
}

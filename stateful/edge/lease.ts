/**
 * One venue edge at a time, enforced: the edge's lease (shared/ports/lease-store.ts) and the
 * decorators that fence what the edge does with it.
 *
 *   const lease = createEdgeLease({ store, clock, log });       // holder = a process-unique id
 *   await lease.acquire();                  // before any venue connects; waits for release/expiry
 *   venue = fenceVenue(venue, lease);       // submit/cancel carry the token, refused once stale
 *   algoStates = fenceAlgoStates(algoStates, lease);   // every put carries and checks the token
 *   ...
 *   await lease.release();                  // on SIGTERM, after the edge stopped
 *
 * The guard knows it holds the lease only until `validUntil`: the MONOTONIC time at which the last
 * successful acquire/renew request was SENT plus the TTL less a safety margin (so a request that
 * took long, or a process that was paused — SIGSTOP, a GC pause, a frozen VM — never counts time
 * it did not see). Renewals run every `renewEveryMs`; the moment validity runs out, a renewal is
 * refused, or the store reports another holder, the guard is LOST for good: `assertHeld` throws,
 * so no venue send and no algorithm-state write leaves this process again, and `onLost` tells the
 * composition to stop the edge (the process then exits and a fresh one queues for the lease).
 *
 * Algorithm-state writes are also checked against the STORED lease: a write is refused when the
 * store's token is no longer ours (belt and braces beside the records' own version check, which
 * already refuses a write that raced a successor's).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Nanos } from '../../shared/domain/time.ts';
import type {
  AlgoStatePutResult,
  AlgoStateRecord,
  AlgoStateStore,
} from '../../shared/ports/algo-state-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { type LeaseRecord, type LeaseStore, leaseActive } from '../../shared/ports/lease-store.ts';
import {
  type Venue,
  VenueError,
  type VenueOrderRequest,
  type VenueOrderState,
} from '../../shared/ports/venue.ts';

/** The lease every venue edge of a deployment takes. */
export const EDGE_LEASE_NAME = 'venue-edge';

/** Where the lease reports (pino through `leaseLog`; a loss is an ERROR that pages). */
export interface LeaseLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type EdgeLeaseState = 'idle' | 'waiting' | 'held' | 'lost' | 'released';

/** Thrown (as a VenueError the session treats like an open circuit: never reached the venue). */
export class LeaseLostError extends VenueError {
  constructor(venue: string, detail: string) {
    super('circuit_open', venue, `not sent: this edge does not hold the venue-edge lease (${detail})`);
    this.name = 'LeaseLostError';
  }
}

export interface EdgeLeaseOptions {
  store: LeaseStore;
  clock: Clock;
  log?: LeaseLog | undefined;
  name?: string | undefined;
  /** This process (default `<hostname>/<pid>/<uuid>`). */
  holder?: string | undefined;
  /** Grant length (default 15 s). */
  ttlMs?: number | undefined;
  /** Renew period (default ttl / 3). */
  renewEveryMs?: number | undefined;
  /** Retry period while another edge holds it (default 1 s). */
  retryMs?: number | undefined;
  /** Validity given up before the TTL ends, for clock drift between us and the store (default ttl / 5). */
  safetyMs?: number | undefined;
  /**
   * A renewal with no answer after this long is given up for a fresh attempt (default ttl / 5): a
   * call stuck in the client's own reconnect back-off after a store outage must not use up the
   * validity left. Its late answer still counts (a grant from its send time, or a refusal).
   */
  renewTimeoutMs?: number | undefined;
  /** Called once when the lease is lost (not on release). */
  onLost?: ((reason: string) => void) | undefined;
  /** Monotonic milliseconds (default performance.now). */
  monotonicMs?: (() => number) | undefined;
}

export interface EdgeLease {
  readonly name: string;
  readonly holder: string;
  state(): EdgeLeaseState;
  /** The token while held, else null. */
  token(): number | null;
  /** Why the lease is not held (for /readyz and logs), or null while it is. */
  detail(): string | null;
  /** Take the lease, waiting for release or expiry; resolves once held. Rejects when `abort` fires. */
  acquire(abort?: AbortSignal): Promise<number>;
  /** One attempt, no waiting: the token, or null when another edge holds it. */
  tryAcquire(): Promise<number | null>;
  /** The token if it is still provably ours; else throws LeaseLostError (and marks it lost). */
  assertHeld(venue: string, token?: number): number;
  /** Confirm against the store that `token` is still the current grant (throws LeaseLostError). */
  verifyStored(venue: string, token: number): Promise<void>;
  /** Stop renewing and give the lease up (idempotent). */
  release(): Promise<void>;
}

const sleep = (ms: number, abort?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (abort?.aborted) return reject(abort.reason);
    const t = setTimeout(() => {
      abort?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abort?.reason);
    };
    abort?.addEventListener('abort', onAbort, { once: true });
  });

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createEdgeLease(opts: EdgeLeaseOptions): EdgeLease {
  const store = opts.store;
  const name = opts.name ?? EDGE_LEASE_NAME;
  const holder = opts.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const ttlMs = opts.ttlMs ?? 15_000;
  const renewEveryMs = opts.renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3));
  const retryMs = opts.retryMs ?? 1_000;
  const safetyMs = opts.safetyMs ?? Math.floor(ttlMs / 5);
  const renewTimeoutMs = opts.renewTimeoutMs ?? Math.max(1, Math.floor(ttlMs / 5));
  const mono = opts.monotonicMs ?? (() => performance.now());
  const log = opts.log;

  let state: EdgeLeaseState = 'idle';
  let token: number | null = null;
  let validUntil = Number.NEGATIVE_INFINITY;
  let why: string | null = 'not acquired yet';
  let timer: NodeJS.Timeout | null = null;
  let renewing: Promise<void> | null = null;

  const lose = (reason: string) => {
    if (state !== 'held') return;
    state = 'lost';
    why = reason;
    if (timer) clearTimeout(timer);
    timer = null;
    log?.error(`venue-edge lease lost: ${reason}; this edge sends nothing more`, {
      lease: name,
      holder,
      fencing_token: token,
    });
    opts.onLost?.(reason);
  };

  const granted = (lease: LeaseRecord, sentAt: number) => {
    token = lease.token;
    // A late answer to an earlier attempt never shortens what a later one granted.
    validUntil = Math.max(validUntil, sentAt + ttlMs - safetyMs);
  };

  const scheduleRenewal = (afterMs = renewEveryMs) => {
    timer = setTimeout(() => {
      renewing = renew().finally(() => {
        renewing = null;
      });
    }, afterMs);
    timer.unref?.();
  };

  const renew = async () => {
    if (state !== 'held' || token === null) return;
    if (mono() >= validUntil) return lose('validity ran out before a renewal succeeded');
    const sentAt = mono();
    const answer = (r: Awaited<ReturnType<LeaseStore['renew']>>) => {
      if (state !== 'held') return;
      if (!r.ok) {
        const cur = r.current;
        lose(
          cur?.holder && cur.token !== token
            ? `superseded by ${cur.holder} (token ${cur.token})`
            : 'the store refused the renewal (expired)',
        );
        return;
      }
      granted(r.lease, sentAt);
    };
    try {
      const call = store.renew(name, holder, token, ttlMs, opts.clock.now());
      let timeout: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timeout = setTimeout(() => resolve('late'), renewTimeoutMs);
        timeout.unref?.();
      });
      const r = await Promise.race([call, late]).finally(() => clearTimeout(timeout));
      if (r === 'late') {
        // Its answer, whenever it comes, still counts; meanwhile try again with a fresh call.
        call.then(answer, () => undefined);
        throw new Error(`no answer within ${renewTimeoutMs} ms`);
      }
      answer(r);
      if (state !== 'held') return;
    } catch (err) {
      // The store is unreachable: keep trying until validity runs out.
      log?.warn(`venue-edge lease renewal failed: ${message(err)}`, { lease: name, holder });
      if (mono() >= validUntil)
        return lose(`validity ran out while the store was unreachable: ${message(err)}`);
      // Try again soon, not a whole renew period later: one failed call (a timeout, an aborted
      // transaction on a loaded store) must not use up the validity left.
      if (state === 'held') scheduleRenewal(Math.min(retryMs, renewEveryMs));
      return;
    }
    if (state === 'held') scheduleRenewal();
  };

  const attempt = async (): Promise<number | null> => {
    if (state === 'lost' || state === 'released')
      throw new Error(`venue-edge lease is ${state}; start a new process`);
    const sentAt = mono();
    const now: Nanos = opts.clock.now();
    const r = await store.acquire(name, holder, ttlMs, now);
    if (!r.ok) {
      const cur = r.current;
      why =
        cur !== null && leaseActive(cur, now)
          ? `held by ${cur.holder} (token ${cur.token}) until ${new Date(Number(cur.ts_expires / 1_000_000n)).toISOString()}`
          : 'not granted';
      return null;
    }
    granted(r.lease, sentAt);
    state = 'held';
    why = null;
    log?.info(`venue-edge lease acquired (token ${r.lease.token})`, {
      lease: name,
      holder,
      fencing_token: r.lease.token,
    });
    scheduleRenewal();
    return r.lease.token;
  };

  const self: EdgeLease = {
    name,
    holder,
    state: () => {
      if (state === 'held' && mono() >= validUntil) lose('validity ran out (no renewal in time)');
      return state;
    },
    token: () => (self.state() === 'held' ? token : null),
    detail: () => (self.state() === 'held' ? null : why),
    tryAcquire: attempt,
    async acquire(abort) {
      if (state === 'held' && token !== null) return token;
      state = 'waiting';
      let logged = false;
      for (;;) {
        try {
          const t = await attempt();
          if (t !== null) return t;
          if (!logged) log?.warn(`waiting for the venue-edge lease: ${why}`, { lease: name, holder });
          logged = true;
        } catch (err) {
          const now = state as EdgeLeaseState;
          if (now === 'lost' || now === 'released') throw err;
          why = `lease store unavailable: ${message(err)}`;
          log?.warn(`venue-edge lease: ${why}`, { lease: name, holder });
        }
        state = 'waiting';
        await sleep(retryMs, abort);
      }
    },
    assertHeld(venue, expected) {
      const s = self.state();
      if (s !== 'held' || token === null) throw new LeaseLostError(venue, why ?? s);
      if (expected !== undefined && expected !== token)
        throw new LeaseLostError(venue, `stale token ${expected}, current ${token}`);
      return token;
    },
    async verifyStored(venue, expected) {
      const stored = await store.get(name);
      if (stored === null || stored.holder !== holder || stored.token !== expected) {
        const reason = `stored lease is ${stored ? `token ${stored.token} of ${stored.holder}` : 'missing'}, ours is token ${expected}`;
        lose(reason);
        throw new LeaseLostError(venue, reason);
      }
    },
    async release() {
      if (timer) clearTimeout(timer);
      timer = null;
      await renewing?.catch(() => undefined);
      const held = state === 'held' && token !== null;
      const prev = state;
      state = 'released';
      why = 'released';
      if (!held || token === null) return;
      try {
        const ok = await store.release(name, holder, token, opts.clock.now());
        log?.info(`venue-edge lease ${ok ? 'released' : 'was no longer ours at release'} (token ${token})`, {
          lease: name,
          holder,
          fencing_token: token,
          before: prev,
        });
      } catch (err) {
        log?.warn(`venue-edge lease release failed (it expires by itself): ${message(err)}`, {
          lease: name,
          holder,
        });
      }
    },
  };
  return self;
}

/**
 * The venue with its sends fenced: `submit` and `cancel` go out only while `lease` provably holds
 * the token it held when the venue was wrapped; anything else is refused without reaching the venue.
 * `connect` and `watch` need the lease too. Reads pass through (a stale edge reading harms nothing).
 */
export function fenceVenue(venue: Venue, lease: EdgeLease): Venue {
  const token = lease.assertHeld(venue.id);
  return {
    get id() {
      return venue.id;
    },
    get account_id() {
      return venue.account_id;
    },
    get mode() {
      return venue.mode;
    },
    connect: () => {
      lease.assertHeld(venue.id, token);
      return venue.connect();
    },
    submit: (req: VenueOrderRequest, sentAt?: Nanos): Promise<VenueOrderState> => {
      try {
        lease.assertHeld(venue.id, token);
      } catch (err) {
        return Promise.reject(err);
      }
      return venue.submit(req, sentAt);
    },
    cancel: (clientOrderId, instrumentKey, sentAt) => {
      try {
        lease.assertHeld(venue.id, token);
      } catch (err) {
        return Promise.reject(err);
      }
      return venue.cancel(clientOrderId, instrumentKey, sentAt);
    },
    fetchOrder: (c, i) => venue.fetchOrder(c, i),
    fetchOpenOrders: (i) => venue.fetchOpenOrders(i),
    fetchTrades: (i, s) => venue.fetchTrades(i, s),
    fetchBalances: () => venue.fetchBalances(),
    fetchPositions: () => venue.fetchPositions(),
    fetchInstrumentRules: (k) => venue.fetchInstrumentRules(k),
    fetchBook: (i, d) => venue.fetchBook(i, d),
    watch: (keys, handler) => {
      lease.assertHeld(venue.id, token);
      return venue.watch(keys, handler);
    },
    health: () => venue.health(),
    close: () => venue.close(),
  };
}

/**
 * The algorithm-state store with its writes fenced: a `put` goes through only while `lease` holds
 * the token it held when the store was wrapped, checked locally and against the stored lease.
 */
export function fenceAlgoStates(inner: AlgoStateStore, lease: EdgeLease): AlgoStateStore {
  const token = lease.assertHeld('algo-state');
  return {
    get: (id) => inner.get(id),
    async put(next: AlgoStateRecord, expectedVersion: number): Promise<AlgoStatePutResult> {
      lease.assertHeld('algo-state', token);
      await lease.verifyStored('algo-state', token);
      lease.assertHeld('algo-state', token);
      return inner.put(next, expectedVersion);
    },
    listActive: (f) => inner.listActive(f),
    health: () => inner.health(),
    close: () => inner.close(),
  };
}

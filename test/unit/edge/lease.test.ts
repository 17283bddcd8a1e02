/**
 * The venue-edge lease guard and its fences (stateful/edge/lease.ts) on the in-memory lease store,
 * with a hand-driven monotonic clock: validity counts from when a request was SENT, a lapsed or
 * superseded lease refuses every send and algorithm-state write, release frees it at once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalLeaseStore } from '../../../infra/local/lease-store.local.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { LeaseStore } from '../../../shared/ports/lease-store.ts';
import { VenueError } from '../../../shared/ports/venue.ts';
import {
  createEdgeLease,
  type EdgeLease,
  fenceAlgoStates,
  fenceVenue,
  LeaseLostError,
} from '../../../stateful/edge/lease.ts';
import { makeRecord, T0 } from '../../contract/algo-state.contract.ts';
import { FakeVenue } from './fake-venue.ts';

const MS = 1_000_000n;

function setup(opts: { store?: LeaseStore; holder?: string } = {}) {
  const store = opts.store ?? LocalLeaseStore.memory();
  const clock = new TestClock(T0);
  let mono = 0;
  const lost: string[] = [];
  const lines: string[] = [];
  const log = {
    info: (m: string) => lines.push(`info ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
  const lease = createEdgeLease({
    store,
    clock,
    log,
    holder: opts.holder ?? 'edge-a',
    ttlMs: 1_000,
    renewEveryMs: 300,
    retryMs: 100,
    safetyMs: 200,
    monotonicMs: () => mono,
    onLost: (r) => lost.push(r),
  });
  const advance = (ms: number) => {
    mono += ms;
    clock.advance(BigInt(ms) * MS);
  };
  return { store, clock, lease, lost, lines, advance, pause: (ms: number) => (mono += ms) };
}

const order = {
  client_order_id: 'P-1-S1',
  instrument_key: 'BTC-USDT',
  side: 'BUY' as const,
  order_type: 'MARKET' as const,
  quantity: '0.01',
  price: null,
  time_in_force: 'GTC' as const,
};

describe('the venue-edge lease guard', () => {
  const leases: EdgeLease[] = [];
  afterEach(async () => {
    for (const l of leases.splice(0)) await l.release();
    vi.useRealTimers();
  });

  it('takes a free lease with token 1 and holds it', async () => {
    const s = setup();
    leases.push(s.lease);
    expect(await s.lease.acquire()).toBe(1);
    expect(s.lease.state()).toBe('held');
    expect(s.lease.assertHeld('V')).toBe(1);
    expect(s.lines).toContain('info venue-edge lease acquired (token 1)');
  });

  it('a second edge waits while the first holds it, and gets token 2 after its release', async () => {
    const store = LocalLeaseStore.memory();
    const a = setup({ store, holder: 'edge-a' });
    const b = setup({ store, holder: 'edge-b' });
    leases.push(b.lease);
    await a.lease.acquire();
    expect(await b.lease.tryAcquire()).toBeNull();
    expect(b.lease.detail()).toMatch(/^held by edge-a \(token 1\) until /);
    const waiting = b.lease.acquire();
    await new Promise((r) => setTimeout(r, 30));
    expect(b.lease.state()).toBe('waiting');
    await a.lease.release();
    expect(await waiting).toBe(2);
    expect(a.lease.state()).toBe('released');
    expect(() => a.lease.assertHeld('V')).toThrow(LeaseLostError);
  });

  it('knows it holds the lease only until TTL - safety after the request was SENT: a pause loses it', async () => {
    const s = setup();
    await s.lease.acquire();
    s.pause(799);
    expect(s.lease.assertHeld('V')).toBe(1);
    s.pause(1); // 800 ms = 1000 ttl - 200 safety, counted from the acquire request
    expect(() => s.lease.assertHeld('V')).toThrow(/does not hold the venue-edge lease/);
    expect(s.lease.state()).toBe('lost');
    expect(s.lost).toEqual(['validity ran out (no renewal in time)']);
    // Lost is for good: no way back for this process.
    await expect(s.lease.tryAcquire()).rejects.toThrow(/lost; start a new process/);
  });

  it('renews on its timer and stays held; a renewal refused because another took over loses it', async () => {
    vi.useFakeTimers();
    const store = LocalLeaseStore.memory();
    const s = setup({ store });
    await s.lease.acquire();
    for (let i = 0; i < 5; i++) {
      s.advance(300);
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(s.lease.state()).toBe('held');
    expect((await store.get('venue-edge'))?.token).toBe(1);
    // The store's lease expires (another edge's clock) and is taken by edge-b.
    const taken = await store.acquire('venue-edge', 'edge-b', 1_000, s.clock.now() + 2_000n * MS);
    expect(taken.ok).toBe(true);
    s.advance(300);
    await vi.advanceTimersByTimeAsync(300);
    expect(s.lease.state()).toBe('lost');
    expect(s.lost[0]).toMatch(/^superseded by edge-b \(token 2\)/);
    expect(s.lines.some((l) => l.startsWith('error venue-edge lease lost'))).toBe(true);
  });

  it('keeps retrying while the store is unreachable, and loses the lease when validity runs out', async () => {
    vi.useFakeTimers();
    const store = LocalLeaseStore.memory();
    const s = setup({ store });
    await s.lease.acquire();
    const renew = vi.spyOn(store, 'renew').mockRejectedValue(new Error('UNAVAILABLE'));
    s.advance(300);
    await vi.advanceTimersByTimeAsync(300);
    expect(s.lease.state()).toBe('held');
    expect(renew).toHaveBeenCalledTimes(1);
    // A failed renewal is tried again after retryMs (100), not a whole renew period (300).
    for (let i = 0; i < 4; i++) {
      s.advance(100);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(renew).toHaveBeenCalledTimes(5);
    expect(s.lease.state()).toBe('held');
    // Validity (TTL 1,000 − safety 200 from the last grant, sent at 0) runs out at 800.
    for (let i = 0; i < 4; i++) {
      s.advance(100);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(s.lease.state()).toBe('lost');
    expect(s.lost[0]).toMatch(/validity ran out/);
  });

  it('a renewal with no answer is given up for a fresh call; its late answer still counts', async () => {
    vi.useFakeTimers();
    const store = LocalLeaseStore.memory();
    const s = setup({ store });
    await s.lease.acquire();
    const real = store.renew.bind(store);
    let calls = 0;
    let releaseStuck: (() => void) | null = null;
    vi.spyOn(store, 'renew').mockImplementation(async (...args) => {
      calls += 1;
      // The first call hangs (a client in its reconnect back-off after a store outage).
      if (calls === 1) await new Promise<void>((r) => (releaseStuck = r));
      return await real(...args);
    });
    s.advance(300);
    await vi.advanceTimersByTimeAsync(300); // renewal 1 sent at 300, hangs
    s.advance(200);
    await vi.advanceTimersByTimeAsync(200); // no answer within ttl/5 = 200 ms: given up
    expect(s.lines.some((l) => l.includes('no answer within 200 ms'))).toBe(true);
    s.advance(100);
    await vi.advanceTimersByTimeAsync(100); // a fresh call at 600 succeeds
    expect(calls).toBe(2);
    // Validity now runs from 600 (→ 1,400), past the first grant's 800.
    s.advance(250);
    expect(s.lease.state()).toBe('held');
    // The stuck call answers late: it is applied, and does not shorten the later grant.
    (releaseStuck as (() => void) | null)?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.lease.state()).toBe('held');
    for (let i = 0; i < 10; i++) {
      s.advance(300);
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(s.lease.state()).toBe('held');
    expect(s.lost).toEqual([]);
  });

  it('a renewal that fails once is retried at once and keeps the lease', async () => {
    vi.useFakeTimers();
    const store = LocalLeaseStore.memory();
    const s = setup({ store });
    await s.lease.acquire();
    const real = store.renew.bind(store);
    let calls = 0;
    vi.spyOn(store, 'renew').mockImplementation(async (...args) => {
      calls += 1;
      if (calls === 1) throw new Error('ABORTED: too much contention');
      return await real(...args);
    });
    // Renew at 300 fails; the retry at 400 succeeds, long before validity (800) runs out. A
    // retry a whole period later (600), failing again, would have lost it.
    s.advance(300);
    await vi.advanceTimersByTimeAsync(300);
    s.advance(100);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(2);
    for (let i = 0; i < 10; i++) {
      s.advance(300);
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(s.lease.state()).toBe('held');
    expect(s.lost).toEqual([]);
  });
});

describe('the fences', () => {
  it('a fenced venue sends while the lease is held and refuses without reaching the venue once lost', async () => {
    const s = setup();
    await s.lease.acquire();
    const venue = new FakeVenue('V', 'acct', s.clock);
    const fenced = fenceVenue(venue, s.lease);
    await fenced.connect();
    await fenced.submit(order);
    expect(venue.submitCalls).toHaveLength(1);
    s.pause(5_000);
    const refused = await fenced.submit({ ...order, client_order_id: 'P-1-S2' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LeaseLostError);
    expect(refused).toBeInstanceOf(VenueError);
    expect((refused as VenueError).kind).toBe('circuit_open');
    await expect(fenced.cancel('P-1-S1', 'BTC-USDT')).rejects.toBeInstanceOf(LeaseLostError);
    expect(venue.submitCalls).toHaveLength(1);
    expect(venue.cancelCalls).toHaveLength(0);
    // Reads still pass (a stale edge reading harms nothing).
    expect(await fenced.fetchOpenOrders()).toEqual([]);
    await s.lease.release();
  });

  it('a venue fenced under an old token refuses even while this process holds a newer grant', async () => {
    const s = setup();
    await s.lease.acquire();
    const venue = new FakeVenue('V', 'acct', s.clock);
    const fenced = fenceVenue(venue, s.lease);
    expect(() => s.lease.assertHeld('V', 7)).toThrow(/stale token 7, current 1/);
    await fenced.submit(order);
    expect(venue.submitCalls).toHaveLength(1);
    await s.lease.release();
  });

  it('fences algorithm-state writes on the local grant and on the stored lease', async () => {
    const store = LocalLeaseStore.memory();
    const s = setup({ store });
    await s.lease.acquire();
    const inner = LocalAlgoStateStore.memory();
    const fenced = fenceAlgoStates(inner, s.lease);
    const rec = makeRecord('OP-1');
    expect((await fenced.put(rec, 0)).ok).toBe(true);
    // The stored lease moved on (another edge's grant) while this process still thinks it holds it.
    await store.release('venue-edge', 'edge-a', 1, s.clock.now());
    await store.acquire('venue-edge', 'edge-b', 1_000, s.clock.now());
    await expect(fenced.put({ ...rec, version: 2 }, 1)).rejects.toThrow(/stored lease is token 2 of edge-b/);
    expect((await inner.get('OP-1'))?.version).toBe(1);
    expect(s.lease.state()).toBe('lost');
    await expect(fenced.put({ ...rec, version: 2 }, 1)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('needs the lease to wrap at all', () => {
    const s = setup();
    expect(() => fenceVenue(new FakeVenue('V', 'acct', s.clock), s.lease)).toThrow(LeaseLostError);
    expect(() => fenceAlgoStates(LocalAlgoStateStore.memory(), s.lease)).toThrow(LeaseLostError);
  });
});

/**
 * The LeaseStore contract: every adapter (local in memory, local with a journal, Firestore on the
 * emulator) grants one holder at a time, with a fencing token that only ever increases.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../../shared/ports/lease-store.ts';
import type { StoreHarness } from '../support/store-suite.ts';

const T0 = 1_751_328_300_000_000_000n;
const MS = 1_000_000n;
const TTL = 10_000;
const L = 'venue-edge';

export function leaseStoreContract(
  name: string,
  factory: () => Promise<StoreHarness<LeaseStore>>,
  opts: { durable: boolean },
): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let h: StoreHarness<LeaseStore>;
    let store: LeaseStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('grants a free lease with token 1 and refuses a second holder while it runs', async () => {
      expect(await store.get(L)).toBeNull();
      const a = await store.acquire(L, 'edge-a', TTL, T0);
      expect(a).toEqual({
        ok: true,
        lease: {
          name: L,
          holder: 'edge-a',
          token: 1,
          ts_expires: T0 + 10_000n * MS,
          ts_acquired: T0,
          ts_updated: T0,
        },
      });
      const b = await store.acquire(L, 'edge-b', TTL, T0 + 9_999n * MS);
      expect(b).toMatchObject({ ok: false, reason: 'held', current: { holder: 'edge-a', token: 1 } });
      expect(await store.get(L)).toMatchObject({ holder: 'edge-a', token: 1 });
    });

    it('re-acquiring by the holder extends the same grant (same token)', async () => {
      await store.acquire(L, 'edge-a', TTL, T0);
      const again = await store.acquire(L, 'edge-a', TTL, T0 + 5n * MS);
      expect(again).toMatchObject({
        ok: true,
        lease: { token: 1, ts_expires: T0 + 10_005n * MS, ts_acquired: T0 },
      });
    });

    it('renews only the current, unexpired grant of its holder', async () => {
      await store.acquire(L, 'edge-a', TTL, T0);
      const r = await store.renew(L, 'edge-a', 1, TTL, T0 + 4_000n * MS);
      expect(r).toMatchObject({ ok: true, lease: { token: 1, ts_expires: T0 + 14_000n * MS } });
      expect(await store.renew(L, 'edge-b', 1, TTL, T0 + 4_001n * MS)).toMatchObject({
        ok: false,
        reason: 'lost',
      });
      expect(await store.renew(L, 'edge-a', 2, TTL, T0 + 4_001n * MS)).toMatchObject({
        ok: false,
        reason: 'lost',
      });
      // Expired: renewing is refused even though nobody took it — the holder must acquire anew.
      expect(await store.renew(L, 'edge-a', 1, TTL, T0 + 14_000n * MS)).toMatchObject({
        ok: false,
        reason: 'lost',
        current: { holder: 'edge-a', token: 1 },
      });
    });

    it('hands an expired lease to the next holder with the next token; the old grant is dead', async () => {
      await store.acquire(L, 'edge-a', TTL, T0);
      const b = await store.acquire(L, 'edge-b', TTL, T0 + 10_000n * MS);
      expect(b).toMatchObject({
        ok: true,
        lease: { holder: 'edge-b', token: 2, ts_acquired: T0 + 10_000n * MS },
      });
      expect(await store.renew(L, 'edge-a', 1, TTL, T0 + 10_001n * MS)).toMatchObject({
        ok: false,
        reason: 'lost',
        current: { holder: 'edge-b', token: 2 },
      });
      expect(await store.release(L, 'edge-a', 1, T0 + 10_002n * MS)).toBe(false);
      expect(await store.get(L)).toMatchObject({ holder: 'edge-b', token: 2 });
    });

    it('release frees the lease at once and keeps the token; the next grant increments it', async () => {
      await store.acquire(L, 'edge-a', TTL, T0);
      expect(await store.release(L, 'edge-a', 1, T0 + MS)).toBe(true);
      expect(await store.get(L)).toMatchObject({ holder: null, token: 1, ts_expires: 0n });
      expect(await store.release(L, 'edge-a', 1, T0 + 2n * MS)).toBe(false);
      const b = await store.acquire(L, 'edge-b', TTL, T0 + 2n * MS);
      expect(b).toMatchObject({ ok: true, lease: { holder: 'edge-b', token: 2 } });
      // Even the same holder gets a new token after its release.
      await store.release(L, 'edge-b', 2, T0 + 3n * MS);
      expect(await store.acquire(L, 'edge-b', TTL, T0 + 4n * MS)).toMatchObject({
        ok: true,
        lease: { token: 3 },
      });
    });

    it('keeps leases apart by name', async () => {
      await store.acquire(L, 'edge-a', TTL, T0);
      expect(await store.acquire('other/lease', 'edge-b', TTL, T0)).toMatchObject({
        ok: true,
        lease: { token: 1 },
      });
      expect(await store.get('other/lease')).toMatchObject({ holder: 'edge-b' });
    });

    it('gives exactly one of many concurrent acquirers the lease', async () => {
      const holders = Array.from({ length: 6 }, (_, i) => `edge-${i}`);
      const results = await Promise.all(holders.map((x) => store.acquire(L, x, TTL, T0)));
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      expect(await store.get(L)).toMatchObject({
        token: 1,
        holder: winners[0]?.ok ? winners[0].lease.holder : '',
      });
    });

    it('refuses a bad request with a clear error naming the field', async () => {
      await expect(store.acquire(L, '', TTL, T0)).rejects.toThrow(/holder: must not be empty/);
      await expect(store.acquire(L, 'a', 0, T0)).rejects.toThrow(/ttl_ms: must be a positive integer/);
    });

    it('lists the held, unexpired leases, soonest expiry first', async () => {
      await store.acquire('b', 'edge-b', 20_000, T0);
      await store.acquire('a', 'edge-a', TTL, T0);
      await store.acquire('c', 'edge-c', TTL, T0);
      await store.release('c', 'edge-c', 1, T0 + MS);
      expect((await store.held(T0 + 2n * MS)).map((l) => [l.name, l.holder])).toEqual([
        ['a', 'edge-a'],
        ['b', 'edge-b'],
      ]);
      expect((await store.held(T0 + 10_000n * MS)).map((l) => l.name)).toEqual(['b']);
    });

    it('is healthy while open', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    if (opts.durable) {
      it('keeps the token across a restart, so it never goes back', async () => {
        await store.acquire(L, 'edge-a', TTL, T0);
        await store.release(L, 'edge-a', 1, T0 + MS);
        await store.acquire(L, 'edge-b', TTL, T0 + 2n * MS);
        if (!h.reopen) throw new Error('durable harness without reopen');
        store = await h.reopen();
        expect(await store.get(L)).toMatchObject({ holder: 'edge-b', token: 2 });
        expect(await store.acquire(L, 'edge-c', TTL, T0 + 20_000n * MS)).toMatchObject({
          ok: true,
          lease: { token: 3 },
        });
      });
    }
  });
}

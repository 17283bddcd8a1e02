/**
 * The PositionStore contract: every adapter (local in memory, local with a journal, Firestore on
 * the emulator) must pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Position } from '../../shared/domain/types.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';

export interface PositionStoreHarness {
  store: PositionStore;
  /** Close the store and open a fresh one over the same data (a restart). Required when durable. */
  reopen?: () => Promise<PositionStore>;
  cleanup?: () => Promise<void>;
}

export interface PositionContractOptions {
  /** The adapter keeps its data across a restart: run the restart test. */
  durable: boolean;
}

const T0 = 1_751_328_300_123_456_789n;
const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';

export function makePosition(
  accountId: string,
  instrumentKey: string,
  over: Partial<Position> = {},
): Position {
  return {
    account_id: accountId,
    instrument_key: instrumentKey,
    quantity: '0.5',
    avg_entry_price: '65000.1',
    realized_pnl: '0',
    fees: '0.0005',
    venues: { 'BINANCE-SPOT': '0.5' },
    last_fill_id: 'F-1',
    version: 1,
    ts_updated: T0,
    ...over,
  };
}

function bump(p: Position, over: Partial<Position>): Position {
  return { ...p, ...over, version: p.version + 1, ts_updated: p.ts_updated + 1_000_000_000n };
}

export function positionStoreContract(
  name: string,
  factory: () => Promise<PositionStoreHarness>,
  opts: PositionContractOptions,
): void {
  describe(`PositionStore contract: ${name}`, () => {
    let h: PositionStoreHarness;
    let store: PositionStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup?.();
    });

    it('get of an unknown position is null; list of an empty book is []', async () => {
      expect(await store.get('acct-1', BTC)).toBeNull();
      expect(await store.list()).toEqual([]);
    });

    it('creates with expectedVersion 0; bigint timestamps and decimals round-trip exactly', async () => {
      const p = makePosition('acct-1', BTC, {
        ts_updated: 1751328300123456789n,
        quantity: '-0.000000000000000001',
      });
      expect(await store.put(p, 0)).toEqual({ ok: true, position: p });
      const got = await store.get('acct-1', BTC);
      expect(got).toEqual(p);
      expect(got?.ts_updated).toBe(1751328300123456789n);
    });

    it('round-trips optional fields and a flat position', async () => {
      const flat = makePosition('acct-1', ETH, {
        quantity: '0',
        avg_entry_price: null,
        cost_basis: '0',
        venues: {},
        last_fill_id: null,
      });
      await store.put(flat, 0);
      expect(await store.get('acct-1', ETH)).toEqual(flat);
    });

    it('expectedVersion 0 when the position exists → version_conflict with what is stored', async () => {
      const p = makePosition('acct-1', BTC);
      await store.put(p, 0);
      const r = await store.put(makePosition('acct-1', BTC, { quantity: '9' }), 0);
      expect(r).toEqual({ ok: false, reason: 'version_conflict', current: p });
      expect(await store.get('acct-1', BTC)).toEqual(p);
    });

    it('moves on version by version; a stale version conflicts', async () => {
      const p1 = makePosition('acct-1', BTC);
      await store.put(p1, 0);
      const p2 = bump(p1, {
        quantity: '1',
        venues: { 'BINANCE-SPOT': '0.5', 'BYBIT-SPOT': '0.5' },
        last_fill_id: 'F-2',
      });
      expect(await store.put(p2, 1)).toEqual({ ok: true, position: p2 });
      const p3 = bump(p2, { quantity: '0.25', realized_pnl: '12.5', venues: { 'BYBIT-SPOT': '0.25' } });
      expect(await store.put(p3, 2)).toEqual({ ok: true, position: p3 });
      expect(await store.get('acct-1', BTC)).toEqual(p3);
      const stale = await store.put(bump(p1, { quantity: '7' }), 1);
      expect(stale).toEqual({ ok: false, reason: 'version_conflict', current: p3 });
    });

    it('a versioned put of a missing position conflicts with current null', async () => {
      const p = makePosition('acct-1', BTC, { version: 4 });
      expect(await store.put(p, 3)).toEqual({ ok: false, reason: 'version_conflict', current: null });
      expect(await store.get('acct-1', BTC)).toBeNull();
    });

    it('refuses a next version that is not expectedVersion + 1', async () => {
      await expect(store.put(makePosition('acct-1', BTC, { version: 2 }), 0)).rejects.toThrow(/version/);
      await expect(store.put(makePosition('acct-1', BTC, { version: 1 }), -1)).rejects.toThrow(
        /expectedVersion/,
      );
      expect(await store.get('acct-1', BTC)).toBeNull();
    });

    it('refuses a malformed position with an error naming the field', async () => {
      await expect(store.put({ ...makePosition('acct-1', BTC), quantity: 'many' }, 0)).rejects.toThrow(
        /quantity/,
      );
      await expect(
        store.put({ ...makePosition('acct-1', BTC), venues: { 'BINANCE-SPOT': 'x' } }, 0),
      ).rejects.toThrow(/venues/);
    });

    it('20 concurrent creates: exactly one wins, the rest see it', async () => {
      const tries = Array.from({ length: 20 }, (_, i) =>
        makePosition('acct-1', BTC, { last_fill_id: `F-${i}` }),
      );
      const results = await Promise.all(tries.map((p) => store.put(p, 0)));
      const wins = results.filter((r) => r.ok);
      expect(wins).toHaveLength(1);
      const stored = await store.get('acct-1', BTC);
      expect(wins[0]).toEqual({ ok: true, position: stored });
      for (const r of results) if (!r.ok) expect(r.current).toEqual(stored);
    });

    it('two concurrent puts from one version: one ok, one version_conflict with the winner', async () => {
      const p1 = makePosition('acct-1', BTC);
      await store.put(p1, 0);
      const a = bump(p1, { quantity: '1', last_fill_id: 'F-a' });
      const b = bump(p1, { quantity: '0', last_fill_id: 'F-b' });
      const [ra, rb] = await Promise.all([store.put(a, 1), store.put(b, 1)]);
      expect([ra, rb].filter((r) => r.ok)).toHaveLength(1);
      const winner = ra.ok ? a : b;
      expect(ra.ok ? rb : ra).toEqual({ ok: false, reason: 'version_conflict', current: winner });
      expect(await store.get('acct-1', BTC)).toEqual(winner);
    });

    it('lists all, by account, by instrument, by both; sorted by account then instrument', async () => {
      const ps = [
        makePosition('acct-2', BTC),
        makePosition('acct-1', PERP),
        makePosition('acct-1', BTC),
        makePosition('acct-1', ETH),
        makePosition('acct-3', ETH),
      ];
      for (const p of ps) await store.put(p, 0);
      const key = (p: Position) => `${p.account_id} ${p.instrument_key}`;
      expect((await store.list()).map(key)).toEqual([
        `acct-1 ${PERP}`,
        `acct-1 ${BTC}`,
        `acct-1 ${ETH}`,
        `acct-2 ${BTC}`,
        `acct-3 ${ETH}`,
      ]);
      expect((await store.list({})).length).toBe(5);
      expect((await store.list({ account_id: 'acct-1' })).map(key)).toEqual([
        `acct-1 ${PERP}`,
        `acct-1 ${BTC}`,
        `acct-1 ${ETH}`,
      ]);
      expect((await store.list({ instrument_key: ETH })).map(key)).toEqual([
        `acct-1 ${ETH}`,
        `acct-3 ${ETH}`,
      ]);
      expect(await store.list({ account_id: 'acct-1', instrument_key: BTC })).toEqual([
        makePosition('acct-1', BTC),
      ]);
      expect(await store.list({ account_id: 'acct-9' })).toEqual([]);
    });

    it('keeps awkward keys apart: "/", "|", "%", reserved ids', async () => {
      const pairs: Array<[string, string]> = [
        ['a/b', 'c'],
        ['a', 'b/c'],
        ['a|b', 'c'],
        ['a', 'b|c'],
        ['a%7Cb', 'c'],
        ['__x__', '.'],
        ['.', '..'],
      ];
      for (const [a, i] of pairs) await store.put(makePosition(a, i, { last_fill_id: `${a}+${i}` }), 0);
      for (const [a, i] of pairs) expect((await store.get(a, i))?.last_fill_id).toBe(`${a}+${i}`);
      expect(await store.list()).toHaveLength(pairs.length);
    });

    it('round-trips venue names with dots and dollars', async () => {
      const p = makePosition('acct-1', BTC, { venues: { 'venue.with.dots': '1', $odd: '2', 'a b': '-3' } });
      await store.put(p, 0);
      expect(await store.get('acct-1', BTC)).toEqual(p);
      const p2 = bump(p, { venues: { 'venue.with.dots': '0' } });
      await store.put(p2, 1);
      expect(await store.get('acct-1', BTC)).toEqual(p2);
    });

    it('an optional field removed in a later version is gone', async () => {
      const p1 = makePosition('acct-1', BTC, { cost_basis: '32500.05' });
      await store.put(p1, 0);
      const { cost_basis: _, ...rest } = p1;
      const p2 = bump(rest, {});
      await store.put(p2, 1);
      const got = await store.get('acct-1', BTC);
      expect(got).toEqual(p2);
      expect(got && 'cost_basis' in got).toBe(false);
    });

    it('returns copies: mutating a result does not change the store', async () => {
      const p = makePosition('acct-1', BTC);
      await store.put(p, 0);
      const got = (await store.get('acct-1', BTC))!;
      got.venues['BINANCE-SPOT'] = '100';
      p.quantity = '100';
      expect(await store.get('acct-1', BTC)).toEqual(makePosition('acct-1', BTC));
    });

    it('reports health', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    // Only durable adapters: the memory-only store keeps nothing across a restart by design.
    if (opts.durable) {
      it('everything survives a restart', async () => {
        if (!h.reopen) throw new Error('a durable harness must provide reopen()');
        const p1 = makePosition('acct-1', BTC);
        const p2 = makePosition('acct-2', ETH, { cost_basis: '1.5' });
        await store.put(p1, 0);
        await store.put(p2, 0);
        const p1b = bump(p1, { quantity: '2' });
        await store.put(p1b, 1);
        const before = await store.list();
        store = await h.reopen();
        expect(await store.list()).toEqual(before);
        expect(await store.get('acct-1', BTC)).toEqual(p1b);
        expect(await store.put(bump(p1, {}), 1)).toEqual({
          ok: false,
          reason: 'version_conflict',
          current: p1b,
        });
        const p1c = bump(p1b, { quantity: '3' });
        expect(await store.put(p1c, 2)).toEqual({ ok: true, position: p1c });
      });
    }
  });
}

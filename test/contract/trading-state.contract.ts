/**
 * The TradingStateStore contract: every adapter (local in memory, local with a journal, Firestore on
 * the emulator) must pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TradingStateStore } from '../../shared/ports/trading-state-store.ts';

export interface TradingStateHarness {
  store: TradingStateStore;
  /** Close and open a fresh store over the same data (a restart). Required when durable. */
  reopen?: () => Promise<TradingStateStore>;
}

const T0 = 1_751_328_300_123_456_789n;
const GLOBAL = { kind: 'global' } as const;
const strategy = (id: string) => ({ kind: 'strategy', strategy_id: id }) as const;

export function tradingStateContract(
  name: string,
  factory: () => Promise<TradingStateHarness>,
  opts: { durable: boolean },
): void {
  describe(`TradingStateStore contract: ${name}`, () => {
    let h: TradingStateHarness;
    let store: TradingStateStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('starts empty', async () => {
      expect(await store.snapshot()).toEqual({ global: null, strategies: {} });
      expect(await store.history()).toEqual([]);
    });

    it('records the global state with reason, who and when, versioned', async () => {
      const e1 = await store.set(
        GLOBAL,
        { state: 'HALTED', reason: 'exchange incident', updated_by: 'alice' },
        T0,
      );
      expect(e1).toEqual({
        state: 'HALTED',
        reason: 'exchange incident',
        updated_by: 'alice',
        ts_updated: T0,
        version: 1,
      });
      const e2 = await store.set(GLOBAL, { state: 'ACTIVE', reason: 'resolved', updated_by: 'bob' }, T0 + 5n);
      expect(e2.version).toBe(2);
      expect(await store.snapshot()).toEqual({ global: e2, strategies: {} });
    });

    it('keeps strategies apart from the global state and from each other', async () => {
      await store.set(
        strategy('momentum/v1'),
        { state: 'REDUCING', reason: 'drift', updated_by: 'drift-monitor' },
        T0,
      );
      await store.set(
        strategy('carry'),
        { state: 'HALTED', reason: 'pnl stop', updated_by: 'risk' },
        T0 + 1n,
      );
      const s = await store.snapshot();
      expect(s.global).toBeNull();
      expect(s.strategies['momentum/v1']).toMatchObject({ state: 'REDUCING', version: 1 });
      expect(s.strategies.carry).toMatchObject({ state: 'HALTED', version: 1 });
    });

    it('history lists changes newest first with the previous state, per scope and limited', async () => {
      await store.set(GLOBAL, { state: 'REDUCING', reason: 'a', updated_by: 'u' }, T0);
      await store.set(strategy('s1'), { state: 'HALTED', reason: 'b', updated_by: 'u' }, T0 + 1n);
      await store.set(GLOBAL, { state: 'HALTED', reason: 'c', updated_by: 'u' }, T0 + 2n);
      const all = await store.history();
      expect(all.map((x) => [x.reason, x.previous, x.version])).toEqual([
        ['c', 'REDUCING', 2],
        ['b', null, 1],
        ['a', null, 1],
      ]);
      expect(all[1]?.scope).toEqual(strategy('s1'));
      expect((await store.history({ scope: GLOBAL })).map((x) => x.reason)).toEqual(['c', 'a']);
      expect((await store.history({ limit: 1 })).map((x) => x.reason)).toEqual(['c']);
    });

    it('refuses a change without a reason or author, or with an unknown state', async () => {
      await expect(store.set(GLOBAL, { state: 'HALTED', reason: '', updated_by: 'u' }, T0)).rejects.toThrow(
        /reason/,
      );
      await expect(store.set(GLOBAL, { state: 'HALTED', reason: 'r', updated_by: '' }, T0)).rejects.toThrow(
        /updated_by/,
      );
      const bogus = JSON.parse('{"state": "PAUSED", "reason": "r", "updated_by": "u"}');
      await expect(store.set(GLOBAL, bogus, T0)).rejects.toThrow(/state/);
      expect((await store.snapshot()).global).toBeNull();
    });

    it('concurrent changes get distinct versions and all reach the history', async () => {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.set(
            GLOBAL,
            { state: i % 2 ? 'HALTED' : 'ACTIVE', reason: `r${i}`, updated_by: 'u' },
            T0 + BigInt(i),
          ),
        ),
      );
      const h8 = await store.history({ scope: GLOBAL });
      expect(h8.map((x) => x.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect((await store.snapshot()).global?.version).toBe(8);
    });

    if (opts.durable) {
      it('a HALT survives a restart', async () => {
        await store.set(GLOBAL, { state: 'HALTED', reason: 'incident', updated_by: 'ops' }, T0);
        await store.set(strategy('s'), { state: 'REDUCING', reason: 'x', updated_by: 'ops' }, T0 + 1n);
        const before = await store.snapshot();
        if (!h.reopen) throw new Error('a durable harness needs reopen');
        store = await h.reopen();
        expect(await store.snapshot()).toEqual(before);
        expect(await store.history()).toHaveLength(2);
      });
    }
  });
}

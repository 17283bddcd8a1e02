/**
 * The RiskLedgerStore contract: every adapter (local in memory, local with a journal, Firestore on
 * the emulator) must pass the same behaviour tests — above all, that concurrent read-modify-writes
 * never lose an update.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeByOps, type RiskLedgerStore } from '../../shared/ports/risk-ledger-store.ts';
import {
  applyLedgerOps,
  applyReservation,
  emptyLedger,
  type LedgerOp,
  type RiskLedger,
} from '../../shared/risk/ledger.ts';
import type { Reservation } from '../../shared/risk/types.ts';

export interface RiskLedgerHarness {
  store: RiskLedgerStore;
  /** Close and open a fresh store over the same data (a restart). Required when durable. */
  reopen?: () => Promise<RiskLedgerStore>;
}

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

export function reservation(id: string, over: Partial<Reservation> = {}): Reservation {
  return {
    id,
    instrument_key: BTC,
    strategy_id: 'strat-1',
    side: 'BUY',
    quantity: '0.1',
    mark: '60000',
    balance: { currency: 'USDT', amount: '6006' },
    ts_ns: '1751328300000000000',
    ledger_version: null,
    ...over,
  };
}

/** An update that adds one reservation to scope `s` (returns the version it saw). */
function reserve(store: RiskLedgerStore, s: string, r: Reservation): Promise<number> {
  return store.update([s], (l) => {
    const before = l[s] as RiskLedger;
    return { result: before.version, next: { [s]: applyReservation(before, r) } };
  });
}

export function riskLedgerContract(
  name: string,
  factory: () => Promise<RiskLedgerHarness>,
  opts: { durable: boolean; concurrency?: number },
): void {
  describe(`RiskLedgerStore contract: ${name}`, () => {
    let h: RiskLedgerHarness;
    let store: RiskLedgerStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('an unknown scope reads as the empty ledger', async () => {
      expect(await store.get('global')).toEqual(emptyLedger());
      expect(await store.update(['global'], (l) => ({ result: l.global }))).toEqual(emptyLedger());
    });

    it('update writes what fn returns and hands back its result', async () => {
      const seen = await reserve(store, 'global', reservation('OP-1'));
      expect(seen).toBe(0);
      const l = await store.get('global');
      expect(l.version).toBe(1);
      expect(l.open['OP-1']?.reservation).toEqual(reservation('OP-1'));
      expect(l.instruments[BTC]).toMatchObject({ working_buy: '0.1', mark: '60000', exposure: '6000' });
      expect(l.reserved_balance).toEqual({ USDT: '6006' });
    });

    it('an update without `next` writes nothing', async () => {
      await reserve(store, 'global', reservation('OP-1'));
      const r = await store.update(['global'], (l) => ({ result: Object.keys(l.global?.open ?? {}) }));
      expect(r).toEqual(['OP-1']);
      expect((await store.get('global')).version).toBe(1);
    });

    it('updates several scopes atomically, and refuses to write a scope it did not read', async () => {
      await store.update(['b', 'a', 'a'], (l) => ({
        result: Object.keys(l).sort(),
        next: {
          a: applyReservation(l.a as RiskLedger, reservation('A')),
          b: applyReservation(l.b as RiskLedger, reservation('B')),
        },
      }));
      expect(Object.keys((await store.get('a')).open)).toEqual(['A']);
      expect(Object.keys((await store.get('b')).open)).toEqual(['B']);
      await expect(
        store.update(['a'], (l) => ({ result: 0, next: { c: l.a as RiskLedger } })),
      ).rejects.toThrow(/did not read/);
      await expect(store.update([], () => ({ result: 0 }))).rejects.toThrow(/at least one scope/);
    });

    it('a malformed ledger from fn is refused and nothing is written', async () => {
      await reserve(store, 'global', reservation('OP-1'));
      const bad = { ...emptyLedger(), version: 5, total_exposure: 'lots' };
      await expect(store.update(['global'], () => ({ result: 0, next: { global: bad } }))).rejects.toThrow(
        /total_exposure/,
      );
      expect((await store.get('global')).version).toBe(1);
    });

    it(`concurrent updates never lose one (${opts.concurrency ?? 25} at once on one scope)`, async () => {
      const n = opts.concurrency ?? 25;
      await Promise.all(
        Array.from({ length: n }, (_, i) => reserve(store, 'global', reservation(`OP-${i}`))),
      );
      const l = await store.get('global');
      expect(Object.keys(l.open)).toHaveLength(n);
      expect(l.version).toBe(n);
      expect(l.instruments[BTC]?.working_buy).toBe(String(n / 10));
    });

    it('releaseReservation closes a reservation once (idempotent) and recordFill moves quantity to position', async () => {
      await reserve(store, 'global', reservation('OP-1'));
      await reserve(store, 'global', reservation('OP-2', { side: 'SELL', balance: null }));
      expect(await store.recordFill('OP-1', '0.04')).toBe(true);
      let l = await store.get('global');
      expect(l.instruments[BTC]).toMatchObject({
        position: '0.04',
        working_buy: '0.06',
        working_sell: '0.1',
      });
      expect(await store.releaseReservation('OP-1', '0.05')).toBe(true);
      expect(await store.releaseReservation('OP-1', '0.05')).toBe(false);
      expect(await store.recordFill('OP-1', '0.01')).toBe(false);
      l = await store.get('global');
      expect(Object.keys(l.open)).toEqual(['OP-2']);
      expect(l.instruments[BTC]).toMatchObject({ position: '0.05', working_buy: '0', working_sell: '0.1' });
      expect(l.reserved_balance.USDT).toBe('0');
      expect(await store.releaseReservation('OP-2', '0', 'global')).toBe(true);
      expect(await store.releaseReservation('never', '0')).toBe(false);
    });

    it('a change given as ops (changeByOps) writes exactly its pure next', async () => {
      const steps: Array<(l: RiskLedger) => LedgerOp[]> = [
        (l) => [
          { op: 'set_position', instrument_key: BTC, strategy_id: null, quantity: '0.5' },
          {
            op: 'reserve',
            reservation: reservation('OP-1', { ledger_version: l.version + 1 }),
            max_recent: 3,
          },
        ],
        () => [
          { op: 'reserve', reservation: reservation('OP-2', { side: 'SELL', balance: null }), max_recent: 3 },
        ],
        () => [{ op: 'fill', id: 'OP-1', quantity: '0.04' }],
        () => [{ op: 'mark', instrument_key: BTC, price: '61000' }],
        () => [{ op: 'release', id: 'OP-1', filled: '0.06' }],
        () => [{ op: 'set_position', instrument_key: BTC, strategy_id: 'strat-1', quantity: '0.2' }],
      ];
      let expected = emptyLedger();
      for (const [i, step] of steps.entries()) {
        const ops = step(expected);
        const result = await store.update(['global'], (l) => changeByOps(l, i, { global: ops }));
        expect(result).toBe(i);
        expected = applyLedgerOps(expected, ops);
        expect(await store.get('global')).toEqual(expected);
      }
      expect(expected.version).toBe(8);
      // Ops that change nothing write nothing.
      await store.update(['global'], (l) =>
        changeByOps(l, 0, { global: [{ op: 'release', id: 'never', filled: '0' }] }),
      );
      expect((await store.get('global')).version).toBe(8);
      if (opts.durable) {
        if (!h.reopen) throw new Error('a durable harness needs reopen');
        store = await h.reopen();
        expect(await store.get('global')).toEqual(expected);
      }
    });

    it('ops are all or nothing: a stale or malformed op, or an unread scope, writes nothing', async () => {
      await reserve(store, 'global', reservation('OP-1'));
      const before = await store.get('global');
      const good: LedgerOp = { op: 'release', id: 'OP-1', filled: '0' };
      const stale: LedgerOp = {
        op: 'reserve',
        reservation: reservation('OP-2', { ledger_version: 0 }),
        max_recent: null,
      };
      await expect(
        store.update(['global'], (l) => changeByOps(l, 0, { global: [good, stale] })),
      ).rejects.toThrow(/ledger version/);
      const malformed: LedgerOp = {
        op: 'reserve',
        reservation: reservation('OP-3', { quantity: 'lots' }),
        max_recent: null,
      };
      await expect(
        store.update(['global'], (l) => changeByOps(l, 0, { global: [good, malformed] })),
      ).rejects.toThrow(/quantity|decimal/);
      await expect(store.update(['global'], (l) => changeByOps(l, 0, { other: [good] }))).rejects.toThrow(
        /did not read/,
      );
      expect(await store.get('global')).toEqual(before);
      expect(await store.get('other')).toEqual(emptyLedger());
    });

    it('health is ok while open', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    if (opts.durable) {
      it('survives a restart', async () => {
        await reserve(store, 'global', reservation('OP-1'));
        await reserve(store, 'strategy:x', reservation('OP-2'));
        await store.releaseReservation('OP-1', '0.1');
        const before = { g: await store.get('global'), s: await store.get('strategy:x') };
        if (!h.reopen) throw new Error('a durable harness needs reopen');
        store = await h.reopen();
        expect(await store.get('global')).toEqual(before.g);
        expect(await store.get('strategy:x')).toEqual(before.s);
      });
    }
  });
}

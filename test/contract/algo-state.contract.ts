/**
 * The AlgoStateStore contract: every adapter (local in memory, local with a journal, Firestore on
 * the emulator) must pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initAlgo, nextAlgo, onChildUpdate } from '../../shared/algos/scheduler.ts';
import type { AlgoState } from '../../shared/algos/types.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { AlgoStateRecord, AlgoStateStore } from '../../shared/ports/algo-state-store.ts';

export interface AlgoStateHarness {
  store: AlgoStateStore;
  /** Close and open a fresh store over the same data (a restart). Required when durable. */
  reopen?: () => Promise<AlgoStateStore>;
}

export const T0 = 1_751_328_300_123_456_789n;
const SECOND = 1_000_000_000n;

export const SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
};

/** A TWAP state after its first slice went out and was partly filled (nested, non-trivial). */
export function sampleState(orderId: string): AlgoState {
  const s0 = initAlgo(
    'TWAP',
    { order_id: orderId, instrument_key: SPEC.instrument_key, side: 'BUY', quantity: '0.3' },
    { duration_sec: 60, max_slices: 3, seed: 7 },
    T0,
    SPEC,
  );
  const step = nextAlgo(s0, T0);
  const first = step.actions[0];
  if (first?.kind !== 'submit') throw new Error('expected a first slice');
  return onChildUpdate(step.state, {
    order_id: first.child.order_id,
    filled_quantity: '0.05',
    status: 'PARTIALLY_FILLED',
  });
}

export function makeRecord(operationId: string, over: Partial<AlgoStateRecord> = {}): AlgoStateRecord {
  const orderId = `ord_${operationId}`;
  return {
    operation_id: operationId,
    order_id: orderId,
    venue: 'BINANCE-SPOT',
    account_id: 'binance-main',
    strategy_id: 'strat-1',
    instrument_key: SPEC.instrument_key,
    venue_instrument_key: SPEC.instrument_key,
    state: sampleState(orderId),
    venue_order_ids: { [`${orderId}-S1`]: '12345' },
    cancel_reason: null,
    last_child_rejection: null,
    active: true,
    version: 1,
    ts_created: T0,
    ts_updated: T0,
    ...over,
  };
}

export function algoStateContract(
  name: string,
  factory: () => Promise<AlgoStateHarness>,
  opts: { durable: boolean },
): void {
  describe(`AlgoStateStore contract: ${name}`, () => {
    let h: AlgoStateHarness;
    let store: AlgoStateStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('starts empty', async () => {
      expect(await store.get('OP-1')).toBeNull();
      expect(await store.listActive()).toEqual([]);
    });

    it('stores a record exactly (nested scheduler state, bigints, nulls) and reads it back', async () => {
      const rec = makeRecord('OP-1');
      expect(await store.put(rec, 0)).toEqual({ ok: true, record: rec });
      expect(await store.get('OP-1')).toEqual(rec);
    });

    it('puts are versioned: create once, then only on the version read', async () => {
      const rec = makeRecord('OP-2');
      expect((await store.put(rec, 0)).ok).toBe(true);
      const again = await store.put(rec, 0);
      expect(again).toEqual({ ok: false, reason: 'version_conflict', current: rec });
      const v2 = { ...rec, version: 2, cancel_reason: 'stop', ts_updated: T0 + SECOND };
      expect(await store.put(v2, 1)).toEqual({ ok: true, record: v2 });
      const stale = { ...rec, version: 2, last_child_rejection: 'late' };
      expect(await store.put(stale, 1)).toEqual({ ok: false, reason: 'version_conflict', current: v2 });
      expect(await store.get('OP-2')).toEqual(v2);
    });

    it('an update of a record that does not exist is a conflict with nothing stored', async () => {
      const rec = makeRecord('OP-3', { version: 4 });
      expect(await store.put(rec, 3)).toEqual({ ok: false, reason: 'version_conflict', current: null });
      expect(await store.get('OP-3')).toBeNull();
    });

    it('lists active records only, oldest first, optionally of one venue', async () => {
      await store.put(makeRecord('OP-B', { ts_created: T0 + 2n }), 0);
      await store.put(makeRecord('OP-A', { ts_created: T0 + 1n }), 0);
      await store.put(makeRecord('OP-C', { ts_created: T0, venue: 'OKX' }), 0);
      const done = makeRecord('OP-D', { ts_created: T0 - 5n });
      await store.put(done, 0);
      await store.put({ ...done, version: 2, active: false }, 1);
      expect((await store.listActive()).map((r) => r.operation_id)).toEqual(['OP-C', 'OP-A', 'OP-B']);
      expect((await store.listActive({ venue: 'BINANCE-SPOT' })).map((r) => r.operation_id)).toEqual([
        'OP-A',
        'OP-B',
      ]);
      expect(await store.listActive({ venue: 'NOPE' })).toEqual([]);
    });

    it('refuses a malformed record or a wrong version step, naming the field', async () => {
      const bad = makeRecord('OP-E');
      const broken = { ...bad, state: { ...bad.state, start_ns: 'soon' } };
      await expect(store.put(broken, 0)).rejects.toThrow(/state\.start_ns/);
      await expect(store.put({ ...bad, version: 3 }, 0)).rejects.toThrow(/next\.version must be 1/);
      await expect(store.put(bad, -1)).rejects.toThrow(/expectedVersion/);
      expect(await store.get('OP-E')).toBeNull();
    });

    it('keeps ids with separators and odd characters apart', async () => {
      const ids = ['a/b', 'a|b', 'a%2Fb', '__x__', '.'];
      for (const id of ids) await store.put(makeRecord(id), 0);
      for (const id of ids) expect((await store.get(id))?.operation_id).toBe(id);
      expect(await store.listActive()).toHaveLength(ids.length);
    });

    if (opts.durable) {
      it('survives a restart', async () => {
        const rec = makeRecord('OP-R');
        await store.put(rec, 0);
        const v2 = { ...rec, version: 2, active: false, ts_updated: T0 + 9n };
        await store.put(v2, 1);
        await store.put(makeRecord('OP-S'), 0);
        if (!h.reopen) throw new Error('durable harness without reopen');
        store = await h.reopen();
        expect(await store.get('OP-R')).toEqual(v2);
        expect((await store.listActive()).map((r) => r.operation_id)).toEqual(['OP-S']);
        expect((await store.put({ ...v2, version: 3 }, 2)).ok).toBe(true);
      });
    }
  });
}

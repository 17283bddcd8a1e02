import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../shared/risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  LedgerConflictError,
  markInstrument,
  type RiskLedger,
  recentRetention,
  recordFill,
  releaseReservation,
  riskContextFromLedger,
  setPosition,
} from '../../../shared/risk/ledger.ts';
import type { Reservation } from '../../../shared/risk/types.ts';
import { BTC, BTC_SPEC, limits, MS, NOW, order } from './fixtures.ts';

const market = {
  trading_state: 'ACTIVE' as const,
  strategy_trading_state: 'ACTIVE' as const,
  instrument: BTC_SPEC,
  reference_price: '50000',
  free_balance: '100000',
};

function reservation(over: Partial<Reservation> = {}): Reservation {
  return {
    id: 'OP-1',
    instrument_key: BTC,
    strategy_id: 'momo',
    side: 'BUY',
    quantity: '2',
    mark: '50000',
    balance: { currency: 'USDT', amount: '100100' },
    ts_ns: NOW.toString(),
    ledger_version: null,
    ...over,
  };
}

describe('ledger transitions', () => {
  it('applyReservation adds working quantity, exposure, velocity and committed balance', () => {
    const l = applyReservation(emptyLedger(), reservation());
    expect(l.version).toBe(1);
    expect(l.instruments[BTC]).toEqual({
      position: '0',
      working_buy: '2',
      working_sell: '0',
      mark: '50000',
      exposure: '100000',
    });
    expect(l.strategies.momo).toEqual({
      books: { [BTC]: { position: '0', working_buy: '2', working_sell: '0' } },
      recent: [NOW.toString()],
    });
    expect(l.total_exposure).toBe('100000');
    expect(l.recent).toEqual([NOW.toString()]);
    expect(l.reserved_balance).toEqual({ USDT: '100100' });
    expect(Object.keys(l.open)).toEqual(['OP-1']);
  });

  it('is pure and idempotent', () => {
    const empty = emptyLedger();
    const frozen = JSON.stringify(empty);
    const once = applyReservation(empty, reservation());
    expect(JSON.stringify(empty)).toBe(frozen);
    expect(applyReservation(once, reservation())).toBe(once);
    const released = releaseReservation(once, reservation(), '0');
    expect(releaseReservation(released, reservation(), '0')).toBe(released);
  });

  it('recordFill moves quantity from working to position and releases balance pro rata', () => {
    let l = applyReservation(emptyLedger(), reservation());
    l = recordFill(l, 'OP-1', '0.5');
    expect(l.instruments[BTC]).toMatchObject({ position: '0.5', working_buy: '1.5', exposure: '100000' });
    expect(l.strategies.momo?.books[BTC]).toEqual({ position: '0.5', working_buy: '1.5', working_sell: '0' });
    // 100100 × 0.5 / 2 = 25025 released.
    expect(l.reserved_balance.USDT).toBe('75075');
    expect(l.open['OP-1']).toMatchObject({ filled: '0.5', balance_remaining: '75075' });
    expect(recordFill(l, 'unknown', '1')).toBe(l);
  });

  it('releaseReservation applies unrecorded fills and releases the rest', () => {
    let l = applyReservation(emptyLedger(), reservation());
    l = recordFill(l, 'OP-1', '0.5');
    // Cumulative 1.2 filled: 0.7 more moves to position, 0.8 working released.
    l = releaseReservation(l, reservation(), '1.2');
    expect(l.instruments[BTC]).toEqual({
      position: '1.2',
      working_buy: '0',
      working_sell: '0',
      mark: '50000',
      exposure: '60000',
    });
    expect(l.total_exposure).toBe('60000');
    expect(l.reserved_balance.USDT).toBe('0');
    expect(l.open).toEqual({});
    // Velocity timestamps stay: they count submissions, not live orders.
    expect(l.recent).toEqual([NOW.toString()]);
  });

  it('a sell reservation widens the short worst case only beyond the current long', () => {
    let l = setPosition(emptyLedger(), BTC, null, '1');
    l = markInstrument(l, BTC, '100');
    expect(l.total_exposure).toBe('100');
    l = applyReservation(l, reservation({ side: 'SELL', quantity: '1.5', mark: '100', balance: null }));
    // max(|1 + 0|, |1 − 1.5|) = 1 → 100.
    expect(l.total_exposure).toBe('100');
    l = applyReservation(
      l,
      reservation({ id: 'OP-2', side: 'SELL', quantity: '2', mark: '100', balance: null }),
    );
    // max(1, |1 − 3.5|) = 2.5 → 250.
    expect(l.total_exposure).toBe('250');
    l = markInstrument(l, BTC, '200');
    expect(l.total_exposure).toBe('500');
  });

  it('refuses a reservation evaluated on another ledger version', () => {
    const l0 = emptyLedger();
    const c = riskContextFromLedger(l0, order(), market);
    expect(c.ledger_version).toBe(0);
    const d = evaluate(order(), c, limits(), NOW);
    if (!d.approved) throw new Error(d.reason);
    expect(d.reservation.ledger_version).toBe(0);
    const l1 = markInstrument(l0, BTC, '50001');
    expect(() => applyReservation(l1, d.reservation)).toThrow(LedgerConflictError);
    expect(applyReservation(l0, d.reservation).version).toBe(1);
  });

  it('prunes velocity timestamps older than a minute and to the retention count', () => {
    let l = emptyLedger();
    const times = [NOW, NOW + 30_000n * MS, NOW + 60_000n * MS, NOW + 60_001n * MS];
    times.forEach((t, i) => {
      l = applyReservation(l, reservation({ id: `OP-${i}`, ts_ns: t.toString() }));
    });
    // NOW is exactly one minute before NOW+60s: dropped; the window is (newest − 60 s, newest].
    expect(l.recent).toEqual(times.slice(1).map(String));
    let k = emptyLedger();
    times.forEach((t, i) => {
      k = applyReservation(k, reservation({ id: `OP-${i}`, ts_ns: t.toString() }), { max_recent: 2 });
    });
    expect(k.recent).toEqual(times.slice(2).map(String));
    // Out-of-order arrival stays sorted.
    const m = applyReservation(k, reservation({ id: 'late', ts_ns: (NOW + 60_000n * MS + 5n).toString() }));
    expect(m.recent).toEqual([times[2], NOW + 60_000n * MS + 5n, times[3]].map(String));
  });

  it('recentRetention is the largest velocity limit in force', () => {
    expect(recentRetention(limits())).toBeNull();
    expect(
      recentRetention(
        limits({
          max_orders_per_second: 10,
          max_orders_per_minute: 100,
          per_strategy: { a: { max_orders_per_minute: 300 } },
        }),
      ),
    ).toBe(300);
  });

  it('round-trips through JSON (a Firestore document) unchanged', () => {
    let l: RiskLedger = applyReservation(emptyLedger(), reservation());
    l = recordFill(l, 'OP-1', '0.25');
    expect(JSON.parse(JSON.stringify(l))).toEqual(l);
  });

  it('riskContextFromLedger reads positions, working, exposure, reserved balance and velocity', () => {
    let l = setPosition(emptyLedger(), BTC, null, '0.7');
    l = setPosition(l, BTC, 'momo', '0.2');
    l = applyReservation(l, reservation({ ts_ns: (NOW - 5n * MS).toString() }));
    const c = riskContextFromLedger(l, order(), market);
    expect(c.position).toEqual({ instrument: '0.7', strategy: '0.2' });
    expect(c.working).toEqual({ instrument: { buy: '2', sell: '0' }, strategy: { buy: '2', sell: '0' } });
    // worst case 0.7 + 2 = 2.7 × 50000.
    expect(c.exposure).toEqual({ total: '135000', instrument: '135000' });
    expect(c.reserved_balance).toBe('100100');
    expect(c.recent_orders).toEqual({ global: [NOW - 5n * MS], strategy: [NOW - 5n * MS] });
    const other = riskContextFromLedger(l, order({ strategy_id: 'other' }), market);
    expect(other.position.strategy).toBe('0');
    expect(other.recent_orders.strategy).toEqual([]);
  });
});

describe('serialising evaluations through the ledger', () => {
  const l = limits({ per_instrument: { [BTC]: { max_position: '1' } } });

  it('two evaluations on one stale snapshot could jointly breach; the version check stops the second', () => {
    const snap = emptyLedger();
    const a = evaluate(
      order({ operation_id: 'A', quantity: '0.6' }),
      riskContextFromLedger(snap, order(), market),
      l,
      NOW,
    );
    const b = evaluate(
      order({ operation_id: 'B', quantity: '0.6' }),
      riskContextFromLedger(snap, order(), market),
      l,
      NOW,
    );
    if (!a.approved || !b.approved) throw new Error('both approve on the same snapshot');
    const afterA = applyReservation(snap, a.reservation);
    expect(() => applyReservation(afterA, b.reservation)).toThrow(LedgerConflictError);
    // The retried transaction re-reads the ledger and B is denied: 0.6 + 0.6 = 1.2 > 1.
    const retry = evaluate(
      order({ operation_id: 'B', quantity: '0.6' }),
      riskContextFromLedger(afterA, order(), market),
      l,
      NOW,
    );
    expect(retry).toMatchObject({ approved: false, rule: 'position_instrument', observed: '1.2' });
  });
});

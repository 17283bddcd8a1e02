/**
 * `OwnedLedger` (in place) against the pure transitions: over random sequences of every op —
 * reservations (current and stale versions, late times, tiny retention), fills, releases, marks,
 * positions — the owned ledger always equals `applyLedgerOps` on a plain ledger, its parsed recent
 * times stay in step, a failing op changes nothing, and nothing is shared with what goes in or out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Side } from '../../../shared/domain/types.ts';
import {
  applyLedgerOp,
  applyLedgerOps,
  applyReservation,
  emptyLedger,
  LedgerConflictError,
  type LedgerOp,
  markInstrument,
  type RiskLedger,
  recordFill,
  releaseReservation,
  setPosition,
} from '../../../shared/risk/ledger.ts';
import { cloneLedger, OwnedLedger } from '../../../shared/risk/owned-ledger.ts';
import { pushRecent, pushRecentInPlace, recentNanos } from '../../../shared/risk/recent.ts';
import type { Reservation } from '../../../shared/risk/types.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';
const KEYS = [BTC, PERP] as const;
const STRATEGIES = ['a', 'b', '__proto__'] as const;
const T0 = 1_750_000_000_000_000_000n;
const MS = 1_000_000n;

function reservation(id: string, over: Partial<Reservation> = {}): Reservation {
  return {
    id,
    instrument_key: BTC,
    strategy_id: 'a',
    side: 'BUY',
    quantity: '0.3',
    mark: '100',
    balance: { currency: 'USDT', amount: '30.03' },
    ts_ns: T0.toString(),
    ledger_version: null,
    ...over,
  };
}

/** A plain, comparable form (null-prototype maps and ordinary objects compare alike). */
const plain = (l: RiskLedger): unknown => JSON.parse(JSON.stringify(l));

/** The recent-times arrays of a ledger and their parsed forms agree. */
function expectRecentInStep(l: RiskLedger): void {
  const arrays = [l.recent, ...Object.values(l.strategies).map((s) => s.recent)];
  for (const a of arrays) expect(recentNanos(a)).toEqual(a.map((t) => BigInt(t)));
}

type Step =
  | {
      kind: 'reserve';
      key: number;
      strategy: number;
      side: Side;
      tenths: number;
      dtMs: number;
      stale: boolean;
      maxRecent: number | null;
      spot: boolean;
    }
  | { kind: 'fill'; pick: number; tenths: number }
  | { kind: 'release'; pick: number; tenths: number }
  | { kind: 'mark'; key: number; price: number }
  | { kind: 'position'; key: number; strategy: number | null; tenths: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      key: fc.nat({ max: 1 }),
      strategy: fc.nat({ max: 2 }),
      side: fc.constantFrom<Side>('BUY', 'SELL'),
      tenths: fc.integer({ min: 1, max: 30 }),
      // Mostly forward in time, sometimes far (expiry), sometimes back (a late evaluation).
      dtMs: fc.oneof(
        fc.integer({ min: 0, max: 400 }),
        fc.constant(61_000),
        fc.integer({ min: -2_000, max: 0 }),
      ),
      stale: fc.boolean(),
      maxRecent: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 6 })),
      spot: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fill' as const),
      pick: fc.nat(),
      tenths: fc.integer({ min: 0, max: 40 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('release' as const),
      pick: fc.nat(),
      tenths: fc.integer({ min: 0, max: 40 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mark' as const),
      key: fc.nat({ max: 1 }),
      price: fc.integer({ min: 1, max: 300 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('position' as const),
      key: fc.nat({ max: 1 }),
      strategy: fc.oneof(fc.constant(null), fc.nat({ max: 2 })),
      tenths: fc.integer({ min: -20, max: 20 }),
    }),
  },
);

/** Turn a generated step into ops (a reservation may be stale: its apply must then throw). */
function opsFor(step: Step, l: RiskLedger, seq: number, now: bigint): LedgerOp[] {
  const open = Object.keys(l.open);
  const tenths = (n: number) => (n / 10).toString();
  switch (step.kind) {
    case 'reserve': {
      const key = KEYS[step.key] as string;
      const r = reservation(`OP-${seq}`, {
        instrument_key: key,
        strategy_id: STRATEGIES[step.strategy] as string,
        side: step.side,
        quantity: tenths(step.tenths),
        balance:
          step.spot && key === BTC && step.side === 'BUY'
            ? { currency: 'USDT', amount: `${step.tenths * 10}.01` }
            : null,
        ts_ns: now.toString(),
        ledger_version: step.stale ? l.version + 1 : l.version,
      });
      return [{ op: 'reserve', reservation: r, max_recent: step.maxRecent }];
    }
    case 'fill':
      return [
        {
          op: 'fill',
          id: open[step.pick % Math.max(1, open.length)] ?? 'nobody',
          quantity: tenths(step.tenths),
        },
      ];
    case 'release':
      return [
        {
          op: 'release',
          id: open[step.pick % Math.max(1, open.length)] ?? 'nobody',
          filled: tenths(step.tenths),
        },
      ];
    case 'mark':
      return [{ op: 'mark', instrument_key: KEYS[step.key] as string, price: String(step.price) }];
    case 'position':
      return [
        {
          op: 'set_position',
          instrument_key: KEYS[step.key] as string,
          strategy_id: step.strategy === null ? null : (STRATEGIES[step.strategy] as string),
          quantity: tenths(step.tenths),
        },
      ];
  }
}

describe('OwnedLedger', () => {
  it('applies every op exactly as the pure functions do (random sequences)', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 80 }), (steps) => {
        let pure = emptyLedger();
        const owned = OwnedLedger.empty();
        let now = T0;
        steps.forEach((step, i) => {
          if (step.kind === 'reserve') now += BigInt(step.dtMs) * MS;
          const ops = opsFor(step, pure, i, now);
          let pureError: unknown = null;
          let next = pure;
          try {
            next = applyLedgerOps(pure, ops);
          } catch (err) {
            pureError = err;
          }
          const before = plain(owned.ledger);
          if (pureError !== null) {
            expect(() => owned.apply(ops)).toThrow(LedgerConflictError);
            expect(plain(owned.ledger)).toEqual(before); // a failing op changes nothing
          } else {
            expect(owned.apply(ops)).toBe(next !== pure);
            pure = next;
          }
          expect(plain(owned.ledger)).toEqual(plain(pure));
          expectRecentInStep(owned.ledger);
        });
        expect(plain(owned.snapshot())).toEqual(plain(pure));
      }),
      { numRuns: 200 },
    );
  });

  it('each op is its named pure function', () => {
    const r1 = reservation('OP-1');
    const r2 = reservation('OP-2', { side: 'SELL', balance: null, strategy_id: 'b', ledger_version: 1 });
    let l = applyReservation(emptyLedger(), r1, { max_recent: 5 });
    expect(applyLedgerOp(emptyLedger(), { op: 'reserve', reservation: r1, max_recent: 5 })).toEqual(l);
    const l2 = applyReservation(l, r2);
    expect(applyLedgerOp(l, { op: 'reserve', reservation: r2, max_recent: null })).toEqual(l2);
    l = l2;
    expect(applyLedgerOp(l, { op: 'fill', id: 'OP-1', quantity: '0.1' })).toEqual(
      recordFill(l, 'OP-1', '0.1'),
    );
    expect(applyLedgerOp(l, { op: 'release', id: 'OP-1', filled: '0.2' })).toEqual(
      releaseReservation(l, r1, '0.2'),
    );
    expect(applyLedgerOp(l, { op: 'mark', instrument_key: BTC, price: '120' })).toEqual(
      markInstrument(l, BTC, '120'),
    );
    expect(
      applyLedgerOp(l, { op: 'set_position', instrument_key: BTC, strategy_id: 'b', quantity: '2' }),
    ).toEqual(setPosition(l, BTC, 'b', '2'));
    // No-ops return the very ledger (nothing to write).
    expect(applyLedgerOp(l, { op: 'fill', id: 'nobody', quantity: '1' })).toBe(l);
    expect(applyLedgerOp(l, { op: 'fill', id: 'OP-1', quantity: '0' })).toBe(l);
    expect(applyLedgerOp(l, { op: 'release', id: 'nobody', filled: '0' })).toBe(l);
    expect(applyLedgerOp(l, { op: 'reserve', reservation: r1, max_recent: null })).toBe(l);
  });

  it('rolls a failing multi-op change back completely, recent times included', () => {
    const owned = OwnedLedger.empty();
    for (let i = 0; i < 8; i++) {
      owned.apply([
        {
          op: 'reserve',
          reservation: reservation(`OP-${i}`, { ts_ns: (T0 + BigInt(i) * 100n * MS).toString() }),
          max_recent: 4,
        },
      ]);
    }
    const before = plain(owned.ledger);
    const keysBefore = Object.keys(owned.ledger.open).sort();
    const ops: LedgerOp[] = [
      { op: 'set_position', instrument_key: PERP, strategy_id: null, quantity: '3' },
      { op: 'release', id: 'OP-2', filled: '0.1' }, // a fill and a close: two transitions
      {
        op: 'reserve',
        reservation: reservation('OP-new', { ts_ns: (T0 + 70_000n * MS).toString() }),
        max_recent: 4,
      },
      { op: 'reserve', reservation: reservation('OP-stale', { ledger_version: 0 }), max_recent: 4 },
    ];
    expect(() => owned.apply(ops)).toThrow(LedgerConflictError);
    expect(plain(owned.ledger)).toEqual(before);
    expect(Object.keys(owned.ledger.open).sort()).toEqual(keysBefore);
    expectRecentInStep(owned.ledger);
    // And it keeps working afterwards.
    expect(owned.apply(ops.slice(0, 3))).toBe(true);
    expect(plain(owned.ledger)).toEqual(plain(applyLedgerOps(before as RiskLedger, ops.slice(0, 3))));
  });

  it('begin / rollback spans several apply calls', () => {
    const owned = OwnedLedger.empty();
    owned.apply([{ op: 'reserve', reservation: reservation('OP-1'), max_recent: null }]);
    const before = plain(owned.ledger);
    owned.begin();
    owned.apply([{ op: 'release', id: 'OP-1', filled: '0.3' }]);
    owned.apply([
      { op: 'reserve', reservation: reservation('OP-2', { strategy_id: 'b' }), max_recent: null },
    ]);
    owned.rollback();
    expect(plain(owned.ledger)).toEqual(before);
    expectRecentInStep(owned.ledger);
    owned.begin();
    owned.apply([{ op: 'release', id: 'OP-1', filled: '0' }]);
    owned.commit();
    expect(Object.keys(owned.ledger.open)).toEqual([]);
    expect(() => {
      owned.begin();
      owned.begin();
    }).toThrow(/already open/);
  });

  it('shares nothing with the ledger it copies or the snapshots it hands out', () => {
    const source = applyReservation(emptyLedger(), reservation('OP-1'));
    const frozen = plain(source);
    const owned = OwnedLedger.of(source);
    owned.apply([
      { op: 'reserve', reservation: reservation('OP-2', { ledger_version: 1 }), max_recent: null },
    ]);
    expect(plain(source)).toEqual(frozen);
    const snap = owned.snapshot();
    snap.recent.push('1');
    (snap.open['OP-1'] as { filled: string }).filled = '99';
    (snap.instruments[BTC] as { position: string }).position = '99';
    expect(owned.ledger.recent).toHaveLength(2);
    expect(owned.ledger.open['OP-1']?.filled).toBe('0');
    expect(owned.ledger.instruments[BTC]?.position).toBe('0');
    expect(Object.getPrototypeOf(snap.open)).toBe(Object.prototype);
    expect(plain(cloneLedger(owned.ledger))).toEqual(plain(owned.ledger));
  });

  it('keeps a strategy named __proto__ as a plain key', () => {
    const owned = OwnedLedger.empty();
    owned.apply([
      { op: 'reserve', reservation: reservation('OP-1', { strategy_id: '__proto__' }), max_recent: null },
    ]);
    expect(Object.keys(owned.ledger.strategies)).toEqual(['__proto__']);
    expect(Object.keys(owned.snapshot().strategies)).toEqual(['__proto__']);
    expect(plain(owned.ledger)).toEqual(
      plain(applyReservation(emptyLedger(), reservation('OP-1', { strategy_id: '__proto__' }))),
    );
  });
});

describe('pushRecentInPlace', () => {
  it('leaves the array as pushRecent would make it, and its undo restores it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -70_000, max: 70_000 }), { maxLength: 30 }),
        fc.integer({ min: -70_000, max: 70_000 }),
        fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 12 })),
        (offsetsMs, atMs, maxRecent) => {
          const base = [...offsetsMs].sort((a, b) => a - b).map((ms) => (T0 + BigInt(ms) * MS).toString());
          const ts = T0 + BigInt(atMs) * MS;
          const want = pushRecent(base, ts, maxRecent);
          const mine = base.slice();
          const undo = pushRecentInPlace(mine, ts, maxRecent);
          expect(mine).toEqual(want);
          expect(recentNanos(mine)).toEqual(want.map((t) => BigInt(t)));
          undo();
          expect(mine).toEqual(base);
          expect(recentNanos(mine)).toEqual(base.map((t) => BigInt(t)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

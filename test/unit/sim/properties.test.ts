import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec } from '../../../shared/domain/decimal.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { isFill } from '../../../shared/sim/fills.ts';
import { MatchingEngine } from '../../../shared/sim/matching-engine.ts';
import { deriveSeed, Mulberry32, uniformAt } from '../../../shared/sim/prng.ts';

const SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
  tick_size: '0.01',
  step_size: '0.0001',
  min_qty: '0.0001',
  max_qty: '100000',
  min_notional: '0',
  maker_fee: '-0.0001',
  taker_fee: '0.00075',
};
const EPOCH = 1_751_328_000_000_000_000n;

/** Ask levels: strictly increasing prices in cents, sizes in 0.0001 units. */
const askBook = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 50_000 })), {
    minLength: 1,
    maxLength: 12,
  })
  .map((xs) => {
    let cents = 300_000;
    return xs.map(([gap, units]) => {
      cents += gap;
      return { price: cents / 100, units };
    });
  });

function loaded(levels: Array<{ price: number; units: number }>): MatchingEngine {
  const e = new MatchingEngine({ instrument: SPEC, epochNs: EPOCH });
  e.onBookSnapshot(
    EPOCH,
    [[2999.99, 5]],
    levels.map((l) => [l.price, l.units / 10_000] as const),
  );
  return e;
}

describe('matching invariants (property-based)', () => {
  it('a market BUY takes only displayed liquidity, best price first, and its fills sum exactly', () => {
    fc.assert(
      fc.property(askBook, fc.integer({ min: 1, max: 400_000 }), (levels, qtyUnits) => {
        const e = loaded(levels);
        const qty = new Dec(qtyUnits).div(10_000).toFixed();
        e.submit(
          { order_id: 'M', side: 'BUY', order_type: 'MARKET', quantity: qty, time_in_force: 'IOC' },
          EPOCH,
        );
        e.advanceTo(EPOCH);
        const fills = e.drainEvents().filter(isFill);
        const displayed = levels.reduce((a, l) => a + l.units, 0);
        let total = new Dec(0);
        let fees = new Dec(0);
        let lastPrice = 0;
        for (const f of fills) {
          const level = levels.find((l) => new Dec(l.price).eq(f.price));
          expect(level).toBeDefined(); // never a price that is not in the book
          expect(Number(f.price)).toBeGreaterThan(lastPrice); // best first, each level once
          lastPrice = Number(f.price);
          expect(new Dec(f.quantity).times(10_000).toNumber()).toBeLessThanOrEqual(level!.units);
          total = total.plus(f.quantity);
          fees = fees.plus(f.fee);
          expect(new Dec(f.fee).eq(new Dec(f.quantity).times(f.price).times('0.00075'))).toBe(true);
          expect(f.liquidity).toBe('TAKER');
        }
        expect(total.times(10_000).toNumber()).toBe(Math.min(qtyUnits, displayed));
        if (fills.length > 0) expect(fills.at(-1)!.cum_quantity).toBe(total.toFixed());
      }),
      { numRuns: 200 },
    );
  });

  it('successive orders never reuse liquidity an earlier one consumed (no book update in between)', () => {
    fc.assert(
      fc.property(
        askBook,
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 8 }),
        (levels, orders) => {
          const e = loaded(levels);
          orders.forEach((u, i) => {
            const qty = new Dec(u).div(10_000).toFixed();
            e.submit(
              { order_id: `M${i}`, side: 'BUY', order_type: 'MARKET', quantity: qty, time_in_force: 'IOC' },
              EPOCH,
            );
          });
          e.advanceTo(EPOCH);
          const byPrice = new Map<string, Dec>();
          for (const f of e.drainEvents().filter(isFill)) {
            byPrice.set(f.price, (byPrice.get(f.price) ?? new Dec(0)).plus(f.quantity));
          }
          for (const l of levels) {
            const took = byPrice.get(new Dec(l.price).toFixed()) ?? new Dec(0);
            expect(took.times(10_000).toNumber()).toBeLessThanOrEqual(l.units);
          }
          const totalTaken = [...byPrice.values()].reduce((a, x) => a.plus(x), new Dec(0));
          const wanted = orders.reduce((a, x) => a + x, 0);
          const shown = levels.reduce((a, l) => a + l.units, 0);
          expect(totalTaken.times(10_000).toNumber()).toBe(Math.min(wanted, shown));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a limit BUY never pays above its limit; a post-only order is never a taker', () => {
    fc.assert(
      fc.property(
        askBook,
        fc.integer({ min: 299_000, max: 310_000 }),
        fc.constantFrom('GTC' as const, 'IOC' as const, 'GTX' as const),
        (levels, limitCents, tif) => {
          const e = loaded(levels);
          const price = new Dec(limitCents).div(100).toFixed();
          e.submit(
            { order_id: 'L', side: 'BUY', order_type: 'LIMIT', quantity: '3', price, time_in_force: tif },
            EPOCH,
          );
          e.advanceTo(EPOCH);
          // Then the market trades down through every price: any resting remainder fills at its limit.
          e.onTrade(EPOCH + 1n, 2900, 1000, 'SELL');
          for (const f of e.drainEvents().filter(isFill)) {
            expect(new Dec(f.price).lte(price)).toBe(true);
            if (tif === 'GTX') expect(f.liquidity).toBe('MAKER');
            if (f.liquidity === 'MAKER') {
              expect(f.price).toBe(price);
              expect(new Dec(f.fee).eq(new Dec(f.quantity).times(price).times('-0.0001'))).toBe(true);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('seeded generators', () => {
  it('mulberry32: same seed → same sequence, values in [0, 1), state resumes the sequence', () => {
    const a = new Mulberry32(123);
    const xs = Array.from({ length: 1000 }, () => a.next());
    const b = new Mulberry32(123);
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    const c = new Mulberry32(7);
    c.next();
    const d = new Mulberry32(c.state);
    expect(d.next()).toBe(c.next());
    expect(new Mulberry32(0).next()).not.toBe(new Mulberry32(1).next());
  });

  it('derived streams and stateless draws are deterministic and distinct', () => {
    expect(deriveSeed(1, 1)).toBe(deriveSeed(1, 1));
    expect(deriveSeed(1, 1)).not.toBe(deriveSeed(1, 2));
    expect(uniformAt(9, 3)).toBe(uniformAt(9, 3));
    expect(uniformAt(9, 3)).not.toBe(uniformAt(9, 4));
    expect(() => new Mulberry32(Number.NaN)).toThrow(RangeError);
  });
});

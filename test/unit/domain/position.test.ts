import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, fmt, toDec } from '../../../shared/domain/decimal.ts';
import {
  applyFill,
  exposure,
  type PositionSettlement,
  positionSide,
  settlementFor,
  unrealizedPnl,
} from '../../../shared/domain/position.ts';
import type { Fill, Position, Side } from '../../../shared/domain/types.ts';

const SPOT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const INVERSE = 'DERIBIT:PERPETUAL:BTC-USD@INV';
const ACC = 'acc-1';

let seq = 0;
function fill(side: Side, quantity: string, price: string, extra: Partial<Fill> = {}): Fill {
  seq += 1;
  return {
    fill_id: `f${seq}`,
    order_id: 'ord-1',
    operation_id: 'OP-1',
    instrument_key: SPOT,
    venue: 'BINANCE-SPOT',
    side,
    quantity,
    price,
    fee: '0',
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: 1_000n * BigInt(seq),
    ...extra,
  };
}

function applyAll(fills: Fill[], start: Position | null = null, settlement?: PositionSettlement): Position {
  let p = start;
  for (const f of fills) p = applyFill(p, f, ACC, settlement === undefined ? undefined : { settlement });
  if (p === null) throw new Error('no fills');
  return p;
}

describe('linear netting position', () => {
  it('SPEC example: add, reduce, flip through zero', () => {
    const b1 = fill('BUY', '1', '100', { fee: '0.1', venue: 'BINANCE-SPOT' });
    const p1 = applyFill(null, b1, ACC);
    expect(p1).toEqual({
      account_id: ACC,
      instrument_key: SPOT,
      quantity: '1',
      avg_entry_price: '100',
      cost_basis: '100',
      realized_pnl: '0',
      fees: '0.1',
      venues: { 'BINANCE-SPOT': '1' },
      last_fill_id: b1.fill_id,
      version: 1,
      ts_updated: b1.ts_event,
    });

    const p2 = applyFill(p1, fill('BUY', '1', '110', { fee: '0.11', venue: 'OKX' }), ACC);
    expect(p2).toMatchObject({
      quantity: '2',
      avg_entry_price: '105',
      realized_pnl: '0',
      fees: '0.21',
      version: 2,
    });

    const p3 = applyFill(p2, fill('SELL', '0.5', '120', { fee: '0.06', venue: 'OKX' }), ACC);
    expect(p3).toMatchObject({
      quantity: '1.5',
      avg_entry_price: '105',
      realized_pnl: '7.5',
      fees: '0.27',
      venues: { 'BINANCE-SPOT': '1', OKX: '0.5' },
      version: 3,
    });
    expect(positionSide(p3)).toBe('LONG');

    // Flip: realises 1.5 × (100 − 105) = −7.5 on the closing part, opens a 0.5 short at 100.
    const flip = fill('SELL', '2', '100', { fee: '0.2', venue: 'BINANCE-SPOT' });
    const p4 = applyFill(p3, flip, ACC);
    expect(p4).toEqual({
      account_id: ACC,
      instrument_key: SPOT,
      quantity: '-0.5',
      avg_entry_price: '100',
      cost_basis: '50',
      realized_pnl: '0',
      fees: '0.47',
      venues: { 'BINANCE-SPOT': '-1', OKX: '0.5' },
      last_fill_id: flip.fill_id,
      version: 4,
      ts_updated: flip.ts_event,
    });
    expect(positionSide(p4)).toBe('SHORT');
    expect(unrealizedPnl(p4, '90')).toBe('5');
    expect(exposure(p4, '90')).toBe('45');
  });

  it('fees are accumulated, never netted into realised PnL (rebates are negative)', () => {
    const p = applyAll([fill('BUY', '1', '100', { fee: '0.5' }), fill('SELL', '1', '101', { fee: '-0.02' })]);
    expect(p).toMatchObject({ realized_pnl: '1', fees: '0.48', quantity: '0', avg_entry_price: null });
  });

  it('a short gains when the price falls', () => {
    const p = applyAll([fill('SELL', '2', '50'), fill('BUY', '1', '40')]);
    expect(p).toMatchObject({ quantity: '-1', avg_entry_price: '50', realized_pnl: '10' });
    expect(unrealizedPnl(p, '45')).toBe('5');
    expect(unrealizedPnl(p, '55')).toBe('-5');
  });

  it('closing to zero clears the entry price, the cost and the venue entries', () => {
    const p = applyAll([
      fill('BUY', '0.3', '100', { venue: 'A' }),
      fill('SELL', '0.1', '110', { venue: 'B' }),
      fill('SELL', '0.2', '90', { venue: 'A' }),
    ]);
    expect(p).toMatchObject({
      quantity: '0',
      avg_entry_price: null,
      cost_basis: '0',
      realized_pnl: '-1',
      venues: { A: '0.1', B: '-0.1' },
    });
    expect(positionSide(p)).toBe('FLAT');
    expect(unrealizedPnl(p, '123')).toBe('0');
    expect(exposure(p, '123')).toBe('0');
    const tidy = applyAll([fill('BUY', '1', '10', { venue: 'A' }), fill('SELL', '1', '10', { venue: 'A' })]);
    expect(tidy.venues).toEqual({});
    expect(positionSide(null)).toBe('FLAT');
  });

  it('keeps PnL exact when the average entry does not terminate', () => {
    const open = applyAll([fill('BUY', '1', '100'), fill('BUY', '2', '101')]);
    expect(open).toMatchObject({
      quantity: '3',
      avg_entry_price: '100.666666666666666667',
      cost_basis: '302',
    });
    expect(unrealizedPnl(open, '102')).toBe('4');
    // Closing in two steps splits the cost (rounded at 18 dp) but realises exactly 4 in total.
    const part = applyFill(open, fill('SELL', '1', '102'), ACC);
    expect(part).toMatchObject({
      quantity: '2',
      realized_pnl: '1.333333333333333333',
      cost_basis: '201.333333333333333333',
      avg_entry_price: '100.666666666666666667',
    });
    expect(
      toDec(part.realized_pnl)
        .plus(toDec(unrealizedPnl(part, '102')))
        .eq(4),
    ).toBe(true);
    const closed = applyFill(part, fill('SELL', '2', '102'), ACC);
    expect(closed).toMatchObject({ quantity: '0', realized_pnl: '4', cost_basis: '0' });
  });

  it('uses |qty| × avg_entry_price when a stored position has no cost basis', () => {
    const legacy: Position = {
      account_id: ACC,
      instrument_key: SPOT,
      quantity: '2',
      avg_entry_price: '105',
      realized_pnl: '1',
      fees: '0',
      venues: { 'BINANCE-SPOT': '2' },
      last_fill_id: 'old',
      version: 7,
      ts_updated: 1n,
    };
    expect(unrealizedPnl(legacy, '110')).toBe('10');
    const next = applyFill(legacy, fill('SELL', '1', '110'), ACC);
    expect(next).toMatchObject({ quantity: '1', realized_pnl: '6', cost_basis: '105', version: 8 });
  });

  it('re-applying the last fill is a no-op; other instruments or accounts and bad numbers throw', () => {
    const f = fill('BUY', '1', '100');
    const p = applyFill(null, f, ACC);
    expect(applyFill(p, f, ACC)).toBe(p);
    expect(() =>
      applyFill(p, fill('BUY', '1', '1', { instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT' }), ACC),
    ).toThrow(
      /is for BINANCE-SPOT:SPOT_PAIR:ETH-USDT, not the position's instrument BINANCE-SPOT:SPOT_PAIR:BTC-USDT/,
    );
    expect(() => applyFill(p, fill('BUY', '1', '1'), 'acc-2')).toThrow(
      'position belongs to account acc-1, not acc-2',
    );
    expect(() => applyFill(p, fill('BUY', '0', '1'), ACC)).toThrow(/quantity must be > 0, got 0/);
    expect(() => applyFill(p, fill('BUY', '1', '-1'), ACC)).toThrow(/price must be > 0, got -1/);
    expect(() => unrealizedPnl(p, '0')).toThrow('mark price must be > 0, got 0');
  });
});

describe('inverse (coin-margined) position', () => {
  it('takes its settlement from the instrument key unless told', () => {
    expect(settlementFor(INVERSE)).toBe('INVERSE');
    expect(settlementFor('DERIBIT:PERPETUAL:BTC-USD')).toBe('INVERSE');
    expect(settlementFor('BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN')).toBe('LINEAR');
    expect(settlementFor(SPOT)).toBe('LINEAR');
    expect(settlementFor('not an id')).toBe('LINEAR');
  });

  it('realises qty × (1/entry − 1/exit) × sign in the base currency', () => {
    const long = applyAll([
      fill('BUY', '10000', '50000', { instrument_key: INVERSE, venue: 'DERIBIT' }),
      fill('SELL', '10000', '40000', { instrument_key: INVERSE, venue: 'DERIBIT' }),
    ]);
    // 10000 × (1/50000 − 1/40000) = 0.2 − 0.25
    expect(long).toMatchObject({ quantity: '0', realized_pnl: '-0.05', avg_entry_price: null });
    const short = applyAll([
      fill('SELL', '10000', '50000', { instrument_key: INVERSE }),
      fill('BUY', '10000', '40000', { instrument_key: INVERSE }),
    ]);
    expect(short.realized_pnl).toBe('0.05');
  });

  it('averages entries harmonically; unrealised and exposure', () => {
    const p = applyAll([
      fill('BUY', '10000', '50000', { instrument_key: INVERSE }),
      fill('BUY', '10000', '40000', { instrument_key: INVERSE }),
    ]);
    // cost 0.2 + 0.25 BTC; avg = 20000 / 0.45
    expect(p).toMatchObject({
      quantity: '20000',
      cost_basis: '0.45',
      avg_entry_price: '44444.444444444444444444',
    });
    // 0.45 − 20000/60000
    expect(unrealizedPnl(p, '60000')).toBe('0.116666666666666667');
    expect(exposure(p, '60000')).toBe('20000');
    // Partial close: half the cost (0.225) against 10000/45000 = 0.222…
    const half = applyFill(p, fill('SELL', '10000', '45000', { instrument_key: INVERSE }), ACC);
    expect(half).toMatchObject({
      quantity: '10000',
      cost_basis: '0.225',
      realized_pnl: '0.002777777777777778',
    });
    // Flip into a short at 30000: closes 10000 (0.225 − 1/3), opens 5000 short at 30000.
    const flip = applyFill(half, fill('SELL', '15000', '30000', { instrument_key: INVERSE }), ACC);
    expect(flip).toMatchObject({
      quantity: '-5000',
      avg_entry_price: '30000',
      cost_basis: '0.166666666666666667',
      realized_pnl: '-0.105555555555555555',
    });
  });

  it('the settlement option overrides the key', () => {
    const p = applyAll(
      [
        fill('BUY', '10000', '50000', { instrument_key: INVERSE }),
        fill('SELL', '5000', '40000', { instrument_key: INVERSE }),
      ],
      null,
      'LINEAR',
    );
    expect(p).toMatchObject({ quantity: '5000', realized_pnl: '-50000000', avg_entry_price: '50000' });
    expect(exposure(p, '40000', { settlement: 'LINEAR' })).toBe('200000000');
    expect(exposure(p, '40000', { settlement: 'INVERSE' })).toBe('5000');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const arbFill = fc.record({
  side: fc.constantFrom<Side>('BUY', 'SELL'),
  qtyMilli: fc.integer({ min: 1, max: 5_000 }),
  priceCents: fc.integer({ min: 1, max: 10_000_000 }),
  feeMicro: fc.integer({ min: -1_000, max: 100_000 }),
  venue: fc.constantFrom('BINANCE-SPOT', 'OKX', 'BYBIT'),
});
const scaled = (n: number, places: number) => fmt(new Dec(n).dividedBy(new Dec(10).pow(places)));

describe('property: linear books balance exactly', () => {
  it('realised + unrealised at the mark = cash-flow PnL (−Σ side × qty × price + position × mark)', () => {
    fc.assert(
      fc.property(
        fc.array(arbFill, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (specs, markCents) => {
          const mark = scaled(markCents, 2);
          let p: Position | null = null;
          let cash = toDec(0);
          let qty = toDec(0);
          let fees = toDec(0);
          const venues = new Map<string, Dec>();
          specs.forEach((s, i) => {
            const q = scaled(s.qtyMilli, 3);
            const px = scaled(s.priceCents, 2);
            const sign = s.side === 'BUY' ? 1 : -1;
            const f = fill(s.side, q, px, { fee: scaled(s.feeMicro, 6), venue: s.venue });
            const next = applyFill(p, f, ACC);
            expect(next.version).toBe(i + 1);
            p = next;
            cash = cash.minus(toDec(q).times(px).times(sign));
            qty = qty.plus(toDec(q).times(sign));
            fees = fees.plus(toDec(f.fee));
            venues.set(s.venue, (venues.get(s.venue) ?? toDec(0)).plus(toDec(q).times(sign)));
          });
          if (p === null) throw new Error('unreachable');
          const pos: Position = p;
          const expected = cash.plus(qty.times(mark));
          const books = toDec(pos.realized_pnl).plus(toDec(unrealizedPnl(pos, mark)));
          expect(fmt(books)).toBe(fmt(expected));
          expect(pos.quantity).toBe(fmt(qty));
          expect(pos.fees).toBe(fmt(fees));
          expect(pos.avg_entry_price === null).toBe(qty.isZero());
          const sumVenues = Object.values(pos.venues).reduce((a, v) => a.plus(toDec(v)), toDec(0));
          expect(sumVenues.eq(qty)).toBe(true);
          for (const [v, q] of venues) expect(pos.venues[v] ?? '0').toBe(fmt(q));
          expect(exposure(pos, mark)).toBe(fmt(qty.abs().times(mark)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('property: inverse books balance to within the 18-dp rounding', () => {
  it('realised + unrealised = Σ side × qty / price − position / mark', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            side: fc.constantFrom<Side>('BUY', 'SELL'),
            qty: fc.integer({ min: 1, max: 500 }).map((n) => String(n * 10)),
            price: fc.integer({ min: 100_000, max: 10_000_000 }).map((n) => scaled(n, 2)),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        fc.integer({ min: 100_000, max: 10_000_000 }).map((n) => scaled(n, 2)),
        (specs, mark) => {
          let p: Position | null = null;
          let expected = toDec(0);
          let qty = toDec(0);
          for (const s of specs) {
            p = applyFill(p, fill(s.side, s.qty, s.price, { instrument_key: INVERSE }), ACC);
            const sign = s.side === 'BUY' ? 1 : -1;
            expected = expected.plus(toDec(s.qty).dividedBy(s.price).times(sign));
            qty = qty.plus(toDec(s.qty).times(sign));
          }
          if (p === null) throw new Error('unreachable');
          const pos: Position = p;
          expected = expected.minus(qty.dividedBy(mark));
          const books = toDec(pos.realized_pnl).plus(toDec(unrealizedPnl(pos, mark)));
          // Each fill, split and mark valuation rounds once at 18 dp (≤ 0.5e-18 each).
          const tolerance = new Dec(specs.length * 2 + 2).times('0.5e-18');
          expect(books.minus(expected).abs().lte(tolerance)).toBe(true);
          expect(pos.quantity).toBe(fmt(qty));
        },
      ),
      { numRuns: 300 },
    );
  });
});

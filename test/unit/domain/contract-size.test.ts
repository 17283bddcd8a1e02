import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, fmt, toDec } from '../../../shared/domain/decimal.ts';
import {
  checkOrderPrecision,
  feeFor,
  InstrumentSpecSchema,
  quantizeOrder,
  quoteNotional,
  settlementValue,
  specNotional,
  valuationOf,
} from '../../../shared/domain/instrument.ts';
import { applyFill, exposure, settlementFor, unrealizedPnl } from '../../../shared/domain/position.ts';
import type { Fill, InstrumentSpec, Position, Side } from '../../../shared/domain/types.ts';
import { checkInstrumentSpecs } from '../../../shared/recon/specs.ts';

const DERIBIT_PERP = 'DERIBIT:PERPETUAL:BTC-USD@INV';
const OKX_INVERSE = 'OKX:PERPETUAL:BTC-USD@INV';
const OKX_LINEAR = 'OKX:PERPETUAL:BTC-USDT@LIN';
const DERIBIT_OPTION = 'DERIBIT:OPTION:BTC-USD-50000-20241231-C';
const ACC = 'acc-1';

const spec = (key: string, extra: Partial<InstrumentSpec> = {}): InstrumentSpec => ({
  instrument_key: key,
  tick_size: '0.1',
  step_size: '1',
  min_qty: '1',
  max_qty: '100000',
  min_notional: '0',
  maker_fee: '-0.0001',
  taker_fee: '0.0005',
  ...extra,
});

let seq = 0;
function fill(key: string, side: Side, quantity: string, price: string): Fill {
  seq += 1;
  return {
    fill_id: `f${seq}`,
    order_id: 'ord-1',
    operation_id: 'OP-1',
    instrument_key: key,
    venue: 'OKX',
    side,
    quantity,
    price,
    fee: '0',
    fee_currency: 'BTC',
    liquidity: 'TAKER',
    ts_event: BigInt(seq),
  };
}

describe('valuation mode', () => {
  it('inverse for coin-margined perpetuals and futures; linear for spot, linear contracts and options', () => {
    expect(valuationOf(DERIBIT_PERP)).toBe('INVERSE');
    expect(valuationOf('DERIBIT:FUTURE:BTC-USD-20241227')).toBe('INVERSE');
    expect(valuationOf(OKX_LINEAR)).toBe('LINEAR');
    expect(valuationOf('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).toBe('LINEAR');
    // Deribit option premiums are quoted in BTC, the asset they settle in: value = qty × premium.
    expect(valuationOf(DERIBIT_OPTION)).toBe('LINEAR');
    expect(settlementFor(DERIBIT_OPTION)).toBe('LINEAR');
    expect(valuationOf('not an id')).toBe('LINEAR');
  });
});

describe('quote notional and settlement value', () => {
  it('linear: qty × contract size × price, exactly', () => {
    expect(fmt(quoteNotional('3', '30000.1', '0.01'))).toBe('900.003');
    expect(fmt(settlementValue('-3', '30000.1', '0.01'))).toBe('900.003');
    expect(fmt(specNotional(spec(OKX_LINEAR, { contract_size: '0.01' }), '3', '30000.1'))).toBe('900.003');
  });

  it('inverse: qty × contract size in USD whatever the price; qty × cs / price in coin, 18 dp half-even', () => {
    expect(fmt(quoteNotional('7', '30000', '100', 'INVERSE'))).toBe('700');
    expect(fmt(settlementValue('7', '30000', '100', 'INVERSE'))).toBe('0.023333333333333333');
    expect(fmt(settlementValue('2', '3', '1', 'INVERSE'))).toBe('0.666666666666666667');
    // Ties at the 18th place go to the even neighbour.
    expect(fmt(settlementValue('1', '2000000000000000000', '1', 'INVERSE'))).toBe('0'); // 0.5e-18 → even 0
    expect(fmt(settlementValue('3', '2000000000000000000', '1', 'INVERSE'))).toBe('0.000000000000000002'); // 1.5e-18 → 2e-18
    expect(() => settlementValue('1', '0', '1', 'INVERSE')).toThrow(RangeError);
  });

  it('feeFor charges the settlement asset: coin for inverse, quote for linear', () => {
    expect(feeFor(spec(OKX_INVERSE, { contract_size: '100' }), '3', '25000', 'TAKER')).toBe('0.000006');
    expect(feeFor(spec(OKX_INVERSE, { contract_size: '100' }), '3', '25000', 'MAKER')).toBe('-0.0000012');
    expect(feeFor(spec(OKX_LINEAR, { contract_size: '0.01' }), '3', '30000', 'TAKER')).toBe('0.45');
  });

  it('order checks value the min notional with the contract size', () => {
    const okx = spec(OKX_LINEAR, { contract_size: '0.01', min_notional: '5' });
    // 1 contract × 0.01 BTC × 400 = 4 USDT < 5
    const issues = checkOrderPrecision(okx, '1', '400');
    expect(issues).toEqual([
      {
        path: 'notional',
        message: 'notional 4 (quantity 1 × contract size 0.01 × price 400) is below min notional 5',
      },
    ]);
    expect(checkOrderPrecision(okx, '2', '400')).toEqual([]);
    // An inverse notional does not depend on the price.
    const deribit = spec(DERIBIT_PERP, { step_size: '10', min_qty: '10', min_notional: '10' });
    expect(checkOrderPrecision(deribit, '10', '0.5')).toEqual([]);
    const q = quantizeOrder(
      spec(OKX_INVERSE, { contract_size: '100', min_notional: '500' }),
      '4',
      '30000',
      'BUY',
    );
    expect(q.status).toBe('BELOW_MIN_NOTIONAL');
    if (q.status !== 'OK')
      expect(q.message).toBe('notional 400 (quantity 4 × contract size 100) is below min notional 500');
  });
});

describe('instrument file: contract_size', () => {
  it('is optional, normalised and must be positive', () => {
    const base = { ...spec(OKX_LINEAR) };
    expect(InstrumentSpecSchema.parse(base).contract_size).toBeUndefined();
    expect(InstrumentSpecSchema.parse({ ...base, contract_size: 0.01 }).contract_size).toBe('0.01');
    const bad = InstrumentSpecSchema.safeParse({ ...base, contract_size: '0' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({
      path: ['contract_size'],
      message: 'contract size must be greater than zero, got 0',
    });
    expect(InstrumentSpecSchema.safeParse({ ...base, contract_size: 'ten' }).success).toBe(false);
  });
});

describe('spec check at start: contract size', () => {
  const rules = {
    instrument_key: OKX_LINEAR,
    tick_size: '0.1',
    step_size: '1',
    min_qty: '1',
    max_qty: '100000',
    min_notional: '0',
  };
  it('a different contract size is an error; equal or unpublished is not a difference', () => {
    expect(checkInstrumentSpecs([spec(OKX_LINEAR)], [{ ...rules, contract_size: '0.01' }])).toEqual([
      {
        instrument_key: OKX_LINEAR,
        field: 'contract_size',
        ours: '1',
        venue: '0.01',
        severity: 'error',
        message: `${OKX_LINEAR}: contract size is 1 in our catalog, 0.01 at the venue (every quantity is valued wrongly)`,
      },
    ]);
    expect(
      checkInstrumentSpecs(
        [spec(OKX_LINEAR, { contract_size: '0.010' })],
        [{ ...rules, contract_size: '0.01' }],
      ),
    ).toEqual([]);
    expect(checkInstrumentSpecs([spec(OKX_LINEAR, { contract_size: '0.01' })], [rules])).toEqual([]);
  });
});

describe('positions with a contract size', () => {
  it('OKX linear swap: PnL = contracts × 0.01 × price move, in USDT', () => {
    const opts = { contract_size: '0.01' };
    let p = applyFill(null, fill(OKX_LINEAR, 'BUY', '10', '30000'), ACC, opts);
    expect(p.cost_basis).toBe('3000');
    expect(exposure(p, '31000', opts)).toBe('3100');
    expect(unrealizedPnl(p, '31000', opts)).toBe('100'); // 10 × 0.01 × 1000
    p = applyFill(p, fill(OKX_LINEAR, 'SELL', '4', '32000'), ACC, opts);
    expect(p.realized_pnl).toBe('80'); // 4 × 0.01 × 2000
    expect(p.avg_entry_price).toBe('30000');
  });

  it('OKX inverse swap: 100 USD contracts, PnL in BTC', () => {
    const opts = { contract_size: '100' };
    let p = applyFill(null, fill(OKX_INVERSE, 'BUY', '5', '20000'), ACC, opts);
    expect(p.cost_basis).toBe('0.025'); // 500 USD / 20000
    expect(exposure(p, '25000', opts)).toBe('500');
    p = applyFill(p, fill(OKX_INVERSE, 'SELL', '5', '25000'), ACC, opts);
    expect(p.realized_pnl).toBe('0.005'); // 500 × (1/20000 − 1/25000)
    expect(p.quantity).toBe('0');
  });

  it('Deribit perpetual (quantity in USD): a short gains coin when the price falls', () => {
    let p = applyFill(null, fill(DERIBIT_PERP, 'SELL', '1000', '50000'), ACC);
    p = applyFill(p, fill(DERIBIT_PERP, 'BUY', '1000', '40000'), ACC);
    expect(p.realized_pnl).toBe('0.005'); // 1000 × (1/40000 − 1/50000)
  });
});

// ---------------------------------------------------------------------------------------------
// Property: inverse books balance EXACTLY, in coin
// ---------------------------------------------------------------------------------------------

describe('property: inverse realised + unrealised = cash-flow PnL, exactly, in coin', () => {
  const arb = fc.record({
    side: fc.constantFrom<Side>('BUY', 'SELL'),
    qty: fc.integer({ min: 1, max: 500 }),
    // prices with 0 to 2 decimals, including ones whose reciprocal never terminates (3, 7, 30000.3)
    price: fc
      .integer({ min: 1, max: 10_000_000 })
      .chain((n) =>
        fc.constantFrom(0, 1, 2).map((places) => fmt(new Dec(n).dividedBy(new Dec(10).pow(places)))),
      ),
  });

  it('for any fills (adds, partial reduces, flips), contract size and mark', () => {
    fc.assert(
      fc.property(
        fc.array(arb, { minLength: 1, maxLength: 40 }),
        fc.constantFrom('1', '10', '100', '0.5'),
        fc.integer({ min: 1, max: 10_000_000 }).map((n) => fmt(new Dec(n).dividedBy(100))),
        (fills, cs, mark) => {
          const opts = { contract_size: cs };
          let p: Position | null = null;
          // Coin cash flow: buying USD contracts is worth +value in coin, selling −value.
          let cash = toDec(0);
          let qty = toDec(0);
          for (const f of fills) {
            const q = String(f.qty);
            p = applyFill(p, fill(OKX_INVERSE, f.side, q, f.price), ACC, opts);
            const v = settlementValue(q, f.price, cs, 'INVERSE');
            const sign = f.side === 'BUY' ? 1 : -1;
            cash = cash.plus(v.times(sign));
            qty = qty.plus(toDec(q).times(sign));
          }
          if (p === null) throw new Error('unreachable');
          const pos: Position = p;
          const markValue = settlementValue(qty.abs(), mark, cs, 'INVERSE');
          const expected = cash.minus(qty.isNeg() ? markValue.negated() : markValue);
          const books = toDec(pos.realized_pnl).plus(toDec(unrealizedPnl(pos, mark, opts)));
          expect(fmt(books)).toBe(fmt(expected));
          expect(pos.quantity).toBe(fmt(qty));
          expect(exposure(pos, mark, opts)).toBe(fmt(qty.abs().times(cs)));
          if (qty.isZero()) expect(pos.cost_basis).toBe('0');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a round trip at one price realises zero to within one unit of the 18th place', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 999 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (total, partPermille, priceCents) => {
          const price = fmt(new Dec(priceCents).dividedBy(100));
          const part = Math.max(1, Math.floor((total * partPermille) / 1000));
          let p = applyFill(null, fill(OKX_INVERSE, 'BUY', String(total), price), ACC);
          if (part < total) p = applyFill(p, fill(OKX_INVERSE, 'SELL', String(part), price), ACC);
          p = applyFill(p, fill(OKX_INVERSE, 'SELL', String(total - (part < total ? part : 0)), price), ACC);
          expect(p.quantity).toBe('0');
          // Partial reduces split the cost basis with one rounding; the books still sum exactly.
          const rt = toDec(p.realized_pnl);
          expect(rt.abs().lte('1e-18')).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

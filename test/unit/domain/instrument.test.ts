import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Dec, fmt } from '../../../shared/domain/decimal.ts';
import { fromZodIssues } from '../../../shared/domain/errors.ts';
import {
  checkOrderPrecision,
  feeFor,
  findInstrument,
  floorToStep,
  InstrumentFileSchema,
  InstrumentSpecSchema,
  indexInstruments,
  isMultipleOf,
  meetsMinNotional,
  notional,
  quantizeOrder,
  roundToTick,
  selectInstrumentFile,
} from '../../../shared/domain/instrument.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';

const BTC_USDT: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '-0.0001',
  taker_fee: '0.001',
};

const s = (d: Dec): string => fmt(d);

describe('floorToStep', () => {
  it.each([
    ['0.3', '0.001', '0.3'],
    ['0.0015', '0.001', '0.001'],
    ['-0.0015', '0.001', '-0.001'],
    ['1.23456', '0.01', '1.23'],
    ['1.74', '0.5', '1.5'],
    ['12', '5', '10'],
    ['0.123456789', '0.00000001', '0.12345678'],
    ['0.0009', '0.001', '0'],
    ['-0.0009', '0.001', '0'],
    ['0', '0.001', '0'],
    ['7', '0.001', '7'],
    ['2.5', '0.1', '2.5'],
    ['1e-7', '1e-8', '0.0000001'],
    ['123456789012345678901234567890.123456789', '0.000000001', '123456789012345678901234567890.123456789'],
    ['123456789012345678901234567890.1234567891', '0.000000001', '123456789012345678901234567890.123456789'],
  ])('floorToStep(%s, %s) = %s', (qty, step, expected) => {
    expect(s(floorToStep(qty, step))).toBe(expected);
  });

  it('is exact for binary-float inputs', () => {
    // 0.1 + 0.2 = 0.30000000000000004 as a double: floors to 0.3, not 0.301 or 0.299.
    expect(s(floorToStep(0.1 + 0.2, 0.001))).toBe('0.3');
    // 0.3 - 0.1 = 0.19999999999999998: floors to 0.199 (the double really is below 0.2).
    expect(s(floorToStep(0.3 - 0.1, 0.001))).toBe('0.199');
    expect(s(floorToStep('0.3', 0.1))).toBe('0.3');
    // Math.floor(0.3 / 0.1) * 0.1 is 0.2: the float way loses a step.
    expect(Math.floor(0.3 / 0.1) * 0.1).toBeCloseTo(0.2);
    expect(s(floorToStep(new Dec('0.7'), '0.1'))).toBe('0.7');
  });

  it('rejects a step that is not positive', () => {
    expect(() => floorToStep('1', '0')).toThrow(RangeError);
    expect(() => floorToStep('1', '-0.1')).toThrow('step size must be greater than zero, got -0.1');
    expect(() => floorToStep('abc', '0.1')).toThrow(RangeError);
  });
});

describe('roundToTick', () => {
  it.each([
    // price, tick, down, up, nearest
    ['100.005', '0.01', '100', '100.01', '100'],
    ['100.015', '0.01', '100.01', '100.02', '100.02'],
    ['100.0149', '0.01', '100.01', '100.02', '100.01'],
    ['100.0151', '0.01', '100.01', '100.02', '100.02'],
    ['100.01', '0.01', '100.01', '100.01', '100.01'],
    ['1.25', '0.5', '1', '1.5', '1'],
    ['1.75', '0.5', '1.5', '2', '2'],
    ['-1.005', '0.01', '-1.01', '-1', '-1'],
    ['-1.015', '0.01', '-1.02', '-1.01', '-1.02'],
    ['0.004', '0.01', '0', '0.01', '0'],
    ['27.3', '5', '25', '30', '25'],
    ['27.5', '5', '25', '30', '30'],
    ['0.07', '0.00001', '0.07', '0.07', '0.07'],
  ])('roundToTick(%s, %s) = down %s, up %s, nearest %s', (price, tick, down, up, nearest) => {
    expect(s(roundToTick(price, tick, 'down'))).toBe(down);
    expect(s(roundToTick(price, tick, 'up'))).toBe(up);
    expect(s(roundToTick(price, tick, 'nearest'))).toBe(nearest);
  });

  it('is exact for binary-float inputs', () => {
    // 1.005 as a double is 1.00499999999999989…, but String(1.005) = "1.005" is what we round.
    expect(s(roundToTick(1.005, 0.01, 'nearest'))).toBe('1');
    expect(s(roundToTick(1.015, 0.01, 'nearest'))).toBe('1.02');
    expect(s(roundToTick(0.1 + 0.2, 0.1, 'up'))).toBe('0.4');
    expect(s(roundToTick(0.1 + 0.2, 0.1, 'down'))).toBe('0.3');
  });

  it('rejects a tick that is not positive', () => {
    expect(() => roundToTick('1', '0', 'down')).toThrow('tick size must be greater than zero, got 0');
  });
});

describe('isMultipleOf / notional / meetsMinNotional', () => {
  it('isMultipleOf is exact', () => {
    expect(isMultipleOf('0.3', '0.1')).toBe(true);
    expect(0.3 % 0.1).not.toBe(0); // why floats are not used
    expect(isMultipleOf(0.3, 0.1)).toBe(true);
    expect(isMultipleOf('0.0015', '0.001')).toBe(false);
    expect(isMultipleOf(0.1 + 0.2, '0.001')).toBe(false);
    expect(isMultipleOf('0', '0.001')).toBe(true);
    expect(isMultipleOf('-0.003', '0.001')).toBe(true);
    expect(isMultipleOf('1e-8', '0.00000001')).toBe(true);
    expect(isMultipleOf('100', '0.25')).toBe(true);
    expect(isMultipleOf('100.3', '0.25')).toBe(false);
    expect(() => isMultipleOf('1', '0')).toThrow(RangeError);
  });

  it('notional is exact', () => {
    expect(0.07 * 3).not.toBe(0.21);
    expect(s(notional('3', '0.07'))).toBe('0.21');
    expect(s(notional(3, 0.07))).toBe('0.21');
    expect(s(notional('0.3', '3'))).toBe('0.9');
    expect(s(notional('-0.5', '20'))).toBe('-10');
    expect(s(notional('123456789.123456789', '987654321.987654321'))).toBe(
      '121932631356500531.347203169112635269',
    );
  });

  it('meetsMinNotional is exact at the boundary', () => {
    expect(0.3 * 3 >= 0.9).toBe(false); // the float way wrongly rejects
    expect(meetsMinNotional(0.3, 3, 0.9)).toBe(true);
    expect(meetsMinNotional('0.001', '5000', '5')).toBe(true);
    expect(meetsMinNotional('0.001', '4999.99', '5')).toBe(false);
    expect(meetsMinNotional('-0.001', '5000', '5')).toBe(true); // magnitude of a sell quantity
    expect(meetsMinNotional('0', '5000', '0')).toBe(true);
    expect(meetsMinNotional('3', '0.07', '0.21')).toBe(true);
    expect(meetsMinNotional('3', '0.07', '0.2100000000000000000000000000000000000000001')).toBe(false);
  });
});

describe('feeFor', () => {
  it('is notional × rate exactly, as a canonical string', () => {
    expect(feeFor(BTC_USDT, '0.3', '30000.1', 'TAKER')).toBe('9.00003');
    expect(feeFor(BTC_USDT, '0.3', '30000.1', 'MAKER')).toBe('-0.900003');
    expect(feeFor(BTC_USDT, 0.1 + 0.2, 30000.1, 'TAKER')).toBe('9.000030000000001200004');
    expect(feeFor(BTC_USDT, '-0.3', '30000.1', 'TAKER')).toBe('9.00003');
    expect(feeFor(BTC_USDT, '3', '0.07', 'TAKER')).toBe('0.00021');
    expect(feeFor({ ...BTC_USDT, taker_fee: '0' }, '3', '0.07', 'TAKER')).toBe('0');
  });
});

describe('checkOrderPrecision', () => {
  it('accepts a good limit order', () => {
    expect(checkOrderPrecision(BTC_USDT, '0.3', '30000.1')).toEqual([]);
    expect(checkOrderPrecision(BTC_USDT, 0.1 + 0.2, '30000.1')).toEqual([
      { path: 'quantity', message: '0.30000000000000004 is not a multiple of step size 0.001' },
    ]);
  });

  it('reports step, tick, limits and notional', () => {
    expect(checkOrderPrecision(BTC_USDT, '0.0015', '4000.005')).toEqual([
      { path: 'quantity', message: '0.0015 is not a multiple of step size 0.001' },
      { path: 'price', message: '4000.005 is not a multiple of tick size 0.01' },
    ]);
    expect(checkOrderPrecision(BTC_USDT, '0.0005', '100')).toEqual([
      { path: 'quantity', message: '0.0005 is not a multiple of step size 0.001' },
      { path: 'quantity', message: '0.0005 is below min qty 0.001' },
      { path: 'notional', message: 'notional 0.05 (quantity 0.0005 × price 100) is below min notional 5' },
    ]);
    expect(checkOrderPrecision(BTC_USDT, '9000.001', '100')).toEqual([
      { path: 'quantity', message: '9000.001 is above max qty 9000' },
    ]);
    expect(checkOrderPrecision(BTC_USDT, '0.001', '4999.99')).toEqual([
      {
        path: 'notional',
        message: 'notional 4.99999 (quantity 0.001 × price 4999.99) is below min notional 5',
      },
    ]);
    expect(checkOrderPrecision(BTC_USDT, '0.001', '5000')).toEqual([]);
  });

  it('checks a market order against the reference price when given', () => {
    expect(checkOrderPrecision(BTC_USDT, '0.001', null)).toEqual([]);
    expect(checkOrderPrecision(BTC_USDT, '0.001', null, '4000')).toEqual([
      {
        path: 'notional',
        message: 'notional 4 (quantity 0.001 × reference price 4000) is below min notional 5',
      },
    ]);
    // The reference price need not be on the tick grid.
    expect(checkOrderPrecision(BTC_USDT, '0.001', null, '5000.001')).toEqual([]);
  });

  it('reports non-positive and non-decimal values instead of throwing', () => {
    expect(checkOrderPrecision(BTC_USDT, '0', '100')).toEqual([
      { path: 'quantity', message: 'quantity must be greater than zero, got 0' },
    ]);
    expect(checkOrderPrecision(BTC_USDT, '1', '-100')).toEqual([
      { path: 'price', message: 'price must be greater than zero, got -100' },
    ]);
    expect(checkOrderPrecision(BTC_USDT, 'abc', 'x')).toEqual([
      { path: 'quantity', message: '"abc" is not a decimal number' },
      { path: 'price', message: '"x" is not a decimal number' },
    ]);
  });
});

describe('quantizeOrder', () => {
  it('floors the quantity and rounds a BUY price down, a SELL price up', () => {
    expect(quantizeOrder(BTC_USDT, '0.12345', '30000.129', 'BUY')).toEqual({
      status: 'OK',
      quantity: '0.123',
      price: '30000.12',
      adjusted: true,
    });
    expect(quantizeOrder(BTC_USDT, '0.12345', '30000.121', 'SELL')).toEqual({
      status: 'OK',
      quantity: '0.123',
      price: '30000.13',
      adjusted: true,
    });
    expect(quantizeOrder(BTC_USDT, '0.3', '30000.1', 'SELL')).toEqual({
      status: 'OK',
      quantity: '0.3',
      price: '30000.1',
      adjusted: false,
    });
    expect(quantizeOrder(BTC_USDT, 0.1 + 0.2, 30000.1, 'BUY')).toEqual({
      status: 'OK',
      quantity: '0.3',
      price: '30000.1',
      adjusted: true,
    });
  });

  it('keeps a market order price null, checking notional on the reference price', () => {
    expect(quantizeOrder(BTC_USDT, '1.0009', null, 'BUY')).toEqual({
      status: 'OK',
      quantity: '1',
      price: null,
      adjusted: true,
    });
    expect(quantizeOrder(BTC_USDT, '0.0019', null, 'SELL', '3000')).toEqual({
      status: 'BELOW_MIN_NOTIONAL',
      quantity: '0.001',
      price: null,
      adjusted: true,
      message: 'notional 3 (quantity 0.001 × reference price 3000) is below min notional 5',
    });
  });

  it('tells when the result is not tradable', () => {
    expect(quantizeOrder(BTC_USDT, '0.0009', '30000', 'BUY')).toEqual({
      status: 'ZERO_QUANTITY',
      quantity: '0',
      price: '30000',
      adjusted: true,
      message: '0.0009 rounds to 0 at step size 0.001',
    });
    expect(quantizeOrder({ ...BTC_USDT, min_qty: '0.01' }, '0.0099', '30000', 'BUY')).toEqual({
      status: 'BELOW_MIN_QTY',
      quantity: '0.009',
      price: '30000',
      adjusted: true,
      message: '0.009 is below min qty 0.01',
    });
    expect(quantizeOrder(BTC_USDT, '9000.5', '1', 'BUY')).toEqual({
      status: 'ABOVE_MAX_QTY',
      quantity: '9000.5',
      price: '1',
      adjusted: false,
      message: '9000.5 is above max qty 9000',
    });
    expect(quantizeOrder(BTC_USDT, '1', '0.009', 'BUY')).toEqual({
      status: 'ZERO_PRICE',
      quantity: '1',
      price: '0',
      adjusted: true,
      message: 'price 0.009 rounds to 0 at tick size 0.01',
    });
    // SELL rounds 4999.991 up to 4999.99... still below 5 for 0.001.
    expect(quantizeOrder(BTC_USDT, '0.001', '4999.981', 'SELL')).toMatchObject({
      status: 'BELOW_MIN_NOTIONAL',
      price: '4999.99',
    });
    // ... while the exact boundary passes.
    expect(quantizeOrder(BTC_USDT, '0.001', '4999.991', 'SELL')).toMatchObject({
      status: 'OK',
      price: '5000',
    });
  });
});

describe('InstrumentSpecSchema', () => {
  it('normalises numbers and strings to canonical decimal strings', () => {
    expect(
      InstrumentSpecSchema.parse({
        instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        tick_size: 0.01,
        step_size: '0.00100',
        min_qty: '1e-3',
        max_qty: 9000,
        min_notional: '5.0',
        maker_fee: -0.0001,
        taker_fee: '0.001',
        extra: 'dropped',
      }),
    ).toEqual(BTC_USDT);
  });

  function issues(input: Record<string, unknown>) {
    const r = InstrumentSpecSchema.safeParse({ ...BTC_USDT, ...input });
    return r.success ? [] : fromZodIssues(r.error.issues);
  }

  it('enforces the rules with paths on the fields', () => {
    expect(issues({})).toEqual([]);
    expect(issues({ tick_size: '0' })).toEqual([
      { path: 'tick_size', message: 'tick size must be greater than zero, got 0' },
    ]);
    expect(issues({ step_size: -0.001 })).toEqual([
      { path: 'step_size', message: 'step size must be greater than zero, got -0.001' },
    ]);
    expect(issues({ min_qty: '-1' })).toEqual([
      { path: 'min_qty', message: 'min qty must not be negative, got -1' },
    ]);
    expect(issues({ min_qty: '10', max_qty: '9.999' })).toEqual([
      { path: 'max_qty', message: 'max qty 9.999 is below min qty 10' },
    ]);
    expect(issues({ min_qty: '0', max_qty: '0' })).toEqual([
      { path: 'max_qty', message: 'max qty must be greater than zero, got 0' },
    ]);
    expect(issues({ min_qty: '10', max_qty: '10' })).toEqual([]);
    expect(issues({ min_notional: '-5' })).toEqual([
      { path: 'min_notional', message: 'min notional must not be negative, got -5' },
    ]);
    expect(issues({ maker_fee: '-1', taker_fee: 1 })).toEqual([
      {
        path: 'maker_fee',
        message: 'maker fee -1 must be greater than -1 and less than 1 (a fraction of notional)',
      },
      {
        path: 'taker_fee',
        message: 'taker fee 1 must be greater than -1 and less than 1 (a fraction of notional)',
      },
    ]);
    expect(issues({ maker_fee: '-0.99999', taker_fee: '0.99999' })).toEqual([]);
  });

  it('rejects non-decimals, missing fields and bad keys', () => {
    expect(issues({ tick_size: 'abc' })).toEqual([
      { path: 'tick_size', message: '"abc" is not a decimal number' },
    ]);
    expect(issues({ tick_size: Number.NaN })).toHaveLength(1);
    expect(issues({ tick_size: undefined }).map((i) => i.path)).toEqual(['tick_size']);
    expect(issues({ instrument_key: 'BINANCE:PERP:BTC-USDT' })).toEqual([
      {
        path: 'instrument_key',
        message: 'instrument type "PERP" is not one of SPOT_PAIR, PERPETUAL, FUTURE, OPTION, STOCK',
      },
    ]);
  });
});

describe('InstrumentFileSchema', () => {
  const perp: InstrumentSpec = { ...BTC_USDT, instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN' };
  const eth: InstrumentSpec = { ...BTC_USDT, instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT' };
  const sol: InstrumentSpec = { ...BTC_USDT, instrument_key: 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT' };

  it('accepts a file of distinct instruments', () => {
    expect(InstrumentFileSchema.parse([BTC_USDT, perp, eth])).toEqual([BTC_USDT, perp, eth]);
    expect(InstrumentFileSchema.parse([])).toEqual([]);
  });

  it('rejects duplicate keys at the later entry', () => {
    const r = InstrumentFileSchema.safeParse([BTC_USDT, eth, sol, { ...eth, tick_size: '0.1' }]);
    expect(r.success).toBe(false);
    expect(fromZodIssues(r.error?.issues ?? [])).toEqual([
      {
        path: '[3].instrument_key',
        message: 'duplicate instrument_key "BINANCE-SPOT:SPOT_PAIR:ETH-USDT" (already at [1])',
      },
    ]);
  });

  it('treats two spellings of one instrument as duplicates', () => {
    const r = InstrumentFileSchema.safeParse([
      perp,
      { ...perp, instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT' },
    ]);
    expect(fromZodIssues(r.error?.issues ?? [])).toEqual([
      {
        path: '[1].instrument_key',
        message: 'duplicate instrument_key "BINANCE-FUTURES:PERPETUAL:BTC-USDT" (already at [0])',
      },
    ]);
  });

  it('reports entry errors with their index', () => {
    const r = InstrumentFileSchema.safeParse([BTC_USDT, { ...eth, step_size: '0' }]);
    expect(fromZodIssues(r.error?.issues ?? [])).toEqual([
      { path: '[1].step_size', message: 'step size must be greater than zero, got 0' },
    ]);
  });

  it('exports as JSON Schema for both input and output', () => {
    const input = z.toJSONSchema(InstrumentFileSchema, { io: 'input' });
    const output = z.toJSONSchema(InstrumentFileSchema);
    expect(input).toMatchObject({
      type: 'array',
      items: {
        properties: { tick_size: { type: ['string', 'number'] }, instrument_key: { type: 'string' } },
      },
    });
    expect(output).toMatchObject({ type: 'array', items: { properties: { tick_size: { type: 'string' } } } });
  });

  it('indexes specs by canonical id', () => {
    const index = indexInstruments([BTC_USDT, perp]);
    expect(findInstrument(index, 'BINANCE-FUTURES:PERPETUAL:BTC-USDT')).toBe(perp);
    expect(findInstrument(index, 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN')).toBe(perp);
    expect(findInstrument(index, 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).toBe(BTC_USDT);
    expect(findInstrument(index, 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT')).toBeUndefined();
  });
});

describe('selectInstrumentFile', () => {
  const dates = ['2025-07-01', '2025-06-01', '2025-07-15', 'README', '2025-02-30'];

  it('picks the latest file on or before the day', () => {
    expect(selectInstrumentFile(dates, '2025-07-01')).toBe('2025-07-01');
    expect(selectInstrumentFile(dates, '2025-07-14')).toBe('2025-07-01');
    expect(selectInstrumentFile(dates, '2025-07-15')).toBe('2025-07-15');
    expect(selectInstrumentFile(dates, '2026-01-01')).toBe('2025-07-15');
    expect(selectInstrumentFile(dates, '2025-06-30')).toBe('2025-06-01');
  });

  it('returns null when every file is later, or there is none', () => {
    expect(selectInstrumentFile(dates, '2025-05-31')).toBeNull();
    expect(selectInstrumentFile([], '2025-07-01')).toBeNull();
    // The invalid 2025-02-30 is ignored rather than chosen for March.
    expect(selectInstrumentFile(['2025-02-30', '2025-01-31'], '2025-03-01')).toBe('2025-01-31');
  });

  it('rejects a day that is not YYYY-MM-DD', () => {
    expect(() => selectInstrumentFile(dates, '20250701')).toThrow(RangeError);
    expect(() => selectInstrumentFile(dates, '2025-13-01')).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** A decimal string m × 10^-s. */
function decString(m: bigint, sc: number): string {
  const neg = m < 0n;
  let digits = (neg ? -m : m).toString();
  if (sc > 0) {
    digits = digits.padStart(sc + 1, '0');
    digits = `${digits.slice(0, -sc)}.${digits.slice(-sc)}`;
  }
  return (neg ? '-' : '') + digits;
}

const decimalArb = (min: bigint, max: bigint, maxScale = 12) =>
  fc.tuple(fc.bigInt({ min, max }), fc.integer({ min: 0, max: maxScale })).map(([m, sc]) => decString(m, sc));

/** Increments like 0.001, 0.05, 0.25, 5, 1e-8. */
const incrementArb = fc
  .tuple(fc.constantFrom(1n, 2n, 5n, 25n, 10n, 3n, 7n), fc.integer({ min: 0, max: 10 }))
  .map(([m, sc]) => decString(m, sc));

/** Independent, very high-precision reference arithmetic. */
const Big = Dec.clone({ precision: 500 });

describe('properties', () => {
  it('floorToStep: a multiple of step, toward zero, within one step', () => {
    fc.assert(
      fc.property(decimalArb(-(10n ** 22n), 10n ** 22n), incrementArb, (qty, step) => {
        const f = floorToStep(qty, step);
        const q = new Big(qty);
        expect(isMultipleOf(f, step)).toBe(true);
        expect(new Big(f.toFixed()).abs().lte(q.abs())).toBe(true);
        expect(q.abs().minus(new Big(f.toFixed()).abs()).lt(new Big(step))).toBe(true);
        expect(f.isZero() || f.isNegative() === q.isNegative()).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('roundToTick: down ≤ price ≤ up within one tick; nearest is the closer one', () => {
    fc.assert(
      fc.property(decimalArb(-(10n ** 18n), 10n ** 18n), incrementArb, (price, tick) => {
        const down = new Big(roundToTick(price, tick, 'down').toFixed());
        const up = new Big(roundToTick(price, tick, 'up').toFixed());
        const nearest = new Big(roundToTick(price, tick, 'nearest').toFixed());
        const p = new Big(price);
        const t = new Big(tick);
        expect(down.lte(p) && p.lte(up)).toBe(true);
        expect(up.minus(down).eq(0) || up.minus(down).eq(t)).toBe(true);
        expect(isMultipleOf(down.toFixed(), tick) && isMultipleOf(up.toFixed(), tick)).toBe(true);
        expect(nearest.eq(down) || nearest.eq(up)).toBe(true);
        expect(nearest.minus(p).abs().lte(t.div(2))).toBe(true);
        if (isMultipleOf(price, tick)) expect(down.eq(p) && up.eq(p)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('min-notional gate is exact: qty × price == min passes, one step less fails', () => {
    fc.assert(
      fc.property(
        incrementArb,
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        decimalArb(1n, 10n ** 12n, 8),
        (step, n, price) => {
          const qty = fmt(new Big(step).times(n.toString()));
          const min = fmt(new Big(qty).times(price));
          expect(meetsMinNotional(qty, price, min)).toBe(true);
          const less = fmt(new Big(qty).minus(step));
          expect(meetsMinNotional(less, price, min)).toBe(false);
          expect(
            checkOrderPrecision(
              { ...BTC_USDT, step_size: step, min_qty: '0', min_notional: min, max_qty: qty },
              qty,
              null,
              price,
            ),
          ).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('feeFor equals |qty| × price × rate exactly', () => {
    fc.assert(
      fc.property(
        decimalArb(-(10n ** 15n), 10n ** 15n, 10),
        decimalArb(1n, 10n ** 15n, 10),
        decimalArb(-(10n ** 6n) + 1n, 10n ** 6n - 1n, 6).filter((r) => new Big(r).abs().lt(1)),
        fc.constantFrom<'MAKER' | 'TAKER'>('MAKER', 'TAKER'),
        (qty, price, rate, liquidity) => {
          const spec = { ...BTC_USDT, maker_fee: rate, taker_fee: rate };
          const expected = new Big(qty).abs().times(price).times(rate);
          expect(feeFor(spec, qty, price, liquidity)).toBe(fmt(expected));
          expect(fmt(notional(notional(new Big(qty).abs().toFixed(), price), rate))).toBe(fmt(expected));
        },
      ),
      { numRuns: 300 },
    );
  });
});

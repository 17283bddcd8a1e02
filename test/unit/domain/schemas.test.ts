import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toDec } from '../../../shared/domain/decimal.ts';
import {
  CancelRequestSchema,
  checkDecimal,
  DecimalSchema,
  defaultSliceCount,
  IcebergParamsSchema,
  NonNegativeDecimal,
  OrderInstructionSchema,
  OrderReplySchema,
  PositiveDecimal,
  parseCancelRequest,
  parseExecAlgorithmParams,
  parseOrderInstruction,
  parseWith,
  TwapParamsSchema,
  toOrderReply,
  VwapParamsSchema,
  vwapWeights,
} from '../../../shared/domain/schemas.ts';
import type { Fill, OrderRecord } from '../../../shared/domain/types.ts';

const BASE = {
  operation_id: 'OP-12345',
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  side: 'BUY',
  quantity: '1.0',
  order_type: 'MARKET',
  strategy_id: 'momentum-btc-v1',
};

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  const r = parseOrderInstruction(input);
  if (r.success) throw new Error(`expected failure, got ${JSON.stringify(r.data)}`);
  expect(r.error.code).toBe('invalid_order');
  return r.error.issues;
}

function dataOf(input: unknown) {
  const r = parseOrderInstruction(input);
  if (!r.success) throw new Error(`expected success, got ${JSON.stringify(r.error.issues)}`);
  return r.data;
}

describe('decimal schemas', () => {
  it.each([
    ['1.0', '1'],
    ['1.50', '1.5'],
    ['0001.2300', '1.23'],
    ['+2', '2'],
    ['.5', '0.5'],
    ['1e-3', '0.001'],
    ['2.5E2', '250'],
    [' 3 ', '3'],
    [0.1, '0.1'],
    [12, '12'],
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    ['0.000000000000000001', '0.000000000000000001'],
  ])('normalises %j to %s', (input, out) => {
    expect(PositiveDecimal.parse(input)).toBe(out);
  });

  it('keeps negatives and zero where allowed', () => {
    expect(DecimalSchema.parse('-1.50')).toBe('-1.5');
    expect(DecimalSchema.parse('-0')).toBe('0');
    expect(NonNegativeDecimal.parse('0.00')).toBe('0');
    expect(NonNegativeDecimal.parse(0)).toBe('0');
  });

  it.each([
    ['abc', 'must be a decimal number such as "1.25", got "abc"'],
    ['1.2.3', 'must be a decimal number such as "1.25", got "1.2.3"'],
    ['', 'must not be empty: expected a decimal number such as "1.25"'],
    ['   ', 'must not be empty: expected a decimal number such as "1.25"'],
    ['NaN', 'must be a decimal number such as "1.25", got "NaN"'],
    ['Infinity', 'must be a decimal number such as "1.25", got "Infinity"'],
    ['0x10', 'must be a decimal number such as "1.25", got "0x10"'],
    [Number.NaN, 'must be a finite number, got NaN'],
    [Number.POSITIVE_INFINITY, 'must be a finite number, got Infinity'],
    [Number.NEGATIVE_INFINITY, 'must be a finite number, got -Infinity'],
    [true, 'must be a decimal string or a number, got boolean'],
    [null, 'must be a decimal string or a number, got null'],
    [[1], 'must be a decimal string or a number, got array'],
    [{}, 'must be a decimal string or a number, got object'],
    ['0.1234567890123456789', 'has 19 decimal places, at most 18 allowed'],
    ['1e-19', 'has 19 decimal places, at most 18 allowed'],
    ['1e999999999', 'is too large: at most 30 digits before the decimal point'],
    ['1e30', 'is too large: at most 30 digits before the decimal point'],
    ['0', 'must be greater than 0, got 0'],
    ['-1.50', 'must be greater than 0, got -1.5'],
    [-3, 'must be greater than 0, got -3'],
  ])('PositiveDecimal rejects %j: %s', (input, message) => {
    const r = PositiveDecimal.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toEqual([message]);
  });

  it('NonNegativeDecimal rejects negatives, naming the value', () => {
    const r = NonNegativeDecimal.safeParse('-0.01');
    expect(r.error?.issues.map((i) => i.message)).toEqual(['must not be negative, got -0.01']);
  });

  it('accepts the largest allowed magnitude and precision', () => {
    expect(PositiveDecimal.parse('999999999999999999999999999999.999999999999999999')).toBe(
      '999999999999999999999999999999.999999999999999999',
    );
  });

  it('checkDecimal is the same rule outside zod', () => {
    expect(checkDecimal('2.50', 'positive')).toEqual({ ok: true, value: '2.5' });
    expect(checkDecimal('x')).toEqual({ ok: false, message: 'not a decimal number: "x"' });
  });

  it('property: any canonical decimal with ≤ 18 dp round-trips unchanged, numbers match their string form', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(digits, fc.option(digits, { nil: undefined }), (int, frac) => {
        const raw = frac === undefined ? int : `${int}.${frac.slice(0, 18)}`;
        const canonical = toDec(raw).toFixed();
        expect(DecimalSchema.parse(raw)).toBe(canonical);
        expect(DecimalSchema.parse(canonical)).toBe(canonical);
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }), (n) => {
        const r = DecimalSchema.safeParse(n);
        if (r.success) expect(toDec(r.data).eq(toDec(String(n)))).toBe(true);
        else expect(r.error.issues[0]?.message).toMatch(/^has \d+ decimal places, at most 18 allowed$/);
      }),
    );
  });
});

describe('parseOrderInstruction', () => {
  it('accepts the SPEC example and fills the defaults', () => {
    expect(
      dataOf({
        ...BASE,
        price: null,
        time_in_force: 'GTC',
        exec_algorithm: 'TWAP',
        exec_algorithm_params: { duration_sec: 300, max_slices: 10 },
      }),
    ).toEqual({
      operation_id: 'OP-12345',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '1',
      price: null,
      order_type: 'MARKET',
      time_in_force: 'GTC',
      strategy_id: 'momentum-btc-v1',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 300, max_slices: 10, jitter_pct: 0 },
    });
  });

  it('defaults price, time_in_force, exec_algorithm and params', () => {
    const d = dataOf(BASE);
    expect(d.price).toBeNull();
    expect(d.time_in_force).toBe('GTC');
    expect(d.exec_algorithm).toBe('NORMAL');
    expect(d.exec_algorithm_params).toEqual({});
    expect('venue' in d).toBe(false);
    expect('reference_price' in d).toBe(false);
  });

  it('normalises numbers and keeps the optional venue and reference price', () => {
    const d = dataOf({
      ...BASE,
      quantity: 0.25,
      order_type: 'LIMIT',
      price: '65000.50',
      venue: 'BINANCE-SPOT',
      reference_price: 65010,
      time_in_force: 'GTX',
    });
    expect(d).toMatchObject({
      quantity: '0.25',
      price: '65000.5',
      venue: 'BINANCE-SPOT',
      reference_price: '65010',
      time_in_force: 'GTX',
    });
  });

  it.each(['IOC', 'FOK', 'DAY', 'GTC'])('allows %s for MARKET and LIMIT', (tif) => {
    expect(dataOf({ ...BASE, time_in_force: tif }).time_in_force).toBe(tif);
    expect(dataOf({ ...BASE, order_type: 'LIMIT', price: '1', time_in_force: tif }).time_in_force).toBe(tif);
  });

  it('LIMIT requires a price', () => {
    expect(issuesOf({ ...BASE, order_type: 'LIMIT' })).toEqual([
      { path: 'price', message: 'price is required for LIMIT orders' },
    ]);
    expect(issuesOf({ ...BASE, order_type: 'LIMIT', price: null })).toEqual([
      { path: 'price', message: 'price is required for LIMIT orders' },
    ]);
  });

  it('MARKET must not carry a price', () => {
    expect(issuesOf({ ...BASE, price: '100.0' })).toEqual([
      {
        path: 'price',
        message: 'MARKET orders must not carry a price (got 100); send null or use a LIMIT order',
      },
    ]);
  });

  it('GTX (post-only) only for LIMIT', () => {
    expect(issuesOf({ ...BASE, time_in_force: 'GTX' })).toEqual([
      { path: 'time_in_force', message: 'GTX (post-only) is only allowed for LIMIT orders, not MARKET' },
    ]);
  });

  it('names the allowed values of an unknown enum at the field path', () => {
    expect(issuesOf({ ...BASE, side: 'buy' })).toEqual([
      { path: 'side', message: 'Invalid option: expected one of "BUY"|"SELL"' },
    ]);
    expect(issuesOf({ ...BASE, order_type: 'STOP' })).toEqual([
      { path: 'order_type', message: 'Invalid option: expected one of "MARKET"|"LIMIT"' },
    ]);
    expect(issuesOf({ ...BASE, time_in_force: 'GTD' })).toEqual([
      { path: 'time_in_force', message: 'Invalid option: expected one of "GTC"|"IOC"|"FOK"|"GTX"|"DAY"' },
    ]);
    expect(issuesOf({ ...BASE, exec_algorithm: 'POV' })).toEqual([
      { path: 'exec_algorithm', message: 'Invalid option: expected one of "NORMAL"|"TWAP"|"VWAP"|"ICEBERG"' },
    ]);
  });

  it('rejects unknown top-level keys, one issue per key at its own path', () => {
    expect(issuesOf({ ...BASE, quantiy: '1', extra: true })).toEqual([
      { path: 'quantiy', message: 'unknown field' },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it('validates operation_id', () => {
    expect(issuesOf({ ...BASE, operation_id: '' })).toEqual([
      { path: 'operation_id', message: 'must not be empty' },
    ]);
    expect(issuesOf({ ...BASE, operation_id: 'a'.repeat(129) })).toEqual([
      { path: 'operation_id', message: 'must be at most 128 characters' },
    ]);
    expect(issuesOf({ ...BASE, operation_id: 'OP 1/2' })).toEqual([
      { path: 'operation_id', message: "may contain only letters, digits, '.', '_', ':' and '-'" },
    ]);
    expect(dataOf({ ...BASE, operation_id: 'a'.repeat(128) }).operation_id).toHaveLength(128);
    expect(dataOf({ ...BASE, operation_id: 'strat.1:win_2-x' }).operation_id).toBe('strat.1:win_2-x');
  });

  it('validates strategy_id, instrument_key and required fields', () => {
    expect(issuesOf({ ...BASE, strategy_id: '' })).toEqual([
      { path: 'strategy_id', message: 'must not be empty' },
    ]);
    const bad = issuesOf({ ...BASE, instrument_key: 'BINANCE-SPOT:PERP:BTC-USDT' });
    expect(bad).toHaveLength(1);
    expect(bad[0]?.path).toBe('instrument_key');
    expect(bad[0]?.message).toContain('PERP');
    const { side: _side, quantity: _q, ...missing } = BASE;
    expect(issuesOf(missing)).toEqual([
      { path: 'side', message: 'Invalid option: expected one of "BUY"|"SELL"' },
      { path: 'quantity', message: 'must be a decimal string or a number, got undefined' },
    ]);
  });

  it('names the decimal problem at the field path', () => {
    expect(issuesOf({ ...BASE, quantity: '0.1234567890123456789' })).toEqual([
      { path: 'quantity', message: 'has 19 decimal places, at most 18 allowed' },
    ]);
    expect(issuesOf({ ...BASE, quantity: '-1' })).toEqual([
      { path: 'quantity', message: 'must be greater than 0, got -1' },
    ]);
    expect(issuesOf({ ...BASE, order_type: 'LIMIT', price: 'cheap' })).toEqual([
      { path: 'price', message: 'must be a decimal number such as "1.25", got "cheap"' },
    ]);
    expect(issuesOf({ ...BASE, reference_price: 0 })).toEqual([
      { path: 'reference_price', message: 'must be greater than 0, got 0' },
    ]);
  });

  it('reports every problem at once, cross-field rules included', () => {
    expect(
      issuesOf({ ...BASE, strategy_id: '', order_type: 'LIMIT', time_in_force: 'GTX', typo: 1 }),
    ).toEqual([
      { path: 'strategy_id', message: 'must not be empty' },
      { path: 'typo', message: 'unknown field' },
      { path: 'price', message: 'price is required for LIMIT orders' },
    ]);
    // A cross-field rule is skipped when a field it reads is itself wrong.
    expect(issuesOf({ ...BASE, order_type: 'LIMT', price: '1' })).toEqual([
      { path: 'order_type', message: 'Invalid option: expected one of "MARKET"|"LIMIT"' },
    ]);
  });

  it('rejects a body that is not an object', () => {
    expect(issuesOf(null)).toEqual([{ path: '', message: 'Invalid input: expected object, received null' }]);
    expect(issuesOf('{"a":1}')).toEqual([
      { path: '', message: 'Invalid input: expected object, received string' },
    ]);
    expect(issuesOf([])).toEqual([{ path: '', message: 'Invalid input: expected object, received array' }]);
  });
});

describe('execution algorithm parameters', () => {
  const twap = (params: unknown) => ({ ...BASE, exec_algorithm: 'TWAP', exec_algorithm_params: params });
  const vwap = (params: unknown) => ({ ...BASE, exec_algorithm: 'VWAP', exec_algorithm_params: params });
  const iceberg = (params: unknown, quantity = '10') => ({
    ...BASE,
    quantity,
    order_type: 'LIMIT',
    price: '100',
    exec_algorithm: 'ICEBERG',
    exec_algorithm_params: params,
  });

  it('NORMAL takes no parameters', () => {
    expect(issuesOf({ ...BASE, exec_algorithm_params: { duration_sec: 10 } })).toEqual([
      { path: 'exec_algorithm_params.duration_sec', message: 'unknown field' },
    ]);
  });

  it('TWAP: defaults one slice per 30 s rounded up, jitter 0', () => {
    expect(dataOf(twap({ duration_sec: 300 })).exec_algorithm_params).toEqual({
      duration_sec: 300,
      max_slices: 10,
      jitter_pct: 0,
    });
    expect(dataOf(twap({ duration_sec: 31 })).exec_algorithm_params).toMatchObject({ max_slices: 2 });
    expect(dataOf(twap({ duration_sec: 1 })).exec_algorithm_params).toMatchObject({ max_slices: 1 });
    expect(dataOf(twap({ duration_sec: 86400, jitter_pct: 0.5, seed: 7 })).exec_algorithm_params).toEqual({
      duration_sec: 86400,
      max_slices: 2880,
      jitter_pct: 0.5,
      seed: 7,
    });
    expect([1, 29, 30, 31, 60, 61, 86400].map(defaultSliceCount)).toEqual([1, 1, 1, 2, 2, 3, 2880]);
  });

  it.each([
    [{}, 'exec_algorithm_params.duration_sec', 'must be an integer number of seconds'],
    [{ duration_sec: 0 }, 'exec_algorithm_params.duration_sec', 'must be at least 1 second'],
    [{ duration_sec: 1.5 }, 'exec_algorithm_params.duration_sec', 'must be an integer number of seconds'],
    [
      { duration_sec: 86401 },
      'exec_algorithm_params.duration_sec',
      'must be at most 86400 seconds (one day)',
    ],
    [{ duration_sec: '300' }, 'exec_algorithm_params.duration_sec', 'must be an integer number of seconds'],
    [{ duration_sec: 300, max_slices: 0 }, 'exec_algorithm_params.max_slices', 'must be at least 1'],
    [{ duration_sec: 86400, max_slices: 10001 }, 'exec_algorithm_params.max_slices', 'must be at most 10000'],
    [
      { duration_sec: 10, max_slices: 20 },
      'exec_algorithm_params.max_slices',
      '20 slices over 10 s would be less than 1 s apart; at most 10 slices allowed',
    ],
    [{ duration_sec: 60, max_slices: 10001 }, 'exec_algorithm_params.max_slices', 'must be at most 10000'],
    [{ duration_sec: 300, jitter_pct: 0.6 }, 'exec_algorithm_params.jitter_pct', 'must be between 0 and 0.5'],
    [
      { duration_sec: 300, jitter_pct: -0.1 },
      'exec_algorithm_params.jitter_pct',
      'must be between 0 and 0.5',
    ],
    [{ duration_sec: 300, seed: -1 }, 'exec_algorithm_params.seed', 'must be between 0 and 4294967295'],
    [{ duration_sec: 300, slices: 3 }, 'exec_algorithm_params.slices', 'unknown field'],
  ])('TWAP rejects %j', (params, path, message) => {
    expect(issuesOf(twap(params))).toEqual([{ path, message }]);
  });

  it('VWAP: profile sets the slice count; defaults uniform', () => {
    expect(dataOf(vwap({ duration_sec: 600 })).exec_algorithm_params).toEqual({
      duration_sec: 600,
      max_slices: 20,
    });
    expect(
      dataOf(vwap({ duration_sec: 600, volume_profile: [1, 2, 1], participation_cap: 0.2 }))
        .exec_algorithm_params,
    ).toEqual({ duration_sec: 600, max_slices: 3, volume_profile: [1, 2, 1], participation_cap: 0.2 });
    expect(
      dataOf(vwap({ duration_sec: 600, max_slices: 2, volume_profile: [0, 5] })).exec_algorithm_params,
    ).toEqual({
      duration_sec: 600,
      max_slices: 2,
      volume_profile: [0, 5],
    });
    expect(vwapWeights(VwapParamsSchema.parse({ duration_sec: 60, volume_profile: [1, 3] }))).toEqual([
      0.25, 0.75,
    ]);
    expect(vwapWeights(VwapParamsSchema.parse({ duration_sec: 60, max_slices: 4 }))).toEqual([
      0.25, 0.25, 0.25, 0.25,
    ]);
  });

  it.each([
    [
      { duration_sec: 60, volume_profile: [0, 0] },
      'exec_algorithm_params.volume_profile',
      'weights must have a positive sum',
    ],
    [
      { duration_sec: 60, volume_profile: [1, -1] },
      'exec_algorithm_params.volume_profile[1]',
      'weights must not be negative',
    ],
    [
      { duration_sec: 60, volume_profile: [] },
      'exec_algorithm_params.volume_profile',
      'must have at least one weight',
    ],
    [
      { duration_sec: 60, max_slices: 3, volume_profile: [1, 1] },
      'exec_algorithm_params.volume_profile',
      'has 2 weights but max_slices is 3; give one weight per slice',
    ],
    [
      { duration_sec: 2, volume_profile: [1, 1, 1] },
      'exec_algorithm_params.volume_profile',
      '3 slices over 2 s would be less than 1 s apart; at most 2 slices allowed',
    ],
    [
      { duration_sec: 60, participation_cap: 0 },
      'exec_algorithm_params.participation_cap',
      'must be greater than 0 and at most 1',
    ],
    [
      { duration_sec: 60, participation_cap: 1.5 },
      'exec_algorithm_params.participation_cap',
      'must be greater than 0 and at most 1',
    ],
    [{ max_slices: 3 }, 'exec_algorithm_params.duration_sec', 'must be an integer number of seconds'],
  ])('VWAP rejects %j', (params, path, message) => {
    expect(issuesOf(vwap(params))).toEqual([{ path, message }]);
  });

  it('VWAP participation_cap of exactly 1 is allowed', () => {
    expect(dataOf(vwap({ duration_sec: 60, participation_cap: 1 })).exec_algorithm_params).toMatchObject({
      participation_cap: 1,
    });
  });

  it('ICEBERG: display quantity is a normalised decimal below the order quantity', () => {
    expect(dataOf(iceberg({ display_quantity: '2.50' })).exec_algorithm_params).toEqual({
      display_quantity: '2.5',
    });
    expect(
      dataOf(iceberg({ display_quantity: 1, refresh_jitter: 0.2, seed: 3 })).exec_algorithm_params,
    ).toEqual({
      display_quantity: '1',
      refresh_jitter: 0.2,
      seed: 3,
    });
    expect(issuesOf(iceberg({ display_quantity: '10' }))).toEqual([
      {
        path: 'exec_algorithm_params.display_quantity',
        message: 'display_quantity (10) must be less than quantity (10)',
      },
    ]);
    expect(issuesOf(iceberg({ display_quantity: '12.0' }, '10.5'))).toEqual([
      {
        path: 'exec_algorithm_params.display_quantity',
        message: 'display_quantity (12) must be less than quantity (10.5)',
      },
    ]);
    expect(issuesOf(iceberg({}))).toEqual([
      {
        path: 'exec_algorithm_params.display_quantity',
        message: 'must be a decimal string or a number, got undefined',
      },
    ]);
    expect(issuesOf(iceberg({ display_quantity: '0' }))).toEqual([
      { path: 'exec_algorithm_params.display_quantity', message: 'must be greater than 0, got 0' },
    ]);
    // A wrong quantity is reported once; the display check needs a valid quantity and is skipped.
    expect(issuesOf(iceberg({ display_quantity: '5' }, 'x'))).toEqual([
      { path: 'quantity', message: 'must be a decimal number such as "1.25", got "x"' },
    ]);
  });

  it('parsed params parse again to themselves (algorithms re-read them from the stored order)', () => {
    const cases: Array<[string, unknown]> = [
      ['NORMAL', {}],
      ['TWAP', { duration_sec: 95, jitter_pct: 0.1, seed: 42 }],
      ['VWAP', { duration_sec: 600, volume_profile: [1, 2, 3], participation_cap: 0.1 }],
      ['VWAP', { duration_sec: 600 }],
      ['ICEBERG', { display_quantity: '0.50', refresh_jitter: 0.1 }],
    ];
    for (const [algo, params] of cases) {
      const once = dataOf({ ...BASE, quantity: '5', exec_algorithm: algo, exec_algorithm_params: params });
      const twice = dataOf({ ...once });
      expect(twice).toEqual(once);
    }
  });

  it('exec_algorithm_params must be an object', () => {
    expect(issuesOf(twap([300]))).toEqual([
      { path: 'exec_algorithm_params', message: 'Invalid input: expected record, received array' },
    ]);
  });

  it('parseExecAlgorithmParams validates one algorithm on its own', () => {
    expect(parseExecAlgorithmParams('TWAP', { duration_sec: 90 })).toEqual({
      success: true,
      data: { duration_sec: 90, max_slices: 3, jitter_pct: 0 },
    });
    const r = parseExecAlgorithmParams('ICEBERG', { display_quantity: '3' }, '2');
    expect(r.success).toBe(false);
    if (!r.success) {
      expect(r.error.code).toBe('invalid_exec_algorithm_params');
      expect(r.error.issues).toEqual([
        {
          path: 'exec_algorithm_params.display_quantity',
          message: 'display_quantity (3) must be less than quantity (2)',
        },
      ]);
    }
    expect(parseExecAlgorithmParams('ICEBERG', { display_quantity: '3' })).toEqual({
      success: true,
      data: { display_quantity: '3' },
    });
    expect(TwapParamsSchema.parse({ duration_sec: 5 })).toEqual({
      duration_sec: 5,
      max_slices: 1,
      jitter_pct: 0,
    });
    expect(IcebergParamsSchema.safeParse({ display_quantity: '1', x: 1 }).success).toBe(false);
  });
});

describe('cancel request', () => {
  it('accepts operation_id and an optional reason, nothing else', () => {
    expect(parseCancelRequest({ operation_id: 'OP-1' })).toEqual({
      success: true,
      data: { operation_id: 'OP-1' },
    });
    expect(CancelRequestSchema.parse({ operation_id: 'OP-1', reason: 'signal flipped' })).toEqual({
      operation_id: 'OP-1',
      reason: 'signal flipped',
    });
    const r = parseCancelRequest({ operation_id: '', why: 'x' });
    expect(r.success).toBe(false);
    if (!r.success) {
      expect(r.error.code).toBe('invalid_cancel');
      expect(r.error.issues).toEqual([
        { path: 'operation_id', message: 'must not be empty' },
        { path: 'why', message: 'unknown field' },
      ]);
    }
  });

  it('parseWith reports with the given code', () => {
    const r = parseWith(PositiveDecimal, '0', 'bad_qty');
    expect(r.success ? null : { code: r.error.code, issues: r.error.issues }).toEqual({
      code: 'bad_qty',
      issues: [{ path: '', message: 'must be greater than 0, got 0' }],
    });
  });
});

describe('order reply', () => {
  const order: OrderRecord = {
    order_id: 'ord-1',
    operation_id: 'OP-1',
    parent_order_id: null,
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    order_type: 'MARKET',
    time_in_force: 'GTC',
    quantity: '1',
    price: null,
    strategy_id: 's',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    status: 'PARTIALLY_FILLED',
    venue: 'BINANCE-SPOT',
    account_id: 'acc',
    client_order_id: 'c-1',
    venue_order_id: 'v-1',
    filled_quantity: '0.5',
    avg_fill_price: '100',
    fees: '0.05',
    rejection_reason: null,
    version: 5,
    ts_created: 1n,
    ts_updated: 2n,
  };
  const fill = (id: string, ts: bigint, quantity: string): Fill => ({
    fill_id: id,
    order_id: 'ord-1',
    operation_id: 'OP-1',
    instrument_key: order.instrument_key,
    venue: 'BINANCE-SPOT',
    side: 'BUY',
    quantity,
    price: '100.00',
    fee: '0.025',
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: ts,
  });

  it('has the SPEC shape with ISO nanosecond timestamps and ts_event digits, fills in time order', () => {
    const reply = toOrderReply(order, [
      fill('f2', 1_751_328_300_123_456_789n, '0.25'),
      fill('f1', 1_751_328_300_000_000_001n, '0.25'),
    ]);
    expect(reply).toEqual({
      operation_id: 'OP-1',
      order_id: 'ord-1',
      status: 'PARTIALLY_FILLED',
      rejection_reason: null,
      venue: 'BINANCE-SPOT',
      fills: [
        {
          fill_id: 'f1',
          quantity: '0.25',
          price: '100',
          fee: '0.025',
          fee_currency: 'USDT',
          timestamp: '2025-07-01T00:05:00.000000001Z',
          ts_event: '1751328300000000001',
        },
        {
          fill_id: 'f2',
          quantity: '0.25',
          price: '100',
          fee: '0.025',
          fee_currency: 'USDT',
          timestamp: '2025-07-01T00:05:00.123456789Z',
          ts_event: '1751328300123456789',
        },
      ],
    });
    expect(OrderReplySchema.parse(reply)).toEqual(reply);
    expect(JSON.parse(JSON.stringify(reply))).toEqual(reply);
  });

  it('carries the rejection reason of a denied order and no fills', () => {
    const reply = toOrderReply(
      { ...order, status: 'DENIED', venue: null, rejection_reason: 'max_order_notional: 150000 > 100000' },
      [],
    );
    expect(reply).toEqual({
      operation_id: 'OP-1',
      order_id: 'ord-1',
      status: 'DENIED',
      rejection_reason: 'max_order_notional: 150000 > 100000',
      venue: null,
      fills: [],
    });
  });
});

describe('JSON Schema export', () => {
  it('OrderInstructionSchema converts with io:input and describes what a sender may send', () => {
    const js = z.toJSONSchema(OrderInstructionSchema, { io: 'input' });
    expect(js.type).toBe('object');
    expect(js.additionalProperties).toBe(false);
    expect(js.required).toEqual([
      'operation_id',
      'instrument_key',
      'side',
      'quantity',
      'order_type',
      'strategy_id',
    ]);
    const props = js.properties ?? {};
    expect(Object.keys(props)).toEqual([
      'operation_id',
      'instrument_key',
      'side',
      'quantity',
      'price',
      'order_type',
      'time_in_force',
      'strategy_id',
      'exec_algorithm',
      'exec_algorithm_params',
      'venue',
      'reference_price',
    ]);
    expect(props.side).toEqual({ type: 'string', enum: ['BUY', 'SELL'] });
    expect(props.time_in_force).toMatchObject({ default: 'GTC', enum: ['GTC', 'IOC', 'FOK', 'GTX', 'DAY'] });
    expect(props.operation_id).toMatchObject({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]*$' });
    expect(props.quantity).toMatchObject({
      anyOf: [{ type: 'string', pattern: expect.any(String) }, { type: 'number' }],
    });
    expect(JSON.parse(JSON.stringify(js))).toEqual(js);
  });

  it('the algorithm, cancel and reply schemas convert too', () => {
    for (const s of [TwapParamsSchema, VwapParamsSchema, IcebergParamsSchema, CancelRequestSchema]) {
      expect(() => z.toJSONSchema(s, { io: 'input' })).not.toThrow();
    }
    const reply = z.toJSONSchema(OrderReplySchema);
    expect(reply.required).toEqual([
      'operation_id',
      'order_id',
      'status',
      'rejection_reason',
      'venue',
      'fills',
    ]);
  });
});

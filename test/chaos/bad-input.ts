/**
 * Malformed order instructions for the bad-input scenario, from fast-check arbitraries (seeded, so a
 * run is reproducible). Every sample is invalid by construction — a valid instruction with one
 * field broken, a required field missing, an unknown or prototype key added — or not an instruction
 * at all: random bytes, invalid UTF-8, deep nesting, bodies over the size limit.
 */
import fc from 'fast-check';

export interface BadInput {
  /** Which family it came from (counted in the figures). */
  kind: string;
  body: Uint8Array;
  contentType: string;
}

const enc = new TextEncoder();

export function validInstruction(i: number): Record<string, unknown> {
  return {
    operation_id: `CHAOS-BAD-${i}`,
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    quantity: '0.001',
    price: '50000',
    order_type: 'LIMIT',
    time_in_force: 'GTC',
    strategy_id: 'chaos',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
  };
}

const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);
const badDecimal = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '-0.0',
    'abc',
    '',
    ' ',
    '1.2.3',
    'NaN',
    'Infinity',
    '1e999',
    '0x10',
    '١',
    '1,5',
    '--1',
  ),
  fc.string({ maxLength: 12 }).filter((s) => !/^\s*\d*\.?\d+\s*$/.test(s)),
  notAString.filter((v) => typeof v !== 'number'),
  fc.constantFrom(-1, 0, -0.5),
);
const notIn = (allowed: readonly string[]) =>
  fc.oneof(
    fc.string({ maxLength: 16 }).filter((s) => !allowed.includes(s)),
    notAString,
  );

/** For each field, values that must be refused there. */
const FIELD_BREAKERS: Record<string, fc.Arbitrary<unknown>> = {
  operation_id: fc.oneof(
    fc.constant(''),
    fc
      .string({ minLength: 129, maxLength: 300 })
      .map((s) => `X${s.replace(/[^A-Za-z0-9]/g, 'a')}`.padEnd(129, 'a')),
    fc.string({ minLength: 1, maxLength: 20 }).map((s) => `bad id ${s}/`),
    notAString,
  ),
  instrument_key: fc.oneof(
    fc.constantFrom(
      '',
      'BTC-USDT',
      'BINANCE-SPOT:SPOT_PAIR',
      'NOPE:SPOT_PAIR:BTC-USDT',
      'BINANCE-SPOT:SPACESHIP:BTC-USDT',
      'BINANCE-SPOT:SPOT_PAIR:ZZZ-QQQ',
    ),
    notAString,
  ),
  side: notIn(['BUY', 'SELL']),
  quantity: badDecimal,
  price: badDecimal.filter((v) => v !== null),
  order_type: notIn(['MARKET', 'LIMIT']),
  time_in_force: notIn(['GTC', 'IOC', 'FOK', 'GTX', 'DAY']),
  strategy_id: fc.oneof(
    fc.constant(''),
    fc.string({ minLength: 129, maxLength: 200 }).map((s) => s.padEnd(129, 's')),
    notAString,
  ),
  exec_algorithm: notIn(['NORMAL', 'TWAP', 'VWAP', 'ICEBERG']),
  exec_algorithm_params: fc.oneof(
    fc.constantFrom('fast', 42, [], true),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
      minKeys: 1,
      maxKeys: 4,
    }),
  ),
};
const FIELDS = Object.keys(FIELD_BREAKERS);
const REQUIRED = ['operation_id', 'instrument_key', 'side', 'quantity', 'order_type', 'strategy_id'];
const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  'hasOwnProperty',
  'toString',
  'valueOf',
];

function json(kind: string, value: unknown): BadInput {
  return { kind, body: enc.encode(JSON.stringify(value)), contentType: 'application/json' };
}

/** Raw JSON text with a prototype key, so JSON.parse makes it an own property (JSON.stringify would not). */
function withRawKey(base: Record<string, unknown>, key: string, value: unknown): BadInput {
  const text = JSON.stringify(base);
  return {
    kind: 'prototype key',
    body: enc.encode(`{${JSON.stringify(key)}:${JSON.stringify(value)},${text.slice(1)}`),
    contentType: 'application/json',
  };
}

function nested(depth: number, leaf: string): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth);
}

/** One arbitrary over every family, weighted towards field-level breakage. */
export function badInputArbitrary(oversizeBytes: number): fc.Arbitrary<BadInput> {
  const index = fc.nat({ max: 1_000_000_000 });
  const brokenField = fc
    .tuple(index, fc.constantFrom(...FIELDS))
    .chain(([i, field]) =>
      (FIELD_BREAKERS[field] as fc.Arbitrary<unknown>).map((v) =>
        json(`field ${field}`, { ...validInstruction(i), [field]: v }),
      ),
    );
  const missing = fc.tuple(index, fc.constantFrom(...REQUIRED)).map(([i, field]) => {
    const o = validInstruction(i);
    delete o[field];
    return json('missing field', o);
  });
  const limitWithoutPrice = index.map((i) =>
    json('LIMIT without price', { ...validInstruction(i), price: null }),
  );
  const unknownField = fc
    .tuple(
      index,
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((k) => !FIELDS.includes(k) && k !== 'venue' && k !== 'reference_price'),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map(([i, k, v]) => json('unknown field', { ...validInstruction(i), [k]: v }));
  const prototypeKey = fc
    .tuple(
      index,
      fc.constantFrom(...PROTOTYPE_KEYS),
      fc.oneof(fc.constant({ side: 'SELL', admin: true }), fc.jsonValue({ maxDepth: 2 })),
    )
    .map(([i, k, v]) => withRawKey(validInstruction(i), k, v));
  const rawBytes = fc
    .uint8Array({ minLength: 0, maxLength: 512 })
    .map((body) => ({ kind: 'raw bytes', body, contentType: 'application/json' }));
  const invalidUtf8 = fc
    .tuple(
      index,
      fc.constantFrom(
        [0xc3, 0x28],
        [0xa0, 0xa1],
        [0xe2, 0x28, 0xa1],
        [0xf0, 0x28, 0x8c, 0xbc],
        [0xff],
        [0xed, 0xa0, 0x80],
      ),
    )
    .map(([i, bad]) => {
      const text = JSON.stringify({ ...validInstruction(i), strategy_id: 'chaos-@@' });
      const at = text.indexOf('@@');
      const body = new Uint8Array([
        ...enc.encode(text.slice(0, at)),
        ...bad,
        ...enc.encode(text.slice(at + 2)),
      ]);
      return { kind: 'invalid UTF-8', body, contentType: 'application/json' };
    });
  const deep = fc
    .tuple(index, fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('top', 'params', 'object'))
    .map(([i, depth, where]) => {
      const base = JSON.stringify(validInstruction(i));
      const text =
        where === 'top'
          ? nested(depth, '1')
          : where === 'params'
            ? base.replace(
                '"exec_algorithm_params":{}',
                `"exec_algorithm_params":{"a":${nested(depth, '0')}}`,
              )
            : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return { kind: 'deep nesting', body: enc.encode(text), contentType: 'application/json' };
    });
  const oversize = index.map((i) => {
    const o = { ...validInstruction(i), strategy_id: 'x'.repeat(oversizeBytes) };
    return json('oversize body', o);
  });
  const wrongType = index.map((i) => ({
    kind: 'not JSON content type',
    body: enc.encode(JSON.stringify({ ...validInstruction(i), side: 'HOLD' })),
    contentType: 'text/plain',
  }));
  const notObject = fc
    .oneof(
      fc.constant('null'),
      fc.constant('[]'),
      fc.constant('"order"'),
      fc.constant('42'),
      fc.constant(''),
      fc.constant('{'),
      fc.constant('{"a":1,}'),
    )
    .map((t) => ({ kind: 'not an object', body: enc.encode(t), contentType: 'application/json' }));
  return fc.oneof(
    { arbitrary: brokenField, weight: 50 },
    { arbitrary: missing, weight: 8 },
    { arbitrary: limitWithoutPrice, weight: 2 },
    { arbitrary: unknownField, weight: 6 },
    { arbitrary: prototypeKey, weight: 8 },
    { arbitrary: rawBytes, weight: 8 },
    { arbitrary: invalidUtf8, weight: 6 },
    { arbitrary: deep, weight: 3 },
    { arbitrary: oversize, weight: 1 },
    { arbitrary: wrongType, weight: 2 },
    { arbitrary: notObject, weight: 3 },
  );
}

/** `n` samples, reproducible from `seed`. */
export function badInputs(n: number, seed: number, oversizeBytes: number): BadInput[] {
  return fc.sample(badInputArbitrary(oversizeBytes), { numRuns: n, seed });
}

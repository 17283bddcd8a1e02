/**
 * Rebalance planning: the worked examples of docs/rebalancing.md, computed by hand, and the
 * properties the rule promises for any input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, toDec } from '../../../shared/domain/decimal.ts';
import { isMultipleOf } from '../../../shared/domain/instrument.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import {
  applyPlanFills,
  type Holdings,
  planRebalance,
  type RebalanceInput,
  type RebalancePlan,
  type RebalanceSettings,
} from '../../../shared/rebalance/plan.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';

const SPECS: Record<string, InstrumentSpec> = {
  [BTC]: {
    instrument_key: BTC,
    tick_size: '0.01',
    step_size: '0.00001',
    min_qty: '0.00001',
    max_qty: '9000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  },
  [ETH]: {
    instrument_key: ETH,
    tick_size: '0.01',
    step_size: '0.0001',
    min_qty: '0.0001',
    max_qty: '9000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  },
};

const SETTINGS: RebalanceSettings = { cash_buffer: '0.02', quote_currency: 'USDT', min_trade_weight: '0' };

function plan(input: Partial<RebalanceInput> & Pick<RebalanceInput, 'weights' | 'holdings' | 'prices'>) {
  const r = planRebalance({ instrument: (k) => SPECS[k], settings: SETTINGS, ...input });
  if (!r.success) throw r.error;
  return r.data;
}

describe('planRebalance: the worked examples (docs/rebalancing.md)', () => {
  it('example 1: one sell, one buy, exact to the step', () => {
    const p = plan({
      weights: { [BTC]: '0.7', [ETH]: '0.1' },
      holdings: { cash: { USDT: '10000' }, positions: { [BTC]: '0.1', [ETH]: '2' } },
      prices: { [BTC]: '50000', [ETH]: '3100' },
    });
    expect(p.equity).toBe('21200');
    expect(p.investable).toBe('20776');
    expect(p.orders.map((o) => [o.instrument_key, o.side, o.quantity, o.target_qty])).toEqual([
      [ETH, 'SELL', '1.3299', '0.6701'],
      [BTC, 'BUY', '0.19086', '0.29086'],
    ]);
    expect(p.orders.map((o) => o.notional)).toEqual(['4122.69', '9543']);
    expect(p.fees).toBe('13.66569');
    expect(p.cash_after).toBe('4566.02431');
    expect(p.buy_scale).toBe('1');
    expect(p.skipped).toEqual([]);
  });

  it('example 2: cash short (no buffer, fees), every buy scaled by one factor', () => {
    const p = plan({
      weights: { [BTC]: '0.5', [ETH]: '0.5' },
      holdings: { cash: { USDT: '10000' }, positions: {} },
      prices: { [BTC]: '50000', [ETH]: '2500' },
      settings: { ...SETTINGS, cash_buffer: '0' },
    });
    expect(p.buy_scale).toBe('0.999000999000999000999000999');
    expect(p.orders.map((o) => [o.instrument_key, o.side, o.quantity, o.scaled])).toEqual([
      [BTC, 'BUY', '0.0999', true],
      [ETH, 'BUY', '1.998', true],
    ]);
    expect(p.fees).toBe('9.99');
    expect(p.cash_after).toBe('0.01');
  });

  it('weight 0 closes a position; an unlisted holding is closed; dust is skipped with its reason', () => {
    const p = plan({
      weights: { [BTC]: '0' },
      holdings: { cash: { USDT: '100' }, positions: { [BTC]: '0.5', [ETH]: '0.001' } },
      prices: { [BTC]: '50000', [ETH]: '3000' },
    });
    expect(p.orders).toMatchObject([{ instrument_key: BTC, side: 'SELL', quantity: '0.5' }]);
    expect(p.skipped).toMatchObject([{ instrument_key: ETH, reason: 'BELOW_MIN_NOTIONAL' }]);
    expect(p.skipped[0]?.message).toBe('notional 3 (0.001 × 3000) is below min notional 5');
  });

  it('refuses to plan when equity cannot be computed, naming each missing input', () => {
    const r = planRebalance({
      weights: { [BTC]: '0.5' },
      holdings: { cash: { USD: '100' }, positions: { [ETH]: '1' } },
      prices: { [BTC]: '50000' },
      instrument: (k) => SPECS[k],
      settings: SETTINGS,
    });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues.map((i) => i.path)).toEqual(['holdings.cash.USDT', `prices.${ETH}`]);
  });

  it('skips an instrument without a price or definition, and one in another quote currency', () => {
    const other = 'BINANCE-SPOT:SPOT_PAIR:ETH-BTC';
    const p = plan({
      weights: { [BTC]: '0.1', [ETH]: '0.1', [other]: '0.1', 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT': '0.1' },
      holdings: { cash: { USDT: '1000' }, positions: {} },
      prices: { [BTC]: '50000', [other]: '0.05', 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT': '100' },
      instrument: (k) =>
        (k === other ? { ...SPECS[ETH], instrument_key: other } : SPECS[k]) as InstrumentSpec,
    });
    const reasons = Object.fromEntries(p.skipped.map((s) => [s.instrument_key, s.reason]));
    expect(reasons).toEqual({
      [ETH]: 'NO_PRICE',
      [other]: 'OTHER_QUOTE_CURRENCY',
      'BINANCE-SPOT:SPOT_PAIR:SOL-USDT': 'UNKNOWN_INSTRUMENT',
    });
    expect(p.orders.map((o) => o.instrument_key)).toEqual([BTC]);
  });

  it('the no-trade band skips small differences', () => {
    const p = plan({
      weights: { [BTC]: '0.5' },
      holdings: { cash: { USDT: '5000' }, positions: { [BTC]: '0.098' } },
      prices: { [BTC]: '50000' },
      settings: { ...SETTINGS, min_trade_weight: '0.01' },
    });
    expect(p.skipped).toMatchObject([{ instrument_key: BTC, reason: 'WITHIN_BAND' }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const KEYS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'].map((b) => `SIM:SPOT_PAIR:${b}-USDT`);
const STEPS = ['1', '0.1', '0.01', '0.001', '0.00001'];

const specArb = (key: string) =>
  fc
    .record({
      step: fc.constantFrom(...STEPS),
      minSteps: fc.integer({ min: 1, max: 5 }),
      minNotional: fc.constantFrom('0', '1', '5', '10'),
      fee: fc.constantFrom('0', '0.0005', '0.001', '0.0025'),
    })
    .map(
      ({ step, minSteps, minNotional, fee }): InstrumentSpec => ({
        instrument_key: key,
        tick_size: '0.01',
        step_size: step,
        min_qty: toDec(step).times(minSteps).toFixed(),
        max_qty: '100000000',
        min_notional: minNotional,
        maker_fee: fee,
        taker_fee: fee,
      }),
    );

const caseArb = fc
  .integer({ min: 1, max: KEYS.length })
  .chain((n) => {
    const keys = KEYS.slice(0, n);
    return fc.record({
      specs: fc.tuple(...keys.map(specArb)),
      prices: fc.tuple(...keys.map(() => fc.integer({ min: 1, max: 10_000_000 }))),
      held: fc.tuple(...keys.map(() => fc.integer({ min: 0, max: 200_000 }))),
      weights: fc.tuple(...keys.map(() => fc.integer({ min: 0, max: 10_000 }))),
      invested: fc.integer({ min: 1, max: 10_000 }),
      cash: fc.integer({ min: 0, max: 100_000_000 }),
      buffer: fc.constantFrom('0', '0.02', '0.05'),
    });
  })
  .map((c) => {
    const specs = Object.fromEntries(c.specs.map((s) => [s.instrument_key, s]));
    const prices: Record<string, string> = {};
    const positions: Record<string, string> = {};
    const weights: Record<string, string> = {};
    const total = Math.max(
      10_000,
      c.weights.reduce((a, b) => a + b, 0),
    );
    c.specs.forEach((s, i) => {
      prices[s.instrument_key] = new Dec(c.prices[i] ?? 1).div(100).toFixed();
      positions[s.instrument_key] = toDec(s.step_size)
        .times(c.held[i] ?? 0)
        .toFixed();
      // Weights in basis points, scaled so they sum to ≤ 1, and thinned by `invested`.
      weights[s.instrument_key] = new Dec(c.weights[i] ?? 0)
        .times(c.invested)
        .div(total * 10_000)
        .toDecimalPlaces(4, Dec.ROUND_DOWN)
        .toFixed();
    });
    const input: RebalanceInput = {
      weights,
      holdings: { cash: { USDT: new Dec(c.cash).div(100).toFixed() }, positions },
      prices,
      instrument: (k) => specs[k],
      settings: { cash_buffer: c.buffer, quote_currency: 'USDT', min_trade_weight: '0' },
    };
    return { input, specs };
  });

function mustPlan(input: RebalanceInput): RebalancePlan {
  const r = planRebalance(input);
  if (!r.success) throw r.error;
  return r.data;
}

function equityOf(h: Holdings, prices: Record<string, string>): Dec {
  let e = toDec(h.cash.USDT ?? '0');
  for (const [k, q] of Object.entries(h.positions)) e = e.plus(toDec(q).times(prices[k] ?? '0'));
  return e;
}

const ROUNDING_SKIPS = new Set(['ZERO_QUANTITY', 'BELOW_MIN_QTY', 'BELOW_MIN_NOTIONAL', 'WITHIN_BAND']);

describe('planRebalance: properties', () => {
  it('every order is a multiple of its step and passes min qty and min notional; sells come first', () => {
    fc.assert(
      fc.property(caseArb, ({ input, specs }) => {
        const p = mustPlan(input);
        let seenBuy = false;
        for (const o of p.orders) {
          const s = specs[o.instrument_key] as InstrumentSpec;
          expect(isMultipleOf(o.quantity, s.step_size)).toBe(true);
          expect(toDec(o.quantity).gte(s.min_qty)).toBe(true);
          expect(toDec(o.quantity).times(o.price).gte(s.min_notional)).toBe(true);
          if (o.side === 'BUY') seenBuy = true;
          else expect(seenBuy).toBe(false);
        }
        // Every instrument is either ordered or skipped with a reason, never both, never neither.
        const touched = [...p.orders.map((o) => o.instrument_key), ...p.skipped.map((s) => s.instrument_key)];
        expect(touched.sort()).toEqual(Object.keys(specs).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('cash after the plan is ≥ 0 and is what the orders imply; ≥ the buffer less fees when nothing is skipped for rounding', () => {
    fc.assert(
      fc.property(caseArb, ({ input, specs }) => {
        const p = mustPlan(input);
        expect(toDec(p.cash_after).gte(0)).toBe(true);
        let cash = toDec(input.holdings.cash.USDT ?? '0');
        let fees = new Dec(0);
        for (const o of p.orders) {
          const n = toDec(o.quantity).times(o.price);
          const fee = n.times((specs[o.instrument_key] as InstrumentSpec).taker_fee);
          fees = fees.plus(fee);
          cash = o.side === 'SELL' ? cash.plus(n).minus(fee) : cash.minus(n).minus(fee);
        }
        expect(p.cash_after).toBe(cash.toFixed());
        expect(p.fees).toBe(fees.toFixed());
        if (p.skipped.every((s) => !ROUNDING_SKIPS.has(s.reason)) && p.buy_scale === '1') {
          const floor = toDec(p.equity).times(input.settings.cash_buffer).minus(fees);
          expect(toDec(p.cash_after).gte(floor)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('weight 0 closes the position (or skips it only for the instrument limits)', () => {
    fc.assert(
      fc.property(caseArb, ({ input }) => {
        const zeroed = {
          ...input,
          weights: Object.fromEntries(Object.keys(input.weights).map((k) => [k, '0'])),
        };
        const p = mustPlan(zeroed);
        for (const [k, q] of Object.entries(input.holdings.positions)) {
          const order = p.orders.find((o) => o.instrument_key === k);
          const skip = p.skipped.find((s) => s.instrument_key === k);
          if (toDec(q).isZero()) expect(skip?.reason).toBe('AT_TARGET');
          else if (order) expect([order.side, order.quantity]).toEqual(['SELL', q]);
          else expect(['BELOW_MIN_QTY', 'BELOW_MIN_NOTIONAL']).toContain(skip?.reason);
        }
        expect(p.orders.every((o) => o.side === 'SELL')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('re-planning after the plan fills (no fees) gives no orders', () => {
    fc.assert(
      fc.property(caseArb, ({ input, specs }) => {
        const free = Object.fromEntries(
          Object.entries(specs).map(([k, s]) => [k, { ...s, maker_fee: '0', taker_fee: '0' }]),
        );
        const first = mustPlan({ ...input, instrument: (k) => free[k] });
        fc.pre(first.buy_scale === '1');
        const after = applyPlanFills(first, input.holdings);
        expect(equityOf(after, input.prices as Record<string, string>).toFixed()).toBe(first.equity);
        const again = mustPlan({ ...input, holdings: after, instrument: (k) => free[k] });
        expect(again.orders).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('with fees, re-planning after the fills only trims by the fee drag plus at most one step', () => {
    fc.assert(
      fc.property(caseArb, ({ input, specs }) => {
        const first = mustPlan(input);
        fc.pre(first.buy_scale === '1');
        const again = mustPlan({ ...input, holdings: applyPlanFills(first, input.holdings) });
        const fees = toDec(first.fees);
        for (const o of again.orders) {
          const s = specs[o.instrument_key] as InstrumentSpec;
          expect(o.side).toBe('SELL');
          const bound = fees.times(o.target_weight).plus(toDec(s.step_size).times(o.price));
          expect(toDec(o.notional).lte(bound)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

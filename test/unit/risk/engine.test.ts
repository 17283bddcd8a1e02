import { describe, expect, it } from 'vitest';
import type { RiskCheckResult } from '../../../shared/domain/events.ts';
import { ALWAYS_ON_RULES, evaluate, RISK_RULES } from '../../../shared/risk/engine.ts';
import { compileRiskLimits } from '../../../shared/risk/limits.ts';
import type { RiskDecision } from '../../../shared/risk/types.ts';
import { BTC, BTC_PERP, BTC_SPEC, ctx, limitOrder, limits, MS, NOW, order, PERP_SPEC } from './fixtures.ts';

function checkOf(d: RiskDecision, rule: string): RiskCheckResult {
  const c = d.checks.find((x) => x.rule === rule);
  if (c === undefined) throw new Error(`no check ${rule}`);
  return c;
}

function denied(d: RiskDecision) {
  if (d.approved) throw new Error(`expected a denial, got approval`);
  return d;
}

function approved(d: RiskDecision) {
  if (!d.approved) throw new Error(`expected approval, denied by ${d.rule}: ${d.reason}`);
  return d;
}

describe('evaluate: approval and reporting', () => {
  it('approves a plain market buy, reports every check in order, and reserves exactly', () => {
    const d = approved(evaluate(order(), ctx(), limits(), NOW));
    expect(d.checks.map((c) => c.rule)).toEqual([...RISK_RULES]);
    expect(d.checks.every((c) => c.passed)).toBe(true);
    // 0.5 × 50000 = 25000 notional; spot buy commits 25000 + 25000 × 0.001 = 25025 USDT.
    expect(d.reservation).toEqual({
      id: 'OP-1',
      instrument_key: BTC,
      strategy_id: 'momo',
      side: 'BUY',
      quantity: '0.5',
      mark: '50000',
      balance: { currency: 'USDT', amount: '25025' },
      ts_ns: NOW.toString(),
      ledger_version: null,
    });
    expect(checkOf(d, 'min_notional')).toMatchObject({ limit: '10', observed: '25000' });
    expect(checkOf(d, 'reference_price')).toMatchObject({
      observed: '50000',
      message: 'market reference price',
    });
  });

  it('reports every check even after the first failure, and denies with the first one', () => {
    // Fails quantity_step (0.0005 not a multiple of 0.001) AND velocity (limit 1 with 1 recent).
    const d = denied(
      evaluate(
        order({ quantity: '1.0005' }),
        ctx({ recent_orders: { global: [NOW - 10n * MS], strategy: [] } }),
        limits({ max_orders_per_second: 1 }),
        NOW,
      ),
    );
    expect(d.rule).toBe('quantity_step');
    expect(d.limit).toBe('0.001');
    expect(d.observed).toBe('1.0005');
    expect(d.reason).toBe('1.0005 is not a multiple of step size 0.001');
    expect(d.checks.map((c) => c.rule)).toEqual([...RISK_RULES]);
    expect(checkOf(d, 'orders_per_second_global')).toMatchObject({
      passed: false,
      limit: '1',
      observed: '2',
    });
  });

  it('never throws on malformed input: a bad quantity is a denial', () => {
    const d = denied(evaluate(order({ quantity: 'abc' }), ctx(), limits(), NOW));
    expect(d.rule).toBe('quantity_step');
    const neg = denied(evaluate(order({ quantity: '-1' }), ctx(), limits(), NOW));
    expect(neg.rule).toBe('quantity_step');
    expect(neg.reason).toBe('quantity must be a decimal > 0');
  });

  it('accepts compiled limits and plain limits alike', () => {
    const plain = limits({ max_notional_per_order: '20000' });
    const a = evaluate(order(), ctx(), plain, NOW);
    const b = evaluate(order(), ctx(), compileRiskLimits(plain), NOW);
    expect(a).toEqual(b);
    expect(denied(a).rule).toBe('max_notional_per_order');
  });

  it('with limits disabled checks only trading state and instrument rules', () => {
    const off = limits({ enabled: false, max_notional_per_order: '1' });
    const d = approved(evaluate(order(), ctx(), off, NOW));
    expect(d.checks.map((c) => c.rule)).toEqual([...ALWAYS_ON_RULES]);
    const halted = denied(evaluate(order(), ctx({ trading_state: 'HALTED' }), off, NOW));
    expect(halted.rule).toBe('trading_state');
    const badStep = denied(evaluate(order({ quantity: '0.0005' }), ctx(), off, NOW));
    expect(badStep.rule).toBe('quantity_step');
  });
});

describe('trading_state', () => {
  it('HALTED (global or strategy) denies everything, even reducing orders', () => {
    const reducing = order({ side: 'SELL', quantity: '0.1' });
    const c = ctx({ position: { instrument: '1', strategy: '1' } });
    const g = denied(evaluate(reducing, { ...c, trading_state: 'HALTED' }, limits(), NOW));
    expect(g).toMatchObject({ rule: 'trading_state', limit: 'HALTED', observed: 'HALTED' });
    expect(g.reason).toBe('trading is HALTED: every order is denied');
    const s = denied(evaluate(reducing, { ...c, strategy_trading_state: 'HALTED' }, limits(), NOW));
    expect(s.reason).toBe('strategy momo is HALTED: every order is denied');
  });

  it('REDUCING allows an order that reduces |position| and denies one that adds or flips', () => {
    const c = ctx({ trading_state: 'REDUCING', position: { instrument: '2', strategy: '2' } });
    const ok = approved(evaluate(order({ side: 'SELL', quantity: '1.5' }), c, limits(), NOW));
    expect(checkOf(ok, 'trading_state')).toMatchObject({ passed: true, limit: 'REDUCING', observed: '0.5' });
    expect(approved(evaluate(order({ side: 'SELL', quantity: '2' }), c, limits(), NOW))).toBeTruthy(); // to flat
    const flip = denied(evaluate(order({ side: 'SELL', quantity: '3' }), c, limits(), NOW));
    expect(flip).toMatchObject({ rule: 'trading_state', limit: 'REDUCING', observed: '-1' });
    const adds = denied(evaluate(order({ side: 'BUY', quantity: '0.1' }), c, limits(), NOW));
    expect(adds.observed).toBe('2.1');
    const flat = ctx({ trading_state: 'REDUCING' });
    expect(denied(evaluate(order({ side: 'SELL', quantity: '0.1' }), flat, limits(), NOW)).observed).toBe(
      '-0.1',
    );
  });

  it('REDUCING counts same-side working orders so jointly they never flip', () => {
    // Long 2 with 1 already working to sell: a further sell of 1.5 could take it to -0.5.
    const c = ctx({
      trading_state: 'REDUCING',
      position: { instrument: '2', strategy: '2' },
      working: { instrument: { buy: '0', sell: '1' }, strategy: { buy: '0', sell: '1' } },
    });
    expect(denied(evaluate(order({ side: 'SELL', quantity: '1.5' }), c, limits(), NOW)).observed).toBe(
      '-0.5',
    );
    expect(approved(evaluate(order({ side: 'SELL', quantity: '1' }), c, limits(), NOW))).toBeTruthy();
    // Short side: short 3, working buys 1, buy 2 brings it to 0 exactly.
    const short = ctx({
      trading_state: 'REDUCING',
      position: { instrument: '-3', strategy: '-3' },
      working: { instrument: { buy: '1', sell: '0' }, strategy: { buy: '1', sell: '0' } },
    });
    expect(approved(evaluate(order({ side: 'BUY', quantity: '2' }), short, limits(), NOW))).toBeTruthy();
    expect(denied(evaluate(order({ side: 'BUY', quantity: '2.001' }), short, limits(), NOW)).observed).toBe(
      '0.001',
    );
  });

  it('strategy REDUCING looks at the strategy position, global REDUCING at the platform position', () => {
    // Platform long 5, this strategy short 1: a strategy-REDUCING BUY of 1 reduces the strategy.
    const c = ctx({ strategy_trading_state: 'REDUCING', position: { instrument: '5', strategy: '-1' } });
    expect(approved(evaluate(order({ side: 'BUY', quantity: '1' }), c, limits(), NOW))).toBeTruthy();
    // The same order under global REDUCING increases the platform's long: denied.
    const g = { ...c, trading_state: 'REDUCING' as const, strategy_trading_state: 'ACTIVE' as const };
    expect(denied(evaluate(order({ side: 'BUY', quantity: '1' }), g, limits(), NOW)).observed).toBe('6');
  });
});

describe('instrument rules', () => {
  it('denies an unknown instrument or an invalid id', () => {
    expect(denied(evaluate(order(), ctx({ instrument: null }), limits(), NOW)).rule).toBe('instrument');
    const bad = denied(evaluate(order({ instrument_key: 'nonsense' }), ctx(), limits(), NOW));
    expect(bad).toMatchObject({
      rule: 'instrument',
      observed: 'nonsense',
      reason: 'not a valid instrument id',
    });
  });

  it('checks step, tick, min and max quantity against the spec', () => {
    const tick = denied(evaluate(limitOrder('BUY', '50000.005'), ctx(), limits(), NOW));
    expect(tick).toMatchObject({ rule: 'price_tick', limit: '0.01', observed: '50000.005' });
    const minSpec = { ...BTC_SPEC, min_qty: '0.01' };
    const small = denied(evaluate(order({ quantity: '0.005' }), ctx({ instrument: minSpec }), limits(), NOW));
    expect(small).toMatchObject({ rule: 'min_quantity', limit: '0.01', observed: '0.005' });
    const big = denied(evaluate(order({ quantity: '100.001' }), ctx(), limits(), NOW));
    expect(big).toMatchObject({ rule: 'max_quantity', limit: '100', observed: '100.001' });
    const noPrice = denied(evaluate(order({ order_type: 'LIMIT', price: null }), ctx(), limits(), NOW));
    expect(noPrice).toMatchObject({ rule: 'price_tick', reason: 'a LIMIT order needs a price > 0' });
  });

  it('checks min notional at the limit price, or the reference price for a market order', () => {
    // 0.001 × 5000 = 5 < 10.
    const d = denied(evaluate(order({ quantity: '0.001' }), ctx({ reference_price: '5000' }), limits(), NOW));
    expect(d).toMatchObject({ rule: 'min_notional', limit: '10', observed: '5' });
    // Exactly at the minimum passes: 0.002 × 5000 = 10.
    expect(
      approved(evaluate(order({ quantity: '0.002' }), ctx({ reference_price: '5000' }), limits(), NOW)),
    ).toBeTruthy();
    const lim = denied(evaluate(limitOrder('BUY', '9999.99', '0.001'), ctx(), limits(), NOW));
    expect(lim).toMatchObject({ rule: 'min_notional', observed: '9.99999' });
  });

  it('values a market order at the order reference price when the market has none; denies without any', () => {
    const none = denied(evaluate(order(), ctx({ reference_price: null }), limits(), NOW));
    expect(none).toMatchObject({
      rule: 'reference_price',
      reason: 'no reference price to value a market order',
    });
    const own = approved(
      evaluate(order({ reference_price: '48000' }), ctx({ reference_price: null }), limits(), NOW),
    );
    expect(own.reservation.mark).toBe('48000');
    // A limit order without reference is valued at its limit price.
    const lim = approved(evaluate(limitOrder('BUY', '49000'), ctx({ reference_price: null }), limits(), NOW));
    expect(lim.reservation.mark).toBe('49000');
  });
});

describe('order size and notional limits', () => {
  const sized = limits({ per_instrument: { [BTC]: { min_order_size: '0.1', max_order_size: '2' } } });

  it('enforces per-instrument min/max order size', () => {
    expect(denied(evaluate(order({ quantity: '0.05' }), ctx(), sized, NOW))).toMatchObject({
      rule: 'order_size_min',
      limit: '0.1',
      observed: '0.05',
    });
    expect(denied(evaluate(order({ quantity: '2.001' }), ctx(), sized, NOW))).toMatchObject({
      rule: 'order_size_max',
      limit: '2',
      observed: '2.001',
    });
    expect(approved(evaluate(order({ quantity: '2' }), ctx(), sized, NOW))).toBeTruthy();
  });

  it('enforces max notional per order: global, per instrument, per strategy', () => {
    // 0.5 × 50000 = 25000.
    expect(
      denied(evaluate(order(), ctx(), limits({ max_notional_per_order: '24999.99' }), NOW)),
    ).toMatchObject({
      rule: 'max_notional_per_order',
      limit: '24999.99',
      observed: '25000',
    });
    expect(approved(evaluate(order(), ctx(), limits({ max_notional_per_order: '25000' }), NOW))).toBeTruthy();
    const inst = limits({ per_instrument: { [BTC]: { max_notional_per_order: '20000' } } });
    expect(denied(evaluate(order(), ctx(), inst, NOW)).rule).toBe('max_notional_per_order_instrument');
    const strat = limits({ per_strategy: { momo: { max_notional_per_order: '10000' } } });
    expect(denied(evaluate(order(), ctx(), strat, NOW)).rule).toBe('max_notional_per_order_strategy');
    // Another strategy is not bound by momo's limit; '*' is the default for strategies without an entry.
    expect(approved(evaluate(order({ strategy_id: 'other' }), ctx(), strat, NOW))).toBeTruthy();
    const star = limits({ per_strategy: { '*': { max_notional_per_order: '10000' } } });
    expect(denied(evaluate(order({ strategy_id: 'other' }), ctx(), star, NOW)).rule).toBe(
      'max_notional_per_order_strategy',
    );
  });

  it('values a limit order at its limit price', () => {
    // 0.5 × 50100 = 25050 > 25040.
    const d = denied(
      evaluate(limitOrder('BUY', '50100'), ctx(), limits({ max_notional_per_order: '25040' }), NOW),
    );
    expect(d.observed).toBe('25050');
  });

  it('matches per-instrument limits in either spelling of the instrument id', () => {
    const l = limits({ per_instrument: { 'BINANCE-FUTURES:PERPETUAL:BTC-USDT': { max_order_size: '1' } } });
    const o = order({ instrument_key: BTC_PERP, quantity: '2' });
    expect(denied(evaluate(o, ctx({ instrument: PERP_SPEC }), l, NOW)).rule).toBe('order_size_max');
  });
});

describe('price_tolerance', () => {
  const tol = limits({ price_tolerance_bps: 100 });

  it('buy not above ref × (1 + tol), sell not below ref × (1 − tol)', () => {
    // ref 50000, 100 bps: buy bound 50500, sell bound 49500.
    expect(approved(evaluate(limitOrder('BUY', '50500'), ctx(), tol, NOW))).toBeTruthy();
    expect(denied(evaluate(limitOrder('BUY', '50500.01'), ctx(), tol, NOW))).toMatchObject({
      rule: 'price_tolerance',
      limit: '50500',
      observed: '50500.01',
      reason: 'BUY limit 50500.01 is above 50500 (reference 50000 + 100 bps)',
    });
    expect(approved(evaluate(limitOrder('SELL', '49500'), ctx(), tol, NOW))).toBeTruthy();
    expect(denied(evaluate(limitOrder('SELL', '49499.99'), ctx(), tol, NOW))).toMatchObject({
      rule: 'price_tolerance',
      limit: '49500',
      observed: '49499.99',
    });
    // Passive prices are always fine.
    expect(approved(evaluate(limitOrder('BUY', '40000'), ctx(), tol, NOW))).toBeTruthy();
  });

  it('uses the per-instrument override and the order reference price as a fallback', () => {
    const l = limits({ price_tolerance_bps: 100, per_instrument: { [BTC]: { price_tolerance_bps: '10' } } });
    // 10 bps of 50000 = 50 → bound 50050.
    expect(denied(evaluate(limitOrder('BUY', '50050.01'), ctx(), l, NOW)).limit).toBe('50050');
    const o = { ...limitOrder('BUY', '40500'), reference_price: '40000' };
    // 40000 × 1.01 = 40400 < 40500.
    expect(denied(evaluate(o, ctx({ reference_price: null }), tol, NOW)).limit).toBe('40400');
    // No reference at all: fail closed.
    expect(denied(evaluate(limitOrder('BUY', '40500'), ctx({ reference_price: null }), tol, NOW)).rule).toBe(
      'price_tolerance',
    );
  });

  it('does not apply to market orders', () => {
    expect(checkOf(approved(evaluate(order(), ctx(), tol, NOW)), 'price_tolerance').message).toBe(
      'market order',
    );
  });
});

describe('velocity', () => {
  it('counts the sliding window (now − 1 s, now] including this order', () => {
    const l = limits({ max_orders_per_second: 3 });
    const recent = [NOW - 1000n * MS, NOW - 999n * MS, NOW - 1n];
    // NOW − 1 s is outside the window: 2 in window + this = 3 ≤ 3.
    const ok = approved(evaluate(order(), ctx({ recent_orders: { global: recent, strategy: [] } }), l, NOW));
    expect(checkOf(ok, 'orders_per_second_global')).toMatchObject({ limit: '3', observed: '3' });
    const more = [...recent, NOW];
    expect(
      denied(evaluate(order(), ctx({ recent_orders: { global: more, strategy: [] } }), l, NOW)),
    ).toMatchObject({ rule: 'orders_per_second_global', limit: '3', observed: '4' });
  });

  it('per strategy and per minute', () => {
    const l = limits({
      max_orders_per_minute: 100,
      per_strategy: { momo: { max_orders_per_minute: 2, max_orders_per_second: 5 } },
    });
    const s = [NOW - 59_000n * MS, NOW - 30_000n * MS];
    const d = denied(evaluate(order(), ctx({ recent_orders: { global: s, strategy: s } }), l, NOW));
    expect(d).toMatchObject({ rule: 'orders_per_minute_strategy', limit: '2', observed: '3' });
    expect(checkOf(d, 'orders_per_minute_global')).toMatchObject({ passed: true, observed: '3' });
    const old = [NOW - 61_000n * MS, NOW - 60_000n * MS];
    expect(
      approved(evaluate(order(), ctx({ recent_orders: { global: old, strategy: old } }), l, NOW)),
    ).toBeTruthy();
  });
});

describe('position limits (worst case with working orders)', () => {
  const l = limits({ per_instrument: { [BTC]: { max_position: '1' } } });
  const c = (pos: string, wb = '0', ws = '0') =>
    ctx({
      position: { instrument: pos, strategy: '0' },
      working: { instrument: { buy: wb, sell: ws }, strategy: { buy: '0', sell: '0' } },
    });

  it('current + working same side + this order', () => {
    // 0.6 + 0.3 + 0.2 = 1.1 > 1.
    expect(denied(evaluate(order({ quantity: '0.2' }), c('0.6', '0.3'), l, NOW))).toMatchObject({
      rule: 'position_instrument',
      limit: '1',
      observed: '1.1',
    });
    // 0.6 + 0.3 + 0.1 = 1 ≤ 1.
    expect(approved(evaluate(order({ quantity: '0.1' }), c('0.6', '0.3'), l, NOW))).toBeTruthy();
    // Opposite-side working orders are ignored for a buy (worst case they never fill).
    expect(denied(evaluate(order({ quantity: '0.2' }), c('0.6', '0.3', '5'), l, NOW)).observed).toBe('1.1');
    // Sells: 0.6 − 0 − 1.6 = −1 ≤ 1 in magnitude.
    expect(approved(evaluate(order({ side: 'SELL', quantity: '1.6' }), c('0.6'), l, NOW))).toBeTruthy();
    expect(denied(evaluate(order({ side: 'SELL', quantity: '1.601' }), c('0.6'), l, NOW)).observed).toBe(
      '-1.001',
    );
  });

  it('lets a book above a lowered limit reduce, but not flip beyond it', () => {
    const above = approved(evaluate(order({ side: 'SELL', quantity: '1' }), c('3'), l, NOW));
    expect(checkOf(above, 'position_instrument')).toMatchObject({ passed: true, observed: '2' });
    expect(approved(evaluate(order({ side: 'SELL', quantity: '4' }), c('3'), l, NOW))).toBeTruthy(); // → -1
    expect(denied(evaluate(order({ side: 'SELL', quantity: '5' }), c('3'), l, NOW)).observed).toBe('-2');
    expect(denied(evaluate(order({ side: 'BUY', quantity: '0.001' }), c('3'), l, NOW)).observed).toBe(
      '3.001',
    );
  });

  it('per strategy uses the strategy book; global caps every instrument', () => {
    const s = limits({ per_strategy: { momo: { max_position: '0.5' } } });
    const cs = ctx({
      position: { instrument: '10', strategy: '0.2' },
      working: { instrument: { buy: '0', sell: '0' }, strategy: { buy: '0.2', sell: '0' } },
    });
    expect(denied(evaluate(order({ quantity: '0.2' }), cs, s, NOW))).toMatchObject({
      rule: 'position_strategy',
      observed: '0.6',
      limit: '0.5',
    });
    const g = limits({ max_position_global: '2' });
    expect(denied(evaluate(order({ quantity: '0.5' }), c('1.6'), g, NOW))).toMatchObject({
      rule: 'position_global',
      observed: '2.1',
    });
  });
});

describe('total_exposure', () => {
  const l = limits({ max_total_notional: '100000' });
  const c = (total: string, pos = '0.6') =>
    ctx({ position: { instrument: pos, strategy: '0' }, exposure: { total, instrument: '30000' } });

  it('replaces the instrument share with its worst case after the order', () => {
    // before 0.6 × 50000 = 30000; after 1.1 × 50000 = 55000; total 80000 − 30000 + 55000 = 105000.
    expect(denied(evaluate(order({ quantity: '0.5' }), c('80000'), l, NOW))).toMatchObject({
      rule: 'total_exposure',
      limit: '100000',
      observed: '105000',
    });
    // after 1.0 × 50000: total exactly 100000.
    const ok = approved(evaluate(order({ quantity: '0.4' }), c('80000'), l, NOW));
    expect(checkOf(ok, 'total_exposure').observed).toBe('100000');
  });

  it('allows an order that does not add exposure even when the total is above the limit', () => {
    // Long 0.6, sell 0.5: worst case max(|0.6|, |0.1|) = 0.6 unchanged.
    const ok = approved(evaluate(order({ side: 'SELL', quantity: '0.5' }), c('120000'), l, NOW));
    expect(checkOf(ok, 'total_exposure')).toMatchObject({
      passed: true,
      observed: '120000',
      message: 'above the limit but the order adds no exposure',
    });
    // Selling 1.3 would make the worst case short 0.7 × 50000 = 35000 > 30000: denied.
    expect(denied(evaluate(order({ side: 'SELL', quantity: '1.3' }), c('120000'), l, NOW)).observed).toBe(
      '125000',
    );
  });
});

describe('free_balance (spot buys)', () => {
  const l = limits({ min_free_balance: '100' });

  it('needs notional + fee ≤ free − reserved − min_free_balance', () => {
    // cost 25000 + 25 = 25025; available 30000 − 5000 − 100 = 24900.
    const d = denied(evaluate(order(), ctx({ free_balance: '30000', reserved_balance: '5000' }), l, NOW));
    expect(d).toMatchObject({ rule: 'free_balance', limit: '24900', observed: '25025' });
    expect(d.reason).toContain('USDT');
    // available 30125 − 5000 − 100 = 25025: exactly enough.
    expect(
      approved(evaluate(order(), ctx({ free_balance: '30125', reserved_balance: '5000' }), l, NOW)),
    ).toBeTruthy();
  });

  it('uses the worse of maker and taker fee', () => {
    const spec = { ...BTC_SPEC, maker_fee: '0.002', taker_fee: '0.001' };
    // 25000 × 1.002 = 25050.
    const d = denied(evaluate(order(), ctx({ instrument: spec, free_balance: '25049' }), limits(), NOW));
    expect(d.observed).toBe('25050');
  });

  it('does not apply to sells or derivatives; unknown balance fails closed for spot buys', () => {
    expect(approved(evaluate(order({ side: 'SELL' }), ctx({ free_balance: '0' }), l, NOW))).toBeTruthy();
    const perp = order({ instrument_key: BTC_PERP });
    expect(approved(evaluate(perp, ctx({ instrument: PERP_SPEC, free_balance: '0' }), l, NOW))).toBeTruthy();
    expect(denied(evaluate(order(), ctx({ free_balance: null }), l, NOW)).rule).toBe('free_balance');
  });

  it('a perpetual buy reserves no balance', () => {
    const perp = order({ instrument_key: BTC_PERP });
    expect(approved(evaluate(perp, ctx({ instrument: PERP_SPEC }), l, NOW)).reservation.balance).toBeNull();
  });
});

/**
 * The execution core, one decision at a time: child policy (trading state with intake's scope,
 * per-order limits, velocity; book-level limits covered by the parent), HALTED policy, venue error
 * classification, the backoff schedule, trade → child status, settlement against missing fills.
 */
import { describe, expect, it } from 'vitest';
import type { ChildOrder, ChildRecord } from '../../../shared/algos/types.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import {
  decide,
  type ExecutionDecision,
  type ExecutionState,
  startExecution,
} from '../../../shared/execution/core.ts';
import {
  type ChildRiskView,
  checkChild,
  childUpdateOfTrade,
  classifyCancelError,
  classifySubmitError,
  MAX_FILL_CHECKS,
  nextBackoff,
  settlementOf,
  viewAfterChild,
} from '../../../shared/execution/policy.ts';
import { NO_LIMITS, type RiskLimits } from '../../../shared/risk/limits.ts';

const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const SPEC: InstrumentSpec = {
  instrument_key: KEY,
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '100',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
};
const T0: Nanos = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

function view(over: Partial<ChildRiskView> = {}): ChildRiskView {
  return {
    trading_state: 'ACTIVE',
    strategy_trading_state: 'ACTIVE',
    instrument: SPEC,
    reference_price: '50000',
    position: { instrument: '0', strategy: '0' },
    working: { instrument: { buy: '0', sell: '0' }, strategy: { buy: '0', sell: '0' } },
    recent_orders: { global: [], strategy: [] },
    ...over,
  };
}

function child(over: Partial<ChildOrder> = {}): ChildOrder {
  return {
    order_id: 'P1-S1',
    parent_order_id: 'P1',
    instrument_key: KEY,
    side: 'BUY',
    quantity: '0.1',
    order_type: 'MARKET',
    price: null,
    time_in_force: 'IOC',
    index: 1,
    ...over,
  };
}

function limits(over: Partial<RiskLimits> = {}): RiskLimits {
  return { ...NO_LIMITS, enabled: true, ...over };
}

function twap(quantity = '0.3', side: 'BUY' | 'SELL' = 'BUY'): ExecutionState {
  return startExecution(
    {
      strategy_id: 'momo',
      instrument_key: KEY,
      algorithm: 'TWAP',
      order: { order_id: 'P1', instrument_key: KEY, side, quantity, limit_price: null },
      params: { duration_sec: 60, max_slices: 3 },
      spec: SPEC,
      seed: 7,
    },
    T0,
  );
}

function step(
  state: ExecutionState,
  now: Nanos,
  v: ChildRiskView | null = view(),
  l = limits(),
): ExecutionDecision {
  return decide(state, { kind: 'step', now, market: { mid: '50000' }, risk: v, limits: l });
}

describe('child policy (checkChild)', () => {
  it('book-level limits are the parent reservation’s: a child is never denied by position, exposure or balance', () => {
    const d = checkChild(
      child(),
      'momo',
      KEY,
      view({ position: { instrument: '99', strategy: '99' } }),
      limits({ max_position_global: '1', max_total_notional: '1', min_free_balance: '1000000' }),
      T0,
    );
    expect(d.approved).toBe(true);
    for (const rule of ['position_instrument', 'position_global', 'total_exposure', 'free_balance']) {
      expect(d.checks.find((c) => c.rule === rule)).toMatchObject({
        passed: true,
        message: "covered by the parent's reservation",
      });
    }
  });

  it('per-order notional binds every child', () => {
    const d = checkChild(
      child({ quantity: '0.3' }),
      'momo',
      KEY,
      view(),
      limits({ max_notional_per_order: '10000' }),
      T0,
    );
    expect(d).toMatchObject({ approved: false, rule: 'max_notional_per_order', observed: '15000' });
  });

  it('velocity counts the children sent before', () => {
    const v = view({ recent_orders: { global: [T0 - 100n, T0 - 50n], strategy: [] } });
    const d = checkChild(child(), 'momo', KEY, v, limits({ max_orders_per_second: 2 }), T0);
    expect(d).toMatchObject({ approved: false, rule: 'orders_per_second_global', observed: '3' });
  });

  it('REDUCING has intake’s scope: a strategy REDUCING looks at the strategy’s own position, not the platform’s', () => {
    // The platform is long 5 (other strategies), this strategy is flat: a buy increases ITS exposure.
    const strategyReducing = view({
      strategy_trading_state: 'REDUCING',
      position: { instrument: '5', strategy: '0' },
    });
    expect(checkChild(child({ side: 'SELL' }), 'momo', KEY, strategyReducing, limits(), T0)).toMatchObject({
      approved: false,
      rule: 'trading_state',
    });
    // The strategy is short 1: buying 0.1 reduces it even though the platform is long.
    const shortStrategy = view({
      strategy_trading_state: 'REDUCING',
      position: { instrument: '5', strategy: '-1' },
    });
    expect(checkChild(child(), 'momo', KEY, shortStrategy, limits(), T0).approved).toBe(true);
    // A platform REDUCING looks at the platform's position: selling the platform's long is fine.
    const platformReducing = view({
      trading_state: 'REDUCING',
      position: { instrument: '5', strategy: '0' },
    });
    expect(checkChild(child({ side: 'SELL' }), 'momo', KEY, platformReducing, limits(), T0).approved).toBe(
      true,
    );
  });

  it('REDUCING counts the same side’s working orders: no flip through the open children', () => {
    const v = view({
      trading_state: 'REDUCING',
      position: { instrument: '0.15', strategy: '0.15' },
      working: { instrument: { buy: '0', sell: '0.1' }, strategy: { buy: '0', sell: '0.1' } },
    });
    expect(checkChild(child({ side: 'SELL' }), 'momo', KEY, v, limits(), T0)).toMatchObject({
      approved: false,
      rule: 'trading_state',
    });
  });
});

describe('decide: step', () => {
  it('sends the due slice, with the reservation of the approved child', () => {
    const d = step(twap(), T0);
    expect(d.commands).toHaveLength(1);
    expect(d.commands[0]).toMatchObject({
      kind: 'submit_child',
      child: { order_id: 'P1-S1', quantity: '0.1' },
      reservation: { id: 'P1-S1', quantity: '0.1', strategy_id: 'momo' },
    });
    expect(d.wake_at).toBe(T0 + 20n * S);
  });

  it('a denied child is DENIED for the scheduler (carried over) and the reason is kept', () => {
    const d = step(twap(), T0, view(), limits({ max_notional_per_order: '1000' }));
    expect(d.commands.filter((c) => c.kind === 'submit_child')).toEqual([]);
    expect(d.events[0]).toMatchObject({ kind: 'child_denied', rule: 'max_notional_per_order' });
    expect(d.state.algo.children[0]).toMatchObject({ order_id: 'P1-S1', status: 'DENIED' });
    expect(d.state.last_child_rejection).toMatch(/^max_notional_per_order: /);
  });

  it('the view after a child: it works on its side and counts for velocity (the next child sees it)', () => {
    const after = viewAfterChild(view(), child(), T0);
    expect(after.working.instrument).toEqual({ buy: '0.1', sell: '0' });
    expect(after.working.strategy).toEqual({ buy: '0.1', sell: '0' });
    expect(after.recent_orders.global).toEqual([T0]);
    const next = checkChild(
      child({ order_id: 'P1-S2' }),
      'momo',
      KEY,
      after,
      limits({ max_orders_per_second: 1 }),
      T0,
    );
    expect(next).toMatchObject({ approved: false, rule: 'orders_per_second_global' });
  });

  it('an unreadable trading state pauses without canceling; HALTED pauses and cancels working children once', () => {
    let s = step(twap(), T0).state;
    s = decide(s, {
      kind: 'child_report',
      now: T0,
      update: { order_id: 'P1-S1', filled_quantity: '0', status: 'ACCEPTED' },
    }).state;
    const unknown = step(s, T0 + S, null);
    expect(unknown.state.paused).toBe(true);
    expect(unknown.commands).toEqual([]);
    expect(unknown.wake_at).toBeNull();
    const halted = decide(s, { kind: 'trading_state', now: T0 + S, state: 'HALTED' });
    expect(halted.commands).toEqual([{ kind: 'cancel_child', order_id: 'P1-S1', why: 'halted' }]);
    expect(halted.state.paused).toBe(true);
    // Again: not sent twice; unless the cancel was not confirmed.
    expect(
      decide(halted.state, { kind: 'trading_state', now: T0 + 2n * S, state: 'HALTED' }).commands,
    ).toEqual([]);
    const unconfirmed = decide(halted.state, {
      kind: 'cancel_unconfirmed',
      now: T0 + 2n * S,
      child_id: 'P1-S1',
    });
    expect(
      decide(unconfirmed.state, { kind: 'trading_state', now: T0 + 3n * S, state: 'HALTED' }).commands,
    ).toHaveLength(1);
    // A step while HALTED sends nothing.
    expect(step(halted.state, T0 + 20n * S, view({ trading_state: 'HALTED' })).commands).toEqual([]);
    // ACTIVE again: resumed, due now.
    const resumed = decide(halted.state, { kind: 'trading_state', now: T0 + 30n * S, state: 'ACTIVE' });
    expect(resumed.events).toEqual([{ kind: 'resumed' }]);
    expect(resumed.wake_at).toBe(T0 + 30n * S);
    expect(resumed.state.paused).toBe(false);
  });
});

describe('decide: venue reports and errors', () => {
  const sent = () => step(twap(), T0).state;

  it('a refused send is REJECTED with the prefix of its kind; an unknown outcome changes nothing', () => {
    const refused = decide(sent(), {
      kind: 'submit_failed',
      now: T0,
      child_id: 'P1-S1',
      error: 'rejected',
      breaker_open_before: false,
      message: 'insufficient balance',
    });
    expect(refused.state.algo.children[0]?.status).toBe('REJECTED');
    expect(refused.state.last_child_rejection).toBe('VENUE_REJECTED: insufficient balance');
    expect(refused.wake_at).toBe(T0);
    const unknown = decide(sent(), {
      kind: 'submit_failed',
      now: T0,
      child_id: 'P1-S1',
      error: 'transient',
      breaker_open_before: false,
      message: 'timeout',
    });
    expect(unknown.state.algo.children[0]?.status).toBe('SUBMITTED');
    expect(unknown.events).toEqual([
      { kind: 'child_unconfirmed', child_id: 'P1-S1', reason: 'transient: timeout' },
    ]);
  });

  it('a report that changes nothing does not wake the scheduler', () => {
    const s = sent();
    const u = { order_id: 'P1-S1', filled_quantity: '0.05', status: 'PARTIALLY_FILLED' as const };
    const first = decide(s, { kind: 'child_report', now: T0, update: u });
    expect(first.wake_at).toBe(T0);
    const again = decide(first.state, { kind: 'child_report', now: T0 + 1n, update: u });
    expect(again.wake_at).toBeNull();
    expect(again.events).toEqual([]);
  });

  it('trades ahead of reports move the child: partial, then FILLED when they add up', () => {
    const s = sent();
    const a = decide(s, { kind: 'child_trade', now: T0, child_id: 'P1-S1', traded_total: '0.04' });
    expect(a.state.algo.children[0]).toMatchObject({ status: 'PARTIALLY_FILLED', filled_quantity: '0.04' });
    const b = decide(a.state, { kind: 'child_trade', now: T0, child_id: 'P1-S1', traded_total: '0.1' });
    expect(b.state.algo.children[0]).toMatchObject({ status: 'FILLED', filled_quantity: '0.1' });
  });

  it('cancel: the working children are canceled, the reason kept', () => {
    const d = decide(sent(), { kind: 'cancel', now: T0 + S, reason: 'USER_CANCEL' });
    expect(d.commands).toEqual([{ kind: 'cancel_child', order_id: 'P1-S1', why: 'algorithm' }]);
    expect(d.state.cancel_reason).toBe('USER_CANCEL');
  });
});

describe('policy: errors, backoff, trades, settlement', () => {
  it('classifies submit errors: rejected/auth refuse; a breaker refuses only when it was open before', () => {
    expect(classifySubmitError('rejected', false)).toEqual({
      outcome: 'refused',
      reason_prefix: 'VENUE_REJECTED',
    });
    expect(classifySubmitError('auth', false)).toEqual({ outcome: 'refused', reason_prefix: 'VENUE_AUTH' });
    expect(classifySubmitError('circuit_open', true)).toEqual({
      outcome: 'refused',
      reason_prefix: 'CIRCUIT_OPEN',
    });
    expect(classifySubmitError('circuit_open', false)).toEqual({ outcome: 'unknown' });
    for (const k of ['transient', 'rate_limited', 'not_found'] as const)
      expect(classifySubmitError(k, false)).toEqual({ outcome: 'unknown' });
  });

  it('classifies cancel errors: not_found/rejected → look up; the rest → retry', () => {
    expect(classifyCancelError('not_found')).toBe('lookup');
    expect(classifyCancelError('rejected')).toBe('lookup');
    for (const k of ['transient', 'rate_limited', 'circuit_open', 'auth'] as const)
      expect(classifyCancelError(k)).toBe('retry');
  });

  it('backoff doubles from the initial delay up to the maximum', () => {
    const sched = { initialMs: 500, maxMs: 3000 };
    const delays: number[] = [];
    let ms: number | null = null;
    let now = T0;
    for (let i = 0; i < 5; i++) {
      const b = nextBackoff(now, ms, sched);
      delays.push(Number((b.at - now) / 1_000_000n));
      ms = b.nextMs;
      now = b.at;
    }
    expect(delays).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it('trade → child status keeps a final status, says nothing when the trades add nothing', () => {
    const c: ChildRecord = {
      order_id: 'C',
      index: 1,
      quantity: '1',
      filled_quantity: '0.2',
      status: 'CANCELED',
      cancel_requested: true,
      carried: false,
      ts_submitted_ns: '0',
    };
    expect(childUpdateOfTrade(c, '0.2')).toBeNull();
    expect(childUpdateOfTrade(c, '0.5')).toEqual({
      order_id: 'C',
      filled_quantity: '0.5',
      status: 'CANCELED',
    });
    expect(childUpdateOfTrade(c, '1')).toEqual({ order_id: 'C', filled_quantity: '1', status: 'FILLED' });
  });

  it('settles only when every fill is stored, or after the last check with the shortfall named', () => {
    expect(settlementOf({ scheduler_filled: '1', recorded_filled: '1', fill_checks: 0 })).toEqual({
      kind: 'settle',
    });
    expect(settlementOf({ scheduler_filled: '1', recorded_filled: '0.4', fill_checks: 3 })).toEqual({
      kind: 'wait_for_fills',
      missing: '0.6',
    });
    expect(
      settlementOf({ scheduler_filled: '1', recorded_filled: '0.4', fill_checks: MAX_FILL_CHECKS }),
    ).toEqual({
      kind: 'settle_short',
      missing: '0.6',
    });
  });
});

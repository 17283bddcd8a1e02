/**
 * Rebalance parity on ticks: the orders one rebalance plans (planRebalance → planInstructions, the
 * functions the live service calls) run through the rebalance backtest's tick executor (a backtest
 * window: the execution algorithm, child-order risk, the matching engine) AND through the venue
 * edge over a ShadowVenue fed the same ticks live. The child orders, fills and resulting position
 * must be identical, field by field (the harness of test/unit/execution/parity.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import type { OrderInstruction } from '../../../shared/domain/types.ts';
import {
  DEFAULT_REBALANCE,
  planInstructions,
  rebalanceIdOf,
  settingsFor,
} from '../../../shared/rebalance/instructions.ts';
import { type Holdings, planRebalance } from '../../../shared/rebalance/plan.ts';
import { createTickExecutor } from '../../../shared/rebalance/tick-execution.ts';
import { parseWeightsText } from '../../../shared/rebalance/weights.ts';
import { riskLimitsFromConfig } from '../../../shared/risk/config.ts';
import { SPEC } from '../backtest/fixtures.ts';
import {
  config,
  expectParity,
  fromBacktest,
  KEY,
  NO_LATENCY,
  type Outcome,
  type Scenario,
  ShadowRun,
  script,
  T0,
  VENUE,
  windowTicks,
} from '../execution/parity-harness.ts';

/** The one order a rebalance of `holdings` to `weight` of KEY at price 100 makes. */
function rebalanceOrder(
  holdings: Holdings,
  weight: string,
  algorithm: string,
  params: Record<string, unknown>,
): OrderInstruction {
  const text = JSON.stringify({
    schema_version: 1,
    strategy_id: 'rb-parity',
    as_of: '2025-07-01T00:05:00Z',
    weights: { [KEY]: weight },
    exec_algorithm: algorithm,
    exec_algorithm_params: params,
  });
  const file = parseWeightsText(text);
  if (!file.success) throw new Error(file.error.message);
  const plan = planRebalance({
    weights: file.data.weights,
    holdings,
    prices: { [KEY]: '100' },
    instrument: (k) => (k === KEY ? SPEC : undefined),
    settings: settingsFor(file.data, DEFAULT_REBALANCE),
  });
  if (!plan.success) throw new Error(plan.error.message);
  const [ins, ...more] = planInstructions(plan.data, file.data, rebalanceIdOf(text));
  if (ins === undefined || more.length > 0) throw new Error('expected one order');
  return ins;
}

function scenarioOf(ins: OrderInstruction): Scenario {
  return {
    quantity: ins.quantity,
    side: ins.side,
    algorithm: ins.exec_algorithm,
    params: ins.exec_algorithm_params,
  };
}

/** The rebalance backtest's path: the tick executor over the same ticks. */
function backtest(ins: OrderInstruction, holdings: Holdings): Outcome {
  const sc = scenarioOf(ins);
  const execute = createTickExecutor({
    ticksFor: () => windowTicks(script()),
    settings: { ...DEFAULT_BACKTEST_SETTINGS, latency: NO_LATENCY, window_minutes: 2 },
    limits: riskLimitsFromConfig(config(sc).risk),
    venue: VENUE,
  });
  const r = execute({
    instruction: ins,
    ts: T0,
    position: holdings.positions[KEY] ?? '0',
    cash: holdings.cash.USDT ?? '0',
    spec: SPEC,
    index: 0,
  });
  if (r === null) throw new Error('no ticks');
  return fromBacktest(r.window);
}

let running: ShadowRun | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

async function both(ins: OrderInstruction, holdings: Holdings) {
  const bt = backtest(ins, holdings);
  running = new ShadowRun(scenarioOf(ins));
  const shadow = await running.run();
  return { backtest: bt, shadow };
}

describe('a rebalance on ticks: backtest window ↔ venue edge over a ShadowVenue', () => {
  it('a TWAP buy from cash: the same child orders, fills and position', async () => {
    const holdings: Holdings = { cash: { USDT: '200' }, positions: {} };
    // equity 200, investable 196, 196 × 0.5 / 100 = 0.98 → 0.9 (step 0.1)
    const ins = rebalanceOrder(holdings, '0.5', 'TWAP', { duration_sec: 60, max_slices: 3 });
    expect([ins.side, ins.quantity, ins.exec_algorithm]).toEqual(['BUY', '0.9', 'TWAP']);
    const r = await both(ins, holdings);
    expectParity(r);
    expect(r.backtest.children.length).toBe(3);
    expect(r.backtest.position).toBe('0.9');
  });

  it('a VWAP sell closing a position (weight 0): the same child orders, fills and position', async () => {
    const holdings: Holdings = { cash: { USDT: '50' }, positions: { [KEY]: '1.2' } };
    const ins = rebalanceOrder(holdings, '0', 'VWAP', { duration_sec: 60, max_slices: 4 });
    expect([ins.side, ins.quantity]).toEqual(['SELL', '1.2']);
    const r = await both(ins, holdings);
    expectParity(r);
    // The harness books fills from a flat position: the change is the whole position sold.
    expect(r.backtest.position).toBe('-1.2');
  });
});

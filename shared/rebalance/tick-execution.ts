/**
 * Rebalance orders on tick data (pure): one order of a rebalance becomes one backtest **window**
 * (shared/backtest/window.ts) — the same parent risk check, execution algorithm (TWAP / VWAP /
 * ICEBERG / NORMAL from the weights file), child-order risk and matching engine (shared/sim) that
 * the signal backtests and the edge's SHADOW venue run — over the instrument's ticks from the
 * order's release time. What the window fills (possibly partly: the algorithm ran out of window,
 * the book was thin) is what the rebalance backtest books.
 *
 * The window's risk context is the rebalance's: the strategy's position in the instrument, and a
 * free cash balance equal to the portfolio's cash (the window derives the free balance as starting
 * cash − position × arrival mid, so it is given cash + position × arrival mid).
 */
import { firstMid, type WindowTicks } from '../backtest/feed.ts';
import type { BacktestSettings, WindowPlan, WindowSimulation } from '../backtest/model.ts';
import { simulateWindow } from '../backtest/window.ts';
import { type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, OrderInstruction } from '../domain/types.ts';
import type { RiskLimits } from '../risk/limits.ts';
import { deriveSeed } from '../sim/prng.ts';

/** One rebalance order to execute on ticks. */
export interface TickExecutionRequest {
  instruction: OrderInstruction;
  /** When the order is released (the bar close + its pace slot). */
  ts: Nanos;
  /** The strategy's position in the instrument before the order. */
  position: DecimalString;
  /** The portfolio's free cash in the quote currency before the order. */
  cash: DecimalString;
  spec: InstrumentSpec;
  /** The order's position in the whole run (window ids and seeds derive from it). */
  index: number;
}

/** A child order of the algorithm, as the window left it (ids relative to the window's parent). */
export interface TickChild {
  /** The child's suffix after the parent id (`S1`, ...), or `N1` for a direct order's only child. */
  suffix: string;
  order_type: 'MARKET' | 'LIMIT';
  quantity: DecimalString;
  price: DecimalString | null;
  status: string;
  ts_submitted: Nanos;
  ts_last: Nanos;
}

export interface TickFill {
  /** The child that filled (its suffix, see {@link TickChild}). */
  child: string;
  fill_id: string;
  quantity: DecimalString;
  price: DecimalString;
  fee: DecimalString;
  liquidity: 'MAKER' | 'TAKER';
  ts_event: Nanos;
}

export interface TickExecution {
  /** FILLED, EXPIRED (partly or not filled by the window's end), DENIED (the parent's risk check). */
  status: 'FILLED' | 'EXPIRED' | 'DENIED';
  reason: string | null;
  filled_quantity: DecimalString;
  fills: TickFill[];
  children: TickChild[];
  /** Mid at the order's arrival (the reference the tick path's slippage is measured against). */
  arrival_mid: DecimalString | null;
  ts_last: Nanos;
  window: WindowSimulation;
}

/** Executes one rebalance order on ticks; null when the instrument has no ticks there (daily bars then). */
export type TickExecutor = (req: TickExecutionRequest) => TickExecution | null;

export interface TickExecutorOptions {
  /** The ticks of `key` in [from, to), or null when there are none (no tick files for that day). */
  ticksFor: (key: string, from: Nanos, to: Nanos) => WindowTicks | null;
  settings: BacktestSettings;
  limits: RiskLimits;
  venue: string;
}

const NS_PER_MINUTE = 60_000_000_000n;

/** The window plan of one rebalance order (the shape the signal planner makes for a target change). */
export function rebalanceWindowPlan(
  req: TickExecutionRequest,
  settings: Pick<BacktestSettings, 'window_minutes' | 'seed'>,
  venue: string,
): WindowPlan {
  const ins = req.instruction;
  const start = req.ts;
  const end = start + BigInt(settings.window_minutes) * NS_PER_MINUTE;
  const signed = ins.side === 'BUY' ? toDec(ins.quantity) : toDec(ins.quantity).neg();
  const previous = toDec(req.position);
  return {
    window_id: `w${String(req.index).padStart(6, '0')}`,
    index: req.index,
    strategy_id: ins.strategy_id,
    instrument_key: ins.instrument_key,
    venue,
    signal: { line: req.index + 1, ts: start.toString(), target_position: fmt(previous.plus(signed)) },
    start_ns: start.toString(),
    end_ns: end.toString(),
    nominal_end_ns: end.toString(),
    truncated_by: null,
    previous_target: fmt(previous),
    target: fmt(previous.plus(signed)),
    delta: fmt(signed),
    side: ins.side,
    quantity: ins.quantity,
    instrument_position_at_start: fmt(previous),
    exec_algorithm: ins.exec_algorithm,
    exec_algorithm_params: ins.exec_algorithm_params,
    spec: req.spec,
    instruments_file: '',
    seed: deriveSeed(settings.seed, req.index),
  };
}

export function createTickExecutor(o: TickExecutorOptions): TickExecutor {
  return (req) => {
    const plan = rebalanceWindowPlan(req, o.settings, o.venue);
    const ticks = o.ticksFor(req.instruction.instrument_key, BigInt(plan.start_ns), BigInt(plan.end_ns));
    if (ticks === null) return null;
    const mid = firstMid(ticks);
    // Free balance in the window = starting cash − position × arrival mid = the portfolio's cash.
    const startingCash = mid === null ? req.cash : fmt(toDec(req.cash).plus(toDec(req.position).times(mid)));
    const sim = simulateWindow({
      window: plan,
      settings: { ...o.settings, starting_cash: startingCash },
      limits: o.limits,
      ticks,
    });
    const parent = sim.orders[0];
    if (parent === undefined) throw new Error(`window ${plan.window_id}: no parent order row`);
    const suffix = (id: string) => (id === plan.window_id ? 'N1' : id.slice(plan.window_id.length + 1));
    return {
      status: parent.status === 'FILLED' ? 'FILLED' : parent.status === 'DENIED' ? 'DENIED' : 'EXPIRED',
      reason: parent.reason,
      filled_quantity: parent.filled_quantity,
      fills: sim.fills.map((f) => ({
        child: suffix(f.order_id),
        fill_id: f.fill_id,
        quantity: f.quantity,
        price: f.price,
        fee: f.fee,
        liquidity: f.liquidity,
        ts_event: BigInt(f.ts_ns),
      })),
      children: sim.orders
        .filter((o) => o.parent_order_id !== null)
        .map((o) => ({
          suffix: suffix(o.order_id),
          order_type: o.order_type === 'LIMIT' ? ('LIMIT' as const) : ('MARKET' as const),
          quantity: o.quantity,
          price: o.price,
          status: o.status,
          ts_submitted: BigInt(o.ts_submitted_ns),
          ts_last: BigInt(o.ts_last_ns),
        })),
      arrival_mid: sim.arrival_mid,
      ts_last: BigInt(parent.ts_last_ns),
      window: sim,
    };
  };
}

/**
 * Rebalance backtest on daily bars, event-driven (pure: no I/O, no clock). Over a time series of
 * weights files, at each bar close:
 *
 * 1. the latest weights file dated at or before the close applies (earlier unapplied ones are
 *    superseded and recorded);
 * 2. the plan is made by the same `planRebalance` SHADOW and LIVE use, on the holdings and the
 *    closes;
 * 3. each order passes the same pre-trade risk engine as live intake (`shared/risk` with a ledger of
 *    the holdings, the free cash balance, velocity: orders are released `pace_ns` apart);
 * 4. an approved order fills in full through the **daily-bar fill model**: at the close moved by
 *    `slippage_bps` against the order (buys up, sells down), rounded to the nearest tick (unbiased:
 *    the slippage is an expected cost, rounding it always against the order would add half a tick),
 *    paying the instrument's taker fee (the commission); a buy the cash cannot pay is REJECTED as a
 *    venue would;
 * 5. NAV is snapshotted at every close (after any rebalance) and watched: uncomputable or flat NAV
 *    with positions held raises an alert.
 *
 * The result is the backtest's tables (orders, fills, positions, equity curve), the NAV watch's
 * alerts, and per-rebalance records (plan, skips, denials). The vectorized reference runs over the
 * same inputs (vectorized.ts).
 */
import { orderIdFor } from '../app/order-id.ts';
import { Dec, type DecimalString, fmt, toDec, ZERO } from '../domain/decimal.ts';
import { feeFor, notional, roundToTick } from '../domain/instrument.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, OrderInstruction, TradingState } from '../domain/types.ts';
import { evaluate } from '../risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  markInstrument,
  recentRetention,
  recordFill,
  releaseReservation,
  riskContextFromLedger,
  setPosition,
} from '../risk/ledger.ts';
import type { RiskLimits } from '../risk/limits.ts';
import { planInstructions, type RebalanceDefaults, settingsFor } from './instructions.ts';
import { computeNav, INITIAL_NAV_WATCH, type NavAlert, watchNav } from './nav.ts';
import { type Holdings, planRebalance, type RebalancePlan, type SkippedInstrument } from './plan.ts';
import type { TickChild, TickExecutor } from './tick-execution.ts';
import type { WeightsFile } from './weights.ts';

export interface WeightsEntry {
  /** The rebalance id (from the file's content) and where it came from. */
  rebalance_id: string;
  source: string;
  file: WeightsFile;
}

export interface RebalanceBacktestInput {
  /** Bar close times, ascending. */
  times: readonly Nanos[];
  /** Close per instrument aligned with `times` (NaN = no bar: the last close carries). */
  closes: ReadonlyMap<string, Float64Array>;
  /** Weights files, in any order (sorted here by as_of, then source). */
  weights: readonly WeightsEntry[];
  instrument: (key: string) => InstrumentSpec | undefined;
  defaults: RebalanceDefaults;
  starting_cash: DecimalString;
  slippage_bps: number;
  limits: RiskLimits;
  trading_state: TradingState;
  flat_nav_snapshots: number;
  /** Gap between two orders of one rebalance (default 1 s / max_orders_per_second). */
  pace_ns?: bigint | undefined;
  venue?: string | undefined;
  /**
   * Tick execution (tick-execution.ts): an approved order runs through a backtest window on the
   * instrument's ticks; where it answers null (no ticks there) the daily-bar fill model applies.
   */
  execute?: TickExecutor | undefined;
}

export interface BtOrder {
  order_id: string;
  operation_id: string;
  rebalance_id: string;
  instrument_key: string;
  venue: string;
  side: 'BUY' | 'SELL';
  quantity: DecimalString;
  reference_price: DecimalString;
  /** EXPIRED: a tick window ended before the order was done (`filled_quantity` says how much). */
  status: 'FILLED' | 'EXPIRED' | 'DENIED' | 'REJECTED';
  reason: string | null;
  ts_submitted: Nanos;
  ts_last: Nanos;
  filled_quantity: DecimalString;
  /** How it was executed: a window on ticks, or the daily-bar fill model (null when denied first). */
  fill_model: 'ticks' | 'daily_bar' | null;
  /** Child orders of its execution algorithm (tick windows), ids `<order_id>-<suffix>`. */
  children: Array<Omit<TickChild, 'suffix'> & { order_id: string }>;
}

export interface BtFill {
  fill_id: string;
  order_id: string;
  instrument_key: string;
  venue: string;
  side: 'BUY' | 'SELL';
  quantity: DecimalString;
  price: DecimalString;
  fee: DecimalString;
  fee_currency: string;
  liquidity: 'MAKER' | 'TAKER';
  ts_event: Nanos;
}

export interface BtSnapshot {
  ts_event: Nanos;
  nav: DecimalString | null;
  cash: DecimalString;
  exposure: DecimalString | null;
  positions: Record<
    string,
    {
      quantity: DecimalString;
      avg_price: DecimalString | null;
      realized_pnl: DecimalString;
      price: DecimalString | null;
    }
  >;
}

export interface BtRebalance {
  rebalance_id: string;
  source: string;
  strategy_id: string;
  as_of: string;
  ts_applied: Nanos | null;
  status: 'APPLIED' | 'SUPERSEDED' | 'UNPLANNABLE' | 'NOT_REACHED';
  message: string | null;
  plan: Pick<RebalancePlan, 'equity' | 'investable' | 'cash_after' | 'fees' | 'buy_scale'> | null;
  orders: number;
  skipped: SkippedInstrument[];
  denied: number;
}

export interface RebalanceBacktestResult {
  orders: BtOrder[];
  fills: BtFill[];
  snapshots: BtSnapshot[];
  rebalances: BtRebalance[];
  alerts: Array<NavAlert & { ts_event: Nanos }>;
  /** Index in `times` → effective targets (weights × (1 − buffer)) for the vectorized reference. */
  applied: Map<number, Map<string, number>>;
  fees: DecimalString;
  traded_notional: DecimalString;
  final_holdings: Holdings;
}

interface Book {
  qty: Dec;
  cost: Dec; // Σ qty × avg price of the open position
  realized: Dec;
}

function priceAt(closes: ReadonlyMap<string, Float64Array>, key: string, t: number): DecimalString | null {
  const c = closes.get(key);
  if (c === undefined) return null;
  for (let i = t; i >= 0; i--) {
    const v = c[i];
    if (v !== undefined && Number.isFinite(v) && v > 0) return fmt(toDec(v));
  }
  return null;
}

/** A weights file's record before its plan's figures are added. */
function unapplied(
  d: WeightsEntry,
  ts: Nanos | null,
  status: BtRebalance['status'],
  message: string | null,
): BtRebalance {
  return {
    rebalance_id: d.rebalance_id,
    source: d.source,
    strategy_id: d.file.strategy_id,
    as_of: d.file.as_of,
    ts_applied: ts,
    status,
    message,
    plan: null,
    orders: 0,
    skipped: [],
    denied: 0,
  };
}

/**
 * The gap between two orders of one rebalance: one slot of the order-velocity limit, so a
 * rebalance never trips it. The backtest releases orders this far apart and the live service
 * publishes them this far apart (docs/rebalancing.md); no limit, no gap.
 */
export function orderPaceNs(maxOrdersPerSecond: number | null | undefined): bigint {
  return maxOrdersPerSecond !== null && maxOrdersPerSecond !== undefined && maxOrdersPerSecond > 0
    ? BigInt(Math.ceil(1e9 / maxOrdersPerSecond))
    : 0n;
}

export function runRebalanceBacktest(input: RebalanceBacktestInput): RebalanceBacktestResult {
  const venue = input.venue ?? 'BACKTEST';
  const quoteDefault = input.defaults.quote_currency;
  const pace = input.pace_ns ?? orderPaceNs(input.limits.max_orders_per_second);
  const maxRecent = recentRetention(input.limits);
  const sorted = [...input.weights].sort((a, b) =>
    a.file.as_of_ns < b.file.as_of_ns
      ? -1
      : a.file.as_of_ns > b.file.as_of_ns
        ? 1
        : a.source < b.source
          ? -1
          : 1,
  );
  let cash = toDec(input.starting_cash);
  const books = new Map<string, Book>();
  const orders: BtOrder[] = [];
  const fills: BtFill[] = [];
  const snapshots: BtSnapshot[] = [];
  const rebalances: BtRebalance[] = [];
  const alerts: Array<NavAlert & { ts_event: Nanos }> = [];
  const applied = new Map<number, Map<string, number>>();
  let fees = ZERO;
  let traded = ZERO;
  let watch = INITIAL_NAV_WATCH;
  let next = 0;
  let quote = quoteDefault;

  const holdings = (): Holdings => {
    const positions: Record<string, DecimalString> = {};
    for (const [k, b] of books) if (!b.qty.isZero()) positions[k] = fmt(b.qty);
    return { cash: { [quote]: fmt(cash) }, positions };
  };

  let tickIndex = 0;
  /** Book one fill: cash, fees, the position's average price and realised PnL, the fills table. */
  const book = (
    ins: OrderInstruction,
    row: BtOrder,
    f: Pick<BtFill, 'order_id' | 'fill_id' | 'quantity' | 'price' | 'fee' | 'liquidity' | 'ts_event'>,
  ) => {
    const buy = ins.side === 'BUY';
    const qty = toDec(f.quantity);
    const n = notional(qty, f.price);
    const fee = toDec(f.fee);
    cash = buy ? cash.minus(n).minus(fee) : cash.plus(n).minus(fee);
    fees = fees.plus(fee);
    traded = traded.plus(n);
    const b = books.get(ins.instrument_key) ?? { qty: ZERO, cost: ZERO, realized: ZERO };
    if (buy) {
      b.qty = b.qty.plus(qty);
      b.cost = b.cost.plus(n);
    } else {
      const avg = b.qty.isZero() ? ZERO : b.cost.div(b.qty);
      b.realized = b.realized.plus(n.minus(avg.times(qty)));
      b.cost = b.cost.minus(avg.times(qty));
      b.qty = b.qty.minus(qty);
      if (b.qty.isZero()) b.cost = ZERO;
    }
    books.set(ins.instrument_key, b);
    row.filled_quantity = fmt(toDec(row.filled_quantity).plus(qty));
    if (f.ts_event > row.ts_last) row.ts_last = f.ts_event;
    fills.push({
      ...f,
      instrument_key: ins.instrument_key,
      venue: row.venue,
      side: ins.side,
      fee_currency: quote,
    });
  };

  for (let t = 0; t < input.times.length; t++) {
    const now = input.times[t] as Nanos;
    // Which weights files are due at this close: the latest applies, the rest are superseded.
    const due: WeightsEntry[] = [];
    while (next < sorted.length && (sorted[next] as WeightsEntry).file.as_of_ns <= now) {
      due.push(sorted[next] as WeightsEntry);
      next++;
    }
    const apply = due.pop();
    for (const d of due) {
      rebalances.push(
        unapplied(
          d,
          null,
          'SUPERSEDED',
          `superseded by ${apply?.source ?? 'a later file'} before the next close`,
        ),
      );
    }
    const pricesNow: Record<string, DecimalString> = {};
    for (const k of input.closes.keys()) {
      const p = priceAt(input.closes, k, t);
      if (p !== null) pricesNow[k] = p;
    }
    if (apply !== undefined) {
      const settings = settingsFor(apply.file, input.defaults);
      quote = settings.quote_currency;
      const r = planRebalance({
        weights: apply.file.weights,
        holdings: holdings(),
        prices: pricesNow,
        instrument: input.instrument,
        settings,
      });
      const record = unapplied(
        apply,
        now,
        r.success ? 'APPLIED' : 'UNPLANNABLE',
        r.success ? null : r.error.message,
      );
      rebalances.push(record);
      if (r.success) {
        const plan = r.data;
        record.plan = {
          equity: plan.equity,
          investable: plan.investable,
          cash_after: plan.cash_after,
          fees: plan.fees,
          buy_scale: plan.buy_scale,
        };
        record.skipped = plan.skipped;
        const keep = Dec.sub(1, settings.cash_buffer).toNumber();
        applied.set(t, new Map(Object.entries(apply.file.weights).map(([k, w]) => [k, Number(w) * keep])));
        // Risk ledger of the holdings at this close.
        let ledger = emptyLedger();
        for (const [k, b] of books) {
          if (b.qty.isZero()) continue;
          ledger = setPosition(ledger, k, null, fmt(b.qty));
          ledger = setPosition(ledger, k, apply.file.strategy_id, fmt(b.qty));
          const p = pricesNow[k];
          if (p !== undefined) ledger = markInstrument(ledger, k, p);
        }
        const instructions = planInstructions(plan, apply.file, apply.rebalance_id);
        instructions.forEach((ins: OrderInstruction, i) => {
          const ts = now + pace * BigInt(i);
          const spec = input.instrument(ins.instrument_key) as InstrumentSpec;
          const ref = ins.reference_price as DecimalString;
          const row: BtOrder = {
            order_id: orderIdFor(ins.operation_id),
            operation_id: ins.operation_id,
            rebalance_id: apply.rebalance_id,
            instrument_key: ins.instrument_key,
            venue,
            side: ins.side,
            quantity: ins.quantity,
            reference_price: ref,
            status: 'FILLED',
            reason: null,
            ts_submitted: ts,
            ts_last: ts,
            filled_quantity: '0',
            fill_model: null,
            children: [],
          };
          orders.push(row);
          record.orders++;
          const decision = evaluate(
            ins,
            riskContextFromLedger(ledger, ins, {
              trading_state: input.trading_state,
              strategy_trading_state: 'ACTIVE',
              instrument: spec,
              reference_price: ref,
              free_balance: fmt(cash),
              balance_currency: quote,
            }),
            input.limits,
            ts,
          );
          if (!decision.approved) {
            row.status = 'DENIED';
            row.reason = `${decision.rule}: ${decision.reason}`;
            record.denied++;
            return;
          }
          ledger = applyReservation(ledger, decision.reservation, { max_recent: maxRecent });
          const tick = input.execute?.({
            instruction: ins,
            ts,
            position: fmt(books.get(ins.instrument_key)?.qty ?? ZERO),
            cash: fmt(cash),
            spec,
            index: tickIndex,
          });
          if (tick) {
            tickIndex++;
            row.fill_model = 'ticks';
            row.children = tick.children.map(({ suffix, ...c }) => ({
              ...c,
              order_id: `${row.order_id}-${suffix}`,
            }));
            row.ts_last = tick.ts_last;
            row.status = tick.status;
            row.reason = tick.reason;
            if (tick.status === 'DENIED') record.denied++;
            for (const f of tick.fills) {
              book(ins, row, {
                order_id: `${row.order_id}-${f.child}`,
                fill_id: `${row.order_id}-${f.fill_id}`,
                quantity: f.quantity,
                price: f.price,
                fee: f.fee,
                liquidity: f.liquidity,
                ts_event: f.ts_event,
              });
            }
            ledger = recordFill(ledger, decision.reservation.id, tick.filled_quantity);
            ledger = releaseReservation(ledger, decision.reservation, tick.filled_quantity);
            return;
          }
          row.fill_model = 'daily_bar';
          // Daily-bar fill model: the close moved against the order by the slippage, on the tick.
          const slip = new Dec(input.slippage_bps).div(10_000);
          const buy = ins.side === 'BUY';
          const raw = toDec(ref).times(buy ? Dec.add(1, slip) : Dec.sub(1, slip));
          const price = roundToTick(raw, spec.tick_size, 'nearest');
          const qty = toDec(ins.quantity);
          const n = notional(qty, price);
          const fee = toDec(feeFor(spec, qty, price, 'TAKER'));
          if (buy && cash.minus(n).minus(fee).lt(0)) {
            row.status = 'REJECTED';
            row.reason = `INSUFFICIENT_BALANCE: cost ${fmt(n.plus(fee))} exceeds cash ${fmt(cash)}`;
            ledger = releaseReservation(ledger, decision.reservation, '0');
            return;
          }
          ledger = recordFill(ledger, decision.reservation.id, ins.quantity);
          ledger = releaseReservation(ledger, decision.reservation, ins.quantity);
          book(ins, row, {
            order_id: row.order_id,
            fill_id: `${row.order_id}-1`,
            quantity: ins.quantity,
            price: fmt(price),
            fee: fmt(fee),
            liquidity: 'TAKER',
            ts_event: ts,
          });
        });
      }
    }
    // NAV snapshot at the close.
    const h = holdings();
    const nav = computeNav(h, pricesNow, quote);
    const held = Object.keys(h.positions).length > 0;
    const w = watchNav(watch, nav, held, input.flat_nav_snapshots);
    watch = w.state;
    if (w.alert) alerts.push({ ...w.alert, ts_event: now });
    const positions: BtSnapshot['positions'] = {};
    for (const [k, b] of books) {
      if (b.qty.isZero() && b.realized.isZero()) continue;
      positions[k] = {
        quantity: fmt(b.qty),
        avg_price: b.qty.isZero() ? null : fmt(b.cost.div(b.qty).toDecimalPlaces(12)),
        realized_pnl: fmt(b.realized.toDecimalPlaces(12)),
        price: pricesNow[k] ?? null,
      };
    }
    snapshots.push({
      ts_event: now,
      nav: nav.ok ? nav.nav : null,
      cash: fmt(cash),
      exposure: nav.ok ? nav.exposure : null,
      positions,
    });
  }
  for (; next < sorted.length; next++) {
    rebalances.push(unapplied(sorted[next] as WeightsEntry, null, 'NOT_REACHED', 'dated after the last bar'));
  }
  return {
    orders,
    fills,
    snapshots,
    rebalances,
    alerts,
    applied,
    fees: fmt(fees),
    traded_notional: fmt(traded),
    final_holdings: holdings(),
  };
}

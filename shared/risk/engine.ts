/**
 * The pre-trade risk engine: `evaluate(order, ctx, limits, nowNs)` → approval with a reservation,
 * or a denial naming the rule, the limit and the observed value. Pure and total: bad inputs are
 * denials, never exceptions. The same code runs in backtests and live.
 *
 * Every check in {@link RISK_RULES} is evaluated and reported, in that order; the first one that
 * fails is the denial's rule. With `limits.enabled = false` only the always-on checks run
 * (trading state and the instrument's own rules, {@link ALWAYS_ON_RULES}).
 *
 * Arithmetic is exact (`Dec`); velocity windows use bigint nanoseconds. See
 * docs/risk-and-routing.md for each check's inputs and limit source.
 */
import { Dec, fmt, toDec } from '../domain/decimal.ts';
import type { RiskCheckResult } from '../domain/events.ts';
import { contractSizeOf, isMultipleOf, valuationOf } from '../domain/instrument.ts';
import { type InstrumentType, parseInstrumentId } from '../domain/instrument-id.ts';
import { NANOS_PER_SECOND, type Nanos } from '../domain/time.ts';
import { stricterTradingState } from '../domain/trading-state.ts';
import type { InstrumentSpec, OrderInstruction } from '../domain/types.ts';
import { type CompiledRiskLimits, compiledLimits, type RiskLimits } from './limits.ts';
import { countSince } from './recent.ts';
import type { Decimalish, Reservation, RiskContext, RiskDecision } from './types.ts';

/** Every rule, in evaluation (and reporting) order. */
export const RISK_RULES = [
  'trading_state',
  'instrument',
  'quantity_step',
  'price_tick',
  'min_quantity',
  'max_quantity',
  'reference_price',
  'min_notional',
  'order_size_min',
  'order_size_max',
  'price_tolerance',
  'max_notional_per_order',
  'max_notional_per_order_instrument',
  'max_notional_per_order_strategy',
  'orders_per_second_global',
  'orders_per_second_strategy',
  'orders_per_minute_global',
  'orders_per_minute_strategy',
  'position_instrument',
  'position_strategy',
  'position_global',
  'total_exposure',
  'free_balance',
] as const;
export type RiskRule = (typeof RISK_RULES)[number];

/** Rules checked even when `limits.enabled` is false. */
export const ALWAYS_ON_RULES: readonly RiskRule[] = RISK_RULES.slice(0, 8);

export const ONE_SECOND_NS: Nanos = NANOS_PER_SECOND;
export const ONE_MINUTE_NS: Nanos = 60n * NANOS_PER_SECOND;

const ZERO = new Dec(0);
const ONE = new Dec(1);

// ---------------------------------------------------------------------------------------------
// Memoised parsing of instrument keys and specs (both are few and long-lived)
// ---------------------------------------------------------------------------------------------

/** What the engine needs from an instrument id: its type and quote asset. */
export interface InstrumentInfo {
  type: InstrumentType;
  quote: string;
  /** Inverse perpetual or future: a quantity is worth qty × contract size in the quote currency. */
  inverse: boolean;
}

const MEMO_LIMIT = 10_000;
const keyMemo = new Map<string, InstrumentInfo | null>();

/** Type and quote asset of an instrument id (memoised), or null when the id is invalid. */
export function instrumentInfo(key: string): InstrumentInfo | null {
  let info = keyMemo.get(key);
  if (info === undefined) {
    const r = parseInstrumentId(key);
    info = r.success
      ? { type: r.data.instrument_type, quote: r.data.quote, inverse: valuationOf(key) === 'INVERSE' }
      : null;
    if (keyMemo.size >= MEMO_LIMIT) keyMemo.clear();
    keyMemo.set(key, info);
  }
  return info;
}

interface ParsedSpec {
  tick: Dec;
  step: Dec;
  min_qty: Dec;
  max_qty: Dec;
  min_notional: Dec;
  /** Worst-case fee rate for a balance check: max(maker, taker, 0). */
  fee_rate: Dec;
  /** Contract size (1 when the spec has none). */
  contract_size: Dec;
}

const specMemo = new WeakMap<InstrumentSpec, ParsedSpec | null>();

function parsedSpec(spec: InstrumentSpec): ParsedSpec | null {
  let p = specMemo.get(spec);
  if (p === undefined) {
    try {
      const maker = toDec(spec.maker_fee);
      const taker = toDec(spec.taker_fee);
      p = {
        tick: toDec(spec.tick_size),
        step: toDec(spec.step_size),
        min_qty: toDec(spec.min_qty),
        max_qty: toDec(spec.max_qty),
        min_notional: toDec(spec.min_notional),
        fee_rate: Dec.max(maker, taker, ZERO),
        contract_size: toDec(contractSizeOf(spec)),
      };
      if (!p.tick.gt(0) || !p.step.gt(0) || !p.contract_size.gt(0)) p = null;
    } catch {
      p = null;
    }
    specMemo.set(spec, p);
  }
  return p;
}

function tryDec(v: Decimalish | null | undefined): Dec | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Dec) return v;
  try {
    return toDec(v);
  } catch {
    return null;
  }
}

/** A context figure that must be a decimal; a malformed one counts as unknown (fail closed). */
function ctxDec(v: Decimalish | null | undefined, fallback: Dec | null): Dec | null {
  const d = tryDec(v);
  return d === null ? fallback : d;
}

/** Worst-case |position| of a book: max(|pos + working buys|, |pos − working sells|). */
export function worstCaseQuantity(pos: Dec, workingBuy: Dec, workingSell: Dec): Dec {
  const up = pos.plus(workingBuy).abs();
  const down = pos.minus(workingSell).abs();
  return up.gt(down) ? up : down;
}

function check(
  rule: RiskRule,
  passed: boolean,
  limit: string | null,
  observed: string | null,
  message?: string,
): RiskCheckResult {
  return message === undefined
    ? { rule, passed, limit, observed }
    : { rule, passed, limit, observed, message };
}

function fmtOrNull(d: Dec | null): string | null {
  return d === null ? null : fmt(d);
}

/** A check against an optional upper limit: passes when there is no limit or observed ≤ limit. */
function maxCheck(rule: RiskRule, limit: Dec | null, observed: Dec | null, what: string): RiskCheckResult {
  if (limit === null) return check(rule, true, null, fmtOrNull(observed), 'no limit configured');
  if (observed === null) return check(rule, false, fmt(limit), null, `${what} cannot be valued`);
  const ok = observed.lte(limit);
  return check(
    rule,
    ok,
    fmt(limit),
    fmt(observed),
    ok ? undefined : `${what} ${fmt(observed)} exceeds ${fmt(limit)}`,
  );
}

function velocityCheck(
  rule: RiskRule,
  limit: number | null,
  recent: readonly Nanos[],
  since: Nanos,
  what: string,
): RiskCheckResult {
  const observed = countSince(recent, since) + 1;
  if (limit === null) return check(rule, true, null, String(observed), 'no limit configured');
  const ok = observed <= limit;
  return check(
    rule,
    ok,
    String(limit),
    String(observed),
    ok ? undefined : `${observed} orders ${what} would exceed ${limit}`,
  );
}

/**
 * Position limit on a book (worst case: current + working same side + this order). Passes when
 * |after| ≤ limit, or when the order only moves the position toward zero without crossing it (so
 * a book already above a lowered limit can still be reduced).
 */
function positionCheck(
  rule: RiskRule,
  limit: Dec | null,
  buy: boolean,
  q: Dec,
  pos: Dec,
  wb: Dec,
  ws: Dec,
  what: string,
): RiskCheckResult {
  const base = buy ? pos.plus(wb) : pos.minus(ws);
  const after = buy ? base.plus(q) : base.minus(q);
  if (limit === null) return check(rule, true, null, fmt(after), 'no limit configured');
  if (after.abs().lte(limit)) return check(rule, true, fmt(limit), fmt(after));
  const reducing = buy ? base.isNeg() && after.lte(0) : base.gt(0) && after.gte(0);
  if (reducing) {
    return check(
      rule,
      true,
      fmt(limit),
      fmt(after),
      `above the limit but reduces |${what}| from ${fmt(base.abs())}`,
    );
  }
  return check(
    rule,
    false,
    fmt(limit),
    fmt(after),
    `${what} would reach ${fmt(after)} (position ${fmt(pos)}, working ${buy ? `buys ${fmt(wb)}` : `sells ${fmt(ws)}`}, order ${fmt(q)}), beyond ±${fmt(limit)}`,
  );
}

/** Does the order reduce |pos| without flipping it, counting same-side working orders? */
function reducesWithoutFlip(buy: boolean, q: Dec, pos: Dec, wb: Dec, ws: Dec): { ok: boolean; after: Dec } {
  if (buy) {
    const after = pos.plus(wb).plus(q);
    return { ok: pos.isNeg() && !pos.isZero() && after.lte(0), after };
  }
  const after = pos.minus(ws).minus(q);
  return { ok: pos.gt(0) && after.gte(0), after };
}

// ---------------------------------------------------------------------------------------------
// evaluate
// ---------------------------------------------------------------------------------------------

/**
 * What is being evaluated: an `order` at intake (every rule), or a `child` of an algorithm parent
 * that intake approved and reserved (docs/execution-core.md, "Child-risk policy"). A child passes
 * the same rules as an order except the book-level ones — position limits, total exposure and free
 * balance — which the parent's reservation already answered for its whole quantity; those are
 * reported as passed, "covered by the parent's reservation". The trading-state rule (intake's
 * REDUCING rule with the same scope), the instrument rules, the per-order size and notional limits,
 * the price tolerance and the velocity limits bind every child.
 */
export type EvaluationScope = 'order' | 'child';

const COVERED_BY_PARENT = "covered by the parent's reservation";

/**
 * Evaluate one order against the limits in the given context at time `nowNs`.
 * `limits` may be plain `RiskLimits` (compiled once per object, memoised) or already compiled.
 */
export function evaluate(
  order: OrderInstruction,
  ctx: RiskContext,
  limits: RiskLimits | CompiledRiskLimits,
  nowNs: Nanos,
  scope: EvaluationScope = 'order',
): RiskDecision {
  const L = compiledLimits(limits);
  const checks: RiskCheckResult[] = [];
  const buy = order.side === 'BUY';
  const isLimit = order.order_type === 'LIMIT';

  const q = tryDec(order.quantity);
  const px = order.price === null ? null : tryDec(order.price);
  const posI = ctxDec(ctx.position.instrument, null);
  const posS = ctxDec(ctx.position.strategy, null);
  const wbI = ctxDec(ctx.working.instrument.buy, null);
  const wsI = ctxDec(ctx.working.instrument.sell, null);
  const wbS = ctxDec(ctx.working.strategy.buy, null);
  const wsS = ctxDec(ctx.working.strategy.sell, null);
  const booksKnown =
    posI !== null && posS !== null && wbI !== null && wsI !== null && wbS !== null && wsS !== null;
  const qOk = q?.gt(0) === true;

  // 1. trading_state ---------------------------------------------------------------------------
  const state = stricterTradingState(ctx.trading_state, ctx.strategy_trading_state);
  if (state === 'ACTIVE') {
    checks.push(check('trading_state', true, 'ACTIVE', 'ACTIVE'));
  } else if (state === 'HALTED') {
    const who = ctx.trading_state === 'HALTED' ? 'trading' : `strategy ${order.strategy_id}`;
    checks.push(check('trading_state', false, 'HALTED', 'HALTED', `${who} is HALTED: every order is denied`));
  } else if (!qOk || !booksKnown) {
    checks.push(
      check(
        'trading_state',
        false,
        'REDUCING',
        null,
        'REDUCING: cannot tell whether the order reduces the position',
      ),
    );
  } else {
    // Global REDUCING looks at the platform-wide position, strategy REDUCING at the strategy's own.
    let msg: string | undefined;
    let observed: Dec | null = null;
    let ok = true;
    const scopes: Array<[boolean, string, Dec, Dec, Dec]> = [];
    if (ctx.trading_state === 'REDUCING') scopes.push([true, 'position', posI, wbI, wsI]);
    if (ctx.strategy_trading_state === 'REDUCING')
      scopes.push([true, `strategy ${order.strategy_id} position`, posS, wbS, wsS]);
    for (const [, what, p, wb, ws] of scopes) {
      const r = reducesWithoutFlip(buy, q, p, wb, ws);
      observed ??= r.after;
      if (!r.ok && ok) {
        ok = false;
        observed = r.after;
        msg = `REDUCING: only orders that reduce |${what}| without flipping it are allowed; ${what} ${fmt(p)}, working ${buy ? `buys ${fmt(wb)}` : `sells ${fmt(ws)}`}, ${order.side} ${fmt(q)} would reach ${fmt(r.after)}`;
      }
    }
    checks.push(check('trading_state', ok, 'REDUCING', fmtOrNull(observed), msg));
  }

  // 2. instrument --------------------------------------------------------------------------------
  const info = instrumentInfo(order.instrument_key);
  const spec = ctx.instrument === null ? null : parsedSpec(ctx.instrument);
  if (info === null) {
    checks.push(check('instrument', false, null, order.instrument_key, 'not a valid instrument id'));
  } else if (ctx.instrument === null) {
    checks.push(
      check('instrument', false, null, order.instrument_key, 'no instrument spec for this instrument'),
    );
  } else if (spec === null) {
    checks.push(check('instrument', false, null, order.instrument_key, 'the instrument spec is malformed'));
  } else {
    checks.push(check('instrument', true, null, order.instrument_key));
  }

  // 3-6. instrument precision and quantity bounds ----------------------------------------------
  if (!qOk) {
    checks.push(
      check(
        'quantity_step',
        false,
        spec ? fmt(spec.step) : null,
        q ? fmt(q) : order.quantity,
        'quantity must be a decimal > 0',
      ),
    );
  } else if (spec === null) {
    checks.push(check('quantity_step', false, null, fmt(q), 'no instrument spec'));
  } else {
    const ok = isMultipleOf(q, spec.step);
    checks.push(
      check(
        'quantity_step',
        ok,
        fmt(spec.step),
        fmt(q),
        ok ? undefined : `${fmt(q)} is not a multiple of step size ${fmt(spec.step)}`,
      ),
    );
  }

  if (!isLimit) {
    checks.push(
      check(
        'price_tick',
        true,
        spec ? fmt(spec.tick) : null,
        order.price === null ? null : order.price,
        'market order',
      ),
    );
  } else if (px === null || !px.gt(0)) {
    checks.push(
      check(
        'price_tick',
        false,
        spec ? fmt(spec.tick) : null,
        order.price,
        'a LIMIT order needs a price > 0',
      ),
    );
  } else if (spec === null) {
    checks.push(check('price_tick', false, null, fmt(px), 'no instrument spec'));
  } else {
    const ok = isMultipleOf(px, spec.tick);
    checks.push(
      check(
        'price_tick',
        ok,
        fmt(spec.tick),
        fmt(px),
        ok ? undefined : `${fmt(px)} is not a multiple of tick size ${fmt(spec.tick)}`,
      ),
    );
  }

  if (spec === null || !qOk) {
    checks.push(
      check('min_quantity', false, spec ? fmt(spec.min_qty) : null, q ? fmt(q) : null, 'cannot check'),
    );
    checks.push(
      check('max_quantity', false, spec ? fmt(spec.max_qty) : null, q ? fmt(q) : null, 'cannot check'),
    );
  } else {
    const minOk = q.gte(spec.min_qty);
    checks.push(
      check(
        'min_quantity',
        minOk,
        fmt(spec.min_qty),
        fmt(q),
        minOk ? undefined : `${fmt(q)} is below the instrument's min qty ${fmt(spec.min_qty)}`,
      ),
    );
    const maxOk = q.lte(spec.max_qty);
    checks.push(
      check(
        'max_quantity',
        maxOk,
        fmt(spec.max_qty),
        fmt(q),
        maxOk ? undefined : `${fmt(q)} is above the instrument's max qty ${fmt(spec.max_qty)}`,
      ),
    );
  }

  // 7. reference_price: the price the order and exposure are valued at --------------------------
  const marketRef = ctxDec(ctx.reference_price, null);
  const orderRef = order.reference_price === undefined ? null : tryDec(order.reference_price);
  let mark: Dec | null = null;
  let markSource = '';
  if (marketRef?.gt(0)) {
    mark = marketRef;
    markSource = 'market reference price';
  } else if (orderRef?.gt(0)) {
    mark = orderRef;
    markSource = "order's reference_price";
  } else if (isLimit && px?.gt(0)) {
    mark = px;
    markSource = 'limit price (no reference price)';
  }
  checks.push(
    mark === null
      ? check('reference_price', false, null, null, 'no reference price to value a market order')
      : check('reference_price', true, null, fmt(mark), markSource),
  );
  /** Price the order's own notional is valued at: the limit price, else the mark. */
  const orderPx = isLimit ? (px?.gt(0) ? px : null) : mark;
  const csDec = spec?.contract_size ?? ONE;
  const inverse = info?.inverse === true;
  /** Quote value of a quantity at a price: qty × cs × price, or qty × cs for an inverse contract. */
  const valueAt = (qty: Dec, price: Dec): Dec => (inverse ? qty.times(csDec) : qty.times(csDec).times(price));
  const notional = qOk && orderPx !== null ? valueAt(q, orderPx) : null;

  // 8. min_notional ------------------------------------------------------------------------------
  if (spec === null || notional === null) {
    checks.push(
      check('min_notional', false, spec ? fmt(spec.min_notional) : null, null, 'cannot value the order'),
    );
  } else {
    const ok = notional.gte(spec.min_notional);
    checks.push(
      check(
        'min_notional',
        ok,
        fmt(spec.min_notional),
        fmt(notional),
        ok
          ? undefined
          : `notional ${fmt(notional)} is below the instrument's min notional ${fmt(spec.min_notional)}`,
      ),
    );
  }

  if (L.enabled) {
    const instL = L.instrument(order.instrument_key);
    const stratL = L.strategy(order.strategy_id);

    // 9-10. order_size_min / order_size_max (per instrument) ------------------------------------
    if (instL.min_order_size === null) {
      checks.push(check('order_size_min', true, null, q ? fmt(q) : null, 'no limit configured'));
    } else {
      const ok = qOk && q.gte(instL.min_order_size);
      checks.push(
        check(
          'order_size_min',
          ok,
          fmt(instL.min_order_size),
          q ? fmt(q) : null,
          ok ? undefined : `order size below ${fmt(instL.min_order_size)}`,
        ),
      );
    }
    checks.push(maxCheck('order_size_max', instL.max_order_size, qOk ? q : null, 'order size'));

    // 11. price_tolerance (LIMIT orders) ----------------------------------------------------------
    const tol = instL.price_tolerance ?? L.price_tolerance;
    if (!isLimit) {
      checks.push(check('price_tolerance', true, null, null, 'market order'));
    } else if (tol === null) {
      checks.push(check('price_tolerance', true, null, fmtOrNull(px), 'no limit configured'));
    } else {
      const ref = marketRef?.gt(0) ? marketRef : orderRef?.gt(0) ? orderRef : null;
      if (ref === null || px === null || !px.gt(0)) {
        checks.push(
          check(
            'price_tolerance',
            false,
            null,
            fmtOrNull(px),
            'no reference price to compare the limit price with',
          ),
        );
      } else {
        const bound = buy ? ref.times(ONE.plus(tol)) : ref.times(ONE.minus(tol));
        const ok = buy ? px.lte(bound) : px.gte(bound);
        const bps = fmt(tol.times(10_000));
        checks.push(
          check(
            'price_tolerance',
            ok,
            fmt(bound),
            fmt(px),
            ok
              ? undefined
              : `${order.side} limit ${fmt(px)} is ${buy ? 'above' : 'below'} ${fmt(bound)} (reference ${fmt(ref)} ${buy ? '+' : '−'} ${bps} bps)`,
          ),
        );
      }
    }

    // 12-14. max notional per order ---------------------------------------------------------------
    checks.push(maxCheck('max_notional_per_order', L.max_notional_per_order, notional, 'order notional'));
    checks.push(
      maxCheck('max_notional_per_order_instrument', instL.max_notional_per_order, notional, 'order notional'),
    );
    checks.push(
      maxCheck('max_notional_per_order_strategy', stratL.max_notional_per_order, notional, 'order notional'),
    );

    // 15-18. velocity (sliding windows (now − w, now], this order included) --------------------
    const secAgo = nowNs - ONE_SECOND_NS;
    const minAgo = nowNs - ONE_MINUTE_NS;
    const g = ctx.recent_orders.global;
    const s = ctx.recent_orders.strategy;
    checks.push(
      velocityCheck(
        'orders_per_second_global',
        L.max_orders_per_second,
        g,
        secAgo,
        'in 1 s (all strategies)',
      ),
    );
    checks.push(
      velocityCheck(
        'orders_per_second_strategy',
        stratL.max_orders_per_second,
        s,
        secAgo,
        `in 1 s (${order.strategy_id})`,
      ),
    );
    checks.push(
      velocityCheck(
        'orders_per_minute_global',
        L.max_orders_per_minute,
        g,
        minAgo,
        'in 60 s (all strategies)',
      ),
    );
    checks.push(
      velocityCheck(
        'orders_per_minute_strategy',
        stratL.max_orders_per_minute,
        s,
        minAgo,
        `in 60 s (${order.strategy_id})`,
      ),
    );

    // 19-21. position limits (worst case incl. working orders) -----------------------------------
    if (scope === 'child') {
      for (const rule of ['position_instrument', 'position_strategy', 'position_global'] as const) {
        checks.push(check(rule, true, null, null, COVERED_BY_PARENT));
      }
    } else if (!qOk || !booksKnown) {
      for (const rule of ['position_instrument', 'position_strategy', 'position_global'] as const) {
        checks.push(check(rule, false, null, null, 'position or working quantity unknown'));
      }
    } else {
      checks.push(
        positionCheck('position_instrument', instL.max_position, buy, q, posI, wbI, wsI, 'position'),
      );
      checks.push(
        positionCheck(
          'position_strategy',
          stratL.max_position,
          buy,
          q,
          posS,
          wbS,
          wsS,
          `${order.strategy_id} position`,
        ),
      );
      checks.push(
        positionCheck('position_global', L.max_position_global, buy, q, posI, wbI, wsI, 'position'),
      );
    }

    // 22. total_exposure -------------------------------------------------------------------------
    const total = ctxDec(ctx.exposure.total, null);
    const instExp = ctxDec(ctx.exposure.instrument, null);
    if (scope === 'child') {
      checks.push(check('total_exposure', true, null, null, COVERED_BY_PARENT));
    } else if (!qOk || !booksKnown || mark === null || total === null || instExp === null) {
      checks.push(
        check(
          'total_exposure',
          L.max_total_notional === null,
          fmtOrNull(L.max_total_notional),
          null,
          'cannot value the exposure',
        ),
      );
    } else {
      const before = valueAt(worstCaseQuantity(posI, wbI, wsI), mark);
      const afterQty = buy
        ? worstCaseQuantity(posI, wbI.plus(q), wsI)
        : worstCaseQuantity(posI, wbI, wsI.plus(q));
      const after = valueAt(afterQty, mark);
      const newTotal = total.minus(instExp).plus(after);
      const lim = L.max_total_notional;
      if (lim === null) {
        checks.push(check('total_exposure', true, null, fmt(newTotal), 'no limit configured'));
      } else if (newTotal.lte(lim)) {
        checks.push(check('total_exposure', true, fmt(lim), fmt(newTotal)));
      } else if (after.lte(before)) {
        checks.push(
          check(
            'total_exposure',
            true,
            fmt(lim),
            fmt(newTotal),
            'above the limit but the order adds no exposure',
          ),
        );
      } else {
        checks.push(
          check(
            'total_exposure',
            false,
            fmt(lim),
            fmt(newTotal),
            `total exposure would reach ${fmt(newTotal)} (instrument ${fmt(before)} → ${fmt(after)} at ${fmt(mark)}), beyond ${fmt(lim)}`,
          ),
        );
      }
    }

    // 23. free_balance (spot buys) -------------------------------------------------------------
    if (scope === 'child') {
      checks.push(check('free_balance', true, null, null, COVERED_BY_PARENT));
    } else if (!buy || info?.type !== 'SPOT_PAIR') {
      checks.push(check('free_balance', true, null, null, 'applies to spot buys only'));
    } else {
      const free = ctxDec(ctx.free_balance, null);
      const reserved = ctxDec(ctx.reserved_balance, ZERO);
      if (free === null || reserved === null || notional === null || spec === null) {
        checks.push(check('free_balance', false, null, null, 'free balance or order cost unknown'));
      } else {
        const need = notional.plus(notional.times(spec.fee_rate));
        const available = free.minus(reserved).minus(L.min_free_balance);
        const ok = need.lte(available);
        checks.push(
          check(
            'free_balance',
            ok,
            fmt(available),
            fmt(need),
            ok
              ? undefined
              : `cost ${fmt(need)} ${info.quote} (notional + fee) exceeds available ${fmt(available)} (free ${fmt(free)} − reserved ${fmt(reserved)} − minimum ${fmt(L.min_free_balance)})`,
          ),
        );
      }
    }
  }

  for (let i = 0; i < checks.length; i++) {
    const c = checks[i] as RiskCheckResult;
    if (!c.passed) {
      return {
        approved: false,
        rule: c.rule,
        limit: c.limit,
        observed: c.observed,
        reason: c.message ?? `${c.rule} failed`,
        checks,
      };
    }
  }
  if (q === null || mark === null || info === null) {
    // Unreachable: the always-on checks fail whenever the order cannot be valued.
    return {
      approved: false,
      rule: 'reference_price',
      limit: null,
      observed: null,
      reason: 'order cannot be valued',
      checks,
    };
  }
  let balance: Reservation['balance'] = null;
  if (buy && info.type === 'SPOT_PAIR' && notional !== null && spec !== null) {
    balance = { currency: info.quote, amount: fmt(notional.plus(notional.times(spec.fee_rate))) };
  }
  return {
    approved: true,
    checks,
    reservation: {
      id: order.operation_id,
      instrument_key: order.instrument_key,
      strategy_id: order.strategy_id,
      side: order.side,
      quantity: fmt(q),
      mark: fmt(mark),
      ...(spec !== null && !spec.contract_size.eq(ONE) ? { contract_size: fmt(spec.contract_size) } : {}),
      balance,
      ts_ns: nowNs.toString(),
      ledger_version: ctx.ledger_version ?? null,
    },
  };
}

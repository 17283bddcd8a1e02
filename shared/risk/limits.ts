/**
 * Risk limits: the plain, serialisable input (`RiskLimits`, decimal strings, as configured) and the
 * compiled form the engine uses (`CompiledRiskLimits`, every decimal parsed once into `Dec`).
 *
 * `evaluate` accepts either; a plain `RiskLimits` object is compiled on first use and memoised by
 * object identity (a WeakMap), so a shell that keeps one limits object pays the parsing once.
 * A changed limit set (e.g. a config reload) is a new object and is compiled afresh.
 *
 * Scopes:
 * - global: `max_orders_per_second/minute`, `max_notional_per_order`, `max_total_notional`,
 *   `max_position_global`, `price_tolerance_bps`, `min_free_balance`;
 * - per strategy (`per_strategy[strategy_id]`, falling back to `per_strategy['*']`): velocity,
 *   `max_notional_per_order`, `max_position` (the strategy's net position in the order's instrument);
 * - per instrument (`per_instrument[instrument_key]`, keys matched in canonical spelling, falling back
 *   to `per_instrument['*']`): `min_order_size`, `max_order_size`, `max_notional_per_order`,
 *   `max_position` (the platform-wide net position in that instrument), `price_tolerance_bps`.
 *
 * A limit that is `null` or absent is not enforced (its check is still reported, with limit null).
 */
import { Dec, type DecimalString, toDec } from '../domain/decimal.ts';
import { canonicalInstrumentId } from '../domain/instrument-id.ts';

/** Limits for one strategy (or the `'*'` default for strategies without an entry). */
export interface StrategyRiskLimits {
  max_orders_per_second?: number | null | undefined;
  max_orders_per_minute?: number | null | undefined;
  max_notional_per_order?: DecimalString | null | undefined;
  /** Cap on |the strategy's net position in the order's instrument|, working orders included. */
  max_position?: DecimalString | null | undefined;
}

/** Limits for one instrument (or the `'*'` default for instruments without an entry). */
export interface InstrumentRiskLimits {
  /** Cap on |the platform-wide net position in this instrument|, working orders included. */
  max_position?: DecimalString | null | undefined;
  min_order_size?: DecimalString | null | undefined;
  max_order_size?: DecimalString | null | undefined;
  max_notional_per_order?: DecimalString | null | undefined;
  /** Overrides the global price tolerance for this instrument. */
  price_tolerance_bps?: DecimalString | number | null | undefined;
}

/** The engine's input limits: plain data, as configured (see module doc for scopes). */
export interface RiskLimits {
  /** false: only the trading state and the instrument's own rules are checked. */
  enabled: boolean;
  max_orders_per_second: number | null;
  max_orders_per_minute: number | null;
  max_notional_per_order: DecimalString | null;
  /** Cap on the total worst-case notional exposure across all instruments (quote currency). */
  max_total_notional: DecimalString | null;
  /** Cap on |the platform-wide net position| of ANY one instrument (a ceiling for every instrument). */
  max_position_global: DecimalString | null;
  /** Price tolerance for LIMIT orders against the reference price, in basis points. */
  price_tolerance_bps: DecimalString | number | null;
  /** Quote balance a spot buy must leave untouched. */
  min_free_balance: DecimalString;
  per_strategy: Readonly<Record<string, StrategyRiskLimits>>;
  per_instrument: Readonly<Record<string, InstrumentRiskLimits>>;
}

/** Limits that switch nothing on: every check passes (useful as a base in tests and backtests). */
export const NO_LIMITS: RiskLimits = Object.freeze({
  enabled: true,
  max_orders_per_second: null,
  max_orders_per_minute: null,
  max_notional_per_order: null,
  max_total_notional: null,
  max_position_global: null,
  price_tolerance_bps: null,
  min_free_balance: '0',
  per_strategy: Object.freeze({}),
  per_instrument: Object.freeze({}),
});

export interface CompiledStrategyLimits {
  readonly max_orders_per_second: number | null;
  readonly max_orders_per_minute: number | null;
  readonly max_notional_per_order: Dec | null;
  readonly max_position: Dec | null;
}

export interface CompiledInstrumentLimits {
  readonly max_position: Dec | null;
  readonly min_order_size: Dec | null;
  readonly max_order_size: Dec | null;
  readonly max_notional_per_order: Dec | null;
  /** Tolerance as a fraction (bps / 10 000), or null to use the global one. */
  readonly price_tolerance: Dec | null;
}

/** Limits parsed once into `Dec`; look-ups by strategy and instrument are memoised. */
export interface CompiledRiskLimits {
  readonly compiled: true;
  readonly source: RiskLimits;
  readonly enabled: boolean;
  readonly max_orders_per_second: number | null;
  readonly max_orders_per_minute: number | null;
  readonly max_notional_per_order: Dec | null;
  readonly max_total_notional: Dec | null;
  readonly max_position_global: Dec | null;
  /** Fraction (bps / 10 000). */
  readonly price_tolerance: Dec | null;
  readonly price_tolerance_bps: Dec | null;
  readonly min_free_balance: Dec;
  strategy(strategyId: string): CompiledStrategyLimits;
  instrument(instrumentKey: string): CompiledInstrumentLimits;
}

const BPS = new Dec(10_000);

const EMPTY_STRATEGY: CompiledStrategyLimits = Object.freeze({
  max_orders_per_second: null,
  max_orders_per_minute: null,
  max_notional_per_order: null,
  max_position: null,
});

const EMPTY_INSTRUMENT: CompiledInstrumentLimits = Object.freeze({
  max_position: null,
  min_order_size: null,
  max_order_size: null,
  max_notional_per_order: null,
  price_tolerance: null,
});

function optDec(v: DecimalString | number | null | undefined, what: string): Dec | null {
  if (v === null || v === undefined) return null;
  const d = toDec(v);
  if (d.isNeg()) throw new RangeError(`risk limit ${what} must not be negative, got ${String(v)}`);
  return d;
}

function optCount(v: number | null | undefined, what: string): number | null {
  if (v === null || v === undefined) return null;
  if (!Number.isInteger(v) || v < 0)
    throw new RangeError(`risk limit ${what} must be a whole number ≥ 0, got ${v}`);
  return v;
}

function canonicalOrSelf(key: string): string {
  if (key === '*') return key;
  try {
    return canonicalInstrumentId(key);
  } catch {
    return key;
  }
}

function compileStrategy(s: StrategyRiskLimits, id: string): CompiledStrategyLimits {
  return Object.freeze({
    max_orders_per_second: optCount(s.max_orders_per_second, `per_strategy.${id}.max_orders_per_second`),
    max_orders_per_minute: optCount(s.max_orders_per_minute, `per_strategy.${id}.max_orders_per_minute`),
    max_notional_per_order: optDec(s.max_notional_per_order, `per_strategy.${id}.max_notional_per_order`),
    max_position: optDec(s.max_position, `per_strategy.${id}.max_position`),
  });
}

function compileInstrument(s: InstrumentRiskLimits, key: string): CompiledInstrumentLimits {
  const tol = optDec(s.price_tolerance_bps, `per_instrument.${key}.price_tolerance_bps`);
  return Object.freeze({
    max_position: optDec(s.max_position, `per_instrument.${key}.max_position`),
    min_order_size: optDec(s.min_order_size, `per_instrument.${key}.min_order_size`),
    max_order_size: optDec(s.max_order_size, `per_instrument.${key}.max_order_size`),
    max_notional_per_order: optDec(s.max_notional_per_order, `per_instrument.${key}.max_notional_per_order`),
    price_tolerance: tol === null ? null : tol.div(BPS),
  });
}

/**
 * Parse every decimal once. Throws a RangeError on a malformed or negative limit (configuration is
 * validated at start-up, so this only fires on hand-built limits).
 */
export function compileRiskLimits(limits: RiskLimits): CompiledRiskLimits {
  const strategies = new Map<string, CompiledStrategyLimits>();
  for (const [id, s] of Object.entries(limits.per_strategy)) strategies.set(id, compileStrategy(s, id));
  const instruments = new Map<string, CompiledInstrumentLimits>();
  for (const [key, s] of Object.entries(limits.per_instrument)) {
    instruments.set(canonicalOrSelf(key), compileInstrument(s, key));
  }
  const strategyDefault = strategies.get('*') ?? EMPTY_STRATEGY;
  const instrumentDefault = instruments.get('*') ?? EMPTY_INSTRUMENT;
  // Memo of raw instrument key → limits (canonicalising a key parses it; do it once per key).
  const instrumentMemo = new Map<string, CompiledInstrumentLimits>();
  const tolBps = optDec(limits.price_tolerance_bps, 'price_tolerance_bps');
  const minFree = optDec(limits.min_free_balance, 'min_free_balance');
  return Object.freeze({
    compiled: true as const,
    source: limits,
    enabled: limits.enabled,
    max_orders_per_second: optCount(limits.max_orders_per_second, 'max_orders_per_second'),
    max_orders_per_minute: optCount(limits.max_orders_per_minute, 'max_orders_per_minute'),
    max_notional_per_order: optDec(limits.max_notional_per_order, 'max_notional_per_order'),
    max_total_notional: optDec(limits.max_total_notional, 'max_total_notional'),
    max_position_global: optDec(limits.max_position_global, 'max_position_global'),
    price_tolerance: tolBps === null ? null : tolBps.div(BPS),
    price_tolerance_bps: tolBps,
    min_free_balance: minFree ?? new Dec(0),
    strategy(strategyId: string): CompiledStrategyLimits {
      return strategies.get(strategyId) ?? strategyDefault;
    },
    instrument(instrumentKey: string): CompiledInstrumentLimits {
      let hit = instrumentMemo.get(instrumentKey);
      if (hit === undefined) {
        hit =
          instruments.get(instrumentKey) ??
          instruments.get(canonicalOrSelf(instrumentKey)) ??
          instrumentDefault;
        instrumentMemo.set(instrumentKey, hit);
      }
      return hit;
    },
  });
}

const cache = new WeakMap<RiskLimits, CompiledRiskLimits>();

/** The compiled form of `limits`, memoised by object identity. */
export function compiledLimits(limits: RiskLimits | CompiledRiskLimits): CompiledRiskLimits {
  if ('compiled' in limits) return limits;
  let c = cache.get(limits);
  if (c === undefined) {
    c = compileRiskLimits(limits);
    cache.set(limits, c);
  }
  return c;
}

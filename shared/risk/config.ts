/**
 * Adapter from the app configuration's `risk` section (shared/config/schema.ts) to the engine's
 * `RiskLimits`. Pure: the shell calls it once at start-up (and on reload) and keeps the result.
 */
import type { RiskConfig } from '../config/schema.ts';
import type { InstrumentRiskLimits, RiskLimits, StrategyRiskLimits } from './limits.ts';

/** `RiskLimits` from `cfg.risk`. Absent optional limits become null (not enforced). */
export function riskLimitsFromConfig(risk: RiskConfig): RiskLimits {
  const per_strategy: Record<string, StrategyRiskLimits> = {};
  for (const [id, s] of Object.entries(risk.per_strategy)) {
    per_strategy[id] = {
      max_orders_per_second: s.max_orders_per_second ?? null,
      max_orders_per_minute: s.max_orders_per_minute ?? null,
      max_notional_per_order: s.max_notional_per_order ?? null,
      max_position: s.max_position ?? null,
    };
  }
  const per_instrument: Record<string, InstrumentRiskLimits> = {};
  for (const [key, s] of Object.entries(risk.per_instrument)) {
    per_instrument[key] = {
      max_position: s.max_position,
      min_order_size: s.min_order_size ?? null,
      max_order_size: s.max_order_size ?? null,
      max_notional_per_order: s.max_notional_per_order ?? null,
    };
  }
  return {
    enabled: risk.enabled,
    max_orders_per_second: risk.max_orders_per_second,
    max_orders_per_minute: risk.max_orders_per_minute,
    max_notional_per_order: risk.max_notional_per_order,
    max_total_notional: risk.max_total_notional,
    max_position_global: risk.max_position_global ?? null,
    price_tolerance_bps: risk.price_tolerance_bps,
    min_free_balance: risk.min_free_balance ?? '0',
    per_strategy,
    per_instrument,
  };
}

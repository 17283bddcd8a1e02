/**
 * The one ordering of trading states (SPEC "Pre-trade risk"): HALTED is stricter than REDUCING,
 * which is stricter than ACTIVE. Intake's risk engine, the execution core and the venue edge all
 * combine the platform's state with a strategy's through {@link stricterTradingState}.
 */
import type { TradingState } from './types.ts';

const RANK: Readonly<Record<TradingState, number>> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** The stricter of two states (HALTED > REDUCING > ACTIVE). */
export function stricterTradingState(a: TradingState, b: TradingState): TradingState {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Pre-trade risk: pure engine, limits, ledger (concurrency) and config adapter. */
export { riskLimitsFromConfig } from './config.ts';
export {
  ALWAYS_ON_RULES,
  evaluate,
  type InstrumentInfo,
  instrumentInfo,
  ONE_MINUTE_NS,
  ONE_SECOND_NS,
  RISK_RULES,
  type RiskRule,
  worstCaseQuantity,
} from './engine.ts';
export {
  type ApplyOptions,
  applyLedgerOp,
  applyLedgerOps,
  applyReservation,
  emptyLedger,
  isReservationCurrent,
  type LedgerBook,
  LedgerConflictError,
  type LedgerInstrument,
  type LedgerOp,
  type LedgerStrategy,
  type MarketSnapshot,
  markInstrument,
  type OpenReservation,
  openReservation,
  ownEntry,
  type RiskLedger,
  recentRetention,
  recordFill,
  releaseReservation,
  riskContextFromLedger,
  setPosition,
} from './ledger.ts';
export {
  type CompiledInstrumentLimits,
  type CompiledRiskLimits,
  type CompiledStrategyLimits,
  compiledLimits,
  compileRiskLimits,
  type InstrumentRiskLimits,
  NO_LIMITS,
  type RiskLimits,
  type StrategyRiskLimits,
} from './limits.ts';
export { cloneLedger, OwnedLedger } from './owned-ledger.ts';
export { countSince, pushRecent, pushRecentInPlace, RECENT_HORIZON_NS, recentNanos } from './recent.ts';
export type {
  Decimalish,
  Reservation,
  RiskApproved,
  RiskContext,
  RiskDecision,
  RiskDenied,
  WorkingQuantity,
} from './types.ts';

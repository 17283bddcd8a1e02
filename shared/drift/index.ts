/** Drift detection, pure: fill price against the mid at arrival, and the persistence rule (docs/reconciliation.md, "Drift"). */
export * from './drift.ts';
export * from './messages.ts';

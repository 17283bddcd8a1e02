/** Reconciliation shell of the venue edge (docs/reconciliation.md). */
export * from './log.ts';
export * from './reconciler.ts';
export * from './spec-check.ts';

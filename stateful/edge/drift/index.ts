/** Drift monitor shell of the venue edge (docs/reconciliation.md, "Drift"). */
export * from './monitor.ts';

/** Reconciliation, pure: differences between our books and a venue's, and instrument spec checks (docs/reconciliation.md). */
export * from './balances.ts';
export * from './diff.ts';
export * from './messages.ts';
export * from './specs.ts';
export * from './types.ts';

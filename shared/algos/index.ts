/** Execution algorithms as pure, restartable schedulers (docs/matching-engine.md). */
export * from './plan.ts';
export * from './scheduler.ts';
export * from './types.ts';

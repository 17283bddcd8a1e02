/** The simulated venue: a deterministic matching engine per instrument (docs/matching-engine.md). */
export * from './columns.ts';
export * from './fills.ts';
export * from './matching-engine.ts';
export * from './order-view.ts';
export * from './prng.ts';
export * from './types.ts';

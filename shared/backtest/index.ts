/** The backtester's pure core (docs/backtesting.md): signals, planner, window simulation, merge, metrics. */
export * from './feed.ts';
export * from './merge.ts';
export * from './metrics.ts';
export * from './model.ts';
export * from './planner.ts';
export * from './signals.ts';
export * from './window.ts';

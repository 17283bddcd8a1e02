export * from './plan.ts';
export * from './weights.ts';

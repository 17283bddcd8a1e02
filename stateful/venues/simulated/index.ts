/** The simulated venue (docs/simulated-venue.md): a seeded moving market and our matching engine. */
export * from './market-model.ts';
export * from './venue.ts';

/** The SHADOW venue: live market data, fills by our matching engine, a synthetic account (docs/shadow-mode.md). */
export * from './account.ts';
export * from './venue.ts';

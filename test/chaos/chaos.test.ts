/**
 * The reduced chaos run (`npm run chaos -- --reduced`) inside `npm test`: real processes, small
 * counts. Every goal of the table must hold; the table is printed.
 */
import { describe, expect, it } from 'vitest';
import { table } from './harness.ts';
import { REDUCED, runChaos } from './run.ts';

describe('chaos (reduced run)', () => {
  it('holds every goal: bad input refused with a reason, no secret shown, no limit breached', {
    timeout: 600_000,
  }, async () => {
    const results = await runChaos({ sizes: REDUCED, seed: 42 });
    console.info(table(results));
    expect(results.length).toBeGreaterThanOrEqual(2);
    for (const r of results) expect(r.failures, r.scenario).toEqual([]);
  });
});

/**
 * The reduced chaos run (`npm run chaos -- --reduced`) inside `npm test`: real processes, small
 * counts. Every goal of the table must hold; the table is printed. The scenarios that start venue
 * edges as separate processes (crash, venue faults, dependency restarts) run as their own tests.
 */
import { describe, expect, it } from 'vitest';
import { table } from './harness.ts';
import { REDUCED, runChaos, type Scenario } from './run.ts';

async function holds(only: readonly Scenario[]): Promise<void> {
  const results = await runChaos({ sizes: REDUCED, seed: 42, only });
  console.info(table(results));
  expect(results.map((r) => r.scenario).length).toBeGreaterThanOrEqual(only.length);
  for (const r of results) expect(r.failures, r.scenario).toEqual([]);
}

describe('chaos (reduced run)', () => {
  it('bad input refused with a reason, no secret shown, no limit breached, nothing duplicated', {
    timeout: 600_000,
  }, async () => {
    await holds(['bad-input', 'secrets', 'limits', 'at-least-once', 'kill-switch']);
  });

  it('kill -9 of the lease-holding edge twice: nothing lost or sent twice, every parent filled', {
    timeout: 900_000,
  }, async () => {
    await holds(['crash']);
  });

  it('venue faults (drops, 5xx, 429, unanswered, duplicated, reordered, offline): no fill lost', {
    timeout: 900_000,
  }, async () => {
    await holds(['venue-faults']);
  });

  it('Firestore and Pub/Sub restarted under the edge: it recovers, every order final', {
    timeout: 900_000,
  }, async () => {
    await holds(['dependency-restarts']);
  });
});

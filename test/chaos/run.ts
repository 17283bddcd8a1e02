/** Which scenarios a chaos run has and how big each is (full: on demand; reduced: inside npm test). */

import { runAtLeastOnceScenario } from './at-least-once.ts';
import { runCrashScenario } from './crash.ts';
import { runDependencyRestartScenario } from './dependency-restarts.ts';
import type { ScenarioResult } from './harness.ts';
import { runKillSwitchScenario } from './kill-switch.ts';
import { runLimitsScenario } from './limits.ts';
import { runServiceScenarios } from './service.ts';
import { runVenueFaultsScenario } from './venue-faults.ts';

export const SCENARIOS = [
  'bad-input',
  'secrets',
  'limits',
  'at-least-once',
  'kill-switch',
  'crash',
  'venue-faults',
  'dependency-restarts',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Sizes {
  badInputs: number;
  processes: number;
  positionOrders: number;
  velocityOrders: number;
  velocityLimit: number;
  atLeastOnce: number;
  killSwitchRuns: number;
  pubsubBadInputs: number;
  /** kill -9 of the edge (0: the scenario is not in this run). */
  crashKills: number;
  /** Orders of the venue-fault scenario (0: not in this run) and how long the venue is offline. */
  venueFaultOrders: number;
  venueOfflineMs: number;
  /** Orders per stage of the dependency-restart scenario (0: not in this run) and each emulator's downtime. */
  dependencyOrders: number;
  dependencyDownMs: number;
}

export const FULL: Sizes = {
  badInputs: 10_000,
  processes: 4,
  positionOrders: 60,
  velocityOrders: 60,
  velocityLimit: 10,
  atLeastOnce: 10_000,
  killSwitchRuns: 5,
  pubsubBadInputs: 10_000,
  crashKills: 20,
  venueFaultOrders: 1_000,
  venueOfflineMs: 30_000,
  dependencyOrders: 50,
  dependencyDownMs: 5_000,
};
export const REDUCED: Sizes = {
  badInputs: 600,
  processes: 4,
  positionOrders: 24,
  velocityOrders: 24,
  velocityLimit: 5,
  atLeastOnce: 200,
  killSwitchRuns: 1,
  pubsubBadInputs: 200,
  crashKills: 2,
  venueFaultOrders: 16,
  venueOfflineMs: 2_000,
  dependencyOrders: 3,
  dependencyDownMs: 2_000,
};

export async function runChaos(o: {
  sizes: Sizes;
  seed: number;
  only?: readonly Scenario[] | undefined;
  progress?: (line: string) => void;
}): Promise<ScenarioResult[]> {
  const wants = (s: Scenario) => o.only === undefined || o.only.includes(s);
  const out: ScenarioResult[] = [];
  if (wants('bad-input') || wants('secrets')) {
    o.progress?.('chaos: bad input and secrets against npm start ...');
    const r = await runServiceScenarios({
      badInputs: wants('bad-input') ? o.sizes.badInputs : 50,
      seed: o.seed,
    });
    out.push(...r.filter((x) => (x.scenario === 'secrets' ? wants('secrets') : wants('bad-input'))));
  }
  if (wants('limits')) {
    o.progress?.(`chaos: limits under concurrency from ${o.sizes.processes} processes ...`);
    out.push(
      await runLimitsScenario({
        processes: o.sizes.processes,
        positionOrders: o.sizes.positionOrders,
        velocityOrders: o.sizes.velocityOrders,
        velocityLimit: o.sizes.velocityLimit,
      }),
    );
  }
  if (wants('at-least-once')) {
    o.progress?.(`chaos: at-least-once, ${o.sizes.atLeastOnce} instructions × 3 on Pub/Sub ...`);
    out.push(
      ...(await runAtLeastOnceScenario({
        instructions: o.sizes.atLeastOnce,
        badInputs: o.sizes.pubsubBadInputs,
        seed: o.seed,
        progress: o.progress,
        timeoutMs: Math.max(120_000, (o.sizes.atLeastOnce + o.sizes.pubsubBadInputs) * 100),
      })),
    );
  }
  if (wants('kill-switch')) {
    o.progress?.(`chaos: kill switch, ${o.sizes.killSwitchRuns} runs ...`);
    out.push(
      await runKillSwitchScenario({
        runs: o.sizes.killSwitchRuns,
        processes: o.sizes.processes,
        streamMs: 6_000,
      }),
    );
  }
  if (wants('crash') && o.sizes.crashKills > 0) {
    o.progress?.(`chaos: crash, ${o.sizes.crashKills} × kill -9 of the edge ...`);
    out.push(await runCrashScenario({ kills: o.sizes.crashKills, seed: o.seed, progress: o.progress }));
  }
  if (wants('venue-faults') && o.sizes.venueFaultOrders > 0) {
    o.progress?.(`chaos: venue faults during ${o.sizes.venueFaultOrders} orders ...`);
    out.push(
      await runVenueFaultsScenario({
        orders: o.sizes.venueFaultOrders,
        offlineMs: o.sizes.venueOfflineMs,
        seed: o.seed,
        progress: o.progress,
      }),
    );
  }
  if (wants('dependency-restarts') && o.sizes.dependencyOrders > 0) {
    o.progress?.(`chaos: dependency restarts, ${o.sizes.dependencyOrders} orders per stage ...`);
    out.push(
      await runDependencyRestartScenario({
        ordersPerStage: o.sizes.dependencyOrders,
        downMs: o.sizes.dependencyDownMs,
        seed: o.seed,
        progress: o.progress,
      }),
    );
  }
  return out;
}

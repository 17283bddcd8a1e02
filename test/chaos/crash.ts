/**
 * crash: `kill -9` of the venue edge at seeded random points of TWAP, VWAP and ICEBERG runs.
 *
 * Two edge processes run at a time (test/chaos/edge-cluster.ts): the lease holder trading LIVE on
 * the local exchange, and a STANDBY. Each round submits a TWAP, a VWAP and an ICEBERG parent, waits a
 * seeded random time (so the kill lands before, between or inside child orders of each), then
 * SIGKILLs the holder. The standby must take the lease (after its TTL) and resume the durable
 * scheduler from the stored state; a fresh process becomes the next standby. At the end every parent
 * must be FILLED, and against the exchange's own records: no child lost or sent twice, no fill lost,
 * every parent's filled quantity equal to the exchange's.
 */
import { uniformAt } from '../../shared/sim/prng.ts';
import type { MainProcess } from '../integration/support/main-process.ts';
import {
  alive,
  type EdgeCluster,
  LEASE_ACQUIRED,
  LEASE_STANDBY,
  sleep,
  startEdgeCluster,
  waitLog,
} from './edge-cluster.ts';
import { check, fmtInt, result, type ScenarioResult } from './harness.ts';

export interface CrashOptions {
  /** kill -9 count (≥ 20 in the full run). */
  kills: number;
  seed: number;
  /** Lease TTL of the edges, ms. */
  leaseTtlMs?: number;
  progress?: ((line: string) => void) | undefined;
}

/** The three parents of round `k` (quantities in BTC; MARKET children). */
function roundParents(k: number, seed: number): Array<{ op: string; over: Record<string, unknown> }> {
  const side = k % 2 === 0 ? 'BUY' : 'SELL';
  return [
    {
      op: `CRASH-${seed}-${k}-TWAP`,
      over: {
        side,
        quantity: '0.04',
        exec_algorithm: 'TWAP',
        exec_algorithm_params: { duration_sec: 4, max_slices: 4 },
      },
    },
    {
      op: `CRASH-${seed}-${k}-VWAP`,
      over: {
        side,
        quantity: '0.06',
        exec_algorithm: 'VWAP',
        exec_algorithm_params: { duration_sec: 5, max_slices: 5, volume_profile: [1, 2, 3, 2, 1] },
      },
    },
    {
      op: `CRASH-${seed}-${k}-ICEBERG`,
      over: {
        side,
        quantity: '0.12',
        exec_algorithm: 'ICEBERG',
        exec_algorithm_params: { display_quantity: '0.01' },
      },
    },
  ];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};

export async function runCrashScenario(o: CrashOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const ttl = o.leaseTtlMs ?? 10_000;
  const cluster: EdgeCluster = await startEdgeCluster({
    projectId: 'demo-chaos-crash',
    leaseTtlMs: ttl,
    seed: o.seed,
  });
  const ops: string[] = [];
  const takeovers: number[] = [];
  const killPoints: number[] = [];
  let kills = 0;
  let selfExits = 0;
  let failedTakeovers = 0;
  // A process that exits by itself while starting (e.g. its lease validity ran out on the loaded
  // machine: fail-safe) is counted and replaced.
  const startEdge = async (): Promise<MainProcess> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await cluster.startEdge();
      } catch (err) {
        selfExits += 1;
        if (attempt >= 3) throw err;
      }
    }
  };
  try {
    let holder: MainProcess = await startEdge();
    if (!(await waitLog(holder, LEASE_ACQUIRED, 60_000)))
      throw new Error('the first edge did not take the lease');
    let standby: MainProcess = await startEdge();
    await waitLog(standby, LEASE_STANDBY, 60_000);
    for (let k = 0; k < o.kills; k++) {
      for (const p of roundParents(k, o.seed)) {
        await cluster.submit(p.op, p.over);
        ops.push(p.op);
      }
      // The kill point: 0.2–5 s after the round's parents were routed (their runs last 1–5 s).
      const delay = Math.round(200 + uniformAt(o.seed, k) * 4_800);
      killPoints.push(delay);
      await sleep(delay);
      if (!alive(holder)) {
        // It exited by itself (its lease validity ran out on the loaded machine: the fail-safe).
        // The standby takes over; that one is killed instead, so every round has its kill -9.
        selfExits += 1;
        if (!alive(standby)) standby = await startEdge();
        await waitLog(standby, LEASE_ACQUIRED, ttl + 60_000);
        holder = standby;
        standby = await startEdge();
        await waitLog(standby, LEASE_STANDBY, 60_000);
      }
      holder.child.kill('SIGKILL');
      kills += 1;
      const killedAt = Date.now();
      await holder.exited;
      if (!alive(standby)) {
        selfExits += 1;
        standby = await startEdge();
      }
      if (await waitLog(standby, LEASE_ACQUIRED, ttl + 60_000)) takeovers.push(Date.now() - killedAt);
      else failedTakeovers += 1;
      holder = standby;
      standby = await startEdge();
      await waitLog(standby, LEASE_STANDBY, 60_000);
      o.progress?.(
        `chaos: crash ${k + 1}/${o.kills}: kill -9 at +${delay} ms, takeover ${takeovers[takeovers.length - 1] ?? '—'} ms`,
      );
    }
    // The platform records fills one position at a time (several store round trips each): under
    // this load its fills can trail the exchange by minutes after the last kill. Wait while they
    // keep coming (a stall of 2 minutes, or 20 minutes in all, ends the wait), and report how long.
    const lastKill = performance.now();
    let settled = await cluster.settle(ops, 30_000);
    const filledSum = () => [...settled.values()].reduce((a, r) => a + Number(r?.filled_quantity ?? '0'), 0);
    let progressAt = performance.now();
    let seen = filledSum();
    while ([...settled.values()].some((r) => r?.status !== 'FILLED')) {
      if (performance.now() - progressAt > 120_000 || performance.now() - lastKill > 1_200_000) break;
      settled = await cluster.settle(ops, 10_000);
      const now = filledSum();
      if (now !== seen) {
        seen = now;
        progressAt = performance.now();
      }
    }
    const catchUpSec = Math.round((performance.now() - lastKill) / 100) / 10;
    const notFilled = [...settled.entries()]
      .filter(([, r]) => r?.status !== 'FILLED')
      .map(([op, r]) => `${op} ${r?.status ?? 'missing'}`);
    const a = await cluster.audit(ops);
    const r = result(
      'crash (kill -9 of the edge)',
      `${kills} × kill -9 of the lease-holding edge process (npm start on the Firestore and Pub/Sub emulators) at seeded points (median +${median(killPoints)} ms) of ${fmtInt(ops.length)} TWAP / VWAP / ICEBERG parents on the local exchange (real ccxt), a standby taking over each time`,
      [
        ['kills', kills],
        ['parents FILLED', `${a.byStatus.FILLED ?? 0}/${ops.length}`],
        ['venue orders', a.venueOrders],
        ['lost children', a.lostChildren],
        ['children unknown to the stored state', a.unknownChildren],
        ['duplicated children', a.duplicateVenueOrders],
        ['lost fills', a.lostFills],
        ['fills without a venue trade', a.phantomFills],
        ['parents ≠ venue quantity', a.quantityMismatches],
        ['platform final after the last kill (s)', catchUpSec],
        ['takeover after kill median (ms)', median(takeovers)],
        ['worst (ms)', Math.max(0, ...takeovers)],
        ['lease TTL (ms)', ttl],
        ['edges that exited by themselves', selfExits],
      ],
      [
        check(kills >= o.kills, `${kills} kills of ${o.kills}`),
        check(failedTakeovers === 0, `${failedTakeovers} kills not followed by a takeover`),
        check(notFilled.length === 0, `not FILLED: ${notFilled.slice(0, 5).join(', ')}`),
        check(a.lostChildren === 0 && a.unknownChildren === 0, a.mismatchDetail.slice(0, 5).join('; ')),
        check(a.duplicateVenueOrders === 0, `${a.duplicateVenueOrders} duplicated children`),
        check(a.lostFills === 0 && a.phantomFills === 0, a.mismatchDetail.slice(0, 5).join('; ')),
        check(a.quantityMismatches === 0, a.mismatchDetail.slice(0, 5).join('; ')),
      ],
      started,
    );
    return cluster.verdict('crash', r);
  } finally {
    await cluster.close();
  }
}

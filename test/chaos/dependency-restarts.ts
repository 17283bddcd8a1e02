/**
 * dependency restarts: the Firestore and the Pub/Sub emulators restarted (on the same port) under a
 * running venue-edge process (test/chaos/edge-cluster.ts), orders arriving before, during and after.
 *
 *   before → Firestore restarted (down `downMs`; its documents kept, as the managed database keeps
 *   them) while orders arrive → Pub/Sub restarted (down `downMs`) while orders arrive → after
 *
 * The Pub/Sub emulator keeps nothing across a restart; in the cloud topics and subscriptions are
 * declared by Terraform and never vanish, so the emulator is restarted behind a TCP gate with its
 * topology declared again before any client reaches it (test/support/pubsub-emulator.ts
 * `keepTopology`) — what the deployment's state guarantees. The harness
 * restarts Pub/Sub only after the earlier orders finished, so no message of ours sits in the
 * emulator when it drops them; the orders of that stage are published (retried) while it is down.
 *
 * Goals: the platform recovers by itself — the edge process, or the process the supervisor (Cloud
 * Run; here the harness) starts when it exits — every order reaches a final status, and against the exchange: no duplicate venue order, no lost fill, quantities equal.
 */
import type { OrderInstruction } from '../../shared/domain/types.ts';
import type { MainProcess } from '../integration/support/main-process.ts';
import { alive, LEASE_ACQUIRED, startEdgeCluster, waitLog } from './edge-cluster.ts';
import { check, fmtInt, pool, result, type ScenarioResult } from './harness.ts';

export interface DependencyRestartOptions {
  /** Orders per stage (four stages). */
  ordersPerStage: number;
  /** How long each emulator stays down. */
  downMs: number;
  seed: number;
  progress?: ((line: string) => void) | undefined;
}

function instruction(i: number): Partial<OrderInstruction> {
  const side = i % 2 === 0 ? 'BUY' : 'SELL';
  return i % 5 === 2
    ? {
        side,
        quantity: '0.02',
        exec_algorithm: 'TWAP',
        exec_algorithm_params: { duration_sec: 2, max_slices: 2 },
      }
    : { side, quantity: '0.01' };
}

export async function runDependencyRestartScenario(o: DependencyRestartOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const project = 'demo-chaos-deps';
  const cluster = await startEdgeCluster({
    projectId: project,
    leaseTtlMs: 15_000,
    seed: o.seed,
    durableFirestore: true,
    keepPubSubTopology: true,
  });
  const ops: string[] = [];
  let retries = 0;
  let next = 0;
  const stageSeconds: Record<string, number> = {};
  let edge: MainProcess | null = null;
  try {
    edge = await cluster.startEdge();
    if (!(await waitLog(edge, LEASE_ACQUIRED, 60_000))) throw new Error('the edge did not take the lease');
    const supervisor = cluster.supervise(edge);
    const exits = supervisor.exits;
    const submitStage = () =>
      pool(4, o.ordersPerStage, async () => {
        const op = `DEP-${o.seed}-${next++}`;
        ops.push(op);
        retries += await cluster.submitRetrying(op, instruction(next), 180_000);
      });
    const stage = async (name: string, restart: (() => Promise<unknown>) | null) => {
      const t0 = performance.now();
      const from = ops.length;
      await Promise.all([restart?.(), submitStage()]);
      await cluster.settle(ops.slice(from), 180_000);
      stageSeconds[name] = Math.round((performance.now() - t0) / 100) / 10;
      o.progress?.(`chaos: dependency restarts: ${name} done in ${stageSeconds[name]} s`);
    };
    let firestoreDown = 0;
    let pubsubDown = 0;
    await stage('before', null);
    await stage('Firestore restart', async () => {
      firestoreDown = await cluster.firestore.restart(o.downMs);
    });
    await stage('Pub/Sub restart', async () => {
      pubsubDown = await cluster.pubsub.restart(o.downMs);
    });
    await stage('after', null);
    await supervisor.stop();
    edge = supervisor.current();
    const a = await cluster.audit(ops);
    const ready = alive(edge)
      ? await fetch(`${edge.url}/readyz`).then(
          (r) => r.status,
          () => 0,
        )
      : 0;
    const r = result(
      'dependency restarts',
      `${fmtInt(ops.length)} orders (MARKET, TWAP) through one edge process in 4 stages: before, the Firestore emulator restarted (down ${o.downMs / 1000} s, documents kept), the Pub/Sub emulator restarted (down ${o.downMs / 1000} s, topology re-declared), after`,
      [
        ['final', `${a.final}/${a.parents}`],
        ['duplicate venue orders', a.duplicateVenueOrders],
        ['lost fills', a.lostFills],
        ['orders ≠ venue quantity', a.quantityMismatches],
        ['submit attempts failed (retried)', retries],
        ['Firestore down (ms)', firestoreDown],
        ['Pub/Sub down (ms)', pubsubDown],
        [
          'stage seconds',
          Object.entries(stageSeconds)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        ['edge processes exited and restarted by the supervisor', exits.length],
        ['edge /readyz after', ready],
      ],
      [
        check(a.final === a.parents, `${a.parents - a.final} orders not in a final status`),
        check(a.duplicateVenueOrders === 0, `${a.duplicateVenueOrders} duplicate venue orders`),
        check(
          a.lostFills === 0 && a.phantomFills === 0 && a.quantityMismatches === 0,
          a.mismatchDetail.slice(0, 5).join('; '),
        ),
        check(alive(edge) && ready === 200, `edge alive ${alive(edge)}, /readyz ${ready}`),
      ],
      started,
    );
    if (exits.length > 0) r.figures.push(['why they exited', exits.slice(0, 3).join('; ')]);
    return cluster.verdict('dependency-restarts', r);
  } finally {
    await cluster.close();
  }
}

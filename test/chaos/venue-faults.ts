/**
 * venue faults: orders through one venue-edge process (test/chaos/edge-cluster.ts) while the local
 * exchange misbehaves, one kind of fault per phase (its `faults` controller,
 * dev/local-exchange/faults.ts):
 *
 *   clean → WebSocket drops → 5xx on submits → 429 with Retry-After → submits executed but never
 *   answered → every private event twice → adjacent private events swapped → the venue offline 30 s
 *
 * Then every order must reach a final status, and against the exchange's own records: no fill lost
 * (each exchange trade is a fill on the platform and no fill lacks its trade), no client order id
 * taken twice, each order's filled quantity equal to the exchange's. The edge's retry, breaker and
 * gap-fill figures come from its own `/metrics` (of the last process when the supervisor had to
 * start one: an edge that exits, e.g. its lease ran out on a loaded machine, is replaced).
 */
import type { OrderInstruction } from '../../shared/domain/types.ts';
import type { MainProcess } from '../integration/support/main-process.ts';
import { alive, LEASE_ACQUIRED, sleep, startEdgeCluster, waitLog } from './edge-cluster.ts';
import { check, fmtInt, metricByLabel, pool, result, type ScenarioResult } from './harness.ts';

export interface VenueFaultsOptions {
  orders: number;
  seed: number;
  /** How long the venue stays offline (30 s in the full run). */
  offlineMs: number;
  progress?: ((line: string) => void) | undefined;
}

export const FAULT_PHASES = [
  'clean',
  'websocket drops',
  '5xx',
  '429',
  'executed, unanswered',
  'duplicate events',
  'reordered events',
  'offline',
] as const;
type Phase = (typeof FAULT_PHASES)[number];

const SUBMIT = { path: '/api/v3/order', method: 'POST' } as const;

/** Order i: mostly MARKET orders, every 10th a 2-slice TWAP, every 10th (+5) a 3-child ICEBERG. */
function instruction(i: number): Partial<OrderInstruction> {
  const side = i % 2 === 0 ? 'BUY' : 'SELL';
  if (i % 10 === 3)
    return {
      side,
      quantity: '0.02',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 2, max_slices: 2 },
    };
  if (i % 10 === 8)
    return {
      side,
      quantity: '0.03',
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.01' },
    };
  return { side, quantity: '0.01' };
}

export async function runVenueFaultsScenario(o: VenueFaultsOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const cluster = await startEdgeCluster({ projectId: 'demo-chaos-venue', leaseTtlMs: 15_000, seed: o.seed });
  const ex = cluster.ex;
  const ops: string[] = [];
  let edge: MainProcess | null = null;
  try {
    edge = await cluster.startEdge();
    if (!(await waitLog(edge, LEASE_ACQUIRED, 60_000))) throw new Error('the edge did not take the lease');
    const supervisor = cluster.supervise(edge);
    const perPhase = Math.ceil(o.orders / FAULT_PHASES.length);
    let next = 0;
    const submitBatch = (n: number) =>
      pool(8, n, async () => {
        const i = next++;
        if (i >= o.orders) return;
        const op = `VF-${o.seed}-${i}`;
        ops.push(op);
        await cluster.submit(op, instruction(i));
      });
    const phaseOps: Array<[Phase, string[]]> = [];
    for (const phase of FAULT_PHASES as readonly Phase[]) {
      const t0 = performance.now();
      const phaseStart = ops.length;
      const settlePhase = () => cluster.settle(ops.slice(phaseStart), 120_000);
      const half = Math.floor(perPhase / 2);
      switch (phase) {
        case 'clean':
          await submitBatch(perPhase);
          break;
        case 'websocket drops':
          ex.faults.dropWebSockets();
          await submitBatch(half);
          ex.faults.dropWebSockets();
          await submitBatch(perPhase - half);
          ex.faults.dropWebSockets();
          break;
        case '5xx':
          ex.faults.failNext(3, { ...SUBMIT, status: 503 });
          await submitBatch(half);
          ex.faults.failNext(2, { ...SUBMIT, status: 502 });
          ex.faults.failNext(2, { status: 500 });
          await submitBatch(perPhase - half);
          break;
        case '429':
          ex.faults.rateLimitNext(3, { ...SUBMIT, retryAfterSec: 1 });
          await submitBatch(half);
          ex.faults.rateLimitNext(3, { retryAfterSec: 1 });
          await submitBatch(perPhase - half);
          break;
        case 'executed, unanswered':
          ex.faults.timeoutNext(2, { ...SUBMIT, execute: true });
          await submitBatch(half);
          ex.faults.timeoutNext(2, { ...SUBMIT, execute: true });
          await submitBatch(perPhase - half);
          break;
        case 'duplicate events':
          ex.faults.duplicateEvents(true);
          await submitBatch(perPhase);
          await settlePhase();
          ex.faults.duplicateEvents(false);
          break;
        case 'reordered events':
          ex.faults.reorderEvents(true);
          await submitBatch(perPhase);
          await settlePhase();
          ex.faults.reorderEvents(false);
          break;
        case 'offline': {
          // Orders arrive before and while the venue is unreachable; it comes back after offlineMs.
          await submitBatch(half);
          ex.faults.offline();
          const back = sleep(o.offlineMs).then(() => ex.faults.online());
          await submitBatch(perPhase - half);
          await back;
          break;
        }
      }
      // Each phase's faults act on its own orders: wait for them to finish before the next phase.
      await settlePhase();
      phaseOps.push([phase, ops.slice(phaseStart)]);
      o.progress?.(
        `chaos: venue faults: ${phase}: ${Math.min(next, o.orders)}/${o.orders} submitted (${Math.round(performance.now() - t0)} ms)`,
      );
    }
    // Faults still armed (an unmatched 5xx or 429 no request took) must not hit the audit's reads.
    ex.faults.reset();
    const settled = await cluster.settle(ops, 300_000);
    const open = [...settled.entries()].filter(([, r]) => r === null || r.status === undefined).length;
    const a = await cluster.audit(ops);
    await supervisor.stop();
    edge = supervisor.current();
    const died = alive(edge)
      ? null
      : `the edge process exited (${edge.child.exitCode ?? edge.child.signalCode}): ${String(edge.lines.filter((l) => l.severity === 'ERROR' || l.severity === 'CRITICAL').at(-1)?.message ?? '')}`;
    const metrics = alive(edge) ? await (await fetch(`${edge.url}/metrics`)).text() : '';
    const diag = metricByLabel(metrics, 'edge_venue_diagnostics_total', 'diagnostic');
    const errors = metricByLabel(metrics, 'edge_venue_errors_total', 'kind');
    const gapFills = metricByLabel(metrics, 'edge_gap_fills_total', 'reason');
    const stats = ex.faults.stats;
    const fmtMap = (m: Record<string, number>) =>
      Object.keys(m).length === 0
        ? 'none'
        : Object.entries(m)
            .sort()
            .map(([k, v]) => `${k} ${fmtInt(v)}`)
            .join(', ');
    // Final statuses per phase (F filled, R rejected, E expired, C canceled).
    const statusPerPhase = phaseOps
      .map(([phase, list]) => {
        const n: Record<string, number> = {};
        for (const op of list) {
          const st = settled.get(op)?.status ?? 'OPEN';
          n[st] = (n[st] ?? 0) + 1;
        }
        return `${phase}: ${Object.entries(n)
          .sort()
          .map(([k, v]) => `${k[0]}${v}`)
          .join(' ')}`;
      })
      .join('; ');
    const notFinal = a.parents - a.final;
    const BREAKER = /CIRCUIT_OPEN|circuit breaker open/;
    const unexplained = Object.entries(a.neverAtVenueReasons)
      .filter(([why]) => !BREAKER.test(why))
      .reduce((n, [, k]) => n + k, 0);
    const r = result(
      'venue faults',
      `${fmtInt(ops.length)} orders (MARKET, TWAP, ICEBERG) through one edge process on the local exchange (real ccxt), in ${FAULT_PHASES.length} phases: ${FAULT_PHASES.join(', ')} (${o.offlineMs / 1000} s)`,
      [
        ['final', `${a.final}/${a.parents} (${fmtMap(a.byStatus)})`],
        ['venue orders', a.venueOrders],
        ['orders that never reached the venue (refused while the breaker was open)', a.neverAtVenue],
        ['not filled, why', fmtMap(a.notFilledReasons)],
        ['final status per phase (F filled, R rejected, E expired)', statusPerPhase],
        ['venue trades', a.venueTrades],
        ['lost fills', a.lostFills],
        ['fills without a venue trade', a.phantomFills],
        ['duplicate venue orders', a.duplicateVenueOrders],
        ['orders ≠ venue quantity', a.quantityMismatches],
        [
          'faults injected',
          `WebSockets dropped ${stats.droppedWebSockets}, 5xx ${stats.failed}, 429 ${stats.rateLimited}, executed unanswered ${stats.timedOutExecuted}, events duplicated ${stats.duplicatedEvents}, reordered ${stats.reorderedEvents}, connections refused offline ${stats.refusedOffline}`,
        ],
        ['edge diagnostics', fmtMap(diag)],
        ['edge venue errors', fmtMap(errors)],
        ['gap fills', fmtMap(gapFills)],
        [
          'edge processes exited and restarted by the supervisor',
          supervisor.exits.length === 0
            ? 0
            : `${supervisor.exits.length} (${supervisor.exits.slice(0, 2).join('; ')})`,
        ],
      ],
      [
        check(notFinal === 0 && open === 0, `${notFinal} orders not in a final status`),
        // Every order is valid: one that never reached the venue must have been refused by the
        // circuit breaker (the venue failing), with that reason — never dropped or left silent.
        check(
          unexplained === 0,
          `${unexplained} orders never reached the venue without the breaker's reason (${fmtMap(a.neverAtVenueReasons)})`,
        ),
        check(a.lostFills === 0 && a.phantomFills === 0, a.mismatchDetail.slice(0, 5).join('; ')),
        check(a.duplicateVenueOrders === 0, `${a.duplicateVenueOrders} duplicate venue orders`),
        check(a.quantityMismatches === 0, a.mismatchDetail.slice(0, 5).join('; ')),
        check(died === null, died ?? ''),
      ],
      started,
    );
    return cluster.verdict('venue-faults', r);
  } finally {
    ex.faults.reset();
    await cluster.close();
  }
}

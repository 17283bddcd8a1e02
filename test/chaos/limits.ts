/**
 * Limits under concurrency, across OS processes (test/chaos/workers/risk-worker.ts) sharing one
 * Firestore emulator started here (test/support):
 *
 * - position: orders of 0.1 BTC at a 1 BTC position limit, spread over the workers and fired at
 *   the same instant → the approved total never exceeds the limit (breaches 0), and as many are
 *   approved as fit;
 * - velocity: a burst at `max_orders_per_second` → no 1-second window holds more approvals than
 *   the limit (breaches 0).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { toDec } from '../../shared/domain/decimal.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { firestorePipeline } from '../support/firestore-pipeline.ts';
import { BTC, putBook, putVenue, SIM_BTC, testConfig } from '../unit/app/harness.ts';
import { check, result, type ScenarioResult } from './harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = 'test/chaos/workers/risk-worker.ts';

export interface LimitsOptions {
  processes: number;
  positionOrders: number;
  velocityOrders: number;
  velocityLimit: number;
}

export type Outcome = { op: string; kind: string; error?: string };

function runWorker(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<Outcome[]>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: ROOT,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    if (out.includes('"ready":true')) markReady();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const done = new Promise<Outcome[]>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"outcomes"'));
      if (code !== 0 || line === undefined) reject(new Error(`worker exited ${code}: ${err.slice(-2000)}`));
      else resolve((JSON.parse(line) as { outcomes: Outcome[] }).outcomes);
    });
  });
  return { child, ready, done };
}

export async function fire(
  emulatorHost: string,
  projectId: string,
  prefix: string,
  processes: number,
  ops: string[],
  risk: Record<string, unknown>,
  stream?: { ms: number; onGo: () => Promise<void> },
): Promise<Outcome[]> {
  const shares = Array.from({ length: processes }, (_, w) => ops.filter((_, i) => i % processes === w));
  const workers = shares.map((share, w) =>
    runWorker({
      FIRESTORE_EMULATOR_HOST: emulatorHost,
      CHAOS_PREFIX: prefix,
      CHAOS_OPS: share.join(','),
      CHAOS_PROJECT: projectId,
      CHAOS_RISK: JSON.stringify(risk),
      ...(stream ? { CHAOS_STREAM_MS: String(stream.ms), CHAOS_STREAM_PREFIX: `W${w}` } : {}),
    }),
  );
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.stdin?.write('go\n');
    await stream?.onGo();
    return (await Promise.all(workers.map((w) => w.done))).flat();
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  }
}

function tally(outcomes: readonly Outcome[]): string {
  const n = new Map<string, number>();
  for (const x of outcomes) n.set(x.kind, (n.get(x.kind) ?? 0) + 1);
  return [...n.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
}

export async function runLimitsScenario(o: LimitsOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const emulator = await startFirestoreEmulator();
  try {
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    const firestore = emulator.client();
    const setUp = async (risk: Record<string, unknown>) => {
      const prefix = `chaos-${randomUUID().slice(0, 8)}-`;
      const p = await firestorePipeline(firestore, prefix, { config: testConfig({ risk }) });
      const clock = { now: () => BigInt(Date.now()) * 1_000_000n } as Parameters<typeof putBook>[1];
      await putBook(p.market, clock, 'BINANCE-SPOT', BTC, '60000', '500');
      await putBook(p.market, clock, 'SIM', SIM_BTC, '60000', '500');
      await putVenue(p.market, clock, 'BINANCE-SPOT');
      await putVenue(p.market, clock, 'SIM');
      return { prefix, p };
    };

    // Position limit: 1 BTC, 0.1 BTC each.
    const posRisk = { per_instrument: { [BTC]: { max_position: '1' } } };
    const pos = await setUp(posRisk);
    const posOps = Array.from({ length: o.positionOrders }, (_, i) => `POS-${i}`);
    const posOut = await fire(emulator.host, emulator.projectId, pos.prefix, o.processes, posOps, posRisk);
    const approved = await pos.p.service.list({ status: 'PENDING', limit: 1000 });
    const approvedQty = approved.reduce((s, x) => s.plus(toDec(x.quantity)), toDec(0));
    const posBreaches = approvedQty.gt(1) ? 1 : 0;
    const fits = Math.min(10, o.positionOrders);

    // Velocity: a burst at max_orders_per_second (position limit out of the way).
    const velRisk = {
      max_orders_per_second: o.velocityLimit,
      per_instrument: { [BTC]: { max_position: '100000' } },
    };
    const vel = await setUp(velRisk);
    const velOps = Array.from({ length: o.velocityOrders }, (_, i) => `VEL-${i}`);
    const velOut = await fire(emulator.host, emulator.projectId, vel.prefix, o.processes, velOps, velRisk);
    const times: bigint[] = [];
    for (const x of velOut.filter((v) => v.kind === 'routed')) {
      const timeline: OrderEvent[] = await vel.p.orders.timeline(x.op);
      const ev = timeline.find((e) => e.type === 'OrderRiskApproved');
      if (ev !== undefined) times.push(ev.ts_event);
    }
    times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let velBreaches = 0;
    let busiest = 0;
    for (let i = 0; i < times.length; i++) {
      let j = i;
      while (j + 1 < times.length && (times[j + 1] as bigint) - (times[i] as bigint) < 1_000_000_000n) j++;
      busiest = Math.max(busiest, j - i + 1);
      if (j - i + 1 > o.velocityLimit) velBreaches += 1;
    }
    const errors = [...posOut, ...velOut].filter((x) => x.kind === 'error');
    return result(
      'limits under concurrency',
      `${o.positionOrders} × 0.1 BTC at a 1 BTC position limit, and a burst of ${o.velocityOrders} at ${o.velocityLimit}/s, from ${o.processes} processes on the Firestore emulator`,
      [
        ['position breaches', posBreaches],
        ['approved', `${approved.length} (${approvedQty.toFixed()} BTC; ${fits} fit)`],
        ['velocity breaches', velBreaches],
        ['busiest second', `${busiest} approvals (limit ${o.velocityLimit})`],
        ['errors', errors.length],
        ['outcomes', tally([...posOut, ...velOut])],
      ],
      [
        check(posBreaches === 0, `approved ${approvedQty.toFixed()} BTC over a 1 BTC limit`),
        check(approved.length === fits, `approved ${approved.length}, ${fits} fit`),
        check(velBreaches === 0, `${velBreaches} windows over the velocity limit`),
        check(errors.length === 0, `errors: ${errors.map((e) => e.error).join('; ')}`),
        check(posOut.length === o.positionOrders && velOut.length === o.velocityOrders, 'answers missing'),
      ],
      started,
    );
  } finally {
    await emulator.stop();
  }
}

/**
 * One OS process of the limits scenario (test/chaos/limits.ts): the order pipeline on the Firestore
 * emulator (test/support/firestore-pipeline.ts), which waits for the parent's signal, submits its
 * share of orders all at once, and prints one JSON line: `{"outcomes":[{"op","kind"}...]}`.
 *
 * Input (environment): FIRESTORE_EMULATOR_HOST, CHAOS_PREFIX, CHAOS_OPS (comma-separated
 * operation ids), CHAOS_PROJECT, CHAOS_RISK (JSON of risk overrides); "go" on stdin starts the burst.
 * With CHAOS_STREAM_MS it streams orders (`<CHAOS_STREAM_PREFIX>-<n>`) for that long instead.
 */
import { createFirestore } from '../../../infra/firestore/order-store.firestore.ts';
import { firestorePipeline } from '../../support/firestore-pipeline.ts';
import { marketOrder, testConfig } from '../../unit/app/harness.ts';

const env = process.env;
const firestore = createFirestore({ projectId: env.CHAOS_PROJECT ?? 'demo-chaos' });
const config = testConfig({ risk: JSON.parse(env.CHAOS_RISK ?? '{}') as Record<string, unknown> });
const p = await firestorePipeline(firestore, env.CHAOS_PREFIX ?? 'chaos-', { config });
const ops = (env.CHAOS_OPS ?? '').split(',').filter((s) => s !== '');
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
// Every worker is loaded and warm: wait for the parent's "go" (one line on stdin), then fire at once.
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const submit = async (op: string) => {
  try {
    const o = await p.service.submit(marketOrder(op), { via: 'pubsub', message_id: op });
    return { op, kind: o.kind };
  } catch (err) {
    return { op, kind: 'error', error: err instanceof Error ? err.message : String(err) };
  }
};
const streamMs = Number(env.CHAOS_STREAM_MS ?? '0');
let outcomes: Array<Awaited<ReturnType<typeof submit>>>;
if (streamMs > 0) {
  // Stream: orders one after another (two in flight) until the time is up.
  outcomes = [];
  const until = Date.now() + streamMs;
  let n = 0;
  const lane = async () => {
    while (Date.now() < until) outcomes.push(await submit(`${env.CHAOS_STREAM_PREFIX ?? 'S'}-${n++}`));
  };
  await Promise.all([lane(), lane()]);
} else {
  outcomes = await Promise.all(ops.map(submit));
}
process.stdout.write(`${JSON.stringify({ outcomes })}\n`);
await firestore.terminate();
process.exit(0);

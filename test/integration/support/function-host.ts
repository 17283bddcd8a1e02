/**
 * One function instance in its own process, as Cloud Functions runs it — for the bench, which
 * measures the instance's memory and Firestore traffic under load. Start it with IPC:
 *
 *   fork('test/integration/support/function-host.ts', [], { execArgv: ['--import', 'tsx'], env })
 *
 * with `FUNCTION_TARGET` (default `order-intake`) and the function's environment (EXEC_CONFIG,
 * emulator hosts). It counts Firestore calls (./firestore-ops.ts), imports
 * `functions/<target>/index.ts` only (the cold start, as the deployed entry module does), serves the
 * target with functions-framework on a free port and answers:
 *
 *   → {type:'ready', port, coldStartMs}          once serving
 *   {type:'stats'}  → {type:'stats', firestore, memory}  (forces a GC first if run with --expose-gc)
 *   {type:'reset'}  → {type:'reset'}              zero the Firestore counters
 *   {type:'stop'}   → closes everything and exits 0
 */
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { installFirestoreOpCounter } from './firestore-ops.ts';

export interface HostMemory {
  /** Peak resident set size of the process so far (bytes). */
  maxRssBytes: number;
  /** Highest V8 heapUsed seen by the 20 ms sampler (bytes). */
  peakHeapUsedBytes: number;
  rssBytes: number;
  /** heapUsed now — after a full GC when the process runs with --expose-gc (the live heap). */
  heapUsedBytes: number;
  /** Whether `heapUsedBytes` was measured after a forced GC. */
  afterGc: boolean;
}

export type HostMessage =
  | { type: 'ready'; port: number; coldStartMs: number }
  | {
      type: 'stats';
      firestore: ReturnType<ReturnType<typeof installFirestoreOpCounter>['counts']>;
      memory: HostMemory;
    }
  | { type: 'reset' }
  | { type: 'error'; message: string };

export type HostCommand = { type: 'stats' } | { type: 'reset' } | { type: 'stop' };

function send(message: HostMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const counter = installFirestoreOpCounter();
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  sampler.unref();

  const t0 = performance.now();
  // Like the deployed entry module: only the target's folder is loaded.
  const target = process.env.FUNCTION_TARGET ?? 'order-intake';
  if (!/^[a-z][a-z0-9-]*$/.test(target)) throw new Error(`bad FUNCTION_TARGET ${target}`);
  await import(`../../../functions/${target}/index.ts`);
  const { shutdownFunctions } = await import('../../../functions/shared/runtime.ts');
  const server = getTestServer(target);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  send({ type: 'ready', port, coldStartMs: Math.round(performance.now() - t0) });

  process.on('message', (raw: HostCommand) => {
    if (raw.type === 'stats') {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      const gc: unknown = Reflect.get(globalThis, 'gc');
      if (typeof gc === 'function') Reflect.apply(gc, undefined, []);
      const m = process.memoryUsage();
      send({
        type: 'stats',
        firestore: counter.counts(),
        memory: {
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
          peakHeapUsedBytes: peakHeap,
          rssBytes: m.rss,
          heapUsedBytes: m.heapUsed,
          afterGc: typeof gc === 'function',
        },
      });
    } else if (raw.type === 'reset') {
      counter.reset();
      send({ type: 'reset' });
    } else if (raw.type === 'stop') {
      server.close();
      server.closeAllConnections();
      void shutdownFunctions().finally(() => process.exit(0));
    }
  });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});

/**
 * The order pipeline behind the `order-intake` function (a plain tsx script, not a vitest file):
 *
 *   npx tsx test/bench/pipeline.bench.ts [inProcessOrders=20000] [emulatorOrders=300]
 *
 * (`emulatorOrders` 0 runs only the in-process part (a).)
 *
 * (a) in-process, one core: the intake handler (CloudEvent decode → OrderService: validation,
 *     idempotent create, risk with the ledger, routing, publish) over embedded adapters — memory
 *     bus, in-memory order / position / ledger / trading-state / market stores; orders/s and
 *     p50/p99 per order. Reservations are released 256 orders later, as the venue edge would on a
 *     terminal status (not timed), so the ledger holds a steady ~256 open orders.
 * (b) end to end on the emulators: publish to `orders.requests` → push → the function (its own
 *     process, functions-framework, Firestore + Pub/Sub adapters) → `orders.routed` received by a
 *     pull subscriber; sequential (one at a time), paced (25/s) and a burst (all at once):
 *     orders/s and p50/p99 publish → routed.
 * (c) Firestore reads and writes per order (counted inside the function process by wrapping the
 *     client's getAll / query / WriteBatch calls): documents read, documents written, commits, and
 *     failed (lost-race) writes under the burst. Target for a market order's life, fills aside:
 *     ≤ 4 writes.
 * (d) peak RSS and V8 heap of the function process under the burst (target ≤ 256 MiB).
 *
 * If an emulator cannot start, (b)–(d) print SKIPPED with the reason.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createOrderIntakeHandler } from '../../functions/order-intake/handler.ts';
import { silentLogger } from '../../functions/shared/log.ts';
import { nodeOrderId } from '../../infra/compose.ts';
import { defaultInstrumentCatalog } from '../../infra/instruments/catalog.ts';
import { LocalMarketStateStore } from '../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../infra/local/position-store.local.ts';
import { LocalRiskLedgerStore } from '../../infra/local/risk-ledger.local.ts';
import { LocalTradingStateStore } from '../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../infra/memory/event-bus.memory.ts';
import { createOrderService, pipelineSettingsFromConfig } from '../../shared/app/order-pipeline.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../shared/config/schema.ts';
import { TestClock } from '../../shared/ports/clock.ts';
import type { FirestoreOpCounts } from '../integration/support/firestore-ops.ts';
import type { HostCommand, HostMemory, HostMessage } from '../integration/support/function-host.ts';
import {
  ensureTopics,
  FUNCTION_TOPICS,
  prepareFunctionsEnv,
  subscribeFunction,
} from '../integration/support/functions-env.ts';
import { emulatorClient, Tap } from '../integration/support/pubsub-tap.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { startPubSubEmulator } from '../support/pubsub-emulator.ts';

const KEYS = ['BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT'];
const REF = ['60000', '3000'];
const QTY = ['0.001', '0.02'];

export interface LatencyFigures {
  orders: number;
  orders_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface InProcessResult extends LatencyFigures {
  scenario: string;
  outcomes: Record<string, number>;
}

export interface FirestorePerOrder {
  reads: number;
  writes: number;
  commits: number;
  failed_writes: number;
  round_trips: number;
}

export type EmulatorResult =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      cold_start_ms: number;
      sequential: LatencyFigures;
      paced: LatencyFigures & { rate_per_sec: number };
      burst: LatencyFigures;
      firestore_sequential: FirestorePerOrder;
      firestore_burst: FirestorePerOrder;
      /** After cold start, before any message. */
      memory_idle: HostMemory;
      /** After the burst, default V8 heap sizing. */
      memory: HostMemory;
      /** A fresh instance with `--max-old-space-size=128`, after the same burst. */
      memory_capped: HostMemory & { burst: LatencyFigures; heap_cap_mib: number };
      /** The capped instance after a second burst of the same size: live heap growth = retained per order. */
      memory_capped_second: HostMemory;
    };

export interface PipelineBenchResult {
  in_process: InProcessResult[];
  emulators: EmulatorResult;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function figures(latenciesMs: number[], wallMs: number): LatencyFigures {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    orders: latenciesMs.length,
    orders_per_sec: Math.round(latenciesMs.length / (wallMs / 1000)),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) ?? Number.NaN),
  };
}

/** Orders working at once in (a): the venue edge closes each one this many orders later. */
const OPEN_ORDERS = 256;

const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

function instruction(operationId: string, i: number) {
  const k = i % KEYS.length;
  return {
    operation_id: operationId,
    instrument_key: KEYS[k],
    side: 'BUY',
    quantity: QTY[k],
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: `bench-${i % 4}`,
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    reference_price: REF[k],
  };
}

function pushEvent(data: string, messageId: string) {
  return {
    specversion: '1.0',
    id: messageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/bench/topics/orders.requests',
    data: { message: { data: Buffer.from(data).toString('base64'), messageId, attributes: {} } },
  };
}

// ---------------------------------------------------------------------------------------------
// (a) in-process
// ---------------------------------------------------------------------------------------------

export interface InProcessScenario {
  name: string;
  max_orders_per_second: number;
  max_orders_per_minute: number;
  /** Simulated time between orders (the ledger's velocity windows fill accordingly). */
  step_ms: number;
}

/**
 * A busy desk: ~16 orders/s sustained against limits of 50/s and 1,000/min, so the minute window
 * holds ~1,000 approvals — the ledger's steady state at that rate.
 */
export const DESK_SCENARIO: InProcessScenario = {
  name: 'desk: 1,000/min window',
  max_orders_per_second: 50,
  max_orders_per_minute: 1_000,
  step_ms: 60,
};

/** A high-rate strategy: 200 orders/s against 1,000/s and 15,000/min (~12,000 in the window). */
export const HIGH_RATE_SCENARIO: InProcessScenario = {
  name: 'high rate: 15,000/min window',
  max_orders_per_second: 1_000,
  max_orders_per_minute: 15_000,
  step_ms: 5,
};

export async function benchInProcess(
  n = 20_000,
  scenario: InProcessScenario = DESK_SCENARIO,
): Promise<InProcessResult> {
  const config = parseConfig(
    {
      ...EMBEDDED_CONFIG,
      venues: EMBEDDED_CONFIG.venues.map((v) => ({
        ...v,
        shadow: { ...v.shadow, starting_cash: '1000000000' },
      })),
      risk: {
        ...EMBEDDED_CONFIG.risk,
        max_orders_per_second: scenario.max_orders_per_second,
        max_orders_per_minute: scenario.max_orders_per_minute,
        max_total_notional: '1000000000000',
      },
      storage: { order_store: 'local', bus: 'memory', blob: 'local', data_dir: '/nonexistent-unused' },
    },
    { env: {} },
  );
  const clock = new TestClock(BigInt(Date.UTC(2025, 6, 1)) * 1_000_000n);
  const stepNs = BigInt(Math.round(scenario.step_ms * 1e6));
  const orders = await LocalOrderStore.open({ dataDir: null });
  const positions = await LocalPositionStore.open({ dataDir: null });
  const ledger = await LocalRiskLedgerStore.open({ dataDir: null });
  const bus = new MemoryEventBus();
  const service = createOrderService({
    orders,
    positions,
    bus,
    ledger,
    market: new LocalMarketStateStore(),
    tradingState: LocalTradingStateStore.memory(),
    instruments: await defaultInstrumentCatalog(),
    clock,
    orderId: nodeOrderId, // as infra/compose.ts composes it
    ...pipelineSettingsFromConfig(config),
  });
  const handler = createOrderIntakeHandler({ service, bus, log: silentLogger });

  const run = async (count: number, prefix: string) => {
    const events = Array.from({ length: count }, (_, i) =>
      pushEvent(JSON.stringify(instruction(`${prefix}-${i}`, i)), `${prefix}-m${i}`),
    );
    const latencies: number[] = [];
    const outcomes: Record<string, number> = {};
    let busy = 0;
    for (let i = 0; i < count; i++) {
      clock.advance(stepNs);
      const t0 = process.hrtime.bigint();
      const out = await handler(events[i]);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      busy += dt;
      latencies.push(dt);
      outcomes[out.outcome] = (outcomes[out.outcome] ?? 0) + 1;
      // The venue edge closes orders as they finish: keep OPEN_ORDERS reservations open (not timed).
      if (i >= OPEN_ORDERS) await ledger.releaseReservation(`${prefix}-${i - OPEN_ORDERS}`, '0');
    }
    for (let i = Math.max(0, count - OPEN_ORDERS); i < count; i++)
      await ledger.releaseReservation(`${prefix}-${i}`, '0');
    return { ...figures(latencies, busy), outcomes, scenario: scenario.name };
  };
  await run(Math.min(2_000, n), 'warm');
  const result = await run(n, 'bench');
  await Promise.all([bus.close(), orders.close(), positions.close(), ledger.close()]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// (b)-(d) on the emulators
// ---------------------------------------------------------------------------------------------

class Host {
  private readonly waiting: Array<(m: HostMessage) => void> = [];
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: HostMessage) => this.waiting.shift()?.(m));
  }

  static async start(
    env: Record<string, string>,
    nodeArgs: readonly string[] = [],
  ): Promise<{ host: Host; port: number; coldStartMs: number }> {
    const child = fork(
      fileURLToPath(new URL('../integration/support/function-host.ts', import.meta.url)),
      [],
      {
        // tsx as in the deployed archive (terraform/scripts/package-functions.mjs registers it).
        // --expose-gc lets the host report the live heap after a full GC (it does not change sizing).
        execArgv: ['--import', 'tsx', '--expose-gc', ...nodeArgs],
        env: { ...process.env, ...env, FUNCTION_TARGET: 'order-intake' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      },
    );
    const host = new Host(child);
    const first = await host.next(60_000);
    if (first.type !== 'ready')
      throw new Error(`function host failed: ${first.type === 'error' ? first.message : first.type}`);
    return { host, port: first.port, coldStartMs: first.coldStartMs };
  }

  private next(timeoutMs: number): Promise<HostMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('function host did not answer')), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`function host exited (code ${code})`));
      this.child.once('exit', onExit);
      this.waiting.push((m) => {
        clearTimeout(timer);
        this.child.removeListener('exit', onExit);
        resolve(m);
      });
    });
  }

  async ask(command: HostCommand): Promise<HostMessage> {
    const reply = this.next(10_000);
    this.child.send(command);
    return reply;
  }

  async stats(): Promise<{ firestore: FirestoreOpCounts; memory: HostMemory }> {
    const m = await this.ask({ type: 'stats' });
    if (m.type !== 'stats') throw new Error(`unexpected host reply ${m.type}`);
    return m;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies HostCommand);
    await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

function perOrder(c: FirestoreOpCounts, orders: number): FirestorePerOrder {
  return {
    reads: round(c.reads / orders, 2),
    writes: round(c.writes / orders, 2),
    commits: round(c.commits / orders, 2),
    failed_writes: round(c.failedWrites / orders, 2),
    round_trips: round((c.getAllCalls + c.queries + c.commits + c.failedCommits) / orders, 2),
  };
}

export async function benchEmulators(n = 300): Promise<EmulatorResult> {
  let pubsubEmu: Awaited<ReturnType<typeof startPubSubEmulator>> | null = null;
  let firestoreEmu: Awaited<ReturnType<typeof startFirestoreEmulator>> | null = null;
  try {
    [pubsubEmu, firestoreEmu] = await Promise.all([startPubSubEmulator(), startFirestoreEmulator()]);
  } catch (err) {
    await Promise.allSettled([pubsubEmu?.stop(), firestoreEmu?.stop()]);
    return { skipped: true, reason: err instanceof Error ? err.message : String(err) };
  }
  const { projectId } = pubsubEmu;
  const fenv = prepareFunctionsEnv({
    projectId,
    pubsubHost: pubsubEmu.host,
    firestoreHost: firestoreEmu.host,
    logLevel: 'error',
  });
  const pubsub = emulatorClient(pubsubEmu.host, projectId);
  let host: Host | null = null;
  let tap: Tap | null = null;
  try {
    await ensureTopics(pubsub, FUNCTION_TOPICS);
    tap = await Tap.open(pubsub, 'orders.routed', 'bench.orders.routed');
    const started = await Host.start(fenv.env);
    host = started.host;
    const subscription = await subscribeFunction(
      pubsub,
      'order-intake',
      'orders.requests',
      `http://127.0.0.1:${started.port}`,
    );
    const memoryIdle = (await host.stats()).memory;
    const topic = pubsub.topic('orders.requests');
    const routedTap = tap;
    const nowMs = () => performance.timeOrigin + performance.now();

    /** Publish `count` orders, `gapMs` apart (0 = all at once); latency publish → routed. */
    const phase = async (prefix: string, count: number, gapMs: number | 'sequential') => {
      const sent = new Map<string, number>();
      const firstMs = nowMs();
      const publishes: Array<Promise<string>> = [];
      for (let i = 0; i < count; i++) {
        const op = `${prefix}-${i}`;
        sent.set(op, nowMs());
        const p = topic.publishMessage({
          data: Buffer.from(JSON.stringify(instruction(op, i))),
          attributes: { operation_id: op },
        });
        if (gapMs === 'sequential') {
          await p;
          await routedTap.waitFor((m) => m.attributes.operation_id === op, 30_000);
        } else {
          publishes.push(p);
          if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        }
      }
      await Promise.all(publishes);
      const mine = (m: { attributes: Record<string, string> }) => sent.has(m.attributes.operation_id ?? '');
      const received = await routedTap.waitForCount(mine, count, 120_000 + count * 200);
      const firstSeen = new Map<string, number>();
      for (const m of received) {
        const op = m.attributes.operation_id ?? '';
        if (!firstSeen.has(op)) firstSeen.set(op, m.receivedAtMs);
      }
      const latencies = [...firstSeen].map(([op, at]) => at - (sent.get(op) ?? at));
      const lastMs = Math.max(...firstSeen.values());
      return figures(latencies, lastMs - firstMs);
    };

    const seqCount = Math.min(20, n);
    await host.ask({ type: 'reset' });
    const sequential = await phase('seq', seqCount, 'sequential');
    const seqOps = (await host.stats()).firestore;

    const rate = 25;
    const paced = { ...(await phase('paced', Math.min(100, n), 1000 / rate)), rate_per_sec: rate };

    await host.ask({ type: 'reset' });
    const burst = await phase('burst', n, 0);
    const burstStats = await host.stats();
    await host.stop();

    // The same burst on a fresh instance whose V8 heap is capped (NODE_OPTIONS in the deployment).
    const heapCapMib = 128;
    const capped = await Host.start(fenv.env, [`--max-old-space-size=${heapCapMib}`]);
    host = capped.host;
    const projectPath = `projects/${projectId}/topics/orders.requests`;
    await pubsub
      .subscription(subscription)
      .modifyPushConfig({ pushEndpoint: `http://127.0.0.1:${capped.port}/${projectPath}` });
    const cappedBurst = await phase('capped', n, 0);
    const cappedStats = await host.stats();
    await phase('capped2', n, 0);
    const cappedSecond = await host.stats();

    return {
      skipped: false,
      cold_start_ms: started.coldStartMs,
      sequential,
      paced,
      burst,
      firestore_sequential: perOrder(seqOps, seqCount),
      firestore_burst: perOrder(burstStats.firestore, n),
      memory_idle: memoryIdle,
      memory: burstStats.memory,
      memory_capped: { ...cappedStats.memory, burst: cappedBurst, heap_cap_mib: heapCapMib },
      memory_capped_second: cappedSecond.memory,
    };
  } finally {
    await host?.stop();
    await tap?.close();
    await pubsub.close();
    await Promise.allSettled([pubsubEmu.stop(), firestoreEmu.stop()]);
  }
}

// ---------------------------------------------------------------------------------------------

function printResult(r: PipelineBenchResult): void {
  console.log(
    '\n(a) in-process, one core: intake handler → OrderService on embedded adapters (memory bus, in-memory stores)',
  );
  console.table(
    r.in_process.map((a) => ({
      scenario: a.scenario,
      orders: a.orders,
      'orders/s': a.orders_per_sec,
      'p50 ms': a.p50_ms,
      'p99 ms': a.p99_ms,
      'max ms': a.max_ms,
      outcomes: JSON.stringify(a.outcomes),
    })),
  );
  const e = r.emulators;
  if (e.skipped) {
    console.log(`\n(b) end to end on the emulators: SKIPPED (${e.reason})`);
    console.log(`(c) Firestore reads/writes per order: SKIPPED (${e.reason})`);
    console.log(`(d) function memory under load: SKIPPED (${e.reason})`);
    return;
  }
  console.log(
    `\n(b) end to end on the emulators: publish → push → order-intake (own process) → orders.routed (cold start ${e.cold_start_ms} ms)`,
  );
  console.table([
    {
      load: `sequential (one in flight)`,
      orders: e.sequential.orders,
      'orders/s': e.sequential.orders_per_sec,
      'p50 ms': e.sequential.p50_ms,
      'p99 ms': e.sequential.p99_ms,
      'max ms': e.sequential.max_ms,
    },
    {
      load: `paced ${e.paced.rate_per_sec}/s`,
      orders: e.paced.orders,
      'orders/s': e.paced.orders_per_sec,
      'p50 ms': e.paced.p50_ms,
      'p99 ms': e.paced.p99_ms,
      'max ms': e.paced.max_ms,
    },
    {
      load: 'burst (all published at once)',
      orders: e.burst.orders,
      'orders/s': e.burst.orders_per_sec,
      'p50 ms': e.burst.p50_ms,
      'p99 ms': e.burst.p99_ms,
      'max ms': e.burst.max_ms,
    },
  ]);
  console.log(
    '\n(c) Firestore per routed order (intake; the venue edge writes the rest of the life). Target ≤ 4 writes',
  );
  console.table([
    {
      load: 'sequential',
      'docs read': e.firestore_sequential.reads,
      'docs written': e.firestore_sequential.writes,
      commits: e.firestore_sequential.commits,
      'failed writes': e.firestore_sequential.failed_writes,
      'round trips': e.firestore_sequential.round_trips,
    },
    {
      load: 'burst',
      'docs read': e.firestore_burst.reads,
      'docs written': e.firestore_burst.writes,
      commits: e.firestore_burst.commits,
      'failed writes': e.firestore_burst.failed_writes,
      'round trips': e.firestore_burst.round_trips,
    },
  ]);
  console.log('\n(d) order-intake process memory (tsx runtime, as deployed). Target ≤ 256 MiB');
  const mem = (label: string, m: HostMemory) => ({
    instance: label,
    'peak RSS MiB': mib(m.maxRssBytes),
    'peak heap MiB': mib(m.peakHeapUsedBytes),
    'RSS now MiB': mib(m.rssBytes),
    'live heap MiB (after GC)': mib(m.heapUsedBytes),
    'within 256 MiB': m.maxRssBytes <= 256 * 1024 * 1024,
  });
  console.table([
    mem('after cold start (idle)', e.memory_idle),
    mem(`after ${e.burst.orders}-order burst, default heap`, e.memory),
    mem(
      `after ${e.memory_capped.burst.orders}-order burst, --max-old-space-size=${e.memory_capped.heap_cap_mib}`,
      e.memory_capped,
    ),
    mem(`after a 2nd burst, --max-old-space-size=${e.memory_capped.heap_cap_mib}`, e.memory_capped_second),
  ]);
  const retained =
    (e.memory_capped_second.heapUsedBytes - e.memory_capped.heapUsedBytes) / e.memory_capped.burst.orders;
  console.log(`    live heap retained per order (2nd burst − 1st): ${round(retained / 1024, 1)} KiB`);
  console.log(
    `    capped instance burst: ${e.memory_capped.burst.orders_per_sec} orders/s, p50 ${e.memory_capped.burst.p50_ms} ms, p99 ${e.memory_capped.burst.p99_ms} ms`,
  );
}

/** Run every part and print the tables; returns the figures. */
export async function runPipelineBench(
  inProcessOrders = 20_000,
  emulatorOrders = 300,
): Promise<PipelineBenchResult> {
  const result: PipelineBenchResult = {
    in_process: [
      await benchInProcess(inProcessOrders, DESK_SCENARIO),
      await benchInProcess(Math.max(1, Math.round(inProcessOrders / 4)), HIGH_RATE_SCENARIO),
    ],
    emulators:
      emulatorOrders > 0
        ? await benchEmulators(emulatorOrders)
        : { skipped: true, reason: 'emulator orders = 0 on the command line' },
  };
  printResult(result);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const a = process.argv[2] === undefined ? 20_000 : Number(process.argv[2]);
  const b = process.argv[3] === undefined ? 300 : Number(process.argv[3]);
  runPipelineBench(a, b).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * The backtest fan-out as deployed, on this machine: the Pub/Sub emulator, the Cloud Storage
 * emulator holding the ticks and the results, and the three functions each served by
 * functions-framework in its own process (test/integration/support/function-host.ts: the entry
 * module `functions/<name>/index.ts` imported cold, the CloudEvent signature served over HTTP).
 *
 * - `backtest-planner` and `backtest-merge` get the emulator's own push subscriptions
 *   (`<function>.<topic>` with their dead-letter topics, as Terraform declares them);
 * - `backtest-window` runs as N instances with concurrency 1 behind one subscription. The emulator
 *   pushes one message at a time per subscription (docs/functions.md), which would serialise the
 *   instances, so a dispatcher stands in for Cloud Run's front end: it pulls the subscription
 *   with at most N messages outstanding and POSTs each, in the push envelope, to a free instance;
 *   2xx acks, anything else nacks (redelivery). The function sees exactly what a push delivers.
 *
 * Used by test/integration/backtest/functions-framework.test.ts (small, results equal to the local
 * runner's) and test/bench/fanout.bench.ts (`--framework`: cold start, per-window cost, speed-up).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { functionDeadLetterTopic, functionSubscription } from '../../../functions/shared/dead-letter.ts';
import { GcsBlobStore } from '../../../infra/gcs/blob-store.gcs.ts';
import { EMBEDDED_CONFIG } from '../../../shared/config/schema.ts';
import type { GcsEmulator } from '../../support/gcs-emulator.ts';
import type { PubSubEmulator } from '../../support/pubsub-emulator.ts';
import type { HostMessage } from '../support/function-host.ts';

export { uploadFolder } from './helpers.ts';

import { createPushSubscription, emulatorClient, ensureTopics } from '../support/pubsub-tap.ts';

const HOST = fileURLToPath(new URL('../support/function-host.ts', import.meta.url));

export const BACKTEST_TOPICS = [
  'backtests.requests',
  'backtests.windows',
  'backtests.done',
  functionDeadLetterTopic('backtest-planner', 'backtests.requests'),
  functionDeadLetterTopic('backtest-window', 'backtests.windows'),
  functionDeadLetterTopic('backtest-merge', 'backtests.done'),
] as const;

/** One line a function logged (Cloud Logging JSON on stdout). */
export interface FunctionLogLine {
  function?: string;
  severity?: string;
  message?: string;
  duration_ms?: number;
  window_id?: string;
  run_id?: string;
  ticks?: number;
  bytes_read?: number;
  [k: string]: unknown;
}

/** A functions-framework process serving one function. */
export class FunctionInstance {
  readonly logs: FunctionLogLine[] = [];
  private constructor(
    readonly target: string,
    readonly child: ChildProcess,
    readonly port: number,
    /** fork() → serving, as the parent saw it (process start, tsx, module load, cold start). */
    readonly spawnToReadyMs: number,
    /** Importing the entry module (cold start: config, stores, bus), as the process saw it. */
    readonly coldStartMs: number,
  ) {}

  static async start(target: string, env: Record<string, string>): Promise<FunctionInstance> {
    const t0 = performance.now();
    const child = fork(HOST, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env, FUNCTION_TARGET: target },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const early: FunctionLogLine[] = [];
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-4000);
    });
    let buf = '';
    let sink: FunctionLogLine[] = early;
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (!line.startsWith('{')) continue;
        try {
          sink.push(JSON.parse(line) as FunctionLogLine);
        } catch {
          // not a log line
        }
      }
    });
    const ready = await new Promise<{ port: number; coldStartMs: number }>((resolve, reject) => {
      child.on('message', (m: HostMessage) => {
        if (m.type === 'ready') resolve({ port: m.port, coldStartMs: m.coldStartMs });
        else if (m.type === 'error') reject(new Error(`${target}: ${m.message}`));
      });
      child.once('exit', (code) => reject(new Error(`${target} exited (${code}) before serving: ${stderr}`)));
    });
    const inst = new FunctionInstance(target, child, ready.port, performance.now() - t0, ready.coldStartMs);
    inst.logs.push(...early);
    sink = inst.logs;
    return inst;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A delivery the dispatcher made: which instance, how long the POST took, the HTTP status. */
export interface Dispatch {
  instance: number;
  window_id: string;
  ms: number;
  status: number;
  startedAtMs: number;
}

/**
 * Pulls one subscription and pushes each message to a free instance (concurrency 1 each), in the
 * push envelope functions-framework converts to a CloudEvent.
 */
export class Dispatcher {
  readonly dispatches: Dispatch[] = [];
  private readonly busy: boolean[];
  private readonly queue: Message[] = [];
  private constructor(
    private readonly sub: Subscription,
    private readonly instances: readonly FunctionInstance[],
    private readonly pushPath: string,
    private readonly subscriptionPath: string,
  ) {
    this.busy = instances.map(() => false);
  }

  static async open(
    pubsub: PubSub,
    topic: string,
    subscription: string,
    instances: readonly FunctionInstance[],
  ): Promise<Dispatcher> {
    const [sub] = await pubsub.topic(topic).createSubscription(subscription, {
      ackDeadlineSeconds: 120,
      deadLetterPolicy: {
        deadLetterTopic: `projects/${pubsub.projectId}/topics/${functionDeadLetterTopic('backtest-window', topic)}`,
        maxDeliveryAttempts: 5,
      },
    });
    sub.setOptions({ flowControl: { maxMessages: instances.length, allowExcessMessages: false } });
    const d = new Dispatcher(
      sub,
      instances,
      `/projects/${pubsub.projectId}/topics/${topic}`,
      `projects/${pubsub.projectId}/subscriptions/${subscription}`,
    );
    sub.on('message', (m: Message) => {
      d.queue.push(m);
      d.pump();
    });
    sub.on('error', () => undefined);
    return d;
  }

  private pump(): void {
    for (let i = 0; i < this.instances.length && this.queue.length > 0; i++) {
      if (this.busy[i]) continue;
      const m = this.queue.shift() as Message;
      this.busy[i] = true;
      void this.deliver(i, m).finally(() => {
        this.busy[i] = false;
        this.pump();
      });
    }
  }

  private async deliver(i: number, m: Message): Promise<void> {
    const inst = this.instances[i] as FunctionInstance;
    const body = JSON.stringify({
      message: {
        data: m.data.toString('base64'),
        attributes: { ...m.attributes },
        messageId: m.id,
        publishTime: m.publishTime.toISOString(),
      },
      subscription: this.subscriptionPath,
      ...(m.deliveryAttempt ? { deliveryAttempt: m.deliveryAttempt } : {}),
    });
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await fetch(`${inst.url}${this.pushPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    this.dispatches.push({
      instance: i,
      window_id: m.attributes.window_id ?? '',
      ms: performance.now() - t0,
      status,
      startedAtMs: performance.timeOrigin + t0,
    });
    if (status >= 200 && status < 300) m.ack();
    else m.nack();
  }

  async close(): Promise<void> {
    await this.sub.close();
  }
}

export interface FanoutCluster {
  pubsub: PubSub;
  /** The bucket holding `data/` (ticks, instruments, signals) and `results/`. */
  data: GcsBlobStore;
  results: GcsBlobStore;
  planner: FunctionInstance;
  merge: FunctionInstance;
  windows: FunctionInstance[];
  dispatcher: Dispatcher;
  /** Wall time of starting every instance (they start in parallel). */
  startMs: number;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  pubsubEmu: PubSubEmulator;
  gcsEmu: GcsEmulator;
  /** Window-function instances (concurrency 1 each). */
  instances: number;
  /** Prefix under the bucket for this cluster's results (and its data, unless `dataPrefix`). */
  prefix: string;
  /** Prefix of the data (`<prefix>/data` by default): clusters run one after another can share it. */
  dataPrefix?: string | undefined;
  logLevel?: 'info' | 'warn';
}

/**
 * Topics, subscriptions and function processes for one cluster. The data must be uploaded to
 * `cluster.data` before a request is published.
 */
export async function startFanoutCluster(opts: StartClusterOptions): Promise<FanoutCluster> {
  const { projectId, host } = opts.pubsubEmu;
  const { bucket, endpoint } = opts.gcsEmu;
  const dir = await mkdtemp(path.join(tmpdir(), 'fanout-cluster-'));
  const dataPrefix = opts.dataPrefix ?? `${opts.prefix}/data`;
  const config = {
    venues: EMBEDDED_CONFIG.venues,
    router: EMBEDDED_CONFIG.router,
    risk: EMBEDDED_CONFIG.risk,
    storage: {
      order_store: 'local',
      bus: 'pubsub',
      blob: 'gcs',
      bucket,
      gcp_project: projectId,
      data_dir: dir,
    },
    logging: { level: opts.logLevel ?? 'info', log_orders: false, log_fills: false },
  };
  const configPath = path.join(dir, 'functions.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const env = {
    EXEC_CONFIG: configPath,
    PUBSUB_EMULATOR_HOST: host,
    STORAGE_EMULATOR_HOST: endpoint,
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_CLOUD_PROJECT: projectId,
    BACKTEST_DATA: `gs://${bucket}/${dataPrefix}`,
    BACKTEST_RESULTS: `gs://${bucket}/${opts.prefix}/results`,
  };
  const pubsub = emulatorClient(host, projectId);
  await ensureTopics(pubsub, BACKTEST_TOPICS);

  const t0 = performance.now();
  const started = await Promise.allSettled([
    FunctionInstance.start('backtest-planner', env),
    FunctionInstance.start('backtest-merge', env),
    ...Array.from({ length: opts.instances }, () => FunctionInstance.start('backtest-window', env)),
  ]);
  const startMs = performance.now() - t0;
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await Promise.allSettled(ok.map((i) => i.stop()));
    throw failed.reason;
  }
  const [planner, merge, ...windows] = ok as [FunctionInstance, FunctionInstance, ...FunctionInstance[]];

  const suffix = opts.prefix.replace(/[^a-z0-9-]/gi, '-');
  for (const [inst, topic] of [
    [planner, 'backtests.requests'],
    [merge, 'backtests.done'],
  ] as const) {
    await createPushSubscription(pubsub, {
      name: `${functionSubscription(inst.target, topic)}.${suffix}`,
      topic,
      endpoint: `${inst.url}/projects/${projectId}/topics/${topic}`,
      deadLetterTopic: functionDeadLetterTopic(inst.target, topic),
      maxDeliveryAttempts: 5,
    });
  }
  const dispatcher = await Dispatcher.open(
    pubsub,
    'backtests.windows',
    `${functionSubscription('backtest-window', 'backtests.windows')}.${suffix}`,
    windows,
  );
  const store = (prefix: string) => new GcsBlobStore({ bucket, prefix, apiEndpoint: endpoint, projectId });
  return {
    pubsub,
    data: store(dataPrefix),
    results: store(`${opts.prefix}/results`),
    planner,
    merge,
    windows,
    dispatcher,
    startMs,
    stop: async () => {
      await dispatcher.close();
      // Subscriptions go with the cluster, so another cluster on the same topics gets only its own.
      for (const s of (await pubsub.getSubscriptions())[0]) {
        if (s.name.endsWith(`.${suffix}`)) await s.delete().catch(() => undefined);
      }
      await Promise.allSettled([planner, merge, ...windows].map((i) => i.stop()));
      await pubsub.close();
    },
  };
}

/** Poll until `key` exists in `store` (the merge writes summary.json last). */
export async function waitForBlob(
  store: GcsBlobStore,
  keys: readonly string[],
  timeoutMs: number,
  pollMs = 50,
): Promise<{ key: string; atMs: number }> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for (const key of keys) {
      if ((await store.stat(key)) !== null) return { key, atMs: performance.timeOrigin + performance.now() };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`none of ${keys.join(', ')} appeared within ${timeoutMs} ms`);
}

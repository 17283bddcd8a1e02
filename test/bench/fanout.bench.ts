/**
 * Cloud fan-out, measured (a plain tsx script; `runFanoutBench()` is exported for test/bench/run.ts):
 *
 *   npx tsx test/bench/fanout.bench.ts [--trades-per-day 200000] [--instances 1,2] [--keep DIR]
 *     [--merge-windows 25,100,400] [--framework-instances 1,2,4] [--repeat N]
 *     [--no-framework | --framework-only | --workers [--window-minutes 5,30]]
 *
 * planner → N window-function instances → merge, through the functions' own handler cores
 * (`planRequest`, `runWindowMessage`, `mergeOnDone`) on a local data store. Each instance is a
 * separate Node process (tsx), as a function instance is: it starts cold (runtime + module load),
 * then takes its share of the window messages one at a time. Prints:
 *
 * - per window: the fixed cost (manifest read + validation, partial write, done publish) vs the
 *   work (tick reads + simulation), and the store operations (reads by kind, bytes);
 * - per instance: the cold start (process start → handler ready);
 * - the wall time with N instances and the speed-up model
 *   T(N) ≈ plan + cold + ⌈W / N⌉ × (fixed + work) + merge, with the N a real project would run;
 * - the merge trigger: store operations and bytes of the done messages before the last, per run
 *   size (the block count keeps them constant per message);
 * - unless --no-framework: the same fan-out as deployed, functions-framework processes on the
 *   Pub/Sub and Storage emulators (test/integration/backtest/fanout-cluster.ts): instance start,
 *   per-window cost by part, wall time per N (min / median of --repeat runs);
 * - --workers instead: local worker threads 1 vs 2, tsx-loaded vs bundled workers, phases and CPU.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { mergeOnDone } from '../../functions/backtest-merge/handler.ts';
import { planRequest } from '../../functions/backtest-planner/handler.ts';
import { memoryLogger } from '../../functions/shared/log.ts';
import { partialKey } from '../../infra/backtest/keys.ts';
import { writeRunWindows } from '../../infra/backtest/merge-run.ts';
import { readManifest, writeManifest } from '../../infra/backtest/plan-run.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { generateData, SAMPLE_SIGNALS_KEY } from '../../scripts/generate-data.ts';
import {
  DEFAULT_BACKTEST_SETTINGS,
  type Manifest,
  type WindowDone,
  windowIdOf,
} from '../../shared/backtest/model.ts';
import type { BlobInfo, BlobStore } from '../../shared/ports/blob-store.ts';
import type { Dispatch } from '../integration/backtest/fanout-cluster.ts';
import { availableParallelism } from './backtest.bench.ts';
import { argOf, BENCH_LIMITS, printTable } from './support/backtest-bench.ts';

const exec = promisify(execFile);
const INSTRUMENT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const RUN_ID = 'fanout';

/** Counts the store operations as Cloud Storage bills them (class A: writes/lists; class B: reads). */
export class CountingStore implements BlobStore {
  classA = 0;
  classB = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Milliseconds with at least one store call in flight (concurrent calls count once). */
  ms = 0;
  private inFlight = 0;
  private since = 0;
  constructor(private readonly inner: BlobStore) {}
  private async timed<T>(p: Promise<T>): Promise<T> {
    if (this.inFlight++ === 0) this.since = performance.now();
    try {
      return await p;
    } finally {
      if (--this.inFlight === 0) this.ms += performance.now() - this.since;
    }
  }
  async put(key: string, data: Uint8Array | string, opts?: { contentType?: string | undefined }) {
    this.classA++;
    this.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    return this.timed(this.inner.put(key, data, opts));
  }
  async get(key: string) {
    this.classB++;
    const b = await this.timed(this.inner.get(key));
    this.bytesIn += b.byteLength;
    return b;
  }
  async getRange(key: string, start: number, end: number) {
    this.classB++;
    const b = await this.timed(this.inner.getRange(key, start, end));
    this.bytesIn += b.byteLength;
    return b;
  }
  async list(prefix: string) {
    this.classA++;
    return this.inner.list(prefix);
  }
  async stat(key: string): Promise<BlobInfo | null> {
    this.classB++;
    return this.inner.stat(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  health() {
    return this.inner.health();
  }
  snapshot() {
    return {
      classA: this.classA,
      classB: this.classB,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      ms: this.ms,
    };
  }
}

interface InstanceReport {
  ready_ms: number;
  windows: Array<{
    window_id: string;
    ms: number;
    manifest_ms: number;
    data: ReturnType<CountingStore['snapshot']>;
    results: ReturnType<CountingStore['snapshot']>;
  }>;
}

/** Child mode: one function instance running its share of the window messages. */
async function instance(data: string, results: string, windowIds: string[]): Promise<void> {
  const { runWindowMessage } = await import('../../functions/backtest-window/handler.ts');
  const ready = process.uptime() * 1000;
  const out: InstanceReport = { ready_ms: ready, windows: [] };
  const dataStore = new LocalBlobStore(data, { durable: false });
  const resultStore = new LocalBlobStore(results, { durable: false });
  for (const window_id of windowIds) {
    const d = new CountingStore(dataStore);
    const r = new CountingStore(resultStore);
    const t0 = performance.now();
    const verdict = await runWindowMessage(
      { data: d, results: r, bus: { publish: async () => 'id' }, log: memoryLogger() },
      { run_id: RUN_ID, window_id },
    );
    const ms = performance.now() - t0;
    if (verdict.kind !== 'ack') throw new Error(`window ${window_id}: ${JSON.stringify(verdict)}`);
    // What reading the whole manifest would add (window functions read their task file instead).
    const m0 = performance.now();
    await readManifest(resultStore, RUN_ID);
    out.windows.push({
      window_id,
      ms,
      manifest_ms: performance.now() - m0,
      data: d.snapshot(),
      results: r.snapshot(),
    });
  }
  console.log(JSON.stringify(out));
}

/**
 * What the merge function costs per run when done messages arrive one by one as windows finish:
 * a run of `w` windows cloned from a planned one, each window's partial written then its done
 * message merged, up to the last (which would merge; that final step is counted once per run
 * elsewhere). Store operations as billed, and the bytes read.
 */
export async function mergeTriggerCounts(resultsDir: string, template: Manifest, w: number) {
  const runId = `merge-trigger-${w}`;
  const dir = path.join(resultsDir, runId);
  await rm(dir, { recursive: true, force: true });
  const store = new LocalBlobStore(dir, { durable: false });
  const first = template.windows[0];
  if (first === undefined) throw new Error('template has no window');
  const manifest: Manifest = {
    ...template,
    run_id: runId,
    windows: Array.from({ length: w }, (_, i) => ({ ...first, window_id: windowIdOf(i), index: i })),
  };
  await writeManifest(store, manifest);
  await writeRunWindows(store, manifest);
  const counting = new CountingStore(store);
  const bus = { publish: async () => 'id' };
  const t0 = performance.now();
  for (let i = 0; i < w - 1; i++) {
    const window_id = windowIdOf(i);
    await store.put(partialKey(runId, window_id), '{}\n');
    const v = await mergeOnDone(
      { results: counting, bus, log: memoryLogger(), now: () => Date.now() },
      { run_id: runId, window_id, outcome: 'partial' },
    );
    if (v.outcome !== 'waiting') throw new Error(`window ${window_id}: merge ${JSON.stringify(v)}`);
  }
  const ms = performance.now() - t0;
  await rm(dir, { recursive: true, force: true });
  return { ...counting.snapshot(), windows: w, messages: w - 1, ms };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

/**
 * The windows of a planned run re-run in this process against the Storage emulator, each timed
 * by part (store calls, done publish, the rest: decode and simulation). Medians.
 */
async function probeWindows(
  gcsEmu: { bucket: string; endpoint: string; projectId: string },
  pubsubEmu: { host: string; projectId: string },
  runId: string,
  prefix: string,
) {
  const { GcsBlobStore } = await import('../../infra/gcs/blob-store.gcs.ts');
  const { PubSubEventBus } = await import('../../infra/pubsub/event-bus.pubsub.ts');
  const bus = new PubSubEventBus({ projectId: pubsubEmu.projectId, emulatorHost: pubsubEmu.host });
  const { runWindowMessage } = await import('../../functions/backtest-window/handler.ts');
  const gcs = (p: string) =>
    new GcsBlobStore({
      bucket: gcsEmu.bucket,
      prefix: p,
      apiEndpoint: gcsEmu.endpoint,
      projectId: gcsEmu.projectId,
    });
  const data = gcs('bench-data');
  const results = gcs(`${prefix}/results`);
  const manifest = await readManifest(results, runId);
  if (manifest === null) throw new Error(`no manifest for ${runId}`);
  const rows: Array<{ total: number; store: number; publish: number; calls: number }> = [];
  for (const round of [0, 1]) {
    for (const w of manifest.windows) {
      const d = new CountingStore(data);
      const r = new CountingStore(results);
      let publish = 0;
      const t0 = performance.now();
      const v = await runWindowMessage(
        {
          data: d,
          results: r,
          bus: {
            publish: async (topic, payload, attributes) => {
              const p0 = performance.now();
              const id = await bus.publish(topic, payload, attributes);
              publish += performance.now() - p0;
              return id;
            },
          },
          log: memoryLogger(),
        },
        { run_id: runId, window_id: w.window_id },
      );
      if (v.kind !== 'ack') throw new Error(`probe ${w.window_id}: ${JSON.stringify(v)}`);
      // The first round warms the process (JIT, connections); the second is measured.
      if (round === 1)
        rows.push({
          total: performance.now() - t0,
          store: d.ms + r.ms,
          publish,
          calls: d.classA + d.classB + r.classA + r.classB,
        });
    }
  }
  await bus.close();
  const store = median(rows.map((x) => x.store));
  const total = median(rows.map((x) => x.total));
  const publish = median(rows.map((x) => x.publish));
  return { total, store, publish, compute: total - store - publish, calls: median(rows.map((x) => x.calls)) };
}

export interface WorkersBenchOptions {
  dataDir: string;
  /** Window lengths in minutes (default 5 and 30). */
  windowMinutes: readonly number[];
  repeat: number;
  log: (line: string) => void;
}

/**
 * Local worker threads, 1 vs 2, with workers started on the bundled entry (default) and on the tsx
 * bootstrap (before): wall time of whole runs (plan, windows, merge), interleaved and repeated
 * (the machine is shared: min and median), and the phases of each run.
 */
export async function runWorkersBench(opts: WorkersBenchOptions) {
  const { runLocalBacktest } = await import('../../infra/backtest/runner.ts');
  const { workerEntry } = await import('../../infra/backtest/worker-entry.ts');
  const log = opts.log;
  const signals = new TextDecoder().decode(
    await new LocalBlobStore(opts.dataDir, { durable: false }).get(SAMPLE_SIGNALS_KEY),
  );
  const built = await workerEntry('bundle');
  log(`  worker entry: ${built.kind}, built in ${built.buildMs.toFixed(0)} ms (once per process)`);
  type Row = {
    minutes: number;
    entry: 'bundle' | 'tsx';
    workers: number;
    wall: number;
    plan: number;
    first: number;
    windows: number;
    merge: number;
    cpu: number;
  };
  const rows: Row[] = [];
  const outs = await mkdtemp(path.join(tmpdir(), 'bt-workers-'));
  const digests = new Map<string, string>();
  try {
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const minutes of opts.windowMinutes) {
        for (const entry of ['tsx', 'bundle'] as const) {
          for (const workers of [1, 2]) {
            const out = path.join(outs, `${minutes}-${entry}-${workers}`);
            await rm(out, { recursive: true, force: true });
            const t0 = performance.now();
            const c0 = process.cpuUsage();
            let planned = 0;
            let first = 0;
            let last = 0;
            const r = await runLocalBacktest({
              signals: { text: signals, source: 'sample.jsonl' },
              data: new LocalBlobStore(opts.dataDir, { durable: false }),
              dataLocation: opts.dataDir,
              results: new LocalBlobStore(out, { durable: false }),
              resultsLocation: out,
              runId: 'workers',
              settings: { ...DEFAULT_BACKTEST_SETTINGS, window_minutes: minutes },
              limits: BENCH_LIMITS,
              workers,
              workerEntry: entry,
              onPlanned: () => {
                planned = performance.now() - t0;
              },
              onWindow: (done) => {
                const t = performance.now() - t0;
                if (done === 1) first = t;
                last = t;
              },
            });
            const wall = performance.now() - t0;
            const c = process.cpuUsage(c0);
            const cpu = (c.user + c.system) / 1000;
            if (r.status !== 'completed') throw new Error(`workers run failed: ${JSON.stringify(r.failure)}`);
            const files = await Promise.all(
              ['orders.parquet', 'fills.parquet', 'positions.parquet', 'equity_curve.parquet'].map((f) =>
                new LocalBlobStore(out, { durable: false }).get(`backtest_results/workers/${f}`),
              ),
            );
            const digest = (await import('node:crypto'))
              .createHash('sha256')
              .update(Buffer.concat(files.map((b) => Buffer.from(b))))
              .digest('hex');
            const prev = digests.get(String(minutes));
            if (prev !== undefined && prev !== digest)
              throw new Error(`outputs differ (${minutes} min, ${entry}, ${workers} workers)`);
            digests.set(String(minutes), digest);
            rows.push({
              minutes,
              entry,
              workers,
              wall,
              plan: planned,
              first: first - planned,
              windows: last - planned,
              merge: wall - last,
              cpu,
            });
          }
        }
      }
    }
  } finally {
    await rm(outs, { recursive: true, force: true });
  }
  const f = (x: number) => (x / 1000).toFixed(2);
  const table: Array<[string, string]> = [];
  for (const minutes of opts.windowMinutes) {
    for (const entry of ['tsx', 'bundle'] as const) {
      const sel = (w: number) =>
        rows.filter((r) => r.minutes === minutes && r.entry === entry && r.workers === w);
      const w1 = sel(1).map((r) => r.wall);
      const w2 = sel(2).map((r) => r.wall);
      const cpu = (w: number) => f(median(sel(w).map((r) => r.cpu)));
      const phase = (w: number, k: 'plan' | 'first' | 'windows' | 'merge') =>
        f(median(sel(w).map((r) => r[k])));
      table.push([
        `${minutes}-min windows, ${entry === 'tsx' ? 'tsx in each worker (before)' : 'bundled worker (after)'}`,
        `1 worker ${f(Math.min(...w1))} / ${f(median(w1))} s, 2 workers ${f(Math.min(...w2))} / ${f(median(w2))} s (min / median of ${w1.length}): speed-up ${(median(w1) / median(w2)).toFixed(2)}× median, ${(Math.min(...w1) / Math.min(...w2)).toFixed(2)}× min; phases (1 → 2 workers, medians): plan ${phase(1, 'plan')} → ${phase(2, 'plan')} s, first window done ${phase(1, 'first')} → ${phase(2, 'first')} s after the plan, windows ${phase(1, 'windows')} → ${phase(2, 'windows')} s, merge ${phase(1, 'merge')} → ${phase(2, 'merge')} s; CPU of the process (all threads) ${cpu(1)} → ${cpu(2)} s`,
      ]);
    }
  }
  table.push([
    'parallel CPU available now',
    `${(await availableParallelism()).toFixed(2)} cores (two CPU-bound threads vs one: the ceiling for any speed-up; 2.0 on an idle 2-core machine)`,
  ]);
  table.push([
    'outputs',
    'identical across entries and worker counts (SHA-256 of the four Parquet files per window length)',
  ]);
  printTable(log, 'local workers 1 vs 2 (whole runs: plan, windows, merge)', table);
  return rows;
}

export interface FrameworkFanoutOptions {
  /** A data folder (generated by runFanoutBench) to upload to the Storage emulator. */
  dataDir: string;
  instances: readonly number[];
  /** Runs per N (the machine is shared: min and median are printed). */
  repeat: number;
  log: (line: string) => void;
}

/**
 * The fan-out as deployed on the emulators (test/integration/backtest/fanout-cluster.ts):
 * functions-framework processes, Pub/Sub emulator, Storage emulator. Per N: a fresh cluster
 * (cold instances), one request published, the time until summary.json exists.
 */
export async function runFrameworkFanout(opts: FrameworkFanoutOptions) {
  const { startPubSubEmulator } = await import('../support/pubsub-emulator.ts');
  const { startGcsEmulator } = await import('../support/gcs-emulator.ts');
  const cl = await import('../integration/backtest/fanout-cluster.ts');
  const { resultKey, SUMMARY_FILE, FAILED_FILE } = await import('../../infra/backtest/keys.ts');
  const log = opts.log;
  const [pubsubEmu, gcsEmu] = await Promise.all([startPubSubEmulator(), startGcsEmulator()]);
  let probe: Awaited<ReturnType<typeof probeWindows>> | null = null;
  const results: Array<{
    n: number;
    rep: number;
    wall_ms: number;
    plan_ms: number;
    windows_ms: number;
    tail_ms: number;
    spawn_ms: number[];
    cold_ms: number[];
    first_ms: number[];
    warm_handler_ms: number[];
    warm_http_ms: number[];
    windows: number;
  }> = [];
  try {
    const upload = new (await import('../../infra/gcs/blob-store.gcs.ts')).GcsBlobStore({
      bucket: gcsEmu.bucket,
      prefix: 'bench-data',
      apiEndpoint: gcsEmu.endpoint,
      projectId: gcsEmu.projectId,
    });
    const u0 = performance.now();
    const files = await cl.uploadFolder(opts.dataDir, upload);
    log(
      `  uploaded ${files} data files to the Storage emulator in ${((performance.now() - u0) / 1000).toFixed(1)} s`,
    );
    for (const n of opts.instances) {
      for (let rep = 0; rep < opts.repeat; rep++) {
        const prefix = `bench-n${n}-r${rep}`;
        const cluster = await cl.startFanoutCluster({
          pubsubEmu,
          gcsEmu,
          instances: n,
          prefix,
          dataPrefix: 'bench-data',
        });
        try {
          const runId = `ff-n${n}-r${rep}`;
          const t0 = performance.timeOrigin + performance.now();
          await cluster.pubsub
            .topic('backtests.requests')
            .publishMessage({ json: { run_id: runId, signals_key: SAMPLE_SIGNALS_KEY } });
          const end = await cl.waitForBlob(
            cluster.results,
            [resultKey(runId, SUMMARY_FILE), resultKey(runId, FAILED_FILE)],
            600_000,
            20,
          );
          if (end.key !== resultKey(runId, SUMMARY_FILE)) throw new Error(`run ${runId} failed`);
          const d = cluster.dispatcher.dispatches;
          const firstStart = Math.min(...d.map((x) => x.startedAtMs));
          const lastEnd = Math.max(...d.map((x) => x.startedAtMs + x.ms));
          // Each instance's first window carries its lazy start-up (first reads, JIT); the rest are warm.
          const first = new Set<Dispatch>();
          for (let i = 0; i < n; i++) {
            const mine = d.filter((x) => x.instance === i).sort((a, b) => a.startedAtMs - b.startedAtMs);
            if (mine[0]) first.add(mine[0]);
          }
          const handler = new Map(
            cluster.windows.flatMap((w) =>
              w.logs
                .filter((l) => l.message === 'window_done' && typeof l.duration_ms === 'number')
                .map((l): [string, number] => [String(l.window_id), l.duration_ms as number]),
            ),
          );
          const warm = d.filter((x) => !first.has(x));
          results.push({
            n,
            rep,
            wall_ms: end.atMs - t0,
            plan_ms: firstStart - t0,
            windows_ms: lastEnd - firstStart,
            tail_ms: end.atMs - lastEnd,
            spawn_ms: cluster.windows.map((w) => w.spawnToReadyMs),
            cold_ms: cluster.windows.map((w) => w.coldStartMs),
            first_ms: [...first].map((x) => x.ms),
            warm_handler_ms: warm.map((x) => handler.get(x.window_id) ?? Number.NaN),
            warm_http_ms: warm.map((x) => x.ms),
            windows: new Set(d.map((x) => x.window_id)).size,
          });
        } finally {
          await cluster.stop();
        }
      }
    }
    probe = await probeWindows(
      gcsEmu,
      pubsubEmu,
      `ff-n${opts.instances[0]}-r0`,
      `bench-n${opts.instances[0]}-r0`,
    );
  } finally {
    await Promise.allSettled([pubsubEmu.stop(), gcsEmu.stop()]);
  }
  const f = (x: number) => x.toFixed(0);
  const by = (n: number) => results.filter((r) => r.n === n);
  const walls = (n: number) => by(n).map((r) => r.wall_ms);
  const one = opts.instances.includes(1) ? median(walls(1)) : Number.NaN;
  const all = results;
  const warmHandler = median(all.flatMap((r) => r.warm_handler_ms));
  const warmHttp = median(all.flatMap((r) => r.warm_http_ms));
  const firstWin = median(all.flatMap((r) => r.first_ms));
  const spawn = median(all.flatMap((r) => r.spawn_ms));
  const cold = median(all.flatMap((r) => r.cold_ms));
  const plan = median(all.map((r) => r.plan_ms));
  const tail = median(all.map((r) => r.tail_ms));
  const w = all[0]?.windows ?? 0;
  const rows: Array<[string, string]> = [
    [
      'per window, in one warm process',
      probe
        ? `${probe.total.toFixed(1)} ms median: Storage emulator calls ${probe.store.toFixed(1)} ms (${probe.calls} calls: task file, range reads, partial), done publish ${probe.publish.toFixed(1)} ms, simulation and decode ${probe.compute.toFixed(1)} ms`
        : '-',
    ],
    ['windows', `${w} per run; ${opts.repeat} run(s) per N, a fresh cluster (cold instances) each`],
    [
      'instance start (window function)',
      `fork → serving ${f(spawn)} ms median (of which entry-module import: config, stores, bus ${f(cold)} ms); instances start before the request, in parallel`,
    ],
    [
      'per window, warm',
      `handler ${warmHandler.toFixed(1)} ms median (task file, planned range reads and the partial on the Storage emulator, simulation, done publish); HTTP round trip incl. CloudEvent conversion ${warmHttp.toFixed(1)} ms`,
    ],
    [
      'first window of an instance',
      `${f(firstWin)} ms median HTTP round trip: ${f(firstWin - warmHttp)} ms of first-call cost (clients' first connections, JIT) on top of a warm window`,
    ],
    [
      'planner / merge tail',
      `publish → first window dispatched ${f(plan)} ms median (push delivery, planning, task files, publishes); last window answered → summary.json ${f(tail)} ms median (done messages pushed one at a time by the emulator, then the merge)`,
    ],
    ...opts.instances.map((n): [string, string] => {
      const ws = walls(n);
      const win = by(n).map((r) => r.windows_ms);
      return [
        `N = ${n}`,
        `wall ${f(Math.min(...ws))} / ${f(median(ws))} ms (min / median); windows phase ${f(Math.min(...win))} / ${f(median(win))} ms${n !== 1 && Number.isFinite(one) ? `; speed-up ${(one / median(ws)).toFixed(2)}× wall, ${(median(by(1).map((r) => r.windows_ms)) / median(win)).toFixed(2)}× windows phase` : ''}`,
      ];
    }),
  ];
  printTable(log, 'backtest fan-out under functions-framework (Pub/Sub + Storage emulators)', rows);
  return { results, warmHandler, warmHttp, firstWin, spawn, cold, plan, tail };
}

export interface FanoutBenchOptions {
  tradesPerDay?: number | undefined;
  instances?: readonly number[] | undefined;
  keepDir?: string | undefined;
  /** Run sizes of the merge-trigger measurement (default 25, 100, 400 windows). */
  mergeWindows?: readonly number[] | undefined;
  log?: ((line: string) => void) | undefined;
}

export async function runFanoutBench(opts: FanoutBenchOptions = {}) {
  const log = opts.log ?? ((line: string) => console.log(line));
  const root = opts.keepDir ?? (await mkdtemp(path.join(tmpdir(), 'bt-fanout-')));
  const data = path.join(root, 'data');
  const dataStore = new LocalBlobStore(data, { durable: false });
  try {
    if ((await dataStore.stat(SAMPLE_SIGNALS_KEY)) === null) {
      await generateData(dataStore, {
        start: '2025-07-01',
        days: 1,
        seed: 42,
        tradesPerDay: opts.tradesPerDay ?? 200_000,
        instruments: [INSTRUMENT],
        signalsPerDay: 29,
      });
    }
    const figures: Array<{
      n: number;
      wall_s: number;
      plan_ms: number;
      merge_ms: number;
      reports: InstanceReport[];
    }> = [];
    let windowCount = 0;
    for (const n of opts.instances ?? [1, 2]) {
      const results = path.join(root, `results-${n}`);
      await rm(results, { recursive: true, force: true });
      const resultStore = new LocalBlobStore(results, { durable: false });
      const published: Array<{ topic: string; data: unknown }> = [];
      const bus = {
        publish: async (topic: string, payload: unknown) => {
          published.push({ topic, data: payload });
          return `m${published.length}`;
        },
      };
      const t0 = performance.now();
      const verdict = await planRequest(
        {
          data: dataStore,
          results: resultStore,
          bus,
          log: memoryLogger(),
          settings: { ...DEFAULT_BACKTEST_SETTINGS, window_minutes: 5 },
          limits: BENCH_LIMITS,
          now: () => Date.now(),
        },
        { run_id: RUN_ID, signals_key: SAMPLE_SIGNALS_KEY },
      );
      const planMs = performance.now() - t0;
      if (verdict.kind !== 'ack') throw new Error(`planner: ${JSON.stringify(verdict)}`);
      const ids = published.map((p) => (p.data as { window_id: string }).window_id);
      windowCount = ids.length;
      const shares = Array.from({ length: n }, (_, i) => ids.filter((_, j) => j % n === i));
      const self = pathToFileURL(import.meta.filename).pathname;
      const reports = await Promise.all(
        shares.map(async (share) => {
          const { stdout } = await exec(
            process.execPath,
            ['--import', 'tsx', self, '--instance', data, results, share.join(',')],
            { maxBuffer: 1 << 24, env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } },
          );
          return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as InstanceReport;
        }),
      );
      const m0 = performance.now();
      const manifest = await readManifest(resultStore, RUN_ID);
      if (manifest === null) throw new Error('no manifest');
      let merged = '';
      const mergeStore = new CountingStore(resultStore);
      for (const window_id of ids) {
        const done: WindowDone = { run_id: RUN_ID, window_id, outcome: 'partial' };
        const v = await mergeOnDone(
          { results: mergeStore, bus, log: memoryLogger(), now: () => Date.now() },
          done,
        );
        merged = v.outcome;
      }
      const mergeMs = performance.now() - m0;
      const wall = (performance.now() - t0) / 1000;
      if (merged !== 'merged' && merged !== 'already_complete') log(`  (last merge outcome: ${merged})`);
      log(`  merge store operations (${ids.length} done messages): ${JSON.stringify(mergeStore.snapshot())}`);
      figures.push({ n, wall_s: wall, plan_ms: planMs, merge_ms: mergeMs, reports });
    }

    if (figures.length === 0) return null;
    const all = figures.flatMap((f) => f.reports.flatMap((r) => r.windows));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
    const windowMs = mean(all.map((w) => w.ms));
    const manifestMs = mean(all.map((w) => w.manifest_ms));
    const cold = mean(figures.flatMap((f) => f.reports.map((r) => r.ready_ms)));
    const perWindow = {
      data_class_b: mean(all.map((w) => w.data.classB)),
      data_bytes: mean(all.map((w) => w.data.bytesIn)),
      results_class_a: mean(all.map((w) => w.results.classA)),
      results_class_b: mean(all.map((w) => w.results.classB)),
      results_bytes_in: mean(all.map((w) => w.results.bytesIn)),
      partial_bytes: mean(all.map((w) => w.results.bytesOut)),
    };
    const one = figures.find((f) => f.n === 1);
    const plan = mean(figures.map((f) => f.plan_ms));
    const merge = mean(figures.map((f) => f.merge_ms));
    const model = (n: number, w = windowCount) => (plan + cold + Math.ceil(w / n) * windowMs + merge) / 1000;
    const rows: Array<[string, string]> = [
      ['windows', `${windowCount} five-minute windows of one busy day (${INSTRUMENT})`],
      ['cold start per instance', `${cold.toFixed(0)} ms (process start → window handler loaded, tsx)`],
      [
        'per window (warm instance)',
        `${windowMs.toFixed(0)} ms in all (task file, planned reads, simulation, partial); reading + validating the whole manifest instead of the task file would add ${manifestMs.toFixed(1)} ms`,
      ],
      [
        'store operations per window',
        `data: ${perWindow.data_class_b.toFixed(1)} class B (range reads), ${(perWindow.data_bytes / 1e3).toFixed(0)} kB; results: ${perWindow.results_class_b.toFixed(1)} class B (manifest ${(perWindow.results_bytes_in / 1e3).toFixed(0)} kB), ${perWindow.results_class_a.toFixed(1)} class A (partial ${(perWindow.partial_bytes / 1e3).toFixed(1)} kB)`,
      ],
      ['planner / merge', `${plan.toFixed(0)} ms / ${merge.toFixed(0)} ms`],
      ...figures.map((f): [string, string] => [
        `${f.n} instance(s)`,
        `${f.wall_s.toFixed(2)} s wall (plan → windows → merge)${one && f.n > 1 ? `, speed-up ${(one.wall_s / f.wall_s).toFixed(2)}×` : ''}; model ${model(f.n).toFixed(2)} s`,
      ]),
      [
        'model, real project',
        `T(N) ≈ plan + cold + ⌈W/N⌉ × ${windowMs.toFixed(0)} ms + merge: W=${windowCount}: N=29 → ${model(29).toFixed(2)} s; W=10,000: N=100 → ${model(100, 10_000).toFixed(0)} s, N=1,000 → ${model(1000, 10_000).toFixed(1)} s (merge and manifest grow with W: see docs/cost.md)`,
      ],
    ];
    printTable(log, 'backtest fan-out (function handlers, one process per instance)', rows);
    const mergeWindows = opts.mergeWindows ?? [25, 100, 400];
    if (mergeWindows.length > 0) {
      const template = await readManifest(
        new LocalBlobStore(path.join(root, `results-${figures[0]?.n ?? 1}`)),
        RUN_ID,
      );
      if (template === null) throw new Error('no manifest');
      const trigger = [];
      for (const w of mergeWindows) trigger.push(await mergeTriggerCounts(root, template, w));
      printTable(
        log,
        'merge trigger: done messages before the last (windows finishing one by one)',
        trigger.map((t): [string, string] => [
          `${t.windows} windows`,
          `${t.classA} class A, ${t.classB} class B (${(t.classB / t.messages).toFixed(1)} a message), ${(t.bytesIn / 1e6).toFixed(2)} MB read (${(t.bytesIn / t.messages / 1e3).toFixed(1)} kB a message), ${t.ms.toFixed(0)} ms`,
        ]),
      );
    }
    return { windowCount, cold_ms: cold, window_ms: windowMs, manifest_ms: manifestMs, perWindow, figures };
  } finally {
    if (!opts.keepDir) await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const arg = (name: string) => argOf(args, name);
  const at = args.indexOf('--instance');
  const main =
    at >= 0
      ? () =>
          instance(args[at + 1] ?? '', args[at + 2] ?? '', (args[at + 3] ?? '').split(',').filter(Boolean))
      : async () => {
          const tpd = arg('--trades-per-day');
          const keep = arg('--keep') ?? (await mkdtemp(path.join(tmpdir(), 'bt-fanout-')));
          try {
            if (!args.includes('--framework-only') && !args.includes('--workers')) {
              await runFanoutBench({
                tradesPerDay: tpd ? Number(tpd) : undefined,
                instances: arg('--instances')?.split(',').map(Number),
                keepDir: keep,
                mergeWindows: arg('--merge-windows')?.split(',').map(Number),
              });
            }
            if (args.includes('--workers')) {
              if (
                args.includes('--framework-only') ||
                !(await new LocalBlobStore(path.join(keep, 'data')).stat(SAMPLE_SIGNALS_KEY))
              )
                await runFanoutBench({
                  tradesPerDay: tpd ? Number(tpd) : undefined,
                  instances: [],
                  keepDir: keep,
                  mergeWindows: [],
                });
              await runWorkersBench({
                dataDir: path.join(keep, 'data'),
                windowMinutes: (arg('--window-minutes') ?? '5,30').split(',').map(Number),
                repeat: Number(arg('--repeat') ?? 3),
                log: (line) => console.log(line),
              });
            }
            if (!args.includes('--no-framework') && !args.includes('--workers')) {
              if (args.includes('--framework-only'))
                await runFanoutBench({
                  tradesPerDay: tpd ? Number(tpd) : undefined,
                  instances: [],
                  keepDir: keep,
                  mergeWindows: [],
                });
              await runFrameworkFanout({
                dataDir: path.join(keep, 'data'),
                instances: (arg('--framework-instances') ?? '1,2,4').split(',').map(Number),
                repeat: Number(arg('--repeat') ?? 2),
                log: (line) => console.log(line),
              });
            }
          } finally {
            if (arg('--keep') === undefined) await rm(keep, { recursive: true, force: true });
          }
        };
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

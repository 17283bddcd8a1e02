/**
 * Start the real Pub/Sub emulator for a test file.
 *
 * Runs the emulator jar from the Google Cloud CLI directly with Java (about 1–2 s to ready) or,
 * when no jar can be found, `gcloud beta emulators pubsub start`. The child runs in its own process
 * group so `stop()` (and process exit) kill the JVM and anything gcloud spawned. One emulator per
 * test file, on a free port; tests isolate themselves with unique topic and subscription names,
 * and `reset()` (`POST /reset`) clears everything.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForHttp } from './emulator-guard.ts';
import {
  type EmulatorProcess,
  emulatorCommand,
  gcloudSdkRoots,
  retryOnPortClash,
  startEmulatorProcess,
} from './emulator-process.ts';
import { gatedAddress } from './tcp-gate.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

export interface PubSubEmulator {
  /** `127.0.0.1:<port>` — the value for PUBSUB_EMULATOR_HOST (or PubSubEventBusOptions.emulatorHost). */
  host: string;
  projectId: string;
  /** How long the emulator took from spawn to answering `GET /` with `Ok`, in ms. */
  startMs: number;
  /** How it was started: `java -jar ...` or `gcloud`. */
  via: 'jar' | 'gcloud';
  /** Delete every topic and subscription. */
  reset(): Promise<void>;
  /**
   * Kill the emulator and start it again on the same address after `downMs`. The emulator keeps
   * nothing (topics, subscriptions and unacknowledged messages are gone) — unless started with
   * `keepTopology`: then clients reach it through a TCP gate (test/support/tcp-gate.ts), which is
   * shut first (every connection cut, new ones refused); the topics and subscriptions are read,
   * the emulator restarted, the same topology declared again, and only then the gate opens. In the
   * cloud topics and subscriptions are Terraform's and never vanish: no client may ever see a topic
   * without its subscriptions (a message published then would be dropped). Unacknowledged messages
   * are still lost. Resolves once it answers again; returns the milliseconds it was down.
   */
  restart(downMs?: number): Promise<number>;
  /** Kill the emulator's process group. */
  stop(): Promise<void>;
}

export interface StartPubSubEmulatorOptions {
  projectId?: string;
  /** How long to wait for the emulator to answer (default 60 s). */
  timeoutMs?: number;
  /** Keep topics and subscriptions across `restart()` (see there). */
  keepTopology?: boolean;
}

export interface Topology {
  topics: string[];
  subscriptions: Array<Record<string, unknown> & { name: string }>;
}

/** The topics and subscriptions of `project` on the emulator at `host` (its REST API). */
export async function readTopology(host: string, project: string): Promise<Topology> {
  const get = async (what: string) => {
    const res = await fetch(`http://${host}/v1/projects/${project}/${what}?pageSize=1000`);
    if (!res.ok) throw new Error(`GET ${what}: HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const topics = ((await get('topics')).topics ?? []) as Array<{ name: string }>;
  const subs = ((await get('subscriptions')).subscriptions ?? []) as Topology['subscriptions'];
  return { topics: topics.map((t) => t.name), subscriptions: subs };
}

/** Declare `t` on the emulator at `host` (topics first), as `terraform apply` of the deployment does. */
export async function declareTopology(host: string, t: Topology): Promise<void> {
  const put = async (name: string, body: Record<string, unknown>) => {
    const res = await fetch(`http://${host}/v1/${name}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok && res.status !== 409) throw new Error(`PUT ${name}: HTTP ${res.status} ${await res.text()}`);
  };
  for (const name of t.topics) await put(name, {});
  for (const sub of t.subscriptions) {
    const { name, ...rest } = sub;
    const body: Record<string, unknown> = {};
    for (const k of ['topic', 'ackDeadlineSeconds', 'filter', 'deadLetterPolicy', 'retryPolicy'])
      if (rest[k] !== undefined && rest[k] !== '') body[k] = rest[k];
    await put(name, body);
  }
}

/** The emulator jar (`cloud-pubsub-emulator-<version>-all.jar`) on this machine, or null. */
export function findPubSubEmulatorJar(): string | null {
  const fromEnv = process.env.PUBSUB_EMULATOR_JAR;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const root of gcloudSdkRoots()) {
    const lib = join(root, 'platform', 'pubsub-emulator', 'lib');
    if (!existsSync(lib)) continue;
    const jar = readdirSync(lib)
      .filter((f) => /^cloud-pubsub-emulator-.*-all\.jar$/.test(f))
      .sort()
      .pop();
    if (jar) return join(lib, jar);
  }
  return null;
}

async function spawnProcess(
  port: number,
  timeoutMs: number,
  projectId: string,
): Promise<{ proc: EmulatorProcess; via: 'jar' | 'gcloud' }> {
  const host = `127.0.0.1:${port}`;
  const { cmd, args, via } = emulatorCommand({
    product: 'Pub/Sub',
    via: 'auto',
    findJar: findPubSubEmulatorJar,
    // Faster JVM start-up and a smaller footprint; plenty for test traffic.
    javaArgs: (jar) => [
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-jar',
      jar,
      '--host=127.0.0.1',
      `--port=${port}`,
    ],
    gcloudCommand: ['beta', 'emulators', 'pubsub'],
    host,
    projectId,
  });
  const proc = await startEmulatorProcess({
    name: 'Pub/Sub emulator',
    cmd,
    args,
    ready: () => waitForHttp(`http://${host}/`, timeoutMs, (res, body) => res.ok && body.trim() === 'Ok'),
  });
  return { proc, via };
}

async function spawnOnce(
  projectId: string,
  timeoutMs: number,
  keepTopology: boolean,
): Promise<PubSubEmulator> {
  const port = await freePort();
  const direct = `127.0.0.1:${port}`;
  let { proc, via } = await spawnProcess(port, timeoutMs, projectId);
  const { host, gate } = await gatedAddress(port, keepTopology, () => proc.stop());
  return {
    host,
    projectId,
    startMs: proc.startMs,
    via,
    async reset() {
      const res = await fetch(`http://${direct}/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`Pub/Sub emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async restart(downMs = 0) {
      const t0 = performance.now();
      await gate?.down();
      const topology = gate === null ? null : await readTopology(direct, projectId);
      await proc.stop();
      const waited = performance.now() - t0;
      if (downMs > waited) await new Promise((r) => setTimeout(r, downMs - waited));
      ({ proc, via } = await spawnProcess(port, timeoutMs, projectId));
      if (topology !== null) await declareTopology(direct, topology);
      await gate?.up();
      return Math.round(performance.now() - t0);
    },
    async stop() {
      await gate?.close();
      await proc.stop();
    },
  };
}

/**
 * Start an emulator on a free port and wait until `GET /` answers `Ok`. Retries once if the port
 * was taken between choosing it and the JVM binding it.
 */
export async function startPubSubEmulator(opts: StartPubSubEmulatorOptions = {}): Promise<PubSubEmulator> {
  const projectId = opts.projectId ?? 'demo-test';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return await retryOnPortClash(() => spawnOnce(projectId, timeoutMs, opts.keepTopology ?? false));
}

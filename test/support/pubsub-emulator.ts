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
   * Kill the emulator and start it again on the same port after `downMs`. The emulator keeps nothing
   * (topics, subscriptions and unacknowledged messages are gone). Resolves once it answers again;
   * returns the milliseconds it was down.
   */
  restart(downMs?: number): Promise<number>;
  /** Kill the emulator's process group. */
  stop(): Promise<void>;
}

export interface StartPubSubEmulatorOptions {
  projectId?: string;
  /** How long to wait for the emulator to answer (default 60 s). */
  timeoutMs?: number;
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

async function spawnOnce(projectId: string, timeoutMs: number): Promise<PubSubEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let { proc, via } = await spawnProcess(port, timeoutMs, projectId);
  return {
    host,
    projectId,
    startMs: proc.startMs,
    via,
    async reset() {
      const res = await fetch(`http://${host}/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`Pub/Sub emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async restart(downMs = 0) {
      const t0 = performance.now();
      await proc.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      ({ proc, via } = await spawnProcess(port, timeoutMs, projectId));
      return Math.round(performance.now() - t0);
    },
    stop: () => proc.stop(),
  };
}

/**
 * Start an emulator on a free port and wait until `GET /` answers `Ok`. Retries once if the port
 * was taken between choosing it and the JVM binding it.
 */
export async function startPubSubEmulator(opts: StartPubSubEmulatorOptions = {}): Promise<PubSubEmulator> {
  const projectId = opts.projectId ?? 'demo-test';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return await retryOnPortClash(() => spawnOnce(projectId, timeoutMs));
}

/**
 * Start the real Pub/Sub emulator for a test file.
 *
 * Runs the emulator jar from the Google Cloud CLI directly with Java (about 1–2 s to ready) or,
 * when no jar can be found, `gcloud beta emulators pubsub start`. The child runs in its own process
 * group so `stop()` (and process exit) kill the JVM and anything gcloud spawned. One emulator per
 * test file, on a free port; tests isolate themselves with unique topic and subscription names,
 * and `reset()` (`POST /reset`) clears everything.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freePort, waitForHttp } from './emulator-guard.ts';

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
  const sdkRoots = [process.env.CLOUDSDK_ROOT_DIR, process.env.GOOGLE_CLOUD_SDK_ROOT].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const gcloud = which('gcloud');
  if (gcloud) sdkRoots.push(dirname(dirname(realpathSync(gcloud)))); // <sdk>/bin/gcloud
  sdkRoots.push('/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk');
  for (const root of sdkRoots) {
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

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

function javaAvailable(): boolean {
  try {
    execFileSync(process.env.JAVA ?? 'java', ['-version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function spawnOnce(projectId: string, timeoutMs: number): Promise<PubSubEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const jar = findPubSubEmulatorJar();
  let cmd: string;
  let args: string[];
  let via: PubSubEmulator['via'];
  if (jar && javaAvailable()) {
    cmd = process.env.JAVA ?? 'java';
    // Faster JVM start-up and a smaller footprint; plenty for test traffic.
    args = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', jar, '--host=127.0.0.1', `--port=${port}`];
    via = 'jar';
  } else if (which('gcloud')) {
    cmd = 'gcloud';
    args = [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=${host}`,
      `--project=${projectId}`,
      '--quiet',
    ];
    via = 'gcloud';
  } else {
    throw new Error(
      'no Pub/Sub emulator found: neither the emulator jar (with java) nor gcloud is installed',
    );
  }

  const started = performance.now();
  const child = spawn(cmd, args, {
    detached: true, // own process group: stop() kills the JVM and anything gcloud spawned
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const onExit = () => killGroup(child);
  process.once('exit', onExit);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`${cmd} failed to start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `Pub/Sub emulator exited early (code ${code}, signal ${signal}): ${output.trim().slice(-800)}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined); // observed below; avoid an unhandled rejection after a clean stop

  try {
    await Promise.race([
      waitForHttp(`http://${host}/`, timeoutMs, (res, body) => res.ok && body.trim() === 'Ok'),
      exited,
    ]);
  } catch (err) {
    killGroup(child);
    process.removeListener('exit', onExit);
    throw err;
  }
  const startMs = Math.round(performance.now() - started);
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  child.stdout?.resume();
  child.stderr?.resume();

  return {
    host,
    projectId,
    startMs,
    via,
    async reset() {
      const res = await fetch(`http://${host}/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`Pub/Sub emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        killGroup(child);
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
      }
      process.removeListener('exit', onExit);
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
  try {
    return await spawnOnce(projectId, timeoutMs);
  } catch (first) {
    if (
      first instanceof Error &&
      /exited early/.test(first.message) &&
      /already in use|BindException/i.test(first.message)
    ) {
      return await spawnOnce(projectId, timeoutMs);
    }
    throw first;
  }
}

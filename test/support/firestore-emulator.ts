/**
 * Start the real Cloud Firestore emulator for a test file.
 *
 * Runs the emulator jar directly with Java (about 1–2 s to ready) or, when no jar can be found,
 * `gcloud emulators firestore start`. The child runs in its own process group so `stop()` (and
 * process exit) kill the JVM and anything it spawned. One emulator per test file: vitest runs files
 * in separate workers, each gets its own free port. Stores isolate their data with a collection
 * prefix, so one emulator serves every test in the file.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { freePort, waitForHttp } from './emulator-guard.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

export interface FirestoreEmulator {
  /** `127.0.0.1:<port>` — the value for FIRESTORE_EMULATOR_HOST. */
  host: string;
  projectId: string;
  /** How long the emulator took from spawn to answering HTTP, in ms. */
  startMs: number;
  /** A client bound to this emulator (no credentials, no metadata server). */
  client(): Firestore;
  /** Delete every document in the project. */
  reset(): Promise<void>;
  /** Kill the emulator's process group and close the clients made by `client()`. */
  stop(): Promise<void>;
}

export interface StartFirestoreEmulatorOptions {
  projectId?: string;
  /** How long to wait for the emulator to answer (default 60 s). */
  timeoutMs?: number;
  /** 'auto' (default): the jar with Java when found, else gcloud; or force one of them. */
  via?: 'auto' | 'jar' | 'gcloud';
}

const JAR_NAME = 'cloud-firestore-emulator.jar';
const MAIN_CLASS = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';

/** Where the Firestore emulator jar is on this machine, or null. */
export function findFirestoreEmulatorJar(): string | null {
  const candidates: string[] = [];
  const fromEnv = process.env.FIRESTORE_EMULATOR_JAR;
  if (fromEnv) candidates.push(fromEnv);
  const sdkRoots = [process.env.CLOUDSDK_ROOT_DIR, process.env.GOOGLE_CLOUD_SDK_ROOT].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const gcloud = which('gcloud');
  if (gcloud) {
    // <sdk>/bin/gcloud, usually reached through a /usr/bin symlink.
    sdkRoots.push(dirname(dirname(realpathSync(gcloud))));
  }
  sdkRoots.push('/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk');
  sdkRoots.push(join(homedir(), 'google-cloud-sdk'));
  for (const root of sdkRoots) candidates.push(join(root, 'platform', 'cloud-firestore-emulator', JAR_NAME));
  // The Firebase CLI's cached copy (cloud-firestore-emulator-v1.x.y.jar).
  const firebaseCache = join(homedir(), '.cache', 'firebase', 'emulators');
  if (existsSync(firebaseCache)) {
    for (const f of readdirSync(firebaseCache).sort().reverse()) {
      if (/^cloud-firestore-emulator-v[\d.]+\.jar$/.test(f)) candidates.push(join(firebaseCache, f));
    }
  }
  return candidates.find((c) => existsSync(c)) ?? null;
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

async function spawnOnce(
  projectId: string,
  timeoutMs: number,
  via: 'auto' | 'jar' | 'gcloud',
): Promise<FirestoreEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const jar = via === 'gcloud' ? null : findFirestoreEmulatorJar();
  if (via === 'jar' && !jar) throw new Error('the Firestore emulator jar was not found');
  let cmd: string;
  let args: string[];
  if (jar && (via === 'jar' || javaAvailable())) {
    cmd = process.env.JAVA ?? 'java';
    args = [
      '-Duser.language=en',
      // Faster JVM start-up and a smaller footprint; plenty for test traffic.
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Xss1m',
      '-cp',
      jar,
      MAIN_CLASS,
      'start',
      '--host=127.0.0.1',
      `--port=${port}`,
    ];
  } else if (via !== 'jar' && which('gcloud')) {
    cmd = 'gcloud';
    args = ['emulators', 'firestore', 'start', `--host-port=${host}`, `--project=${projectId}`, '--quiet'];
  } else {
    throw new Error(
      'no Firestore emulator found: neither the emulator jar (with java) nor gcloud is installed',
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
          `Firestore emulator exited early (code ${code}, signal ${signal}): ${output.trim().slice(-800)}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined); // observed below; avoid an unhandled rejection after a clean stop

  try {
    await Promise.race([waitForHttp(`http://${host}/`, timeoutMs), exited]);
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

  const clients: Firestore[] = [];
  return {
    host,
    projectId,
    startMs,
    client() {
      const db = new Firestore({ projectId, host, ssl: false });
      clients.push(db);
      return db;
    },
    async reset() {
      const url = `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`;
      const res = await fetch(url, { method: 'DELETE' });
      if (!res.ok) throw new Error(`Firestore emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      await Promise.allSettled(clients.splice(0).map((c) => c.terminate()));
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
 * Start an emulator on a free port and wait until it answers. Retries once if the port was taken
 * between choosing it and the JVM binding it.
 */
export async function startFirestoreEmulator(
  opts: StartFirestoreEmulatorOptions = {},
): Promise<FirestoreEmulator> {
  const projectId = opts.projectId ?? 'demo-test';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const via = opts.via ?? 'auto';
  try {
    return await spawnOnce(projectId, timeoutMs, via);
  } catch (first) {
    if (
      first instanceof Error &&
      /exited early/.test(first.message) &&
      /already in use|BindException/i.test(first.message)
    ) {
      return await spawnOnce(projectId, timeoutMs, via);
    }
    throw first;
  }
}

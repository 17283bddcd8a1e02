/**
 * Start the real Cloud Firestore emulator for a test file.
 *
 * Runs the emulator jar directly with Java (about 1–2 s to ready) or, when no jar can be found,
 * `gcloud emulators firestore start`. The child runs in its own process group so `stop()` (and
 * process exit) kill the JVM and anything it spawned. One emulator per test file: vitest runs files
 * in separate workers, each gets its own free port. Stores isolate their data with a collection
 * prefix, so one emulator serves every test in the file.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { freePort, waitForHttp } from './emulator-guard.ts';
import {
  emulatorCommand,
  gcloudSdkRoots,
  retryOnPortClash,
  startEmulatorProcess,
} from './emulator-process.ts';

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
  const sdkRoots = gcloudSdkRoots();
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

async function spawnOnce(
  projectId: string,
  timeoutMs: number,
  via: 'auto' | 'jar' | 'gcloud',
): Promise<FirestoreEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const { cmd, args } = emulatorCommand({
    product: 'Firestore',
    via,
    findJar: findFirestoreEmulatorJar,
    javaArgs: (jar) => [
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
    ],
    gcloudCommand: ['emulators', 'firestore'],
    host,
    projectId,
  });

  const proc = await startEmulatorProcess({
    name: 'Firestore emulator',
    cmd,
    args,
    ready: () => waitForHttp(`http://${host}/`, timeoutMs),
  });

  const clients: Firestore[] = [];
  return {
    host,
    projectId,
    startMs: proc.startMs,
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
      await proc.stop();
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
  return await retryOnPortClash(() => spawnOnce(projectId, timeoutMs, via));
}

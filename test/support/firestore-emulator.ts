/**
 * Start the real Cloud Firestore emulator for a test file.
 *
 * Runs the emulator jar directly with Java (about 1–2 s to ready) or, when no jar can be found,
 * `gcloud emulators firestore start`. The child runs in its own process group so `stop()` (and
 * process exit) kill the JVM and anything it spawned. One emulator per test file: vitest runs files
 * in separate workers, each gets its own free port. Stores isolate their data with a collection
 * prefix, so one emulator serves every test in the file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { freePort, waitForHttp } from './emulator-guard.ts';
import {
  type EmulatorProcess,
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
  /**
   * Restart the emulator on the same port, down for `downMs`: killed (with `durable`, its documents
   * are exported just before and imported by the new process, as a managed database keeps its data
   * across a restart; otherwise the data is gone). Clients made by `client()` stay open and
   * reconnect by themselves. Resolves once it answers again; returns the milliseconds it was down.
   */
  restart(downMs?: number): Promise<number>;
  /** Kill the emulator's process group and close the clients made by `client()`. */
  stop(): Promise<void>;
}

export interface StartFirestoreEmulatorOptions {
  projectId?: string;
  /** How long to wait for the emulator to answer (default 60 s). */
  timeoutMs?: number;
  /** 'auto' (default): the jar with Java when found, else gcloud; or force one of them. */
  via?: 'auto' | 'jar' | 'gcloud';
  /** Keep the documents across `restart()` (exported before the kill, imported on start; the jar only). */
  durable?: boolean;
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

async function spawnProcess(
  port: number,
  timeoutMs: number,
  via: 'auto' | 'jar' | 'gcloud',
  projectId: string,
  exportDir: string | null,
): Promise<EmulatorProcess> {
  const host = `127.0.0.1:${port}`;
  const imported = exportDir === null ? null : exportMetadata(exportDir);
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
      ...(imported === null ? [] : [`--import-data=${imported}`]),
    ],
    gcloudCommand: ['emulators', 'firestore'],
    host,
    projectId,
  });
  return await startEmulatorProcess({
    name: 'Firestore emulator',
    cmd,
    args,
    ready: () => waitForHttp(`http://${host}/`, timeoutMs),
  });
}

/** The export an emulator wrote on exit into `dir` (`<name>/<name>.overall_export_metadata`), or null. */
function exportMetadata(dir: string): string | null {
  if (!existsSync(dir)) return null;
  for (const name of readdirSync(dir).sort().reverse()) {
    const file = join(dir, name, `${name}.overall_export_metadata`);
    if (existsSync(file)) return file;
  }
  const flat = readdirSync(dir).find((f) => f.endsWith('.overall_export_metadata'));
  return flat === undefined ? null : join(dir, flat);
}

async function spawnOnce(
  projectId: string,
  timeoutMs: number,
  via: 'auto' | 'jar' | 'gcloud',
  durable: boolean,
): Promise<FirestoreEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const exportDir = durable ? mkdtempSync(join(tmpdir(), 'firestore-emulator-')) : null;
  let proc = await spawnProcess(port, timeoutMs, via, projectId, exportDir);

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
    async restart(downMs = 0) {
      if (exportDir !== null) {
        // The emulator's own export (what `firebase emulators:export` calls), taken just before
        // the kill: the documents committed up to here come back after the restart.
        rmSync(exportDir, { recursive: true, force: true });
        mkdirSync(exportDir, { recursive: true });
        const res = await fetch(`http://${host}/emulator/v1/projects/${projectId}:export`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            database: `projects/${projectId}/databases/(default)`,
            export_directory: exportDir,
          }),
        });
        if (!res.ok)
          throw new Error(`Firestore emulator export failed: HTTP ${res.status} ${await res.text()}`);
      }
      const t0 = performance.now();
      await proc.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      proc = await spawnProcess(port, timeoutMs, via, projectId, exportDir);
      return Math.round(performance.now() - t0);
    },
    async stop() {
      await Promise.allSettled(clients.splice(0).map((c) => c.terminate()));
      await proc.stop();
      if (exportDir !== null) rmSync(exportDir, { recursive: true, force: true });
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
  return await retryOnPortClash(() => spawnOnce(projectId, timeoutMs, via, opts.durable ?? false));
}

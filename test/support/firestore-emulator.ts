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
import { gatedAddress } from './tcp-gate.ts';

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
   * Restart the emulator on the same address, down for `downMs`: killed (with `durable`, its
   * documents are kept, as a managed database keeps its data across a restart; otherwise the data
   * is gone). Clients made by `client()` stay open and reconnect by themselves. Resolves once it
   * answers again; returns the milliseconds it was down.
   *
   * With `durable` the clients reach the emulator through a TCP gate (test/support/tcp-gate.ts): the
   * gate goes down first (every connection cut, new ones refused), then the documents are exported,
   * the emulator killed and started again with them, and the gate opens once it answers. No write
   * can land between the export and the kill, so the restart loses nothing a client was told had
   * committed; a write in flight at the cut is an unknown outcome for its client (it may or may not
   * have committed), exactly as with the managed database.
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
  const exportDir = durable ? mkdtempSync(join(tmpdir(), 'firestore-emulator-')) : null;
  let proc = await spawnProcess(port, timeoutMs, via, projectId, exportDir);
  // The emulator's own address (export, reset), and the one clients use: the gate's when durable.
  const direct = `127.0.0.1:${port}`;
  const { host, gate } = await gatedAddress(port, durable, () => proc.stop());

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
      const url = `http://${direct}/emulator/v1/projects/${projectId}/databases/(default)/documents`;
      const res = await fetch(url, { method: 'DELETE' });
      if (!res.ok) throw new Error(`Firestore emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async restart(downMs = 0) {
      const t0 = performance.now();
      await gate?.down();
      if (exportDir !== null) {
        // The emulator's own export (what `firebase emulators:export` calls), taken with the gate
        // down: every document committed comes back after the restart.
        rmSync(exportDir, { recursive: true, force: true });
        mkdirSync(exportDir, { recursive: true });
        const res = await fetch(`http://${direct}/emulator/v1/projects/${projectId}:export`, {
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
      await proc.stop();
      const waited = performance.now() - t0;
      if (downMs > waited) await new Promise((r) => setTimeout(r, downMs - waited));
      proc = await spawnProcess(port, timeoutMs, via, projectId, exportDir);
      await gate?.up();
      return Math.round(performance.now() - t0);
    },
    async stop() {
      await Promise.allSettled(clients.splice(0).map((c) => c.terminate()));
      await gate?.close();
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

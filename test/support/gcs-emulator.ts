/**
 * Start a Cloud Storage emulator for a test file: the Storage emulator inside the npm package
 * firebase-tools, run from its library code (no Java, no rules runtime) by
 * `gcs-emulator-server.mjs` in a child process, so its globals and temp files never touch the
 * test worker. It speaks the GCS JSON API that `@google-cloud/storage` uses: uploads (multipart
 * and resumable), full and ranged downloads, listing by prefix with pages, metadata, delete.
 * It does NOT implement `createBucket`/`bucket.exists()` (buckets spring into existence on first
 * use, any name works) nor generation preconditions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from './emulator-guard.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

export interface GcsEmulator {
  /** `http://127.0.0.1:<port>` — for GcsBlobStoreOptions.apiEndpoint or STORAGE_EMULATOR_HOST. */
  endpoint: string;
  /** A bucket name to use (any name works: the emulator creates buckets on first use). */
  bucket: string;
  projectId: string;
  /** How long the emulator took from spawn to answering the JSON API, in ms. */
  startMs: number;
  /** Delete every object. */
  reset(): Promise<void>;
  /** Stop the child and remove its temp folder. */
  stop(): Promise<void>;
}

export interface StartGcsEmulatorOptions {
  projectId?: string;
  bucket?: string;
  /** How long to wait for the emulator to answer (default 30 s). */
  timeoutMs?: number;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./gcs-emulator-server.mjs', import.meta.url));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function startGcsEmulator(opts: StartGcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const projectId = opts.projectId ?? 'demo-test';
  const bucket = opts.bucket ?? `${projectId}.appspot.com`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Own TMPDIR: the emulator keeps blobs under $TMPDIR/firebase/storage/blobs and wipes it on reset.
  const tmp = mkdtempSync(join(tmpdir(), 'gcs-emulator-'));

  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      SERVER_SCRIPT,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--project',
      projectId,
      '--exit-with-stdin',
    ],
    {
      detached: true, // own process group, killed by stop() and on exit
      stdio: ['pipe', 'pipe', 'pipe'], // stdin: the child exits when it closes (parent gone)
      env: { ...process.env, TMPDIR: tmp, METADATA_SERVER_DETECTION: 'none' },
    },
  );
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const onExit = () => {
    killGroup(child, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`node failed to start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(`GCS emulator exited early (code ${code}, signal ${signal}): ${output.trim().slice(-800)}`),
      ),
    );
  });
  exited.catch(() => undefined);

  try {
    await Promise.race([
      waitForHttp(`${endpoint}/b/${encodeURIComponent(bucket)}/o?maxResults=1`, timeoutMs, (res) => res.ok),
      exited,
    ]);
  } catch (err) {
    onExit();
    process.removeListener('exit', onExit);
    throw err;
  }
  const startMs = Math.round(performance.now() - started);
  child.stdout?.removeListener('data', collect);
  child.stderr?.removeListener('data', collect);
  child.stdout?.resume();
  child.stderr?.resume();

  return {
    endpoint,
    bucket,
    projectId,
    startMs,
    async reset() {
      const res = await fetch(`${endpoint}/internal/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`GCS emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.stdin?.end();
        killGroup(child, 'SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3_000));
        if ((await Promise.race([gone, timer])) === 'timeout') {
          killGroup(child, 'SIGKILL');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 2_000))]);
        }
      }
      process.removeListener('exit', onExit);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/**
 * Start a Cloud Storage emulator for a test file: the Storage emulator inside the npm package
 * firebase-tools, run from its library code (no Java, no rules runtime) by
 * `gcs-emulator-server.mjs` in a child process, so its globals and temp files never touch the
 * test worker. It speaks the GCS JSON API that `@google-cloud/storage` uses: uploads (multipart
 * and resumable), full and ranged downloads, listing by prefix with pages, metadata, delete.
 * It does NOT implement `createBucket`/`bucket.exists()` (buckets spring into existence on first
 * use, any name works) nor generation preconditions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from './emulator-guard.ts';
import { startEmulatorProcess } from './emulator-process.ts';

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

export async function startGcsEmulator(opts: StartGcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const projectId = opts.projectId ?? 'demo-test';
  const bucket = opts.bucket ?? `${projectId}.appspot.com`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Own TMPDIR: the emulator keeps blobs under $TMPDIR/firebase/storage/blobs and wipes it on reset.
  const tmp = mkdtempSync(join(tmpdir(), 'gcs-emulator-'));

  const proc = await startEmulatorProcess({
    name: 'GCS emulator',
    cmd: process.execPath,
    args: [
      SERVER_SCRIPT,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--project',
      projectId,
      '--exit-with-stdin',
    ],
    env: { TMPDIR: tmp },
    stdinPipe: true, // the child exits when its stdin closes (parent gone)
    ready: () =>
      waitForHttp(`${endpoint}/b/${encodeURIComponent(bucket)}/o?maxResults=1`, timeoutMs, (res) => res.ok),
    termGraceMs: 3_000,
    onClosed: () => rmSync(tmp, { recursive: true, force: true }),
  });

  return {
    endpoint,
    bucket,
    projectId,
    startMs: proc.startMs,
    async reset() {
      const res = await fetch(`${endpoint}/internal/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`GCS emulator reset failed: HTTP ${res.status} ${await res.text()}`);
    },
    stop: () => proc.stop(),
  };
}

/**
 * What a backtest worker thread starts from. Loading the project's TypeScript through tsx in every
 * worker is the largest cost of a short local run: each worker gets its own module-loader hooks
 * thread and transpiles and resolves the window's whole module graph again (measured with
 * --cpu-prof: seconds of CPU per worker on the shared machine, more than the windows of a busy day).
 * So the worker's graph is bundled once per process with esbuild into one plain ES module in the
 * temp folder: the project's modules inlined, every npm package left as an import of its resolved
 * file URL (so the bundle runs from anywhere and packages load unchanged, as they would from
 * `node_modules`). Workers then start on plain JavaScript with no loader hooks.
 *
 * Where esbuild is not installed (a production install without dev dependencies) the pool falls
 * back to registering tsx in each worker (worker-bootstrap.mjs).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

export interface WorkerEntry {
  /** The module a Worker is started on. */
  url: URL;
  /** `bundle`: plain JavaScript; `tsx`: the bootstrap registering tsx, which imports `workerData.entry`. */
  kind: 'bundle' | 'tsx';
  /** Milliseconds spent bundling (0 when reused or when tsx is used). */
  buildMs: number;
}

let cached: Promise<WorkerEntry> | null = null;
const TSX_ENTRY: WorkerEntry = { url: BOOTSTRAP, kind: 'tsx', buildMs: 0 };

/**
 * The worker entry of this process (bundled on first use, then reused by every pool); `tsx` asks
 * for the bootstrap (benchmarks compare the two).
 */
export function workerEntry(kind: WorkerEntry['kind'] = 'bundle'): Promise<WorkerEntry> {
  if (kind === 'tsx') return Promise.resolve(TSX_ENTRY);
  cached ??= bundleWorker().catch(() => TSX_ENTRY);
  return cached;
}

/** The TypeScript entry the tsx bootstrap imports. */
export const WORKER_TS_ENTRY = pathToFileURL(WORKER_SOURCE).href;

async function bundleWorker(): Promise<WorkerEntry> {
  const t0 = performance.now();
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [WORKER_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    plugins: [
      {
        name: 'packages-by-url',
        setup(build) {
          // A bare specifier (an npm package): keep it as an import of the file it resolves to here.
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith('node:')) return { path: args.path, external: true };
            return { path: import.meta.resolve(args.path), external: true };
          });
        },
      },
    ],
  });
  const code = result.outputFiles[0]?.contents;
  if (code === undefined) throw new Error('esbuild produced no output for the backtest worker');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = path.join(tmpdir(), `exec-backtest-worker-${hash}.mjs`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, file);
  }
  return { url: pathToFileURL(file), kind: 'bundle', buildMs: performance.now() - t0 };
}

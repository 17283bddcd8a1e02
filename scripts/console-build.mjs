/**
 * Build the ops console (console/ → console/dist) when it is missing or stale: `npm start` runs
 * this first (`prestart`), so `npm install && npm start` serves a console built from the sources
 * as they are. Stale = the hash of the console's inputs (its sources, the shared modules it
 * imports, the lock file) differs from the one recorded at the last build. `--force` always builds.
 *
 * Without Vite (a production install without dev dependencies) an existing build is served as it
 * is; the container image builds the console in its own stage (stateful/Dockerfile).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONSOLE = path.join(ROOT, 'console');
const DIST = path.join(CONSOLE, 'dist');
const STAMP = path.join(DIST, '.inputs-sha256');

/** Files and folders whose content makes the bundle. */
const INPUTS = [
  'console/index.html',
  'console/vite.config.ts',
  'console/src',
  'shared/app',
  'shared/domain',
  'shared/backtest/metrics.ts',
  'package-lock.json',
];

/** @param {string} rel @returns {Promise<string[]>} */
async function files(rel) {
  const abs = path.join(ROOT, rel);
  if (!existsSync(abs)) return [];
  const entries = await readdir(abs, { withFileTypes: true }).catch(() => null);
  if (entries === null) return [rel];
  /** @type {string[]} */
  const out = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await files(child)));
    else out.push(child);
  }
  return out;
}

/** @returns {Promise<string>} */
export async function inputsHash() {
  const h = createHash('sha256');
  for (const rel of INPUTS) {
    for (const f of await files(rel)) {
      h.update(f);
      h.update(await readFile(path.join(ROOT, f)));
    }
  }
  return h.digest('hex');
}

/**
 * @param {{ force?: boolean, log?: (line: string) => void }} [opts]
 * @returns {Promise<'fresh' | 'built' | 'kept'>}
 */
export async function buildConsole(opts = {}) {
  const log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  const hash = await inputsHash();
  const built = existsSync(path.join(DIST, 'index.html'));
  if (!opts.force && built && (await readFile(STAMP, 'utf8').catch(() => '')) === hash) return 'fresh';
  let vite;
  try {
    vite = await import('vite');
  } catch {
    if (built) {
      log('console: Vite is not installed (production install): serving the existing build');
      return 'kept';
    }
    throw new Error(
      'console: not built and Vite is not installed; run `npm install` (with dev dependencies)',
    );
  }
  const started = performance.now();
  await vite.build({ configFile: path.join(CONSOLE, 'vite.config.ts'), logLevel: 'warn' });
  await writeFile(STAMP, hash);
  log(`console: built into console/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 'built';
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildConsole({ force: process.argv.includes('--force') }).then(
    (r) => {
      if (r === 'fresh') process.stderr.write('console: up to date\n');
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

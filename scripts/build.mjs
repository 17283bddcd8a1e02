#!/usr/bin/env node
/**
 * Compiles the TypeScript that runs in the cloud to plain JavaScript (esbuild), so production
 * runs `node` on compiled code instead of the tsx loader:
 *
 *   node scripts/build.mjs [--out dist] [service] [functions]     (npm run build: both)
 *
 *   dist/stateful/main.mjs              the venue-edge service (stateful/main.ts), Dockerfile CMD
 *   dist/functions/<name>/index.mjs     one bundle per Cloud Function (functions/<name>/index.ts)
 *   dist/config/                        a copy of config/, so dist/ is laid out like the functions
 *                                       archive (terraform/scripts/package-functions.mjs)
 *
 * Each entry is bundled with the project's own modules inlined and every npm package left as an
 * import (`packages: 'external'`): the packages come from `npm ci --omit=dev` of the same lockfile,
 * unchanged, so nothing a library reads from its own folder at run time (protos, JSON) can break.
 * A bundle sits two folders below the root it ships in, like its source, so the relative file URLs
 * the code resolves (`new URL('../../config/instruments.json', import.meta.url)`) still point at the
 * root's `config/`. Source maps are written beside each bundle (run with --enable-source-maps).
 *
 * Prints one JSON line per bundle: { entry, out, bytes }.
 */
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Node 24 LTS: the runtime of the Dockerfile base and the functions (package.json engines). */
export const TARGET = 'node24';

/** The folders under functions/ that are functions (every one but `shared`), sorted. */
export function functionNames(root = ROOT) {
  const dir = join(root, 'functions');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'shared' && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

/** [entry (relative to root), output (relative to out)] of each bundle of `what`. */
export function bundles(what, root = ROOT) {
  const out = [];
  if (what.includes('service')) out.push(['stateful/main.ts', 'stateful/main.mjs']);
  if (what.includes('functions')) {
    for (const name of functionNames(root)) {
      const entry = `functions/${name}/index.ts`;
      if (!existsSync(join(root, entry))) throw new Error(`${entry} not found`);
      out.push([entry, `functions/${name}/index.mjs`]);
    }
  }
  return out;
}

/** Compile `what` ('service', 'functions') from `root` into `outDir`; resolves to what was written. */
export async function compile({
  root = ROOT,
  outDir = join(ROOT, 'dist'),
  what = ['service', 'functions'],
} = {}) {
  const written = [];
  for (const [entry, outFile] of bundles(what, root)) {
    const outfile = join(outDir, outFile);
    await build({
      absWorkingDir: root,
      entryPoints: [join(root, entry)],
      outfile,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: TARGET,
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'none',
      logLevel: 'warning',
      // Kept readable: stack traces in Error Reporting map back through the source map anyway.
      minify: false,
    });
    written.push({ entry, out: relative(process.cwd(), outfile) || outfile, bytes: statSync(outfile).size });
  }
  // dist/functions/<name>/index.mjs resolves ../../config against dist/, as in the archive.
  if (what.includes('functions') && existsSync(join(root, 'config'))) {
    cpSync(join(root, 'config'), join(outDir, 'config'), { recursive: true });
  }
  return written;
}

function parseArgs(argv) {
  const args = { outDir: join(ROOT, 'dist'), what: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' && argv[i + 1] !== undefined) args.outDir = resolve(argv[++i]);
    else if (a === 'service' || a === 'functions') args.what.push(a);
    else throw new Error(`unknown argument ${a} (usage: build.mjs [--out dist] [service] [functions])`);
  }
  if (args.what.length === 0) args.what = ['service', 'functions'];
  return args;
}

const invokedDirectly =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  try {
    for (const r of await compile(parseArgs(process.argv.slice(2))))
      process.stdout.write(`${JSON.stringify(r)}\n`);
  } catch (error) {
    process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

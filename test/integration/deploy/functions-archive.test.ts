/**
 * The Cloud Functions source archive, as Cloud Build hands it to the Cloud Functions build: packed
 * by terraform/scripts/package-functions.mjs (compiled bundles, config/, the complete lockfile),
 * unpacked in an empty folder, installed with `npm ci --omit=dev` (what the nodejs buildpack runs
 * with NPM_CONFIG_OMIT=dev) and started the way the runtime starts it — the functions framework
 * from the archive's own node_modules, `--target=<name>`, no tsx anywhere.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../support/emulator-guard.ts';
import { type PubSubEmulator, startPubSubEmulator } from '../../support/pubsub-emulator.ts';
import { readZip } from '../../unit/terraform/zip.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROJECT = 'demo-functions-archive';
const FUNCTIONS = ['backtest-merge', 'backtest-planner', 'backtest-window', 'order-cancel', 'order-intake'];

describe('the functions archive installs with npm ci --omit=dev and its entry point loads', () => {
  let dir: string;
  let src: string;
  let pubsub: PubSubEmulator;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // The backtest functions always publish through Pub/Sub (their dead letters too).
    pubsub = await startPubSubEmulator({ projectId: PROJECT });
    dir = mkdtempSync(join(tmpdir(), 'functions-archive-'));
    src = join(dir, 'src');
    const zip = join(dir, 'functions-source.zip');
    const packed = spawnSync(
      process.execPath,
      [join(ROOT, 'terraform/scripts/package-functions.mjs'), '--out', zip],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(packed.status, packed.stderr).toBe(0);
    for (const e of readZip(readFileSync(zip))) {
      const file = join(src, ...e.name.split('/'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, e.data);
    }
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await pubsub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds compiled JavaScript and no TypeScript', () => {
    const names = readZip(readFileSync(join(dir, 'functions-source.zip'))).map((e) => e.name);
    expect(names.filter((n) => n.endsWith('.ts'))).toEqual([]);
    for (const f of FUNCTIONS) expect(names).toContain(`functions/${f}/index.mjs`);
    expect(readFileSync(join(src, 'index.mjs'), 'utf8')).not.toContain('tsx');
  });

  it('installs with npm ci --omit=dev (the lockfile is complete for this platform and others)', () => {
    const r = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: src,
      encoding: 'utf8',
      env: { ...process.env, NPM_CONFIG_OMIT: 'dev' },
      timeout: 600_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(existsSync(join(src, 'node_modules/@google-cloud/functions-framework/package.json'))).toBe(true);
    // Development tools stay out of the function's image.
    for (const dev of ['vitest', 'firebase-tools', '@biomejs/biome', 'typescript', '@duckdb/node-api'])
      expect(existsSync(join(src, 'node_modules', dev)), dev).toBe(false);
  }, 600_000);

  for (const name of FUNCTIONS) {
    it(`starts ${name} with the functions framework and answers a push`, async () => {
      const port = await freePort();
      const data = mkdtempSync(join(dir, `data-${name}-`));
      const child = spawn(
        process.execPath,
        [
          'node_modules/@google-cloud/functions-framework/build/src/main.js',
          `--target=${name}`,
          '--signature-type=cloudevent',
          `--port=${port}`,
        ],
        {
          cwd: src,
          env: {
            ...process.env,
            EXEC_FUNCTION: name,
            EXEC_CONFIG: join(src, 'config/local.json'),
            EXEC_DATA_DIR: data,
            BACKTEST_DATA: data,
            METADATA_SERVER_DETECTION: 'none',
            PUBSUB_EMULATOR_HOST: pubsub.host,
            GOOGLE_CLOUD_PROJECT: PROJECT,
            NODE_OPTIONS: '--enable-source-maps',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.push(child);
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString('utf8');
      });
      child.stderr?.on('data', (b: Buffer) => {
        out += b.toString('utf8');
      });
      const deadline = Date.now() + 60_000;
      while (!out.includes('Serving function') && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(out, out).toContain(`Function: ${name}`);
      // A poison push: decoded, dead-lettered on the (in-memory) bus, acknowledged.
      const res = await fetch(`http://127.0.0.1:${port}/projects/demo/topics/t`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: { data: Buffer.from('{not json').toString('base64'), attributes: {}, messageId: 'm-1' },
          subscription: `projects/demo/subscriptions/${name}.t`,
        }),
      });
      expect(res.status, out).toBe(200);
      expect(await res.json()).toMatchObject({ message_id: 'm-1' });
      child.kill('SIGTERM');
    }, 90_000);
  }
});

/**
 * Memory of what runs in the cloud, under tsx (the old production runtime) and compiled (what the
 * image and the functions archive run now) — a plain tsx script, not a vitest file:
 *
 *   npx tsx test/bench/deploy-memory.bench.ts [orders=50]     (or `npm run bench -- deploy`)
 *
 * 1. The venue-edge service with the embedded default (`npm start`'s configuration: the local
 *    exchange in process, BINANCE-SPOT LIVE through ccxt, the edge holding its lease):
 *    `node --import tsx stateful/main.ts` vs `node dist/stateful/main.mjs`. Sampled once /readyz
 *    answers 200, then after `orders` market orders through the HTTP API.
 * 2. The order-intake function on the functions framework (config/local.json: local stores):
 *    `--source functions/order-intake/index.ts` under tsx vs the compiled bundle. Sampled after
 *    start, then after `orders` pushes of valid order instructions.
 *
 * Each figure: RSS (VmRSS) and peak RSS (VmHWM) from /proc/<pid>/status. One run per mode: on a
 * shared machine the figures move by a few MiB between runs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/emulator-guard.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ORDERS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 50);
const MiB = 1024 * 1024;

interface Mem {
  rssMiB: number;
  peakMiB: number;
}

function memOf(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: (kb('VmRSS') * 1024) / MiB, peakMiB: (kb('VmHWM') * 1024) / MiB };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

function launch(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  });
  child.stderr?.on('data', (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-20_000);
  });
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function service(mode: 'tsx' | 'compiled'): Promise<{ ready: Mem; afterOrders: Mem }> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'bench-edge-'));
  const args =
    mode === 'tsx'
      ? ['--enable-source-maps', '--import', 'tsx', 'stateful/main.ts']
      : ['--enable-source-maps', 'dist/stateful/main.mjs'];
  const { child, output } = launch(args, {
    PORT: String(port),
    EXEC_DATA_DIR: data,
    EXEC_CONFIG: '',
    LOG_LEVEL: 'warn',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await until('service ready', async () => (await fetch(`${base}/readyz`)).ok);
    await new Promise((r) => setTimeout(r, 3_000));
    const ready = memOf(child.pid as number);
    for (let i = 0; i < ORDERS; i++) {
      const res = await fetch(`${base}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          operation_id: `BENCH-${mode}-${i}`,
          instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
          side: i % 2 === 0 ? 'BUY' : 'SELL',
          quantity: '0.001',
          order_type: 'MARKET',
          strategy_id: 'bench',
        }),
      });
      if (res.status >= 500) throw new Error(`order ${i}: ${res.status} ${await res.text()}`);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    return { ready, afterOrders: memOf(child.pid as number) };
  } catch (err) {
    throw new Error(`${mode} service: ${err instanceof Error ? err.message : String(err)}\n${output()}`);
  } finally {
    await stop(child);
    rmSync(data, { recursive: true, force: true });
  }
}

async function intake(mode: 'tsx' | 'compiled'): Promise<{ started: Mem; afterOrders: Mem }> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'bench-intake-'));
  const framework = 'node_modules/@google-cloud/functions-framework/build/src/main.js';
  const source = mode === 'tsx' ? 'functions/order-intake/index.ts' : 'dist/functions/order-intake/index.mjs';
  const args = [
    // As deployed at 256Mi (terraform/modules/functions: old space capped at half).
    '--max-old-space-size=128',
    '--enable-source-maps',
    ...(mode === 'tsx' ? ['--import', 'tsx'] : []),
    framework,
    '--target=order-intake',
    '--signature-type=cloudevent',
    `--source=${source}`,
    `--port=${port}`,
  ];
  const { child, output } = launch(args, {
    EXEC_FUNCTION: 'order-intake',
    EXEC_CONFIG: join(ROOT, 'config/local.json'),
    EXEC_DATA_DIR: data,
    LOG_LEVEL: 'warn',
  });
  try {
    await until('function serving', async () => output().includes('Serving function'));
    await new Promise((r) => setTimeout(r, 2_000));
    const started = memOf(child.pid as number);
    for (let i = 0; i < ORDERS; i++) {
      const instruction = {
        operation_id: `BENCH-FN-${mode}-${i}`,
        instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        side: 'BUY',
        quantity: '0.001',
        order_type: 'MARKET',
        strategy_id: 'bench',
      };
      const res = await fetch(`http://127.0.0.1:${port}/projects/demo/topics/orders.requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            data: Buffer.from(JSON.stringify(instruction)).toString('base64'),
            attributes: { operation_id: instruction.operation_id },
            messageId: `m-${i}`,
          },
          subscription: 'projects/demo/subscriptions/order-intake.orders.requests',
        }),
      });
      if (res.status >= 500) throw new Error(`push ${i}: ${res.status} ${await res.text()}`);
    }
    await new Promise((r) => setTimeout(r, 2_000));
    return { started, afterOrders: memOf(child.pid as number) };
  } catch (err) {
    throw new Error(`${mode} intake: ${err instanceof Error ? err.message : String(err)}\n${output()}`);
  } finally {
    await stop(child);
    rmSync(data, { recursive: true, force: true });
  }
}

const f = (m: Mem) => `${m.rssMiB.toFixed(0).padStart(4)} MiB RSS (peak ${m.peakMiB.toFixed(0)})`;

async function main(): Promise<void> {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
  console.log(
    `Memory, tsx vs compiled (node ${process.version}; ${ORDERS} orders; one run each, shared machine)`,
  );
  for (const mode of ['tsx', 'compiled'] as const) {
    const s = await service(mode);
    console.log(
      `  venue-edge service  ${mode.padEnd(8)}  ready: ${f(s.ready)}   after orders: ${f(s.afterOrders)}`,
    );
  }
  for (const mode of ['tsx', 'compiled'] as const) {
    const i = await intake(mode);
    console.log(
      `  order-intake        ${mode.padEnd(8)}  started: ${f(i.started)} after orders: ${f(i.afterOrders)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});

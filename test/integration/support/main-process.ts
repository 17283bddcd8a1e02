/**
 * `npm start` as a real process for integration tests: node + tsx running stateful/main.ts on a
 * free port, its JSON log lines collected, resolved once it logs "HTTP API listening".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/emulator-guard.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface MainProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line the process wrote to stdout so far. */
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Start stateful/main.ts with `env` over the current environment (PORT is chosen here). */
export async function startMainProcess(
  env: Record<string, string>,
  opts: { startTimeoutMs?: number } = {},
): Promise<MainProcess> {
  const port = await freePort();
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const child = spawn(process.execPath, ['--import', 'tsx', 'stateful/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffer = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        if (!line.trim()) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        if (typeof parsed.url === 'string' && String(parsed.message).startsWith('HTTP API listening'))
          resolve(parsed.url);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening:\n${stderr}`)));
    setTimeout(
      () => reject(new Error(`service did not start within ${timeoutMs / 1000} s:\n${stderr}`)),
      timeoutMs,
    ).unref();
  });
  const url = await listening;
  return { child, url, lines, exited };
}

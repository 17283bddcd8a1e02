/**
 * `npm start` as a real process for integration tests: node + tsx running stateful/main.ts on a
 * free port, its JSON log lines collected, resolved once it logs "HTTP API listening". With
 * `npm: true` the process is `npm start` itself (its `prestart` builds the console when stale), in
 * its own process group so that `stop()` ends npm and everything it started.
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
  /** SIGTERM to the process (its group with `npm`), SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Start stateful/main.ts with `env` over the current environment (PORT is chosen here). */
export async function startMainProcess(
  env: Record<string, string>,
  opts: { startTimeoutMs?: number; npm?: boolean } = {},
): Promise<MainProcess> {
  const port = await freePort();
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const childEnv = { ...process.env, LOG_FORMAT: 'json', ...env, PORT: String(port) };
  const child = opts.npm
    ? spawn('npm', ['start', '--silent'], {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn(process.execPath, ['--import', 'tsx', 'stateful/main.ts'], {
        cwd: ROOT,
        env: childEnv,
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
        if (!line.trim().startsWith('{')) continue; // npm's own lines
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
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (opts.npm && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // Already gone.
    }
  };
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  let url: string;
  try {
    url = await listening;
  } catch (err) {
    await stop(1_000);
    throw err;
  }
  return { child, url, lines, exited, stop };
}

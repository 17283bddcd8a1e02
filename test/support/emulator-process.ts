/**
 * The process side of every emulator the tests start (Firestore, Pub/Sub, the Storage emulator):
 * spawn it in its own process group, wait until it answers, and kill the whole group on `stop()`
 * and at process exit, so no JVM or gcloud child outlives the test worker. The emulator modules
 * only say what to run and when it is ready.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface EmulatorProcess {
  child: ChildProcess;
  /** How long the emulator took from spawn to ready, in ms. */
  startMs: number;
  /** End the process group, wait for it to exit (bounded), then run `onClosed`. */
  stop(): Promise<void>;
}

export interface StartEmulatorProcessOptions {
  /** For error messages: `<name> exited early (...)`, e.g. 'Firestore emulator'. */
  name: string;
  cmd: string;
  args: string[];
  /** Extra environment (over process.env and METADATA_SERVER_DETECTION=none). */
  env?: NodeJS.ProcessEnv;
  /** Give the child a stdin pipe that `stop()` closes (a child that exits when its stdin closes). */
  stdinPipe?: boolean;
  /** Resolves once the emulator answers; rejects when it will not. */
  ready: () => Promise<void>;
  /**
   * How `stop()` ends the group: SIGKILL at once (undefined, the default), or SIGTERM first and
   * SIGKILL only if it has not exited after this many ms.
   */
  termGraceMs?: number;
  /** Runs once the process is gone: after `stop()`, after a failed start, and at process exit. */
  onClosed?: () => void;
}

/** Sends `signal` to the child's process group, unless it has exited already. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function sleep(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms));
}

/**
 * Spawn the emulator detached (its own process group) and wait for `ready`, or for the child to
 * exit first (the error then carries the tail of its output). A failed start kills the group.
 */
export async function startEmulatorProcess(opts: StartEmulatorProcessOptions): Promise<EmulatorProcess> {
  const { name, cmd, args } = opts;
  const started = performance.now();
  const child = spawn(cmd, args, {
    detached: true, // own process group: stop() kills the emulator and anything it spawned
    stdio: [opts.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...opts.env },
  });
  let output = '';
  const collect = (b: Buffer) => {
    output = (output + b.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const onExit = () => {
    killGroup(child);
    opts.onClosed?.();
  };
  process.once('exit', onExit);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`${cmd} failed to start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(`${name} exited early (code ${code}, signal ${signal}): ${output.trim().slice(-800)}`),
      ),
    );
  });
  exited.catch(() => undefined); // observed below; avoid an unhandled rejection after a clean stop

  try {
    await Promise.race([opts.ready(), exited]);
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
    child,
    startMs,
    async stop() {
      if (running(child)) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (opts.termGraceMs === undefined) {
          killGroup(child);
          await Promise.race([gone, sleep(5_000)]);
        } else {
          child.stdin?.end();
          killGroup(child, 'SIGTERM');
          if ((await Promise.race([gone, sleep(opts.termGraceMs)])) === 'timeout') {
            killGroup(child);
            await Promise.race([gone, sleep(2_000)]);
          }
        }
      }
      process.removeListener('exit', onExit);
      opts.onClosed?.();
    },
  };
}

/**
 * Run `start` (which picks a free port); if the emulator died because the port was taken between
 * choosing it and binding it, try once more on a new one.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (first) {
    if (
      first instanceof Error &&
      /exited early/.test(first.message) &&
      /already in use|BindException/i.test(first.message)
    ) {
      return await start();
    }
    throw first;
  }
}

/** The path of `cmd` on PATH, or null. */
function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The Java the emulator jars run on: $JAVA, else `java`. */
function javaCommand(): string {
  return process.env.JAVA ?? 'java';
}

/** True when `java -version` runs. */
function javaAvailable(): boolean {
  try {
    execFileSync(javaCommand(), ['-version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface EmulatorCommandOptions {
  /** For error messages, e.g. 'Firestore'. */
  product: string;
  /** 'auto': the jar with Java when both are there, else gcloud; or insist on one of them. */
  via: 'auto' | 'jar' | 'gcloud';
  findJar: () => string | null;
  /** The JVM arguments that start the jar. */
  javaArgs: (jar: string) => string[];
  /** The `gcloud` command group of the same emulator, e.g. ['beta', 'emulators', 'pubsub']. */
  gcloudCommand: string[];
  /** `127.0.0.1:<port>` and the project, for `gcloud ... start`. */
  host: string;
  projectId: string;
}

/**
 * How to start a Google Cloud emulator here: its jar run directly by Java (about 1–2 s to ready)
 * or, when there is no jar or no Java, through `gcloud`. Throws when neither is installed.
 */
export function emulatorCommand(opts: EmulatorCommandOptions): {
  cmd: string;
  args: string[];
  via: 'jar' | 'gcloud';
} {
  const jar = opts.via === 'gcloud' ? null : opts.findJar();
  if (opts.via === 'jar' && !jar) throw new Error(`the ${opts.product} emulator jar was not found`);
  if (jar && (opts.via === 'jar' || javaAvailable()))
    return { cmd: javaCommand(), args: opts.javaArgs(jar), via: 'jar' };
  if (opts.via !== 'jar' && which('gcloud')) {
    const args = [...opts.gcloudCommand, 'start', `--host-port=${opts.host}`, `--project=${opts.projectId}`];
    return { cmd: 'gcloud', args: [...args, '--quiet'], via: 'gcloud' };
  }
  throw new Error(
    `no ${opts.product} emulator found: neither the emulator jar (with java) nor gcloud is installed`,
  );
}

/**
 * Where the Google Cloud CLI may be installed, most specific first: $CLOUDSDK_ROOT_DIR,
 * $GOOGLE_CLOUD_SDK_ROOT, the SDK the `gcloud` on PATH belongs to, then the usual system folders.
 */
export function gcloudSdkRoots(): string[] {
  const roots = [process.env.CLOUDSDK_ROOT_DIR, process.env.GOOGLE_CLOUD_SDK_ROOT].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const gcloud = which('gcloud');
  // <sdk>/bin/gcloud, usually reached through a /usr/bin symlink.
  if (gcloud) roots.push(dirname(dirname(realpathSync(gcloud))));
  roots.push('/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk');
  return roots;
}

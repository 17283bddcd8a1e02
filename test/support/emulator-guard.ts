/**
 * Shared helpers for tests backed by a real emulator (Firestore, Pub/Sub, the Storage emulator).
 *
 * Policy: an emulator that cannot start is a test FAILURE in CI (`CI=true`), and elsewhere a loud
 * skip — a warning banner names the emulator and the reason, and the emulator-backed `describe`
 * is skipped. Use it with a top-level await so vitest can decide before collecting tests:
 *
 * ```ts
 * const emu = await startOrSkip('Firestore', () => startFirestoreEmulator());
 * describe.skipIf(!emu.ok)('on the Firestore emulator', () => {
 *   afterAll(() => (emu.ok ? emu.value.stop() : undefined));
 *   ...
 * });
 * ```
 */
import { createServer } from 'node:net';

export type StartResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** True when the run is in CI, where a missing emulator must fail the run rather than skip. */
export function inCi(): boolean {
  return process.env.CI === 'true';
}

/** A TCP port that was free on 127.0.0.1 a moment ago (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: could not read the bound address'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * Run `start`. On success `{ok:true, value}`. On failure: under `CI=true` throw (the test file
 * fails); otherwise print a loud banner `SKIPPED: <name> emulator could not start: <reason>` and
 * return `{ok:false, reason}` so the caller can `describe.skipIf(!result.ok)`.
 */
export async function startOrSkip<T>(name: string, start: () => Promise<T>): Promise<StartResult<T>> {
  try {
    return { ok: true, value: await start() };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (inCi()) {
      throw new Error(`${name} emulator could not start (CI=true, so this fails the run): ${reason}`, {
        cause: err,
      });
    }
    const line = '!'.repeat(78);
    console.warn(`\n${line}\nSKIPPED: ${name} emulator could not start: ${reason}\n${line}\n`);
    return { ok: false, reason };
  }
}

/**
 * Poll `url` with GET until it answers (any HTTP status, or one accepted by `predicate`) or
 * `timeoutMs` passes; rejects with the last error seen. Each attempt is bounded by a short timeout.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  predicate?: (res: Response, body: string) => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt made';
  let delay = 25;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(1_000, timeoutMs)) });
      const body = await res.text();
      if (!predicate || predicate(res, body)) return;
      last = `HTTP ${res.status} not accepted: ${body.slice(0, 200)}`;
    } catch (err) {
      last =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms (last: ${last})`);
}

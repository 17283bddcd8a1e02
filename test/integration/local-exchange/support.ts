/**
 * Shared set-up of the local-exchange tests: a local exchange on a TestClock (the market moves
 * only when a test advances the clock and ticks) and real ccxt clients pointed at it.
 */
import ccxt, { type binance as BinanceRest, type pro } from 'ccxt';
import { expect } from 'vitest';
import {
  ccxtOptionsFor,
  type LocalExchange,
  type LocalExchangeOptions,
  startLocalExchange,
} from '../../../dev/local-exchange/index.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';

export type ProBinance = InstanceType<typeof pro.binance>;

export interface Harness {
  ex: LocalExchange;
  clock: TestClock;
  /** Advance the exchange clock by `ms` in steps of `stepMs`, ticking after each step. */
  advance(ms: number, stepMs?: number): void;
  rest(): Promise<BinanceRest>;
  pro(): Promise<ProBinance>;
  /** {@link collect}, stopped when the harness closes. */
  collect<T extends object>(watch: () => Promise<T[]>): Collector<T>;
  close(): Promise<void>;
}

export interface Collector<T> {
  items: T[];
  errors: unknown[];
  stop(): void;
}

/** Start of every test clock: a whole second near the wall clock (signed requests carry times). */
export function startNs(): Nanos {
  return BigInt(Math.floor(Date.now() / 1000)) * 1_000_000_000n;
}

/**
 * The client's clock is the exchange's TestClock, as in the platform where the edge and the
 * venue session share one clock: ccxt signs `timestamp` with `milliseconds()`, and the exchange
 * checks it against its own clock and the recvWindow.
 */
function shareClock(client: { milliseconds: () => number }, clock: TestClock): void {
  client.milliseconds = () => Number(clock.now() / 1_000_000n);
}

export async function harness(opts: LocalExchangeOptions = {}): Promise<Harness> {
  const clock = new TestClock(startNs());
  const ex = await startLocalExchange({ seed: 7, clock, autoTick: false, ...opts });
  const clients: Array<{ close(): Promise<unknown> }> = [];
  const collectors: Array<Collector<object>> = [];
  return {
    ex,
    clock,
    advance(ms, stepMs = 100) {
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(BigInt(Math.min(stepMs, ms - t)) * 1_000_000n);
        ex.tick();
      }
    },
    async rest() {
      const client = new ccxt.binance(ccxtOptionsFor(ex));
      await ex.configureCcxt(client);
      shareClock(client, clock);
      clients.push(client);
      return client;
    },
    async pro() {
      const client = new ccxt.pro.binance(ccxtOptionsFor(ex));
      await ex.configureCcxt(client);
      shareClock(client, clock);
      clients.push(client);
      return client;
    },
    collect(watch) {
      const col = collect(watch);
      collectors.push(col);
      return col;
    },
    async close() {
      for (const col of collectors) col.stop();
      for (const c of clients) await c.close();
      await ex.stop();
      // Any route or method ccxt used that the exchange does not implement fails the suite.
      expect(ex.unhandledRequests).toEqual([]);
    },
  };
}

/** Poll `f` until it returns a value (not undefined), ticking the market between tries. */
export async function eventually<T>(
  f: () => Promise<T | undefined> | T | undefined,
  what: string,
  opts: { tries?: number; waitMs?: number; tick?: () => void } = {},
): Promise<T> {
  const tries = opts.tries ?? 100;
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v !== undefined) return v;
    opts.tick?.();
    await new Promise((r) => setTimeout(r, opts.waitMs ?? 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Await a promise with a wall-clock limit (watch calls that must resolve). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Tick the market (advance `stepMs` per wall-clock pause) until `p` settles: a watch call
 * subscribes asynchronously, so only the ticks after its subscription reach it.
 */
export async function pump<T>(h: Harness, p: Promise<T>, what: string, stepMs = 200): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 100 && !settled; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (!settled) h.advance(stepMs, stepMs);
  }
  return within(p, 5_000, what);
}

/**
 * Call a ccxt watch method in a loop and keep everything it returns: ccxt returns the updates
 * received since the previous call, so a loop that always has a call pending misses nothing.
 */
export function collect<T extends object>(watch: () => Promise<T[]>): Collector<T> {
  const items: T[] = [];
  const errors: unknown[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        // Copies: ccxt updates its cached objects in place, a test wants each state as it came.
        items.push(...(await watch()).map((x) => ({ ...x })));
      } catch (err) {
        if (stopped) return;
        errors.push(err);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  return {
    items,
    errors,
    stop() {
      stopped = true;
    },
  };
}

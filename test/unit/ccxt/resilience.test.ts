import { ExchangeNotAvailable, InvalidNonce, InvalidOrder, RateLimitExceeded, RequestTimeout } from 'ccxt';
import { describe, expect, it } from 'vitest';
import type { BreakerState } from '../../../infra/ccxt/diagnostics.ts';
import { CcxtVenueError } from '../../../infra/ccxt/errors.ts';
import { backoffDelay, CallGuard, retryDefaults, TokenBucket } from '../../../infra/ccxt/resilience.ts';

interface Recorded {
  retries: Array<{ operation: string; attempt: number; delay: number; kind: string }>;
  failures: string[];
  breaker: BreakerState[];
  resyncs: number;
}

function guard(
  opts: {
    retryAfterMs?: number;
    consecutiveFailures?: number;
    halfOpenAfterMs?: number;
    maxRetries?: number;
  } = {},
) {
  const rec: Recorded = { retries: [], failures: [], breaker: [], resyncs: 0 };
  const g = new CallGuard(
    {
      venue: 'TEST',
      onRetry: (operation, attempt, delay, err) =>
        rec.retries.push({ operation, attempt, delay, kind: err.kind }),
      onFailure: (operation, err) => rec.failures.push(`${operation}:${err.kind}`),
      onBreaker: (state) => rec.breaker.push(state),
      retryAfterMs: () => opts.retryAfterMs,
      resyncClock: async () => {
        rec.resyncs += 1;
      },
    },
    {
      ratePerSecond: 1000,
      retry: { initialDelayMs: 1, maxDelayMs: 5, maxRetries: opts.maxRetries ?? 3, random: () => 0.5 },
      breaker: {
        consecutiveFailures: opts.consecutiveFailures ?? 5,
        halfOpenAfterMs: opts.halfOpenAfterMs ?? 60_000,
      },
    },
  );
  return { g, rec };
}

/** A function failing with the given errors in turn, then returning 'ok'. */
function failing(...errors: Error[]) {
  let calls = 0;
  const fn = async () => {
    const e = errors[calls];
    calls += 1;
    if (e !== undefined) throw e;
    return 'ok';
  };
  return { fn, calls: () => calls };
}

describe('back-off', () => {
  const o = retryDefaults({ initialDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
  it('doubles per attempt with equal jitter, capped', () => {
    expect(backoffDelay(1, undefined, o)).toBe(50);
    expect(backoffDelay(2, undefined, o)).toBe(100);
    expect(backoffDelay(3, undefined, o)).toBe(200);
    expect(backoffDelay(10, undefined, o)).toBe(500);
    expect(backoffDelay(1, undefined, { ...o, random: () => 0.999 })).toBe(100);
  });
  it('backs off harder when rate limited and honours Retry-After', () => {
    const rl = new CcxtVenueError('rate_limited', 'X', '429');
    expect(backoffDelay(1, rl, o)).toBe(100);
    const ra = new CcxtVenueError('rate_limited', 'X', '429', { retryAfterMs: 750 });
    expect(backoffDelay(1, ra, o)).toBe(750);
  });
});

describe('token bucket', () => {
  it('lets a burst through, then spaces calls at the rate', async () => {
    let now = 0;
    const b = new TokenBucket(10, 2, () => now);
    await b.acquire();
    await b.acquire();
    let third = false;
    const p = b.acquire().then(() => {
      third = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    now = 100; // one token refilled
    await p;
    expect(third).toBe(true);
  });
  it('refuses a non-positive rate', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});

describe('CallGuard', () => {
  it('retries transient and rate-limited failures, then succeeds', async () => {
    const { g, rec } = guard({ retryAfterMs: 2 });
    const f = failing(new RequestTimeout('t'), new ExchangeNotAvailable('503'), new RateLimitExceeded('429'));
    await expect(g.call('fetchBalance', f.fn)).resolves.toBe('ok');
    expect(f.calls()).toBe(4);
    expect(rec.retries.map((r) => r.kind)).toEqual(['transient', 'transient', 'rate_limited']);
    expect(rec.retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(rec.retries[2]?.delay).toBeGreaterThanOrEqual(2);
    expect(rec.failures).toEqual([]);
  });

  it('gives up after maxRetries with the classified error', async () => {
    const { g, rec } = guard({ maxRetries: 2 });
    const f = failing(
      new RequestTimeout('1'),
      new RequestTimeout('2'),
      new RequestTimeout('3'),
      new RequestTimeout('4'),
    );
    const err = await g.call('fetchOrder', f.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CcxtVenueError);
    expect((err as CcxtVenueError).kind).toBe('transient');
    expect(f.calls()).toBe(3);
    expect(rec.failures).toEqual(['fetchOrder:transient']);
  });

  it('does not retry business answers and does not count them against the venue', async () => {
    const { g, rec } = guard({ consecutiveFailures: 1 });
    const f = failing(new InvalidOrder('bad'));
    const err = await g.call('createOrder', f.fn).catch((e: unknown) => e);
    expect((err as CcxtVenueError).kind).toBe('rejected');
    expect(f.calls()).toBe(1);
    expect(g.breakerState).toBe('closed');
    expect(rec.breaker).toEqual([]);
  });

  it('does not wait for a Retry-After beyond the cap', async () => {
    const { g } = guard({ retryAfterMs: 120_000 });
    const f = failing(new RateLimitExceeded('418 banned'));
    const err = await g.call('x', f.fn).catch((e: unknown) => e);
    expect((err as CcxtVenueError).kind).toBe('rate_limited');
    expect((err as CcxtVenueError).retryAfterMs).toBe(120_000);
    expect(f.calls()).toBe(1);
  });

  it('re-measures the clock before retrying after a timestamp complaint', async () => {
    const { g, rec } = guard();
    const f = failing(new InvalidNonce('-1021 outside of the recvWindow'));
    await expect(g.call('fetchBalance', f.fn)).resolves.toBe('ok');
    expect(rec.resyncs).toBe(1);
  });

  it('opens the breaker after consecutive failures, fails fast, half-opens and closes', async () => {
    const { g, rec } = guard({ consecutiveFailures: 3, halfOpenAfterMs: 50, maxRetries: 0 });
    let calls = 0;
    const down = async () => {
      calls += 1;
      throw new ExchangeNotAvailable('503');
    };
    for (let i = 0; i < 3; i++) await g.call('x', down).catch(() => undefined);
    expect(g.breakerState).toBe('open');
    expect(rec.breaker).toEqual(['open']);
    const fast = await g.call('x', down).catch((e: unknown) => e);
    expect((fast as CcxtVenueError).kind).toBe('circuit_open');
    expect(calls).toBe(3); // the venue was not reached
    await new Promise((r) => setTimeout(r, 70));
    await expect(g.call('x', async () => 'back')).resolves.toBe('back');
    expect(g.breakerState).toBe('closed');
    expect(rec.breaker).toEqual(['open', 'half_open', 'closed']);
  });

  it('counts every attempt: retries of one call can open the breaker', async () => {
    const { g } = guard({ consecutiveFailures: 2, maxRetries: 5 });
    let calls = 0;
    const err = await g
      .call('x', async () => {
        calls += 1;
        throw new RequestTimeout('t');
      })
      .catch((e: unknown) => e);
    expect((err as CcxtVenueError).kind).toBe('circuit_open');
    expect(calls).toBe(2);
  });

  it('a sampling breaker is available too', async () => {
    const g = new CallGuard(
      {
        venue: 'T',
        onRetry: () => undefined,
        onFailure: () => undefined,
        onBreaker: () => undefined,
        retryAfterMs: () => undefined,
        resyncClock: async () => undefined,
      },
      {
        ratePerSecond: 100,
        breaker: { sampling: { threshold: 0.5, durationMs: 10_000, minimumRps: 0.1 } },
        retry: { maxRetries: 0 },
      },
    );
    for (let i = 0; i < 10; i++)
      await g.call('x', async () => Promise.reject(new RequestTimeout('t'))).catch(() => undefined);
    expect(g.breakerState).toBe('open');
  });
});

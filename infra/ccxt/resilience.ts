/**
 * Resilience around every REST call of a venue session, built on cockatiel:
 *
 *   retry (transient, rate_limited; exponential back-off with jitter, Retry-After honoured)
 *     → circuit breaker (one per session; transient and rate-limited failures count)
 *       → our token bucket (`rate_limit_per_second`)
 *         → the venue's order budget for order operations (limits.ts)
 *           → the ccxt call (its `throttle(cost)` pays the endpoint's weight to the venue's
 *             weight budget, limits.ts; or ccxt's own fixed throttle with `rateLimiter: 'ccxt'`)
 *
 * Every attempt passes the breaker, so sustained failures open it even while retries are going
 * on; an open breaker fails fast with VenueError('circuit_open'), which is not retried. Business
 * answers (rejected, not_found, auth) pass through untouched and do not count against the venue.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  handleWhen,
  type IBreaker,
  type IRetryBackoffContext,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
} from 'cockatiel';
import type { BreakerState } from './diagnostics.ts';
import { CcxtVenueError, countsAgainstVenue, isRetryableKind, toVenueError } from './errors.ts';

export interface RetryOptions {
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** First back-off (default 200 ms); doubles each retry. */
  initialDelayMs?: number;
  /** Back-off cap (default 5,000 ms). */
  maxDelayMs?: number;
  /** Longest Retry-After we wait for; a venue asking for longer fails the call now (default 30,000 ms). */
  maxRetryAfterMs?: number;
  /** Random source in [0, 1) for the jitter (default Math.random; tests pass a fixed one). */
  random?: () => number;
}

export interface BreakerOptions {
  /** Open after this many consecutive failed attempts (default 5). Ignored when `sampling` is set. */
  consecutiveFailures?: number;
  /** Open when this share of attempts failed over a sliding window instead. */
  sampling?: { threshold: number; durationMs: number; minimumRps?: number };
  /** Let one trial call through after this long open (default 10,000 ms). */
  halfOpenAfterMs?: number;
}

export interface GuardHooks {
  venue: string;
  /** A retry is about to wait `delayMs`. */
  onRetry(operation: string, attempt: number, delayMs: number, err: CcxtVenueError): void;
  /** A call failed for good. */
  onFailure(operation: string, err: CcxtVenueError): void;
  onBreaker(state: BreakerState, reason?: string): void;
  /** Retry-After of the last failed response, in ms, when the venue sent one. */
  retryAfterMs(): number | undefined;
  /** The venue complained about our timestamp: re-measure the clock offset before the retry. */
  resyncClock(): Promise<void>;
  /** Before each attempt (after our bucket): the venue's order budget for order operations. */
  beforeCall?: ((operation: string) => Promise<void> | undefined) | undefined;
  /** After each attempt that reached the venue (answered or failed): read its rate headers. */
  afterCall?: (() => void) | undefined;
}

/** A token bucket: `ratePerSecond` tokens a second, bursts up to `burst`; waiters are served in order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();
  private readonly burst: number;

  constructor(
    private readonly ratePerSecond: number,
    burst?: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive: ${ratePerSecond}`);
    this.burst = Math.max(1, burst ?? Math.ceil(ratePerSecond));
    this.tokens = this.burst;
    this.last = this.nowMs();
  }

  /** Resolve when a token is available (and take it). */
  acquire(): Promise<void> {
    const run = this.tail.then(() => this.take());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = this.nowMs();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
      await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** The back-off before retry number `attempt` (1-based) after `err`. */
export function backoffDelay(
  attempt: number,
  err: CcxtVenueError | undefined,
  opts: Required<RetryOptions>,
): number {
  const factor = err?.kind === 'rate_limited' ? 2 : 1;
  const base = Math.min(opts.maxDelayMs, opts.initialDelayMs * factor * 2 ** Math.max(0, attempt - 1));
  // "Equal jitter": half fixed, half random, so concurrent callers spread out but never retry at once.
  const jittered = Math.round(base / 2 + (opts.random() * base) / 2);
  const retryAfter = err?.retryAfterMs;
  return retryAfter !== undefined ? Math.max(jittered, retryAfter) : jittered;
}

export function retryDefaults(o: RetryOptions = {}): Required<RetryOptions> {
  return {
    maxRetries: o.maxRetries ?? 3,
    initialDelayMs: o.initialDelayMs ?? 200,
    maxDelayMs: o.maxDelayMs ?? 5_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 30_000,
    random: o.random ?? Math.random,
  };
}

/** Retry + breaker + limiter for one venue session (see module doc). */
export class CallGuard {
  readonly retryOptions: Required<RetryOptions>;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly limiter: TokenBucket;

  constructor(
    private readonly hooks: GuardHooks,
    opts: { retry?: RetryOptions; breaker?: BreakerOptions; ratePerSecond: number },
  ) {
    this.retryOptions = retryDefaults(opts.retry);
    const b = opts.breaker ?? {};
    const inner: IBreaker = b.sampling
      ? new SamplingBreaker({
          threshold: b.sampling.threshold,
          duration: b.sampling.durationMs,
          ...(b.sampling.minimumRps !== undefined ? { minimumRps: b.sampling.minimumRps } : {}),
        })
      : new ConsecutiveBreaker(b.consecutiveFailures ?? 5);
    this.breaker = circuitBreaker(
      handleWhen((e) => e instanceof CcxtVenueError && countsAgainstVenue(e.kind)),
      { halfOpenAfter: b.halfOpenAfterMs ?? 10_000, breaker: inner },
    );
    this.breaker.onBreak((r) => {
      const reason = 'error' in r && r.error instanceof Error ? r.error.message : 'isolated';
      hooks.onBreaker('open', reason);
    });
    this.breaker.onHalfOpen(() => hooks.onBreaker('half_open'));
    this.breaker.onReset(() => hooks.onBreaker('closed'));
    this.limiter = new TokenBucket(opts.ratePerSecond);
  }

  get breakerState(): BreakerState {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      default:
        return 'open';
    }
  }

  /** One attempt through the breaker and the limiter; errors come out classified. */
  async once<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(async () => {
        await this.limiter.acquire();
        await this.hooks.beforeCall?.(operation);
        try {
          const out = await fn();
          this.hooks.afterCall?.();
          return out;
        } catch (err) {
          this.hooks.afterCall?.();
          throw toVenueError(this.hooks.venue, operation, err, this.hooks.retryAfterMs());
        }
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
        throw new CcxtVenueError('circuit_open', this.hooks.venue, `${operation}: circuit breaker open`, {
          cause: err,
          ccxtClass: err.name,
        });
      }
      throw err;
    }
  }

  /** Back-off for retry `attempt` after `err`, or null when the venue asked for a wait beyond our cap. */
  delayFor(attempt: number, err: CcxtVenueError | undefined): number | null {
    if (err?.retryAfterMs !== undefined && err.retryAfterMs > this.retryOptions.maxRetryAfterMs) return null;
    return backoffDelay(attempt, err, this.retryOptions);
  }

  /** `once` with retries of transient and rate-limited failures. */
  async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    let resync = false;
    const policy = retry(
      handleWhen(
        (e) =>
          e instanceof CcxtVenueError &&
          isRetryableKind(e.kind) &&
          !(e.retryAfterMs !== undefined && e.retryAfterMs > this.retryOptions.maxRetryAfterMs),
      ),
      {
        maxAttempts: this.retryOptions.maxRetries,
        backoff: new DelegateBackoff((ctx: IRetryBackoffContext<unknown>) => {
          const err =
            'error' in ctx.result && ctx.result.error instanceof CcxtVenueError
              ? ctx.result.error
              : undefined;
          return this.delayFor(ctx.attempt, err) ?? this.retryOptions.maxDelayMs;
        }),
      },
    );
    const listener = policy.onRetry((r) => {
      if ('error' in r && r.error instanceof CcxtVenueError) {
        if (r.error.clockSkew) resync = true;
        this.hooks.onRetry(operation, r.attempt, r.delay, r.error);
      }
    });
    try {
      return await policy.execute(async () => {
        if (resync) {
          resync = false;
          await this.hooks.resyncClock().catch(() => undefined);
        }
        return this.once(operation, fn);
      });
    } catch (err) {
      const e = err instanceof CcxtVenueError ? err : toVenueError(this.hooks.venue, operation, err);
      this.hooks.onFailure(operation, e);
      throw e;
    } finally {
      listener.dispose();
    }
  }
}

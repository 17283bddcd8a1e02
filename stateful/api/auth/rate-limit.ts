/**
 * Per-caller rate limits: a token bucket per caller and kind (all requests, mutating requests).
 * Pure apart from the clock the caller passes in; buckets idle long enough to be full again are
 * dropped, so the map stays as small as the set of active callers.
 */
export interface BucketRule {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: the burst allowed after a quiet period. */
  burst: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweepAtMs = 0;

  constructor(private readonly rule: BucketRule) {
    if (!(rule.perSecond > 0) || !(rule.burst >= 1)) throw new RangeError('perSecond > 0 and burst ≥ 1');
  }

  /** Take one token for `key` at `nowMs`; when empty, how many whole seconds until one is back. */
  take(key: string, nowMs: number): Take {
    this.sweep(nowMs);
    const b = this.buckets.get(key) ?? { tokens: this.rule.burst, atMs: nowMs };
    const elapsed = Math.max(0, nowMs - b.atMs) / 1000;
    const tokens = Math.min(this.rule.burst, b.tokens + elapsed * this.rule.perSecond);
    if (tokens >= 1) {
      this.buckets.set(key, { tokens: tokens - 1, atMs: nowMs });
      return { ok: true };
    }
    this.buckets.set(key, { tokens, atMs: nowMs });
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - tokens) / this.rule.perSecond)) };
  }

  /** Callers currently tracked (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(nowMs: number): void {
    if (nowMs < this.sweepAtMs) return;
    const fullAfterMs = (this.rule.burst / this.rule.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (nowMs - b.atMs >= fullAfterMs) this.buckets.delete(key);
    this.sweepAtMs = nowMs + Math.max(1000, fullAfterMs);
  }
}

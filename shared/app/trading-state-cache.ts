/**
 * A `TradingStateReader` that caches the store's snapshot for at most `pollMs` (config
 * `risk.trading_state_poll_ms`, at most 1000 ms), so every process honours a HALT within a second
 * while reading the store at most once per `pollMs` however many orders it handles. Concurrent
 * callers share one read. Time comes from the Clock (a TestClock in tests).
 *
 * A failed refresh is thrown (the order is retried) — never answered with a stale ACTIVE that may
 * no longer be true — except within `staleGraceMs` (default 0) of the last good read.
 */
import { NANOS_PER_MILLI, type Nanos } from '../domain/time.ts';
import type { Clock } from '../ports/clock.ts';
import type { TradingStateReader, TradingStateSnapshot } from '../ports/trading-state-store.ts';

export interface CachedTradingStateReaderOptions {
  /** Refresh interval; 1..1000 ms (the SPEC's "within 1 s"). */
  pollMs: number;
  clock: Clock;
  /** Serve the last snapshot when a refresh fails, if it is younger than this (default 0: never). */
  staleGraceMs?: number | undefined;
}

export class CachedTradingStateReader implements TradingStateReader {
  private readonly source: TradingStateReader;
  private readonly clock: Clock;
  private readonly pollNs: Nanos;
  private readonly graceNs: Nanos;
  private cached: { at: Nanos; snapshot: TradingStateSnapshot } | null = null;
  private inflight: Promise<TradingStateSnapshot> | null = null;

  constructor(source: TradingStateReader, opts: CachedTradingStateReaderOptions) {
    if (!Number.isInteger(opts.pollMs) || opts.pollMs < 1 || opts.pollMs > 1000) {
      throw new RangeError(
        `pollMs must be an integer in [1, 1000] (a change is honoured within 1 s), got ${opts.pollMs}`,
      );
    }
    this.source = source;
    this.clock = opts.clock;
    this.pollNs = BigInt(opts.pollMs) * NANOS_PER_MILLI;
    this.graceNs = BigInt(Math.max(0, Math.trunc(opts.staleGraceMs ?? 0))) * NANOS_PER_MILLI;
  }

  async snapshot(): Promise<TradingStateSnapshot> {
    const now = this.clock.now();
    const c = this.cached;
    if (c !== null && now - c.at < this.pollNs && now >= c.at) return c.snapshot;
    try {
      return await this.refresh(now);
    } catch (err) {
      if (c !== null && now - c.at < this.graceNs) return c.snapshot;
      throw err;
    }
  }

  /** Drop the cached snapshot (e.g. right after this process changed the state). */
  invalidate(): void {
    this.cached = null;
  }

  private refresh(now: Nanos): Promise<TradingStateSnapshot> {
    if (this.inflight !== null) return this.inflight;
    const p = this.source.snapshot().then((snapshot) => {
      // Stamp with the time the read STARTED: the snapshot is at least that fresh.
      if (this.cached === null || this.cached.at <= now) this.cached = { at: now, snapshot };
      return snapshot;
    });
    this.inflight = p;
    p.finally(() => {
      if (this.inflight === p) this.inflight = null;
    }).catch(() => undefined);
    return p;
  }
}

/**
 * Fault injection for the local exchange. Every fault is deterministic (counted requests or
 * events, never a random draw) and observable (`stats`). HTTP faults match a request by exact
 * path and optional method; without a matcher they take the next requests of any kind (the
 * exchange's own `GET /` health probe aside).
 */

export interface RequestMatcher {
  /** Exact path, e.g. `/api/v3/order`. */
  path?: string | undefined;
  /** HTTP method, e.g. `POST`. */
  method?: string | undefined;
}

export interface FailOptions extends RequestMatcher {
  /** HTTP status of the failure (default 503). The body is a gateway's plain-text page. */
  status?: 500 | 502 | 503 | 504 | undefined;
}

export interface RateLimitOptions extends RequestMatcher {
  /** Retry-After header, seconds (default 1). */
  retryAfterSec?: number | undefined;
}

export interface TimeoutOptions extends RequestMatcher {
  /**
   * Run the request anyway (default false). With `execute: true` and no `delayMs` the request takes
   * effect and is never answered: the "crash between submit and ack" case.
   */
  execute?: boolean | undefined;
  /**
   * Answer after this many milliseconds instead of never. Without `execute` the request is executed
   * when the delay ends (a slow venue); with `execute` it is executed at once and the answer is late.
   */
  delayMs?: number | undefined;
}

export interface FaultStats {
  /** WebSocket connections closed by `dropWebSockets()` / `offline()`. */
  droppedWebSockets: number;
  /** Requests answered with a 5xx by `failNext`. */
  failed: number;
  /** Requests answered with 429 by `rateLimitNext`. */
  rateLimited: number;
  /** Requests held by `timeoutNext` (unanswered or answered late). */
  timedOut: number;
  /** Requests held by `timeoutNext` that were executed. */
  timedOutExecuted: number;
  /** Order replies held back by `delayAcks`. */
  delayedAcks: number;
  /** Private events sent a second time by `duplicateEvents`. */
  duplicatedEvents: number;
  /** Adjacent private events swapped by `reorderEvents`. */
  reorderedEvents: number;
  /** WebSocket messages held while paused by `pauseWs`. */
  pausedMessages: number;
  /** Connections refused while offline. */
  refusedOffline: number;
}

export type HttpFault =
  | { kind: 'fail'; status: number }
  | { kind: 'rateLimit'; retryAfterSec: number }
  | { kind: 'timeout'; execute: boolean; delayMs: number | null };

interface Rule<T> {
  left: number;
  matcher: RequestMatcher;
  value: T;
}

/** What the server does for a fault (attached by the server). */
export interface FaultHooks {
  dropWebSockets(): number;
  dropHttpConnections(): void;
  flushPaused(): void;
  flushHeldEvents(): void;
}

export class FaultController {
  private readonly counters: FaultStats = {
    droppedWebSockets: 0,
    failed: 0,
    rateLimited: 0,
    timedOut: 0,
    timedOutExecuted: 0,
    delayedAcks: 0,
    duplicatedEvents: 0,
    reorderedEvents: 0,
    pausedMessages: 0,
    refusedOffline: 0,
  };
  private rules: Array<Rule<HttpFault>> = [];
  private ackDelayMs = 0;
  private duplicate = false;
  private reorder = false;
  private pausedUntil = 0;
  private pauseTimer: NodeJS.Timeout | null = null;
  private isOffline = false;
  private hooks: FaultHooks | null = null;

  /** @internal the server wires the actions here. */
  attach(hooks: FaultHooks): void {
    this.hooks = hooks;
  }

  /** Close every WebSocket connection abruptly (no close frame). Returns how many were closed. */
  dropWebSockets(): number {
    const n = this.hooks?.dropWebSockets() ?? 0;
    this.counters.droppedWebSockets += n;
    return n;
  }

  /** Answer the next `n` matching requests with a 5xx (not executed). */
  failNext(n: number, opts: FailOptions = {}): void {
    this.add(n, opts, { kind: 'fail', status: opts.status ?? 503 });
  }

  /** Answer the next `n` matching requests with 429, Binance -1003 and Retry-After (not executed). */
  rateLimitNext(n: number, opts: RateLimitOptions = {}): void {
    this.add(n, opts, { kind: 'rateLimit', retryAfterSec: opts.retryAfterSec ?? 1 });
  }

  /** Accept the next `n` matching requests and never answer them (or answer late); see {@link TimeoutOptions}. */
  timeoutNext(n: number, opts: TimeoutOptions = {}): void {
    this.add(n, opts, { kind: 'timeout', execute: opts.execute ?? false, delayMs: opts.delayMs ?? null });
  }

  /** Hold every order reply (new order, cancel) for `ms` after executing it; 0 turns it off. */
  delayAcks(ms: number): void {
    this.ackDelayMs = Math.max(0, ms);
  }

  /** Send every private WebSocket event twice. */
  duplicateEvents(on: boolean): void {
    this.duplicate = on;
  }

  /** Swap adjacent private WebSocket events (a held event goes out after the next one, or at the next tick). */
  reorderEvents(on: boolean): void {
    this.reorder = on;
    if (!on) this.hooks?.flushHeldEvents();
  }

  /** Hold every WebSocket message for `ms` (wall time), then deliver them in order. */
  pauseWs(ms: number): void {
    this.pausedUntil = Date.now() + Math.max(0, ms);
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      this.pausedUntil = 0;
      this.hooks?.flushPaused();
    }, ms);
  }

  /** Refuse every connection (reset), close keep-alive HTTP connections and every WebSocket. */
  offline(): void {
    this.isOffline = true;
    this.hooks?.dropHttpConnections();
    this.dropWebSockets();
  }

  online(): void {
    this.isOffline = false;
  }

  /** Clear every pending fault and switch every mode off (counters are kept). */
  reset(): void {
    this.rules = [];
    this.ackDelayMs = 0;
    this.duplicate = false;
    this.isOffline = false;
    this.reorderEvents(false);
    if (this.pauseTimer !== null) {
      clearTimeout(this.pauseTimer);
      this.pauseTimer = null;
    }
    this.pausedUntil = 0;
    this.hooks?.flushPaused();
  }

  /** A snapshot of the counters. */
  get stats(): FaultStats {
    return { ...this.counters };
  }

  /** Faults still armed (requests left per rule). */
  get pending(): number {
    return this.rules.reduce((n, r) => n + r.left, 0);
  }

  // ------------------------------------------------------------------ used by the server

  /** @internal */
  get offlineNow(): boolean {
    return this.isOffline;
  }
  /** @internal */
  get ackDelay(): number {
    return this.ackDelayMs;
  }
  /** @internal */
  get duplicating(): boolean {
    return this.duplicate;
  }
  /** @internal */
  get reordering(): boolean {
    return this.reorder;
  }
  /** @internal */
  get paused(): boolean {
    return this.pausedUntil > Date.now() || this.pauseTimer !== null;
  }

  /** @internal the fault for this request, if one is armed (consumes it). */
  take(method: string, path: string): HttpFault | null {
    for (const rule of this.rules) {
      if (rule.left <= 0) continue;
      if (rule.matcher.path !== undefined && rule.matcher.path !== path) continue;
      if (rule.matcher.method !== undefined && rule.matcher.method.toUpperCase() !== method) continue;
      rule.left--;
      this.rules = this.rules.filter((r) => r.left > 0);
      return rule.value;
    }
    return null;
  }

  /** @internal */
  count(key: keyof FaultStats, n = 1): void {
    this.counters[key] += n;
  }

  private add(n: number, matcher: RequestMatcher, value: HttpFault): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`fault count must be a whole number >= 0, got ${n}`);
    if (n === 0) return;
    this.rules.push({ left: n, matcher: { path: matcher.path, method: matcher.method }, value });
  }
}

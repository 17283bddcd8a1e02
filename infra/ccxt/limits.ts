/**
 * The venue's own request limits, enforced by the adapter instead of ccxt's fixed throttle.
 *
 * ccxt's throttle (`enableRateLimit`) spaces every call by `cost × rateLimit` ms whatever the
 * client's idle time (a Binance order waits ~10 ms before it is sent). Venues do not limit that way:
 * they count request weight and orders in windows (Binance: 6,000 weight a minute and 100 orders
 * per 10 s per account). {@link VenueRateLimiter} keeps one sliding-window log per documented limit
 * and lets a call through at once while every window has room; only a call that would exceed a
 * budget waits, until enough of the window's earlier usage has aged out. A sliding window is never
 * looser than the venue's fixed windows. Weights are ccxt's per-endpoint costs (ccxt's api tables
 * carry the venues' documented weights: Binance `GET /api/v3/order` costs 4, as Binance weighs it);
 * counts the venue reports in response headers (`x-mbx-used-weight-1m`, ...) raise our count
 * when the venue has seen more than we have (other sessions on the same key or IP).
 *
 * The ccxt instance's `throttle(cost)` is replaced by {@link VenueRateLimiter.acquireWeight}, so
 * every REST call ccxt makes (its own pagination and market loads included) pays its weight here.
 */
import type { ClientIdExchange } from './client-ids.ts';

/** One documented limit: at most `limit` units in any `windowMs`. */
export interface RateWindow {
  name: string;
  limit: number;
  windowMs: number;
  /** Response header (lower case) carrying the venue's own count for this window. */
  usedHeader?: string | undefined;
}

export interface VenueRateLimits {
  /** Request weight (ccxt cost units). */
  weight: RateWindow[];
  /** Order placements (and, where the venue counts them, cancels): see `orderOperations`. */
  orders: RateWindow[];
  /** Adapter operations that count against `orders`. */
  orderOperations: readonly string[];
  /**
   * Venues whose matching engine has its own pool (Deribit): a ccxt call of this cost is a
   * matching-engine call (ccxt weighs Deribit's buy / sell / cancel / edit at 4) and is charged one
   * order to `orders` instead of weight.
   */
  matchingEngineCost?: number | undefined;
}

/**
 * Documented limits per exchange (the default tier of a single account / IP):
 * - Binance spot: 6,000 weight / min (`x-mbx-used-weight-1m`); 100 orders / 10 s
 *   (`x-mbx-order-count-10s`) and 200,000 / day.
 * - Binance USDⓈ-M: 2,400 weight / min; 300 orders / 10 s and 1,200 / min.
 * - Bybit v5: 600 requests / 5 s per IP; 10 orders / s per UID on create/cancel.
 * - OKX: 60 orders / 2 s per account (place); 20 requests / 2 s on most private endpoints.
 * - Deribit: non-matching-engine requests 20 / s (burst 100); matching engine (buy, sell, cancel)
 *   5 / s sustained with a burst of 20.
 */
export const VENUE_RATE_LIMITS: Readonly<Record<ClientIdExchange, VenueRateLimits>> = {
  binance: {
    weight: [
      { name: 'REQUEST_WEIGHT_1M', limit: 6_000, windowMs: 60_000, usedHeader: 'x-mbx-used-weight-1m' },
    ],
    orders: [
      { name: 'ORDERS_10S', limit: 100, windowMs: 10_000, usedHeader: 'x-mbx-order-count-10s' },
      { name: 'ORDERS_1D', limit: 200_000, windowMs: 86_400_000, usedHeader: 'x-mbx-order-count-1d' },
    ],
    orderOperations: ['createOrder'],
  },
  binanceusdm: {
    weight: [
      { name: 'REQUEST_WEIGHT_1M', limit: 2_400, windowMs: 60_000, usedHeader: 'x-mbx-used-weight-1m' },
    ],
    orders: [
      { name: 'ORDERS_10S', limit: 300, windowMs: 10_000, usedHeader: 'x-mbx-order-count-10s' },
      { name: 'ORDERS_1M', limit: 1_200, windowMs: 60_000, usedHeader: 'x-mbx-order-count-1m' },
    ],
    orderOperations: ['createOrder'],
  },
  bybit: {
    weight: [{ name: 'IP_5S', limit: 600, windowMs: 5_000 }],
    orders: [{ name: 'ORDERS_1S', limit: 10, windowMs: 1_000 }],
    orderOperations: ['createOrder', 'cancelOrder'],
  },
  okx: {
    weight: [{ name: 'REQUESTS_2S', limit: 20, windowMs: 2_000 }],
    orders: [{ name: 'ORDERS_2S', limit: 60, windowMs: 2_000 }],
    orderOperations: ['createOrder'],
  },
  deribit: {
    weight: [
      { name: 'NON_MATCHING_1S', limit: 20, windowMs: 1_000 },
      { name: 'NON_MATCHING_BURST_5S', limit: 100, windowMs: 5_000 },
    ],
    orders: [
      { name: 'MATCHING_1S', limit: 5, windowMs: 1_000 },
      { name: 'MATCHING_BURST_4S', limit: 20, windowMs: 4_000 },
    ],
    orderOperations: [],
    matchingEngineCost: 4,
  },
};

/** A sliding-window log: (time, units) entries of the last `windowMs`. */
class SlidingWindow {
  private readonly times: number[] = [];
  private readonly units: number[] = [];
  private head = 0;
  private used = 0;

  constructor(readonly w: RateWindow) {}

  private expire(now: number): void {
    const from = now - this.w.windowMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= from) {
      this.used -= this.units[this.head] as number;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.units.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Milliseconds until `cost` fits (0: now). A cost above the limit fits in an empty window. */
  waitFor(cost: number, now: number): number {
    this.expire(now);
    const need = Math.min(cost, this.w.limit);
    if (this.used + need <= this.w.limit) return 0;
    let free = this.w.limit - this.used;
    for (let i = this.head; i < this.times.length; i++) {
      free += this.units[i] as number;
      if (free >= need) return Math.max(1, (this.times[i] as number) + this.w.windowMs - now + 1);
    }
    return this.w.windowMs;
  }

  take(cost: number, now: number): void {
    this.times.push(now);
    this.units.push(cost);
    this.used += cost;
  }

  /** The venue reports `reported` used in its window: never count less than that. */
  observe(reported: number, now: number): void {
    this.expire(now);
    if (Number.isFinite(reported) && reported > this.used) this.take(reported - this.used, now);
  }

  get inUse(): number {
    return this.used;
  }

  /** Milliseconds until the oldest usage in the window ages out (0: nothing in use). */
  refillMs(now: number): number {
    this.expire(now);
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : Math.max(0, oldest + this.w.windowMs - now);
  }
}

/** One budget's state now: units used of `limit` in the sliding `window_ms`. */
export interface RateBudget {
  name: string;
  kind: 'weight' | 'orders';
  used: number;
  limit: number;
  window_ms: number;
  /** Milliseconds until the oldest usage in the window ages out and gives its units back (0: none in use). */
  refill_ms: number;
}

/** An adapter that paces by venue budgets exposes them (the ccxt adapter, the IBKR adapter, a SHADOW venue's data session). */
export interface RateBudgetSource {
  /** Each venue budget's use, limit, window and time to refill (null: not paced by venue budgets). */
  rateLimitBudgets(): RateBudget[] | null;
}

/** The venue budgets `adapter` exposes (null: it exposes none). */
export function rateLimitBudgetsOf(adapter: object): RateBudget[] | null {
  const source = adapter as Partial<RateBudgetSource>;
  return typeof source.rateLimitBudgets === 'function' ? source.rateLimitBudgets() : null;
}

export interface RateLimiterStats {
  /** Calls that had to wait for a budget, and the total wait. */
  waited: number;
  waitedMs: number;
  /** Units in use per window now. */
  usage: Record<string, number>;
}

/** The venue's request-weight and order budgets (see module doc). Waiters are served in order. */
export class VenueRateLimiter {
  private readonly weight: SlidingWindow[];
  private readonly orders: SlidingWindow[];
  private readonly orderOps: ReadonlySet<string>;
  private tail: Promise<void> = Promise.resolve();
  private waited = 0;
  private waitedMs = 0;

  constructor(
    limits: VenueRateLimits,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.weight = limits.weight.map((w) => new SlidingWindow(w));
    this.orders = limits.orders.map((w) => new SlidingWindow(w));
    this.orderOps = new Set(limits.orderOperations);
    this.matchingCost = limits.matchingEngineCost;
  }

  private readonly matchingCost: number | undefined;

  /** Pay `cost` request weight (ccxt's `throttle(cost)`); a matching-engine call pays one order instead. */
  acquireWeight(cost = 1): Promise<void> {
    if (this.matchingCost !== undefined && cost === this.matchingCost) return this.enqueue(this.orders, 1);
    return this.enqueue(this.weight, cost > 0 ? cost : 1);
  }

  /** Pay one order when `operation` counts as an order at this venue (no-op otherwise). */
  acquireOrder(operation: string): Promise<void> {
    if (!this.orderOps.has(operation)) return Promise.resolve();
    return this.enqueue(this.orders, 1);
  }

  /** Read the venue's own counts from a response's headers (any case). */
  observeHeaders(headers: Record<string, unknown> | undefined | null): void {
    if (headers === undefined || headers === null) return;
    const lower = new Map<string, unknown>();
    for (const [k, v] of Object.entries(headers)) lower.set(k.toLowerCase(), v);
    const now = this.nowMs();
    for (const w of [...this.weight, ...this.orders]) {
      const h = w.w.usedHeader;
      if (h === undefined) continue;
      const v = lower.get(h);
      if (v === undefined) continue;
      w.observe(Number(v), now);
    }
  }

  get stats(): RateLimiterStats {
    const usage: Record<string, number> = {};
    for (const w of [...this.weight, ...this.orders]) usage[w.w.name] = w.inUse;
    return { waited: this.waited, waitedMs: this.waitedMs, usage };
  }

  /** Every budget's use, limit, window and time to the next refill. */
  budgets(): RateBudget[] {
    const now = this.nowMs();
    const view =
      (kind: RateBudget['kind']) =>
      (w: SlidingWindow): RateBudget => {
        const refill = w.refillMs(now); // ages out expired usage first
        return {
          name: w.w.name,
          kind,
          used: Math.round(w.inUse * 1000) / 1000,
          limit: w.w.limit,
          window_ms: w.w.windowMs,
          refill_ms: Math.ceil(refill),
        };
      };
    return [...this.weight.map(view('weight')), ...this.orders.map(view('orders'))];
  }

  private enqueue(windows: readonly SlidingWindow[], cost: number): Promise<void> {
    // Fast path: nobody waiting and every window has room.
    const now = this.nowMs();
    if (this.pending === 0 && windows.every((w) => w.waitFor(cost, now) === 0)) {
      for (const w of windows) w.take(cost, now);
      return Promise.resolve();
    }
    this.pending++;
    const run = this.tail
      .then(() => this.take(windows, cost))
      .finally(() => {
        this.pending--;
      });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Calls queued behind a spent budget (a new call waits behind them, in order). */
  private pending = 0;

  private async take(windows: readonly SlidingWindow[], cost: number): Promise<void> {
    const started = this.nowMs();
    let waited = false;
    for (;;) {
      const now = this.nowMs();
      const wait = Math.max(0, ...windows.map((w) => w.waitFor(cost, now)));
      if (wait === 0) {
        for (const w of windows) w.take(cost, now);
        if (waited) {
          this.waited++;
          this.waitedMs += now - started;
        }
        return;
      }
      waited = true;
      await this.sleep(wait);
    }
  }
}

/**
 * The smart order router: `route(order, candidates, settings)` scores every candidate venue and
 * picks the cheapest eligible one. Pure and deterministic; the same code routes backtests and live.
 *
 * Cost of a venue, in basis points of the order's notional (all components rounded to 1e-6 bps):
 *
 *   total = w.fee·fee_bps + w.slippage·slippage_bps + w.latency·latency_bps + w.rejection·rejection_bps
 *           (+ degraded_penalty_bps for a DEGRADED venue)
 *
 * - fee_bps: taker fee for MARKET orders and for LIMIT orders marketable against the venue's visible
 *   book (or whose marketability cannot be seen: no depth); maker fee for resting LIMIT orders and
 *   always for post-only (GTX) orders. Fee fraction × 10 000.
 * - slippage_bps: the average price of walking the venue's visible depth for the order quantity
 *   (in the venue's book units: quantity / `depth_unit`, its contract size relative to the order's),
 *   against ONE reference shared by all venues — the best mid among the eligible venues with a
 *   two-sided book (lowest for a buy, highest for a sell; else the best touch on the taken side).
 *   A common reference makes venues with different price levels comparable (buying where the book
 *   is higher costs more) and ranks venues by what the order actually pays. Quantity beyond the
 *   visible depth is priced at the last visible level worsened by `beyond_depth_penalty_bps`
 *   (capped at the limit price for LIMIT orders); a LIMIT order's levels beyond its limit price are
 *   not taken and the remainder is valued at the limit price (it rests there). A resting
 *   (non-marketable) LIMIT order has slippage 0. A venue without visible depth on the taken side
 *   gets `missing_depth_penalty_bps`.
 * - latency_bps: latency_ms (or `default_latency_ms`) × `latency_cost_bps_per_ms`.
 * - rejection_bps: rejection rate (clamped to [0, 1]) × `rejection_penalty_bps`.
 *
 * Tie-break (deterministic): lower total cost, then lower latency (ms), then venue id (code-unit
 * lexicographic order).
 */
import type { VenueScore } from '../domain/events.ts';
import type { OrderInstruction } from '../domain/types.ts';
import type { BookLevel, RouterSettings, RoutingDecision, VenueCandidate } from './types.ts';

const BPS = 10_000;

/** Round to 1e-6 bps (stable stored figures, float noise cannot decide a tie); never −0. */
export function roundBps(x: number): number {
  const r = Math.round(x * 1e6) / 1e6;
  return r === 0 ? 0 : r;
}

function ineligibleReason(c: VenueCandidate, settings: RouterSettings): string | null {
  switch (c.status) {
    case 'UP':
      return null;
    case 'DEGRADED':
      return settings.degraded_penalty_bps === null
        ? 'venue degraded (degraded venues are not eligible)'
        : null;
    case 'CIRCUIT_OPEN':
      return 'circuit open';
    case 'DOWN':
      return 'venue down';
    case 'UNKNOWN':
      return 'venue state unknown';
  }
}

function firstValid(levels: readonly BookLevel[] | undefined): BookLevel | null {
  if (levels === undefined) return null;
  for (const l of levels) if (l.price > 0 && l.size > 0) return l;
  return null;
}

interface Working {
  candidate: VenueCandidate;
  index: number;
  reason: string | null;
  latencyMs: number;
  score: VenueScore;
}

function ineligibleScore(venue: string, reason: string): VenueScore {
  return {
    venue,
    eligible: false,
    total_cost_bps: null,
    fee_bps: null,
    slippage_bps: null,
    latency_bps: null,
    rejection_bps: null,
    reason,
  };
}

function unscored(venue: string, reason?: string): VenueScore {
  const s: VenueScore = {
    venue,
    eligible: true,
    total_cost_bps: null,
    fee_bps: null,
    slippage_bps: null,
    latency_bps: null,
    rejection_bps: null,
  };
  if (reason !== undefined) s.reason = reason;
  return s;
}

/**
 * Average price of taking `qty` from `levels` (best first). For LIMIT orders (`limit` not null)
 * levels beyond the limit are not taken and the remainder is valued at the limit; quantity beyond
 * the visible depth is valued at the last level worsened by `beyondBps` (capped at the limit).
 */
export function walkDepth(
  levels: readonly BookLevel[],
  qty: number,
  buy: boolean,
  limit: number | null,
  beyondBps: number,
): { avg_price: number; visible_qty: number } {
  let rem = qty;
  let cost = 0;
  let last = Number.NaN;
  let stoppedByLimit = false;
  for (const l of levels) {
    if (!(l.price > 0 && l.size > 0)) continue;
    if (limit !== null && (buy ? l.price > limit : l.price < limit)) {
      stoppedByLimit = true;
      break;
    }
    const take = Math.min(l.size, rem);
    cost += take * l.price;
    rem = take === rem ? 0 : rem - take;
    last = l.price;
    if (rem === 0) break;
  }
  const visible = qty - rem;
  if (rem > 0) {
    let px: number;
    if (stoppedByLimit && limit !== null) px = limit;
    else {
      const base = Number.isNaN(last) ? (limit ?? 0) : last;
      px = buy ? base * (1 + beyondBps / BPS) : base * (1 - beyondBps / BPS);
      if (limit !== null) px = buy ? Math.min(px, limit) : Math.max(px, limit);
    }
    cost += rem * px;
  }
  return { avg_price: cost / qty, visible_qty: visible };
}

function compareScored(a: Working, b: Working): number {
  const ca = a.score.total_cost_bps as number;
  const cb = b.score.total_cost_bps as number;
  if (ca !== cb) return ca - cb;
  if (a.latencyMs !== b.latencyMs) return a.latencyMs - b.latencyMs;
  return a.candidate.venue < b.candidate.venue ? -1 : a.candidate.venue > b.candidate.venue ? 1 : 0;
}

function byVenue(a: VenueScore, b: VenueScore): number {
  return a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : 0;
}

/**
 * Choose the venue for `order` among `candidates` (the venues serving its instrument type).
 * Every candidate gets a VenueScore. An order naming its venue skips scoring but that venue must
 * be an eligible candidate. No eligible venue → `{routed: false, reason}`.
 */
export function route(
  order: OrderInstruction,
  candidates: readonly VenueCandidate[],
  settings: RouterSettings,
): RoutingDecision {
  const buy = order.side === 'BUY';
  const isLimit = order.order_type === 'LIMIT';
  const postOnly = isLimit && order.time_in_force === 'GTX';
  const qty = Number(order.quantity);
  const limit = isLimit && order.price !== null ? Number(order.price) : null;

  // Eligibility (status, duplicates).
  const work: Working[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as VenueCandidate;
    let reason = seen.has(c.venue) ? 'duplicate candidate' : ineligibleReason(c, settings);
    seen.add(c.venue);
    if (reason === null && !(Number.isFinite(c.maker_fee) && Number.isFinite(c.taker_fee)))
      reason = 'fees unknown';
    const latencyMs =
      c.latency_ms !== null && Number.isFinite(c.latency_ms) && c.latency_ms >= 0
        ? c.latency_ms
        : settings.default_latency_ms;
    work.push({
      candidate: c,
      index: i,
      reason,
      latencyMs,
      score: reason === null ? unscored(c.venue) : ineligibleScore(c.venue, reason),
    });
  }

  // An order that names its venue: eligibility only.
  if (order.venue !== undefined) {
    const named = work.find((w) => w.candidate.venue === order.venue);
    const scores = work.map((w) => w.score);
    if (named === undefined) {
      return {
        routed: false,
        reason: `venue ${order.venue} named by order is not a candidate for this instrument`,
        scores,
      };
    }
    if (named.reason !== null) {
      return {
        routed: false,
        reason: `venue ${order.venue} named by order is not eligible: ${named.reason}`,
        scores,
      };
    }
    named.score.reason = 'venue named by order';
    return {
      routed: true,
      venue: named.candidate.venue,
      account_id: named.candidate.account_id ?? null,
      scores,
      reason: 'venue named by order',
    };
  }

  if (!(qty > 0) || !Number.isFinite(qty) || (isLimit && !(limit !== null && limit > 0))) {
    return {
      routed: false,
      reason:
        isLimit && !(limit !== null && limit > 0)
          ? 'a LIMIT order needs a price > 0'
          : 'quantity must be > 0',
      scores: work.map((w) => w.score),
    };
  }

  // Common slippage reference: best mid among eligible two-sided books, else best touch.
  let ref = Number.NaN;
  let touch = Number.NaN;
  for (const w of work) {
    if (w.reason !== null || w.candidate.depth === null) continue;
    const bid = firstValid(w.candidate.depth.bids);
    const ask = firstValid(w.candidate.depth.asks);
    if (bid !== null && ask !== null) {
      const mid = (bid.price + ask.price) / 2;
      if (Number.isNaN(ref) || (buy ? mid < ref : mid > ref)) ref = mid;
    }
    const t = buy ? ask : bid;
    if (t !== null && (Number.isNaN(touch) || (buy ? t.price < touch : t.price > touch))) touch = t.price;
  }
  if (Number.isNaN(ref)) ref = touch;

  const w8 = settings.weights;
  for (const w of work) {
    if (w.reason !== null) continue;
    const c = w.candidate;
    const levels = c.depth === null ? undefined : buy ? c.depth.asks : c.depth.bids;
    const best = firstValid(levels);
    let taker: boolean;
    let slippage: number;
    if (best === null || levels === undefined || Number.isNaN(ref)) {
      taker = !postOnly;
      slippage = settings.missing_depth_penalty_bps;
    } else {
      const marketable =
        !isLimit || (buy ? (limit as number) >= best.price : (limit as number) <= best.price);
      if (postOnly && marketable) {
        w.reason = 'post-only order would cross the book';
        w.score = ineligibleScore(c.venue, w.reason);
        continue;
      }
      taker = marketable;
      if (marketable) {
        const unit = c.depth_unit != null && c.depth_unit > 0 ? c.depth_unit : 1;
        const { avg_price } = walkDepth(levels, qty / unit, buy, limit, settings.beyond_depth_penalty_bps);
        slippage = ((buy ? avg_price - ref : ref - avg_price) / ref) * BPS;
      } else {
        slippage = 0;
      }
    }
    const fee = roundBps((taker ? c.taker_fee : c.maker_fee) * BPS);
    const slip = roundBps(slippage);
    const lat = roundBps(w.latencyMs * settings.latency_cost_bps_per_ms);
    const rate =
      c.rejection_rate === null || !Number.isFinite(c.rejection_rate)
        ? 0
        : Math.min(1, Math.max(0, c.rejection_rate));
    const rej = roundBps(rate * settings.rejection_penalty_bps);
    const degraded = c.status === 'DEGRADED' ? (settings.degraded_penalty_bps ?? 0) : 0;
    const total = roundBps(
      w8.fee * fee + w8.slippage * slip + w8.latency * lat + w8.rejection * rej + degraded,
    );
    const score: VenueScore = {
      venue: c.venue,
      eligible: true,
      total_cost_bps: total,
      fee_bps: fee,
      slippage_bps: slip,
      latency_bps: lat,
      rejection_bps: rej,
    };
    const notes: string[] = [];
    if (best === null) notes.push('no visible depth (penalty)');
    if (degraded > 0) notes.push(`degraded (+${degraded} bps)`);
    if (notes.length > 0) score.reason = notes.join('; ');
    w.score = score;
  }

  const eligible = work.filter((w) => w.reason === null);
  const ineligible = work.filter((w) => w.reason !== null).map((w) => w.score);
  ineligible.sort(byVenue);
  if (eligible.length === 0) {
    return { routed: false, reason: 'no eligible venue', scores: ineligible };
  }
  const ranked = [...eligible].sort(compareScored);
  const scores = [...ranked.map((w) => w.score), ...ineligible];

  let chosen: Working;
  let reason: string;
  if (!settings.smart_execution_enabled) {
    chosen = eligible[0] as Working; // candidate order = configured preference order
    reason = 'smart execution disabled: first eligible venue in preference order';
  } else {
    chosen = ranked[0] as Working;
    const second = ranked[1];
    const cost = chosen.score.total_cost_bps as number;
    if (second === undefined) reason = `only eligible venue (cost ${cost} bps)`;
    else if (second.score.total_cost_bps !== cost) {
      reason = `lowest cost ${cost} bps (next ${second.candidate.venue} ${second.score.total_cost_bps} bps)`;
    } else if (second.latencyMs !== chosen.latencyMs) {
      reason = `lowest cost ${cost} bps, tied with ${second.candidate.venue}: lower latency`;
    } else {
      reason = `lowest cost ${cost} bps, tied with ${second.candidate.venue} on cost and latency: venue id order`;
    }
  }
  return {
    routed: true,
    venue: chosen.candidate.venue,
    account_id: chosen.candidate.account_id ?? null,
    scores,
    reason,
  };
}

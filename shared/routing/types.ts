/**
 * Data shapes of the smart order router: venue candidates (what the shell knows about each venue
 * right now), router settings (from config) and the routing decision.
 */
import type { VenueScore } from '../domain/events.ts';
import type { InstrumentType } from '../domain/instrument-id.ts';

/**
 * Venue health as the shell sees it. UP: eligible. DEGRADED: eligible with a penalty (or not at
 * all, see `degraded_penalty_bps`). CIRCUIT_OPEN / DOWN / UNKNOWN: ineligible.
 */
export const VENUE_STATUSES = ['UP', 'DEGRADED', 'CIRCUIT_OPEN', 'DOWN', 'UNKNOWN'] as const;
export type VenueStatus = (typeof VENUE_STATUSES)[number];

/** One visible price level. Numbers: depth feeds a cost estimate, not money. */
export interface BookLevel {
  price: number;
  size: number;
}

/** Visible order book, each side best first (bids descending, asks ascending). */
export interface VisibleDepth {
  bids: readonly BookLevel[];
  asks: readonly BookLevel[];
}

/** A venue serving the order's instrument type, with its current state. */
export interface VenueCandidate {
  venue: string;
  account_id?: string | null | undefined;
  status: VenueStatus;
  /** Fees as fractions of notional (0.001 = 10 bps; negative = rebate). */
  maker_fee: number;
  taker_fee: number;
  /** Latest visible depth for the instrument on this venue; null when there is none. */
  depth: VisibleDepth | null;
  /**
   * Units of the order's quantity in one unit of this venue's book sizes: the venue instrument's
   * contract size over the order instrument's (OKX `BTC-USDT-SWAP` books count 0.01 BTC contracts,
   * so 0.01 for an order in BTC). Absent or null: 1 (the same units).
   */
  depth_unit?: number | null | undefined;
  /** Latency estimate in ms; null = unknown (`default_latency_ms` is assumed). */
  latency_ms: number | null;
  /** Rejections / last N orders, in [0, 1]; null = no history (0 assumed). */
  rejection_rate: number | null;
}

/** Static facts about a configured venue (from `cfg.venues`). */
export interface VenueSettings {
  /** Configured fees (fractions) or null when the config has none. */
  maker_fee: number | null;
  taker_fee: number | null;
  /** Configured latency estimate (ms), used when no measurement is available. */
  latency_ms: number;
  /** First account of the venue, the one orders are routed to. */
  account_id: string | null;
}

export interface RouterWeights {
  fee: number;
  slippage: number;
  latency: number;
  rejection: number;
}

export interface RouterSettings {
  /** false: skip cost ranking and take the first eligible candidate in preference order. */
  smart_execution_enabled: boolean;
  weights: RouterWeights;
  latency_cost_bps_per_ms: number;
  /** Cost charged for a 100% rejection rate, scaled by the rate. */
  rejection_penalty_bps: number;
  /** Slippage charged when a venue shows no depth on the side the order takes. */
  missing_depth_penalty_bps: number;
  /** Price penalty on the part of an order beyond the visible depth, relative to the last level. */
  beyond_depth_penalty_bps: number;
  /** Extra cost for a DEGRADED venue; null makes DEGRADED venues ineligible. */
  degraded_penalty_bps: number | null;
  /** Latency assumed for a candidate without an estimate. */
  default_latency_ms: number;
  /** Candidate venue ids per instrument type, in preference order. */
  candidates: Readonly<Partial<Record<InstrumentType, readonly string[]>>>;
  /** Static venue facts by venue id. */
  venues: Readonly<Record<string, VenueSettings>>;
}

export interface Routed {
  routed: true;
  venue: string;
  account_id: string | null;
  /** Every candidate's score: eligible ones best first, then ineligible ones. */
  scores: VenueScore[];
  reason: string;
}

export interface NotRouted {
  routed: false;
  reason: string;
  scores: VenueScore[];
}

export type RoutingDecision = Routed | NotRouted;

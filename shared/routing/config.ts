/**
 * Router settings from the app configuration (`cfg.router`, `cfg.venues`) and the candidate list
 * for one order from settings plus the shell's live venue state.
 */
import type { RouterConfig, VenueConfig } from '../config/schema.ts';
import { type InstrumentType, parseInstrumentId } from '../domain/instrument-id.ts';
import type { RouterSettings, VenueCandidate, VenueSettings, VenueStatus, VisibleDepth } from './types.ts';

/**
 * Settings the config schema does not (yet) carry, with their defaults:
 * - missing_depth_penalty_bps 25: a venue with no visible depth is assumed to cost 25 bps of slippage;
 * - beyond_depth_penalty_bps 50: quantity beyond the visible depth is priced 50 bps worse than the
 *   last visible level;
 * - degraded_penalty_bps 10: a DEGRADED venue (e.g. WebSocket down, REST fallback) costs 10 bps more;
 * - default_latency_ms 250: latency assumed for a venue without an estimate.
 */
export const ROUTER_DEFAULTS: Readonly<Required<RouterTuning>> = Object.freeze({
  missing_depth_penalty_bps: 25,
  beyond_depth_penalty_bps: 50,
  degraded_penalty_bps: 10,
  default_latency_ms: 250,
});

/** Router settings the config schema does not carry (see {@link ROUTER_DEFAULTS}). */
export interface RouterTuning {
  missing_depth_penalty_bps?: number;
  beyond_depth_penalty_bps?: number;
  /** null: DEGRADED venues are ineligible. */
  degraded_penalty_bps?: number | null;
  default_latency_ms?: number;
}

/** Settings for tests and tools: unit weights, no candidates configured. */
export const DEFAULT_ROUTER_SETTINGS: RouterSettings = Object.freeze({
  smart_execution_enabled: true,
  weights: Object.freeze({ fee: 1, slippage: 1, latency: 1, rejection: 1 }),
  latency_cost_bps_per_ms: 0.01,
  rejection_penalty_bps: 50,
  ...ROUTER_DEFAULTS,
  candidates: Object.freeze({}),
  venues: Object.freeze({}),
});

function feeNumber(s: string | undefined): number | null {
  if (s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/**
 * `RouterSettings` from `cfg.router` and `cfg.venues`. Candidate lists keep the configured
 * preference order and drop venues that are disabled (`enabled: false`).
 */
export function routerSettingsFromConfig(
  router: RouterConfig,
  venues: readonly VenueConfig[],
  overrides: RouterTuning = {},
): RouterSettings {
  const venueSettings: Record<string, VenueSettings> = {};
  const enabled = new Set<string>();
  for (const v of venues) {
    if (v.enabled) enabled.add(v.id);
    venueSettings[v.id] = {
      maker_fee: feeNumber(v.fees?.maker),
      taker_fee: feeNumber(v.fees?.taker),
      latency_ms: v.latency_ms,
      account_id: v.accounts[0]?.account_id ?? null,
    };
  }
  const candidates: Partial<Record<InstrumentType, readonly string[]>> = {};
  for (const [type, ids] of Object.entries(router.candidates) as Array<
    [InstrumentType, readonly string[] | undefined]
  >) {
    if (ids !== undefined) candidates[type] = ids.filter((id) => enabled.has(id));
  }
  return {
    smart_execution_enabled: router.smart_execution_enabled,
    weights: { ...router.weights },
    latency_cost_bps_per_ms: router.latency_cost_bps_per_ms,
    rejection_penalty_bps: router.rejection_penalty_bps,
    missing_depth_penalty_bps:
      overrides.missing_depth_penalty_bps ?? ROUTER_DEFAULTS.missing_depth_penalty_bps,
    beyond_depth_penalty_bps: overrides.beyond_depth_penalty_bps ?? ROUTER_DEFAULTS.beyond_depth_penalty_bps,
    degraded_penalty_bps:
      overrides.degraded_penalty_bps === undefined
        ? ROUTER_DEFAULTS.degraded_penalty_bps
        : overrides.degraded_penalty_bps,
    default_latency_ms: overrides.default_latency_ms ?? ROUTER_DEFAULTS.default_latency_ms,
    candidates,
    venues: venueSettings,
  };
}

/** What the shell knows about a venue right now (circuit breaker, market data, metrics). */
export interface VenueLiveState {
  status: VenueStatus;
  depth: VisibleDepth | null;
  /** Measured latency; falls back to the configured `latency_ms`. */
  latency_ms?: number | null | undefined;
  rejection_rate?: number | null | undefined;
  /** Fees from the venue's instrument spec; fall back to the configured venue fees, then 0. */
  maker_fee?: number | null | undefined;
  taker_fee?: number | null | undefined;
}

/** Rejections over the last N orders (0 with no orders). */
export function rejectionRate(rejections: number, orders: number): number {
  return orders > 0 ? Math.min(1, Math.max(0, rejections / orders)) : 0;
}

/**
 * The candidate venues for an instrument (by its id or instrument type), in preference order,
 * each with its live state; a venue without live state is UNKNOWN (ineligible). Fees: live state
 * (the instrument spec on that venue), else the venue's configured fees, else 0.
 */
export function buildCandidates(
  settings: RouterSettings,
  instrument: string | InstrumentType,
  live: Readonly<Record<string, VenueLiveState | undefined>>,
): VenueCandidate[] {
  let type: InstrumentType | null;
  if (
    instrument === 'SPOT_PAIR' ||
    instrument === 'PERPETUAL' ||
    instrument === 'FUTURE' ||
    instrument === 'OPTION'
  ) {
    type = instrument;
  } else {
    const r = parseInstrumentId(instrument);
    type = r.success ? r.data.instrument_type : null;
  }
  if (type === null) return [];
  const ids = settings.candidates[type] ?? [];
  return ids.map((venue): VenueCandidate => {
    const cfg = settings.venues[venue];
    const st = live[venue];
    return {
      venue,
      account_id: cfg?.account_id ?? null,
      status: st?.status ?? 'UNKNOWN',
      maker_fee: st?.maker_fee ?? cfg?.maker_fee ?? 0,
      taker_fee: st?.taker_fee ?? cfg?.taker_fee ?? 0,
      depth: st?.depth ?? null,
      latency_ms: st?.latency_ms ?? cfg?.latency_ms ?? null,
      rejection_rate: st?.rejection_rate ?? null,
    };
  });
}

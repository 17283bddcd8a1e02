/**
 * The status of one venue session as operators read it (the console's Status page, `GET
 * /api/venues`): connected, the age of the last message from the venue, the circuit breaker, the
 * venue's rate-limit budgets, the last reconciliation and the drift state, judged GREEN / AMBER /
 * RED with the reasons.
 *
 * {@link snapshotVenueSession} is pure: the runtime (stateful/edge/runtime.ts) collects the inputs
 * from the session, its venue adapter, its reconciler and the drift monitor, and passes the time.
 * Honest about what is live: a session whose last message is old turns AMBER, then RED, whatever
 * its connection flag says.
 */
import type { RateBudget } from '../../infra/ccxt/limits.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../shared/domain/time.ts';
import type { DriftState } from '../../shared/drift/drift.ts';
import type { VenueHealthState } from '../../shared/ports/venue.ts';
import type { ReconciliationReport } from './reconcile/reconciler.ts';
import type { VenueSessionStatus } from './types.ts';

export type StatusLight = 'GREEN' | 'AMBER' | 'RED';
export type BreakerView = 'closed' | 'open' | 'half_open';

export interface StatusThresholds {
  /** The last message older than this turns the session AMBER (default 15,000 ms). */
  stale_amber_ms: number;
  /** ... and RED (default 60,000 ms). */
  stale_red_ms: number;
  /** A budget used to this fraction of its limit turns the session AMBER (default 0.8). */
  budget_amber: number;
}

export const DEFAULT_STATUS_THRESHOLDS: StatusThresholds = {
  stale_amber_ms: 15_000,
  stale_red_ms: 60_000,
  budget_amber: 0.8,
};

/**
 * The thresholds of venue `venueId`: its own `status` staleness limits where set, else the
 * configuration's platform default (top-level `status`); the budget threshold is the default.
 */
export function statusThresholdsFor(
  config: Pick<AppConfig, 'status' | 'venues'>,
  venueId: string,
): StatusThresholds {
  const own = config.venues.find((v) => v.id === venueId)?.status;
  return {
    ...DEFAULT_STATUS_THRESHOLDS,
    stale_amber_ms: own?.stale_amber_ms ?? config.status.stale_amber_ms,
    stale_red_ms: own?.stale_red_ms ?? config.status.stale_red_ms,
  };
}

export interface VenueSessionInputs {
  session: VenueSessionStatus;
  /** The venue adapter's own health (breaker included). */
  health: { state: VenueHealthState; detail?: string | undefined };
  /** The ccxt adapter's breaker, when the adapter has one (null: derived from `health`). */
  breaker: BreakerView | null;
  /** The venue budgets (null: the adapter does not pace by venue budgets, e.g. a simulated venue). */
  budgets: readonly RateBudget[] | null;
  /** The last reconciliation (null: none has finished yet); `reconciling`: a reconciler runs for the venue. */
  reconciliation: ReconciliationReport | null;
  reconciling: boolean;
  /** Drift persistence per instrument key of this venue. */
  drift: ReadonlyMap<string, DriftState>;
}

export interface VenueSessionSnapshot {
  venue: string;
  mode: string;
  state: StatusLight;
  /** Why the state is not GREEN (empty when GREEN). */
  reasons: string[];
  connected: boolean;
  private_stream: VenueSessionStatus['private_stream'];
  public_stream: VenueSessionStatus['public_stream'];
  health: VenueHealthState;
  health_detail: string | null;
  breaker: BreakerView;
  last_message_at: Nanos | null;
  /** Milliseconds since the last message (null: none yet). */
  last_message_age_ms: number | null;
  /** The staleness limits this session is judged by (AMBER, RED). */
  stale_limits_ms: { amber: number; red: number };
  working_orders: number;
  active_algorithms: number;
  last_error: string | null;
  /** null: not paced by venue budgets. */
  rate_limits: Array<RateBudget & { used_fraction: number }> | null;
  reconciliation: {
    status: ReconciliationReport['status'] | 'NOT_RUN';
    run_id: string | null;
    finished_at: Nanos | null;
    age_ms: number | null;
    differences: number;
    open: number;
    corrections: number;
    errors: string[];
  } | null;
  drift: {
    state: 'NONE' | 'ALERTING' | 'PERSISTENT';
    instruments: Array<{
      instrument_key: string;
      persistent: boolean;
      ewma_bps: number | null;
      samples: number;
      recent_alerts: number;
    }>;
  };
}

function ageMs(now: Nanos, at: Nanos | null): number | null {
  if (at === null) return null;
  const d = now - at;
  return d <= 0n ? 0 : Number(d / NANOS_PER_MILLI);
}

function breakerOf(inputs: VenueSessionInputs): BreakerView {
  if (inputs.breaker !== null) return inputs.breaker;
  return inputs.health.state === 'circuit_open' ? 'open' : 'closed';
}

/** The session's snapshot at `now` (ns), judged against `thresholds`. */
export function snapshotVenueSession(
  inputs: VenueSessionInputs,
  now: Nanos,
  thresholds: StatusThresholds = DEFAULT_STATUS_THRESHOLDS,
): VenueSessionSnapshot {
  const s = inputs.session;
  const red: string[] = [];
  const amber: string[] = [];

  if (!s.connected) red.push('not connected');
  if (s.private_stream === 'down') red.push('private stream down');
  if (s.public_stream === 'down') amber.push('public stream down');

  const breaker = breakerOf(inputs);
  if (breaker === 'open') red.push('circuit breaker open');
  else if (breaker === 'half_open') amber.push('circuit breaker half open');
  if (inputs.health.state === 'down')
    red.push(`venue down${inputs.health.detail ? `: ${inputs.health.detail}` : ''}`);
  else if (inputs.health.state === 'degraded')
    amber.push(`venue degraded${inputs.health.detail ? `: ${inputs.health.detail}` : ''}`);

  const age = ageMs(now, s.last_message_at);
  if (age === null) {
    if (s.connected) amber.push('no message from the venue yet');
  } else if (age >= thresholds.stale_red_ms) red.push(`last message ${Math.round(age / 1000)} s ago`);
  else if (age >= thresholds.stale_amber_ms) amber.push(`last message ${Math.round(age / 1000)} s ago`);

  const rateLimits =
    inputs.budgets === null
      ? null
      : inputs.budgets.map((b) => ({
          ...b,
          used_fraction: b.limit > 0 ? Math.round(Math.min(1, b.used / b.limit) * 10_000) / 10_000 : 0,
        }));
  for (const b of rateLimits ?? []) {
    if (b.used_fraction >= 1)
      amber.push(`${b.name} budget spent (refills in ${Math.ceil(b.refill_ms / 1000)} s)`);
    else if (b.used_fraction >= thresholds.budget_amber)
      amber.push(`${b.name} budget ${Math.round(b.used_fraction * 100)}% used`);
  }

  const r = inputs.reconciliation;
  const reconciliation = !inputs.reconciling
    ? null
    : {
        status: r === null ? ('NOT_RUN' as const) : r.status,
        run_id: r?.run_id ?? null,
        finished_at: r?.ts_finished ?? null,
        age_ms: r === null ? null : ageMs(now, r.ts_finished),
        differences: r?.differences.length ?? 0,
        open: r?.open.length ?? 0,
        corrections: r?.corrections.length ?? 0,
        errors: r?.errors ?? [],
      };
  // CORRECTED: every difference found was corrected (shown, not a warning).
  if (reconciliation?.status === 'DIFFERENCES')
    amber.push(`reconciliation DIFFERENCES: ${reconciliation.open} open difference(s)`);
  else if (reconciliation?.status === 'DEGRADED' || reconciliation?.status === 'FAILED')
    amber.push(
      `reconciliation ${reconciliation.status}: ${reconciliation.errors[0] ?? 'see the reconciliation log'}`,
    );

  const instruments = [...inputs.drift]
    .map(([instrument_key, d]) => ({
      instrument_key,
      persistent: d.persistent,
      ewma_bps: d.ewma === null ? null : Math.round(d.ewma * 100) / 100,
      samples: d.samples,
      recent_alerts: d.alerts.length,
    }))
    .sort((a, b) => a.instrument_key.localeCompare(b.instrument_key));
  const driftState = instruments.some((i) => i.persistent)
    ? 'PERSISTENT'
    : instruments.some((i) => i.recent_alerts > 0)
      ? 'ALERTING'
      : 'NONE';
  if (driftState === 'PERSISTENT')
    amber.push(
      `persistent drift on ${instruments
        .filter((i) => i.persistent)
        .map((i) => i.instrument_key)
        .join(', ')}`,
    );

  const state: StatusLight = red.length > 0 ? 'RED' : amber.length > 0 ? 'AMBER' : 'GREEN';
  return {
    venue: s.venue,
    mode: s.mode,
    state,
    reasons: [...red, ...amber],
    connected: s.connected,
    private_stream: s.private_stream,
    public_stream: s.public_stream,
    health: inputs.health.state,
    health_detail: inputs.health.detail ?? null,
    breaker,
    last_message_at: s.last_message_at,
    last_message_age_ms: age,
    stale_limits_ms: { amber: thresholds.stale_amber_ms, red: thresholds.stale_red_ms },
    working_orders: s.working_orders,
    active_algorithms: s.active_algorithms,
    last_error: s.last_error,
    rate_limits: rateLimits,
    reconciliation,
    drift: { state: driftState, instruments },
  };
}

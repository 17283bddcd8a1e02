/**
 * Drift detection (pure): each fill's price against the mid at the order's arrival, in basis
 * points, signed so that POSITIVE IS WORSE FOR US:
 *
 *   BUY:  drift_bps = (fill price − mid) / mid × 10,000   (paying above the mid)
 *   SELL: drift_bps = (mid − fill price) / mid × 10,000   (receiving below the mid)
 *
 * A fill whose drift exceeds the threshold (strictly) raises an alert. A taker crossing a normal
 * spread drifts by about half the spread; a maker fill at its limit drifts negative (it earned the
 * half spread). Favourable drift never alerts.
 *
 * **Persistence** (per key, e.g. venue + instrument): a decider over the observations. Drift is
 * persistent when, within `window_ns`, at least `alerts` fills alerted, OR when the EWMA of the
 * drift (weight `ewma_alpha` per fill) exceeds `ewma_threshold_bps` after `ewma_min_samples` fills.
 * The state change ACTIVE → persistent is what recommends REDUCING (once: `became_persistent`); it
 * clears when neither rule holds any more.
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { Side } from '../domain/types.ts';

export interface FillDriftInput {
  price: DecimalString;
  side: Side;
  /** Mid at the order's arrival (null or ≤ 0: cannot be judged). */
  mid: DecimalString | null;
  threshold_bps: number;
}

export interface FillDrift {
  /** Signed drift in bps, positive = worse for us (rounded half-even to 4 decimal places). */
  drift_bps: DecimalString;
  /** The same as a number (metrics). */
  drift: number;
  alert: boolean;
}

export const DRIFT_BPS_DECIMALS = 4;

/** The drift of one fill, or null when there is no usable mid. */
export function evaluateFill(input: FillDriftInput): FillDrift | null {
  if (input.mid === null) return null;
  const mid = toDec(input.mid);
  if (!mid.gt(0)) return null;
  const price = toDec(input.price);
  const raw = (input.side === 'BUY' ? price.minus(mid) : mid.minus(price)).div(mid).times(10_000);
  const rounded = raw.toDecimalPlaces(DRIFT_BPS_DECIMALS, Dec.ROUND_HALF_EVEN);
  const drift = rounded.toNumber();
  return { drift_bps: fmt(rounded), drift, alert: raw.gt(input.threshold_bps) };
}

// ---------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------

export interface DriftRule {
  threshold_bps: number;
  /** Alerts within the window that make drift persistent (default 3). */
  alerts?: number | undefined;
  /** Window of the alert count, ns (default 5 minutes). */
  window_ns?: Nanos | undefined;
  /** EWMA weight of each new fill, in (0, 1] (default 0.2). */
  ewma_alpha?: number | undefined;
  /** EWMA level that makes drift persistent (default the threshold). */
  ewma_threshold_bps?: number | undefined;
  /** Fills before the EWMA rule applies (default 5). */
  ewma_min_samples?: number | undefined;
}

export interface DriftState {
  /** ts_event of the alerts within the window, oldest first. */
  alerts: Nanos[];
  ewma: number | null;
  samples: number;
  persistent: boolean;
}

export const INITIAL_DRIFT_STATE: DriftState = Object.freeze({
  alerts: [],
  ewma: null,
  samples: 0,
  persistent: false,
}) as DriftState;

export interface DriftObservation {
  ts_event: Nanos;
  drift: number;
  alert: boolean;
}

export interface DriftStep {
  state: DriftState;
  persistent: boolean;
  /** Drift just became persistent: the moment to recommend REDUCING. */
  became_persistent: boolean;
  /** Which rule holds (empty when none). */
  reason: string;
}

export const DEFAULT_PERSIST_ALERTS = 3;
export const DEFAULT_PERSIST_WINDOW_NS: Nanos = 300_000_000_000n;
export const DEFAULT_EWMA_ALPHA = 0.2;
export const DEFAULT_EWMA_MIN_SAMPLES = 5;

/** Fold one fill's drift into the state. */
export function observeDrift(state: DriftState, obs: DriftObservation, rule: DriftRule): DriftStep {
  const n = Math.max(1, Math.trunc(rule.alerts ?? DEFAULT_PERSIST_ALERTS));
  const window = rule.window_ns ?? DEFAULT_PERSIST_WINDOW_NS;
  const alpha = rule.ewma_alpha ?? DEFAULT_EWMA_ALPHA;
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`ewma_alpha must be in (0, 1], got ${alpha}`);
  const ewmaThreshold = rule.ewma_threshold_bps ?? rule.threshold_bps;
  const minSamples = Math.max(1, Math.trunc(rule.ewma_min_samples ?? DEFAULT_EWMA_MIN_SAMPLES));

  const from = obs.ts_event - window;
  const alerts = state.alerts.filter((t) => t > from && t <= obs.ts_event);
  if (obs.alert) alerts.push(obs.ts_event);
  const ewma = state.ewma === null ? obs.drift : alpha * obs.drift + (1 - alpha) * state.ewma;
  const samples = state.samples + 1;

  const reasons: string[] = [];
  if (alerts.length >= n) {
    reasons.push(
      `${alerts.length} fills beyond ${rule.threshold_bps} bps within ${window / 1_000_000_000n} s`,
    );
  }
  if (samples >= minSamples && ewma > ewmaThreshold) {
    reasons.push(`average drift ${ewma.toFixed(2)} bps above ${ewmaThreshold} bps over ${samples} fills`);
  }
  const persistent = reasons.length > 0;
  return {
    state: { alerts, ewma, samples, persistent },
    persistent,
    became_persistent: persistent && !state.persistent,
    reason: reasons.join('; '),
  };
}

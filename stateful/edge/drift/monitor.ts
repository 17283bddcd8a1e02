/**
 * The drift monitor (shell): the venue edge calls `onFill(fill, midAtArrival)` for every fill it
 * recorded. The pure rules of shared/drift decide; this shell
 *
 * - observes the drift in a histogram and counts alerts (prom-client, the service's registry);
 * - publishes a `drift_alert` message on `exec.orders` for each fill beyond the threshold;
 * - when drift becomes persistent (per venue and instrument) and `switchToReducing` is set, sets
 *   the trading state to REDUCING through the TradingStateStore (never loosening: a HALTED or
 *   REDUCING state is left alone), once per episode; it tries again on the next fill if the store
 *   failed.
 *
 * A fill seen twice (a redelivery) is evaluated once. See docs/reconciliation.md, "Drift".
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ExecutionLog } from '../../../shared/app/execution-recorder.ts';
import { SILENT_EXECUTION_LOG } from '../../../shared/app/execution-recorder.ts';
import { ORDER_UPDATES_TOPIC } from '../../../shared/app/messages.ts';
import type { DecimalString } from '../../../shared/domain/decimal.ts';
import { NANOS_PER_MILLI } from '../../../shared/domain/time.ts';
import type { Fill, TradingState } from '../../../shared/domain/types.ts';
import {
  type DriftRule,
  type DriftState,
  evaluateFill,
  INITIAL_DRIFT_STATE,
  observeDrift,
} from '../../../shared/drift/drift.ts';
import { type DriftAlertMessage, driftAlertAttributes } from '../../../shared/drift/messages.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import type { TradingScope, TradingStateStore } from '../../../shared/ports/trading-state-store.ts';

export interface DriftThresholds {
  /** A fill drifting more than this (bps, worse for us) alerts. */
  alert_bps: number;
  /** Per venue instrument key (or our instrument key) overrides of `alert_bps`. */
  per_instrument?: Readonly<Record<string, number>> | undefined;
  /** Alerts within the window that make drift persistent (default 3). */
  persist_alerts?: number | undefined;
  /** Window of the alert count (default 300,000 ms). */
  persist_window_ms?: number | undefined;
  /** EWMA weight per fill (default 0.2). */
  ewma_alpha?: number | undefined;
  /** EWMA level that makes drift persistent (default the alert threshold). */
  ewma_threshold_bps?: number | undefined;
  /** Fills before the EWMA rule applies (default 5). */
  ewma_min_samples?: number | undefined;
}

export interface DriftMonitorDeps {
  bus: Pick<EventBus, 'publish'>;
  tradingState: Pick<TradingStateStore, 'snapshot' | 'set'>;
  /** prom-client registry (the service's, stateful/observability/metrics); none = no metrics. */
  metrics?: Registry | undefined;
  thresholds: DriftThresholds;
  /** Set REDUCING when drift becomes persistent. */
  switchToReducing: boolean;
  clock: Clock;
  log?: ExecutionLog | undefined;
  /** Which trading state to reduce: the platform's (default) or the fill's strategy's. */
  reduceScope?: 'global' | 'strategy' | undefined;
  /** `updated_by` of the trading state change (default `drift-monitor`). */
  updatedBy?: string | undefined;
  /** Metric name prefix (default `exec_`). */
  metricPrefix?: string | undefined;
}

export interface DriftFillContext {
  strategy_id?: string | null | undefined;
}

export type DriftResult =
  | { evaluated: false; reason: string }
  | {
      evaluated: true;
      drift_bps: DecimalString;
      alert: boolean;
      persistent: boolean;
      persistence_reason: string;
      /** The state the monitor set because of this fill (null: none). */
      trading_state_set: TradingState | null;
    };

export interface DriftMonitor {
  onFill(fill: Fill, midAtArrival: DecimalString | null, ctx?: DriftFillContext): Promise<DriftResult>;
  /** The persistence state per `venue|instrument_key`. */
  states(): ReadonlyMap<string, DriftState>;
}

/** Drift buckets in bps (negative = better than the mid). */
export const DRIFT_BUCKETS_BPS = [-50, -25, -10, -5, -2, -1, 0, 1, 2, 5, 10, 25, 50, 100, 250];

interface DriftMetrics {
  drift: Histogram<'venue' | 'instrument_key' | 'side'>;
  alerts: Counter<'venue' | 'instrument_key'>;
  persistent: Gauge<'venue' | 'instrument_key'>;
  switches: Counter<'venue'>;
}

/** The drift metrics in `registry` (created once per registry; shared by every monitor in it). */
function driftMetrics(registry: Registry, prefix: string): DriftMetrics {
  const registers = [registry];
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    drift: get(
      `${prefix}fill_drift_bps`,
      () =>
        new Histogram({
          name: `${prefix}fill_drift_bps`,
          help: 'Fill price against the mid at the order arrival, in bps (positive = worse for us)',
          labelNames: ['venue', 'instrument_key', 'side'] as const,
          buckets: DRIFT_BUCKETS_BPS,
          registers,
        }),
    ),
    alerts: get(
      `${prefix}drift_alerts_total`,
      () =>
        new Counter({
          name: `${prefix}drift_alerts_total`,
          help: 'Fills whose drift exceeded the alert threshold',
          labelNames: ['venue', 'instrument_key'] as const,
          registers,
        }),
    ),
    persistent: get(
      `${prefix}drift_persistent`,
      () =>
        new Gauge({
          name: `${prefix}drift_persistent`,
          help: '1 while drift is persistent for the venue and instrument',
          labelNames: ['venue', 'instrument_key'] as const,
          registers,
        }),
    ),
    switches: get(
      `${prefix}drift_reducing_switches_total`,
      () =>
        new Counter({
          name: `${prefix}drift_reducing_switches_total`,
          help: 'Times persistent drift switched the trading state to REDUCING',
          labelNames: ['venue'] as const,
          registers,
        }),
    ),
  };
}

const REMEMBER_FILLS = 10_000;

export function createDriftMonitor(deps: DriftMonitorDeps): DriftMonitor {
  const log = deps.log ?? SILENT_EXECUTION_LOG;
  const metrics =
    deps.metrics === undefined ? null : driftMetrics(deps.metrics, deps.metricPrefix ?? 'exec_');
  const updatedBy = deps.updatedBy ?? 'drift-monitor';
  const states = new Map<string, DriftState>();
  /** Keys whose current persistent episode already switched the trading state. */
  const switched = new Set<string>();
  const seen = new Set<string>();
  const t = deps.thresholds;

  function ruleFor(fill: Fill): DriftRule {
    const threshold = t.per_instrument?.[fill.instrument_key] ?? t.alert_bps;
    return {
      threshold_bps: threshold,
      alerts: t.persist_alerts,
      window_ns:
        t.persist_window_ms === undefined
          ? undefined
          : BigInt(Math.trunc(t.persist_window_ms)) * NANOS_PER_MILLI,
      ewma_alpha: t.ewma_alpha,
      ewma_threshold_bps: t.ewma_threshold_bps,
      ewma_min_samples: t.ewma_min_samples,
    };
  }

  async function reduce(
    fill: Fill,
    reason: string,
    ctx: DriftFillContext | undefined,
  ): Promise<TradingState | null> {
    const strategy = ctx?.strategy_id ?? null;
    const scope: TradingScope =
      deps.reduceScope === 'strategy' && strategy !== null && strategy !== ''
        ? { kind: 'strategy', strategy_id: strategy }
        : { kind: 'global' };
    const snapshot = await deps.tradingState.snapshot();
    const current =
      scope.kind === 'global'
        ? (snapshot.global?.state ?? null)
        : (snapshot.strategies[scope.strategy_id]?.state ?? null);
    if (current === 'REDUCING' || current === 'HALTED') return null; // never loosen, never repeat
    await deps.tradingState.set(
      scope,
      {
        state: 'REDUCING',
        reason: `persistent fill drift on ${fill.venue} ${fill.instrument_key}: ${reason}`,
        updated_by: updatedBy,
      },
      deps.clock.now(),
    );
    return 'REDUCING';
  }

  return {
    states: () => new Map(states),
    async onFill(fill, midAtArrival, ctx): Promise<DriftResult> {
      const id = `${fill.operation_id}|${fill.fill_id}`;
      if (seen.has(id)) return { evaluated: false, reason: 'fill already evaluated' };
      const rule = ruleFor(fill);
      const drift = evaluateFill({
        price: fill.price,
        side: fill.side,
        mid: midAtArrival,
        threshold_bps: rule.threshold_bps,
      });
      if (drift === null) return { evaluated: false, reason: 'no mid at arrival' };
      seen.add(id);
      if (seen.size > REMEMBER_FILLS) {
        const oldest = seen.values().next();
        if (!oldest.done) seen.delete(oldest.value);
      }
      const key = `${fill.venue}|${fill.instrument_key}`;
      const step = observeDrift(
        states.get(key) ?? INITIAL_DRIFT_STATE,
        { ts_event: fill.ts_event, drift: drift.drift, alert: drift.alert },
        rule,
      );
      states.set(key, step.state);
      const labels = { venue: fill.venue, instrument_key: fill.instrument_key };
      metrics?.drift.observe({ ...labels, side: fill.side }, drift.drift);
      metrics?.persistent.set(labels, step.persistent ? 1 : 0);
      if (!step.persistent) switched.delete(key);

      let set: TradingState | null = null;
      if (step.persistent && deps.switchToReducing && !switched.has(key)) {
        try {
          set = await reduce(fill, step.reason, ctx);
          switched.add(key);
          if (set !== null) {
            metrics?.switches.inc({ venue: fill.venue });
            log.warn(`drift monitor set REDUCING: ${step.reason} on ${fill.venue} ${fill.instrument_key}`, {
              ...labels,
              operation_id: fill.operation_id,
            });
          }
        } catch (err) {
          log.warn(
            `drift monitor could not set REDUCING (will retry on the next fill): ${errorText(err)}`,
            labels,
          );
        }
      }

      if (drift.alert) {
        metrics?.alerts.inc(labels);
        const now = deps.clock.now();
        const message: DriftAlertMessage = {
          type: 'drift_alert',
          operation_id: fill.operation_id,
          order_id: fill.order_id,
          fill_id: fill.fill_id,
          strategy_id: ctx?.strategy_id ?? null,
          venue: fill.venue,
          instrument_key: fill.instrument_key,
          side: fill.side,
          fill_price: fill.price,
          fill_quantity: fill.quantity,
          mid_at_arrival: midAtArrival ?? '0',
          drift_bps: drift.drift_bps,
          threshold_bps: rule.threshold_bps,
          persistent: step.persistent,
          persistence_reason: step.reason,
          trading_state_set: set,
          ts_event: fill.ts_event.toString(),
          ts_init: now.toString(),
        };
        log.warn(
          `fill drift ${drift.drift_bps} bps beyond ${rule.threshold_bps} bps: ${fill.side} ${fill.quantity} ${fill.instrument_key} @ ${fill.price}, mid ${midAtArrival}`,
          { ...labels, operation_id: fill.operation_id, fill_id: fill.fill_id, persistent: step.persistent },
        );
        await deps.bus.publish(ORDER_UPDATES_TOPIC, message, driftAlertAttributes(message));
      }
      return {
        evaluated: true,
        drift_bps: drift.drift_bps,
        alert: drift.alert,
        persistent: step.persistent,
        persistence_reason: step.reason,
        trading_state_set: set,
      };
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

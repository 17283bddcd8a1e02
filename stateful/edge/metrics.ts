/**
 * Prometheus metrics of the venue edge, registered in the service's registry
 * (stateful/observability/metrics `createMetrics().registry`). Create them ONCE per registry and
 * pass them to every edge (prom-client refuses a second metric of the same name).
 *
 * - `exec_edge_orders_total{venue,kind,outcome}`: orders and child orders the edge handled — kind
 *   `direct` | `child`, outcome `sent`, `accepted`, `rejected`, `unknown` (send outcome unknown,
 *   being resolved), `gated` (refused by the trading-state gate), `resent` (re-sent after a restart
 *   or an unknown outcome).
 * - `exec_edge_venue_events_total{venue,kind}`: events from the venue streams (order, trade, book,
 *   public_trade, connection).
 * - `exec_edge_unmatched_reports_total{venue,kind}`: venue orders / trades that are not ours (or not
 *   known to this process): left to reconciliation.
 * - `exec_edge_venue_errors_total{venue,kind}`: classified venue errors seen by the edge.
 * - `exec_edge_venue_diagnostics_total{venue,diagnostic}`: what the venue sessions reported (retry,
 *   breaker, stream, reconnect, gap_fill, submit_recovery, ...).
 * - `exec_edge_breaker_open{venue}`: 1 while the venue's circuit breaker is open.
 * - `exec_edge_stream_up{venue,stream}`: 1 while the private / public stream is up.
 * - `exec_edge_active_algorithms{venue}`: algorithm parents running.
 * - `exec_edge_trading_state{scope}`: 0 ACTIVE, 1 REDUCING, 2 HALTED (scope `global` or `strategy:<id>`).
 * - `exec_edge_submit_seconds{venue}`: round trip of `venue.submit`.
 * - `exec_edge_gap_fills_total{venue,reason}`: REST gap fills the edge ran (reconnect, poll, fill_check, start).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EdgeMetrics {
  readonly orders: Counter<'venue' | 'kind' | 'outcome'>;
  readonly venueEvents: Counter<'venue' | 'kind'>;
  readonly unmatched: Counter<'venue' | 'kind'>;
  readonly venueErrors: Counter<'venue' | 'kind'>;
  readonly diagnostics: Counter<'venue' | 'diagnostic'>;
  readonly breakerOpen: Gauge<'venue'>;
  readonly streamUp: Gauge<'venue' | 'stream'>;
  readonly activeAlgorithms: Gauge<'venue'>;
  readonly tradingState: Gauge<'scope'>;
  readonly submitSeconds: Histogram<'venue'>;
  readonly gapFills: Counter<'venue' | 'reason'>;
}

export const SUBMIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createEdgeMetrics(registry: Registry, prefix = 'exec_'): EdgeMetrics {
  const registers = [registry];
  return {
    orders: new Counter({
      name: `${prefix}edge_orders_total`,
      help: 'Orders (direct) and child orders (algorithms) handled by the venue edge, by outcome',
      labelNames: ['venue', 'kind', 'outcome'] as const,
      registers,
    }),
    venueEvents: new Counter({
      name: `${prefix}edge_venue_events_total`,
      help: 'Events received from the venue streams, by kind',
      labelNames: ['venue', 'kind'] as const,
      registers,
    }),
    unmatched: new Counter({
      name: `${prefix}edge_unmatched_reports_total`,
      help: 'Venue orders and trades the edge could not match to an order of ours (left to reconciliation)',
      labelNames: ['venue', 'kind'] as const,
      registers,
    }),
    venueErrors: new Counter({
      name: `${prefix}edge_venue_errors_total`,
      help: 'Classified venue errors seen by the edge (transient, rate_limited, rejected, not_found, auth, circuit_open)',
      labelNames: ['venue', 'kind'] as const,
      registers,
    }),
    diagnostics: new Counter({
      name: `${prefix}edge_venue_diagnostics_total`,
      help: 'Diagnostics reported by the venue sessions (retry, breaker, stream, reconnect, gap_fill, ...)',
      labelNames: ['venue', 'diagnostic'] as const,
      registers,
    }),
    breakerOpen: new Gauge({
      name: `${prefix}edge_breaker_open`,
      help: '1 while the venue circuit breaker is open (or half open), else 0',
      labelNames: ['venue'] as const,
      registers,
    }),
    streamUp: new Gauge({
      name: `${prefix}edge_stream_up`,
      help: '1 while the venue stream (private or public) is up, else 0',
      labelNames: ['venue', 'stream'] as const,
      registers,
    }),
    activeAlgorithms: new Gauge({
      name: `${prefix}edge_active_algorithms`,
      help: 'Execution-algorithm parents running at the venue',
      labelNames: ['venue'] as const,
      registers,
    }),
    tradingState: new Gauge({
      name: `${prefix}edge_trading_state`,
      help: 'Trading state seen by the edge: 0 ACTIVE, 1 REDUCING, 2 HALTED',
      labelNames: ['scope'] as const,
      registers,
    }),
    submitSeconds: new Histogram({
      name: `${prefix}edge_submit_seconds`,
      help: 'Round trip of an order submit at the venue, in seconds',
      labelNames: ['venue'] as const,
      buckets: SUBMIT_BUCKETS,
      registers,
    }),
    gapFills: new Counter({
      name: `${prefix}edge_gap_fills_total`,
      help: 'REST gap fills run by the edge (orders and trades re-read), by reason',
      labelNames: ['venue', 'reason'] as const,
      registers,
    }),
  };
}

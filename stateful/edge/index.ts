/**
 * The venue edge (docs/venue-edge.md): LIVE and SHADOW venue sessions, the durable algorithm
 * scheduler, recording through the ExecutionRecorder, the trading-state gate, market and venue state
 * publishing, `/healthz` and `/readyz`.
 */
export {
  createVenueEdge,
  DEFAULT_RISK_STATE_SUBSCRIPTION,
  DEFAULT_ROUTED_SUBSCRIPTION,
  diagnosticMessage,
  type VenueDiagnosticInput,
  type VenueEdge,
} from './edge.ts';
export { createEdgeHealthRouter, type EdgeProbe } from './health.ts';
export { createEdgeMetrics, type EdgeMetrics } from './metrics.ts';
export { AlgoStateConflictError, UnknownRoutedOrderError } from './session.ts';
export type { EdgeConfig, EdgeLog, VenueEdgeDeps, VenueEdgeOptions, VenueSessionStatus } from './types.ts';

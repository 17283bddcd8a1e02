/** Smart order routing: pure router, settings and candidate building. */
export {
  buildCandidates,
  DEFAULT_ROUTER_SETTINGS,
  ROUTER_DEFAULTS,
  type RouterTuning,
  rejectionRate,
  routerSettingsFromConfig,
  type VenueLiveState,
} from './config.ts';
export { roundBps, route, walkDepth } from './router.ts';
export {
  type BookLevel,
  type NotRouted,
  type Routed,
  type RouterSettings,
  type RouterWeights,
  type RoutingDecision,
  VENUE_STATUSES,
  type VenueCandidate,
  type VenueSettings,
  type VenueStatus,
  type VisibleDepth,
} from './types.ts';

/** The ccxt venue adapter (docs/venues.md). */
export {
  CLIENT_ID_RULES,
  type ClientIdExchange,
  type ClientIdForm,
  ourClientIdOf,
  type VenueClientId,
  venueClientIdOf,
} from './client-ids.ts';
export type {
  BreakerState,
  StreamKind,
  VenueDiagnosticEvent,
  VenueDiagnosticListener,
  VenueDiagnosticPayload,
  VenueDiagnosticsSnapshot,
} from './diagnostics.ts';
export { CcxtVenueError, type Classified, classifyError, parseRetryAfter, toVenueError } from './errors.ts';
export {
  CCXT_EXCHANGES,
  type CcxtCredentials,
  type CcxtExchangeId,
  type CcxtFactoryOptions,
  type CcxtVenueSettings,
  ccxtConstructorArgs,
  createCcxtExchange,
  isCcxtExchangeId,
  marketTypesFor,
  observeWsFutures,
  overrideApiUrls,
  swapOrigin,
} from './exchange-factory.ts';
export { decimalFromCcxt, incrementFromPrecision, PRECISION_MODE } from './numbers.ts';
export {
  type MarketInfo,
  mapOrderStatus,
  marketInfoOf,
  type ParseContext,
  PayloadError,
  parseBalances,
  parseBook,
  parseMyTrade,
  parseOrder,
  parsePositions,
  parsePublicTrade,
} from './parse.ts';
export {
  type BreakerOptions,
  backoffDelay,
  CallGuard,
  type RetryOptions,
  retryDefaults,
  TokenBucket,
} from './resilience.ts';
export { type StreamOptions, streamDefaults } from './streams.ts';
export {
  type CcxtAccount,
  type CcxtVenue,
  type CcxtVenueConfig,
  type CcxtVenueLog,
  type CreateCcxtVenueOptions,
  createCcxtVenue,
} from './venue.ts';

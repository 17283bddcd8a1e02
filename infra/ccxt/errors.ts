/**
 * ccxt errors → {@link VenueError} kinds. ccxt raises one class hierarchy for every exchange
 * (`ccxt/js/src/base/errorHierarchy.js`); each exchange maps its own codes onto it, so classifying
 * the class is enough. Subclasses are tested before their parents (OrderNotFound is an InvalidOrder,
 * RateLimitExceeded a NetworkError).
 *
 * | ccxt class | kind | retried |
 * | --- | --- | --- |
 * | OrderNotFound, OrderNotCached | not_found | no |
 * | DuplicateOrderId (or an InvalidOrder whose message says "duplicate") | rejected, `duplicate` | no: the order exists, look it up |
 * | RateLimitExceeded, DDoSProtection | rate_limited | yes, honouring Retry-After |
 * | RequestTimeout, ExchangeNotAvailable, OnMaintenance, InvalidNonce, other NetworkError | transient | yes |
 * | BadResponse, NullResponse, CancelPending, other OperationFailed, ExchangeClosedByUser | transient | yes |
 * | AuthenticationError, PermissionDenied, AccountNotEnabled, AccountSuspended | auth | no |
 * | InvalidOrder, InsufficientFunds, OrderImmediatelyFillable, OrderNotFillable, ContractUnavailable, BadRequest, BadSymbol, OperationRejected, MarketClosed, NotSupported, ArgumentsRequired, other ExchangeError | rejected | no |
 * | anything that is not a ccxt error (a socket error thrown raw) | transient, `unknown` | yes |
 *
 * A transient failure of an order submit means "outcome unknown": the adapter looks the order up
 * by client id before it sends again (see venue.ts).
 */
import {
  AccountNotEnabled,
  AccountSuspended,
  AuthenticationError,
  BaseError,
  CancelPending,
  DDoSProtection,
  DuplicateOrderId,
  ExchangeClosedByUser,
  ExchangeError,
  InvalidNonce,
  InvalidOrder,
  NetworkError,
  OperationFailed,
  OrderNotCached,
  OrderNotFound,
  PermissionDenied,
  RateLimitExceeded,
} from 'ccxt';
import { VenueError, type VenueErrorKind } from '../../shared/ports/venue.ts';

/** A classified venue failure with what the retry and submit logic need to know. */
export class CcxtVenueError extends VenueError {
  /** ccxt error class name (`RequestTimeout`, ...) or the JS error name. */
  readonly ccxtClass: string;
  /** Milliseconds the venue asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  /** The venue refused a new order because its client id is already taken: the order exists. */
  readonly duplicate: boolean;
  /** The clock offset is probably wrong (InvalidNonce / recvWindow): re-measure before retrying. */
  readonly clockSkew: boolean;

  constructor(
    kind: VenueErrorKind,
    venue: string,
    message: string,
    extra: {
      cause?: unknown;
      ccxtClass?: string;
      retryAfterMs?: number | undefined;
      duplicate?: boolean;
      clockSkew?: boolean;
    } = {},
  ) {
    super(kind, venue, message, extra.cause);
    this.name = 'CcxtVenueError';
    this.ccxtClass = extra.ccxtClass ?? 'VenueError';
    this.retryAfterMs = extra.retryAfterMs;
    this.duplicate = extra.duplicate ?? false;
    this.clockSkew = extra.clockSkew ?? false;
  }
}

/** Kinds worth another attempt after a back-off. */
export function isRetryableKind(kind: VenueErrorKind): boolean {
  return kind === 'transient' || kind === 'rate_limited';
}

/** Kinds that say the venue (or the path to it) is unhealthy: these count towards the breaker. */
export function countsAgainstVenue(kind: VenueErrorKind): boolean {
  return kind === 'transient' || kind === 'rate_limited';
}

const DUPLICATE_RE = /duplicat|already exist|51016|110072|"code":\s*-2010[^}]*Duplicate/i;

/** The classification of a ccxt (or other) error, without the venue name. */
export interface Classified {
  kind: VenueErrorKind;
  ccxtClass: string;
  duplicate: boolean;
  clockSkew: boolean;
}

/** Classify any thrown value (see the module table). */
export function classifyError(err: unknown): Classified {
  const ccxtClass = err instanceof Error ? err.name || err.constructor.name : typeof err;
  const base = { ccxtClass, duplicate: false, clockSkew: false };
  if (err instanceof VenueError) {
    return {
      kind: err.kind,
      ccxtClass: err instanceof CcxtVenueError ? err.ccxtClass : 'VenueError',
      duplicate: err instanceof CcxtVenueError ? err.duplicate : false,
      clockSkew: err instanceof CcxtVenueError ? err.clockSkew : false,
    };
  }
  if (!(err instanceof BaseError)) return { ...base, kind: 'transient' };
  if (err instanceof OrderNotFound || err instanceof OrderNotCached) return { ...base, kind: 'not_found' };
  if (err instanceof DuplicateOrderId) return { ...base, kind: 'rejected', duplicate: true };
  if (err instanceof RateLimitExceeded || err instanceof DDoSProtection)
    return { ...base, kind: 'rate_limited' };
  if (err instanceof InvalidNonce) return { ...base, kind: 'transient', clockSkew: true };
  if (err instanceof NetworkError) return { ...base, kind: 'transient' };
  if (err instanceof CancelPending || err instanceof OperationFailed) return { ...base, kind: 'transient' };
  if (err instanceof ExchangeClosedByUser) return { ...base, kind: 'transient' };
  if (
    err instanceof AuthenticationError ||
    err instanceof PermissionDenied ||
    err instanceof AccountNotEnabled ||
    err instanceof AccountSuspended
  ) {
    return { ...base, kind: 'auth' };
  }
  if (err instanceof InvalidOrder && DUPLICATE_RE.test(err.message)) {
    return { ...base, kind: 'rejected', duplicate: true };
  }
  if (err instanceof ExchangeError) {
    // Binance -1021 "Timestamp for this request is outside of the recvWindow" arrives as an
    // InvalidNonce on most endpoints, but some exchanges report skew as a plain ExchangeError.
    const skew = /recvWindow|timestamp.*(ahead|outside|expired)/i.test(err.message);
    return { ...base, kind: skew ? 'transient' : 'rejected', clockSkew: skew };
  }
  return { ...base, kind: 'rejected' };
}

/** Parse an HTTP Retry-After value (seconds or an HTTP date) into milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Shorten a ccxt message (they embed whole response bodies). */
function shorten(message: string, max = 500): string {
  return message.length > max ? `${message.slice(0, max)}…` : message;
}

/**
 * Convert a thrown value into a {@link CcxtVenueError} for `venue`. `retryAfterMs` comes from the
 * response headers of the failing request when the caller can read them.
 */
export function toVenueError(
  venue: string,
  operation: string,
  err: unknown,
  retryAfterMs?: number | undefined,
): CcxtVenueError {
  if (err instanceof CcxtVenueError) return err;
  const c = classifyError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new CcxtVenueError(c.kind, venue, `${operation}: ${c.ccxtClass}: ${shorten(message)}`, {
    cause: err,
    ccxtClass: c.ccxtClass,
    retryAfterMs: c.kind === 'rate_limited' ? retryAfterMs : undefined,
    duplicate: c.duplicate,
    clockSkew: c.clockSkew,
  });
}

import {
  AccountNotEnabled,
  AccountSuspended,
  ArgumentsRequired,
  AuthenticationError,
  BadRequest,
  BadResponse,
  BadSymbol,
  CancelPending,
  ContractUnavailable,
  DDoSProtection,
  DuplicateOrderId,
  ExchangeClosedByUser,
  ExchangeError,
  ExchangeNotAvailable,
  InsufficientFunds,
  InvalidNonce,
  InvalidOrder,
  MarketClosed,
  NetworkError,
  NotSupported,
  NullResponse,
  OnMaintenance,
  OperationFailed,
  OperationRejected,
  OrderImmediatelyFillable,
  OrderNotCached,
  OrderNotFillable,
  OrderNotFound,
  PermissionDenied,
  RateLimitExceeded,
  RequestTimeout,
} from 'ccxt';
import { describe, expect, it } from 'vitest';
import { CcxtVenueError, classifyError, parseRetryAfter, toVenueError } from '../../../infra/ccxt/errors.ts';
import { VenueError, type VenueErrorKind } from '../../../shared/ports/venue.ts';

type ErrorClass = new (message: string) => Error;

const TABLE: Array<[ErrorClass, VenueErrorKind]> = [
  [NetworkError, 'transient'],
  [RequestTimeout, 'transient'],
  [ExchangeNotAvailable, 'transient'],
  [OnMaintenance, 'transient'],
  [InvalidNonce, 'transient'],
  [BadResponse, 'transient'],
  [NullResponse, 'transient'],
  [CancelPending, 'transient'],
  [OperationFailed, 'transient'],
  [ExchangeClosedByUser, 'transient'],
  [RateLimitExceeded, 'rate_limited'],
  [DDoSProtection, 'rate_limited'],
  [InvalidOrder, 'rejected'],
  [InsufficientFunds, 'rejected'],
  [OrderImmediatelyFillable, 'rejected'],
  [OrderNotFillable, 'rejected'],
  [ContractUnavailable, 'rejected'],
  [BadRequest, 'rejected'],
  [BadSymbol, 'rejected'],
  [ArgumentsRequired, 'rejected'],
  [OperationRejected, 'rejected'],
  [MarketClosed, 'rejected'],
  [NotSupported, 'rejected'],
  [ExchangeError, 'rejected'],
  [OrderNotFound, 'not_found'],
  [OrderNotCached, 'not_found'],
  [AuthenticationError, 'auth'],
  [PermissionDenied, 'auth'],
  [AccountNotEnabled, 'auth'],
  [AccountSuspended, 'auth'],
];

describe('ccxt error classification', () => {
  it.each(TABLE)('%o → %s', (cls, kind) => {
    const c = classifyError(new cls('binance {"code":-1,"msg":"x"}'));
    expect(c.kind).toBe(kind);
    expect(c.ccxtClass).toBe(cls.name);
  });

  it('DuplicateOrderId, and an InvalidOrder that says "duplicate", mean the order exists', () => {
    expect(classifyError(new DuplicateOrderId('dup'))).toMatchObject({ kind: 'rejected', duplicate: true });
    for (const msg of [
      'binance {"code":-2010,"msg":"Duplicate order sent."}',
      'okx {"code":"1","data":[{"sCode":"51016","sMsg":"Duplicated clOrdId"}]}',
      'bybit {"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}',
    ]) {
      expect(classifyError(new InvalidOrder(msg))).toMatchObject({ kind: 'rejected', duplicate: true });
    }
    expect(
      classifyError(new InvalidOrder('binance {"code":-2010,"msg":"Account has insufficient balance"}')),
    ).toMatchObject({ kind: 'rejected', duplicate: false });
  });

  it('a timestamp complaint is a transient clock-skew error', () => {
    expect(
      classifyError(new InvalidNonce('-1021 Timestamp for this request is outside of the recvWindow')),
    ).toMatchObject({ kind: 'transient', clockSkew: true });
    expect(
      classifyError(new ExchangeError('Timestamp for this request is outside of the recvWindow')),
    ).toMatchObject({ kind: 'transient', clockSkew: true });
  });

  it('errors that are not ccxt errors are transient (outcome unknown)', () => {
    expect(classifyError(new TypeError('socket hang up')).kind).toBe('transient');
    expect(classifyError('boom').kind).toBe('transient');
  });

  it('VenueErrors keep their kind', () => {
    expect(classifyError(new VenueError('auth', 'X', 'no')).kind).toBe('auth');
    expect(classifyError(new CcxtVenueError('circuit_open', 'X', 'open')).kind).toBe('circuit_open');
  });

  it('toVenueError names the venue and the operation and keeps Retry-After for rate limits only', () => {
    const e = toVenueError('BINANCE-SPOT', 'createOrder', new RateLimitExceeded('429'), 1500);
    expect(e).toBeInstanceOf(VenueError);
    expect(e.kind).toBe('rate_limited');
    expect(e.venue).toBe('BINANCE-SPOT');
    expect(e.message).toMatch(/^BINANCE-SPOT: createOrder: RateLimitExceeded: 429/);
    expect(e.retryAfterMs).toBe(1500);
    expect(toVenueError('V', 'op', new RequestTimeout('t'), 1500).retryAfterMs).toBeUndefined();
    expect(toVenueError('V', 'op', e)).toBe(e);
    const long = toVenueError('V', 'op', new ExchangeError('x'.repeat(2000)));
    expect(long.message.length).toBeLessThan(600);
  });

  it('parses Retry-After in seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('0.5', 0)).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});

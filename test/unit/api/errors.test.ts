import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { callDependency, isTransient, UnavailableError } from '../../../stateful/api/errors/index.ts';
import { isJsonContentType, toJson } from '../../../stateful/api/json/index.ts';

describe('the JSON replacer', () => {
  it('writes bigints as exact digit strings, everywhere in the value', () => {
    const ns = 1_751_328_000_123_456_789n;
    expect(toJson({ ts_event: ns, nested: [{ ts_init: ns + 1n }], n: 1.5, s: 'x', nil: null })).toBe(
      '{"ts_event":"1751328000123456789","nested":[{"ts_init":"1751328000123456790"}],"n":1.5,"s":"x","nil":null}',
    );
  });

  it('recognises JSON media types', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=UTF-8')).toBe(true);
    expect(isJsonContentType('application/problem+json')).toBe(true);
    expect(isJsonContentType('text/json')).toBe(false);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});

describe('failure classification', () => {
  it.each([
    ['gRPC UNAVAILABLE', Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })],
    ['gRPC DEADLINE_EXCEEDED', Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 })],
    ['gRPC ABORTED (contention)', Object.assign(new Error('10 ABORTED'), { code: 10 })],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['HTTP 503 from a client library', Object.assign(new Error('Service Unavailable'), { code: 503 })],
    ['fetch failed (a TypeError)', new TypeError('fetch failed')],
    ['a timeout', new Error('health check timed out')],
    ['a flagged error', Object.assign(new Error('ledger contention'), { transient: true })],
    [
      'a transient cause',
      new Error('write failed', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }),
    ],
  ])('%s is transient', (_name, err) => {
    expect(isTransient(err)).toBe(true);
  });

  it.each([
    ['a TypeError bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['gRPC INVALID_ARGUMENT', Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 })],
    ['a plain value', 'boom'],
  ])('%s is not transient', (_name, err) => {
    expect(isTransient(err)).toBe(false);
  });

  it('callDependency: thrown failures become UnavailableError (503), bugs and our own errors pass through', async () => {
    await expect(
      callDependency('order store', async () => {
        throw new Error('journal closed');
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    await expect(
      callDependency('order store', async () => {
        throw new TypeError('x is not a function');
      }),
    ).rejects.toBeInstanceOf(TypeError);
    const v = new ValidationError('invalid_order', [{ path: 'quantity', message: 'bad' }]);
    await expect(
      callDependency('order service', async () => {
        throw v;
      }),
    ).rejects.toBe(v);
    await expect(callDependency('x', async () => 42)).resolves.toBe(42);
  });
});

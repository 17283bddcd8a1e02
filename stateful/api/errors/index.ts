/**
 * One error policy for the HTTP API, applied in `app.onError`:
 *
 * | thrown                                   | status | body `error.code`            |
 * | ---------------------------------------- | ------ | ---------------------------- |
 * | `ValidationError` (shared/domain/errors) | 400    | its code, with `issues`      |
 * | `ApiError`                               | its    | its code                     |
 * | hono `HTTPException`                     | its    | from the status              |
 * | `UnavailableError` (transient failure)   | 503    | `unavailable` + Retry-After  |
 * | anything else (a bug)                    | 500    | `internal` + `request_id`, logged |
 *
 * Every error body is `{error: {code, message, issues?, request_id?, ...}}`; 400s always carry
 * `issues: [{path, message}]` whose `path` names the field (`quantity`,
 * `exec_algorithm_params.duration_sec`, the query parameter `status`).
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { type Issue, ValidationError } from '../../../shared/domain/errors.ts';

/** An HTTP answer other than 2xx decided by a route (404, 409, 413, 415, ...). */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  /** Extra fields of the error body (e.g. the order for a 409). */
  readonly details: Record<string, unknown>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** A transient failure of a dependency (store, bus): the client should retry (503). */
export class UnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    issues?: Issue[];
    request_id?: string;
    [extra: string]: unknown;
  };
}

export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, ...extra } };
}

/** gRPC codes that mean "try again": CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const TRANSIENT_GRPC = new Set([1, 4, 8, 10, 13, 14]);
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const TRANSIENT_HTTP = new Set([408, 429, 500, 502, 503, 504]);

function field(err: object, key: string): unknown {
  return key in err ? (err as Record<string, unknown>)[key] : undefined;
}

/**
 * True for failures that a retry may cure: gRPC UNAVAILABLE / DEADLINE_EXCEEDED / ABORTED / ...,
 * network errno codes, HTTP 408/429/5xx from a client library, timeouts, `fetch failed`, an error
 * flagged `transient: true`, or any of these as a `cause`.
 */
export function isTransient(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  if (err instanceof UnavailableError || field(err, 'transient') === true) return true;
  const code = field(err, 'code');
  if (typeof code === 'number' && (TRANSIENT_GRPC.has(code) || TRANSIENT_HTTP.has(code))) return true;
  if (typeof code === 'string' && TRANSIENT_ERRNO.has(code)) return true;
  const status = field(err, 'status');
  if (typeof status === 'number' && TRANSIENT_HTTP.has(status)) return true;
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
    if (err.message === 'fetch failed' || /timed? ?out/i.test(err.message)) return true;
  }
  return isTransient(field(err, 'cause'), depth + 1);
}

/** Programming errors: a bug, not a dependency outage (unless the error is also transient). */
function isProgrammingError(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError ||
    err instanceof RangeError
  );
}

/**
 * Run a call into the order service or a store. The service contract throws only for transient
 * failures (store or bus unavailable), so a thrown error becomes an UnavailableError (503) — except
 * our own error types, which pass through, and programming errors that are not transient, which
 * stay 500.
 */
export async function callDependency<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ValidationError || err instanceof ApiError || err instanceof HTTPException) throw err;
    if (isTransient(err) || !isProgrammingError(err)) {
      throw new UnavailableError(
        `${what} is unavailable: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

const NO_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

function requestIdOf(c: Context): string | undefined {
  const id: unknown = c.get('requestId');
  return typeof id === 'string' ? id : undefined;
}

function json(
  c: Context,
  status: ContentfulStatusCode,
  body: ErrorBody,
  headers: Record<string, string> = {},
) {
  return c.body(JSON.stringify(body), status, {
    'Content-Type': 'application/json; charset=utf-8',
    ...headers,
  });
}

/** The `app.onError` handler. 5xx are logged (503 at warn, 500 at error with the stack). */
export function createErrorHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    const requestId = requestIdOf(c);
    if (err instanceof ValidationError) {
      return json(c, 400, errorBody(err.code, err.message, { issues: err.issues }));
    }
    if (err instanceof ApiError) {
      return json(c, err.status, errorBody(err.code, err.message, err.details));
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status >= 500) logger.error({ err, request_id: requestId }, 'http exception');
      const code = STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request');
      const out: ContentfulStatusCode = NO_BODY_STATUSES.has(status) ? 500 : (status as ContentfulStatusCode);
      return json(c, out, errorBody(code, err.message || code.replaceAll('_', ' ')));
    }
    if (err instanceof UnavailableError || isTransient(err)) {
      logger.warn({ err, request_id: requestId, path: c.req.path }, 'dependency unavailable');
      return json(
        c,
        503,
        errorBody('unavailable', 'a dependency is temporarily unavailable; retry later', {
          ...(requestId ? { request_id: requestId } : {}),
        }),
        { 'Retry-After': '1' },
      );
    }
    logger.error({ err, request_id: requestId, method: c.req.method, path: c.req.path }, 'unhandled error');
    return json(
      c,
      500,
      errorBody('internal', 'internal error; quote the request_id when reporting it', {
        ...(requestId ? { request_id: requestId } : {}),
      }),
    );
  };
}

/** `app.notFound`: 404 `{error:{code:'not_found'}}` for paths no route serves. */
export const notFoundHandler: NotFoundHandler = (c) =>
  json(c, 404, errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`));

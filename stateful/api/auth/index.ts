/**
 * Authentication, authorization and per-caller rate limits for the HTTP API, as ONE hono
 * middleware (`authMiddleware`) that the app factory installs once for every route. It sets the
 * caller on the context (`c.get('caller')`: `{ id, roles, source, strategies }`) for the routes to
 * record (order timeline, trading-state history), then:
 *
 * 1. finds the permission the request needs (./roles.ts: public, read, submit, cancel, trading state, admin);
 * 2. identifies the caller — `auth.mode: none`: the local operator (the service then only listens
 *    on loopback, see shared/config/schema.ts); `auth.mode: google`: an IAP assertion or a
 *    Google-signed ID token verified here (./verify.ts) and mapped to roles by the configured grants;
 * 3. refuses: 401 `unauthenticated` (no or bad credential, with `WWW-Authenticate`), 403
 *    `forbidden` (no role for it, or a trader outside its strategies), 429 `rate_limited` with
 *    `Retry-After` (per caller: all requests, and mutating requests on their own bucket).
 *
 * Every refusal has the API's error body `{error:{code, message}}`. Public routes (health probes,
 * the OpenAPI document, the console's files) skip identity and limits.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthConfig } from '../../../shared/config/schema.ts';
import { errorBody, UnavailableError } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';
import { RateLimiter } from './rate-limit.ts';
import { authorize, type Caller, type Grant, isMutation, requiredPermission, rolesFor } from './roles.ts';
import { CredentialError, googleVerifier, IAP_HEADER, type IdentityVerifier, loadKeySet } from './verify.ts';

export type { Caller, Permission } from './roles.ts';
export { authorize, requiredPermission, rolesFor } from './roles.ts';
export { CredentialError, googleVerifier, IAP_HEADER, type IdentityVerifier, loadKeySet } from './verify.ts';

/** The hono variables this middleware sets. */
export type AuthVariables = { caller: Caller };

/** The caller when auth is off: the operator at this machine, with every role. */
export const LOCAL_CALLER: Caller = Object.freeze({
  id: 'local',
  roles: Object.freeze(['admin'] as const),
  source: 'local',
  strategies: Object.freeze(['*']),
});

export interface RateLimitOptions {
  requestsPerSecond: number;
  burst: number;
  mutationsPerSecond: number;
  mutationBurst: number;
}

export interface AuthOptions {
  mode: 'none' | 'google';
  /** Verifies the presented credential (required for mode google). */
  verifier?: IdentityVerifier | undefined;
  grants?: readonly Grant[] | undefined;
  /** Per-caller limits; omitted → none. */
  rateLimit?: RateLimitOptions | undefined;
  /** The strategy of an existing order, to check a trader's cancel (null: no such order). */
  strategyOfOrder?: ((operationId: string) => Promise<string | null>) | undefined;
  /** Milliseconds clock for the rate limits (default Date.now). */
  nowMs?: (() => number) | undefined;
}

/** Build the middleware options from the `auth` block of the configuration (loads key sets). */
export async function authOptionsFromConfig(
  auth: AuthConfig,
  extra: Pick<AuthOptions, 'strategyOfOrder' | 'nowMs'> = {},
): Promise<AuthOptions> {
  const rl = auth.rate_limit;
  const rateLimit: RateLimitOptions | undefined = rl.enabled
    ? {
        requestsPerSecond: rl.requests_per_second,
        burst: rl.burst,
        mutationsPerSecond: rl.mutations_per_second,
        mutationBurst: rl.mutation_burst,
      }
    : undefined;
  if (auth.mode === 'none') return { mode: 'none', rateLimit, ...extra };
  const [idTokenKeys, iapKeys] = await Promise.all([
    loadKeySet(auth.oidc_jwks_url),
    loadKeySet(auth.iap_jwks_url),
  ]);
  return {
    mode: 'google',
    verifier: googleVerifier({
      audiences: auth.audiences,
      iapAudiences: auth.iap_audiences,
      idTokenKeys,
      iapKeys,
      clockToleranceSec: auth.clock_tolerance_sec,
    }),
    grants: auth.grants,
    rateLimit,
    ...extra,
  };
}

function refuse(
  c: Context<ApiEnv>,
  status: 401 | 403 | 429,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const requestId = c.get('requestId');
  return sendJson(c, status, errorBody(code, message, requestId ? { request_id: requestId } : {}), headers);
}

/** strategy_id of a submitted instruction, if the body is JSON carrying one (else the service answers 400). */
async function submittedStrategy(c: Context<ApiEnv>): Promise<string | null> {
  try {
    const body = JSON.parse(new TextDecoder().decode(await c.req.arrayBuffer())) as unknown;
    const s =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>).strategy_id : null;
    return typeof s === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function authMiddleware(options: AuthOptions): MiddlewareHandler<ApiEnv> {
  if (options.mode === 'google' && options.verifier === undefined) {
    throw new Error('auth mode google needs a verifier');
  }
  const grants = options.grants ?? [];
  const nowMs = options.nowMs ?? Date.now;
  const all = options.rateLimit
    ? new RateLimiter({ perSecond: options.rateLimit.requestsPerSecond, burst: options.rateLimit.burst })
    : null;
  const mutations = options.rateLimit
    ? new RateLimiter({
        perSecond: options.rateLimit.mutationsPerSecond,
        burst: options.rateLimit.mutationBurst,
      })
    : null;

  const identify = async (c: Context<ApiEnv>): Promise<Caller | Response> => {
    if (options.mode === 'none') return LOCAL_CALLER;
    let verified: Awaited<ReturnType<IdentityVerifier>>;
    try {
      verified = await (options.verifier as IdentityVerifier)({
        iap: c.req.header(IAP_HEADER),
        authorization: c.req.header('authorization'),
      });
    } catch (err) {
      if (err instanceof CredentialError) {
        return refuse(c, 401, 'unauthenticated', err.message, {
          'WWW-Authenticate': 'Bearer error="invalid_token"',
        });
      }
      throw new UnavailableError('identity verification is unavailable (Google key set)', { cause: err });
    }
    if (verified === null) {
      return refuse(
        c,
        401,
        'unauthenticated',
        `sign in: send a Google ID token as Authorization: Bearer, or come through IAP (${IAP_HEADER})`,
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    const r = rolesFor(verified.email, grants);
    return { id: r.principal, roles: r.roles, source: verified.source, strategies: r.strategies };
  };

  return async (c, next) => {
    const permission = requiredPermission(c.req.method, c.req.path);
    if (permission === 'public') {
      await next();
      return;
    }
    const who = await identify(c);
    if (who instanceof Response) return who;
    c.set('caller', who);

    const now = nowMs();
    const limited = all?.take(who.id, now);
    if (limited !== undefined && !limited.ok) return tooMany(c, who, limited.retryAfterSec, 'requests');
    if (isMutation(permission)) {
      const m = mutations?.take(who.id, now);
      if (m !== undefined && !m.ok) return tooMany(c, who, m.retryAfterSec, 'changes');
    }

    let strategy: string | null | undefined;
    if (permission === 'orders.submit') strategy = await submittedStrategy(c);
    else if (permission === 'orders.cancel' && options.strategyOfOrder !== undefined) {
      const id = decodeURIComponent(c.req.path.slice(c.req.path.lastIndexOf('/') + 1));
      strategy = await options.strategyOfOrder(id);
    }
    const decision = authorize(who, permission, strategy);
    if (!decision.allowed) return refuse(c, 403, 'forbidden', decision.reason);
    await next();
  };
}

function tooMany(c: Context<ApiEnv>, who: Caller, retryAfterSec: number, what: string): Response {
  return refuse(c, 429, 'rate_limited', `too many ${what} from ${who.id}; retry after ${retryAfterSec} s`, {
    'Retry-After': String(retryAfterSec),
  });
}

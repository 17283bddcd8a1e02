/**
 * Who is calling: one replaceable function from a request to an `Identity`, run as a middleware
 * on every API request and read by the routes that record an actor (order submit and cancel,
 * trading-state changes).
 *
 * In the cloud the service sits behind Cloud Run IAM or IAP, which verify the caller before a
 * request reaches this process: IAP passes the verified e-mail in `X-Goog-Authenticated-User-Email`
 * (`accounts.google.com:alice@example.com`); Cloud Run IAM passes the verified ID token in
 * `Authorization` (or `X-Serverless-Authorization`), whose `email` claim names the caller. Locally
 * (no proxy in front, bound to 127.0.0.1) the caller is `local@<address>`.
 *
 * Authentication and roles are not decided here: this only names the caller for the record. A
 * later policy replaces `identify` (see `ApiDeps.identify`) without touching the routes.
 */
import type { Context, MiddlewareHandler } from 'hono';

export interface Identity {
  /** Recorded as `updated_by` / `requested_by`, e.g. `alice@example.com` or `local@127.0.0.1`. */
  subject: string;
  /** Where the name came from. */
  source: 'iap' | 'iam' | 'local';
}

/** Reads the caller from a request. Must not throw; an unknown caller is still named. */
export type Identify = (
  req: { header(name: string): string | undefined },
  remoteAddress: string | null,
) => Identity;

const IAP_HEADER = 'x-goog-authenticated-user-email';

/** The payload of a JWT, or null (the token was verified upstream; only its claims are read). */
function jwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (part === undefined) return null;
  try {
    const json: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function bearer(value: string | undefined): string | null {
  const m = value === undefined ? null : /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m?.[1] ?? null;
}

/** The default: IAP's header, else the Cloud Run IAM token's e-mail, else the local address. */
export const identifyCaller: Identify = (req, remoteAddress) => {
  const iap = req.header(IAP_HEADER)?.trim();
  if (iap) return { subject: iap.replace(/^accounts\.google\.com:/, '').slice(0, 256), source: 'iap' };
  const token = bearer(req.header('x-serverless-authorization')) ?? bearer(req.header('authorization'));
  const claims = token === null ? null : jwtClaims(token);
  const email = claims?.email;
  if (typeof email === 'string' && email.length > 0) return { subject: email.slice(0, 256), source: 'iam' };
  return { subject: `local@${remoteAddress ?? 'unknown'}`, source: 'local' };
};

export type IdentityVariables = { identity: Identity };

function remoteAddressOf(c: Context): string | null {
  // @hono/node-server puts the Node request/socket on `c.env.incoming`.
  const env: unknown = c.env;
  if (env !== null && typeof env === 'object' && 'incoming' in env) {
    const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming;
    return incoming?.socket?.remoteAddress ?? null;
  }
  return null;
}

/** Sets `c.get('identity')` for every request. */
export function identityMiddleware(identify: Identify = identifyCaller): MiddlewareHandler {
  return async (c, next) => {
    c.set('identity', identify(c.req, remoteAddressOf(c)));
    await next();
  };
}

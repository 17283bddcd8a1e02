/**
 * Verifying a caller's Google identity in the service (not only at Cloud Run's IAM front door):
 *
 * - behind Identity-Aware Proxy: the `x-goog-iap-jwt-assertion` header, an ES256 JWT signed by IAP
 *   (issuer `https://cloud.google.com/iap`, audience `/projects/<number>/global/backendServices/<id>`
 *   or `/projects/<number>/apps/<project>`);
 * - called directly: `Authorization: Bearer <Google-signed ID token>` (issuer `accounts.google.com`,
 *   RS256, audience the service URL or an OAuth client id), as minted by
 *   `gcloud auth print-identity-token` or the metadata server of a service account.
 *
 * Signatures, expiry, issuer and audience are checked by `jose` against Google's published key sets
 * (cached and refreshed by `createRemoteJWKSet`); a `file://` key set is read once at start-up, for
 * tests and machines without network. The e-mail must be verified.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';

export const IAP_HEADER = 'x-goog-iap-jwt-assertion';
export const IAP_ISSUER = 'https://cloud.google.com/iap';
export const GOOGLE_ID_TOKEN_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

export interface VerifiedIdentity {
  email: string;
  source: 'iap' | 'id_token';
}

/** Why a presented credential was refused (401), in words safe to show the caller. */
export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

export interface GoogleVerifierOptions {
  /** Accepted `aud` of ID tokens; none → Bearer tokens are refused. */
  audiences: readonly string[];
  /** Accepted `aud` of IAP assertions; none → the IAP header is refused. */
  iapAudiences: readonly string[];
  idTokenKeys: JWTVerifyGetKey;
  iapKeys: JWTVerifyGetKey;
  clockToleranceSec?: number | undefined;
}

export type IdentityVerifier = (headers: {
  iap: string | undefined;
  authorization: string | undefined;
}) => Promise<VerifiedIdentity | null>;

/** A key set from a URL: https:// fetched (and refreshed) from Google, file:// read now. */
export async function loadKeySet(url: string): Promise<JWTVerifyGetKey> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const jwks = JSON.parse(await readFile(fileURLToPath(u), 'utf8')) as JSONWebKeySet;
    return createLocalJWKSet(jwks);
  }
  if (u.protocol !== 'https:') throw new Error(`key set URL must be https:// or file://, got ${url}`);
  return createRemoteJWKSet(u, { cooldownDuration: 30_000, cacheMaxAge: 3_600_000 });
}

function explain(err: unknown, what: string): CredentialError {
  if (err instanceof errors.JWTExpired) return new CredentialError(`${what} has expired`);
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new CredentialError(`${what} is not valid here: ${err.claim} ${err.reason.replaceAll('_', ' ')}`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) {
    return new CredentialError(`${what} is not signed by a trusted key`);
  }
  if (err instanceof errors.JOSEError) return new CredentialError(`${what} is malformed or unsupported`);
  throw err; // a key set that cannot be fetched: not the caller's fault (503 upstream)
}

function emailOf(payload: JWTPayload, what: string, requireVerifiedFlag: boolean): string {
  const email = payload.email;
  if (typeof email !== 'string' || !email.includes('@'))
    throw new CredentialError(`${what} carries no e-mail`);
  if (requireVerifiedFlag && payload.email_verified !== true) {
    throw new CredentialError(`${what}: e-mail ${email} is not verified`);
  }
  return email.toLowerCase();
}

export function googleVerifier(o: GoogleVerifierOptions): IdentityVerifier {
  const clockTolerance = o.clockToleranceSec ?? 30;
  return async ({ iap, authorization }) => {
    if (iap !== undefined && iap !== '') {
      if (o.iapAudiences.length === 0) throw new CredentialError('IAP assertions are not accepted here');
      const what = 'the IAP assertion';
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(iap, o.iapKeys, {
          issuer: IAP_ISSUER,
          audience: [...o.iapAudiences],
          algorithms: ['ES256'],
          clockTolerance,
          requiredClaims: ['exp', 'iat', 'sub'],
        }));
      } catch (err) {
        throw explain(err, what);
      }
      return { email: emailOf(payload, what, false), source: 'iap' };
    }
    if (authorization === undefined || authorization === '') return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m === null) throw new CredentialError('Authorization must be "Bearer <Google ID token>"');
    if (o.audiences.length === 0) throw new CredentialError('ID tokens are not accepted here');
    const what = 'the ID token';
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(m[1] as string, o.idTokenKeys, {
        issuer: GOOGLE_ID_TOKEN_ISSUERS,
        audience: [...o.audiences],
        algorithms: ['RS256'],
        clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (err) {
      throw explain(err, what);
    }
    return { email: emailOf(payload, what, true), source: 'id_token' };
  };
}

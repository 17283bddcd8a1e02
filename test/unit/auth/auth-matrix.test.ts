/**
 * Authentication and authorization of the HTTP API, in-process over the real order pipeline:
 * tokens are signed here by test key pairs (an RS256 "Google" key for ID tokens, an ES256 "IAP"
 * key), and the verifier trusts exactly those key sets — the same jose checks that run against
 * Google's published keys in the cloud.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPlatform, createPlatformOrderService, type Platform } from '../../../infra/compose.ts';
import { EMBEDDED_CONFIG, parseConfig, safeParseConfig } from '../../../shared/config/schema.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { type AuthOptions, googleVerifier, IAP_HEADER } from '../../../stateful/api/auth/index.ts';
import { createApp } from '../../../stateful/api/index.ts';
import { instruction } from '../api/fake-order-service.ts';
import { putBook } from '../app/harness.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const AUDIENCE = 'https://execution.test.run.app';
const IAP_AUDIENCE = '/projects/123/global/backendServices/456';
const STRATEGY = 'momentum-btc-v1';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let google: KeyPair;
let iap: KeyPair;
let attacker: KeyPair;
let googleJwk: JWK;
let iapJwk: JWK;

beforeAll(async () => {
  google = await generateKeyPair('RS256');
  iap = await generateKeyPair('ES256');
  attacker = await generateKeyPair('RS256');
  googleJwk = { ...(await exportJWK(google.publicKey)), kid: 'g1', alg: 'RS256', use: 'sig' };
  iapJwk = { ...(await exportJWK(iap.publicKey)), kid: 'i1', alg: 'ES256', use: 'sig' };
});

/** A Google-style ID token for `email`, with overrides of any claim or of the signing key. */
async function idToken(
  email: string,
  o: { claims?: JWTPayload; key?: KeyPair; kid?: string; expSec?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email, email_verified: true, ...o.claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'g1' })
    .setIssuer((o.claims?.iss as string | undefined) ?? 'https://accounts.google.com')
    .setAudience((o.claims?.aud as string | undefined) ?? AUDIENCE)
    .setSubject('1234567890')
    .setIssuedAt(now - 10)
    .setExpirationTime(o.expSec ?? now + 3600)
    .sign((o.key ?? google).privateKey);
}

async function iapAssertion(email: string, aud = IAP_AUDIENCE): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email })
    .setProtectedHeader({ alg: 'ES256', kid: 'i1' })
    .setIssuer('https://cloud.google.com/iap')
    .setAudience(aud)
    .setSubject('accounts.google.com:42')
    .setIssuedAt(now - 10)
    .setExpirationTime(now + 600)
    .sign(iap.privateKey);
}

const GRANTS = [
  { principal: 'user:viewer@desk.test', roles: ['viewer' as const], strategies: ['*'] },
  { principal: 'user:trader@desk.test', roles: ['trader' as const], strategies: [STRATEGY] },
  { principal: 'user:ops@desk.test', roles: ['operator' as const], strategies: ['*'] },
  { principal: 'user:admin@desk.test', roles: ['admin' as const], strategies: ['*'] },
];

let dir: string;
let platform: Platform;
let app: ReturnType<typeof createApp>;
let nowMs = 0;

function authOptions(rateLimit?: AuthOptions['rateLimit']): AuthOptions {
  return {
    mode: 'google',
    verifier: googleVerifier({
      audiences: [AUDIENCE],
      iapAudiences: [IAP_AUDIENCE],
      idTokenKeys: createLocalJWKSet({ keys: [googleJwk] }),
      iapKeys: createLocalJWKSet({ keys: [iapJwk] }),
      clockToleranceSec: 5,
    }),
    grants: GRANTS,
    rateLimit,
    nowMs: () => nowMs,
  };
}

async function makeApp(rateLimit?: AuthOptions['rateLimit']) {
  const a = createApp({
    orders: createPlatformOrderService(platform),
    positions: platform.positions,
    health: { checks: platform.health },
    auth: authOptions(rateLimit),
    tradingState: { store: platform.tradingState, initial: 'ACTIVE', now: () => platform.clock.now() },
  });
  return a;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auth-matrix-'));
  const clock = new TestClock(isoToNanos('2025-07-01T12:00:00Z'));
  const config = parseConfig(
    { ...EMBEDDED_CONFIG, storage: { ...EMBEDDED_CONFIG.storage, data_dir: dir } },
    { env: {} },
  );
  platform = await createPlatform(config, { env: {}, clock });
  await putBook(platform.marketState, clock, 'BINANCE-SPOT', BTC, '60000');
  app = await makeApp();
  nowMs = 1_000_000;
});

afterEach(async () => {
  await platform.close();
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
const nextOp = () => `OP-AUTH-${++seq}`;

async function submit(headers: Record<string, string>, strategy = STRATEGY, op = nextOp()) {
  return app.request('/api/orders', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(instruction({ operation_id: op, strategy_id: strategy, order_type: 'MARKET' })),
  });
}

async function bearer(email: string): Promise<Record<string, string>> {
  return { Authorization: `Bearer ${await idToken(email)}` };
}

type Endpoint = { name: string; call: (h: Record<string, string>) => Response | Promise<Response> };

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /api/health', call: (h) => app.request('/api/health', { headers: h }) },
  { name: 'GET /api/orders', call: (h) => app.request('/api/orders', { headers: h }) },
  { name: 'GET /api/positions', call: (h) => app.request('/api/positions', { headers: h }) },
  { name: 'GET /metrics', call: (h) => app.request('/metrics', { headers: h }) },
  { name: 'POST /api/orders (own strategy)', call: (h) => submit(h) },
  { name: 'POST /api/orders (other strategy)', call: (h) => submit(h, 'carry-eth-v2') },
  {
    name: 'DELETE /api/orders/:id',
    call: async (h) => {
      const op = nextOp();
      const made = await submit(await bearer('admin@desk.test'), STRATEGY, op);
      expect(made.status).toBe(201);
      return app.request(`/api/orders/${op}`, { method: 'DELETE', headers: h });
    },
  },
  {
    name: 'PUT /api/trading-state',
    call: (h) =>
      app.request('/api/trading-state', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', ...h },
        body: JSON.stringify({ state: 'HALTED', reason: 'test' }),
      }),
  },
];

const OK = 'ok';
// role (caller e-mail, or none) → the answer per endpoint, in ENDPOINTS order.
const MATRIX: Array<[string, string | null, Array<number | typeof OK>]> = [
  ['anonymous', null, [OK, 401, 401, 401, 401, 401, 401, 401]],
  ['no grant', 'stranger@elsewhere.test', [OK, 403, 403, 403, 403, 403, 403, 403]],
  ['viewer', 'viewer@desk.test', [OK, OK, OK, OK, 403, 403, 403, 403]],
  ['trader', 'trader@desk.test', [OK, OK, OK, OK, OK, 403, OK, 403]],
  ['operator', 'ops@desk.test', [OK, OK, OK, OK, 403, 403, 403, OK]],
  ['admin', 'admin@desk.test', [OK, OK, OK, OK, OK, OK, OK, OK]],
];

describe('the auth matrix (role × endpoint)', () => {
  for (const [role, email, expected] of MATRIX) {
    ENDPOINTS.forEach((endpoint, i) => {
      const want = expected[i];
      it(`${role} → ${endpoint.name}: ${want === OK ? '2xx' : want}`, async () => {
        const headers = email === null ? {} : await bearer(email);
        const res = await endpoint.call(headers);
        if (want === OK) {
          expect(res.status, await res.clone().text()).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(300);
        } else {
          expect(res.status).toBe(want);
          const body = (await res.json()) as { error: { code: string; message: string } };
          expect(body.error.code).toBe(want === 401 ? 'unauthenticated' : 'forbidden');
          expect(body.error.message.length).toBeGreaterThan(10);
          if (want === 401) expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        }
      });
    });
  }
});

describe('credentials that are refused (401)', () => {
  const cases: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
    [
      'expired',
      async () => ({
        Authorization: `Bearer ${await idToken('admin@desk.test', { expSec: Math.floor(Date.now() / 1000) - 60 })}`,
      }),
      /expired/,
    ],
    [
      'forged (signed by another key under a trusted kid)',
      async () => ({ Authorization: `Bearer ${await idToken('admin@desk.test', { key: attacker })}` }),
      /not signed by a trusted key/,
    ],
    [
      'wrong audience',
      async () => ({
        Authorization: `Bearer ${await idToken('admin@desk.test', { claims: { aud: 'https://other.run.app' } })}`,
      }),
      /aud/,
    ],
    [
      'wrong issuer',
      async () => ({
        Authorization: `Bearer ${await idToken('admin@desk.test', { claims: { iss: 'https://evil.test' } })}`,
      }),
      /iss/,
    ],
    [
      'e-mail not verified',
      async () => ({
        Authorization: `Bearer ${await idToken('admin@desk.test', { claims: { email_verified: false } })}`,
      }),
      /not verified/,
    ],
    [
      'unsigned (alg none)',
      async () => {
        const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          iss: 'https://accounts.google.com',
          aud: AUDIENCE,
          sub: '1',
          email: 'admin@desk.test',
          email_verified: true,
          iat: now,
          exp: now + 600,
        };
        return { Authorization: `Bearer ${part({ alg: 'none' })}.${part(claims)}.` };
      },
      /malformed or unsupported|not signed/,
    ],
    ['garbage', async () => ({ Authorization: 'Bearer not.a.jwt' }), /malformed/],
    ['not a bearer', async () => ({ Authorization: 'Basic YWRtaW46YWRtaW4=' }), /Bearer/],
    [
      'IAP assertion for another backend',
      async () => ({
        [IAP_HEADER]: await iapAssertion('admin@desk.test', '/projects/9/global/backendServices/9'),
      }),
      /aud/,
    ],
    [
      'an ID token presented as an IAP assertion',
      async () => ({ [IAP_HEADER]: await idToken('admin@desk.test') }),
      /not signed|malformed|unsupported/,
    ],
  ];
  for (const [name, headers, message] of cases) {
    it(name, async () => {
      const res = await app.request('/api/orders', { headers: await headers() });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthenticated');
      expect(body.error.message).toMatch(message);
    });
  }

  it('a valid IAP assertion identifies the caller', async () => {
    const res = await app.request('/api/orders', {
      headers: { [IAP_HEADER]: await iapAssertion('viewer@desk.test') },
    });
    expect(res.status).toBe(200);
  });
});

describe('the caller is recorded', () => {
  it('in the timeline of an order submitted and canceled over the API', async () => {
    const op = nextOp();
    expect((await submit(await bearer('trader@desk.test'), STRATEGY, op)).status).toBe(201);
    const cancel = await app.request(`/api/orders/${op}`, {
      method: 'DELETE',
      headers: await bearer('trader@desk.test'),
    });
    expect([200, 202]).toContain(cancel.status);
    const detail = (await (
      await app.request(`/api/orders/${op}`, { headers: await bearer('viewer@desk.test') })
    ).json()) as { timeline: Array<{ type: string; by?: { id: string; source: string } }> };
    const received = detail.timeline.find((e) => e.type === 'OrderReceived');
    expect(received?.by).toEqual({ id: 'user:trader@desk.test', source: 'id_token' });
    const cancelEvent = detail.timeline.find(
      (e) => e.type === 'OrderCancelRequested' || e.type === 'OrderCanceled',
    );
    expect(cancelEvent?.by).toEqual({ id: 'user:trader@desk.test', source: 'id_token' });
  });

  it('a trader may not cancel an order of a strategy outside its grant', async () => {
    const op = nextOp();
    expect((await submit(await bearer('admin@desk.test'), 'carry-eth-v2', op)).status).toBe(201);
    const res = await app.request(`/api/orders/${op}`, {
      method: 'DELETE',
      headers: await bearer('trader@desk.test'),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/carry-eth-v2/);
  });

  it('with a trading-state change an operator makes', async () => {
    const res = await app.request('/api/trading-state', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', [IAP_HEADER]: await iapAssertion('ops@desk.test') },
      body: JSON.stringify({ state: 'HALTED', reason: 'venue incident' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'HALTED', updated_by: 'user:ops@desk.test' });
    const history = await platform.tradingState.history({ scope: { kind: 'global' } });
    expect(history[0]).toMatchObject({ state: 'HALTED', updated_by: 'user:ops@desk.test' });
  });
});

describe('rate limits per caller', () => {
  it('answers 429 with Retry-After past the burst, per caller, and recovers with time', async () => {
    app = await makeApp({ requestsPerSecond: 2, burst: 3, mutationsPerSecond: 1, mutationBurst: 1 });
    const viewer = await bearer('viewer@desk.test');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.request('/api/orders', { headers: viewer })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await app.request('/api/orders', { headers: viewer });
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // Another caller has its own bucket.
    expect((await app.request('/api/orders', { headers: await bearer('admin@desk.test') })).status).toBe(200);
    // Mutations have a smaller bucket of their own.
    const trader = await bearer('trader@desk.test');
    expect((await submit(trader)).status).toBe(201);
    const second = await submit(trader);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    nowMs += 1000;
    expect((await app.request('/api/orders', { headers: viewer })).status).toBe(200);
    expect((await submit(trader)).status).toBe(201);
  });

  it('never limits the health probes', async () => {
    app = await makeApp({ requestsPerSecond: 1, burst: 1, mutationsPerSecond: 1, mutationBurst: 1 });
    for (let i = 0; i < 5; i++) expect((await app.request('/api/health')).status).toBe(200);
  });
});

describe('binding', () => {
  it('refuses to listen beyond loopback without auth, and accepts it with auth configured', () => {
    const open = safeParseConfig({ server: { host: '0.0.0.0' } }, { env: {} });
    expect(open.success).toBe(false);
    if (!open.success) {
      expect(open.error.issues).toContainEqual({
        path: 'server.host',
        message: expect.stringMatching(/configure auth/) as unknown as string,
      });
    }
    expect(safeParseConfig({}, { env: {} }).success).toBe(true);
    const withAuth = safeParseConfig(
      {
        server: { host: '0.0.0.0' },
        auth: {
          mode: 'google',
          audiences: [AUDIENCE],
          grants: [{ principal: 'domain:desk.test', roles: ['viewer'] }],
        },
      },
      { env: {} },
    );
    expect(withAuth.success).toBe(true);
  });

  it('names the missing pieces of mode google', () => {
    const r = safeParseConfig({ auth: { mode: 'google' } }, { env: {} });
    expect(r.success).toBe(false);
    if (!r.success)
      expect(r.error.issues.map((i) => i.path).sort()).toEqual(['auth.audiences', 'auth.grants']);
  });
});

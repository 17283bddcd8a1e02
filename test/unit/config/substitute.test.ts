// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  interpolate,
  isSecretKey,
  SECRET_FROM_ENV_MESSAGE,
  substituteEnv,
} from '../../../shared/config/substitute.ts';

describe('interpolate', () => {
  const env = { HOST: 'db.internal', PORT: '5432', EMPTY: '' };

  it('replaces ${NAME} with the variable', () => {
    expect(interpolate('postgres://${HOST}:${PORT}/x', env)).toEqual({
      value: 'postgres://db.internal:5432/x',
      missing: [],
      used: ['HOST', 'PORT'],
    });
  });

  it('uses the default of ${NAME:-default} when the variable is unset or empty', () => {
    expect(interpolate('${NOPE:-8080}', env).value).toBe('8080');
    expect(interpolate('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolate('${PORT:-8080}', env).value).toBe('5432');
    expect(interpolate('${NOPE:-}', env).value).toBe('');
    expect(interpolate('${NOPE:-a:-b}', env).value).toBe('a:-b');
  });

  it('keeps a set-but-empty variable without default as the empty string', () => {
    expect(interpolate('[${EMPTY}]', env)).toEqual({ value: '[]', missing: [], used: ['EMPTY'] });
  });

  it('reports every missing variable without a default', () => {
    const r = interpolate('${A}-${HOST}-${B}', env);
    expect(r.missing).toEqual(['A', 'B']);
    expect(r.value).toBe('-db.internal-');
  });

  it('turns $${ into a literal ${ and leaves other dollars alone', () => {
    expect(interpolate('$${HOST}', env).value).toBe('${HOST}');
    expect(interpolate('price $5 and $$ and $', env).value).toBe('price $5 and $$ and $');
    expect(interpolate('$$${HOST}', env).value).toBe('$${HOST}');
    expect(interpolate('a$${b}${HOST}', env).value).toBe('a${b}db.internal');
  });

  it('does not substitute inside a substituted value (no recursion)', () => {
    expect(interpolate('${X}', { X: '${HOST}' }).value).toBe('${HOST}');
  });

  it('reports malformed references', () => {
    expect(interpolate('abc ${HOST', env).malformed).toMatch(/unterminated/);
    expect(interpolate('${1BAD}', env).malformed).toMatch(/invalid variable name/);
    expect(interpolate('${}', env).malformed).toMatch(/invalid variable name/);
  });

  it('leaves strings without "$" unchanged (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('$')),
        (s) => {
          expect(interpolate(s, env)).toEqual({ value: s, missing: [], used: [] });
        },
      ),
    );
  });

  it('escaping every ${ as $${ yields the original text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('$', '{', '}', 'A', ':', '-', 'x') }), (s) => {
        // (a replacer function, because "$$" in a replacement string means one "$")
        const escaped = s.replaceAll('${', () => '$${');
        const r = interpolate(escaped, {});
        expect(r.value).toBe(s);
        expect(r.missing).toEqual([]);
        expect(r.malformed).toBeUndefined();
      }),
    );
  });
});

describe('substituteEnv', () => {
  it('substitutes string values everywhere and names the field of each missing variable', () => {
    const raw = {
      venues: [
        { id: 'X', accounts: [{ api_key: '${BINANCE_API_KEY}', api_secret: '${BINANCE_API_SECRET}' }] },
      ],
      storage: { gcp_project: '${GCP_PROJECT}', bucket: 'b-${ENV_NAME:-dev}' },
      server: { port: 8080 },
    };
    const r = substituteEnv(raw, { BINANCE_API_SECRET: 's3cr3t-value', GCP_PROJECT: 'acme-prod' });
    expect(r.issues).toEqual([
      { path: 'venues[0].accounts[0].api_key', message: 'environment variable BINANCE_API_KEY is not set' },
    ]);
    expect(r.value).toEqual({
      venues: [{ id: 'X', accounts: [{ api_key: '', api_secret: 's3cr3t-value' }] }],
      storage: { gcp_project: 'acme-prod', bucket: 'b-dev' },
      server: { port: 8080 },
    });
    expect(r.secrets).toEqual(['s3cr3t-value']);
  });

  it('does not modify its input and does not substitute keys', () => {
    const raw = { '${K}': '${V}' };
    const r = substituteEnv(raw, { K: 'key', V: 'value' });
    expect(r.value).toEqual({ '${K}': 'value' });
    expect(raw).toEqual({ '${K}': '${V}' });
  });

  it('rejects literal secrets at their path without echoing them', () => {
    const raw = {
      venues: [
        {
          accounts: [
            { api_key: 'AKIA-LITERAL-KEY', api_secret: 12345, password: true },
            { api_key: 'prefix-${KEY}', api_secret: '${SECRET:-literal-default}' },
          ],
        },
      ],
      some_token: 'tok-literal',
      nested: { db_passphrase: 'pp-literal' },
    };
    const r = substituteEnv(raw, { KEY: 'k', SECRET: 's' });
    expect(r.issues).toEqual([
      { path: 'venues[0].accounts[0].api_key', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'venues[0].accounts[0].api_secret', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'venues[0].accounts[0].password', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'venues[0].accounts[1].api_key', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'venues[0].accounts[1].api_secret', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'some_token', message: SECRET_FROM_ENV_MESSAGE },
      { path: 'nested.db_passphrase', message: SECRET_FROM_ENV_MESSAGE },
    ]);
    const text = JSON.stringify(r.issues);
    for (const literal of [
      'AKIA-LITERAL-KEY',
      '12345',
      'prefix',
      'literal-default',
      'tok-literal',
      'pp-literal',
    ]) {
      expect(text).not.toContain(literal);
    }
  });

  it('accepts secrets given as one reference, empty, null, or an empty default', () => {
    const raw = { a: { api_key: '${K}', api_secret: '', password: null, token: '${T:-}' } };
    const r = substituteEnv(raw, { K: 'the-key' });
    expect(r.issues).toEqual([]);
    expect(r.value).toEqual({ a: { api_key: 'the-key', api_secret: '', password: null, token: '' } });
    expect(r.secrets).toEqual(['the-key']);
  });

  it('treats values of variables whose names look secret as secrets wherever they are used', () => {
    const r = substituteEnv({ url: 'https://x/?t=${SERVICE_TOKEN}' }, { SERVICE_TOKEN: 'abc123' });
    expect(r.secrets).toEqual(['abc123']);
  });

  it('reports malformed references at their path without echoing secret fields', () => {
    const r = substituteEnv({ server: { host: '${HOST' }, a: { api_key: '${KEY' } }, {});
    expect(r.issues.map((i) => i.path)).toEqual(['server.host', 'a.api_key']);
    expect(r.issues[0]?.message).toMatch(/malformed variable reference: unterminated/);
  });

  it('recognises secret keys', () => {
    for (const k of ['api_key', 'api_secret', 'password', 'PASSPHRASE', 'auth_token', 'client_secret']) {
      expect(isSecretKey(k)).toBe(true);
    }
    for (const k of ['account_id', 'base_currency', 'bucket', 'id', 'max_position']) {
      expect(isSecretKey(k)).toBe(false);
    }
  });
});

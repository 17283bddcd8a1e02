// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
import { describe, expect, it } from 'vitest';
import { collectSecrets, REDACTED, redactConfig, scrubSecrets } from '../../../shared/config/redact.ts';
import { parseConfig, safeParseConfig } from '../../../shared/config/schema.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';

const SECRET_KEY = 'AKIA1234567890SECRETKEY';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const PASSPHRASE = 'correct horse battery staple';

const raw = {
  venues: [
    {
      id: 'OKX',
      exchange: 'okx',
      mode: 'LIVE',
      accounts: [
        {
          account_id: 'okx-main',
          base_currency: 'USDT',
          api_key: '${OKX_API_KEY}',
          api_secret: '${OKX_API_SECRET}',
          password: '${OKX_API_PASSPHRASE}',
        },
      ],
    },
  ],
};
const env = { OKX_API_KEY: SECRET_KEY, OKX_API_SECRET: SECRET, OKX_API_PASSPHRASE: PASSPHRASE };

/** Everything an error could leak through: message, stack, issues, JSON form. */
function everyRendering(err: unknown): string {
  if (!(err instanceof ValidationError)) throw new Error('expected a ValidationError');
  return [err.message, err.stack ?? '', JSON.stringify(err.issues), JSON.stringify(err), String(err)].join(
    '\n',
  );
}

describe('redactConfig', () => {
  it('replaces every secret with *** and keeps everything else', () => {
    const cfg = parseConfig(raw, { env });
    const red = redactConfig(cfg);
    expect(red.venues[0]?.accounts[0]).toEqual({
      account_id: 'okx-main',
      base_currency: 'USDT',
      api_key: REDACTED,
      api_secret: REDACTED,
      password: REDACTED,
    });
    expect(red.risk).toEqual(cfg.risk);
    const text = JSON.stringify(red);
    for (const s of [SECRET_KEY, SECRET, PASSPHRASE]) expect(text).not.toContain(s);
    // The original is untouched.
    expect(cfg.venues[0]?.accounts[0]?.api_secret).toBe(SECRET);
  });

  it('keeps empty secrets empty so a dump shows what is unset, and redacts any secret-looking key', () => {
    expect(
      redactConfig({
        a: { api_key: '', token: 42, list: [{ client_secret: 'x' }], name: 'n', password: null },
      }),
    ).toEqual({
      a: { api_key: '', token: REDACTED, list: [{ client_secret: REDACTED }], name: 'n', password: null },
    });
  });

  it('collects secret values', () => {
    expect(collectSecrets(parseConfig(raw, { env })).sort()).toEqual([SECRET_KEY, SECRET, PASSPHRASE].sort());
  });
});

describe('scrubSecrets', () => {
  it('removes every occurrence, longest first', () => {
    expect(scrubSecrets('a abc b abcdef c', ['abc', 'abcdef'])).toBe('a *** b *** c');
    expect(scrubSecrets('nothing here', [''])).toBe('nothing here');
  });
});

describe('secrets never appear in errors', () => {
  it('an error on another field of a config whose env holds secrets does not contain them', () => {
    const bad = { ...raw, risk: { max_orders_per_second: 'ten' }, storage: { blob: 'gcs' } };
    const r = safeParseConfig(bad, { env });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues.map((i) => i.path)).toEqual([
      'risk.max_orders_per_second',
      'storage.gcp_project',
      'storage.bucket',
    ]);
    const text = everyRendering(r.error);
    for (const s of [SECRET_KEY, SECRET, PASSPHRASE]) expect(text).not.toContain(s);
  });

  it('a schema error on a secret field does not echo its value', () => {
    // An object where a string is expected: the schema rejects the field itself.
    const bad = structuredClone(raw) as { venues: Array<{ accounts: Array<Record<string, unknown>> }> };
    const account = bad.venues[0]?.accounts[0];
    if (!account) throw new Error('fixture');
    account.api_key = { value: '${OKX_API_KEY}' };
    account.password = ['${OKX_API_PASSPHRASE}'];
    const r = safeParseConfig(bad, { env });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues.map((i) => i.path)).toEqual([
      'venues[0].accounts[0].api_key',
      'venues[0].accounts[0].password',
    ]);
    const text = everyRendering(r.error);
    for (const s of [SECRET_KEY, SECRET, PASSPHRASE]) expect(text).not.toContain(s);
  });

  it('a secret that happens to appear in another message is scrubbed', () => {
    // The account id equals the secret (a copy-paste slip): the duplicate-id message would show it.
    const leaky = {
      venues: [
        {
          id: 'SIM',
          exchange: 'simulated',
          mode: 'SIMULATED',
          accounts: [{ account_id: 'ABCD1234', base_currency: 'USD' }],
        },
        {
          id: 'SIM2',
          exchange: 'simulated',
          mode: 'SIMULATED',
          accounts: [{ account_id: 'ABCD1234', base_currency: 'USD', api_key: '${K}' }],
        },
      ],
    };
    const r = safeParseConfig(leaky, { env: { K: 'ABCD1234' } });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.issues).toEqual([
      { path: 'venues[1].accounts[0].account_id', message: 'duplicate account id *** (also on SIM)' },
    ]);
    expect(everyRendering(r.error)).not.toContain('ABCD1234');
  });

  it('a literal secret in the file is not echoed', () => {
    const literal = structuredClone(raw);
    const account = literal.venues[0]?.accounts[0];
    if (!account) throw new Error('fixture');
    account.api_secret = 'literal-secret-in-file';
    const r = safeParseConfig(literal, { env });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(everyRendering(r.error)).not.toContain('literal-secret-in-file');
  });
});

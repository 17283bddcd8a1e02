import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONFIG_INVALID_JSON,
  CONFIG_NOT_FOUND,
  CONFIG_UNREADABLE,
  loadConfig,
  parseConfigText,
  resolveConfigPath,
  scanJson,
} from '../../../infra/config/load-config.ts';
import { redactConfig } from '../../../shared/config/redact.ts';
import { EMBEDDED_CONFIG } from '../../../shared/config/schema.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const EXAMPLE = join(ROOT, 'config/example.json');
const LOCAL = join(ROOT, 'config/local.json');

const EXAMPLE_ENV = {
  BINANCE_SPOT_API_KEY: 'bs-key-0001',
  BINANCE_SPOT_API_SECRET: 'bs-secret-0001',
  BINANCE_FUTURES_API_KEY: 'bf-key-0002',
  BINANCE_FUTURES_API_SECRET: 'bf-secret-0002',
  OKX_API_KEY: 'okx-key-0003',
  OKX_API_SECRET: 'okx-secret-0003',
  OKX_API_PASSPHRASE: 'okx-pass-0003',
  DERIBIT_API_KEY: 'drb-key-0004',
  DERIBIT_API_SECRET: 'drb-secret-0004',
  GCP_PROJECT: 'acme-trading-prod',
  EXEC_BUCKET: 'acme-exec-store',
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'config-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function loadError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('the shipped files', () => {
  it('config/example.json validates with its environment', () => {
    const cfg = loadConfig({ path: EXAMPLE, env: EXAMPLE_ENV, cores: 2 });
    expect(cfg.venues.map((v) => `${v.id}/${v.exchange}/${v.mode}`)).toEqual([
      'BINANCE-SPOT/binance/LIVE',
      'BINANCE-FUTURES/binanceusdm/LIVE',
      'BYBIT/bybit/SHADOW',
      'OKX/okx/LIVE',
      'DERIBIT/deribit/LIVE',
      'SIM/simulated/SIMULATED',
    ]);
    expect(cfg.venues[0]?.accounts[0]?.api_key).toBe('bs-key-0001');
    expect(cfg.venues[3]?.accounts[0]?.password).toBe('okx-pass-0003');
    expect(cfg.venues[4]?.urls?.rest).toBe('https://www.deribit.com');
    expect(cfg.storage).toMatchObject({
      order_store: 'firestore',
      bus: 'pubsub',
      blob: 'gcs',
      gcp_project: 'acme-trading-prod',
      bucket: 'acme-exec-store',
    });
    expect(cfg.risk.per_instrument['BINANCE-SPOT:SPOT_PAIR:BTC-USDT']?.max_position).toBe('1');
    expect(cfg.algorithms.vwap.default_profile).toBe('crypto_24h');
    expect(cfg.backtest.workers).toBe(8);
    expect(cfg.server.port).toBe(8080);
  });

  it('config/example.json without its environment names every missing variable at its field', () => {
    const err = loadError(() => loadConfig({ path: EXAMPLE, env: {} }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message.startsWith(`${EXAMPLE}: `)).toBe(true);
    expect(err.issues).toContainEqual({
      path: 'venues[0].accounts[0].api_key',
      message: 'environment variable BINANCE_SPOT_API_KEY is not set',
    });
    expect(err.issues).toContainEqual({
      path: 'venues[3].accounts[0].password',
      message: 'environment variable OKX_API_PASSPHRASE is not set',
    });
    expect(err.issues).toContainEqual({
      path: 'storage.bucket',
      message: 'environment variable EXEC_BUCKET is not set',
    });
    expect(err.issues).toHaveLength(11);
  });

  it('config/local.json validates and is exactly the embedded default', () => {
    const fromFile = loadConfig({ path: LOCAL, env: {}, cores: 3 });
    const embedded = loadConfig({ env: {}, cores: 3 });
    expect(fromFile).toEqual(embedded);
    expect(JSON.parse(readFileSync(LOCAL, 'utf8'))).toEqual(EMBEDDED_CONFIG);
    expect(embedded.storage).toMatchObject({
      order_store: 'local',
      bus: 'memory',
      blob: 'local',
      data_dir: '.data',
    });
    expect(embedded.venues.every((v) => v.mode === 'SIMULATED')).toBe(true);
    expect(embedded.venues[0]?.instrument_types).toEqual(['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION']);
  });

  it('the redacted example shows no secret', () => {
    const text = JSON.stringify(redactConfig(loadConfig({ path: EXAMPLE, env: EXAMPLE_ENV })));
    for (const [name, value] of Object.entries(EXAMPLE_ENV)) {
      if (/KEY|SECRET|PASSPHRASE/.test(name)) expect(text).not.toContain(value);
    }
    expect(text).toContain('acme-trading-prod');
  });
});

describe('where the file comes from', () => {
  it('the path argument wins over EXEC_CONFIG, which wins over the embedded default', () => {
    const a = write('a.json', JSON.stringify({ server: { port: 1111 } }));
    const b = write('b.json', JSON.stringify({ server: { port: 2222 } }));
    expect(loadConfig({ path: a, env: { EXEC_CONFIG: b } }).server.port).toBe(1111);
    expect(loadConfig({ env: { EXEC_CONFIG: b } }).server.port).toBe(2222);
    expect(loadConfig({ env: {} }).server.port).toBe(8080);
    expect(loadConfig({ env: { EXEC_CONFIG: '' } }).server.port).toBe(8080);
    expect(resolveConfigPath({ env: { EXEC_CONFIG: 'config/x.json' } })).toBe(resolve('config/x.json'));
    expect(resolveConfigPath({ env: {} })).toBeUndefined();
  });

  it('the config is frozen', () => {
    const cfg = loadConfig({ env: {} });
    expect(Object.isFrozen(cfg.storage)).toBe(true);
  });

  it('defaults backtest workers to the machine cores', () => {
    expect(loadConfig({ env: {} }).backtest.workers).toBeGreaterThanOrEqual(1);
  });
});

describe('file errors name the file', () => {
  it('file not found', () => {
    const missing = join(dir, 'nope.json');
    const err = loadError(() => loadConfig({ env: { EXEC_CONFIG: missing } }));
    expect(err.code).toBe(CONFIG_NOT_FOUND);
    expect(err.message).toContain(missing);
    expect(err.issues[0]?.message).toBe(`config file not found: ${missing}`);
  });

  it('a directory is unreadable', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    const err = loadError(() => loadConfig({ path: sub, env: {} }));
    expect(err.code).toBe(CONFIG_UNREADABLE);
    expect(err.message).toContain(sub);
  });

  it('malformed JSON gives line and column', () => {
    const p = write(
      'bad.json',
      '{\n  "risk": {\n    "enabled": true\n    "max_orders_per_second": 5\n  }\n}\n',
    );
    const err = loadError(() => loadConfig({ path: p, env: {} }));
    expect(err.code).toBe(CONFIG_INVALID_JSON);
    expect(err.issues).toEqual([
      {
        path: '',
        message: `invalid JSON in ${p} at line 4, column 5: expected ',' or '}' after a property value, found '"'`,
      },
    ]);
    expect(err.message.startsWith(p)).toBe(true);
  });

  it('validation errors from a file name the file and the field', () => {
    const p = write('typo.json', JSON.stringify({ risk: { max_orders_per_secnd: 5 } }));
    const err = loadError(() => loadConfig({ path: p, env: {} }));
    expect(err.issues).toEqual([
      {
        path: 'risk.max_orders_per_secnd',
        message: 'unknown key "max_orders_per_secnd" (check the spelling)',
      },
    ]);
    expect(err.message).toBe(
      `${p}: risk.max_orders_per_secnd: unknown key "max_orders_per_secnd" (check the spelling)`,
    );
  });

  it('a byte-order mark is accepted', () => {
    const p = write('bom.json', `\uFEFF${JSON.stringify({ server: { port: 3333 } })}`);
    expect(loadConfig({ path: p, env: {} }).server.port).toBe(3333);
  });
});

describe('parseConfigText', () => {
  const cases: Array<[string, string, string]> = [
    ['', '1:1', 'the file is empty'],
    ['   \n ', '2:2', 'the file is empty'],
    ['{"a": 1,}', '1:9', 'trailing comma before } is not allowed'],
    ['[1, 2,]', '1:7', 'trailing comma before ] is not allowed'],
    ['{\n  // note\n  "a": 1\n}', '2:3', 'comments are not allowed in JSON'],
    ["{'a': 1}", '1:2', "expected a property name in double quotes, found '''"],
    ['{"a": \'x\'}', '1:7', 'strings need double quotes, not single quotes'],
    ['{"a" 1}', '1:6', `expected ':' after property name "a", found '1'`],
    ['{"a": tru}', '1:7', "unexpected 't' (strings need double quotes)"],
    ['{"a": 01}', '1:8', "expected ',' or '}' after a property value, found '1'"],
    ['{"a": -}', '1:7', 'invalid number'],
    ['{"a": "x\ny"}', '1:9', 'control character in string'],
    ['{"a": "\\q"}', '1:8', 'invalid escape \\q'],
    ['{"a": "\\u12"}', '1:8', 'invalid \\u escape'],
    ['{"a": "open', '1:7', 'unterminated string'],
    ['{"a": 1', '1:8', "expected ',' or '}' after a property value, found end of input"],
    ['{"a": 1} x', '1:10', "unexpected 'x' after the end of the JSON document"],
    ['{"a": [1 2]}', '1:10', "expected ',' or ']' after an array element, found '2'"],
  ];
  it.each(cases)('%j fails at %s with %s', (text, at, message) => {
    const err = loadError(() => parseConfigText(text, 'f.json'));
    expect(err.code).toBe(CONFIG_INVALID_JSON);
    const [line, column] = at.split(':');
    expect(err.issues[0]?.message).toContain(
      `invalid JSON in f.json at line ${line}, column ${column}: ${message}`,
    );
  });

  it('duplicate keys are reported at their field path', () => {
    const err = loadError(() =>
      parseConfigText(
        '{"risk": {"enabled": true, "enabled": false}, "venues": [{"id": "A", "id": "B"}]}',
        'f.json',
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues).toEqual([
      { path: 'risk.enabled', message: 'duplicate key' },
      { path: 'venues[0].id', message: 'duplicate key' },
    ]);
  });

  it('parses what JSON.parse parses', () => {
    expect(parseConfigText('{"a": [1, -2.5e3, true, null, "\\u00e9\\n"], "b": {}}')).toEqual({
      a: [1, -2500, true, null, 'é\n'],
      b: {},
    });
  });
});

describe('scanJson agrees with JSON.parse', () => {
  const accepts = (text: string): boolean => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };

  it('on every serialised JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        expect(scanJson(text).error).toBeUndefined();
      }),
    );
  });

  it('on mutated JSON (validity is decided the same way)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.nat(),
        fc.constantFrom('', ',', '}', ']', '"', ':', '0', '-', 'x', ' ', '\\', '\n', '{', '['),
        fc.boolean(),
        (v, pos, ch, remove) => {
          const text = JSON.stringify(v);
          const at = text.length === 0 ? 0 : pos % text.length;
          const mutated = text.slice(0, at) + ch + text.slice(remove ? at + 1 : at);
          expect(scanJson(mutated).error === undefined).toBe(accepts(mutated));
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * The local exchange is a development tool: `npm start` (embedded default) runs it, production never
 * does — not when asked, not behind a LIVE venue, and no code the Cloud Run image holds imports it
 * statically (the image copies shared/ infra/ stateful/ functions/ only).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/schema.ts';
import {
  assertNoFakeExchange,
  FakeExchangeRefusedError,
  isProduction,
  startEmbeddedLocalExchange,
  wantsLocalExchange,
} from '../../../stateful/edge/embedded.ts';

const ROOT = join(import.meta.dirname, '../../..');

function liveConfig(rest: string) {
  return parseConfig(
    {
      venues: [
        {
          id: 'BINANCE-SPOT',
          exchange: 'binance',
          mode: 'LIVE',
          instrument_types: ['SPOT_PAIR'],
          accounts: [{ account_id: 'main', base_currency: 'USDT', api_key: '${K}', api_secret: '${S}' }],
          urls: { rest, ws: rest.replace(/^http/, 'ws') },
        },
      ],
      storage: { order_store: 'local', bus: 'memory', blob: 'local', data_dir: '.data-unused' },
    },
    { env: { K: 'k', S: 's' } },
  );
}

describe('the local exchange outside production only', () => {
  it('npm start without a configuration runs it; a configuration file or EXEC_LOCAL_EXCHANGE=off does not', () => {
    expect(wantsLocalExchange({})).toBe(true);
    expect(wantsLocalExchange({ EXEC_CONFIG: 'config/prod.yaml' })).toBe(false);
    expect(wantsLocalExchange({ EXEC_LOCAL_EXCHANGE: 'off' })).toBe(false);
  });

  it('a production process (Cloud Run, NODE_ENV=production) never runs it, and refuses when asked', async () => {
    expect(isProduction({ K_SERVICE: 'venue-edge' })).toBe(true);
    expect(isProduction({ NODE_ENV: 'production' })).toBe(true);
    expect(wantsLocalExchange({ NODE_ENV: 'production' })).toBe(false);
    expect(() => wantsLocalExchange({ K_SERVICE: 'venue-edge', EXEC_LOCAL_EXCHANGE: 'on' })).toThrow(
      FakeExchangeRefusedError,
    );
    await expect(startEmbeddedLocalExchange({ NODE_ENV: 'production' })).rejects.toThrow(
      /never starts in a production process/,
    );
  });

  it('start-up in production refuses a LIVE venue whose URLs are a loopback address', () => {
    const fake = liveConfig('http://127.0.0.1:41234');
    expect(() => assertNoFakeExchange(fake, { K_SERVICE: 'venue-edge' })).toThrow(
      /venues\.BINANCE-SPOT\.urls\.rest: http:\/\/127\.0\.0\.1:41234 is a loopback address/,
    );
    expect(() =>
      assertNoFakeExchange(liveConfig('http://localhost:8080'), { NODE_ENV: 'production' }),
    ).toThrow(FakeExchangeRefusedError);
    // A real venue URL, or a development machine: accepted.
    expect(() =>
      assertNoFakeExchange(liveConfig('https://api.binance.com'), { K_SERVICE: 'x' }),
    ).not.toThrow();
    expect(() => assertNoFakeExchange(fake, {})).not.toThrow();
  });

  it('no file the Cloud Run image holds imports dev/ except as a type or the one dynamic import', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (name !== 'node_modules') walk(path);
          continue;
        }
        if (!name.endsWith('.ts')) continue;
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
          if (/(^|\/)dev\//.test(m[1] ?? '')) offenders.push(`${path}: ${m[1]}`);
        }
      }
    };
    for (const d of ['shared', 'infra', 'stateful', 'functions']) walk(join(ROOT, d));
    expect(offenders).toEqual([]);
  });
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
import { describe, expect, it } from 'vitest';
import {
  ccxtConstructorArgs,
  createCcxtExchange,
  marketTypesFor,
  overrideApiUrls,
  swapOrigin,
} from '../../../infra/ccxt/exchange-factory.ts';
import { parseConfig } from '../../../shared/config/schema.ts';

/** Every string in a ccxt urls.api tree. */
function urlsOf(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (node !== null && typeof node === 'object') return Object.values(node).flatMap(urlsOf);
  return [];
}

const ENV = {
  BINANCE_SPOT_API_KEY: 'bk',
  BINANCE_SPOT_API_SECRET: 'bs',
  BINANCE_FUTURES_API_KEY: 'fk',
  BINANCE_FUTURES_API_SECRET: 'fs',
  OKX_API_KEY: 'ok',
  OKX_API_SECRET: 'os',
  OKX_API_PASSPHRASE: 'op',
  DERIBIT_API_KEY: 'dk',
  DERIBIT_API_SECRET: 'ds',
};

const config = parseConfig(
  {
    venues: [
      {
        id: 'BINANCE-SPOT',
        exchange: 'binance',
        mode: 'LIVE',
        accounts: [
          {
            account_id: 'bs',
            base_currency: 'USDT',
            api_key: '${BINANCE_SPOT_API_KEY}',
            api_secret: '${BINANCE_SPOT_API_SECRET}',
          },
        ],
        urls: { rest: 'http://127.0.0.1:9000', ws: 'ws://127.0.0.1:9000' },
        rate_limit_per_second: 20,
      },
      {
        id: 'BINANCE-FUTURES',
        exchange: 'binanceusdm',
        mode: 'LIVE',
        accounts: [
          {
            account_id: 'bf',
            base_currency: 'USDT',
            api_key: '${BINANCE_FUTURES_API_KEY}',
            api_secret: '${BINANCE_FUTURES_API_SECRET}',
          },
        ],
        urls: {
          api: { fapiPrivate: 'http://127.0.0.1:9100/fapi/v1', 'ws.future': 'ws://127.0.0.1:9100/ws' },
        },
      },
      {
        id: 'BYBIT',
        exchange: 'bybit',
        mode: 'SHADOW',
        instrument_types: ['SPOT_PAIR', 'PERPETUAL'],
      },
      {
        id: 'OKX',
        exchange: 'okx',
        mode: 'LIVE',
        sandbox: true,
        instrument_types: ['SPOT_PAIR', 'PERPETUAL'],
        accounts: [
          {
            account_id: 'okx-demo',
            base_currency: 'USDT',
            api_key: '${OKX_API_KEY}',
            api_secret: '${OKX_API_SECRET}',
            password: '${OKX_API_PASSPHRASE}',
          },
        ],
      },
      {
        id: 'DERIBIT',
        exchange: 'deribit',
        mode: 'LIVE',
        instrument_types: ['PERPETUAL', 'FUTURE', 'OPTION'],
        accounts: [
          {
            account_id: 'deribit-main',
            base_currency: 'BTC',
            api_key: '${DERIBIT_API_KEY}',
            api_secret: '${DERIBIT_API_SECRET}',
          },
        ],
        urls: { rest: 'https://test.deribit.com' },
      },
    ],
  },
  { env: ENV, cores: 2 },
);

function venue(id: string) {
  const v = config.venues.find((x) => x.id === id);
  if (v === undefined) throw new Error(id);
  return v;
}

describe('config → ccxt exchange (offline)', () => {
  it('binance: spot class, credentials, rate limit, spot markets only, every URL on the local origin', () => {
    const v = venue('BINANCE-SPOT');
    const ex = createCcxtExchange(v, v.accounts[0] ?? {}, { timeoutMs: 2500 });
    expect(ex.id).toBe('binance');
    expect(ex.apiKey).toBe('bk');
    expect(ex.secret).toBe('bs');
    expect(ex.enableRateLimit).toBe(true);
    expect(ex.timeout).toBe(2500);
    expect(ex.options.defaultType).toBe('spot');
    expect(ex.options.fetchMarkets).toMatchObject({ types: ['spot'] });
    expect(ex.options.adjustForTimeDifference).toBe(false);
    expect(ex.options.fetchMargins).toBe(false);
    expect(ex.has.fetchCurrencies).toBe(false);
    expect(ex.has.watchOrders).toBe(true);
    expect(ex.urls.api.public).toBe('http://127.0.0.1:9000/api/v3');
    expect(ex.urls.api.private).toBe('http://127.0.0.1:9000/api/v3');
    expect(ex.urls.api.sapi).toBe('http://127.0.0.1:9000/sapi/v1');
    expect(ex.urls.api.ws.spot).toBe('ws://127.0.0.1:9000/ws');
    expect(ex.urls.api.ws['ws-api'].spot).toBe('ws://127.0.0.1:9000/ws-api/v3');
    for (const url of urlsOf(ex.urls.api)) expect(url).toMatch(/^(http|ws):\/\/127\.0\.0\.1:9000\//);
  });

  it('binanceusdm: futures class, linear markets, fine-grained overrides by key', () => {
    const v = venue('BINANCE-FUTURES');
    const ex = createCcxtExchange(v, v.accounts[0] ?? {});
    expect(ex.id).toBe('binanceusdm');
    expect(ex.options.defaultType).toBe('swap');
    expect(ex.options.fetchMarkets).toMatchObject({ types: ['linear'] });
    expect(ex.urls.api.fapiPrivate).toBe('http://127.0.0.1:9100/fapi/v1');
    expect(ex.urls.api.fapiPublic).toBe('https://fapi.binance.com/fapi/v1');
    expect(ex.urls.api.ws.future).toBe('ws://127.0.0.1:9100/ws');
    expect(ex.timeout).toBe(10_000);
  });

  it('bybit: spot and linear/inverse markets for the configured types, no keys on a SHADOW venue', () => {
    const v = venue('BYBIT');
    const ex = createCcxtExchange(v, v.accounts[0] ?? {}, {
      instrumentKeys: ['BYBIT:SPOT_PAIR:BTC-USDT', 'BYBIT:PERPETUAL:BTC-USDT@LIN'],
    });
    expect(ex.id).toBe('bybit');
    expect(ex.apiKey ?? '').toBe('');
    expect(ex.options.fetchMarkets).toMatchObject({ types: ['spot', 'linear'] });
    // ccxt's own fetchMarkets options are kept (deep-merged).
    expect(ex.options.fetchMarkets).toHaveProperty('loadAllOptions', false);
    expect(ex.urls.api.public).toBe('https://api.{hostname}');
  });

  it('okx: passphrase and sandbox (demo trading URLs and header)', () => {
    const v = venue('OKX');
    const ex = createCcxtExchange(v, v.accounts[0] ?? {});
    expect(ex.id).toBe('okx');
    expect(ex.password).toBe('op');
    expect(ex.isSandboxModeEnabled).toBe(true);
    expect(ex.urls.api.ws).toBe('wss://wspap.okx.com:8443/ws/v5');
    expect(ex.options.fetchMarkets).toEqual({ types: ['spot', 'swap'] });
  });

  it('deribit: the REST URL from the configuration, WebSocket untouched, no market-type option', () => {
    const v = venue('DERIBIT');
    const ex = createCcxtExchange(v, v.accounts[0] ?? {});
    expect(ex.id).toBe('deribit');
    expect(ex.urls.api.rest).toBe('https://test.deribit.com');
    expect(ex.urls.api.ws).toBe('wss://www.deribit.com/ws/api/v2');
    expect(ex.options.fetchMarkets).toBeUndefined();
    expect(ex.apiKey).toBe('dk');
  });

  it('refuses an exchange without a ccxt adapter', () => {
    expect(() =>
      ccxtConstructorArgs(
        { id: 'SIM', exchange: 'simulated', sandbox: false, instrument_types: ['SPOT_PAIR'] },
        {},
      ),
    ).toThrow(/no ccxt adapter/);
  });

  it('market types per exchange and instrument type', () => {
    expect(marketTypesFor('binance', ['SPOT_PAIR'])).toEqual(['spot']);
    expect(marketTypesFor('binanceusdm', ['PERPETUAL', 'FUTURE'])).toEqual(['linear']);
    expect(marketTypesFor('bybit', ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'])).toEqual([
      'spot',
      'linear',
      'inverse',
      'option',
    ]);
    expect(marketTypesFor('bybit', ['PERPETUAL'], ['BYBIT:PERPETUAL:BTC-USD@INV'])).toEqual(['inverse']);
    expect(marketTypesFor('okx', ['PERPETUAL', 'FUTURE', 'OPTION'])).toEqual(['swap', 'future', 'option']);
    expect(marketTypesFor('deribit', ['OPTION'])).toBeNull();
  });

  it('origin swap keeps the path and prefixes the override path', () => {
    expect(swapOrigin('https://api.binance.com/api/v3', 'http://127.0.0.1:1')).toBe(
      'http://127.0.0.1:1/api/v3',
    );
    expect(swapOrigin('https://{hostname}', 'http://h:2')).toBe('http://h:2');
    expect(swapOrigin('wss://x.com:9443/ws', 'ws://proxy/prefix/')).toBe('ws://proxy/prefix/ws');
    expect(swapOrigin('not a url', 'http://h')).toBe('not a url');
    const tree = { a: 'https://a.com/x', ws: { s: 'wss://b.com/y', n: 3 } };
    expect(overrideApiUrls(tree, { rest: 'http://l:1' })).toEqual({
      a: 'http://l:1/x',
      ws: { s: 'wss://b.com/y', n: 3 },
    });
    expect(tree.a).toBe('https://a.com/x');
  });
});

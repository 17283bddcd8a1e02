/**
 * Venue configuration → a configured ccxt pro exchange (REST and WebSocket in one instance).
 *
 * - class by `exchange`: `binance` (spot, `defaultType: 'spot'`), `binanceusdm`, `bybit`, `okx`,
 *   `deribit`, all from `ccxt.pro` so the same object serves `watch*`;
 * - credentials from the account (`apiKey`, `secret`, OKX `password`);
 * - `enableRateLimit: true` (ccxt's per-endpoint weights; our own bucket sits in front, see
 *   resilience.ts), `timeout` per request;
 * - markets restricted to the types the venue serves (`fetchMarkets.types`), currencies not loaded
 *   (we need none and on some venues they need extra permissions);
 * - `adjustForTimeDifference: false`: the session measures the clock offset itself at connect and
 *   periodically (venue.ts) and writes it to `options.timeDifference`, which ccxt's signing uses;
 * - sandbox: `setSandboxMode(true)` (ccxt swaps `urls.api` for `urls.test`);
 * - URL overrides, applied after the sandbox switch: `urls.rest` swaps the origin (scheme, host,
 *   port) of every http(s) URL in `urls.api` and keeps its path, prefixed by the override's own path
 *   if it has one; `urls.ws` does the same for every ws(s) URL; `urls.api` sets entries by key, the
 *   value used as-is (`"fapiPrivate": "http://127.0.0.1:9000/fapi/v1"`, nested keys dotted:
 *   `"ws.spot"`).
 */
import ccxt, { type Exchange } from 'ccxt';
import type { InstrumentType } from '../../shared/domain/instrument-id.ts';
import { settlementOf } from '../../shared/domain/instrument-id.ts';

export const CCXT_EXCHANGES = ['binance', 'binanceusdm', 'bybit', 'okx', 'deribit'] as const;
export type CcxtExchangeId = (typeof CCXT_EXCHANGES)[number];

export function isCcxtExchangeId(s: string): s is CcxtExchangeId {
  return (CCXT_EXCHANGES as readonly string[]).includes(s);
}

/** The parts of a venue's configuration the factory reads (a VenueConfig fits). */
export interface CcxtVenueSettings {
  readonly id: string;
  readonly exchange: string;
  readonly sandbox: boolean;
  readonly instrument_types: readonly InstrumentType[];
  readonly urls?:
    | {
        readonly rest?: string | undefined;
        readonly ws?: string | undefined;
        readonly api?: Readonly<Record<string, string>> | undefined;
      }
    | undefined;
}

export interface CcxtCredentials {
  readonly api_key?: string | undefined;
  readonly api_secret?: string | undefined;
  readonly password?: string | undefined;
}

export interface CcxtFactoryOptions {
  /** Instruments the session trades: narrows the market types to load (bybit linear vs inverse). */
  instrumentKeys?: readonly string[];
  /** Per-request timeout (default 10,000 ms, ccxt's default). */
  timeoutMs?: number;
}

/** ccxt `fetchMarkets.types` for a venue, or null when the exchange has no such option (deribit). */
export function marketTypesFor(
  exchange: CcxtExchangeId,
  instrumentTypes: readonly InstrumentType[],
  instrumentKeys: readonly string[] = [],
): string[] | null {
  const types = new Set<string>();
  const has = (t: InstrumentType) => instrumentTypes.includes(t);
  switch (exchange) {
    case 'binance':
      return ['spot'];
    case 'binanceusdm':
      return ['linear'];
    case 'bybit': {
      if (has('SPOT_PAIR')) types.add('spot');
      if (has('PERPETUAL') || has('FUTURE')) {
        const derivs = instrumentKeys.filter((k) => !k.includes(':SPOT_PAIR:') && !k.includes(':OPTION:'));
        if (derivs.length === 0) {
          types.add('linear');
          types.add('inverse');
        } else {
          for (const k of derivs) types.add(settlementOf(k) === 'INVERSE' ? 'inverse' : 'linear');
        }
      }
      if (has('OPTION')) types.add('option');
      return [...types];
    }
    case 'okx':
      if (has('SPOT_PAIR')) types.add('spot');
      if (has('PERPETUAL')) types.add('swap');
      if (has('FUTURE')) types.add('future');
      if (has('OPTION')) types.add('option');
      return [...types];
    case 'deribit':
      return null;
  }
}

/** The ccxt constructor arguments for a venue (no network). */
export function ccxtConstructorArgs(
  venue: CcxtVenueSettings,
  credentials: CcxtCredentials,
  opts: CcxtFactoryOptions = {},
): Record<string, unknown> & { options: Record<string, unknown> } {
  if (!isCcxtExchangeId(venue.exchange)) {
    throw new RangeError(`venue ${venue.id}: exchange "${venue.exchange}" has no ccxt adapter`);
  }
  const exchange = venue.exchange;
  const options: Record<string, unknown> = {
    adjustForTimeDifference: false,
    fetchCurrencies: false,
    warnOnFetchOpenOrdersWithoutSymbol: false,
  };
  const types = marketTypesFor(exchange, venue.instrument_types, opts.instrumentKeys ?? []);
  if (types !== null) options.fetchMarkets = { types };
  if (exchange === 'binance') {
    options.defaultType = 'spot';
    options.fetchMargins = false;
  }
  if (exchange === 'binanceusdm') options.defaultType = 'swap';
  const args: Record<string, unknown> & { options: Record<string, unknown> } = {
    enableRateLimit: true,
    timeout: opts.timeoutMs ?? 10_000,
    options,
  };
  if (credentials.api_key) args.apiKey = credentials.api_key;
  if (credentials.api_secret) args.secret = credentials.api_secret;
  if (credentials.password) args.password = credentials.password;
  return args;
}

function construct(id: CcxtExchangeId, args: Record<string, unknown>): Exchange {
  switch (id) {
    case 'binance':
      return new ccxt.pro.binance(args);
    case 'binanceusdm':
      return new ccxt.pro.binanceusdm(args);
    case 'bybit':
      return new ccxt.pro.bybit(args);
    case 'okx':
      return new ccxt.pro.okx(args);
    case 'deribit':
      return new ccxt.pro.deribit(args);
  }
}

const URL_RE = /^([a-z]+):\/\/([^/?#]*)(.*)$/i;

/** Swap the origin of `url` for `override`'s, keeping the path (prefixed by the override's path). */
export function swapOrigin(url: string, override: string): string {
  const m = URL_RE.exec(url);
  const o = URL_RE.exec(override);
  if (!m || !o) return url;
  const prefix = (o[3] ?? '').replace(/\/+$/, '');
  return `${o[1]}://${o[2]}${prefix}${m[3] ?? ''}`;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function rewrite(tree: Record<string, unknown>, schemes: RegExp, override: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') {
      const m = URL_RE.exec(v);
      out[k] = m && schemes.test(m[1] ?? '') ? swapOrigin(v, override) : v;
    } else if (isDict(v)) {
      out[k] = rewrite(v, schemes, override);
    } else {
      out[k] = v;
    }
  }
  return out;
}

function setPath(root: Record<string, unknown>, dotted: string, value: string): void {
  const parts = dotted.split('.');
  let node: Record<string, unknown> = root;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    if (isDict(next)) {
      node = next;
    } else {
      const fresh: Record<string, unknown> = {};
      node[p] = fresh;
      node = fresh;
    }
  }
  node[parts[parts.length - 1] ?? dotted] = value;
}

/** Apply `urls.rest`, `urls.ws` and `urls.api` overrides to a ccxt `urls.api` tree (returns a new tree). */
export function overrideApiUrls(
  api: Record<string, unknown>,
  urls: CcxtVenueSettings['urls'],
): Record<string, unknown> {
  let tree: Record<string, unknown> = structuredClone(api);
  if (urls?.rest) tree = rewrite(tree, /^https?$/i, urls.rest);
  if (urls?.ws) tree = rewrite(tree, /^wss?$/i, urls.ws);
  for (const [key, value] of Object.entries(urls?.api ?? {})) setPath(tree, key, value);
  return tree;
}

/**
 * Mark every future a ccxt WebSocket client creates as observed. ccxt pro creates some futures
 * ahead of a request and rejects them when the connection fails even if nobody waits on them
 * (binance `ensureUserDataStreamWsSubscribeSignature`, ccxt 4.5.84): an unhandled rejection that
 * would take the whole process down on a refused connection. Callers that do await a future still
 * get its rejection.
 */
export function observeWsFutures(exchange: Exchange): void {
  const patched = new WeakSet<object>();
  const client = exchange.client.bind(exchange);
  exchange.client = (url) => {
    const c = client(url);
    if (!patched.has(c)) {
      patched.add(c);
      const future = c.future.bind(c);
      c.future = (messageHash: string) => {
        const f = future(messageHash);
        if (f instanceof Promise) f.catch(() => undefined);
        return f;
      };
    }
    return c;
  };
}

/** Build the ccxt exchange for a venue and account (no network). */
export function createCcxtExchange(
  venue: CcxtVenueSettings,
  credentials: CcxtCredentials,
  opts: CcxtFactoryOptions = {},
): Exchange {
  const args = ccxtConstructorArgs(venue, credentials, opts);
  const exchange = construct(venue.exchange as CcxtExchangeId, args);
  observeWsFutures(exchange);
  // Currencies are not needed for trading; some venues want extra permissions to list them.
  exchange.has.fetchCurrencies = false;
  if (venue.sandbox) exchange.setSandboxMode(true);
  if (venue.urls?.rest || venue.urls?.ws || venue.urls?.api) {
    exchange.urls.api = overrideApiUrls(exchange.urls.api, venue.urls);
  }
  return exchange;
}

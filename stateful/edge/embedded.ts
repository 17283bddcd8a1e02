/**
 * `npm start` without a configuration file (the embedded default) runs a LIVE venue end to end with
 * no cloud account and no network: the local Binance-spot-compatible exchange
 * (stateful/local-exchange) starts in this process on a free loopback port, and the embedded
 * configuration's `BINANCE-SPOT` venue becomes a LIVE `binance` venue pointed at it — the REAL ccxt
 * client, signed REST and WebSockets, our edge, the durable scheduler. The `SIM` venue stays
 * simulated.
 *
 * Secrets still come only from the environment: the API key and secret (generated at start unless
 * `BINANCE_SPOT_API_KEY` / `BINANCE_SPOT_API_SECRET` are set) are given to the local exchange and
 * put in the environment the configuration is parsed with, where the venue's account reads them as
 * `${BINANCE_SPOT_API_KEY}` / `${BINANCE_SPOT_API_SECRET}`; its URLs as `${LOCAL_EXCHANGE_URL}` /
 * `${LOCAL_EXCHANGE_WS_URL}`.
 *
 * `EXEC_LOCAL_EXCHANGE=off` keeps the embedded default as it is (BINANCE-SPOT simulated in process);
 * `LOCAL_EXCHANGE_PORT` fixes the exchange's port (default: a free one).
 *
 * The local exchange is a development and test tool (`dev/`): it is loaded with a dynamic import
 * only here, under the embedded default, and never in production — the Cloud Run image holds no
 * `dev/` folder, and {@link localExchangeWanted} / {@link assertNoFakeExchange} make start-up refuse a
 * fake exchange behind a LIVE venue there (see docs/local-exchange.md).
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import { randomBytes } from 'node:crypto';
import type { LocalExchange } from '../../dev/local-exchange/index.ts';
import type { AppConfig, AppConfigInput } from '../../shared/config/schema.ts';

export const LOCAL_EXCHANGE_VENUE = 'BINANCE-SPOT';

export type Env = Readonly<Record<string, string | undefined>>;

/** A production process: the Cloud Run service (K_SERVICE) or NODE_ENV=production (the image sets it). */
export function isProduction(env: Env): boolean {
  return (env.K_SERVICE ?? '').trim() !== '' || (env.NODE_ENV ?? '').trim().toLowerCase() === 'production';
}

/** The start-up refusal: a fake exchange in a production process. */
export class FakeExchangeRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FakeExchangeRefusedError';
  }
}

/**
 * True when `npm start` should run the local exchange: no configuration file, not turned off, not a
 * production process. In production the embedded default keeps BINANCE-SPOT simulated in process
 * (as with `EXEC_LOCAL_EXCHANGE=off`); asking for the local exchange there is refused.
 */
export function wantsLocalExchange(env: Env): boolean {
  return localExchangeWanted(env);
}

export function localExchangeWanted(env: Env): boolean {
  const flag = (env.EXEC_LOCAL_EXCHANGE ?? '').trim().toLowerCase();
  const asked = flag === 'on' || flag === '1' || flag === 'true';
  if (isProduction(env)) {
    if (asked) {
      throw new FakeExchangeRefusedError(
        'EXEC_LOCAL_EXCHANGE: the local exchange is a development tool and never runs in production (K_SERVICE or NODE_ENV=production is set)',
      );
    }
    return false;
  }
  if ((env.EXEC_CONFIG ?? '').trim() !== '') return false;
  return flag !== 'off' && flag !== '0' && flag !== 'false';
}

const LOOPBACK = /^(?:[a-z]+:\/\/)?(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(?::\d+)?(?:\/|$)/i;

/**
 * Start-up refusal in production: a LIVE venue whose REST or WebSocket URL is a loopback address is
 * a fake exchange (the local one, or anything else listening on this host) behind a LIVE venue.
 */
export function assertNoFakeExchange(config: Pick<AppConfig, 'venues'>, env: Env): void {
  if (!isProduction(env)) return;
  for (const v of config.venues) {
    if (v.mode !== 'LIVE' || !v.enabled) continue;
    const urls: Array<[string, string]> = [];
    if (v.urls?.rest !== undefined) urls.push(['rest', v.urls.rest]);
    if (v.urls?.ws !== undefined) urls.push(['ws', v.urls.ws]);
    for (const [k, u] of Object.entries(v.urls?.api ?? {})) urls.push([`api.${k}`, u]);
    for (const [what, url] of urls) {
      if (LOOPBACK.test(url.trim())) {
        throw new FakeExchangeRefusedError(
          `venues.${v.id}.urls.${what}: ${url} is a loopback address; a LIVE venue in production never trades with a local (fake) exchange`,
        );
      }
    }
  }
}

/**
 * The embedded configuration with its BINANCE-SPOT venue LIVE on the local exchange (keys and URLs
 * from the environment). Pure: other venues and sections are kept as they are.
 */
export function withLocalExchangeVenue(raw: AppConfigInput): AppConfigInput {
  const venues = (raw.venues ?? []).map((v) =>
    v.id !== LOCAL_EXCHANGE_VENUE
      ? v
      : {
          id: LOCAL_EXCHANGE_VENUE,
          exchange: 'binance' as const,
          mode: 'LIVE' as const,
          instrument_types: ['SPOT_PAIR' as const],
          latency_ms: 5,
          rate_limit_per_second: 50,
          accounts: [
            {
              account_id: LOCAL_EXCHANGE_VENUE,
              base_currency: 'USDT',
              api_key: '${BINANCE_SPOT_API_KEY}',
              api_secret: '${BINANCE_SPOT_API_SECRET}',
            },
          ],
          urls: { rest: '${LOCAL_EXCHANGE_URL}', ws: '${LOCAL_EXCHANGE_WS_URL}' },
          ...(v.fees !== undefined ? { fees: v.fees } : {}),
        },
  );
  return { ...raw, venues };
}

export interface EmbeddedLocalExchange {
  exchange: LocalExchange;
  /** The variables to add to the environment the configuration is parsed with. */
  env: Record<string, string>;
}

/** Start the local exchange with the configured (or freshly generated) keys. */
export async function startEmbeddedLocalExchange(env: Env, seed = 42): Promise<EmbeddedLocalExchange> {
  const apiKey = env.BINANCE_SPOT_API_KEY?.trim() || randomBytes(24).toString('hex');
  const secret = env.BINANCE_SPOT_API_SECRET?.trim() || randomBytes(32).toString('hex');
  const port = Number(env.LOCAL_EXCHANGE_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(
      `LOCAL_EXCHANGE_PORT must be a port number, got ${JSON.stringify(env.LOCAL_EXCHANGE_PORT)}`,
    );
  }
  if (isProduction(env)) {
    throw new FakeExchangeRefusedError('the local exchange never starts in a production process');
  }
  // A development tool: loaded only here (the Cloud Run image has no dev/ folder).
  const { startLocalExchange } = await import('../../dev/local-exchange/index.ts');
  const exchange = await startLocalExchange({ port, host: '127.0.0.1', seed, apiKey, secret });
  return {
    exchange,
    env: {
      BINANCE_SPOT_API_KEY: apiKey,
      BINANCE_SPOT_API_SECRET: secret,
      LOCAL_EXCHANGE_URL: exchange.url,
      LOCAL_EXCHANGE_WS_URL: exchange.url.replace(/^http/, 'ws'),
    },
  };
}

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
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import { randomBytes } from 'node:crypto';
import { type LocalExchange, startLocalExchange } from '../../dev/local-exchange/index.ts';
import type { AppConfigInput } from '../../shared/config/schema.ts';

export const LOCAL_EXCHANGE_VENUE = 'BINANCE-SPOT';

export type Env = Readonly<Record<string, string | undefined>>;

/** True when `npm start` should run the local exchange: no configuration file, not turned off. */
export function wantsLocalExchange(env: Env): boolean {
  if ((env.EXEC_CONFIG ?? '').trim() !== '') return false;
  const flag = (env.EXEC_LOCAL_EXCHANGE ?? '').trim().toLowerCase();
  return flag !== 'off' && flag !== '0' && flag !== 'false';
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

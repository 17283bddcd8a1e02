/**
 * `EXEC_LOCAL_TWS=shadow` or `EXEC_LOCAL_TWS=live` with `npm start` (the embedded default
 * configuration): the local TWS (dev/local-tws, the TWS API socket protocol over our matching
 * engine) starts in this process on a loopback port, and an `IBKR` venue joins the configuration —
 * LIVE: orders go through the IBKR adapter (infra/ib, the real `@stoqey/ib` client) to the local
 * TWS; SHADOW: the adapter takes the local TWS's market data and our matching engine fills. The
 * instruments are the catalog's IBKR ones (config/instruments.json: SPY, ES).
 *
 * `LOCAL_TWS_PORT` fixes the port (default: a free one). Like the local exchange, the local TWS is a
 * development tool: loaded with a dynamic import only here and refused in a production process.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import type { LocalTws } from '../../dev/local-tws/index.ts';
import type { AppConfigInput } from '../../shared/config/schema.ts';
import { type Env, FakeExchangeRefusedError, isProduction } from './embedded.ts';

export const LOCAL_TWS_VENUE = 'IBKR';

export type LocalTwsMode = 'LIVE' | 'SHADOW';

/**
 * The IBKR mode `EXEC_LOCAL_TWS` asks for (null: off or unset). Only with the embedded default (no
 * `EXEC_CONFIG`); a RangeError for any other value, a refusal in production.
 */
export function localTwsMode(env: Env): LocalTwsMode | null {
  const flag = (env.EXEC_LOCAL_TWS ?? '').trim().toLowerCase();
  if (flag === '' || flag === 'off' || flag === '0' || flag === 'false') return null;
  if (flag !== 'live' && flag !== 'shadow') {
    throw new RangeError(
      `EXEC_LOCAL_TWS must be "live", "shadow" or "off", got ${JSON.stringify(env.EXEC_LOCAL_TWS)}`,
    );
  }
  if (isProduction(env)) {
    throw new FakeExchangeRefusedError(
      'EXEC_LOCAL_TWS: the local TWS is a development tool and never runs in production (K_SERVICE or NODE_ENV=production is set)',
    );
  }
  if ((env.EXEC_CONFIG ?? '').trim() !== '') {
    throw new RangeError('EXEC_LOCAL_TWS applies to the embedded default configuration: unset EXEC_CONFIG');
  }
  return flag === 'live' ? 'LIVE' : 'SHADOW';
}

/** The configuration with an IBKR venue on the local TWS (port and account from the environment). Pure. */
export function withLocalTwsVenue(raw: AppConfigInput, mode: LocalTwsMode): AppConfigInput {
  const venues = (raw.venues ?? []).filter((v) => v.id !== LOCAL_TWS_VENUE);
  const candidates = {
    ...(raw.router?.candidates ?? {}),
    STOCK: [LOCAL_TWS_VENUE],
    FUTURE: [LOCAL_TWS_VENUE],
  };
  return {
    ...raw,
    venues: [
      ...venues,
      {
        id: LOCAL_TWS_VENUE,
        exchange: 'ibkr' as const,
        mode,
        instrument_types: ['STOCK' as const, 'FUTURE' as const],
        latency_ms: 5,
        rate_limit_per_second: 50,
        accounts: [{ account_id: LOCAL_TWS_VENUE, base_currency: 'USD' }],
        shadow: { starting_cash: '100000', cash_currency: 'USD' },
        ib: {
          host: '127.0.0.1',
          port: '${LOCAL_TWS_PORT}',
          client_id: 0,
          account: '${LOCAL_TWS_ACCOUNT}',
          market_data_type: 'realtime' as const,
          outside_hours: 'refuse' as const,
        },
      },
    ],
    router: { ...(raw.router ?? {}), candidates },
  };
}

export interface EmbeddedLocalTws {
  tws: LocalTws;
  mode: LocalTwsMode;
  /** Variables to add to the environment the configuration is parsed with. */
  env: Record<string, string>;
}

/** Start the local TWS on `LOCAL_TWS_PORT` (default a free port). */
export async function startEmbeddedLocalTws(
  env: Env,
  mode: LocalTwsMode,
  seed = 42,
): Promise<EmbeddedLocalTws> {
  const port = Number(env.LOCAL_TWS_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`LOCAL_TWS_PORT must be a port number, got ${JSON.stringify(env.LOCAL_TWS_PORT)}`);
  }
  if (isProduction(env))
    throw new FakeExchangeRefusedError('the local TWS never starts in a production process');
  // A development tool: loaded only here (the Cloud Run image has no dev/ folder).
  const { startLocalTws } = await import('../../dev/local-tws/index.ts');
  const tws = await startLocalTws({ port, host: '127.0.0.1', seed });
  return { tws, mode, env: { LOCAL_TWS_PORT: String(tws.port), LOCAL_TWS_ACCOUNT: tws.account } };
}

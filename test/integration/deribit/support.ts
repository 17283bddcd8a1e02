/**
 * Set-up of the Deribit integration tests: the local Deribit (dev/local-deribit) and ccxt venue
 * sessions of the adapter pointed at it through the configuration's URL overrides, as a deployment
 * points them at test.deribit.com.
 */
import {
  type LocalDeribit,
  type LocalDeribitOptions,
  startLocalDeribit,
} from '../../../dev/local-deribit/index.ts';
import { type Session, type SessionOverrides, venueSession } from '../ccxt/support.ts';

export type { Session } from '../ccxt/support.ts';
export { eventually, limitOrder, marketOrder, nextClientOrderId, sleep } from '../ccxt/support.ts';

export const PERP = 'DERIBIT:PERPETUAL:BTC-USD@INV';
export const FUTURE = 'DERIBIT:FUTURE:BTC-USD-20271231';
export const OPTION = 'DERIBIT:OPTION:BTC-USD-100000-20271231-C';

export async function localDeribit(opts: LocalDeribitOptions = {}): Promise<LocalDeribit> {
  return startLocalDeribit({
    seed: 11,
    startPrices: { 'BTC-PERPETUAL': 60_000, 'BTC-31DEC27': 61_000 },
    ...opts,
  });
}

export function session(d: LocalDeribit, overrides: SessionOverrides = {}): Session {
  return venueSession(
    {
      venue: {
        id: 'DERIBIT',
        exchange: 'deribit',
        mode: 'LIVE',
        sandbox: false,
        instrument_types: ['PERPETUAL', 'FUTURE', 'OPTION'],
        rate_limit_per_second: 50,
        urls: { rest: d.url, ws: d.url.replace(/^http/, 'ws') },
      },
      account: { account_id: 'deribit-test', api_key: d.clientId, api_secret: d.clientSecret },
      instrumentKeys: [PERP, FUTURE, OPTION],
    },
    overrides,
  );
}

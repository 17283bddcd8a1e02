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
import type { VenueDiagnosticEvent } from '../../../infra/ccxt/diagnostics.ts';
import { createCcxtVenue } from '../../../infra/ccxt/index.ts';
import type { CcxtVenue, CreateCcxtVenueOptions } from '../../../infra/ccxt/venue.ts';
import type { VenueEvent } from '../../../shared/ports/venue.ts';
import { wallClock } from '../ccxt/support.ts';

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

export interface Session {
  venue: CcxtVenue;
  events: VenueEvent[];
  diags: VenueDiagnosticEvent[];
}

export function session(
  d: LocalDeribit,
  overrides: Partial<Omit<CreateCcxtVenueOptions, 'venue'>> & {
    venue?: Partial<CreateCcxtVenueOptions['venue']>;
  } = {},
): Session {
  const diags: VenueDiagnosticEvent[] = [];
  const events: VenueEvent[] = [];
  const { venue: venueOverrides, ...rest } = overrides;
  const venue = createCcxtVenue({
    venue: {
      id: 'DERIBIT',
      exchange: 'deribit',
      mode: 'LIVE',
      sandbox: false,
      instrument_types: ['PERPETUAL', 'FUTURE', 'OPTION'],
      rate_limit_per_second: 50,
      urls: { rest: d.url, ws: d.url.replace(/^http/, 'ws') },
      ...venueOverrides,
    },
    account: { account_id: 'deribit-test', api_key: d.clientId, api_secret: d.clientSecret },
    clock: wallClock,
    instrumentKeys: [PERP, FUTURE, OPTION],
    onEvent: (e) => diags.push(e),
    requestTimeoutMs: 2_000,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    streams: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500, settleMs: 200, readyTimeoutMs: 5_000 },
    ...rest,
  });
  return { venue, events, diags };
}

/**
 * The IBKR adapter (infra/ib) with the real `@stoqey/ib` client against the local TWS
 * (dev/local-tws) on a loopback port: start both, collect the adapter's events, wait for them.
 */
import { type LocalTws, type LocalTwsOptions, startLocalTws } from '../../../dev/local-tws/index.ts';
import type { VenueDiagnosticEvent } from '../../../infra/ccxt/diagnostics.ts';
import { SystemClock } from '../../../infra/compose.ts';
import { type CreateIbVenueOptions, createIbVenue, type IbVenue } from '../../../infra/ib/index.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { VenueEvent } from '../../../shared/ports/venue.ts';

export const SPY = 'IBKR:STOCK:SPY-USD@ARCA';
export const ES = 'IBKR:FUTURE:ES-USD-20270319@CME';

export interface IbHarness {
  tws: LocalTws;
  venue: IbVenue;
  events: VenueEvent[];
  diagnostics: VenueDiagnosticEvent[];
  /** Poll `check` every 20 ms until it holds (at most `ms`); returns whether it held. */
  until(check: () => boolean, ms?: number): Promise<boolean>;
  close(): Promise<void>;
}

let clientSeq = 0;

/** An `IBKR` LIVE session on the local TWS's SPY and ES (tests, the contract suite, the bench). */
export function localTwsVenueOptions(
  tws: Pick<LocalTws, 'host' | 'port' | 'account'>,
  o: { clientId: number; outsideHours?: 'refuse' | 'queue'; clock?: Clock; accountId?: string },
): CreateIbVenueOptions {
  return {
    venue: {
      id: 'IBKR',
      mode: 'LIVE',
      rate_limit_per_second: 50,
      ib: {
        host: tws.host,
        port: tws.port,
        client_id: o.clientId,
        account: tws.account,
        market_data_type: 'realtime',
        outside_hours: o.outsideHours ?? 'refuse',
      },
    },
    accountId: o.accountId ?? 'ib-test',
    clock: o.clock ?? new SystemClock(),
    instrumentKeys: [SPY, ES],
    requestTimeoutMs: 5_000,
    ackTimeoutMs: 2_000,
  };
}

export async function startIbHarness(
  twsOptions: LocalTwsOptions = {},
  venueOptions: Partial<CreateIbVenueOptions> & { outside_hours?: 'refuse' | 'queue' } = {},
): Promise<IbHarness> {
  const tws = await startLocalTws({ seed: 11, quoteIntervalMs: [20, 40], ...twsOptions });
  const { outside_hours, ...rest } = venueOptions;
  const venue = createIbVenue({
    ...localTwsVenueOptions(tws, { clientId: ++clientSeq, outsideHours: outside_hours ?? 'refuse' }),
    commissionWaitMs: 1_000,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    random: () => 0.5,
    ...rest,
    onEvent: (e) => diagnostics.push(e),
  });
  const events: VenueEvent[] = [];
  const diagnostics: VenueDiagnosticEvent[] = [];
  await venue.connect();
  const until = async (check: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };
  return {
    tws,
    venue,
    events,
    diagnostics,
    until,
    close: async () => {
      await venue.close();
      await tws.stop();
    },
  };
}

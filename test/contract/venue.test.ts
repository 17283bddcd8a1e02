// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
/**
 * The Venue port contract against every venue the edge runs or tests with: the ccxt adapter on the
 * local Binance-spot exchange (real client, signed REST, WebSockets on loopback), the ShadowVenue
 * (our matching engine on a market-data session), the IBKR adapter (real `@stoqey/ib` client) on the
 * local TWS, and the fake venue of the edge's unit tests.
 */
import { DEFAULT_INSTRUMENTS, startLocalExchange } from '../../dev/local-exchange/index.ts';
import { startLocalTws } from '../../dev/local-tws/index.ts';
import { createCcxtVenue } from '../../infra/ccxt/index.ts';
import { SystemClock } from '../../infra/compose.ts';
import { createIbVenue } from '../../infra/ib/index.ts';
import { createShadowVenue } from '../../infra/shadow/venue.ts';
import { parseConfig } from '../../shared/config/schema.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import { localTwsVenueOptions } from '../integration/ib/harness.ts';
import { FakeVenue } from '../unit/edge/fake-venue.ts';
import { FakeDataVenue } from '../unit/shadow/fake-data-venue.ts';
import { venueContract } from './venue.contract.ts';

const VENUE = 'BINANCE-SPOT';
const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const clock = new SystemClock();
const BTC_SPEC = (DEFAULT_INSTRUMENTS as InstrumentSpec[]).find(
  (s) => s.instrument_key === BTC,
) as InstrumentSpec;

venueContract('ccxt adapter on the local exchange', async () => {
  const ex = await startLocalExchange({ seed: 3, quoteIntervalMs: [50, 100] });
  const config = parseConfig(
    {
      venues: [
        {
          id: VENUE,
          exchange: 'binance',
          mode: 'LIVE',
          instrument_types: ['SPOT_PAIR'],
          rate_limit_per_second: 50,
          accounts: [{ account_id: 'contract', base_currency: 'USDT', api_key: '${K}', api_secret: '${S}' }],
          urls: { rest: '${U}', ws: '${W}' },
        },
      ],
    },
    { env: { K: ex.apiKey, S: ex.secret, U: ex.url, W: ex.url.replace(/^http/, 'ws') } },
  );
  const vc = config.venues[0];
  const account = vc?.accounts[0];
  if (vc === undefined || account === undefined) throw new Error('no venue configured');
  const venue = createCcxtVenue({
    venue: vc,
    account,
    clock,
    instrumentKeys: [BTC],
    requestTimeoutMs: 2_000,
    timeSyncIntervalMs: 0,
  });
  await venue.connect();
  return {
    venue,
    instrumentKey: BTC,
    quantity: '0.001',
    offStepQuantity: '0.0010001',
    restingBuyPrice: '10000',
    close: async () => {
      await venue.close();
      await ex.stop();
    },
  };
});

venueContract('IBKR adapter on the local TWS', async () => {
  const tws = await startLocalTws({ seed: 5, quoteIntervalMs: [20, 40] });
  const SPY = 'IBKR:STOCK:SPY-USD@ARCA';
  const venue = createIbVenue(localTwsVenueOptions(tws, { clientId: 7, clock, accountId: 'contract' }));
  await venue.connect();
  return {
    venue,
    instrumentKey: SPY,
    quantity: '1',
    offStepQuantity: '1.5',
    restingBuyPrice: '100',
    close: async () => {
      await venue.close();
      await tws.stop();
    },
  };
});

venueContract('ShadowVenue on a market-data session', async () => {
  const data = new FakeDataVenue(VENUE);
  data.book(BTC, [['59999.99', '5']], [['60000.01', '5']], clock.now());
  const venue = createShadowVenue({
    id: VENUE,
    account_id: 'shadow',
    data,
    instruments: [BTC_SPEC],
    clock,
    seed: 1,
  });
  await venue.connect();
  return {
    venue,
    instrumentKey: BTC,
    quantity: '0.001',
    offStepQuantity: '0.0010001',
    restingBuyPrice: '10000',
    close: () => venue.close(),
  };
});

venueContract('the fake venue of the edge unit tests', async () => {
  const venue = new FakeVenue(VENUE, 'fake', clock);
  await venue.connect();
  return {
    venue,
    instrumentKey: BTC,
    quantity: '0.001',
    offStepQuantity: '0.0010001',
    restingBuyPrice: '10000',
    close: () => venue.close(),
  };
});

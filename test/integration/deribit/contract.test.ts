/**
 * The Venue port contract suite (test/contract/venue.contract.ts) against the ccxt adapter's
 * Deribit path on the local Deribit: the inverse perpetual (USD amounts, 10 USD steps).
 */
import { venueContract } from '../../contract/venue.contract.ts';
import { localDeribit, PERP, session } from './support.ts';

venueContract('ccxt adapter (deribit) on the local Deribit', async () => {
  const d = await localDeribit({ seed: 31, quoteIntervalMs: [50, 100] });
  // ccxt reports Deribit's private stream open once the socket is, before private/subscribe is
  // answered; on a loaded machine the suite's first order could beat the subscription. A longer
  // settle before the streams count as up keeps the stream assertions about the venue.
  const { venue } = session(d, {
    timeSyncIntervalMs: 0,
    streams: {
      reconnectInitialDelayMs: 100,
      reconnectMaxDelayMs: 500,
      settleMs: 1_000,
      readyTimeoutMs: 8_000,
    },
  });
  await venue.connect();
  return {
    venue,
    instrumentKey: PERP,
    quantity: '20',
    offStepQuantity: '15',
    restingBuyPrice: '30000',
    close: async () => {
      await venue.close();
      await d.stop();
    },
  };
});

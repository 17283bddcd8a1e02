/**
 * Order-to-ack latency through each venue adapter to its local protocol server — a plain tsx
 * script (`npm run bench -- venues`):
 *
 * - ccxt `binance` → the local Binance-spot exchange (dev/local-exchange), REST + WebSocket;
 * - ccxt `deribit` → the local Deribit (dev/local-deribit), JSON-RPC over HTTP + WebSocket;
 * - the IBKR adapter (infra/ib, `@stoqey/ib`) → the local TWS (dev/local-tws), the TWS API socket
 *   protocol: timed from `submit` to the first `openOrder` / `orderStatus` of the order id.
 *
 * Each adapter session runs with its private and public streams on. An order is a resting LIMIT
 * far from the market, timed from `CcxtVenue.submit` to its ack (the venue's HTTP reply parsed into
 * a VenueOrderState); the orders are canceled afterwards, untimed. Orders are paced under the
 * venue's documented order budget (Binance 100 per 10 s, Deribit 5 per second), so a wait is the
 * limiter's doing, not the venue's. Each adapter is measured twice: with ccxt's fixed throttle
 * (`rateLimiter: 'ccxt'`, the previous behaviour) and with the venue-budget limiter (the default).
 * Figures are wall-clock on a shared machine: noisy; timing never fails the run.
 */
import { startLocalDeribit } from '../../dev/local-deribit/index.ts';
import { startLocalExchange } from '../../dev/local-exchange/index.ts';
import { startLocalTws } from '../../dev/local-tws/index.ts';
import { type CcxtVenue, createCcxtVenue } from '../../infra/ccxt/index.ts';
import type { CreateCcxtVenueOptions } from '../../infra/ccxt/venue.ts';
import { createIbVenue } from '../../infra/ib/index.ts';
import { orderIdFor } from '../../shared/app/order-id.ts';
import { toDec } from '../../shared/domain/decimal.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Venue } from '../../shared/ports/venue.ts';
import { localTwsVenueOptions } from '../integration/ib/harness.ts';
import { type LatencySummary, summarise } from './support/latency.ts';
import { guardLoopback } from './support/loopback-guard.ts';

const guard = guardLoopback();
const clock = { now: (): Nanos => BigInt(Date.now()) * 1_000_000n };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;

interface Target {
  name: string;
  venue: CreateCcxtVenueOptions['venue'];
  account: CreateCcxtVenueOptions['account'];
  key: string;
  qty: string;
  tick: number;
  orders: number;
  gapMs: number;
}

/** Time `orders` resting LIMIT buys at half the bid (after two untimed warm-ups), then cancel them untimed. */
async function timeRestingOrders(
  venue: Venue,
  t: Pick<Target, 'name' | 'key' | 'qty' | 'tick' | 'orders' | 'gapMs'>,
  tag: string,
  waitedSoFar: () => number,
): Promise<LatencySummary & { waited: number }> {
  await venue.watch([t.key], () => undefined);
  await sleep(500);
  const book = await venue.fetchBook(t.key, 1);
  const bid = toDec(book.bids[0]?.price ?? '1000');
  const far = bid.times('0.5').dividedBy(t.tick).floor().times(t.tick).toFixed();
  const samples: number[] = [];
  const ids: string[] = [];
  // Two warm-up orders (JIT, keep-alive connection), not counted.
  for (let i = 0; i < t.orders + 2; i++) {
    const id = orderIdFor(`bench-${t.name}-${tag}-${process.pid}-${++seq}`);
    ids.push(id);
    const t0 = performance.now();
    await venue.submit({
      client_order_id: id,
      instrument_key: t.key,
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: t.qty,
      price: far,
      time_in_force: 'GTC',
    });
    if (i >= 2) samples.push(performance.now() - t0);
    await sleep(t.gapMs);
  }
  // Waits for a spent budget while the timed orders went out (the cancels below are untimed).
  const waited = waitedSoFar();
  for (const id of ids) {
    await venue.cancel(id, t.key).catch(() => undefined);
  }
  await venue.close();
  return { ...summarise(samples), waited };
}

async function measure(t: Target, limiter: 'ccxt' | 'venue'): Promise<LatencySummary & { waited: number }> {
  const venue: CcxtVenue = createCcxtVenue({
    venue: t.venue,
    account: t.account,
    clock,
    instrumentKeys: [t.key],
    rateLimiter: limiter,
    timeSyncIntervalMs: 0,
    requestTimeoutMs: 5_000,
  });
  await venue.connect();
  return timeRestingOrders(venue, t, limiter, () => venue.rateLimiterStats()?.waited ?? 0);
}

/** The IBKR adapter (real `@stoqey/ib` client) → the local TWS: placeOrder → first openOrder / orderStatus. */
async function measureIb(): Promise<LatencySummary & { waited: number }> {
  const tws = await startLocalTws({ seed: 3 });
  const key = 'IBKR:STOCK:SPY-USD@ARCA';
  const venue = createIbVenue(localTwsVenueOptions(tws, { clientId: 1, clock, accountId: 'bench' }));
  await venue.connect();
  try {
    return await timeRestingOrders(
      venue,
      { name: 'ib', key, qty: '1', tick: 0.01, orders: 80, gapMs: 30 },
      'ib',
      () => venue.rateLimiterStats().waited,
    );
  } finally {
    await tws.stop();
  }
}

async function main(): Promise<void> {
  const binance = await startLocalExchange({ seed: 3, startingBalances: { USDT: '100000000', BTC: '10' } });
  const deribit = await startLocalDeribit({ seed: 3 });
  const targets: Target[] = [
    {
      name: 'ccxt binance → local exchange',
      venue: {
        id: 'BINANCE-SPOT',
        exchange: 'binance',
        mode: 'LIVE',
        sandbox: false,
        instrument_types: ['SPOT_PAIR'],
        rate_limit_per_second: 50,
        urls: { rest: binance.url, ws: binance.url.replace(/^http/, 'ws') },
      },
      account: { account_id: 'bench', api_key: binance.apiKey, api_secret: binance.secret },
      key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      qty: '0.001',
      tick: 0.01,
      orders: 80,
      gapMs: 110,
    },
    {
      name: 'ccxt deribit → local Deribit',
      venue: {
        id: 'DERIBIT',
        exchange: 'deribit',
        mode: 'LIVE',
        sandbox: false,
        instrument_types: ['PERPETUAL'],
        rate_limit_per_second: 50,
        urls: { rest: deribit.url, ws: deribit.url.replace(/^http/, 'ws') },
      },
      account: { account_id: 'bench', api_key: deribit.clientId, api_secret: deribit.clientSecret },
      key: 'DERIBIT:PERPETUAL:BTC-USD@INV',
      qty: '10',
      tick: 0.5,
      orders: 40,
      gapMs: 450,
    },
  ];
  const rows: Record<string, unknown>[] = [];
  for (const t of targets) {
    for (const limiter of ['ccxt', 'venue'] as const) {
      const r = await measure(t, limiter);
      rows.push({
        adapter: t.name,
        pacing: limiter === 'ccxt' ? "ccxt's fixed throttle" : 'venue budgets (default)',
        orders: r.n,
        'p50 ms': r.p50_ms,
        'p99 ms': r.p99_ms,
        'mean ms': r.mean_ms,
        'max ms': r.max_ms,
        'budget waits': limiter === 'venue' ? r.waited : '-',
      });
    }
  }
  const ib = await measureIb();
  rows.push({
    adapter: 'IBKR (@stoqey/ib) → local TWS',
    pacing: "IB's 50 messages / s (45 budgeted)",
    orders: ib.n,
    'p50 ms': ib.p50_ms,
    'p99 ms': ib.p99_ms,
    'mean ms': ib.mean_ms,
    'max ms': ib.max_ms,
    'budget waits': ib.waited,
  });
  await binance.stop();
  await deribit.stop();
  console.log('order-to-ack (resting LIMIT, submit → parsed ack), wall clock, shared cores: noisy');
  console.table(rows);
  if (guard.violations.length > 0) {
    console.error(`non-loopback connections were attempted: ${guard.violations.join(', ')}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

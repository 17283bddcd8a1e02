/**
 * Set-up of the ccxt adapter's integration tests: a local Binance-spot-compatible exchange
 * (stateful/local-exchange) and ccxt venue sessions pointed at it through the configuration's URL
 * overrides (`urls.rest` / `urls.ws`), exactly as a deployment would point them at a testnet.
 */
import ccxt, { type binance as BinanceRest } from 'ccxt';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import {
  ccxtOptionsFor,
  type LocalExchange,
  type LocalExchangeOptions,
  startLocalExchange,
} from '../../../dev/local-exchange/index.ts';
import type { VenueDiagnosticEvent } from '../../../infra/ccxt/diagnostics.ts';
import { createCcxtVenue } from '../../../infra/ccxt/index.ts';
import type { CcxtVenue, CreateCcxtVenueOptions } from '../../../infra/ccxt/venue.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { VenueEvent, VenueOrderRequest } from '../../../shared/ports/venue.ts';

export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';

export const wallClock: Clock = { now: (): Nanos => BigInt(Date.now()) * 1_000_000n };

export async function localExchange(opts: LocalExchangeOptions = {}): Promise<LocalExchange> {
  return startLocalExchange({ seed: 7, ...opts });
}

export interface Session {
  venue: CcxtVenue;
  events: VenueEvent[];
  diags: VenueDiagnosticEvent[];
  /** Private events only (orders, trades, connection changes). */
  privateEvents(): VenueEvent[];
}

export type SessionOverrides = Partial<Omit<CreateCcxtVenueOptions, 'venue'>> & {
  venue?: Partial<CreateCcxtVenueOptions['venue']>;
};

/** A ccxt venue session on the local exchange (config-driven URLs, small timeouts and back-offs). */
export function session(ex: LocalExchange, overrides: SessionOverrides = {}): Session {
  return venueSession(
    {
      venue: {
        id: 'BINANCE-SPOT',
        exchange: 'binance',
        mode: 'LIVE',
        sandbox: false,
        instrument_types: ['SPOT_PAIR'],
        rate_limit_per_second: 50,
        urls: { rest: ex.url, ws: ex.url.replace(/^http/, 'ws') },
      },
      account: { account_id: 'binance-spot-test', api_key: ex.apiKey, api_secret: ex.secret },
      instrumentKeys: [BTC, ETH],
    },
    overrides,
  );
}

/** A ccxt venue session on a local venue: the test clock, small timeouts and back-offs, `overrides` on top. */
export function venueSession(
  base: Pick<CreateCcxtVenueOptions, 'venue' | 'account' | 'instrumentKeys'>,
  overrides: SessionOverrides = {},
): Session {
  const diags: VenueDiagnosticEvent[] = [];
  const events: VenueEvent[] = [];
  const { venue: venueOverrides, ...rest } = overrides;
  const venue = createCcxtVenue({
    venue: { ...base.venue, ...venueOverrides },
    account: base.account,
    clock: wallClock,
    instrumentKeys: base.instrumentKeys,
    onEvent: (e) => diags.push(e),
    requestTimeoutMs: 2_000,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    streams: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500, settleMs: 200, readyTimeoutMs: 5_000 },
    ...rest,
  });
  return {
    venue,
    events,
    diags,
    privateEvents: () =>
      events.filter((e) => e.kind === 'order' || e.kind === 'trade' || e.kind === 'connection'),
  };
}

/** What {@link localVenueSuite} needs of a local venue (the local exchange, the local Deribit). */
export interface LocalVenueLike {
  faults: { reset(): void };
  stop(): Promise<void>;
  readonly unhandledRequests: readonly string[];
}

/**
 * A test file's local venue: started before all (by `start`), its faults reset after each test;
 * after all, the sessions in `sessions` closed, the venue stopped and no request left unhandled.
 * `open` makes a connected session on it and keeps it in `sessions`.
 */
export function localVenueSuite<V extends LocalVenueLike>(
  start: () => Promise<V>,
  makeSession: (venue: V, overrides: SessionOverrides) => Session,
): { sessions: Session[]; open(overrides?: SessionOverrides): Promise<Session> } {
  let v: V | undefined;
  const sessions: Session[] = [];
  beforeAll(async () => {
    v = await start();
  });
  afterEach(() => v?.faults.reset());
  afterAll(async () => {
    for (const s of sessions) await s.venue.close();
    await v?.stop();
    expect(v?.unhandledRequests).toEqual([]);
  });
  return {
    sessions,
    async open(overrides = {}) {
      if (v === undefined) throw new Error('the local venue is not started (open a session inside a test)');
      const s = makeSession(v, overrides);
      sessions.push(s);
      await s.venue.connect();
      return s;
    },
  };
}

let seq = 0;
/** A fresh client order id as the platform makes them (`ord_` + 32 hex). */
export function nextClientOrderId(label = 'it'): string {
  seq += 1;
  return orderIdFor(`${label}-${process.pid}-${Date.now()}-${seq}`);
}

export function marketOrder(side: 'BUY' | 'SELL', quantity: string, key = BTC): VenueOrderRequest {
  return {
    client_order_id: nextClientOrderId(),
    instrument_key: key,
    side,
    order_type: 'MARKET',
    quantity,
    price: null,
    time_in_force: 'GTC',
  };
}

export function limitOrder(
  side: 'BUY' | 'SELL',
  quantity: string,
  price: string,
  key = BTC,
): VenueOrderRequest {
  return {
    client_order_id: nextClientOrderId(),
    instrument_key: key,
    side,
    order_type: 'LIMIT',
    quantity,
    price,
    time_in_force: 'GTC',
  };
}

/** A plain ccxt client on the exchange, to look at it from outside the adapter. */
export async function observer(ex: LocalExchange): Promise<BinanceRest> {
  const client = new ccxt.binance(ccxtOptionsFor(ex));
  await ex.configureCcxt(client);
  await client.loadMarkets();
  return client;
}

/** How many orders the exchange holds with this (venue) client order id, whatever their state. */
export async function ordersWithClientId(
  client: BinanceRest,
  symbol: string,
  clientOrderId: string,
): Promise<number> {
  const all = await client.fetchOrders(symbol, undefined, 1000);
  return all.filter((o) => o.clientOrderId === clientOrderId).length;
}

/** Poll until `f` returns something other than undefined. */
export async function eventually<T>(
  f: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

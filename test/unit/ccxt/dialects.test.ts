/**
 * The exchange dialects end to end through the real ccxt classes, offline: the exchange's HTTP
 * layer (`fetch`) is replaced by a table of canned venue answers, so ccxt builds every request
 * (where our client id goes: OKX `clOrdId`, Bybit `orderLinkId`, Deribit `label`) and parses every
 * answer exactly as it would against the venue.
 */
import type { Exchange } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { venueClientIdOf } from '../../../infra/ccxt/client-ids.ts';
import { type CcxtVenue, createCcxtVenue } from '../../../infra/ccxt/venue.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import type { InstrumentType } from '../../../shared/domain/instrument-id.ts';
import { TestClock } from '../../../shared/ports/clock.ts';

interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Route = (call: Call) => unknown;

const CID = orderIdFor('OP-dialects');
const T0 = 1_700_000_000_000;

async function offlineVenue(opts: {
  id: string;
  exchange: 'okx' | 'bybit' | 'deribit';
  types: InstrumentType[];
  key: string;
  market: Record<string, unknown>;
  routes: Record<string, Route>;
  password?: string;
}): Promise<{ venue: CcxtVenue; calls: Call[] }> {
  const calls: Call[] = [];
  const venue = createCcxtVenue({
    venue: {
      id: opts.id,
      exchange: opts.exchange,
      mode: 'LIVE',
      sandbox: false,
      instrument_types: opts.types,
      rate_limit_per_second: 1000,
    },
    account: {
      account_id: 'acct',
      api_key: 'key',
      api_secret: 'secret',
      ...(opts.password !== undefined ? { password: opts.password } : {}),
    },
    clock: new TestClock(5n),
    instrumentKeys: [opts.key],
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
    timeSyncIntervalMs: 0,
    ccxtOverrides: (ex: Exchange) => {
      ex.options.enableUnifiedMargin = false;
      ex.options.enableUnifiedAccount = true;
      const markets = ex.setMarkets([ex.safeMarketStructure(opts.market)]);
      ex.loadMarkets = async () => markets;
      ex.fetchTime = async () => Date.now();
      ex.fetch = async (url: string, method = 'GET', _headers?: unknown, body?: unknown) => {
        const u = new URL(url);
        const call: Call = {
          method,
          path: u.pathname,
          query: u.searchParams,
          body: typeof body === 'string' && /^[[{]/.test(body) ? JSON.parse(body) : body,
        };
        calls.push(call);
        const route = opts.routes[`${method} ${u.pathname}`];
        if (route === undefined) throw new Error(`no canned answer for ${method} ${u.pathname}`);
        return route(call);
      };
    },
  });
  await venue.connect();
  return { venue, calls };
}

describe('OKX: clOrdId (alphanumeric ≤ 32) carries the compact id', () => {
  const okxId = venueClientIdOf('okx', CID).id;
  const order = (state: string, filled: string) => ({
    instId: 'BTC-USDT',
    instType: 'SPOT',
    ordId: '555',
    clOrdId: okxId,
    px: '60000.1',
    sz: '0.01',
    side: 'buy',
    ordType: 'limit',
    state,
    accFillSz: filled,
    avgPx: filled === '0' ? '' : '60000.1',
    cTime: String(T0),
    uTime: String(T0 + 10),
    fee: '0',
    feeCcy: 'USDT',
  });
  let state = 'live';
  const setup = () =>
    offlineVenue({
      id: 'OKX',
      exchange: 'okx',
      types: ['SPOT_PAIR'],
      key: 'OKX:SPOT_PAIR:BTC-USDT',
      password: 'pass',
      market: {
        id: 'BTC-USDT',
        symbol: 'BTC/USDT',
        base: 'BTC',
        quote: 'USDT',
        baseId: 'BTC',
        quoteId: 'USDT',
        type: 'spot',
        spot: true,
        contract: false,
        active: true,
        precision: { amount: 0.00000001, price: 0.1 },
        limits: { amount: { min: 0.00001 }, cost: { min: 1 } },
        info: { instType: 'SPOT' },
      },
      routes: {
        // ccxt sends a single order through the batch endpoint.
        'POST /api/v5/trade/batch-orders': () => ({
          code: '0',
          msg: '',
          data: [{ clOrdId: okxId, ordId: '555', sCode: '0', sMsg: '' }],
        }),
        'GET /api/v5/trade/order': () => ({
          code: '0',
          msg: '',
          data: [order(state, state === 'filled' ? '0.01' : '0')],
        }),
        'POST /api/v5/trade/cancel-order': () => {
          state = 'canceled';
          return { code: '0', msg: '', data: [{ clOrdId: okxId, ordId: '555', sCode: '0', sMsg: '' }] };
        },
      },
    });

  it('submit sends clOrdId, reads the ids-only ack back by client id, maps it to our id', async () => {
    const { venue, calls } = await setup();
    const st = await venue.submit({
      client_order_id: CID,
      instrument_key: 'OKX:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '0.01',
      price: '60000.1',
      time_in_force: 'GTC',
    });
    const create = calls.find((c) => c.path === '/api/v5/trade/batch-orders');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(JSON.stringify(create?.body)).toContain(`"clOrdId":"${okxId}"`);
    const lookup = calls.find((c) => c.path === '/api/v5/trade/order' && c.method === 'GET');
    expect(lookup?.query.get('clOrdId')).toBe(okxId);
    expect(lookup?.query.get('ordId')).toBeNull();
    expect(st).toMatchObject({
      client_order_id: CID,
      venue_order_id: '555',
      status: 'NEW',
      quantity: '0.01',
      filled_quantity: '0',
      instrument_key: 'OKX:SPOT_PAIR:BTC-USDT',
    });
    expect(venue.venueClientId(CID)).toBe(okxId);
    await venue.close();
  });

  it('cancel by clOrdId, then reads the final state', async () => {
    const { venue, calls } = await setup();
    const st = await venue.cancel(CID, 'OKX:SPOT_PAIR:BTC-USDT');
    const cancel = calls.find((c) => c.path === '/api/v5/trade/cancel-order');
    expect(JSON.stringify(cancel?.body)).toContain(`"clOrdId":"${okxId}"`);
    expect(st.status).toBe('CANCELED');
    expect(st.client_order_id).toBe(CID);
    await venue.close();
  });
});

describe('Bybit: orderLinkId; look-up through the open and the closed order lists', () => {
  const raw = (status: string) => ({
    orderId: 'by-1',
    orderLinkId: CID,
    symbol: 'BTCUSDT',
    price: '60000.1',
    qty: '0.01',
    side: 'Buy',
    orderStatus: status,
    orderType: 'Limit',
    timeInForce: 'GTC',
    cumExecQty: status === 'Filled' ? '0.01' : '0',
    cumExecValue: status === 'Filled' ? '600.001' : '0',
    avgPrice: status === 'Filled' ? '60000.1' : '',
    createdTime: String(T0),
    updatedTime: String(T0 + 5),
  });
  const list = (items: unknown[]) => ({ retCode: 0, retMsg: 'OK', result: { list: items }, time: T0 });
  let open: unknown[] = [];
  let closed: unknown[] = [];
  const setup = () =>
    offlineVenue({
      id: 'BYBIT',
      exchange: 'bybit',
      types: ['SPOT_PAIR'],
      key: 'BYBIT:SPOT_PAIR:BTC-USDT',
      market: {
        id: 'BTCUSDT',
        symbol: 'BTC/USDT',
        base: 'BTC',
        quote: 'USDT',
        baseId: 'BTC',
        quoteId: 'USDT',
        type: 'spot',
        spot: true,
        contract: false,
        active: true,
        precision: { amount: 0.000001, price: 0.1 },
        limits: { amount: { min: 0.000048 }, cost: { min: 1 } },
        info: {},
      },
      routes: {
        'POST /v5/order/create': () => {
          open = [raw('New')];
          return {
            retCode: 0,
            retMsg: 'OK',
            result: { orderId: 'by-1', orderLinkId: CID },
            time: T0,
          };
        },
        'GET /v5/order/realtime': (c) => list(c.query.get('orderLinkId') === CID ? open : []),
        'GET /v5/order/history': (c) => list(c.query.get('orderLinkId') === CID ? closed : []),
        'POST /v5/order/cancel': () => {
          closed = [raw('Cancelled')];
          open = [];
          return { retCode: 0, retMsg: 'OK', result: { orderId: 'by-1', orderLinkId: CID }, time: T0 };
        },
      },
    });

  it('submit sends orderLinkId = our id; cancel goes by venue order id; a closed order is found in the history', async () => {
    const { venue, calls } = await setup();
    const st = await venue.submit({
      client_order_id: CID,
      instrument_key: 'BYBIT:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '0.01',
      price: '60000.1',
      time_in_force: 'GTC',
    });
    expect(JSON.stringify(calls.find((c) => c.path === '/v5/order/create')?.body)).toContain(
      `"orderLinkId":"${CID}"`,
    );
    expect(calls.find((c) => c.path === '/v5/order/realtime')?.query.get('orderLinkId')).toBe(CID);
    expect(st).toMatchObject({
      client_order_id: CID,
      venue_order_id: 'by-1',
      status: 'NEW',
      quantity: '0.01',
    });

    const canceled = await venue.cancel(CID, 'BYBIT:SPOT_PAIR:BTC-USDT');
    expect(JSON.stringify(calls.find((c) => c.path === '/v5/order/cancel')?.body)).toContain(
      '"orderId":"by-1"',
    );
    expect(canceled).toMatchObject({ status: 'CANCELED', client_order_id: CID });
    expect(calls.find((c) => c.path === '/v5/order/history')?.query.get('orderLinkId')).toBe(CID);

    expect(await venue.fetchOrder(orderIdFor('unknown'), 'BYBIT:SPOT_PAIR:BTC-USDT')).toBeNull();
    await venue.close();
  });
});

describe('Deribit: label carries the id (ccxt does not map clientOrderId there)', () => {
  const order = (state: string) => ({
    order_id: 'ETH-349249',
    label: CID,
    instrument_name: 'BTC-PERPETUAL',
    direction: 'buy',
    amount: 100,
    filled_amount: state === 'filled' ? 100 : 0,
    average_price: state === 'filled' ? 60000.5 : 0,
    price: 60000.5,
    order_state: state,
    order_type: 'limit',
    time_in_force: 'good_til_cancelled',
    creation_timestamp: T0,
    last_update_timestamp: T0 + 3,
    commission: 0,
    post_only: false,
  });
  let state = 'open';
  const setup = () =>
    offlineVenue({
      id: 'DERIBIT',
      exchange: 'deribit',
      types: ['PERPETUAL'],
      key: 'DERIBIT:PERPETUAL:BTC-USD@INV',
      market: {
        id: 'BTC-PERPETUAL',
        symbol: 'BTC/USD:BTC',
        base: 'BTC',
        quote: 'USD',
        settle: 'BTC',
        baseId: 'BTC',
        quoteId: 'USD',
        settleId: 'BTC',
        type: 'swap',
        swap: true,
        spot: false,
        contract: true,
        inverse: true,
        linear: false,
        contractSize: 10,
        active: true,
        precision: { amount: 10, price: 0.5 },
        limits: { amount: { min: 10 } },
        info: {},
      },
      routes: {
        'GET /api/v2/private/buy': () => ({ jsonrpc: '2.0', result: { order: order('open'), trades: [] } }),
        'GET /api/v2/private/get_order_state_by_label': () => ({ jsonrpc: '2.0', result: [order(state)] }),
        'GET /api/v2/private/cancel': () => {
          state = 'cancelled';
          return { jsonrpc: '2.0', result: order('cancelled') };
        },
      },
    });

  it('submit sends label; the reply maps back through info.label; cancel looks the order up by label', async () => {
    const { venue, calls } = await setup();
    const st = await venue.submit({
      client_order_id: CID,
      instrument_key: 'DERIBIT:PERPETUAL:BTC-USD@INV',
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '100',
      price: '60000.5',
      time_in_force: 'GTC',
    });
    expect(calls.find((c) => c.path === '/api/v2/private/buy')?.query.get('label')).toBe(CID);
    expect(st).toMatchObject({
      client_order_id: CID,
      venue_order_id: 'ETH-349249',
      status: 'NEW',
      quantity: '100',
      instrument_key: 'DERIBIT:PERPETUAL:BTC-USD@INV',
    });
    const found = await venue.fetchOrder(CID, 'DERIBIT:PERPETUAL:BTC-USD@INV');
    const byLabel = calls.find((c) => c.path === '/api/v2/private/get_order_state_by_label');
    expect(byLabel?.query.get('label')).toBe(CID);
    expect(byLabel?.query.get('currency')).toBe('BTC');
    expect(found?.client_order_id).toBe(CID);

    const canceled = await venue.cancel(CID, 'DERIBIT:PERPETUAL:BTC-USD@INV');
    expect(calls.find((c) => c.path === '/api/v2/private/cancel')?.query.get('order_id')).toBe('ETH-349249');
    expect(canceled.status).toBe('CANCELED');
    await venue.close();
  });
});

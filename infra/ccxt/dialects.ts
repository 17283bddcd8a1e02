/**
 * The few places where the five exchanges differ beyond what ccxt unifies, checked against the
 * ccxt 4.5 source (`node_modules/ccxt/js/src/<exchange>.js`):
 *
 * | | send client id | look up by client id | cancel by client id |
 * | --- | --- | --- | --- |
 * | binance, binanceusdm | `clientOrderId` → `newClientOrderId` | `fetchOrder('', s, {clientOrderId})` → `origClientOrderId` | `cancelOrder('', s, {clientOrderId})` |
 * | okx | `clientOrderId` → `clOrdId` | `fetchOrder('', s, {clientOrderId})` → `clOrdId` | `cancelOrder('', s, {clientOrderId})` |
 * | bybit | `clientOrderId` → `orderLinkId` | `fetchOpenOrders` then `fetchCanceledAndClosedOrders` with `{orderLinkId}` (its `fetchOrder` always sends `orderId` and wants `acknowledged`) | by venue order id, after a lookup |
 * | deribit | `label` (ccxt ignores `clientOrderId`, and reports `clientOrderId: undefined`: we read `info.label`) | `private/get_order_state_by_label` | by venue order id, after a lookup |
 *
 * Deribit does not enforce unique labels: the lookup-before-resend of `submit` is what keeps a
 * retry from making a second order there.
 */
import { deribit as DeribitRest, type Exchange, OrderNotFound } from 'ccxt';
import { z } from 'zod';
import type { ClientIdExchange } from './client-ids.ts';
import type { CcxtOrder, MarketInfo } from './parse.ts';

export interface Dialect {
  readonly exchange: ClientIdExchange;
  /** Extra createOrder params carrying the venue client id. */
  clientIdParams(venueClientId: string): Record<string, string>;
  /** The client id an order payload carries. */
  venueClientId(order: CcxtOrder): string | null;
  /** The raw ccxt order with this client id, or null when the venue does not know it. */
  fetchByClientId(ex: Exchange, market: MarketInfo, venueClientId: string): Promise<unknown | null>;
  /** Cancel by client id, when the venue can; null → the session cancels by venue order id. */
  cancelByClientId: ((ex: Exchange, market: MarketInfo, venueClientId: string) => Promise<unknown>) | null;
  /** Order book depths the REST endpoint accepts (the smallest ≥ the wanted depth is used), or a cap. */
  bookLimit(depth: number): number;
  /** Whether ccxt's `amount` counts contracts of ccxt's `contractSize` (see `marketInfoOf`). */
  readonly amountInContracts: boolean;
}

function firstAtLeast(allowed: readonly number[], depth: number): number {
  return allowed.find((n) => n >= depth) ?? allowed[allowed.length - 1] ?? depth;
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof OrderNotFound) return null;
    throw err;
  }
}

/** A non-empty string field of a raw venue payload (ccxt's `info`). */
function infoString(info: unknown, field: string): string | null {
  const rec = z.record(z.string(), z.unknown()).safeParse(info);
  if (!rec.success) return null;
  const v = rec.data[field];
  return typeof v === 'string' && v !== '' ? v : null;
}

const byClientOrderIdParam = {
  clientIdParams: (id: string) => ({ clientOrderId: id }),
  // A Binance cancel reply carries the cancel request's own id as `clientOrderId` (ccxt reports
  // that one) and the order's as `origClientOrderId`.
  venueClientId: (o: CcxtOrder) =>
    infoString(o.info, 'origClientOrderId') ?? (o.clientOrderId ? o.clientOrderId : null),
  fetchByClientId: (ex: Exchange, m: MarketInfo, id: string) =>
    orNull(ex.fetchOrder('', m.symbol, { clientOrderId: id })),
  cancelByClientId: (ex: Exchange, m: MarketInfo, id: string) =>
    ex.cancelOrder('', m.symbol, { clientOrderId: id }),
};

const DIALECTS: Readonly<Record<ClientIdExchange, Dialect>> = {
  binance: {
    exchange: 'binance',
    ...byClientOrderIdParam,
    bookLimit: (d) => firstAtLeast([5, 10, 20, 50, 100, 500, 1000, 5000], d),
    amountInContracts: true,
  },
  binanceusdm: {
    exchange: 'binanceusdm',
    ...byClientOrderIdParam,
    bookLimit: (d) => firstAtLeast([5, 10, 20, 50, 100, 500, 1000], d),
    amountInContracts: true,
  },
  okx: {
    exchange: 'okx',
    ...byClientOrderIdParam,
    bookLimit: (d) => Math.min(Math.max(1, d), 400),
    amountInContracts: true,
  },
  bybit: {
    exchange: 'bybit',
    clientIdParams: (id) => ({ clientOrderId: id }),
    venueClientId: (o) => (o.clientOrderId ? o.clientOrderId : null),
    async fetchByClientId(ex, m, id) {
      const open = await ex.fetchOpenOrders(m.symbol, undefined, undefined, { orderLinkId: id });
      if (open.length > 0) return open[0] ?? null;
      const done = await ex.fetchCanceledAndClosedOrders(m.symbol, undefined, undefined, { orderLinkId: id });
      return done[0] ?? null;
    },
    cancelByClientId: null,
    bookLimit: (d) => Math.min(Math.max(1, d), 200),
    amountInContracts: true,
  },
  deribit: {
    exchange: 'deribit',
    clientIdParams: (id) => ({ label: id }),
    venueClientId: (o) => (o.clientOrderId ? o.clientOrderId : infoString(o.info, 'label')),
    async fetchByClientId(ex, m, id) {
      if (!(ex instanceof DeribitRest)) throw new TypeError('deribit dialect needs a deribit exchange');
      const currency = m.settle ?? m.base;
      const response = await ex.privateGetGetOrderStateByLabel({ currency, label: id });
      const result: unknown = response.result;
      if (!Array.isArray(result) || result.length === 0) return null;
      // The most recently created order with the label (labels are not unique on Deribit).
      const sorted = [...result].sort((a: unknown, b: unknown) => createdAt(b) - createdAt(a));
      const market = ex.market(m.symbol);
      return ex.parseOrder(z.record(z.string(), z.unknown()).parse(sorted[0]), market);
    },
    cancelByClientId: null,
    bookLimit: (d) => firstAtLeast([1, 5, 10, 20, 50, 100, 1000, 10000], d),
    amountInContracts: false,
  },
};

function createdAt(o: unknown): number {
  const rec = z.record(z.string(), z.unknown()).safeParse(o);
  const t = rec.success ? rec.data.creation_timestamp : undefined;
  return typeof t === 'number' ? t : 0;
}

export function dialectOf(exchange: ClientIdExchange): Dialect {
  return DIALECTS[exchange];
}

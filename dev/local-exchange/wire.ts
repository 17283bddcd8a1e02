/** Binance spot JSON shapes of orders, trades and symbols. */
import { toDec } from '../../shared/domain/decimal.ts';
import { d8, type SymbolInfo } from './format.ts';
import { type ExOrder, isOpen, type MyTrade, type RespType } from './venue.ts';

export function orderAck(o: ExOrder, transactTime: number): Record<string, unknown> {
  return {
    symbol: o.info.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    transactTime,
  };
}

export function orderResult(o: ExOrder, transactTime: number): Record<string, unknown> {
  return {
    ...orderAck(o, transactTime),
    price: d8(o.price),
    origQty: d8(o.origQty),
    executedQty: d8(o.executedQty),
    origQuoteOrderQty: d8(o.origQuoteOrderQty),
    cummulativeQuoteQty: d8(o.cumQuote),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    workingTime: o.timeMs,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** The reply to POST /api/v3/order in the requested `newOrderRespType`. */
export function newOrderReply(o: ExOrder, respType: RespType, transactTime: number): Record<string, unknown> {
  if (respType === 'ACK') return orderAck(o, transactTime);
  if (respType === 'RESULT') return orderResult(o, transactTime);
  return {
    ...orderResult(o, transactTime),
    fills: o.fills.map((f) => ({
      price: d8(f.price),
      qty: d8(f.qty),
      commission: d8(f.commission),
      commissionAsset: f.commissionAsset,
      tradeId: f.tradeId,
    })),
  };
}

/** GET /api/v3/order, openOrders, allOrders. */
export function orderQuery(o: ExOrder): Record<string, unknown> {
  return {
    symbol: o.info.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: d8(o.price),
    origQty: d8(o.origQty),
    executedQty: d8(o.executedQty),
    cummulativeQuoteQty: d8(o.cumQuote),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: d8(0),
    icebergQty: d8(0),
    time: o.timeMs,
    updateTime: o.updateTimeMs,
    isWorking: isOpen(o),
    workingTime: o.timeMs,
    origQuoteOrderQty: d8(o.origQuoteOrderQty),
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** DELETE /api/v3/order: `clientOrderId` is the cancel's own id, `origClientOrderId` the order's. */
export function cancelReply(o: ExOrder, transactTime: number): Record<string, unknown> {
  return {
    symbol: o.info.symbol,
    origClientOrderId: o.clientOrderId,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.cancelClientOrderId ?? o.clientOrderId,
    transactTime,
    price: d8(o.price),
    origQty: d8(o.origQty),
    executedQty: d8(o.executedQty),
    origQuoteOrderQty: d8(o.origQuoteOrderQty),
    cummulativeQuoteQty: d8(o.cumQuote),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

export function myTrade(t: MyTrade): Record<string, unknown> {
  return {
    symbol: t.symbol,
    id: t.id,
    orderId: t.orderId,
    orderListId: -1,
    price: d8(t.price),
    qty: d8(t.qty),
    quoteQty: d8(t.quoteQty),
    commission: d8(t.commission),
    commissionAsset: t.commissionAsset,
    time: t.timeMs,
    isBuyer: t.isBuyer,
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

/** One `symbols[]` entry of GET /api/v3/exchangeInfo. */
export function symbolEntry(info: SymbolInfo): Record<string, unknown> {
  const s = info.spec;
  const maxPrice = toDec(s.tick_size).times(100_000_000_000);
  return {
    symbol: info.symbol,
    status: 'TRADING',
    baseAsset: info.base,
    baseAssetPrecision: 8,
    quoteAsset: info.quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: d8(s.tick_size),
        maxPrice: d8(maxPrice),
        tickSize: d8(s.tick_size),
      },
      { filterType: 'LOT_SIZE', minQty: d8(s.min_qty), maxQty: d8(s.max_qty), stepSize: d8(s.step_size) },
      {
        filterType: 'MARKET_LOT_SIZE',
        minQty: d8(s.min_qty),
        maxQty: d8(s.max_qty),
        stepSize: d8(s.step_size),
      },
      { filterType: 'MIN_NOTIONAL', minNotional: d8(s.min_notional), applyToMarket: true, avgPriceMins: 5 },
      {
        filterType: 'NOTIONAL',
        minNotional: d8(s.min_notional),
        applyMinToMarket: true,
        maxNotional: d8(9_000_000),
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_MAKER'],
  };
}

export const RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
  { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
];

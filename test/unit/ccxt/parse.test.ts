import { describe, expect, it } from 'vitest';
import { ourClientIdOf, venueClientIdOf } from '../../../infra/ccxt/client-ids.ts';
import {
  decimalFromCcxt,
  gridOf,
  incrementFromPrecision,
  numberForCcxt,
  onGrid,
  PRECISION_MODE,
} from '../../../infra/ccxt/numbers.ts';
import {
  type MarketInfo,
  mapOrderStatus,
  marketInfoOf,
  type ParseContext,
  PayloadError,
  parseBalances,
  parseBook,
  parseMyTrade,
  parseOrder,
  parsePositions,
  parsePublicTrade,
} from '../../../infra/ccxt/parse.ts';
import { fromCcxtSymbol } from '../../../shared/domain/instrument-id.ts';

const NOW = 1_700_000_000_000_000_000n;
const BTC_SPOT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

/** A ccxt binance spot market as ccxt 4.5 builds it (the fields we read and a few more). */
const BTC_MARKET = {
  id: 'BTCUSDT',
  symbol: 'BTC/USDT',
  base: 'BTC',
  quote: 'USDT',
  settle: undefined,
  type: 'spot',
  spot: true,
  contract: false,
  linear: undefined,
  inverse: undefined,
  active: true,
  contractSize: undefined,
  precision: { amount: 0.00001, price: 0.01, base: 1e-8, quote: 1e-8 },
  limits: {
    amount: { min: 0.00001, max: 9000 },
    price: { min: 0.01, max: 1000000 },
    cost: { min: 5, max: 9000000 },
    leverage: { min: undefined, max: undefined },
  },
  info: {},
};

const PERP_MARKET = {
  ...BTC_MARKET,
  id: 'BTCUSDT',
  symbol: 'BTC/USDT:USDT',
  settle: 'USDT',
  type: 'swap',
  spot: false,
  contract: true,
  linear: true,
  contractSize: 1,
  precision: { amount: 0.001, price: 0.1 },
  limits: { amount: { min: 0.001, max: 1000 }, cost: { min: 100, max: undefined } },
};

function ctxWith(markets: Record<string, MarketInfo>, orderIds: Record<string, string> = {}): ParseContext {
  return {
    now: () => NOW,
    market: (s) => markets[s] ?? null,
    instrumentKey: (s) => markets[s]?.instrument_key ?? fromCcxtSymbol('BINANCE-SPOT', s),
    venueClientId: (o) => o.clientOrderId ?? null,
    ourClientId: (v) => ourClientIdOf(v),
    clientIdOfOrder: (id) => orderIds[id] ?? null,
  };
}

const btc = marketInfoOf(BTC_MARKET, BTC_SPOT, PRECISION_MODE.TICK_SIZE);
const perp = marketInfoOf(PERP_MARKET, 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', PRECISION_MODE.TICK_SIZE);
const CTX = ctxWith({ 'BTC/USDT': btc, 'BTC/USDT:USDT': perp }, { '77': 'ord_77' });

describe('numbers: float noise never leaks', () => {
  it('snaps values within float noise of the grid to the grid', () => {
    expect(decimalFromCcxt(0.1 + 0.2, gridOf('0.01'))).toBe('0.3');
    expect(decimalFromCcxt(0.1 + 0.2, gridOf('0.00001'))).toBe('0.3');
    expect(decimalFromCcxt(1.0000000000000002, gridOf('1'))).toBe('1');
    expect(decimalFromCcxt(60012.120000000003, gridOf('0.01'))).toBe('60012.12');
    expect(decimalFromCcxt(0.30000000000000004)).toBe('0.3');
  });

  it('keeps off-grid values (an average between ticks) at 15 significant digits', () => {
    expect(decimalFromCcxt(100.005, gridOf('0.01'))).toBe('100.005');
    expect(decimalFromCcxt(60012.12500000001, gridOf('0.01'))).toBe('60012.125');
    expect(decimalFromCcxt(1 / 3)).toBe('0.333333333333333');
    expect(decimalFromCcxt(1e-8)).toBe('0.00000001');
    expect(decimalFromCcxt(0)).toBe('0');
    expect(decimalFromCcxt(-0.1 - 0.2)).toBe('-0.3');
  });

  it('parses strings exactly', () => {
    expect(decimalFromCcxt('0.30000000000000004')).toBe('0.30000000000000004');
    expect(decimalFromCcxt('1.50')).toBe('1.5');
  });

  it('refuses NaN and infinities', () => {
    expect(() => decimalFromCcxt(Number.NaN)).toThrow(RangeError);
    expect(() => decimalFromCcxt(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it('converts precision modes: TICK_SIZE and DECIMAL_PLACES to an increment, SIGNIFICANT_DIGITS to none', () => {
    expect(incrementFromPrecision(0.01, PRECISION_MODE.TICK_SIZE)).toBe('0.01');
    expect(incrementFromPrecision(1e-8, PRECISION_MODE.TICK_SIZE)).toBe('0.00000001');
    expect(incrementFromPrecision(5, PRECISION_MODE.TICK_SIZE)).toBe('5');
    expect(incrementFromPrecision(2, PRECISION_MODE.DECIMAL_PLACES)).toBe('0.01');
    expect(incrementFromPrecision(0, PRECISION_MODE.DECIMAL_PLACES)).toBe('1');
    expect(incrementFromPrecision(8, PRECISION_MODE.DECIMAL_PLACES)).toBe('0.00000001');
    expect(incrementFromPrecision(5, PRECISION_MODE.SIGNIFICANT_DIGITS)).toBeNull();
    expect(incrementFromPrecision(undefined, PRECISION_MODE.TICK_SIZE)).toBeNull();
  });

  it('numberForCcxt refuses decimals a double would change', () => {
    expect(numberForCcxt('0.1')).toBe(0.1);
    expect(numberForCcxt('60012.12')).toBe(60012.12);
    expect(() => numberForCcxt('0.12345678901234567')).toThrow(/15 significant/);
    expect(onGrid('0.3', '0.1')).toBe(true);
    expect(onGrid('0.35', '0.1')).toBe(false);
  });
});

describe('markets → instrument rules', () => {
  it('reads tick, step, min/max qty and min notional (TICK_SIZE mode)', () => {
    expect(btc.rules).toEqual({
      instrument_key: BTC_SPOT,
      tick_size: '0.01',
      step_size: '0.00001',
      min_qty: '0.00001',
      max_qty: '9000',
      min_notional: '5',
      contract_size: '1',
    });
    expect(perp.rules).toMatchObject({ tick_size: '0.1', step_size: '0.001', min_notional: '100' });
    expect(perp.contract).toBe(true);
    expect(perp.contract_size).toBe('1');
    expect(perp.settle).toBe('USDT');
  });

  it('reports the contract size the ccxt amount counts (OKX contracts; Deribit amounts are already in USD)', () => {
    const okx = marketInfoOf({ ...PERP_MARKET, contractSize: 0.01 }, 'OKX:PERPETUAL:BTC-USDT@LIN', 4);
    expect(okx.rules.contract_size).toBe('0.01');
    const deribit = marketInfoOf(
      { ...PERP_MARKET, contractSize: 10 },
      'DERIBIT:PERPETUAL:BTC-USD@INV',
      4,
      false,
    );
    expect(deribit.rules.contract_size).toBe('1');
    expect(deribit.contract_size).toBe('10');
  });

  it('converts DECIMAL_PLACES precision', () => {
    const m = marketInfoOf(
      { ...BTC_MARKET, precision: { amount: 5, price: 2 } },
      BTC_SPOT,
      PRECISION_MODE.DECIMAL_PLACES,
    );
    expect(m.rules).toMatchObject({ tick_size: '0.01', step_size: '0.00001' });
  });

  it('refuses a market without a symbol', () => {
    expect(() => marketInfoOf({ ...BTC_MARKET, symbol: undefined }, BTC_SPOT, 4)).toThrow();
  });
});

describe('orders', () => {
  it('maps ccxt statuses', () => {
    expect(mapOrderStatus('open', '0')).toBe('NEW');
    expect(mapOrderStatus('open', '0.5')).toBe('PARTIALLY_FILLED');
    expect(mapOrderStatus('closed', '1')).toBe('FILLED');
    expect(mapOrderStatus('canceled', '0')).toBe('CANCELED');
    expect(mapOrderStatus('cancelled', '0.2')).toBe('CANCELED');
    expect(mapOrderStatus('rejected', '0')).toBe('REJECTED');
    expect(mapOrderStatus('expired', '0')).toBe('EXPIRED');
    expect(mapOrderStatus(undefined, '0')).toBeNull();
    expect(mapOrderStatus('weird', '0')).toBeNull();
  });

  const ORDER = {
    info: { orderId: 1 },
    id: '12345',
    clientOrderId: 'ord_0123456789abcdef0123456789abcdef',
    timestamp: 1_700_000_000_000,
    lastTradeTimestamp: 1_700_000_000_500,
    lastUpdateTimestamp: 1_700_000_001_000,
    symbol: 'BTC/USDT',
    type: 'limit',
    side: 'buy',
    price: 60000.1,
    amount: 0.30000000000000004,
    filled: 0.1 + 0.2,
    remaining: 0,
    average: 60000.10000000001,
    status: 'closed',
    fee: undefined,
    trades: [],
  };

  it('parses a full order with float noise into exact decimals and ns time', () => {
    const p = parseOrder(ORDER, CTX);
    expect(p.complete).toBe(true);
    expect(p.state).toEqual({
      client_order_id: 'ord_0123456789abcdef0123456789abcdef',
      venue_order_id: '12345',
      instrument_key: BTC_SPOT,
      side: 'BUY',
      status: 'FILLED',
      quantity: '0.3',
      filled_quantity: '0.3',
      avg_price: '60000.1',
      ts_event: 1_700_000_001_000_000_000n,
    });
  });

  it('open with a fill is PARTIALLY_FILLED; no average price is null', () => {
    const p = parseOrder({ ...ORDER, status: 'open', filled: 0.1, remaining: 0.2, average: undefined }, CTX);
    expect(p.state.status).toBe('PARTIALLY_FILLED');
    expect(p.state.avg_price).toBeNull();
    expect(p.state.filled_quantity).toBe('0.1');
  });

  it('maps a compact client id back to ours, and a missing one through the venue order id', () => {
    const okxId = venueClientIdOf('okx', 'ord_0123456789abcdef0123456789abcdef').id;
    expect(parseOrder({ ...ORDER, clientOrderId: okxId }, CTX).state.client_order_id).toBe(
      'ord_0123456789abcdef0123456789abcdef',
    );
    expect(parseOrder({ ...ORDER, id: '77', clientOrderId: undefined }, CTX).state.client_order_id).toBe(
      'ord_77',
    );
    expect(parseOrder({ ...ORDER, id: '78', clientOrderId: undefined }, CTX).state.client_order_id).toBe('');
  });

  it('an ids-only acknowledgement is incomplete and takes what it lacks from the fallback', () => {
    const p = parseOrder({ id: '9', clientOrderId: 'c1', info: {}, symbol: 'BTC/USDT' }, CTX, {
      side: 'SELL',
      quantity: '0.5',
    });
    expect(p.complete).toBe(false);
    expect(p.state).toMatchObject({
      venue_order_id: '9',
      side: 'SELL',
      quantity: '0.5',
      status: 'NEW',
      ts_event: NOW,
    });
  });

  it('derives quantity from filled + remaining when amount is missing', () => {
    const p = parseOrder({ ...ORDER, amount: undefined, filled: 0.1, remaining: 0.2, status: 'open' }, CTX);
    expect(p.state.quantity).toBe('0.3');
  });

  it('keeps the reject reason', () => {
    const p = parseOrder(
      { ...ORDER, status: 'rejected', filled: 0, info: { rejectReason: 'INSUFFICIENT' } },
      CTX,
    );
    expect(p.state.status).toBe('REJECTED');
    expect(p.state.reason).toBe('INSUFFICIENT');
  });

  it('rejects payloads that are not orders', () => {
    expect(() => parseOrder({ nope: true }, CTX)).toThrow(PayloadError);
    expect(() => parseOrder({ ...ORDER, side: 'long' }, CTX)).toThrow(/side/);
    expect(() => parseOrder({ ...ORDER, amount: 'lots' }, CTX)).toThrow(PayloadError);
  });
});

describe('trades', () => {
  const TRADE = {
    info: {},
    id: '8',
    order: '77',
    timestamp: 1_700_000_000_123,
    symbol: 'BTC/USDT',
    type: 'market',
    side: 'buy',
    takerOrMaker: 'taker',
    price: 60012.120000000003,
    amount: 0.1 + 0.2,
    cost: 18003.636,
    fee: { cost: 0.1 * 0.001 * 6, currency: 'USDT' },
    fees: [],
  };

  it('parses our trade: exact decimals, fee, liquidity, client id via the order id', () => {
    expect(parseMyTrade(TRADE, CTX)).toEqual({
      trade_id: '8',
      venue_order_id: '77',
      client_order_id: 'ord_77',
      instrument_key: BTC_SPOT,
      side: 'BUY',
      quantity: '0.3',
      price: '60012.12',
      fee: '0.0006',
      fee_currency: 'USDT',
      liquidity: 'TAKER',
      ts_event: 1_700_000_000_123_000_000n,
    });
  });

  it('maker trades, fees from the fees list, missing fee → 0 in the settle/quote currency', () => {
    expect(parseMyTrade({ ...TRADE, takerOrMaker: 'maker' }, CTX).liquidity).toBe('MAKER');
    expect(
      parseMyTrade({ ...TRADE, fee: undefined, fees: [{ cost: 0.5, currency: 'BNB' }] }, CTX),
    ).toMatchObject({ fee: '0.5', fee_currency: 'BNB' });
    expect(parseMyTrade({ ...TRADE, fee: undefined, order: undefined }, CTX)).toMatchObject({
      fee: '0',
      fee_currency: 'USDT',
      client_order_id: null,
      venue_order_id: '',
    });
  });

  it('a trade without an id is refused (consumers de-duplicate by it)', () => {
    expect(() => parseMyTrade({ ...TRADE, id: undefined }, CTX)).toThrow(/without an id/);
  });

  it('parses public prints', () => {
    expect(parsePublicTrade({ ...TRADE, side: 'sell' }, CTX)).toEqual({
      instrument_key: BTC_SPOT,
      price: '60012.12',
      size: '0.3',
      side: 'SELL',
      ts_event: 1_700_000_000_123_000_000n,
    });
  });
});

describe('balances, positions, books', () => {
  it('parses balances, leaving out empty assets and filling a missing total', () => {
    const raw = {
      info: {},
      BTC: { free: 0.30000000000000004, used: 0.1, total: 0.4 },
      free: { BTC: 0.30000000000000004, USDT: 1000, ETH: 0, XRP: 2 },
      used: { BTC: 0.1, USDT: 0, ETH: 0, XRP: 1 },
      total: { BTC: 0.4, USDT: 1000, ETH: 0 },
    };
    expect(parseBalances(raw)).toEqual([
      { asset: 'BTC', free: '0.3', total: '0.4' },
      { asset: 'USDT', free: '1000', total: '1000' },
      { asset: 'XRP', free: '2', total: '3' },
    ]);
  });

  it('a balance payload without amounts is an error, never flat', () => {
    expect(() => parseBalances({ info: {} })).toThrow(PayloadError);
    expect(() => parseBalances('nope')).toThrow(PayloadError);
    expect(parseBalances({ free: {}, total: {} })).toEqual([]);
  });

  it('parses positions signed by side and nets hedge-mode legs', () => {
    const raw = [
      { symbol: 'BTC/USDT:USDT', contracts: 0.1 + 0.2, side: 'long', entryPrice: 60000.1 },
      { symbol: 'ETH/USDT:USDT', contracts: 2, side: 'short', entryPrice: 3000 },
      { symbol: 'ETH/USDT:USDT', contracts: 0.5, side: 'long', entryPrice: 3100 },
      { symbol: 'SOL/USDT:USDT', contracts: 0, side: 'long', entryPrice: undefined },
    ];
    const ctx = ctxWith({ 'BTC/USDT:USDT': perp });
    expect(
      parsePositions(
        raw.map((p) => ({ ...p, info: {} })),
        {
          ...ctx,
          instrumentKey: (s) => fromCcxtSymbol('BINANCE-FUTURES', s),
        },
      ),
    ).toEqual([
      { instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', quantity: '0.3', entry_price: '60000.1' },
      { instrument_key: 'BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN', quantity: '-1.5', entry_price: null },
    ]);
  });

  it('parses an order book, cut to depth, on the grid', () => {
    const raw = {
      symbol: 'BTC/USDT',
      bids: [
        [60000.1 + 0.2, 0.1 + 0.2],
        [60000.2, 1],
        [60000.1, 2],
      ],
      asks: [[60000.5, 0.5, 3]],
      timestamp: 1_700_000_000_000,
      nonce: 5,
    };
    expect(parseBook(raw, BTC_SPOT, btc, 2, CTX)).toEqual({
      instrument_key: BTC_SPOT,
      bids: [
        { price: '60000.3', size: '0.3' },
        { price: '60000.2', size: '1' },
      ],
      asks: [{ price: '60000.5', size: '0.5' }],
      ts_event: 1_700_000_000_000_000_000n,
    });
    expect(parseBook({ bids: [], asks: [], timestamp: undefined }, BTC_SPOT, btc, 5, CTX).ts_event).toBe(NOW);
  });
});

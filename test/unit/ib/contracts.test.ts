import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fromIbContract,
  type IbContract,
  rulesFromContractDetails,
  toIbContract,
} from '../../../infra/ib/contracts.ts';

describe('canonical ids ↔ IB contracts', () => {
  it('an ETF on SMART with its primary exchange', () => {
    expect(toIbContract('IBKR:STOCK:SPY-USD@ARCA')).toEqual({
      secType: 'STK',
      symbol: 'SPY',
      currency: 'USD',
      exchange: 'SMART',
      primaryExch: 'ARCA',
    });
    expect(
      fromIbContract({
        secType: 'STK',
        symbol: 'SPY',
        currency: 'USD',
        exchange: 'SMART',
        primaryExch: 'ARCA',
      }),
    ).toBe('IBKR:STOCK:SPY-USD@ARCA');
  });

  it('a class share: "BRK B" at IB is BRK.B in the id', () => {
    expect(toIbContract('IBKR:STOCK:BRK.B-USD@NYSE').symbol).toBe('BRK B');
    expect(
      fromIbContract({
        secType: 'STK',
        symbol: 'BRK B',
        currency: 'USD',
        exchange: 'SMART',
        primaryExch: 'NYSE',
      }),
    ).toBe('IBKR:STOCK:BRK.B-USD@NYSE');
  });

  it('a future on its listing exchange', () => {
    expect(toIbContract('IBKR:FUTURE:ES-USD-20261218@CME')).toEqual({
      secType: 'FUT',
      symbol: 'ES',
      currency: 'USD',
      exchange: 'CME',
      lastTradeDateOrContractMonth: '20261218',
    });
  });

  it('refuses ids it cannot map, naming the part', () => {
    expect(() => toIbContract('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).toThrow(/venue "BINANCE-SPOT" is not IBKR/);
    expect(() => toIbContract('IBKR:FUTURE:ES-USD-20261218@LIN')).toThrow(/listing exchange/);
    expect(() => toIbContract('IBKR:PERPETUAL:BTC-USD@INV')).toThrow(/PERPETUAL is not traded at IBKR/);
    expect(() =>
      fromIbContract({
        secType: 'FUT',
        symbol: 'ES',
        currency: 'USD',
        exchange: 'CME',
        lastTradeDateOrContractMonth: '202612',
      }),
    ).toThrow(/YYYYMMDD/);
  });

  it('round-trips every stock and future contract', () => {
    const sym = fc.array(fc.stringMatching(/^[A-Z0-9]{1,4}$/), { minLength: 1, maxLength: 2 });
    const exch = fc.constantFrom('ARCA', 'NASDAQ', 'NYSE', 'CME', 'CBOT', 'EUREX');
    const cur = fc.constantFrom('USD', 'EUR', 'CHF');
    const stk = fc.tuple(sym, cur, exch).map(
      ([s, c, e]): IbContract => ({
        secType: 'STK',
        symbol: s.join(' '),
        currency: c,
        exchange: 'SMART',
        primaryExch: e,
      }),
    );
    const fut = fc
      .tuple(
        fc.stringMatching(/^[A-Z0-9]{1,4}$/),
        cur,
        exch,
        fc.integer({ min: 2000, max: 2099 }),
        fc.integer({ min: 1, max: 12 }),
      )
      .map(
        ([s, c, e, y, m]): IbContract => ({
          secType: 'FUT',
          symbol: s,
          currency: c,
          exchange: e,
          lastTradeDateOrContractMonth: `${y}${String(m).padStart(2, '0')}15`,
        }),
      );
    fc.assert(
      fc.property(fc.oneof(stk, fut), (c) => {
        if (c.symbol === c.currency) return;
        const id = fromIbContract(c);
        expect(toIbContract(id)).toEqual(c);
      }),
      { numRuns: 300 },
    );
  });
});

describe('rules from contract details', () => {
  it('tick, step, min size and the multiplier as contract size', () => {
    expect(
      rulesFromContractDetails('IBKR:FUTURE:ES-USD-20261218@CME', {
        minTick: 0.25,
        minSize: '1',
        sizeIncrement: '1',
        multiplier: '50',
      }),
    ).toEqual({
      instrument_key: 'IBKR:FUTURE:ES-USD-20261218@CME',
      tick_size: '0.25',
      step_size: '1',
      min_qty: '1',
      max_qty: null,
      min_notional: null,
      contract_size: '50',
    });
    expect(
      rulesFromContractDetails('IBKR:STOCK:SPY-USD@ARCA', {
        minTick: 0.01,
        minSize: '0.0001',
        sizeIncrement: '0.0001',
        multiplier: '',
      }),
    ).toMatchObject({
      tick_size: '0.01',
      step_size: '0.0001',
      min_qty: '0.0001',
      contract_size: '1',
    });
  });
});

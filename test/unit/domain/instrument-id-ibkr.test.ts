import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valuationOf } from '../../../shared/domain/instrument.ts';
import {
  canonicalInstrumentId,
  formatInstrumentId,
  parseInstrumentId,
  parseInstrumentIdOrThrow,
  settlementOf,
  toCcxtSymbol,
} from '../../../shared/domain/instrument-id.ts';

describe('IBKR instruments in the canonical id grammar', () => {
  it('stocks and ETFs: SYMBOL-CURRENCY with the primary exchange', () => {
    expect(parseInstrumentIdOrThrow('IBKR:STOCK:SPY-USD@ARCA')).toEqual({
      asset_class: null,
      venue: 'IBKR',
      instrument_type: 'STOCK',
      base: 'SPY',
      quote: 'USD',
      chain: 'ARCA',
    });
    expect(parseInstrumentIdOrThrow('EQUITY:IBKR:STOCK:BRK.B-USD@NYSE')).toMatchObject({
      asset_class: 'EQUITY',
      base: 'BRK.B',
      chain: 'NYSE',
    });
    expect(parseInstrumentIdOrThrow('IBKR:STOCK:AAPL-USD')).toMatchObject({ chain: null });
    expect(settlementOf('IBKR:STOCK:SPY-USD@ARCA')).toBe('SPOT');
    expect(valuationOf('IBKR:STOCK:SPY-USD@ARCA')).toBe('LINEAR');
  });

  it('exchange-listed futures: the listing exchange as the tag, linear', () => {
    const p = parseInstrumentIdOrThrow('IBKR:FUTURE:ES-USD-20261218@CME');
    expect(p).toEqual({
      asset_class: null,
      venue: 'IBKR',
      instrument_type: 'FUTURE',
      base: 'ES',
      quote: 'USD',
      expiry: '20261218',
      chain: null,
      listing_exchange: 'CME',
    });
    // Without an exchange a USD-quoted future is inverse (crypto default); with one it is linear.
    expect(settlementOf('IBKR:FUTURE:ES-USD-20261218@CME')).toBe('LINEAR');
    expect(valuationOf('IBKR:FUTURE:ES-USD-20261218@CME')).toBe('LINEAR');
    expect(canonicalInstrumentId('IBKR:FUTURE:ES-USD-20261218@CME')).toBe('IBKR:FUTURE:ES-USD-20261218@CME');
    // Crypto futures keep their meaning.
    expect(parseInstrumentIdOrThrow('DERIBIT:FUTURE:BTC-USD-20241227')).not.toHaveProperty(
      'listing_exchange',
    );
    expect(settlementOf('DERIBIT:FUTURE:BTC-USD-20241227')).toBe('INVERSE');
  });

  it('refuses malformed stock ids, naming the part', () => {
    const bad = (s: string) => {
      const r = parseInstrumentId(s);
      return r.success ? [] : r.error.issues;
    };
    expect(bad('IBKR:STOCK:SPY-USD@LIN')).toEqual([
      {
        path: 'chain',
        message:
          'primary exchange "LIN" must be uppercase letters, digits or \'_\' starting with a letter (not LIN/INV)',
      },
    ]);
    expect(bad('IBKR:STOCK:brk.b-USD')[0]).toMatchObject({ path: 'payload.base' });
    expect(bad('IBKR:STOCK:BRK..B-USD')[0]).toMatchObject({ path: 'payload.base' });
    expect(bad('IBKR:STOCK:SPY-USD-ARCA')[0]).toMatchObject({
      path: 'payload',
      message: 'payload "SPY-USD-ARCA" must be SYMBOL-CURRENCY for STOCK',
    });
    expect(bad('IBKR:STOCK:SPY-USD@arca')[0]).toMatchObject({ path: 'chain' });
  });

  it('has no ccxt symbol', () => {
    expect(() => toCcxtSymbol('IBKR:STOCK:SPY-USD@ARCA')).toThrow(/not traded through ccxt/);
    expect(() => toCcxtSymbol('IBKR:FUTURE:ES-USD-20261218@CME')).toThrow(/not traded through ccxt/);
  });

  it('round-trips: format(parse(s)) === s and parse(format(p)) deep-equals p', () => {
    const sym = fc
      .array(fc.stringMatching(/^[A-Z0-9]{1,5}$/), { minLength: 1, maxLength: 2 })
      .map((parts) => parts.join('.'));
    const exch = fc.constantFrom('ARCA', 'NASDAQ', 'NYSE', 'CME', 'CBOT', 'GLOBEX', 'EUREX', 'LSE_ETF');
    const cur = fc.constantFrom('USD', 'EUR', 'GBP', 'CHF');
    const day = fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10).replaceAll('-', ''));
    const stock = fc
      .tuple(
        fc.option(fc.constantFrom('EQUITY', 'ETF'), { nil: null }),
        sym,
        cur,
        fc.option(exch, { nil: null }),
      )
      .filter(([, s, c]) => s !== c)
      .map(
        ([ac, s, c, e]) => `${ac === null ? '' : `${ac}:`}IBKR:STOCK:${s}-${c}${e === null ? '' : `@${e}`}`,
      );
    const future = fc
      .tuple(fc.stringMatching(/^[A-Z0-9]{1,4}$/), cur, day, exch)
      .filter(([s, c]) => s !== c)
      .map(([s, c, d, e]) => `IBKR:FUTURE:${s}-${c}-${d}@${e}`);
    fc.assert(
      fc.property(fc.oneof(stock, future), (id) => {
        const p = parseInstrumentIdOrThrow(id);
        expect(formatInstrumentId(p)).toBe(id);
        expect(parseInstrumentIdOrThrow(formatInstrumentId(p))).toEqual(p);
        expect(canonicalInstrumentId(id)).toBe(id);
      }),
      { numRuns: 500 },
    );
  });
});

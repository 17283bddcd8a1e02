import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../../shared/domain/errors.ts';
import {
  canonicalInstrumentId,
  formatInstrumentId,
  fromCcxtSymbol,
  INSTRUMENT_TYPES,
  InstrumentKeySchema,
  isInstrumentId,
  type ParsedInstrumentId,
  parseCcxtSymbol,
  parseInstrumentId,
  parseInstrumentIdOrThrow,
  payloadOf,
  sameInstrument,
  settlementAssetOf,
  settlementOf,
  toCcxtSymbol,
  venueOf,
} from '../../../shared/domain/instrument-id.ts';

/** Issues of a failed parse, as [path, message] pairs. */
function issuesOf(s: string): Array<[string, string]> {
  const r = parseInstrumentId(s);
  if (r.success) throw new Error(`expected ${s} to be invalid`);
  expect(r.error).toBeInstanceOf(ValidationError);
  expect(r.error.code).toBe('INVALID_INSTRUMENT_ID');
  return r.error.issues.map((i) => [i.path, i.message]);
}

function ccxtIssuesOf(venue: string, symbol: string, opts = {}): Array<[string, string]> {
  const r = parseCcxtSymbol(venue, symbol, opts);
  if (r.success) throw new Error(`expected ${symbol} to be invalid`);
  expect(r.error.code).toBe('INVALID_CCXT_SYMBOL');
  return r.error.issues.map((i) => [i.path, i.message]);
}

describe('parseInstrumentId: SPEC examples', () => {
  it('parses a spot pair', () => {
    expect(parseInstrumentIdOrThrow('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).toEqual({
      asset_class: null,
      venue: 'BINANCE-SPOT',
      instrument_type: 'SPOT_PAIR',
      base: 'BTC',
      quote: 'USDT',
      chain: null,
    });
  });

  it('parses a linear perpetual', () => {
    expect(parseInstrumentIdOrThrow('BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN')).toEqual({
      asset_class: null,
      venue: 'BINANCE-FUTURES',
      instrument_type: 'PERPETUAL',
      base: 'BTC',
      quote: 'USDT',
      chain: 'LIN',
    });
  });

  it('parses an inverse perpetual', () => {
    expect(parseInstrumentIdOrThrow('DERIBIT:PERPETUAL:BTC-USD@INV')).toEqual({
      asset_class: null,
      venue: 'DERIBIT',
      instrument_type: 'PERPETUAL',
      base: 'BTC',
      quote: 'USD',
      chain: 'INV',
    });
  });

  it('parses an option', () => {
    expect(parseInstrumentIdOrThrow('DERIBIT:OPTION:BTC-USD-50000-20241231-C')).toEqual({
      asset_class: null,
      venue: 'DERIBIT',
      instrument_type: 'OPTION',
      base: 'BTC',
      quote: 'USD',
      strike: '50000',
      expiry: '20241231',
      option_type: 'C',
      chain: null,
    });
  });

  it('parses a dated future, an asset class and a spot chain tag', () => {
    expect(parseInstrumentIdOrThrow('BINANCE-FUTURES:FUTURE:ETH-USDT-20240329@LIN')).toEqual({
      asset_class: null,
      venue: 'BINANCE-FUTURES',
      instrument_type: 'FUTURE',
      base: 'ETH',
      quote: 'USDT',
      expiry: '20240329',
      chain: 'LIN',
    });
    expect(parseInstrumentIdOrThrow('CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).toEqual({
      asset_class: 'CRYPTO',
      venue: 'BINANCE-SPOT',
      instrument_type: 'SPOT_PAIR',
      base: 'BTC',
      quote: 'USDT',
      chain: null,
    });
    expect(parseInstrumentIdOrThrow('UNISWAP_V3:SPOT_PAIR:USDC-WETH@ETHEREUM')).toMatchObject({
      venue: 'UNISWAP_V3',
      base: 'USDC',
      quote: 'WETH',
      chain: 'ETHEREUM',
    });
    expect(parseInstrumentIdOrThrow('OKX:OPTION:ETH-USD-0.5-20250101-P@LIN')).toMatchObject({
      strike: '0.5',
      option_type: 'P',
      chain: 'LIN',
    });
  });

  it('formats every example back to itself', () => {
    for (const s of [
      'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
      'DERIBIT:PERPETUAL:BTC-USD@INV',
      'DERIBIT:OPTION:BTC-USD-50000-20241231-C',
      'CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      'UNISWAP_V3:SPOT_PAIR:USDC-WETH@ETHEREUM',
      'OKX:OPTION:ETH-USD-0.5-20250101-P@LIN',
      'BINANCE-SPOT:SPOT_PAIR:1000PEPE-USDT',
    ]) {
      expect(formatInstrumentId(parseInstrumentIdOrThrow(s))).toBe(s);
      expect(isInstrumentId(s)).toBe(true);
    }
  });
});

describe('parseInstrumentId: errors name the wrong part', () => {
  it('rejects an unknown instrument type with the list of allowed ones', () => {
    expect(issuesOf('BINANCE:PERP:BTC-USDT')).toEqual([
      ['instrument_type', 'instrument type "PERP" is not one of SPOT_PAIR, PERPETUAL, FUTURE, OPTION, STOCK'],
    ]);
  });

  it('rejects a bad venue', () => {
    expect(issuesOf('binance:SPOT_PAIR:BTC-USDT')).toEqual([
      [
        'venue',
        `venue "binance" must be uppercase letters, digits, '-' or '_' (starting and ending with a letter or digit)`,
      ],
    ]);
    expect(issuesOf('BINANCE-:SPOT_PAIR:BTC-USDT')[0]?.[0]).toBe('venue');
    expect(issuesOf(':SPOT_PAIR:BTC-USDT')[0]?.[0]).toBe('venue');
  });

  it('rejects a bad asset class', () => {
    expect(issuesOf('crypto:BINANCE:SPOT_PAIR:BTC-USDT')).toEqual([
      ['asset_class', `asset class "crypto" must be uppercase letters, digits or '_' starting with a letter`],
    ]);
  });

  it('rejects the wrong number of parts', () => {
    expect(issuesOf('BTC-USDT')).toEqual([
      [
        'id',
        `instrument id "BTC-USDT" must be [ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@CHAIN] (found 1 ':'-separated parts)`,
      ],
    ]);
    expect(issuesOf('A:B:C:D:E')[0]?.[0]).toBe('id');
    expect(issuesOf('')[0]?.[0]).toBe('id');
  });

  it('rejects bad payload layouts per type', () => {
    expect(issuesOf('BINANCE:SPOT_PAIR:BTCUSDT')).toEqual([
      ['payload', 'payload "BTCUSDT" must be BASE-QUOTE for SPOT_PAIR'],
    ]);
    expect(issuesOf('BINANCE:FUTURE:BTC-USDT')).toEqual([
      ['payload', 'payload "BTC-USDT" must be BASE-QUOTE-YYYYMMDD for FUTURE'],
    ]);
    expect(issuesOf('DERIBIT:OPTION:BTC-USD-50000-20241231')).toEqual([
      ['payload', 'payload "BTC-USD-50000-20241231" must be BASE-QUOTE-STRIKE-YYYYMMDD-C|P for OPTION'],
    ]);
    expect(issuesOf('DERIBIT:OPTION:BTC-USD--50000-20241231-C')[0]?.[0]).toBe('payload');
  });

  it('rejects bad assets', () => {
    expect(issuesOf('BINANCE:SPOT_PAIR:btc-USDT')).toEqual([
      ['payload.base', 'base asset "btc" must be uppercase letters and digits'],
    ]);
    expect(issuesOf('BINANCE:SPOT_PAIR:BTC-')).toEqual([['payload.quote', 'quote asset is empty']]);
    expect(issuesOf('BINANCE:SPOT_PAIR:BTC-BTC')).toEqual([
      ['payload.quote', 'quote asset "BTC" must differ from the base asset'],
    ]);
  });

  it('rejects dates that are not real calendar dates', () => {
    expect(issuesOf('BINANCE:FUTURE:BTC-USDT-20230229')).toEqual([
      ['payload.expiry', 'expiry "20230229" is not a real calendar date (YYYYMMDD, years 1970-9999)'],
    ]);
    for (const d of ['20241301', '20240431', '20240100', '20241200', '19691231']) {
      expect(issuesOf(`BINANCE:FUTURE:BTC-USDT-${d}`)).toEqual([
        ['payload.expiry', `expiry "${d}" is not a real calendar date (YYYYMMDD, years 1970-9999)`],
      ]);
    }
    expect(issuesOf('BINANCE:FUTURE:BTC-USDT-241231')).toEqual([
      ['payload.expiry', 'expiry "241231" must be a date written YYYYMMDD'],
    ]);
    // Leap days: 2024 and 2000 are leap years, 1900 is not (and is before 1970 anyway), 2100 is not.
    expect(isInstrumentId('BINANCE:FUTURE:BTC-USDT-20240229')).toBe(true);
    expect(isInstrumentId('BINANCE:FUTURE:BTC-USDT-20000229')).toBe(true);
    expect(isInstrumentId('BINANCE:FUTURE:BTC-USDT-21000229')).toBe(false);
    expect(isInstrumentId('BINANCE:FUTURE:BTC-USDT-20240430')).toBe(true);
  });

  it('rejects strikes that are not positive canonical decimals', () => {
    for (const strike of ['50000.0', '050000', '1e3', 'ABC', '.5', '5.']) {
      const issues = issuesOf(`DERIBIT:OPTION:BTC-USD-${strike}-20241231-C`);
      expect(issues).toHaveLength(1);
      expect(issues[0]?.[0]).toBe('payload.strike');
      expect(issues[0]?.[1]).toContain(`strike "${strike}" must be a positive decimal in canonical form`);
    }
    expect(issuesOf('DERIBIT:OPTION:BTC-USD-0-20241231-C')).toEqual([
      ['payload.strike', 'strike "0" must be greater than zero'],
    ]);
    expect(isInstrumentId('DERIBIT:OPTION:BTC-USD-0.05-20241231-C')).toBe(true);
    expect(isInstrumentId('DERIBIT:OPTION:BTC-USD-1250.25-20241231-C')).toBe(true);
  });

  it('rejects a bad option type', () => {
    expect(issuesOf('DERIBIT:OPTION:BTC-USD-50000-20241231-CALL')).toEqual([
      ['payload.option_type', 'option type "CALL" is not one of C (call), P (put)'],
    ]);
  });

  it('rejects bad chains', () => {
    expect(issuesOf('BINANCE:PERPETUAL:BTC-USDT@LINEAR')).toEqual([
      ['chain', 'chain "LINEAR" is not one of LIN (linear), INV (inverse) for a PERPETUAL'],
    ]);
    expect(issuesOf('BINANCE:SPOT_PAIR:BTC-USDT@LIN')).toEqual([
      ['chain', 'chain "LIN" (linear/inverse settlement) applies only to PERPETUAL, FUTURE and OPTION'],
    ]);
    expect(issuesOf('UNISWAP:SPOT_PAIR:USDC-WETH@ethereum')[0]?.[0]).toBe('chain');
    expect(issuesOf('UNISWAP:SPOT_PAIR:USDC-WETH@')[0]?.[0]).toBe('chain');
    expect(issuesOf('BINANCE:PERPETUAL:BTC-USDT@LIN@INV')).toEqual([
      [
        'chain',
        `instrument id "BINANCE:PERPETUAL:BTC-USDT@LIN@INV" has more than one '@' (only one @CHAIN suffix)`,
      ],
    ]);
  });

  it('reports every wrong part at once', () => {
    expect(issuesOf('binance:OPTION:btc-USD-0-20241332-X@FOO').map(([p]) => p)).toEqual([
      'venue',
      'chain',
      'payload.base',
      'payload.strike',
      'payload.expiry',
      'payload.option_type',
    ]);
  });

  it('parseInstrumentIdOrThrow throws the ValidationError', () => {
    expect(() => parseInstrumentIdOrThrow('X:PERP:BTC-USDT')).toThrow(ValidationError);
    expect(() => parseInstrumentIdOrThrow('X:PERP:BTC-USDT')).toThrow(
      'instrument_type: instrument type "PERP" is not one of SPOT_PAIR, PERPETUAL, FUTURE, OPTION, STOCK',
    );
  });
});

describe('formatInstrumentId', () => {
  it('refuses a hand-built object that does not make a valid id', () => {
    const bad: ParsedInstrumentId = {
      asset_class: null,
      venue: 'binance',
      instrument_type: 'SPOT_PAIR',
      base: 'BTC',
      quote: 'USDT',
      chain: null,
    };
    expect(() => formatInstrumentId(bad)).toThrow(ValidationError);
    const dashInBase: ParsedInstrumentId = { ...bad, venue: 'BINANCE', base: 'BTC-X' };
    expect(() => formatInstrumentId(dashInBase)).toThrow('payload');
  });
});

// ---------------------------------------------------------------------------------------------
// Generators of valid ids
// ---------------------------------------------------------------------------------------------

const assetArb = fc.stringMatching(/^[A-Z0-9]{1,6}$/);
const venueArb = fc.stringMatching(/^[A-Z0-9](?:[A-Z0-9_-]{0,8}[A-Z0-9])?$/);
const assetClassArb = fc.option(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,7}$/), { nil: null });
const spotChainArb = fc.option(
  fc.stringMatching(/^[A-Z][A-Z0-9_]{0,9}$/).filter((c) => c !== 'LIN' && c !== 'INV'),
  { nil: null },
);
const derivChainArb = fc.constantFrom<'LIN' | 'INV' | null>('LIN', 'INV', null);

function dateArb(minYear: number, maxYear: number): fc.Arbitrary<string> {
  return fc
    .record({
      y: fc.integer({ min: minYear, max: maxYear }),
      m: fc.integer({ min: 1, max: 12 }),
      d: fc.integer({ min: 1, max: 31 }),
    })
    .map(({ y, m, d }) => {
      // Clamp the day into the month with the real calendar (UTC to avoid DST).
      const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
      const day = Math.min(d, last);
      return `${String(y).padStart(4, '0')}${String(m).padStart(2, '0')}${String(day).padStart(2, '0')}`;
    });
}

const strikeArb = fc
  .tuple(
    fc.integer({ min: 0, max: 10_000_000 }),
    fc.option(fc.stringMatching(/^\d{0,4}[1-9]$/), { nil: null }),
  )
  .filter(([i, f]) => i > 0 || f !== null)
  .map(([i, f]) => (f === null ? String(i) : `${i}.${f}`));

function parsedIdArb(minYear = 1970, maxYear = 9999): fc.Arbitrary<ParsedInstrumentId> {
  const pair = fc.tuple(assetArb, assetArb).filter(([b, q]) => b !== q);
  const common = fc.record({ asset_class: assetClassArb, venue: venueArb, pair });
  return fc.oneof(
    fc.record({ c: common, chain: spotChainArb }).map(
      ({ c, chain }): ParsedInstrumentId => ({
        asset_class: c.asset_class,
        venue: c.venue,
        instrument_type: 'SPOT_PAIR',
        base: c.pair[0],
        quote: c.pair[1],
        chain,
      }),
    ),
    fc.record({ c: common, chain: derivChainArb }).map(
      ({ c, chain }): ParsedInstrumentId => ({
        asset_class: c.asset_class,
        venue: c.venue,
        instrument_type: 'PERPETUAL',
        base: c.pair[0],
        quote: c.pair[1],
        chain,
      }),
    ),
    fc.record({ c: common, chain: derivChainArb, expiry: dateArb(minYear, maxYear) }).map(
      ({ c, chain, expiry }): ParsedInstrumentId => ({
        asset_class: c.asset_class,
        venue: c.venue,
        instrument_type: 'FUTURE',
        base: c.pair[0],
        quote: c.pair[1],
        expiry,
        chain,
      }),
    ),
    fc
      .record({
        c: common,
        chain: derivChainArb,
        expiry: dateArb(minYear, maxYear),
        strike: strikeArb,
        option_type: fc.constantFrom<'C' | 'P'>('C', 'P'),
      })
      .map(
        ({ c, chain, expiry, strike, option_type }): ParsedInstrumentId => ({
          asset_class: c.asset_class,
          venue: c.venue,
          instrument_type: 'OPTION',
          base: c.pair[0],
          quote: c.pair[1],
          strike,
          expiry,
          option_type,
          chain,
        }),
      ),
  );
}

describe('round trip (property)', () => {
  it('parse(format(p)) deep-equals p and format(parse(s)) === s', () => {
    fc.assert(
      fc.property(parsedIdArb(), (p) => {
        const s = formatInstrumentId(p);
        const back = parseInstrumentIdOrThrow(s);
        expect(back).toEqual(p);
        expect(formatInstrumentId(back)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('the canonical spelling is a fixed point and names the same instrument', () => {
    fc.assert(
      fc.property(parsedIdArb(), (p) => {
        const c = canonicalInstrumentId(p);
        expect(canonicalInstrumentId(c)).toBe(c);
        expect(sameInstrument(c, formatInstrumentId(p))).toBe(true);
        expect(settlementOf(c)).toBe(settlementOf(p));
      }),
      { numRuns: 300 },
    );
  });

  it('ccxt and back gives the canonical id', () => {
    fc.assert(
      fc.property(parsedIdArb(2000, 2099), (p) => {
        const opts = {
          ...(p.asset_class !== null ? { assetClass: p.asset_class } : {}),
          ...(p.instrument_type === 'SPOT_PAIR' && p.chain !== null ? { spotChain: p.chain } : {}),
        };
        expect(fromCcxtSymbol(p.venue, toCcxtSymbol(p), opts)).toBe(canonicalInstrumentId(p));
      }),
      { numRuns: 300 },
    );
  });
});

describe('settlementOf', () => {
  it.each([
    ['BINANCE-SPOT:SPOT_PAIR:BTC-USD', 'SPOT', 'USD'],
    ['UNISWAP:SPOT_PAIR:USDC-WETH@ETHEREUM', 'SPOT', 'WETH'],
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', 'LINEAR', 'USDT'],
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDT', 'LINEAR', 'USDT'],
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDC', 'LINEAR', 'USDC'],
    ['DERIBIT:PERPETUAL:BTC-USD@INV', 'INVERSE', 'BTC'],
    ['DERIBIT:PERPETUAL:BTC-USD', 'INVERSE', 'BTC'],
    ['KRAKEN-FUTURES:PERPETUAL:BTC-USD@LIN', 'LINEAR', 'USD'],
    ['BITMEX:PERPETUAL:ETH-USDT@INV', 'INVERSE', 'ETH'],
    ['DERIBIT:OPTION:BTC-USD-50000-20241231-C', 'INVERSE', 'BTC'],
    ['BINANCE-FUTURES:FUTURE:ETH-BTC-20240329', 'LINEAR', 'BTC'],
  ])('%s settles %s in %s', (id, settlement, asset) => {
    expect(settlementOf(id)).toBe(settlement);
    expect(settlementAssetOf(id)).toBe(asset);
  });
});

describe('canonicalInstrumentId / sameInstrument', () => {
  it('keeps SPEC examples as they are', () => {
    for (const s of [
      'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
      'DERIBIT:PERPETUAL:BTC-USD@INV',
      'DERIBIT:OPTION:BTC-USD-50000-20241231-C',
    ]) {
      expect(canonicalInstrumentId(s)).toBe(s);
    }
  });

  it('makes perpetuals explicit and drops redundant suffixes on futures and options', () => {
    expect(canonicalInstrumentId('BINANCE-FUTURES:PERPETUAL:BTC-USDT')).toBe(
      'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
    );
    expect(canonicalInstrumentId('DERIBIT:PERPETUAL:BTC-USD')).toBe('DERIBIT:PERPETUAL:BTC-USD@INV');
    expect(canonicalInstrumentId('DERIBIT:OPTION:BTC-USD-50000-20241231-C@INV')).toBe(
      'DERIBIT:OPTION:BTC-USD-50000-20241231-C',
    );
    expect(canonicalInstrumentId('DERIBIT:FUTURE:BTC-USDC-20241227@LIN')).toBe(
      'DERIBIT:FUTURE:BTC-USDC-20241227',
    );
    expect(canonicalInstrumentId('KRAKEN:FUTURE:BTC-USD-20241227@LIN')).toBe(
      'KRAKEN:FUTURE:BTC-USD-20241227@LIN',
    );
    expect(canonicalInstrumentId('BITMEX:OPTION:BTC-USDT-1-20241227-P@INV')).toBe(
      'BITMEX:OPTION:BTC-USDT-1-20241227-P@INV',
    );
  });

  it('compares spellings', () => {
    expect(
      sameInstrument('BINANCE-FUTURES:PERPETUAL:BTC-USDT', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN'),
    ).toBe(true);
    expect(sameInstrument('DERIBIT:PERPETUAL:BTC-USD', 'DERIBIT:PERPETUAL:BTC-USD@LIN')).toBe(false);
    expect(sameInstrument('CRYPTO:DERIBIT:PERPETUAL:BTC-USD', 'DERIBIT:PERPETUAL:BTC-USD')).toBe(false);
  });
});

describe('ccxt symbols', () => {
  it.each([
    ['BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BTC/USDT'],
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', 'BTC/USDT:USDT'],
    ['DERIBIT:PERPETUAL:BTC-USD@INV', 'BTC/USD:BTC'],
    ['DERIBIT:OPTION:BTC-USD-50000-20241231-C', 'BTC/USD:BTC-241231-50000-C'],
    ['BINANCE-FUTURES:FUTURE:BTC-USDT-20241231', 'BTC/USDT:USDT-241231'],
    ['DERIBIT:FUTURE:BTC-USD-20241227', 'BTC/USD:BTC-241227'],
    ['KRAKEN-FUTURES:PERPETUAL:BTC-USD@LIN', 'BTC/USD:USD'],
    ['BITMEX:PERPETUAL:ETH-USDT@INV', 'ETH/USDT:ETH'],
    ['DERIBIT:OPTION:ETH-USDC-2500.5-20250328-P', 'ETH/USDC:USDC-250328-2500.5-P'],
    ['OKX:OPTION:BTC-USD-60000-20250627-P@LIN', 'BTC/USD:USD-250627-60000-P'],
  ])('%s ⇄ %s', (id, symbol) => {
    expect(toCcxtSymbol(id)).toBe(symbol);
    expect(toCcxtSymbol(parseInstrumentIdOrThrow(id))).toBe(symbol);
    expect(fromCcxtSymbol(venueOf(id), symbol)).toBe(id);
  });

  it('gives the explicit-but-default perpetual suffix and leaves options bare', () => {
    expect(fromCcxtSymbol('BINANCE-FUTURES', 'BTC/USDT:USDT')).toBe('BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN');
    expect(fromCcxtSymbol('DERIBIT', 'BTC/USD:BTC')).toBe('DERIBIT:PERPETUAL:BTC-USD@INV');
    expect(fromCcxtSymbol('DERIBIT', 'BTC/USD:BTC-241231-50000-C')).toBe(
      'DERIBIT:OPTION:BTC-USD-50000-20241231-C',
    );
    // The unsuffixed perpetual converts to ccxt and back in its canonical (explicit) spelling.
    expect(fromCcxtSymbol('BINANCE-FUTURES', toCcxtSymbol('BINANCE-FUTURES:PERPETUAL:BTC-USDT'))).toBe(
      'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
    );
  });

  it('adds an asset class and a spot chain on request, dropping them going to ccxt', () => {
    expect(fromCcxtSymbol('BINANCE-SPOT', 'BTC/USDT', { assetClass: 'CRYPTO' })).toBe(
      'CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    );
    expect(fromCcxtSymbol('UNISWAP', 'USDC/WETH', { spotChain: 'ETHEREUM' })).toBe(
      'UNISWAP:SPOT_PAIR:USDC-WETH@ETHEREUM',
    );
    expect(toCcxtSymbol('CRYPTO:UNISWAP:SPOT_PAIR:USDC-WETH@ETHEREUM')).toBe('USDC/WETH');
  });

  it('normalises a non-canonical strike from ccxt', () => {
    expect(fromCcxtSymbol('DERIBIT', 'BTC/USD:BTC-241231-50000.0-C')).toBe(
      'DERIBIT:OPTION:BTC-USD-50000-20241231-C',
    );
    expect(fromCcxtSymbol('DERIBIT', 'XRP/USDC:USDC-241231-0.50-P')).toBe(
      'DERIBIT:OPTION:XRP-USDC-0.5-20241231-P',
    );
  });

  it('rejects bad symbols naming the part', () => {
    expect(ccxtIssuesOf('BINANCE', 'BTCUSDT')).toEqual([
      ['symbol', 'ccxt symbol "BTCUSDT" must be BASE/QUOTE or BASE/QUOTE:SETTLE[-YYMMDD[-STRIKE-C|P]]'],
    ]);
    expect(ccxtIssuesOf('BINANCE', 'BTC/USDT:USDT:X')[0]?.[0]).toBe('symbol');
    expect(ccxtIssuesOf('BINANCE', 'btc/USDT')).toEqual([
      ['symbol.base', 'base asset "btc" must be uppercase letters and digits'],
    ]);
    expect(ccxtIssuesOf('BINANCE', 'BTC/')).toEqual([['symbol.quote', 'quote asset is empty']]);
    expect(ccxtIssuesOf('BITMEX', 'ETH/USD:BTC')).toEqual([
      [
        'symbol.settle',
        'settle currency "BTC" is neither the quote (USD) nor the base (ETH); quanto contracts are not supported',
      ],
    ]);
    expect(ccxtIssuesOf('BINANCE', 'BTC/USDT:USDT-241331')).toEqual([
      ['symbol.expiry', 'expiry "241331" is not a real calendar date (YYMMDD)'],
    ]);
    expect(ccxtIssuesOf('BINANCE', 'BTC/USDT:USDT-20241231')[0]?.[0]).toBe('symbol.expiry');
    expect(ccxtIssuesOf('DERIBIT', 'BTC/USD:BTC-241231-X-C')).toEqual([
      ['symbol.strike', 'strike "X" must be a positive decimal'],
    ]);
    expect(ccxtIssuesOf('DERIBIT', 'BTC/USD:BTC-241231-0-C')[0]?.[0]).toBe('symbol.strike');
    expect(ccxtIssuesOf('DERIBIT', 'BTC/USD:BTC-241231-50000-CALL')).toEqual([
      ['symbol.option_type', 'option type "CALL" is not one of C (call), P (put)'],
    ]);
    expect(ccxtIssuesOf('DERIBIT', 'BTC/USD:BTC-241231-50000')[0]?.[0]).toBe('symbol');
    expect(ccxtIssuesOf('binance', 'BTC/USDT')[0]?.[0]).toBe('venue');
    expect(ccxtIssuesOf('BINANCE', 'BTC/USDT', { assetClass: 'crypto' })[0]?.[0]).toBe('asset_class');
    expect(ccxtIssuesOf('BINANCE', 'BTC/USDT:USDT', { spotChain: 'ETHEREUM' })).toEqual([
      ['chain', 'a spot chain tag does not apply to a PERPETUAL'],
    ]);
    expect(() => fromCcxtSymbol('BINANCE', 'BTCUSDT')).toThrow(ValidationError);
  });

  it('cannot write an expiry outside 2000-2099 as YYMMDD', () => {
    expect(() => toCcxtSymbol('CME:FUTURE:BTC-USD-21000101')).toThrow(
      'payload.expiry: expiry "21000101" cannot be written as a ccxt YYMMDD date (years 2000-2099 only)',
    );
  });
});

describe('venueOf / payloadOf', () => {
  it.each([
    ['BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BINANCE-SPOT', 'BTC-USDT'],
    ['CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BINANCE-SPOT', 'BTC-USDT'],
    ['BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', 'BINANCE-FUTURES', 'BTC-USDT'],
    ['DERIBIT:OPTION:BTC-USD-50000-20241231-C', 'DERIBIT', 'BTC-USD-50000-20241231-C'],
    ['BINANCE-FUTURES:FUTURE:BTC-USDT-20241231@LIN', 'BINANCE-FUTURES', 'BTC-USDT-20241231'],
  ])('%s → %s, %s', (id, venue, payload) => {
    expect(venueOf(id)).toBe(venue);
    expect(payloadOf(id)).toBe(payload);
  });

  it('throws on an invalid id', () => {
    expect(() => venueOf('nope')).toThrow(ValidationError);
    expect(() => payloadOf('BINANCE:PERP:BTC-USDT')).toThrow(ValidationError);
  });
});

describe('InstrumentKeySchema', () => {
  it('accepts a valid id unchanged', () => {
    expect(InstrumentKeySchema.parse('BINANCE-FUTURES:PERPETUAL:BTC-USDT')).toBe(
      'BINANCE-FUTURES:PERPETUAL:BTC-USDT',
    );
    expect(InstrumentKeySchema.safeParse('DERIBIT:OPTION:BTC-USD-50000-20241231-C').success).toBe(true);
  });

  it('rejects with messages that name the wrong part, at the field path', () => {
    const Body = z.object({ instrument_key: InstrumentKeySchema });
    const r = Body.safeParse({ instrument_key: 'binance:PERP:BTC-USDT' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => ({ path: i.path, message: i.message }))).toEqual([
      {
        path: ['instrument_key'],
        message: `venue "binance" must be uppercase letters, digits, '-' or '_' (starting and ending with a letter or digit)`,
      },
      {
        path: ['instrument_key'],
        message: 'instrument type "PERP" is not one of SPOT_PAIR, PERPETUAL, FUTURE, OPTION, STOCK',
      },
    ]);
  });

  it('rejects non-strings', () => {
    expect(InstrumentKeySchema.safeParse(42).success).toBe(false);
  });

  it('lists the instrument types', () => {
    expect(INSTRUMENT_TYPES).toEqual(['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION', 'STOCK']);
  });
});

/**
 * Canonical instrument ids (SPEC "Contracts"): `[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@CHAIN]`.
 *
 * ```
 * BINANCE-SPOT:SPOT_PAIR:BTC-USDT                 spot pair           PAYLOAD = BASE-QUOTE
 * BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN          linear perpetual    PAYLOAD = BASE-QUOTE
 * DERIBIT:PERPETUAL:BTC-USD@INV                   inverse perpetual
 * BINANCE-FUTURES:FUTURE:BTC-USDT-20241227        dated future        PAYLOAD = BASE-QUOTE-YYYYMMDD
 * DERIBIT:OPTION:BTC-USD-50000-20241231-C         option              PAYLOAD = BASE-QUOTE-STRIKE-YYYYMMDD-C|P
 * CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT          with an asset class
 * UNISWAP:SPOT_PAIR:USDC-WETH@ETHEREUM            spot pair with a chain tag
 * IBKR:STOCK:SPY-USD@ARCA                         stock or ETF        PAYLOAD = SYMBOL-CURRENCY, @PRIMARY_EXCHANGE
 * IBKR:STOCK:BRK.B-USD@NYSE                       a class share (IB symbol "BRK B")
 * IBKR:FUTURE:ES-USD-20261218@CME                 exchange-listed future, @LISTING_EXCHANGE (linear)
 * ```
 *
 * Parts: ASSET_CLASS is `[A-Z][A-Z0-9_]*`; VENUE is uppercase letters, digits, '-' and '_' (starting
 * and ending with a letter or digit); assets are uppercase alphanumerics; STRIKE is a positive
 * decimal in canonical form (`50000`, `0.5`; not `50000.0`, `050`, `1e3`) so that one instrument has
 * one spelling; YYYYMMDD is a real calendar date (years 1970–9999). `@CHAIN` is `LIN` (linear,
 * settles in the quote asset) or `INV` (inverse, settles in the base asset) on derivatives, and any
 * `[A-Z][A-Z0-9_]*` tag other than LIN/INV on spot pairs (the network the pair trades on), on
 * stocks (the primary exchange: IBKR orders go to SMART with it) and on futures (the listing
 * exchange of an exchange-traded future, which settles linearly in its currency). A STOCK's
 * SYMBOL is uppercase letters and digits with '.' between parts (`BRK.B`).
 *
 * Parsing is exact and lossless: `formatInstrumentId(parseInstrumentId(s)) === s` for every valid
 * `s`, and `parseInstrumentId(formatInstrumentId(p))` deep-equals `p`. An id with and without an
 * explicit `@LIN`/`@INV` that matches the default (see {@link settlementOf}) name the same
 * instrument; {@link canonicalInstrumentId} picks the one spelling we emit (see there).
 */
import { z } from 'zod';
import type { DecimalString } from './decimal.ts';
import { type Issue, type Result, ValidationError } from './errors.ts';

export const INSTRUMENT_TYPES = ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION', 'STOCK'] as const;
export type InstrumentType = (typeof INSTRUMENT_TYPES)[number];

/** Explicit settlement tags for derivatives: LIN = linear (quote-settled), INV = inverse (base-settled). */
export const DERIVATIVE_CHAINS = ['LIN', 'INV'] as const;
export type DerivativeChain = (typeof DERIVATIVE_CHAINS)[number];

export const OPTION_TYPES = ['C', 'P'] as const;
export type OptionType = (typeof OPTION_TYPES)[number];

export type Settlement = 'LINEAR' | 'INVERSE' | 'SPOT';

interface InstrumentIdCommon {
  asset_class: string | null;
  venue: string;
  base: string;
  quote: string;
}

export interface SpotPairId extends InstrumentIdCommon {
  instrument_type: 'SPOT_PAIR';
  /** Network tag such as `ETHEREUM`, or null. Never LIN/INV. */
  chain: string | null;
}
export interface PerpetualId extends InstrumentIdCommon {
  instrument_type: 'PERPETUAL';
  chain: DerivativeChain | null;
}
export interface FutureId extends InstrumentIdCommon {
  instrument_type: 'FUTURE';
  /** `YYYYMMDD`. */
  expiry: string;
  chain: DerivativeChain | null;
  /** Listing exchange of an exchange-traded future (`CME`): the tag when it is not LIN/INV. */
  listing_exchange?: string | undefined;
}
/** A stock or ETF: `base` is the symbol (`SPY`, `BRK.B`), `quote` its currency. */
export interface StockId extends InstrumentIdCommon {
  instrument_type: 'STOCK';
  /** Primary exchange (`ARCA`, `NASDAQ`), or null. */
  chain: string | null;
}
export interface OptionId extends InstrumentIdCommon {
  instrument_type: 'OPTION';
  /** Positive canonical decimal string. */
  strike: DecimalString;
  /** `YYYYMMDD`. */
  expiry: string;
  option_type: OptionType;
  chain: DerivativeChain | null;
}
export type ParsedInstrumentId = SpotPairId | PerpetualId | FutureId | OptionId | StockId;
export type DerivativeId = PerpetualId | FutureId | OptionId;

export const INVALID_INSTRUMENT_ID = 'INVALID_INSTRUMENT_ID';
export const INVALID_CCXT_SYMBOL = 'INVALID_CCXT_SYMBOL';

const ASSET_CLASS_RE = /^[A-Z][A-Z0-9_]*$/;
const VENUE_RE = /^[A-Z0-9](?:[A-Z0-9_-]*[A-Z0-9])?$/;
const ASSET_RE = /^[A-Z0-9]+$/;
const SPOT_CHAIN_RE = /^[A-Z][A-Z0-9_]*$/;
const CANONICAL_POSITIVE_DECIMAL_RE = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
const YYYYMMDD_RE = /^(\d{4})(\d{2})(\d{2})$/;
const YYMMDD_RE = /^(\d{2})(\d{2})(\d{2})$/;

const PAYLOAD_LAYOUT: Record<InstrumentType, string> = {
  SPOT_PAIR: 'BASE-QUOTE',
  PERPETUAL: 'BASE-QUOTE',
  FUTURE: 'BASE-QUOTE-YYYYMMDD',
  OPTION: 'BASE-QUOTE-STRIKE-YYYYMMDD-C|P',
  STOCK: 'SYMBOL-CURRENCY',
};

const STOCK_SYMBOL_RE = /^[A-Z0-9]+(?:\.[A-Z0-9]+)*$/;

function isInstrumentType(s: string): s is InstrumentType {
  return (INSTRUMENT_TYPES as readonly string[]).includes(s);
}
function isDerivativeChain(s: string): s is DerivativeChain {
  return (DERIVATIVE_CHAINS as readonly string[]).includes(s);
}
function isOptionType(s: string): s is OptionType {
  return (OPTION_TYPES as readonly string[]).includes(s);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** True when y/m/d is a real calendar date in 1970–9999. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  return (
    year >= 1970 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
  );
}

/** Validate a `YYYYMMDD` expiry; returns an error message or null. */
function checkExpiry(s: string): string | null {
  const m = YYYYMMDD_RE.exec(s);
  if (!m) return `expiry "${s}" must be a date written YYYYMMDD`;
  if (!isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
    return `expiry "${s}" is not a real calendar date (YYYYMMDD, years 1970-9999)`;
  }
  return null;
}

function checkStrike(s: string): string | null {
  if (!CANONICAL_POSITIVE_DECIMAL_RE.test(s)) {
    return `strike "${s}" must be a positive decimal in canonical form (digits, optional '.', no leading or trailing zeros, e.g. 50000 or 0.5)`;
  }
  if (/^0(?:\.0*)?$/.test(s)) return `strike "${s}" must be greater than zero`;
  return null;
}

function checkAsset(role: 'base' | 'quote', s: string): string | null {
  if (s === '') return `${role} asset is empty`;
  if (!ASSET_RE.test(s)) return `${role} asset "${s}" must be uppercase letters and digits`;
  return null;
}

function fail<T>(code: string, issues: Issue[]): Result<T> {
  return { success: false, error: new ValidationError(code, issues) };
}

/**
 * Parse a canonical instrument id. On failure the ValidationError (code `INVALID_INSTRUMENT_ID`)
 * has one issue per wrong part, its path naming the part: `id`, `asset_class`, `venue`,
 * `instrument_type`, `payload`, `payload.base`, `payload.quote`, `payload.strike`,
 * `payload.expiry`, `payload.option_type`, `chain`; each message also names the part in words.
 */
export function parseInstrumentId(s: string): Result<ParsedInstrumentId> {
  if (typeof s !== 'string')
    return fail(INVALID_INSTRUMENT_ID, [{ path: 'id', message: 'must be a string' }]);
  const issues: Issue[] = [];
  const at = s.split('@');
  if (at.length > 2) {
    return fail(INVALID_INSTRUMENT_ID, [
      { path: 'chain', message: `instrument id "${s}" has more than one '@' (only one @CHAIN suffix)` },
    ]);
  }
  const main = at[0] ?? '';
  const chainRaw = at[1];
  const parts = main.split(':');
  if (parts.length !== 3 && parts.length !== 4) {
    return fail(INVALID_INSTRUMENT_ID, [
      {
        path: 'id',
        message: `instrument id "${s}" must be [ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@CHAIN] (found ${parts.length} ':'-separated parts)`,
      },
    ]);
  }
  const withClass = parts.length === 4;
  const assetClass = withClass ? (parts[0] ?? '') : null;
  const [venue = '', type = '', payload = ''] = withClass ? parts.slice(1) : parts;

  if (assetClass !== null && !ASSET_CLASS_RE.test(assetClass)) {
    issues.push({
      path: 'asset_class',
      message: `asset class "${assetClass}" must be uppercase letters, digits or '_' starting with a letter`,
    });
  }
  if (!VENUE_RE.test(venue)) {
    issues.push({
      path: 'venue',
      message: `venue "${venue}" must be uppercase letters, digits, '-' or '_' (starting and ending with a letter or digit)`,
    });
  }
  if (!isInstrumentType(type)) {
    issues.push({
      path: 'instrument_type',
      message: `instrument type "${type}" is not one of ${INSTRUMENT_TYPES.join(', ')}`,
    });
    return fail(INVALID_INSTRUMENT_ID, issues);
  }

  // Chain suffix.
  let chain: string | null = null;
  let listingExchange: string | null = null;
  if (chainRaw !== undefined) {
    if (type === 'STOCK') {
      if (!SPOT_CHAIN_RE.test(chainRaw) || isDerivativeChain(chainRaw)) {
        issues.push({
          path: 'chain',
          message: `primary exchange "${chainRaw}" must be uppercase letters, digits or '_' starting with a letter (not LIN/INV)`,
        });
      } else chain = chainRaw;
    } else if (type === 'FUTURE' && !isDerivativeChain(chainRaw) && SPOT_CHAIN_RE.test(chainRaw)) {
      listingExchange = chainRaw;
    } else if (type === 'SPOT_PAIR') {
      if (isDerivativeChain(chainRaw)) {
        issues.push({
          path: 'chain',
          message: `chain "${chainRaw}" (linear/inverse settlement) applies only to PERPETUAL, FUTURE and OPTION`,
        });
      } else if (!SPOT_CHAIN_RE.test(chainRaw)) {
        issues.push({
          path: 'chain',
          message: `chain "${chainRaw}" must be uppercase letters, digits or '_' starting with a letter`,
        });
      } else chain = chainRaw;
    } else if (!isDerivativeChain(chainRaw)) {
      issues.push({
        path: 'chain',
        message: `chain "${chainRaw}" is not one of LIN (linear), INV (inverse) for a ${type}`,
      });
    } else chain = chainRaw;
  }

  // Payload.
  const p = payload.split('-');
  const expectedParts = type === 'OPTION' ? 5 : type === 'FUTURE' ? 3 : 2;
  if (p.length !== expectedParts) {
    issues.push({
      path: 'payload',
      message: `payload "${payload}" must be ${PAYLOAD_LAYOUT[type]} for ${type}`,
    });
    return fail(INVALID_INSTRUMENT_ID, issues);
  }
  const base = p[0] ?? '';
  const quote = p[1] ?? '';
  const baseErr =
    type === 'STOCK'
      ? STOCK_SYMBOL_RE.test(base)
        ? null
        : `symbol "${base}" must be uppercase letters and digits, '.' between parts (e.g. SPY, BRK.B)`
      : checkAsset('base', base);
  if (baseErr) issues.push({ path: 'payload.base', message: baseErr });
  const quoteErr = checkAsset('quote', quote);
  if (quoteErr) issues.push({ path: 'payload.quote', message: quoteErr });
  if (!baseErr && !quoteErr && base === quote) {
    issues.push({ path: 'payload.quote', message: `quote asset "${quote}" must differ from the base asset` });
  }
  let strike = '';
  let expiry = '';
  let optionType = '';
  if (type === 'FUTURE') {
    expiry = p[2] ?? '';
  } else if (type === 'OPTION') {
    strike = p[2] ?? '';
    expiry = p[3] ?? '';
    optionType = p[4] ?? '';
    const strikeErr = checkStrike(strike);
    if (strikeErr) issues.push({ path: 'payload.strike', message: strikeErr });
  }
  if (type === 'FUTURE' || type === 'OPTION') {
    const expiryErr = checkExpiry(expiry);
    if (expiryErr) issues.push({ path: 'payload.expiry', message: expiryErr });
  }
  if (type === 'OPTION' && !isOptionType(optionType)) {
    issues.push({
      path: 'payload.option_type',
      message: `option type "${optionType}" is not one of C (call), P (put)`,
    });
  }
  if (issues.length > 0) return fail(INVALID_INSTRUMENT_ID, issues);

  const common = { asset_class: assetClass, venue, base, quote };
  const dchain = chain !== null && isDerivativeChain(chain) ? chain : null;
  switch (type) {
    case 'SPOT_PAIR':
      return { success: true, data: { ...common, instrument_type: 'SPOT_PAIR', chain } };
    case 'PERPETUAL':
      return { success: true, data: { ...common, instrument_type: 'PERPETUAL', chain: dchain } };
    case 'FUTURE':
      return {
        success: true,
        data: {
          ...common,
          instrument_type: 'FUTURE',
          expiry,
          chain: dchain,
          ...(listingExchange === null ? {} : { listing_exchange: listingExchange }),
        },
      };
    case 'STOCK':
      return { success: true, data: { ...common, instrument_type: 'STOCK', chain } };
    case 'OPTION':
      return {
        success: true,
        data: {
          ...common,
          instrument_type: 'OPTION',
          strike,
          expiry,
          option_type: optionType as OptionType,
          chain: dchain,
        },
      };
  }
}

/** Parse a canonical instrument id or throw its ValidationError. */
export function parseInstrumentIdOrThrow(s: string): ParsedInstrumentId {
  const r = parseInstrumentId(s);
  if (!r.success) throw r.error;
  return r.data;
}

/** True when `s` is a valid canonical instrument id. */
export function isInstrumentId(s: string): boolean {
  return parseInstrumentId(s).success;
}

/** The PAYLOAD part of a parsed id (`BTC-USDT`, `BTC-USDT-20241227`, `BTC-USD-50000-20241231-C`). */
export function formatPayload(p: ParsedInstrumentId): string {
  switch (p.instrument_type) {
    case 'SPOT_PAIR':
    case 'PERPETUAL':
    case 'STOCK':
      return `${p.base}-${p.quote}`;
    case 'FUTURE':
      return `${p.base}-${p.quote}-${p.expiry}`;
    case 'OPTION':
      return `${p.base}-${p.quote}-${p.strike}-${p.expiry}-${p.option_type}`;
  }
}

/**
 * Format a parsed id. Throws a ValidationError when the parts do not make a valid id (a
 * hand-built object with, say, a lowercase venue), so a formatted id always parses back.
 */
export function formatInstrumentId(p: ParsedInstrumentId): string {
  const s =
    (p.asset_class !== null ? `${p.asset_class}:` : '') +
    `${p.venue}:${p.instrument_type}:${formatPayload(p)}` +
    tagOf(p);
  const r = parseInstrumentId(s);
  if (!r.success) throw r.error;
  return s;
}

/** The `@TAG` of a parsed id ('' when none): chain, primary exchange or listing exchange. */
function tagOf(p: ParsedInstrumentId): string {
  if (p.instrument_type === 'FUTURE' && p.listing_exchange !== undefined && p.chain === null) {
    return `@${p.listing_exchange}`;
  }
  return p.chain !== null ? `@${p.chain}` : '';
}

function toParsed(id: string | ParsedInstrumentId): ParsedInstrumentId {
  return typeof id === 'string' ? parseInstrumentIdOrThrow(id) : id;
}

/** Settlement a derivative gets when it has no explicit `@LIN`/`@INV` (see {@link settlementOf}). */
export function defaultSettlement(quote: string): 'LINEAR' | 'INVERSE' {
  return quote === 'USD' ? 'INVERSE' : 'LINEAR';
}

/**
 * How an instrument settles.
 *
 * - SPOT_PAIR → `'SPOT'` (whatever its chain tag).
 * - A derivative with `@LIN` → `'LINEAR'` (margined and settled in the quote asset, e.g. USDT);
 *   with `@INV` → `'INVERSE'` (margined and settled in the base asset, e.g. BTC).
 * - A derivative without a suffix follows the default rule: quoted in `USD` (fiat dollars, as on
 *   Deribit/BitMEX coin-margined books) → `'INVERSE'`; quoted in anything else (`USDT`, `USDC`,
 *   `BTC`, ...) → `'LINEAR'`. So `DERIBIT:OPTION:BTC-USD-50000-20241231-C` is inverse and
 *   `BINANCE-FUTURES:PERPETUAL:BTC-USDT` is linear. A USD-quoted linear contract (ccxt
 *   `BTC/USD:USD`) must be written with `@LIN`.
 */
export function settlementOf(id: string | ParsedInstrumentId): Settlement {
  const p = toParsed(id);
  if (p.instrument_type === 'SPOT_PAIR' || p.instrument_type === 'STOCK') return 'SPOT';
  if (p.instrument_type === 'FUTURE' && p.listing_exchange !== undefined) return 'LINEAR';
  if (p.chain === 'LIN') return 'LINEAR';
  if (p.chain === 'INV') return 'INVERSE';
  return defaultSettlement(p.quote);
}

/** Asset a derivative settles in (quote if linear, base if inverse); a spot pair's quote asset. */
export function settlementAssetOf(id: string | ParsedInstrumentId): string {
  const p = toParsed(id);
  return settlementOf(p) === 'INVERSE' ? p.base : p.quote;
}

/**
 * The one spelling of an instrument that this platform emits (from ccxt symbols, in stores):
 *
 * - PERPETUAL: always with an explicit `@LIN` or `@INV` (SPEC writes
 *   `BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN` and `DERIBIT:PERPETUAL:BTC-USD@INV`);
 * - FUTURE and OPTION: the suffix only when it differs from the default rule of
 *   {@link settlementOf} (SPEC writes `DERIBIT:OPTION:BTC-USD-50000-20241231-C`);
 * - SPOT_PAIR: unchanged (its chain tag is part of its identity).
 *
 * Every SPEC example is already canonical, so each converts to ccxt and back to itself.
 */
export function canonicalInstrumentId(id: string | ParsedInstrumentId): string {
  return formatInstrumentId(canonicalParsed(toParsed(id)));
}

function canonicalParsed(p: ParsedInstrumentId): ParsedInstrumentId {
  if (p.instrument_type === 'SPOT_PAIR' || p.instrument_type === 'STOCK') return p;
  // An exchange-listed future names its exchange; that makes it linear (no LIN/INV tag).
  if (p.instrument_type === 'FUTURE' && p.listing_exchange !== undefined) return { ...p, chain: null };
  const settlement = settlementOf(p);
  const explicit: DerivativeChain = settlement === 'INVERSE' ? 'INV' : 'LIN';
  const chain: DerivativeChain | null =
    p.instrument_type === 'PERPETUAL' || settlement !== defaultSettlement(p.quote) ? explicit : null;
  return { ...p, chain };
}

/** True when two ids name the same instrument (they may differ only in a redundant `@LIN`/`@INV`). */
export function sameInstrument(a: string | ParsedInstrumentId, b: string | ParsedInstrumentId): boolean {
  return canonicalInstrumentId(a) === canonicalInstrumentId(b);
}

/** VENUE of a valid id (e.g. `BINANCE-SPOT`), as used in `market-data-tick/<VENUE>/...`. Throws on an invalid id. */
export function venueOf(key: string): string {
  return parseInstrumentIdOrThrow(key).venue;
}

/** PAYLOAD of a valid id (e.g. `BTC-USDT`), as used in `market-data-tick/.../<PAYLOAD>/`. Throws on an invalid id. */
export function payloadOf(key: string): string {
  return formatPayload(parseInstrumentIdOrThrow(key));
}

/**
 * zod schema for an instrument key field: a string that parses as a canonical id. Each failure is
 * one issue at the field's own path, its message naming the wrong part (e.g.
 * `instrument type "PERP" is not one of SPOT_PAIR, PERPETUAL, FUTURE, OPTION, STOCK`). The value is kept
 * as written (no canonicalisation).
 */
export const InstrumentKeySchema = z
  .string()
  .superRefine((s, ctx) => {
    const r = parseInstrumentId(s);
    if (r.success) return;
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  })
  .describe(
    'Canonical instrument id [ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@CHAIN], e.g. BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  );

// ---------------------------------------------------------------------------------------------
// ccxt unified symbols
// ---------------------------------------------------------------------------------------------

function ccxtDate(expiry: string): string {
  const m = YYYYMMDD_RE.exec(expiry);
  const year = m ? Number(m[1]) : Number.NaN;
  if (!m || year < 2000 || year > 2099) {
    throw new ValidationError(INVALID_INSTRUMENT_ID, [
      {
        path: 'payload.expiry',
        message: `expiry "${expiry}" cannot be written as a ccxt YYMMDD date (years 2000-2099 only)`,
      },
    ]);
  }
  return expiry.slice(2);
}

/**
 * ccxt unified symbol for an id: spot `BTC/USDT`; perpetual `BTC/USDT:USDT` (linear) or
 * `BTC/USD:BTC` (inverse); dated future `BTC/USDT:USDT-241231`; option `BTC/USD:BTC-241231-50000-C`.
 * The settle currency follows {@link settlementOf}. A spot pair's chain tag and the asset class
 * have no place in a ccxt symbol and are dropped. Throws a ValidationError for an invalid id.
 */
export function toCcxtSymbol(id: string | ParsedInstrumentId): string {
  const p = toParsed(id);
  const pair = `${p.base}/${p.quote}`;
  if (p.instrument_type === 'SPOT_PAIR') return pair;
  if (p.instrument_type === 'STOCK' || (p.instrument_type === 'FUTURE' && p.listing_exchange !== undefined)) {
    throw new ValidationError(INVALID_INSTRUMENT_ID, [
      {
        path: 'instrument_type',
        message: `${formatInstrumentId(p)} is not traded through ccxt (no ccxt symbol)`,
      },
    ]);
  }
  const settle = settlementAssetOf(p);
  switch (p.instrument_type) {
    case 'PERPETUAL':
      return `${pair}:${settle}`;
    case 'FUTURE':
      return `${pair}:${settle}-${ccxtDate(p.expiry)}`;
    case 'OPTION':
      return `${pair}:${settle}-${ccxtDate(p.expiry)}-${p.strike}-${p.option_type}`;
  }
}

export interface FromCcxtOptions {
  /** Asset class to prefix (e.g. `CRYPTO`); none by default. */
  assetClass?: string;
  /** Chain tag for a spot pair (e.g. `ETHEREUM`); rejected for derivatives. */
  spotChain?: string;
}

const POSITIVE_DECIMAL_LITERAL_RE = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Canonical form of a plain positive decimal literal ("50000.0" → "50000", ".5" → "0.5"). */
function canonicalStrike(s: string): string | null {
  if (!POSITIVE_DECIMAL_LITERAL_RE.test(s)) return null;
  let [int = '', frac = ''] = s.split('.');
  int = int.replace(/^0+/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const out = frac ? `${int}.${frac}` : int;
  return /^0(?:\.0*)?$/.test(out) ? null : out;
}

/**
 * Parse a ccxt unified symbol into a canonical id on `venue` (see {@link toCcxtSymbol} for the
 * forms). `BASE/QUOTE` is a SPOT_PAIR, `BASE/QUOTE:SETTLE` a PERPETUAL, `…:SETTLE-YYMMDD` a FUTURE
 * (year 20YY), `…:SETTLE-YYMMDD-STRIKE-C|P` an OPTION. SETTLE equal to QUOTE is linear, equal to
 * BASE inverse; anything else (quanto) is rejected. The result is canonical
 * ({@link canonicalInstrumentId}): perpetuals get an explicit `@LIN`/`@INV`, futures and options
 * only when it differs from the default rule. Errors (code `INVALID_CCXT_SYMBOL`) name the part:
 * `symbol`, `symbol.base`, `symbol.quote`, `symbol.settle`, `symbol.expiry`, `symbol.strike`,
 * `symbol.option_type`, `venue`, `asset_class`, `chain`.
 */
export function parseCcxtSymbol(
  venue: string,
  symbol: string,
  opts: FromCcxtOptions = {},
): Result<ParsedInstrumentId> {
  const issues: Issue[] = [];
  const colon = symbol.split(':');
  const slash = (colon[0] ?? '').split('/');
  if (colon.length > 2 || slash.length !== 2) {
    return fail(INVALID_CCXT_SYMBOL, [
      {
        path: 'symbol',
        message: `ccxt symbol "${symbol}" must be BASE/QUOTE or BASE/QUOTE:SETTLE[-YYMMDD[-STRIKE-C|P]]`,
      },
    ]);
  }
  const base = slash[0] ?? '';
  const quote = slash[1] ?? '';
  const baseErr = checkAsset('base', base);
  if (baseErr) issues.push({ path: 'symbol.base', message: baseErr });
  const quoteErr = checkAsset('quote', quote);
  if (quoteErr) issues.push({ path: 'symbol.quote', message: quoteErr });

  const rest = colon[1];
  let type: InstrumentType = 'SPOT_PAIR';
  let chain: DerivativeChain | null = null;
  let expiry = '';
  let strike = '';
  let optionType: OptionType = 'C';
  if (rest !== undefined) {
    const d = rest.split('-');
    if (d.length !== 1 && d.length !== 2 && d.length !== 4) {
      return fail(INVALID_CCXT_SYMBOL, [
        {
          path: 'symbol',
          message: `ccxt symbol "${symbol}": after ':' expected SETTLE, SETTLE-YYMMDD or SETTLE-YYMMDD-STRIKE-C|P`,
        },
      ]);
    }
    type = d.length === 1 ? 'PERPETUAL' : d.length === 2 ? 'FUTURE' : 'OPTION';
    const settle = d[0] ?? '';
    if (settle === quote && !quoteErr) chain = 'LIN';
    else if (settle === base && !baseErr) chain = 'INV';
    else if (!baseErr && !quoteErr) {
      issues.push({
        path: 'symbol.settle',
        message: `settle currency "${settle}" is neither the quote (${quote}) nor the base (${base}); quanto contracts are not supported`,
      });
    }
    if (type !== 'PERPETUAL') {
      const yymmdd = d[1] ?? '';
      const m = YYMMDD_RE.exec(yymmdd);
      if (!m || !isCalendarDate(2000 + Number(m[1]), Number(m[2]), Number(m[3]))) {
        issues.push({
          path: 'symbol.expiry',
          message: `expiry "${yymmdd}" is not a real calendar date (YYMMDD)`,
        });
      } else expiry = `20${yymmdd}`;
    }
    if (type === 'OPTION') {
      const rawStrike = d[2] ?? '';
      const s = canonicalStrike(rawStrike);
      if (s === null)
        issues.push({ path: 'symbol.strike', message: `strike "${rawStrike}" must be a positive decimal` });
      else strike = s;
      const ot = d[3] ?? '';
      if (isOptionType(ot)) optionType = ot;
      else
        issues.push({
          path: 'symbol.option_type',
          message: `option type "${ot}" is not one of C (call), P (put)`,
        });
    }
    if (opts.spotChain !== undefined) {
      issues.push({ path: 'chain', message: `a spot chain tag does not apply to a ${type}` });
    }
  }
  if (issues.length > 0) return fail(INVALID_CCXT_SYMBOL, issues);

  const common = { asset_class: opts.assetClass ?? null, venue, base, quote };
  let parsed: ParsedInstrumentId;
  switch (type) {
    case 'SPOT_PAIR':
      parsed = { ...common, instrument_type: 'SPOT_PAIR', chain: opts.spotChain ?? null };
      break;
    case 'PERPETUAL':
      parsed = { ...common, instrument_type: 'PERPETUAL', chain };
      break;
    case 'FUTURE':
      parsed = { ...common, instrument_type: 'FUTURE', expiry, chain };
      break;
    case 'OPTION':
      parsed = { ...common, instrument_type: 'OPTION', strike, expiry, option_type: optionType, chain };
      break;
  }
  parsed = canonicalParsed(parsed);
  // Venue, asset class and spot chain come from the caller: validate them with the id grammar.
  const check = parseInstrumentId(
    (parsed.asset_class !== null ? `${parsed.asset_class}:` : '') +
      `${parsed.venue}:${parsed.instrument_type}:${formatPayload(parsed)}` +
      (parsed.chain !== null ? `@${parsed.chain}` : ''),
  );
  if (!check.success) return fail(INVALID_CCXT_SYMBOL, check.error.issues);
  return { success: true, data: check.data };
}

/**
 * Canonical id string for a ccxt symbol on `venue`, e.g.
 * `fromCcxtSymbol('BINANCE-FUTURES', 'BTC/USDT:USDT')` → `BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN`,
 * `fromCcxtSymbol('DERIBIT', 'BTC/USD:BTC-241231-50000-C')` → `DERIBIT:OPTION:BTC-USD-50000-20241231-C`.
 * Throws a ValidationError naming the bad part (see {@link parseCcxtSymbol}).
 */
export function fromCcxtSymbol(venue: string, symbol: string, opts: FromCcxtOptions = {}): string {
  const r = parseCcxtSymbol(venue, symbol, opts);
  if (!r.success) throw r.error;
  return formatInstrumentId(r.data);
}

/**
 * Canonical instrument ids ↔ Interactive Brokers contracts (the TWS API's `Contract` fields), and
 * instrument rules from IB's contract details. Pure: no socket, no client library.
 *
 * | canonical id | IB contract |
 * | --- | --- |
 * | `IBKR:STOCK:SPY-USD@ARCA` | `secType STK, symbol SPY, currency USD, exchange SMART, primaryExch ARCA` |
 * | `IBKR:STOCK:BRK.B-USD@NYSE` | `symbol "BRK B"` (IB writes class shares with a space) |
 * | `IBKR:FUTURE:ES-USD-20261218@CME` | `secType FUT, symbol ES, currency USD, exchange CME, lastTradeDateOrContractMonth 20261218` |
 *
 * Stocks and ETFs route through SMART with their primary exchange (a required disambiguator for
 * symbols listed on several exchanges); futures go to their listing exchange.
 */
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import { ValidationError } from '../../shared/domain/errors.ts';
import {
  formatInstrumentId,
  INVALID_INSTRUMENT_ID,
  type ParsedInstrumentId,
  parseInstrumentIdOrThrow,
} from '../../shared/domain/instrument-id.ts';
import type { VenueInstrumentRules } from '../../shared/ports/venue.ts';

/** The IB venue part of canonical ids. */
export const IB_VENUE = 'IBKR';

/** The TWS API contract fields we set (names as in the TWS API and `@stoqey/ib`'s `Contract`). */
export interface IbContract {
  secType: 'STK' | 'FUT';
  symbol: string;
  currency: string;
  exchange: string;
  primaryExch?: string | undefined;
  lastTradeDateOrContractMonth?: string | undefined;
  /** Futures: the contract multiplier as IB writes it (e.g. "50"). */
  multiplier?: string | undefined;
}

function refuse(path: string, message: string): never {
  throw new ValidationError(INVALID_INSTRUMENT_ID, [{ path, message }]);
}

/** The IB contract of a canonical IBKR id. Throws a ValidationError naming the part for anything else. */
export function toIbContract(id: string | ParsedInstrumentId): IbContract {
  const p = typeof id === 'string' ? parseInstrumentIdOrThrow(id) : id;
  if (p.venue !== IB_VENUE) refuse('venue', `venue "${p.venue}" is not ${IB_VENUE}`);
  switch (p.instrument_type) {
    case 'STOCK':
      return {
        secType: 'STK',
        symbol: p.base.replaceAll('.', ' '),
        currency: p.quote,
        exchange: 'SMART',
        ...(p.chain === null ? {} : { primaryExch: p.chain }),
      };
    case 'FUTURE':
      if (p.listing_exchange === undefined) {
        refuse('chain', `an IBKR future needs its listing exchange as the tag (e.g. @CME)`);
      }
      return {
        secType: 'FUT',
        symbol: p.base,
        currency: p.quote,
        exchange: p.listing_exchange,
        lastTradeDateOrContractMonth: p.expiry,
      };
    default:
      return refuse(
        'instrument_type',
        `${p.instrument_type} is not traded at ${IB_VENUE} through this adapter`,
      );
  }
}

/** The canonical id of an IB contract (the inverse of {@link toIbContract}). */
export function fromIbContract(c: IbContract, assetClass: string | null = null): string {
  const common = { asset_class: assetClass, venue: IB_VENUE, quote: c.currency };
  if (c.secType === 'STK') {
    return formatInstrumentId({
      ...common,
      instrument_type: 'STOCK',
      base: c.symbol.trim().replace(/\s+/g, '.'),
      chain: c.primaryExch !== undefined && c.primaryExch !== '' ? c.primaryExch : null,
    });
  }
  const expiry = c.lastTradeDateOrContractMonth ?? '';
  if (!/^\d{8}$/.test(expiry)) {
    refuse('lastTradeDateOrContractMonth', `a future needs its last trade date as YYYYMMDD, got "${expiry}"`);
  }
  return formatInstrumentId({
    ...common,
    instrument_type: 'FUTURE',
    base: c.symbol,
    expiry,
    chain: null,
    listing_exchange: c.exchange,
  });
}

/** What the rules need from IB's `ContractDetails` (decimals as IB sends them). */
export interface IbContractDetailsRules {
  minTick: number | string;
  /** Smallest order size; absent on old servers (then 1). */
  minSize?: number | string | undefined;
  /** Size step; absent on old servers (then 1). */
  sizeIncrement?: number | string | undefined;
  /** The contract's multiplier (futures), e.g. "50"; absent or "" for stocks. */
  multiplier?: number | string | undefined;
}

function decimalOf(v: number | string | undefined, fallback: string): string {
  if (v === undefined || v === '') return fallback;
  const d = toDec(typeof v === 'number' ? String(v) : v);
  return d.gt(0) ? fmt(d) : fallback;
}

/**
 * Instrument rules from contract details: tick = minTick, step = sizeIncrement, min qty = minSize,
 * contract size = the multiplier (1 for stocks). IB publishes no max quantity or min notional.
 */
export function rulesFromContractDetails(
  instrumentKey: string,
  d: IbContractDetailsRules,
): VenueInstrumentRules {
  return {
    instrument_key: instrumentKey,
    tick_size: decimalOf(d.minTick, '0.01'),
    step_size: decimalOf(d.sizeIncrement, '1'),
    min_qty: decimalOf(d.minSize, '1'),
    max_qty: null,
    min_notional: null,
    contract_size: decimalOf(d.multiplier, '1'),
  };
}

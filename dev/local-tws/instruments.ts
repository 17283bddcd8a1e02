/**
 * The contracts the local TWS lists: an instrument spec (canonical id, tick, step, min size) plus
 * what IB's contract details carry (conId, names, multiplier, session) and IB's commission schedule.
 * The IB contract fields come from `toIbContract` (infra/ib/contracts.ts), the same mapping the
 * adapter uses.
 */
import { type IbContract, toIbContract } from '../../infra/ib/contracts.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import { CME_EQUITY_FUTURE_HOURS, type TwsSession, US_EQUITY_HOURS } from './session.ts';

/** IB's tiered-free "fixed" commission: per unit, with a per-order minimum and maximum. */
export interface TwsCommission {
  /** USD per share or contract. */
  perUnit: string;
  /** USD minimum per order. */
  minPerOrder: string;
  /** Maximum per order as a fraction of its value (stocks: 0.01), or null for none. */
  maxFractionOfValue: string | null;
}

export interface TwsInstrument {
  /** `instrument_key` is the canonical IBKR id; the fees of the spec are not used (see commission). */
  spec: InstrumentSpec;
  conId: number;
  longName: string;
  /** IB's stock type (`ETF`, `COMMON`) or '' for futures. */
  stockType: string;
  /** Exchanges the contract can be routed to (contract details' `validExchanges`). */
  validExchanges: string;
  /** The session shown in contract details; orders are checked against the server's session option. */
  hours: TwsSession;
  commission: TwsCommission;
  /** Initial margin as a fraction of the position's value. */
  initialMargin: string;
  /** Maintenance margin as a fraction of the position's value. */
  maintenanceMargin: string;
}

const STOCK_COMMISSION: TwsCommission = { perUnit: '0.005', minPerOrder: '1', maxFractionOfValue: '0.01' };
const STOCK_EXCHANGES =
  'SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,IEX,BATS,BEX,BYX,EDGEA,EDGX,LTSE,MEMX,PEARL';

/** A US stock or ETF on SMART: cent ticks, whole shares, IB's fixed commission, Reg T margin. */
export function usStock(o: {
  symbol: string;
  primary: string;
  conId: number;
  longName: string;
  stockType: string;
}): TwsInstrument {
  return {
    spec: {
      instrument_key: `IBKR:STOCK:${o.symbol.replaceAll(' ', '.')}-USD@${o.primary}`,
      tick_size: '0.01',
      step_size: '1',
      min_qty: '1',
      max_qty: '1000000',
      min_notional: '0',
      maker_fee: '0',
      taker_fee: '0',
    },
    conId: o.conId,
    longName: o.longName,
    stockType: o.stockType,
    validExchanges: STOCK_EXCHANGES,
    hours: US_EQUITY_HOURS,
    commission: STOCK_COMMISSION,
    initialMargin: '0.25',
    maintenanceMargin: '0.25',
  };
}

export const DEFAULT_TWS_INSTRUMENTS: readonly TwsInstrument[] = [
  usStock({
    symbol: 'SPY',
    primary: 'ARCA',
    conId: 756733,
    longName: 'SPDR S&P 500 ETF TRUST',
    stockType: 'ETF',
  }),
  usStock({ symbol: 'AAPL', primary: 'NASDAQ', conId: 265598, longName: 'APPLE INC', stockType: 'COMMON' }),
  {
    spec: {
      instrument_key: 'IBKR:FUTURE:ES-USD-20270319@CME',
      tick_size: '0.25',
      step_size: '1',
      min_qty: '1',
      max_qty: '10000',
      min_notional: '0',
      maker_fee: '0',
      taker_fee: '0',
      contract_size: '50',
    },
    conId: 649180695,
    longName: 'E-mini S&P 500',
    stockType: '',
    validExchanges: 'CME,QBALGO',
    hours: CME_EQUITY_FUTURE_HOURS,
    commission: { perUnit: '2.25', minPerOrder: '2.25', maxFractionOfValue: null },
    initialMargin: '0.06',
    maintenanceMargin: '0.055',
  },
];

/** Starting mids in USD of the default contracts. */
export const DEFAULT_START_PRICES: Readonly<Record<string, number>> = { SPY: 680, AAPL: 230, ES: 6800 };

/** An instrument as the server works with it: the spec, its IB contract, and derived names. */
export interface ListedContract {
  inst: TwsInstrument;
  key: string;
  contract: IbContract;
  /** The multiplier as a decimal string ("1" for stocks). */
  multiplier: string;
  /** IB's local symbol (`SPY`, `ESH7`). */
  localSymbol: string;
  tradingClass: string;
}

const MONTH_CODES = 'FGHJKMNQUVXZ';

export function listContract(inst: TwsInstrument): ListedContract {
  const contract = toIbContract(inst.spec.instrument_key);
  const multiplier = inst.spec.contract_size ?? '1';
  if (contract.secType === 'STK') {
    return {
      inst,
      key: inst.spec.instrument_key,
      contract,
      multiplier,
      localSymbol: contract.symbol,
      tradingClass: contract.symbol,
    };
  }
  const expiry = contract.lastTradeDateOrContractMonth ?? '';
  const month = MONTH_CODES[Number(expiry.slice(4, 6)) - 1] ?? '';
  return {
    inst,
    key: inst.spec.instrument_key,
    contract: { ...contract, multiplier },
    multiplier,
    localSymbol: `${contract.symbol}${month}${expiry.slice(3, 4)}`,
    tradingClass: contract.symbol,
  };
}

/** What a request names (the TWS API `Contract` fields a client may fill in). */
export interface ContractQuery {
  conId: number;
  symbol: string;
  secType: string;
  lastTradeDateOrContractMonth: string;
  multiplier: string;
  exchange: string;
  primaryExch: string;
  currency: string;
  localSymbol: string;
  tradingClass: string;
}

/**
 * The listed contracts a query matches, as TWS resolves them: by conId when given, else by every
 * field that is filled in (exchange SMART matches a stock's SMART routing; a futures month
 * `YYYYMM` matches its expiry).
 */
export function matchContracts(all: readonly ListedContract[], q: ContractQuery): ListedContract[] {
  if (q.conId > 0) return all.filter((c) => c.inst.conId === q.conId);
  const eq = (want: string, have: string | undefined): boolean =>
    want === '' || want.toUpperCase() === (have ?? '').toUpperCase();
  return all.filter((c) => {
    const k = c.contract;
    const expiry = k.lastTradeDateOrContractMonth ?? '';
    const exchange = q.exchange.toUpperCase();
    const exchangeOk =
      exchange === '' ||
      exchange === k.exchange ||
      (k.secType === 'STK' && c.inst.validExchanges.split(',').includes(exchange));
    return (
      (q.symbol !== '' || q.localSymbol !== '') &&
      eq(q.symbol, k.symbol) &&
      eq(q.secType, k.secType) &&
      eq(q.currency, k.currency) &&
      eq(q.localSymbol, c.localSymbol) &&
      eq(q.tradingClass, c.tradingClass) &&
      eq(q.primaryExch, k.primaryExch) &&
      (q.multiplier === '' || Number(q.multiplier) === Number(c.multiplier)) &&
      (q.lastTradeDateOrContractMonth === '' || expiry.startsWith(q.lastTradeDateOrContractMonth)) &&
      exchangeOk
    );
  });
}

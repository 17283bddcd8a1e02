/** The Interactive Brokers venue adapter (docs/ib.md). */
export {
  fromIbContract,
  IB_VENUE,
  type IbContract,
  type IbContractDetailsRules,
  rulesFromContractDetails,
  toIbContract,
} from './contracts.ts';
export { type CommissionHalf, type ExecutionHalf, FillJoiner } from './fills.ts';
export { IbOrderRefused, ibOrderOf, orderStatusOf, parseIbTime } from './mapping.ts';
export { parseTradingHours } from './trading-hours.ts';
export {
  type CreateIbVenueOptions,
  createIbVenue,
  IB_RATE_LIMITS,
  type IbConnectionSettings,
  type IbMarketDataType,
  type IbVenue,
  type IbVenueConfig,
  type IbVenueLog,
} from './venue.ts';

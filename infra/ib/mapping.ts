/**
 * TWS API payloads ↔ the Venue port's domain shapes, for the IBKR adapter (venue.ts). Pure: no
 * socket, no client object, no clock — the caller passes `now` where a time is needed.
 *
 * | TWS API | port |
 * | --- | --- |
 * | `Order` (action, orderType MKT/LMT, totalQuantity, lmtPrice, tif, orderRef, account) | `VenueOrderRequest` (`orderRef` = our client order id) |
 * | `orderStatus` / `openOrder` status | `VenueOrderStatus` (table in {@link orderStatusOf}) |
 * | `execDetails` + `commissionReport` (joined on `execId`, fills.ts) | `VenueTrade` (`trade_id` = execId) |
 * | execution `side` BOT / SLD | BUY / SELL |
 * | execution `lastLiquidity` 1 added / 2 removed | MAKER / TAKER |
 * | execution `time` "20261207 14:30:05 US/Eastern", "20261207-14:30:05", "20261207  14:30:05" | bigint ns (UTC unless a zone is named) |
 *
 * Quantities and prices arrive as JS numbers from `@stoqey/ib`; they become decimal strings through
 * their shortest round-trip form (0.1 → "0.1"), so nothing is rounded on the way in.
 */
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import { millisToNanos, type Nanos } from '../../shared/domain/time.ts';
import type { Liquidity, Side, TimeInForce } from '../../shared/domain/types.ts';
import type {
  VenueInstrumentRules,
  VenueOrderRequest,
  VenueOrderState,
  VenueOrderStatus,
} from '../../shared/ports/venue.ts';

/** IB's "unset" double (Double.MAX_VALUE): a field the server has no value for. */
export const IB_UNSET_DOUBLE = 1.7976931348623157e308;

/** The order fields the adapter sets (names as in the TWS API and `@stoqey/ib`'s `Order`). */
export interface IbOrderFields {
  action: 'BUY' | 'SELL';
  orderType: 'MKT' | 'LMT';
  totalQuantity: number;
  lmtPrice?: number | undefined;
  tif: 'DAY' | 'GTC' | 'IOC' | 'FOK';
  /** Our client order id: IB echoes it in open orders and executions, so an order is found by it. */
  orderRef: string;
  account?: string | undefined;
  transmit: true;
  /** Fill outside regular trading hours: never (the session gate is the execution core's, shared/execution/session.ts). */
  outsideRth: false;
}

/** A request the adapter cannot send: the message names the field and the problem. */
export class IbOrderRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'IbOrderRefused';
  }
}

const TIF: Readonly<Record<TimeInForce, IbOrderFields['tif'] | null>> = {
  DAY: 'DAY',
  GTC: 'GTC',
  IOC: 'IOC',
  FOK: 'FOK',
  // IB has no post-only time in force for stocks and futures.
  GTX: null,
};

/** A decimal string as the number the TWS API encodes (exact for every tick- and step-aligned value we send). */
function wireNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || fmt(toDec(String(n))) !== fmt(toDec(value))) {
    throw new RangeError(`${value} has no exact binary form`);
  }
  return n;
}

/** Whether `value` is a whole multiple of `step` (exact decimal arithmetic). */
export function onStep(value: string, step: string | null | undefined): boolean {
  if (step === null || step === undefined) return true;
  const s = toDec(step);
  if (!s.gt(0)) return true;
  return toDec(value).mod(s).isZero();
}

/**
 * The IB order for a request, checked against the instrument's rules (step, min size, tick): a
 * request the venue would refuse is refused here with the field and the reason, before any send.
 */
export function ibOrderOf(
  req: VenueOrderRequest,
  rules: VenueInstrumentRules | undefined,
  account: string | undefined,
): IbOrderFields {
  let qty: ReturnType<typeof toDec>;
  try {
    qty = toDec(req.quantity);
  } catch {
    throw new IbOrderRefused('quantity', `quantity ${JSON.stringify(req.quantity)} is not a decimal`);
  }
  if (!qty.gt(0)) throw new IbOrderRefused('quantity', `quantity ${req.quantity} must be greater than 0`);
  if (rules !== undefined) {
    if (!onStep(req.quantity, rules.step_size)) {
      throw new IbOrderRefused(
        'quantity',
        `quantity ${req.quantity} is not a multiple of the size increment ${rules.step_size}`,
      );
    }
    if (rules.min_qty !== null && qty.lt(rules.min_qty)) {
      throw new IbOrderRefused(
        'quantity',
        `quantity ${req.quantity} is below the minimum size ${rules.min_qty}`,
      );
    }
  }
  const tif = TIF[req.time_in_force];
  if (tif === null) {
    throw new IbOrderRefused(
      'time_in_force',
      `time in force ${req.time_in_force} (post-only) is not offered by IB`,
    );
  }
  const base = {
    action: req.side,
    totalQuantity: wireNumber(req.quantity),
    tif,
    orderRef: req.client_order_id,
    ...(account !== undefined && account !== '' ? { account } : {}),
    transmit: true as const,
    outsideRth: false as const,
  };
  if (req.order_type === 'MARKET') return { ...base, orderType: 'MKT' };
  if (req.price === null) throw new IbOrderRefused('price', 'a LIMIT order needs a price');
  let price: ReturnType<typeof toDec>;
  try {
    price = toDec(req.price);
  } catch {
    throw new IbOrderRefused('price', `price ${JSON.stringify(req.price)} is not a decimal`);
  }
  if (!price.gt(0)) throw new IbOrderRefused('price', `price ${req.price} must be greater than 0`);
  if (rules !== undefined && !onStep(req.price, rules.tick_size)) {
    throw new IbOrderRefused(
      'price',
      `price ${req.price} is not a multiple of the minimum tick ${rules.tick_size}`,
    );
  }
  return { ...base, orderType: 'LMT', lmtPrice: wireNumber(req.price) };
}

/**
 * IB order status → port status.
 *
 * | IB | port |
 * | --- | --- |
 * | PendingSubmit, PreSubmitted, Submitted, ApiPending, PendingCancel, Unknown | NEW, or PARTIALLY_FILLED once something filled |
 * | Filled | FILLED |
 * | Cancelled, ApiCancelled | CANCELED |
 * | Inactive | REJECTED (IB holds an order it will not work: rejected, or outside its permissions) |
 */
export function orderStatusOf(status: string, filled: string, quantity: string): VenueOrderStatus {
  const some = toDec(filled).gt(0);
  switch (status) {
    case 'Filled':
      return 'FILLED';
    case 'Cancelled':
    case 'ApiCancelled':
      return 'CANCELED';
    case 'Inactive':
      return some ? 'CANCELED' : 'REJECTED';
    default:
      if (some && toDec(filled).gte(quantity)) return 'FILLED';
      return some ? 'PARTIALLY_FILLED' : 'NEW';
  }
}

/** Whether an order in this state can change no more. */
export function isFinal(status: VenueOrderStatus): boolean {
  return status !== 'NEW' && status !== 'PARTIALLY_FILLED';
}

/** A number from the TWS API as a canonical decimal string (IB's unset value → null). */
export function decimalOf(v: number | string | undefined | null): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && (!Number.isFinite(v) || v === IB_UNSET_DOUBLE || v === Number.MAX_VALUE)) {
    return null;
  }
  try {
    return fmt(toDec(typeof v === 'number' ? String(v) : v));
  } catch {
    return null;
  }
}

/** Execution side: BOT → BUY, SLD → SELL (BUY / SELL accepted too). */
export function sideOfExecution(side: string | undefined): Side {
  const s = (side ?? '').trim().toUpperCase();
  if (s === 'BOT' || s === 'BUY') return 'BUY';
  if (s === 'SLD' || s === 'SELL') return 'SELL';
  throw new RangeError(`execution side ${JSON.stringify(side)} is neither BOT nor SLD`);
}

/** Execution `lastLiquidity`: 1 added → MAKER, anything else (2 removed, 3 routed out, none) → TAKER. */
export function liquidityOf(lastLiquidity: number | { value?: number } | undefined): Liquidity {
  const v = typeof lastLiquidity === 'object' && lastLiquidity !== null ? lastLiquidity.value : lastLiquidity;
  return v === 1 ? 'MAKER' : 'TAKER';
}

/** A wall-clock reading in a time zone; `weekday` 0 = Sunday … 6 = Saturday. */
export interface ZonedWallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall-clock time in `zone` (an IB or IANA zone name) at `utcMs`; one cached formatter per zone. */
export function zonedWallTime(zone: string, utcMs: number): ZonedWallTime {
  let f = zoneFormatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: ianaZone(zone),
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    zoneFormatters.set(zone, f);
  }
  const parts = f.formatToParts(new Date(utcMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '0';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    second: Number(get('second')),
    weekday: WEEKDAYS.indexOf(get('weekday')),
  };
}

/** Milliseconds to add to a wall-clock time in `zone` to get UTC at about `utcGuessMs`. */
function zoneOffsetMs(zone: string, utcGuessMs: number): number {
  const w = zonedWallTime(zone, utcGuessMs);
  return utcGuessMs - Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** IB's time-zone names (EST, "US/Eastern", …) as IANA zones Intl knows. */
const ZONE_ALIASES: Readonly<Record<string, string>> = {
  EST: 'America/New_York',
  EDT: 'America/New_York',
  EST5EDT: 'America/New_York',
  CST: 'America/Chicago',
  CDT: 'America/Chicago',
  CST6CDT: 'America/Chicago',
  MET: 'Europe/Berlin',
  GMT: 'UTC',
  UTC: 'UTC',
};

/** The IANA zone of an IB zone name; a RangeError for one Intl does not know. */
export function ianaZone(zone: string): string {
  const z = ZONE_ALIASES[zone] ?? zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: z });
  } catch {
    throw new RangeError(`unknown time zone ${JSON.stringify(zone)}`);
  }
  return z;
}

/** UTC milliseconds of a wall-clock time in `zone` (DST-correct: the offset is found at that instant). */
export function wallTimeToUtcMs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  zone: string,
): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const z = ianaZone(zone);
  if (z === 'UTC') return wall;
  const first = wall + zoneOffsetMs(z, wall);
  return wall + zoneOffsetMs(z, first);
}

const EXEC_TIME_RE = /^(\d{4})(\d{2})(\d{2})[\s-]+(\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?$/;

/**
 * An execution (or order) time as IB writes it → bigint nanoseconds. Forms: "yyyyMMdd HH:mm:ss
 * ZONE", "yyyyMMdd-HH:mm:ss" (UTC), "yyyyMMdd  HH:mm:ss" (no zone: `defaultZone`, UTC unless
 * configured), or epoch seconds.
 */
export function parseIbTime(text: string | undefined, defaultZone = 'UTC'): Nanos {
  const s = (text ?? '').trim();
  if (/^\d{9,10}$/.test(s)) return millisToNanos(Number(s) * 1000);
  const m = EXEC_TIME_RE.exec(s);
  if (m === null)
    throw new RangeError(`execution time ${JSON.stringify(text)} is not "yyyyMMdd HH:mm:ss [zone]"`);
  const n = (i: number) => Number(m[i]);
  const dashed = /^\d{8}-/.test(s);
  const zone = m[7] ?? (dashed ? 'UTC' : defaultZone);
  return millisToNanos(wallTimeToUtcMs(n(1), n(2), n(3), n(4), n(5), n(6), zone));
}

/** `ExecutionFilter.time` for executions since `sinceMs`: "yyyyMMdd-HH:mm:ss" in UTC. */
export function executionFilterTime(sinceMs: number): string {
  const d = new Date(Math.max(0, sinceMs));
  const p = (v: number) => String(v).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())}`;
}

/** The order state the adapter keeps per IB order id, folded from openOrder / orderStatus / errors. */
export interface IbOrderRecord {
  orderId: number;
  client_order_id: string;
  instrument_key: string;
  side: Side;
  quantity: string;
  /** Last IB status string seen (null: none yet). */
  ibStatus: string | null;
  filled: string;
  avg_price: string | null;
  reason?: string | undefined;
  ts_event: Nanos;
}

/** The port's view of an order record. */
export function stateOf(r: IbOrderRecord): VenueOrderState {
  const status = r.ibStatus === null ? 'NEW' : orderStatusOf(r.ibStatus, r.filled, r.quantity);
  return {
    client_order_id: r.client_order_id,
    venue_order_id: String(r.orderId),
    instrument_key: r.instrument_key,
    side: r.side,
    status,
    quantity: r.quantity,
    filled_quantity: r.filled,
    avg_price: toDec(r.filled).gt(0) ? r.avg_price : null,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ts_event: r.ts_event,
  };
}

/** Fold an `orderStatus` message into a record (filled never goes backwards: messages can be stale). */
export function withOrderStatus(
  r: IbOrderRecord,
  status: string,
  filled: number | undefined,
  avgFillPrice: number | undefined,
  now: Nanos,
): IbOrderRecord {
  const f = decimalOf(filled) ?? r.filled;
  const keepFilled = toDec(f).lt(r.filled);
  const wasFinal = r.ibStatus !== null && isFinal(stateOf(r).status);
  if (wasFinal && !isFinal(orderStatusOf(status, keepFilled ? r.filled : f, r.quantity))) return r;
  const avg = decimalOf(avgFillPrice);
  return {
    ...r,
    ibStatus: status,
    filled: keepFilled ? r.filled : f,
    avg_price: keepFilled ? r.avg_price : avg !== null && toDec(avg).gt(0) ? avg : r.avg_price,
    ts_event: now,
  };
}

/** IB error codes the adapter reads (TWS API "Message Codes"). */
export const IB_CODES = {
  MAX_RATE: 100,
  DUPLICATE_ORDER_ID: 103,
  /** Can't modify a filled order. */
  MODIFY_FILLED: 104,
  /** The order being modified does not match the original. */
  MODIFY_MISMATCH: 105,
  CANNOT_CANCEL: 161,
  NO_SECURITY_DEFINITION: 200,
  ORDER_REJECTED: 201,
  ORDER_CANCELLED: 202,
  NOT_CONNECTED: 504,
  CONNECT_FAIL: 502,
  CANCEL_UNKNOWN_ORDER: 10147,
  CONNECTIVITY_LOST: 1100,
  CONNECTIVITY_RESTORED_DATA_LOST: 1101,
  CONNECTIVITY_RESTORED: 1102,
} as const;

/**
 * Answers to a placeOrder whose order id TWS already has (a resend after an unknown outcome): the
 * order exists — look it up, never count it as refused.
 */
export function isKnownOrderId(code: number): boolean {
  return (
    code === IB_CODES.DUPLICATE_ORDER_ID ||
    code === IB_CODES.MODIFY_FILLED ||
    code === IB_CODES.MODIFY_MISMATCH
  );
}

/** Informational codes (market data farm status, …): never an error of a request. */
export function isInformational(code: number): boolean {
  return (code >= 2100 && code < 2200) || code === 399;
}

/** Port error kind of an IB error code answering a request. */
export function errorKindOf(code: number): 'transient' | 'rate_limited' | 'rejected' | 'not_found' {
  if (code === IB_CODES.MAX_RATE) return 'rate_limited';
  if (code === IB_CODES.CANCEL_UNKNOWN_ORDER) return 'not_found';
  if (
    code === IB_CODES.NOT_CONNECTED ||
    code === IB_CODES.CONNECT_FAIL ||
    code === IB_CODES.CONNECTIVITY_LOST ||
    code === 326 || // client id in use
    code === 507 // bad message length: the socket is gone
  ) {
    return 'transient';
  }
  return 'rejected';
}

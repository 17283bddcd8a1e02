/**
 * The boundary: ccxt's unified structures (order, trade, balance, position, market, order book)
 * → the Venue port's domain shapes. ccxt's TypeScript types are loose (most fields optional,
 * `info: any`), so every structure is validated with zod here and nothing ccxt-shaped passes on.
 *
 * - decimals: exact canonical strings via numbers.ts, prices snapped to the market's tick and
 *   quantities to its step when they are float noise away from them;
 * - time: ms → ns (`ts_event`); a structure without a time gets the session clock's now;
 * - symbols: ccxt unified symbols → canonical instrument ids (the configured spelling when the
 *   instrument is configured, else `fromCcxtSymbol`);
 * - status: ccxt `open` → NEW or PARTIALLY_FILLED (filled > 0), `closed` → FILLED, `canceled` /
 *   `cancelled` → CANCELED, `rejected` → REJECTED, `expired` → EXPIRED.
 */
import { z } from 'zod';
import { type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import { millisToNanos, type Nanos } from '../../shared/domain/time.ts';
import type { Side } from '../../shared/domain/types.ts';
import type {
  BookLevel,
  VenueBalance,
  VenueBook,
  VenueInstrumentRules,
  VenueOrderState,
  VenueOrderStatus,
  VenuePosition,
  VenueTrade,
} from '../../shared/ports/venue.ts';
import { decimalFromCcxt, type Grid, gridOf, incrementFromPrecision } from './numbers.ts';

// ---------------------------------------------------------------------------------------------
// zod schemas of the ccxt unified structures (only the fields we read)
// ---------------------------------------------------------------------------------------------

/** A ccxt number field: a number, sometimes a numeric string; `undefined` when unknown. */
const numLike = z.union([z.number(), z.string().regex(/^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/)]);
const optNum = numLike.nullish();
const idLike = z.union([z.string(), z.number()]).transform((v) => String(v));

export const CcxtOrderSchema = z.object({
  id: idLike,
  clientOrderId: z.string().nullish(),
  timestamp: z.number().nullish(),
  lastTradeTimestamp: z.number().nullish(),
  lastUpdateTimestamp: z.number().nullish(),
  symbol: z.string().nullish(),
  type: z.string().nullish(),
  side: z.string().nullish(),
  price: optNum,
  amount: optNum,
  filled: optNum,
  remaining: optNum,
  average: optNum,
  status: z.string().nullish(),
  info: z.unknown(),
});
export type CcxtOrder = z.infer<typeof CcxtOrderSchema>;

const feeSchema = z.object({ cost: optNum, currency: z.string().nullish() });

export const CcxtTradeSchema = z.object({
  id: idLike.nullish(),
  order: idLike.nullish(),
  symbol: z.string(),
  side: z.string().nullish(),
  price: numLike,
  amount: numLike,
  takerOrMaker: z.string().nullish(),
  fee: feeSchema.nullish(),
  fees: z.array(feeSchema).nullish(),
  timestamp: z.number().nullish(),
  info: z.unknown(),
});
export type CcxtTrade = z.infer<typeof CcxtTradeSchema>;

export const CcxtBalancesSchema = z.object({
  free: z.record(z.string(), optNum).nullish(),
  used: z.record(z.string(), optNum).nullish(),
  total: z.record(z.string(), optNum).nullish(),
});

export const CcxtPositionSchema = z.object({
  symbol: z.string(),
  contracts: optNum,
  side: z.string().nullish(),
  entryPrice: optNum,
});

const minMax = z.object({ min: optNum, max: optNum }).nullish();

export const CcxtMarketSchema = z.object({
  id: idLike,
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  settle: z.string().nullish(),
  type: z.string().nullish(),
  spot: z.boolean().nullish(),
  contract: z.boolean().nullish(),
  linear: z.boolean().nullish(),
  inverse: z.boolean().nullish(),
  active: z.boolean().nullish(),
  contractSize: optNum,
  precision: z.object({ amount: optNum, price: optNum }),
  limits: z.object({ amount: minMax, price: minMax, cost: minMax }).partial().nullish(),
});
export type CcxtMarket = z.infer<typeof CcxtMarketSchema>;

const level = z.array(numLike).min(2);
export const CcxtOrderBookSchema = z.object({
  bids: z.array(level),
  asks: z.array(level),
  timestamp: z.number().nullish(),
});

// ---------------------------------------------------------------------------------------------
// Markets
// ---------------------------------------------------------------------------------------------

/** What the session knows about one tradable market. */
export interface MarketInfo {
  instrument_key: string;
  symbol: string;
  /** The venue's own market id (`BTCUSDT`, `BTC-PERPETUAL`). */
  market_id: string;
  base: string;
  quote: string;
  settle: string | null;
  contract: boolean;
  contract_size: DecimalString | null;
  tick: DecimalString | null;
  step: DecimalString | null;
  price_grid: Grid;
  amount_grid: Grid;
  rules: VenueInstrumentRules;
}

function optDecimal(v: number | string | null | undefined): DecimalString | null {
  if (v === null || v === undefined) return null;
  return decimalFromCcxt(v);
}

/**
 * A ccxt market → MarketInfo (precision converted from the exchange's precision mode).
 * `amountInContracts`: whether the exchange's ccxt `amount` counts contracts of `contractSize`
 * (OKX, Bybit, Binance) — then the rules' contract size is ccxt's `contractSize` — or is already in
 * the contract's own unit (Deribit: USD for inverse futures, coin for options and linear
 * contracts, while ccxt's `contractSize` is its minimum lot) — then it is 1.
 */
export function marketInfoOf(
  raw: unknown,
  instrumentKey: string,
  precisionMode: number,
  amountInContracts = true,
): MarketInfo {
  const m = CcxtMarketSchema.parse(raw);
  const tick = incrementFromPrecision(m.precision.price, precisionMode);
  const step = incrementFromPrecision(m.precision.amount, precisionMode);
  const amountGrid = gridOf(step);
  const limits = m.limits ?? {};
  const onStep = (v: number | string | null | undefined) =>
    v === null || v === undefined ? null : decimalFromCcxt(v, amountGrid);
  return {
    instrument_key: instrumentKey,
    symbol: m.symbol,
    market_id: m.id,
    base: m.base,
    quote: m.quote,
    settle: m.settle ?? null,
    contract: m.contract === true,
    contract_size: optDecimal(m.contractSize),
    tick,
    step,
    price_grid: gridOf(tick),
    amount_grid: amountGrid,
    rules: {
      instrument_key: instrumentKey,
      tick_size: tick,
      step_size: step,
      min_qty: onStep(limits.amount?.min),
      max_qty: onStep(limits.amount?.max),
      min_notional: optDecimal(limits.cost?.min),
      contract_size: m.contract === true ? (amountInContracts ? optDecimal(m.contractSize) : '1') : '1',
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Parse context
// ---------------------------------------------------------------------------------------------

/** What the parsers need from the session. */
export interface ParseContext {
  /** Our clock's now (ns): the time of structures that carry none. */
  now(): Nanos;
  /** The market for a ccxt symbol (null when the session has not loaded it). */
  market(symbol: string): MarketInfo | null;
  /** Canonical instrument key for a ccxt symbol. */
  instrumentKey(symbol: string): string;
  /** The client id the venue reports for an order (ccxt `clientOrderId`, Deribit `label`). */
  venueClientId(order: CcxtOrder): string | null;
  /** Our client order id for a venue client id (null when it cannot be mapped). */
  ourClientId(venueClientId: string): string | null;
  /** Our client order id for a venue order id, when an order with that id has been seen. */
  clientIdOfOrder(venueOrderId: string): string | null;
}

export class PayloadError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'PayloadError';
  }
}

function parseWith<T extends z.ZodType>(schema: T, raw: unknown, source: string): z.output<T> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new PayloadError(source, `unexpected ccxt structure: ${first}`);
  }
  return r.data;
}

function sideOf(s: string | null | undefined, source: string): Side {
  const v = s?.toLowerCase();
  if (v === 'buy') return 'BUY';
  if (v === 'sell') return 'SELL';
  throw new PayloadError(source, `side ${JSON.stringify(s)} is neither buy nor sell`);
}

function tsOf(ctx: ParseContext, ...ms: Array<number | null | undefined>): Nanos {
  for (const t of ms) if (typeof t === 'number' && Number.isFinite(t) && t > 0) return millisToNanos(t);
  return ctx.now();
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

/** ccxt unified order status → our venue order status. */
export function mapOrderStatus(
  status: string | null | undefined,
  filled: DecimalString,
): VenueOrderStatus | null {
  switch (status?.toLowerCase()) {
    case 'open':
      return toDec(filled).gt(0) ? 'PARTIALLY_FILLED' : 'NEW';
    case 'closed':
      return 'FILLED';
    case 'canceled':
    case 'cancelled':
      return 'CANCELED';
    case 'rejected':
      return 'REJECTED';
    case 'expired':
      return 'EXPIRED';
    default:
      return null;
  }
}

export interface ParsedOrder {
  state: VenueOrderState;
  /** The venue's client id as sent (null when the payload has none). */
  venue_client_id: string | null;
  /**
   * False when the payload lacks fields a full order carries (status, amount, side): some
   * exchanges answer a create/cancel with ids only, and the session then fetches the order.
   */
  complete: boolean;
}

/**
 * A ccxt order → VenueOrderState. `fallback` fills what a thin payload (ids only) lacks, e.g. the
 * request that created it.
 */
export function parseOrder(
  raw: unknown,
  ctx: ParseContext,
  fallback: Partial<Pick<VenueOrderState, 'instrument_key' | 'side' | 'quantity' | 'client_order_id'>> = {},
): ParsedOrder {
  const o = parseWith(CcxtOrderSchema, raw, 'order');
  const symbol = o.symbol ?? null;
  const market = symbol !== null ? ctx.market(symbol) : null;
  const instrumentKey = symbol !== null ? ctx.instrumentKey(symbol) : (fallback.instrument_key ?? null);
  if (instrumentKey === null) throw new PayloadError('order', `order ${o.id} has no symbol`);
  const amountGrid = market?.amount_grid ?? null;
  const priceGrid = market?.price_grid ?? null;

  const venueClientId = ctx.venueClientId(o);
  const clientOrderId =
    (venueClientId !== null ? ctx.ourClientId(venueClientId) : null) ??
    ctx.clientIdOfOrder(o.id) ??
    fallback.client_order_id ??
    '';

  let filled: DecimalString | null = o.filled != null ? decimalFromCcxt(o.filled, amountGrid) : null;
  let quantity: DecimalString | null = o.amount != null ? decimalFromCcxt(o.amount, amountGrid) : null;
  if (quantity === null && filled !== null && o.remaining != null) {
    quantity = fmt(toDec(filled).plus(toDec(decimalFromCcxt(o.remaining, amountGrid))));
  }
  if (filled === null && quantity !== null && o.remaining != null) {
    filled = fmt(toDec(quantity).minus(toDec(decimalFromCcxt(o.remaining, amountGrid))));
  }
  const status = mapOrderStatus(o.status, filled ?? '0');
  let side: Side | null = null;
  if (o.side != null) side = sideOf(o.side, 'order');

  const complete = status !== null && quantity !== null && side !== null && filled !== null;
  const avg = o.average != null && toDec(decimalFromCcxt(o.average)).gt(0) ? o.average : null;
  const state: VenueOrderState = {
    client_order_id: clientOrderId,
    venue_order_id: o.id,
    instrument_key: instrumentKey,
    side: side ?? fallback.side ?? 'BUY',
    status: status ?? 'NEW',
    quantity: quantity ?? fallback.quantity ?? '0',
    filled_quantity: filled ?? '0',
    avg_price: avg !== null ? decimalFromCcxt(avg, priceGrid) : null,
    ts_event: tsOf(ctx, o.lastUpdateTimestamp, o.lastTradeTimestamp, o.timestamp),
  };
  if (status === 'REJECTED' || status === 'EXPIRED') {
    const reason = rejectReasonOf(o.info);
    if (reason !== undefined) state.reason = reason;
  }
  return { state, venue_client_id: venueClientId, complete };
}

function rejectReasonOf(info: unknown): string | undefined {
  const parsed = z.record(z.string(), z.unknown()).safeParse(info);
  if (!parsed.success) return undefined;
  const rec = parsed.data;
  for (const k of ['rejectReason', 'reject_reason', 'r', 'cancelType', 'sCode', 'sMsg', 'reason']) {
    const v = rec[k];
    if (typeof v === 'string' && v !== '' && v !== 'NONE') return v;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Trades
// ---------------------------------------------------------------------------------------------

/** A ccxt trade of ours (fetchMyTrades / watchMyTrades) → VenueTrade. */
export function parseMyTrade(raw: unknown, ctx: ParseContext): VenueTrade {
  const t = parseWith(CcxtTradeSchema, raw, 'trade');
  if (t.id == null || t.id === '') throw new PayloadError('trade', 'trade without an id');
  const market = ctx.market(t.symbol);
  const venueOrderId = t.order ?? '';
  const fee = t.fee ?? t.fees?.find((f) => f.cost != null) ?? null;
  return {
    trade_id: t.id,
    venue_order_id: venueOrderId,
    client_order_id: venueOrderId !== '' ? ctx.clientIdOfOrder(venueOrderId) : null,
    instrument_key: ctx.instrumentKey(t.symbol),
    side: sideOf(t.side, 'trade'),
    quantity: decimalFromCcxt(t.amount, market?.amount_grid ?? null),
    price: decimalFromCcxt(t.price, market?.price_grid ?? null),
    fee: fee?.cost != null ? decimalFromCcxt(fee.cost) : '0',
    fee_currency: fee?.currency ?? market?.settle ?? market?.quote ?? '',
    liquidity: t.takerOrMaker?.toLowerCase() === 'maker' ? 'MAKER' : 'TAKER',
    ts_event: tsOf(ctx, t.timestamp),
  };
}

/** A public trade print (watchTrades) → the `public_trade` event fields. */
export function parsePublicTrade(
  raw: unknown,
  ctx: ParseContext,
): { instrument_key: string; price: DecimalString; size: DecimalString; side: Side; ts_event: Nanos } {
  const t = parseWith(CcxtTradeSchema, raw, 'public trade');
  const market = ctx.market(t.symbol);
  return {
    instrument_key: ctx.instrumentKey(t.symbol),
    price: decimalFromCcxt(t.price, market?.price_grid ?? null),
    size: decimalFromCcxt(t.amount, market?.amount_grid ?? null),
    side: sideOf(t.side, 'public trade'),
    ts_event: tsOf(ctx, t.timestamp),
  };
}

// ---------------------------------------------------------------------------------------------
// Balances, positions, books
// ---------------------------------------------------------------------------------------------

/**
 * ccxt balances → one VenueBalance per asset with a non-zero free or total. Throws when the payload
 * has neither `total` nor `free` (a failed query must never read as flat).
 */
export function parseBalances(raw: unknown): VenueBalance[] {
  const b = parseWith(CcxtBalancesSchema, raw, 'balance');
  if (!b.total && !b.free) throw new PayloadError('balance', 'balance without total or free amounts');
  const assets = new Set<string>([...Object.keys(b.total ?? {}), ...Object.keys(b.free ?? {})]);
  const out: VenueBalance[] = [];
  for (const asset of [...assets].sort()) {
    const free = b.free?.[asset];
    const used = b.used?.[asset];
    const total = b.total?.[asset];
    const freeDec = free != null ? decimalFromCcxt(free) : null;
    let totalDec = total != null ? decimalFromCcxt(total) : null;
    if (totalDec === null && freeDec !== null) {
      totalDec = fmt(toDec(freeDec).plus(used != null ? toDec(decimalFromCcxt(used)) : 0));
    }
    if (totalDec === null) continue;
    const f = freeDec ?? totalDec;
    if (toDec(f).isZero() && toDec(totalDec).isZero()) continue;
    out.push({ asset, free: f, total: totalDec });
  }
  return out;
}

/** ccxt positions → signed VenuePositions (hedge-mode long and short legs netted per instrument). */
export function parsePositions(raw: unknown, ctx: ParseContext): VenuePosition[] {
  const list = parseWith(z.array(CcxtPositionSchema), raw, 'positions');
  const byKey = new Map<string, { qty: ReturnType<typeof toDec>; entry: DecimalString | null }>();
  for (const p of list) {
    if (p.contracts == null) continue;
    const market = ctx.market(p.symbol);
    const contracts = toDec(decimalFromCcxt(p.contracts, market?.amount_grid ?? null)).abs();
    if (contracts.isZero()) continue;
    const signed = p.side?.toLowerCase() === 'short' ? contracts.neg() : contracts;
    const key = ctx.instrumentKey(p.symbol);
    const prev = byKey.get(key);
    const entry = p.entryPrice != null ? decimalFromCcxt(p.entryPrice, market?.price_grid ?? null) : null;
    if (prev === undefined) byKey.set(key, { qty: signed, entry });
    else byKey.set(key, { qty: prev.qty.plus(signed), entry: null });
  }
  return [...byKey.entries()]
    .filter(([, v]) => !v.qty.isZero())
    .map(([instrument_key, v]) => ({ instrument_key, quantity: fmt(v.qty), entry_price: v.entry }));
}

/** A ccxt order book → VenueBook with at most `depth` levels a side. */
export function parseBook(
  raw: unknown,
  instrumentKey: string,
  market: MarketInfo | null,
  depth: number,
  ctx: Pick<ParseContext, 'now'>,
): VenueBook {
  const b = parseWith(CcxtOrderBookSchema, raw, 'order book');
  const side = (levels: Array<Array<number | string>>): BookLevel[] =>
    levels.slice(0, depth).map((l) => ({
      price: decimalFromCcxt(l[0] ?? 0, market?.price_grid ?? null),
      size: decimalFromCcxt(l[1] ?? 0, market?.amount_grid ?? null),
    }));
  return {
    instrument_key: instrumentKey,
    bids: side(b.bids),
    asks: side(b.asks),
    ts_event: typeof b.timestamp === 'number' && b.timestamp > 0 ? millisToNanos(b.timestamp) : ctx.now(),
  };
}

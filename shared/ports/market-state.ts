/**
 * Latest market state per (venue, instrument) and the state of each venue, as the venue edge (the
 * stateful service holding the venue sessions) sees them. Written by the edge, read by the order
 * pipeline: the router scores venues on visible depth, latency and rejection rate and skips venues
 * whose circuit is open; the risk engine values orders at the mid and checks free balance.
 *
 * Instrument keys here are the venue's own canonical id (`SIM:SPOT_PAIR:BTC-USDT` for the SIM venue),
 * i.e. the VENUE part of the key is the venue. Decimals are strings, times integer nanoseconds.
 *
 * Write rate: the edge writes a quote snapshot at most about once per second per instrument (the
 * Firestore guideline is ~1 sustained write/s per document) and venue state on change or every few
 * seconds; readers ignore entries older than their freshness limits.
 */
import { z } from 'zod';
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';

/** Venue health as the edge reports it (the router's vocabulary; UNKNOWN is never stored). */
export const VENUE_HEALTH = ['UP', 'DEGRADED', 'CIRCUIT_OPEN', 'DOWN'] as const;
export type VenueHealth = (typeof VENUE_HEALTH)[number];

export interface DepthLevel {
  price: DecimalString;
  size: DecimalString;
}

export interface MarketQuote {
  venue: string;
  /** The venue's canonical instrument id. */
  instrument_key: string;
  bid: DecimalString | null;
  ask: DecimalString | null;
  /** (bid + ask) / 2 when both are known, else null (or the last trade, at the edge's choice). */
  mid: DecimalString | null;
  /** Visible depth, best first (bids descending, asks ascending); may be empty. */
  bids: DepthLevel[];
  asks: DepthLevel[];
  /** When the venue published this book. */
  ts_event: Nanos;
}

export interface VenueState {
  venue: string;
  status: VenueHealth;
  /** Measured order round-trip (ms); null = not measured yet (the configured value applies). */
  latency_ms: number | null;
  /** Orders sent in the recent window and how many of them the venue rejected. */
  recent_orders: number;
  recent_rejections: number;
  /** Free balance per currency of the venue's trading account (decimal strings); null = unknown. */
  balances: Record<string, DecimalString> | null;
  /** Why the status is what it is (e.g. `circuit open after 5 timeouts`). */
  detail?: string | undefined;
  ts_updated: Nanos;
}

export interface QuoteKey {
  venue: string;
  instrument_key: string;
}

export interface MarketStateStore {
  putQuote(quote: MarketQuote): Promise<void>;
  /** Quotes for `keys`, in the same order (null where none is stored). One round trip. */
  getQuotes(keys: readonly QuoteKey[]): Promise<Array<MarketQuote | null>>;
  putVenueState(state: VenueState): Promise<void>;
  /** States of the given venues (absent = none stored). One round trip. */
  getVenueStates(venues: readonly string[]): Promise<Record<string, VenueState>>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Validation (on write and on read)
// ---------------------------------------------------------------------------------------------

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const LevelSchema = z.object({ price: decimal, size: decimal });

export const MarketQuoteSchema = z.object({
  venue: z.string().min(1),
  instrument_key: z.string().min(1),
  bid: decimal.nullable(),
  ask: decimal.nullable(),
  mid: decimal.nullable(),
  bids: z.array(LevelSchema),
  asks: z.array(LevelSchema),
  ts_event: z.bigint().nonnegative(),
});

export const VenueStateSchema = z.object({
  venue: z.string().min(1),
  status: z.enum(VENUE_HEALTH),
  latency_ms: z.number().nonnegative().nullable(),
  recent_orders: z.number().int().nonnegative(),
  recent_rejections: z.number().int().nonnegative(),
  balances: z.record(z.string(), decimal).nullable(),
  detail: z.string().optional(),
  ts_updated: z.bigint().nonnegative(),
});

const _quoteShape: (x: z.output<typeof MarketQuoteSchema>) => MarketQuote = (x) => x;
const _venueShape: (x: z.output<typeof VenueStateSchema>) => VenueState = (x) => x;
void _quoteShape;
void _venueShape;

/** Validate a record before writing or after reading; the error names `where` and the field. */
export function checkMarketRecord<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new RangeError(`${where}: ${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? 'invalid'}`);
}

/** Rejections over recent orders in [0, 1]; null when there were none. */
export function venueRejectionRate(state: VenueState): number | null {
  if (state.recent_orders <= 0) return null;
  return Math.min(1, Math.max(0, state.recent_rejections / state.recent_orders));
}

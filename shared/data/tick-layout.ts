/**
 * The tick-data layout (SPEC "Tick data"), the same in a bucket and a local folder:
 *
 * ```
 * market-data-tick/<VENUE>/<YYYY-MM-DD>/<PAYLOAD>/trades.parquet
 * market-data-tick/<VENUE>/<YYYY-MM-DD>/<PAYLOAD>/quotes.parquet
 * market-data-tick/<VENUE>/<YYYY-MM-DD>/<PAYLOAD>/book.parquet      (optional L2)
 * instruments/<YYYY-MM-DD>.json
 * ```
 *
 * Days are UTC. Pure helpers: key construction and the days a time window touches.
 */
import { payloadOf, venueOf } from '../domain/instrument-id.ts';
import type { Nanos } from '../domain/time.ts';

export const TICK_ROOT = 'market-data-tick';
export const INSTRUMENTS_ROOT = 'instruments';

export const TICK_KINDS = ['trades', 'quotes', 'book'] as const;
export type TickKind = (typeof TICK_KINDS)[number];

export const NS_PER_DAY = 86_400_000_000_000n;
const MS_PER_DAY = 86_400_000;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `day` is a real calendar date written `YYYY-MM-DD`. */
export function isUtcDay(day: string): boolean {
  const m = DAY_RE.exec(day);
  if (!m) return false;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === day;
}

function assertDay(day: string): void {
  if (!isUtcDay(day))
    throw new RangeError(`day must be a date written YYYY-MM-DD, got ${JSON.stringify(day)}`);
}

/** Nanoseconds at 00:00:00 UTC of `day`. */
export function dayStartNs(day: string): Nanos {
  assertDay(day);
  return BigInt(Date.parse(`${day}T00:00:00Z`)) * 1_000_000n;
}

/** The UTC day holding instant `ns`. */
export function utcDayOf(ns: Nanos): string {
  let days = ns / NS_PER_DAY;
  if (ns % NS_PER_DAY < 0n) days -= 1n;
  return new Date(Number(days) * MS_PER_DAY).toISOString().slice(0, 10);
}

/** `day` shifted by `n` days. */
export function addDays(day: string, n: number): string {
  assertDay(day);
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * MS_PER_DAY).toISOString().slice(0, 10);
}

/** The UTC days that the half-open window [fromNs, toNs) touches, in order (empty when to ≤ from). */
export function daysInWindow(fromNs: Nanos, toNs: Nanos): string[] {
  if (toNs <= fromNs) return [];
  const days: string[] = [];
  const last = utcDayOf(toNs - 1n);
  for (let d = utcDayOf(fromNs); ; d = addDays(d, 1)) {
    days.push(d);
    if (d === last) break;
  }
  return days;
}

/** `<VENUE>` and `<PAYLOAD>` of a canonical instrument id (throws a ValidationError on a bad id). */
export function tickPathParts(instrumentKey: string): { venue: string; payload: string } {
  return { venue: venueOf(instrumentKey), payload: payloadOf(instrumentKey) };
}

/** Folder of one instrument-day: `market-data-tick/<VENUE>/<day>/<PAYLOAD>/`. */
export function tickDayPrefix(instrumentKey: string, day: string): string {
  assertDay(day);
  const { venue, payload } = tickPathParts(instrumentKey);
  return `${TICK_ROOT}/${venue}/${day}/${payload}/`;
}

/** Key of one tick file, e.g. `market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet`. */
export function tickFileKey(instrumentKey: string, day: string, kind: TickKind): string {
  return `${tickDayPrefix(instrumentKey, day)}${kind}.parquet`;
}

/** Key of the instrument definitions file for `day`. */
export function instrumentsFileKey(day: string): string {
  assertDay(day);
  return `${INSTRUMENTS_ROOT}/${day}.json`;
}

/** The day of an `instruments/<day>.json` key, or null for other keys. */
export function dayOfInstrumentsKey(key: string): string | null {
  const m = /^instruments\/(\d{4}-\d{2}-\d{2})\.json$/.exec(key);
  return m?.[1] !== undefined && isUtcDay(m[1]) ? m[1] : null;
}

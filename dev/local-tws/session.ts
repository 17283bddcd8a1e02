/**
 * Trading sessions of the local TWS: when an instrument trades, as IB publishes it in contract
 * details (`tradingHours`, `liquidHours`, `timeZoneId`) and as the server enforces it on orders.
 * Pure: the time is passed in.
 */

import { zonedWallTime } from '../../infra/ib/mapping.ts';

/** Minutes from local midnight, [open, close); close 1440 is the end of the day. */
export type Interval = readonly [open: number, close: number];

export interface TwsSession {
  /** Named in docs and errors. */
  name: string;
  /** IB's time zone id (`US/Eastern`, `US/Central`, `UTC`), an IANA zone name. */
  timeZoneId: string;
  /**
   * Trading intervals per local weekday (index 0 = Sunday … 6 = Saturday); `null` = always open.
   * Orders are accepted only inside these (TWS refuses them with error 201 outside).
   */
  trading: readonly (readonly Interval[])[] | null;
  /** Regular trading hours (IB's `liquidHours`); `null` = the same as `trading`. */
  liquid: readonly (readonly Interval[])[] | null;
}

const h = (hh: number, mm = 0): number => hh * 60 + mm;
const weekdays = (iv: readonly Interval[]): (readonly Interval[])[] => [[], iv, iv, iv, iv, iv, []];

/** Open around the clock, every day (the default: tests run at any hour). */
export const ALWAYS_OPEN: TwsSession = {
  name: 'always open',
  timeZoneId: 'UTC',
  trading: null,
  liquid: null,
};

/** US stocks and ETFs: 04:00–20:00 New York time with extended hours, 09:30–16:00 regular, Mon–Fri. */
export const US_EQUITY_HOURS: TwsSession = {
  name: 'US equities',
  timeZoneId: 'US/Eastern',
  trading: weekdays([[h(4), h(20)]]),
  liquid: weekdays([[h(9, 30), h(16)]]),
};

/**
 * CME Globex equity index futures: Sunday 17:00 to Friday 16:00 Chicago time with a daily halt
 * 16:00–17:00; regular hours 08:30–15:00.
 */
export const CME_EQUITY_FUTURE_HOURS: TwsSession = {
  name: 'CME equity index futures',
  timeZoneId: 'US/Central',
  trading: [
    [[h(17), 1440]],
    [
      [0, h(16)],
      [h(17), 1440],
    ],
    [
      [0, h(16)],
      [h(17), 1440],
    ],
    [
      [0, h(16)],
      [h(17), 1440],
    ],
    [
      [0, h(16)],
      [h(17), 1440],
    ],
    [[0, h(16)]],
    [],
  ],
  liquid: weekdays([[h(8, 30), h(15)]]),
};

interface LocalTime {
  /** YYYYMMDD */
  date: string;
  weekday: number;
  minute: number;
}

function localTime(timeZoneId: string, ms: number): LocalTime {
  const w = zonedWallTime(timeZoneId, ms);
  const p2 = (v: number) => String(v).padStart(2, '0');
  return { date: `${w.year}${p2(w.month)}${p2(w.day)}`, weekday: w.weekday, minute: w.hour * 60 + w.minute };
}

function inside(table: readonly (readonly Interval[])[] | null, t: LocalTime): boolean {
  if (table === null) return true;
  return (table[t.weekday] ?? []).some(([o, c]) => t.minute >= o && t.minute < c);
}

/** Whether orders are accepted at `ms` (Unix milliseconds). */
export function isTrading(s: TwsSession, ms: number): boolean {
  return inside(s.trading, localTime(s.timeZoneId, ms));
}

/** Whether `ms` is inside regular trading hours. */
export function isLiquid(s: TwsSession, ms: number): boolean {
  return inside(s.liquid ?? s.trading, localTime(s.timeZoneId, ms));
}

const hhmm = (m: number): string =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;

function nextDate(date: string): string {
  const d = new Date(
    Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))),
  );
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * IB's hours string for `days` local days from the day of `ms`, e.g.
 * `20261207:0930-20261207:1600;20261212:CLOSED`. A session that runs past midnight is written as
 * one span (`20261206:1700-20261207:1600`), as IB does.
 */
export function hoursString(s: TwsSession, table: 'trading' | 'liquid', ms: number, days = 7): string {
  const t = table === 'liquid' ? (s.liquid ?? s.trading) : s.trading;
  const start = localTime(s.timeZoneId, ms);
  const out: string[] = [];
  let date = start.date;
  let weekday = start.weekday;
  let carry: string | null = null;
  for (let i = 0; i < days; i++) {
    const ivs = t === null ? [[0, 1440] as const] : (t[weekday] ?? []);
    const next = nextDate(date);
    const parts: string[] = [];
    for (const [o, c] of ivs) {
      const from: string = carry !== null && o === 0 ? carry : `${date}:${hhmm(o)}`;
      if (o === 0) carry = null;
      if (c === 1440) {
        // Runs into the next day: joined with a 00:00 start there (if any).
        const nextIvs = t === null ? [[0, 1440] as const] : (t[(weekday + 1) % 7] ?? []);
        if (i + 1 < days && nextIvs.some(([no]) => no === 0)) {
          carry = from;
          continue;
        }
        parts.push(`${from}-${next}:0000`);
      } else {
        parts.push(`${from}-${date}:${hhmm(c)}`);
      }
    }
    if (parts.length === 0 && carry === null) parts.push(`${date}:CLOSED`);
    out.push(...parts);
    date = next;
    weekday = (weekday + 1) % 7;
  }
  if (carry !== null) out.push(`${carry}-${date}:0000`);
  return out.join(';');
}

/**
 * When regular hours next begin at or after `ms`, as TWS writes it in its 399 warning
 * (`2026-12-07 09:30:00 US/Eastern`), or null when they do not within 8 days. Scans by minute.
 */
export function nextLiquidOpen(s: TwsSession, ms: number): string | null {
  const start = Math.ceil(ms / 60_000) * 60_000;
  for (let t = start; t < start + 8 * 86_400_000; t += 60_000) {
    const lt = localTime(s.timeZoneId, t);
    if (!inside(s.liquid ?? s.trading, lt)) continue;
    const d = lt.date;
    return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)} ${hhmm(lt.minute).slice(0, 2)}:${hhmm(lt.minute).slice(2)}:00 ${s.timeZoneId}`;
  }
  return null;
}

/**
 * Trading sessions from IB contract details (`tradingHours` or `liquidHours` with `timeZoneId`),
 * and whether an instant is inside one. Pure.
 *
 * IB writes a session list per day, separated by ";", in the contract's time zone:
 * - current servers: `20261207:0930-20261207:1600;20261208:0930-20261208:1600;20261212:CLOSED`
 *   (a session may end on a later day: `20261206:1700-20261207:1600` for a Sunday-evening future);
 * - older servers: `20261207:0930-1600;20261208:0930-1200,1300-1600;20261212:CLOSED`.
 *
 * Sessions are parsed to UTC milliseconds (DST-correct per date, mapping.ts `wallTimeToUtcMs`).
 */
import { wallTimeToUtcMs } from './mapping.ts';

export interface TradingSession {
  startMs: number;
  endMs: number;
}

export interface TradingSchedule {
  sessions: TradingSession[];
  /** The last instant the schedule speaks for (end of its last listed day): later is unknown. */
  horizonMs: number;
}

const DAY_RE = /^(\d{4})(\d{2})(\d{2})$/;
const HHMM_RE = /^(\d{2})(\d{2})$/;

function utc(date: string, hhmm: string, zone: string, what: string): number {
  const d = DAY_RE.exec(date);
  const t = HHMM_RE.exec(hhmm);
  if (d === null || t === null)
    throw new RangeError(`trading hours: ${what} "${date}:${hhmm}" is not yyyyMMdd:HHmm`);
  return wallTimeToUtcMs(Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2]), 0, zone);
}

/** Parse IB's trading-hours string (see module doc); a RangeError naming the part that is not readable. */
export function parseTradingHours(text: string, timeZoneId: string): TradingSchedule {
  const sessions: TradingSession[] = [];
  let horizonMs = Number.NEGATIVE_INFINITY;
  for (const raw of text.split(';')) {
    const day = raw.trim();
    if (day === '') continue;
    const colon = day.indexOf(':');
    if (colon < 0) throw new RangeError(`trading hours: "${day}" has no "yyyyMMdd:" day`);
    const date = day.slice(0, colon);
    const rest = day.slice(colon + 1);
    horizonMs = Math.max(horizonMs, utc(date, '0000', timeZoneId, 'day') + 86_400_000);
    if (rest.toUpperCase() === 'CLOSED') continue;
    for (const range of rest.split(',')) {
      const [from, to] = range.split('-');
      if (from === undefined || to === undefined)
        throw new RangeError(`trading hours: "${range}" is not a from-to range`);
      const startMs = utc(date, from, timeZoneId, 'start');
      // "yyyyMMdd:HHmm" (current form) or "HHmm" on the same day (older form).
      const endMs = to.includes(':')
        ? utc(to.slice(0, to.indexOf(':')), to.slice(to.indexOf(':') + 1), timeZoneId, 'end')
        : utc(date, to, timeZoneId, 'end');
      if (endMs <= startMs) throw new RangeError(`trading hours: "${range}" ends before it starts`);
      sessions.push({ startMs, endMs });
      horizonMs = Math.max(horizonMs, endMs);
    }
  }
  if (horizonMs === Number.NEGATIVE_INFINITY) throw new RangeError('trading hours: no day listed');
  sessions.sort((a, b) => a.startMs - b.startMs);
  return { sessions, horizonMs };
}

export type SessionCheck =
  | { open: true; closesAtMs: number }
  | { open: false; reason: string; nextOpenMs: number | null }
  /** The instant lies beyond what the schedule lists: read the contract details again. */
  | { open: null };

/** Is `nowMs` inside a session of the schedule? */
export function sessionAt(schedule: TradingSchedule, nowMs: number): SessionCheck {
  if (nowMs >= schedule.horizonMs) return { open: null };
  for (const s of schedule.sessions) {
    if (nowMs >= s.startMs && nowMs < s.endMs) return { open: true, closesAtMs: s.endMs };
  }
  const next = schedule.sessions.find((s) => s.startMs > nowMs);
  const at =
    next === undefined ? 'not within the listed days' : `opens ${new Date(next.startMs).toISOString()}`;
  return {
    open: false,
    reason: `outside trading hours (next session ${at})`,
    nextOpenMs: next?.startMs ?? null,
  };
}

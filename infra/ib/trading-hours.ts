/**
 * IB's trading hours (`tradingHours` or `liquidHours` with `timeZoneId` from contract details) read
 * into the shared schedule (shared/execution/session.ts, where the session gate lives). Pure; this
 * file only parses: whether an order may go out is the execution core's decision.
 *
 * IB writes a session list per day, separated by ";", in the contract's time zone:
 * - current servers: `20261207:0930-20261207:1600;20261208:0930-20261208:1600;20261212:CLOSED`
 *   (a session may end on a later day: `20261206:1700-20261207:1600` for a Sunday-evening future);
 * - older servers: `20261207:0930-1600;20261208:0930-1200,1300-1600;20261212:CLOSED`.
 *
 * Sessions are parsed to UTC nanoseconds (DST-correct per date, mapping.ts `wallTimeToUtcMs`).
 */
import { millisToNanos } from '../../shared/domain/time.ts';
import type { TradingSchedule, TradingSession } from '../../shared/execution/session.ts';
import { wallTimeToUtcMs } from './mapping.ts';

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
      sessions.push({ start: millisToNanos(startMs), end: millisToNanos(endMs) });
      horizonMs = Math.max(horizonMs, endMs);
    }
  }
  if (horizonMs === Number.NEGATIVE_INFINITY) throw new RangeError('trading hours: no day listed');
  sessions.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { sessions, horizon: millisToNanos(horizonMs) };
}

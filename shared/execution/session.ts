/**
 * The trading-session gate: may an order go to the venue at this instant? Pure (no clock, no I/O);
 * the execution core asks it before every child it would send (docs/execution-core.md "Trading
 * sessions"), identically in the backtest window, SHADOW and LIVE.
 *
 * A venue that trades only in sessions (an IBKR stock or future) publishes a schedule: the sessions
 * of the days it lists, and the horizon, the last instant it speaks for. A venue without one (crypto)
 * is always open. Beyond the horizon the schedule is stale, not closed: the gate answers "unknown"
 * and the shell reads the schedule again.
 */
import { NANOS_PER_SECOND, type Nanos, nanosToIso } from '../domain/time.ts';

/** One session: orders may go out in [start, end). */
export interface TradingSession {
  start: Nanos;
  end: Nanos;
}

export interface TradingSchedule {
  /** Ascending by start, not overlapping. */
  sessions: readonly TradingSession[];
  /** The end of the last day the schedule lists: later instants are unknown to it. */
  horizon: Nanos;
}

/** A schedule that speaks for no instant (the venue's could not be read): every instant is unknown. */
export const UNKNOWN_SCHEDULE: TradingSchedule = { sessions: [], horizon: 0n };

export const OUTSIDE_HOURS_POLICIES = ['refuse', 'queue'] as const;
/** What an order outside a session gets: denied with the next open, or held until it. */
export type OutsideHoursPolicy = (typeof OUTSIDE_HOURS_POLICIES)[number];

/** How long the core holds a parent whose instant lies beyond the schedule before asking again. */
export const SESSION_RECHECK_NS = 60n * NANOS_PER_SECOND;

/** The rule a child refused outside the session is denied by. */
export const TRADING_HOURS_RULE = 'trading_hours';

/** What the shell passes into a step: the instrument's schedule (null: always open) and the policy. */
export interface SessionGate {
  schedule: TradingSchedule | null;
  policy: OutsideHoursPolicy;
}

export type SessionCheck =
  | { open: true; closes_at: Nanos }
  | { open: false; next_open: Nanos | null }
  /** The instant lies beyond what the schedule lists. */
  | { open: null; horizon: Nanos };

/** Is `now` inside a session of the schedule? */
export function sessionAt(schedule: TradingSchedule, now: Nanos): SessionCheck {
  if (now >= schedule.horizon) return { open: null, horizon: schedule.horizon };
  let next: Nanos | null = null;
  for (const s of schedule.sessions) {
    if (now >= s.start && now < s.end) return { open: true, closes_at: s.end };
    if (s.start > now && (next === null || s.start < next)) next = s.start;
  }
  return { open: false, next_open: next };
}

/** The gate's answer for an order at `now`. */
export type SessionVerdict =
  | { kind: 'open' }
  /** Deny the child (rule `trading_hours`) with this reason. */
  | { kind: 'refuse'; reason: string }
  /** Send nothing now; step again at `until`. `unknown`: the schedule does not cover `now`. */
  | { kind: 'hold'; until: Nanos; reason: string; unknown: boolean };

/** The session gate: open → send; closed → the policy; beyond the schedule → hold and ask again. */
export function gateAt(gate: SessionGate | null | undefined, now: Nanos): SessionVerdict {
  if (gate === null || gate === undefined || gate.schedule === null) return { kind: 'open' };
  const c = sessionAt(gate.schedule, now);
  if (c.open === true) return { kind: 'open' };
  if (c.open === null) {
    // Stale, not closed: refusing would burn the parent's slices on our missing data, sending
    // would bypass the gate. Hold, and let the shell read the schedule again.
    const horizon = c.horizon > 0n ? `after ${nanosToIso(c.horizon)}` : 'now';
    return {
      kind: 'hold',
      until: now + SESSION_RECHECK_NS,
      reason: `trading hours unknown: the venue's schedule lists no session ${horizon}`,
      unknown: true,
    };
  }
  const reason = `outside trading hours (next session ${
    c.next_open === null ? 'not within the listed days' : `opens ${nanosToIso(c.next_open)}`
  })`;
  if (gate.policy === 'refuse') return { kind: 'refuse', reason };
  // No open within the listed days: held until the schedule ends, then read again.
  return { kind: 'hold', until: c.next_open ?? gate.schedule.horizon, reason, unknown: false };
}

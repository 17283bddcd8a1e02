/**
 * The trading-session gate (shared/execution/session.ts) and the execution core's use of it: in and
 * out of a session, a DST day, a session spanning midnight, an instant beyond the schedule, the
 * `refuse` and `queue` policies, a queued child sent at the open, and a restart in between.
 */
import { describe, expect, it } from 'vitest';
import { parseTradingHours } from '../../../infra/ib/trading-hours.ts';
import { loadInstrumentsFile } from '../../../infra/instruments/catalog.ts';
import { pendingActions } from '../../../shared/algos/scheduler.ts';
import type { AlgoState } from '../../../shared/algos/types.ts';
import { parentOutcome } from '../../../shared/app/venue-edge-rules.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { ExecAlgorithm, InstrumentSpec } from '../../../shared/domain/types.ts';
import {
  decide,
  type ExecutionDecision,
  type ExecutionState,
  fromAlgo,
  startExecution,
} from '../../../shared/execution/core.ts';
import type { ChildRiskView } from '../../../shared/execution/policy.ts';
import {
  gateAt,
  type OutsideHoursPolicy,
  SESSION_RECHECK_NS,
  type SessionGate,
  sessionAt,
  type TradingSchedule,
  UNKNOWN_SCHEDULE,
} from '../../../shared/execution/session.ts';
import { NO_LIMITS } from '../../../shared/risk/limits.ts';

const KEY = 'IBKR:STOCK:SPY-USD@ARCA';
/** SPY as the embedded catalog lists it (config/instruments.json). */
const SPEC = (await loadInstrumentsFile()).find((i) => i.instrument_key === KEY) as InstrumentSpec;
const S = 1_000_000_000n;
const at = (iso: string): Nanos => isoToNanos(iso);

/** Monday 7 and Tuesday 8 December 2026, 09:30–16:00 New York (EST: 14:30–21:00 UTC). */
const WEEK: TradingSchedule = parseTradingHours(
  '20261207:0930-20261207:1600;20261208:0930-20261208:1600;20261209:CLOSED',
  'US/Eastern',
);
const CLOSE_7 = at('2026-12-07T21:00:00Z');
const OPEN_8 = at('2026-12-08T14:30:00Z');
const NEXT_OPEN = 'outside trading hours (next session opens 2026-12-08T14:30:00.000000000Z)';

/** All ACTIVE, flat, nothing working, SPY at 600. */
function view(): ChildRiskView {
  return {
    trading_state: 'ACTIVE',
    strategy_trading_state: 'ACTIVE',
    instrument: SPEC,
    reference_price: '600',
    position: { instrument: '0', strategy: '0' },
    working: { instrument: { buy: '0', sell: '0' }, strategy: { buy: '0', sell: '0' } },
    recent_orders: { global: [], strategy: [] },
  };
}

function parent(algorithm: ExecAlgorithm, start: Nanos, quantity = '30'): ExecutionState {
  return startExecution(
    {
      strategy_id: 'eq',
      instrument_key: KEY,
      algorithm,
      order: { order_id: 'P1', instrument_key: KEY, side: 'BUY', quantity, limit_price: null },
      params: algorithm === 'TWAP' ? { duration_sec: 60, max_slices: 3 } : {},
      spec: SPEC,
      seed: 7,
    },
    start,
  );
}

function step(state: ExecutionState, now: Nanos, session: SessionGate | null): ExecutionDecision {
  return decide(state, {
    kind: 'step',
    now,
    market: { mid: '600' },
    risk: view(),
    limits: { ...NO_LIMITS, enabled: true },
    session,
  });
}

const gate = (policy: OutsideHoursPolicy, schedule: TradingSchedule | null = WEEK): SessionGate => ({
  schedule,
  policy,
});

/** What the edge stores and reads back: the scheduler state as JSON (a restart). */
function restarted(s: ExecutionState): ExecutionState {
  const algo = JSON.parse(JSON.stringify(s.algo)) as AlgoState;
  return fromAlgo(algo, s.strategy_id, s.instrument_key, {
    cancel_reason: s.cancel_reason,
    last_child_rejection: s.last_child_rejection,
  });
}

describe('sessionAt / gateAt', () => {
  it('inside a session: open until its end; the end itself is closed', () => {
    expect(sessionAt(WEEK, at('2026-12-07T15:00:00Z'))).toEqual({ open: true, closes_at: CLOSE_7 });
    expect(sessionAt(WEEK, at('2026-12-07T14:30:00Z')).open).toBe(true);
    expect(sessionAt(WEEK, CLOSE_7)).toEqual({ open: false, next_open: OPEN_8 });
    expect(gateAt(gate('refuse'), at('2026-12-07T15:00:00Z'))).toEqual({ kind: 'open' });
  });

  it('outside: refuse names the next open; queue holds until it', () => {
    const night = at('2026-12-08T03:00:00Z');
    expect(gateAt(gate('refuse'), night)).toEqual({ kind: 'refuse', reason: NEXT_OPEN });
    expect(gateAt(gate('queue'), night)).toEqual({
      kind: 'hold',
      until: OPEN_8,
      reason: NEXT_OPEN,
      unknown: false,
    });
  });

  it('no schedule (crypto) or no gate: always open', () => {
    expect(gateAt(null, 0n)).toEqual({ kind: 'open' });
    expect(gateAt(undefined, 0n)).toEqual({ kind: 'open' });
    expect(gateAt(gate('refuse', null), at('2026-12-08T03:00:00Z'))).toEqual({ kind: 'open' });
  });

  it('a DST day: the same wall-clock open is an hour earlier in UTC after the change', () => {
    // US DST starts Sunday 8 March 2026: Friday opens 14:30 UTC (EST), Monday 13:30 UTC (EDT).
    const s = parseTradingHours('20260306:0930-20260306:1600;20260309:0930-20260309:1600', 'US/Eastern');
    expect(sessionAt(s, at('2026-03-06T13:45:00Z')).open).toBe(false);
    expect(sessionAt(s, at('2026-03-06T14:45:00Z')).open).toBe(true);
    expect(sessionAt(s, at('2026-03-09T13:45:00Z')).open).toBe(true);
    expect(sessionAt(s, at('2026-03-09T20:30:00Z')).open).toBe(false); // 16:30 EDT
    expect(sessionAt(s, at('2026-03-06T21:30:00Z'))).toEqual({
      open: false,
      next_open: at('2026-03-09T13:30:00Z'),
    });
  });

  it('a session spanning midnight (a Sunday-evening future) is open across it', () => {
    const es = parseTradingHours('20261206:1700-20261207:1600;20261207:1700-20261208:1600', 'US/Central');
    // Chicago is UTC-6 in December: 17:00 Sunday = 23:00 UTC, 16:00 Monday = 22:00 UTC.
    expect(sessionAt(es, at('2026-12-06T23:59:00Z')).open).toBe(true);
    expect(sessionAt(es, at('2026-12-07T06:00:00Z')).open).toBe(true); // midnight Chicago
    expect(sessionAt(es, at('2026-12-07T22:30:00Z'))).toEqual({
      open: false,
      next_open: at('2026-12-07T23:00:00Z'),
    });
  });

  it('beyond the horizon: unknown, held and asked again — under either policy, never passed', () => {
    const later = at('2026-12-11T15:00:00Z');
    for (const policy of ['refuse', 'queue'] as const) {
      const v = gateAt(gate(policy), later);
      expect(v).toMatchObject({ kind: 'hold', until: later + SESSION_RECHECK_NS, unknown: true });
      expect(v.kind === 'hold' && v.reason).toContain('after 2026-12-10T05:00:00.000000000Z');
    }
    // A schedule that could not be read at all.
    expect(gateAt(gate('refuse', UNKNOWN_SCHEDULE), later)).toMatchObject({ kind: 'hold', unknown: true });
  });

  it('queue with no open left in the listed days: held until the horizon, then unknown', () => {
    const afterLast = at('2026-12-08T22:00:00Z');
    expect(gateAt(gate('queue'), afterLast)).toMatchObject({
      kind: 'hold',
      until: WEEK.horizon,
      unknown: false,
    });
    expect(gateAt(gate('refuse'), afterLast)).toMatchObject({
      kind: 'refuse',
      reason: 'outside trading hours (next session not within the listed days)',
    });
  });
});

describe('the execution core with the session gate', () => {
  const NIGHT = at('2026-12-08T03:00:00Z');

  it('refuse: every TWAP child out of hours is DENIED by trading_hours with the next open; the quantity carries over', () => {
    let s = parent('TWAP', NIGHT);
    const d1 = step(s, NIGHT, gate('refuse'));
    expect(d1.commands).toEqual([]);
    expect(d1.events).toContainEqual(
      expect.objectContaining({ kind: 'child_denied', rule: 'trading_hours', reason: NEXT_OPEN }),
    );
    expect(d1.state.last_child_rejection).toBe(`trading_hours: ${NEXT_OPEN}`);
    expect(d1.state.algo.children.map((c) => [c.quantity, c.status])).toEqual([['10', 'DENIED']]);
    s = d1.state;
    const d2 = step(s, d1.wake_at ?? 0n, gate('refuse'));
    // The denied slice's 10 carried into the next one.
    expect(d2.state.algo.children.map((c) => [c.quantity, c.status])).toEqual([
      ['10', 'DENIED'],
      ['20', 'DENIED'],
    ]);
  });

  it('refuse: a NORMAL parent ends with its only child denied, the trading-hours reason on the parent', () => {
    const d = step(parent('NORMAL', NIGHT), NIGHT, gate('refuse'));
    expect(d.commands).toEqual([]);
    expect(d.state.algo.status).toBe('DONE');
    expect(d.state.algo.children.map((c) => c.status)).toEqual(['DENIED']);
    // As for any denied child of a NORMAL parent (the scheduler's SCHEDULE_COMPLETE, nothing filled).
    expect(parentOutcome(d.state.algo, d.state)).toEqual({
      kind: 'expired',
      reason: `SCHEDULE_COMPLETE: 0 of 30 filled by the end of the schedule; last child refused: trading_hours: ${NEXT_OPEN}`,
    });
  });

  it('queue: nothing is created or sent before the open; wake_at is the open; sent there', () => {
    const s = parent('NORMAL', NIGHT);
    const held = step(s, NIGHT, gate('queue'));
    expect(held.commands).toEqual([]);
    expect(held.events).toEqual([{ kind: 'held', until: OPEN_8, reason: NEXT_OPEN, unknown: false }]);
    expect(held.wake_at).toBe(OPEN_8);
    expect(held.state.algo.children).toEqual([]);
    // Woken early (another input): still held, still no child.
    const early = step(held.state, OPEN_8 - S, gate('queue'));
    expect(early.commands).toEqual([]);
    expect(early.wake_at).toBe(OPEN_8);
    const open = step(early.state, OPEN_8, gate('queue'));
    expect(open.commands).toHaveLength(1);
    expect(open.commands[0]).toMatchObject({
      kind: 'submit_child',
      child: { order_id: 'P1-N1', quantity: '30', side: 'BUY' },
    });
    expect(open.state.algo.children.map((c) => c.ts_submitted_ns)).toEqual([OPEN_8.toString()]);
  });

  it('queue across a restart: the state persisted before the open sends once at the open, never twice', () => {
    const held = step(parent('TWAP', NIGHT), NIGHT, gate('queue'));
    // The process stops; the stored state has nothing to send (no child was created).
    const stored = restarted(held.state);
    expect(pendingActions(stored.algo)).toEqual([]);
    // A new process steps it at once: held again until the same open.
    const again = step(stored, NIGHT + 60n * S, gate('queue'));
    expect(again.commands).toEqual([]);
    expect(again.wake_at).toBe(OPEN_8);
    // At the open: the slices due by then go out as one child, once.
    const open = step(restarted(again.state), OPEN_8, gate('queue'));
    const submits = open.commands.filter((c) => c.kind === 'submit_child');
    expect(submits).toHaveLength(1);
    // A crash after persisting, before the send: pendingActions resends the SAME child (same id);
    // another step at the same instant sends no second child.
    const persisted = restarted(open.state);
    expect(pendingActions(persisted.algo).map((a) => (a.kind === 'submit' ? a.child.order_id : ''))).toEqual(
      submits.map((c) => (c.kind === 'submit_child' ? c.child.order_id : '')),
    );
    const repeat = step(persisted, OPEN_8, gate('queue'));
    expect(repeat.commands.filter((c) => c.kind === 'submit_child')).toEqual([]);
    expect(repeat.state.algo.children).toHaveLength(1);
  });

  it('queue: a parent canceled while held ends CANCELED without a child ever created', () => {
    const held = step(parent('TWAP', NIGHT), NIGHT, gate('queue'));
    const c = decide(held.state, { kind: 'cancel', now: NIGHT + S, reason: 'USER_CANCEL' });
    expect(c.commands).toEqual([]);
    expect(c.state.algo.children).toEqual([]);
    const after = step(c.state, OPEN_8, gate('queue'));
    expect(after.commands).toEqual([]);
    expect(after.events).toEqual([{ kind: 'finished', done_reason: 'CANCELED' }]);
  });

  it('beyond the schedule: the parent is held (nothing denied, nothing sent) and woken to read it again', () => {
    const later = at('2026-12-11T15:00:00Z');
    const d = step(parent('TWAP', later), later, gate('refuse'));
    expect(d.commands).toEqual([]);
    expect(d.state.algo.children).toEqual([]);
    expect(d.wake_at).toBe(later + SESSION_RECHECK_NS);
    expect(d.events).toEqual([expect.objectContaining({ kind: 'held', unknown: true })]);
  });

  it('inside the session the gate changes nothing', () => {
    const t = at('2026-12-07T15:00:00Z');
    const gated = step(parent('TWAP', t), t, gate('refuse'));
    const plain = step(parent('TWAP', t), t, null);
    expect(gated).toEqual(plain);
    expect(gated.commands).toHaveLength(1);
  });

  it('HALTED comes before the session: a halted parent pauses, it is not denied by the hours', () => {
    const d = decide(parent('TWAP', NIGHT), {
      kind: 'step',
      now: NIGHT,
      market: { mid: '600' },
      risk: { ...view(), trading_state: 'HALTED' },
      limits: NO_LIMITS,
      session: gate('refuse'),
    });
    expect(d.events).toEqual([{ kind: 'paused', why: 'HALTED' }]);
    expect(d.state.algo.children).toEqual([]);
  });
});

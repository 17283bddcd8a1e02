/**
 * The execution core of one parent (algorithm) order, decide/evolve style (docs/execution-core.md).
 *
 * `decide(state, input)` takes what happens to the parent — a timer step (with the market and the
 * risk view the shell read), a venue report about a child, a trade of a child, a failed send, a
 * trading-state change, a cancel request — and returns the next state, the commands to perform
 * (submit a child, cancel a child) and what happened (past-tense events). Pure: no I/O, no clock,
 * no randomness beyond the algorithm's seed. The backtest window (simulated clock + MatchingEngine)
 * and the venue edge (wall clock + the Venue port, LIVE or SHADOW) are shells over it: the same
 * inputs give the same commands in both, which is what makes a backtest predict live trading.
 *
 * Order of work in a shell: call `decide`, persist the state (the edge), THEN perform the commands
 * in order (cancels first, then submits, as the scheduler emits them).
 */
import { cancelAlgo, initAlgo, isDone, nextAlgo, onChildUpdate } from '../algos/scheduler.ts';
import type { AlgoState, ChildOrder, ChildUpdate, MarketSnapshot, ParentOrder } from '../algos/types.ts';
import type { DecimalString } from '../domain/decimal.ts';
import { isTerminal } from '../domain/order-machine.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import type { ExecAlgorithm, InstrumentSpec, TradingState } from '../domain/types.ts';
import type { VenueErrorKind } from '../ports/venue.ts';
import type { CompiledRiskLimits, RiskLimits } from '../risk/limits.ts';
import type { Reservation, RiskDenied } from '../risk/types.ts';
import {
  type ChildRiskView,
  checkChild,
  childUpdateOfTrade,
  classifySubmitError,
  viewAfterChild,
  viewTradingState,
} from './policy.ts';
import { gateAt, type SessionGate, TRADING_HOURS_RULE } from './session.ts';

/** The working state of one parent: the scheduler's plus what the core decided around it. */
export interface ExecutionState {
  algo: AlgoState;
  strategy_id: string;
  /** The parent's instrument key as intake checked it (risk books are kept under it). */
  instrument_key: string;
  /** Why the parent was canceled (the request's reason), once it was. */
  cancel_reason: string | null;
  /** The last reason a child was denied or refused (the parent's reason when nothing filled). */
  last_child_rejection: string | null;
  /** Stepping stopped: trading is HALTED, or its state cannot be read now. */
  paused: boolean;
  /** Children whose cancel was sent because trading is HALTED (once per child). */
  halt_canceled: readonly string[];
}

export type ExecutionInput =
  /** A timer tick or wake-up: step the scheduler; each new child passes the child policy. */
  | {
      kind: 'step';
      now: Nanos;
      market: MarketSnapshot;
      /** What the shell read for the child check; null when the trading state cannot be read. */
      risk: ChildRiskView | null;
      limits: RiskLimits | CompiledRiskLimits;
      /**
       * The instrument's trading sessions and the venue's policy outside them (session.ts); absent
       * or a null schedule: always open (crypto).
       */
      session?: SessionGate | null | undefined;
    }
  /** A venue report about a child (accepted, partially filled, filled, canceled, expired, rejected). */
  | { kind: 'child_report'; now: Nanos; update: ChildUpdate; reason?: string | null | undefined }
  /** The trades of a child stored so far add up to `traded_total` (trades run ahead of reports). */
  | { kind: 'child_trade'; now: Nanos; child_id: string; traded_total: DecimalString }
  /** A send failed with a classified venue error. */
  | {
      kind: 'submit_failed';
      now: Nanos;
      child_id: string;
      error: VenueErrorKind;
      breaker_open_before: boolean;
      message: string;
    }
  /** A cancel sent for a HALTED trading state was not confirmed: send it again at the next change. */
  | { kind: 'cancel_unconfirmed'; now: Nanos; child_id: string }
  /** The trading state the parent runs under (the stricter of platform and strategy); null: unreadable. */
  | { kind: 'trading_state'; now: Nanos; state: TradingState | null }
  /** Cancel the parent: its working children are canceled, it settles CANCELED once they end. */
  | { kind: 'cancel'; now: Nanos; reason: string };

export type ExecutionCommand =
  /** `reservation`: what the approved child adds to a risk ledger (working quantity, velocity). */
  | { kind: 'submit_child'; child: ChildOrder; reservation: Reservation }
  | { kind: 'cancel_child'; order_id: string; why: 'algorithm' | 'halted' };

export type ExecutionEvent =
  | {
      kind: 'child_denied';
      child: ChildOrder;
      rule: string;
      reason: string;
      limit: string | null;
      observed: string | null;
    }
  | { kind: 'child_refused'; child_id: string; reason: string }
  /**
   * Outside the session under the `queue` policy (or beyond the schedule, `unknown`): the scheduler
   * was not stepped and nothing was sent; the decision's `wake_at` is `until` (the next open).
   */
  | { kind: 'held'; until: Nanos; reason: string; unknown: boolean }
  | { kind: 'child_unconfirmed'; child_id: string; reason: string }
  | { kind: 'child_updated'; child_id: string }
  | { kind: 'paused'; why: 'HALTED' | 'UNKNOWN' }
  | { kind: 'resumed' }
  | { kind: 'finished'; done_reason: string };

export interface ExecutionDecision {
  state: ExecutionState;
  commands: ExecutionCommand[];
  events: ExecutionEvent[];
  /** Call `decide` with a `step` at this time (now: right away); null: only an input moves it on. */
  wake_at: Nanos | null;
}

/** An algorithm that does not settle at one instant (a scheduler bug; never a market condition). */
export class ExecutionCoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecutionCoreError';
  }
}

const MAX_STEPS_PER_INSTANT = 100_000;

export interface ExecutionParent {
  strategy_id: string;
  /** Key intake checked the parent under (risk books). */
  instrument_key: string;
  algorithm: ExecAlgorithm;
  /** The parent as the scheduler works it (its instrument key is the venue's). */
  order: ParentOrder;
  params: Record<string, unknown>;
  spec: InstrumentSpec;
  seed: number;
}

/** A new parent's state (throws the scheduler's ValidationError for bad parameters). */
export function startExecution(p: ExecutionParent, now: Nanos): ExecutionState {
  return fromAlgo(
    initAlgo(p.algorithm, p.order, p.params, now, p.spec, p.seed),
    p.strategy_id,
    p.instrument_key,
  );
}

/** The core's state around a stored scheduler state (a restart). */
export function fromAlgo(
  algo: AlgoState,
  strategyId: string,
  instrumentKey: string,
  extra: Partial<
    Pick<ExecutionState, 'cancel_reason' | 'last_child_rejection' | 'paused' | 'halt_canceled'>
  > = {},
): ExecutionState {
  return {
    algo,
    strategy_id: strategyId,
    instrument_key: instrumentKey,
    cancel_reason: extra.cancel_reason ?? null,
    last_child_rejection: extra.last_child_rejection ?? null,
    paused: extra.paused ?? false,
    halt_canceled: extra.halt_canceled ?? [],
  };
}

export function decide(state: ExecutionState, input: ExecutionInput): ExecutionDecision {
  switch (input.kind) {
    case 'step':
      return step(state, input);
    case 'child_report': {
      let next: ExecutionState = { ...state, algo: onChildUpdate(state.algo, input.update) };
      if (input.update.status === 'REJECTED') {
        const reason =
          input.reason !== undefined && input.reason !== null && input.reason !== ''
            ? input.reason
            : 'REJECTED by the venue';
        next = { ...next, last_child_rejection: reason };
      }
      return changed(state, next, input.now, input.update.order_id);
    }
    case 'child_trade': {
      const c = state.algo.children.find((x) => x.order_id === input.child_id);
      const u = c === undefined ? null : childUpdateOfTrade(c, input.traded_total);
      if (u === null) return still(state);
      return changed(state, { ...state, algo: onChildUpdate(state.algo, u) }, input.now, input.child_id);
    }
    case 'submit_failed': {
      const cls = classifySubmitError(input.error, input.breaker_open_before);
      if (cls.outcome === 'unknown') {
        return {
          state,
          commands: [],
          events: [
            {
              kind: 'child_unconfirmed',
              child_id: input.child_id,
              reason: `${input.error}: ${input.message}`,
            },
          ],
          wake_at: null,
        };
      }
      const reason = `${cls.reason_prefix}: ${input.message}`;
      const next: ExecutionState = {
        ...state,
        algo: onChildUpdate(state.algo, {
          order_id: input.child_id,
          filled_quantity: '0',
          status: 'REJECTED',
        }),
        last_child_rejection: reason,
      };
      return {
        state: next,
        commands: [],
        events: [{ kind: 'child_refused', child_id: input.child_id, reason }],
        wake_at: input.now,
      };
    }
    case 'cancel_unconfirmed':
      return still({ ...state, halt_canceled: state.halt_canceled.filter((id) => id !== input.child_id) });
    case 'trading_state':
      return onTradingState(state, input.state, input.now);
    case 'cancel': {
      const withReason: ExecutionState = { ...state, cancel_reason: state.cancel_reason ?? input.reason };
      if (isDone(state.algo)) return { state: withReason, commands: [], events: [], wake_at: null };
      const c = cancelAlgo(state.algo);
      return {
        state: { ...withReason, algo: c.state },
        commands: c.actions.flatMap((a) => (a.kind === 'cancel' ? [cancelCmd(a.order_id, 'algorithm')] : [])),
        events: [],
        wake_at: input.now,
      };
    }
  }
}

/**
 * HALTED policy: stepping stops and every working child is canceled (once: a cancel that was not
 * confirmed is sent again at the next change); unreadable: stepping stops, nothing is canceled;
 * ACTIVE or REDUCING after a pause: the schedule goes on at once (catching up, children gated).
 */
function onTradingState(state: ExecutionState, ts: TradingState | null, now: Nanos): ExecutionDecision {
  if (ts === 'HALTED') {
    const cancel = state.algo.children.filter(
      (c) => !isTerminal(c.status) && !state.halt_canceled.includes(c.order_id),
    );
    return {
      state: {
        ...state,
        paused: true,
        halt_canceled: [...state.halt_canceled, ...cancel.map((c) => c.order_id)],
      },
      commands: cancel.map((c) => cancelCmd(c.order_id, 'halted')),
      events: state.paused && cancel.length === 0 ? [] : [{ kind: 'paused', why: 'HALTED' }],
      wake_at: null,
    };
  }
  if (ts === null) {
    return {
      state: { ...state, paused: true },
      commands: [],
      events: state.paused ? [] : [{ kind: 'paused', why: 'UNKNOWN' }],
      wake_at: null,
    };
  }
  if (!state.paused) return still(state);
  return {
    state: { ...state, paused: false, halt_canceled: [] },
    commands: [],
    events: [{ kind: 'resumed' }],
    wake_at: now,
  };
}

function step(state: ExecutionState, input: Extract<ExecutionInput, { kind: 'step' }>): ExecutionDecision {
  const { now } = input;
  if (isDone(state.algo)) return { state, commands: [], events: finished(state), wake_at: null };
  const ts = input.risk === null ? null : viewTradingState(input.risk);
  if (ts === null || ts === 'HALTED') {
    // Paused: the trading-state change cancels working children and wakes the parent on resume.
    return onTradingState(state, ts, now);
  }
  const session = gateAt(input.session, now);
  const resumed: ExecutionEvent[] = state.paused ? [{ kind: 'resumed' }] : [];
  if (session.kind === 'hold') {
    // Nothing is created or sent before the open: the durable wake-up sends it then (once).
    return {
      state: { ...state, paused: false },
      commands: [],
      events: [
        ...resumed,
        { kind: 'held', until: session.until, reason: session.reason, unknown: session.unknown },
      ],
      wake_at: session.until,
    };
  }
  let view = input.risk as ChildRiskView;
  let algo = state.algo;
  let rejection = state.last_child_rejection;
  const commands: ExecutionCommand[] = [];
  const events: ExecutionEvent[] = [];
  let wake: Nanos | null = null;
  for (let guard = 0; ; guard++) {
    if (guard > MAX_STEPS_PER_INSTANT) {
      throw new ExecutionCoreError(
        `execution algorithm of ${algo.parent.order_id} did not settle at ${nanosToIso(now)}`,
      );
    }
    const r = nextAlgo(algo, now, input.market);
    algo = r.state;
    wake = r.wakeAtNs;
    let denied = false;
    for (const a of r.actions) {
      if (a.kind === 'cancel') {
        commands.push(cancelCmd(a.order_id, 'algorithm'));
        continue;
      }
      const d =
        session.kind === 'refuse'
          ? sessionDenial(session.reason)
          : checkChild(a.child, state.strategy_id, state.instrument_key, view, input.limits, now);
      if (d.approved) {
        commands.push({ kind: 'submit_child', child: a.child, reservation: d.reservation });
        view = viewAfterChild(view, a.child, now);
        continue;
      }
      // Refused before it left: the scheduler sees a denied child (TWAP/VWAP carry it over).
      algo = onChildUpdate(algo, { order_id: a.child.order_id, filled_quantity: '0', status: 'DENIED' });
      rejection = `${d.rule}: ${d.reason}`;
      denied = true;
      events.push({
        kind: 'child_denied',
        child: a.child,
        rule: d.rule,
        reason: d.reason,
        limit: d.limit,
        observed: d.observed,
      });
    }
    if (!denied && !(wake !== null && wake <= now)) break;
  }
  const next: ExecutionState = { ...state, algo, last_child_rejection: rejection, paused: false };
  return {
    state: next,
    commands,
    events: [...resumed, ...events, ...finished(next)],
    wake_at: isDone(algo) ? null : wake,
  };
}

/** A child outside the session under the `refuse` policy: denied like any child rule. */
function sessionDenial(reason: string): RiskDenied {
  const check = { rule: TRADING_HOURS_RULE, passed: false, limit: null, observed: null, message: reason };
  return { approved: false, rule: TRADING_HOURS_RULE, reason, limit: null, observed: null, checks: [check] };
}

function finished(state: ExecutionState): ExecutionEvent[] {
  return isDone(state.algo) ? [{ kind: 'finished', done_reason: state.algo.done_reason ?? 'DONE' }] : [];
}

function cancelCmd(orderId: string, why: 'algorithm' | 'halted'): ExecutionCommand {
  return { kind: 'cancel_child', order_id: orderId, why };
}

function still(state: ExecutionState): ExecutionDecision {
  return { state, commands: [], events: [], wake_at: null };
}

/** A child changed: the scheduler wants a step right away (unless nothing changed). */
function changed(
  before: ExecutionState,
  next: ExecutionState,
  now: Nanos,
  childId: string,
): ExecutionDecision {
  const a = before.algo.children.find((c) => c.order_id === childId);
  const b = next.algo.children.find((c) => c.order_id === childId);
  const same =
    a !== undefined &&
    b !== undefined &&
    a.status === b.status &&
    a.filled_quantity === b.filled_quantity &&
    before.algo.status === next.algo.status &&
    before.last_child_rejection === next.last_child_rejection;
  if (same || b === undefined) return still(before);
  return { state: next, commands: [], events: [{ kind: 'child_updated', child_id: childId }], wake_at: now };
}

export { isDone };

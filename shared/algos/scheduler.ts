/**
 * The execution algorithms (TWAP, VWAP, ICEBERG, NORMAL) as pure functions over a JSON-safe state:
 *
 *   const state0 = initAlgo('TWAP', parent, params, startNs, spec, seed);
 *   const { state, actions, wakeAtNs } = nextAlgo(state0, nowNs, market);   // persist, then act
 *   const state2 = onChildUpdate(state, { order_id, filled_quantity, status });
 *   isDone(state2);
 *
 * Nothing here reads a clock, a random source or the network: `now` and the seed come in, so a
 * backtest, SHADOW mode and the live scheduler compute identical child orders with identical ids.
 * Rules (also in docs/matching-engine.md):
 *
 * - Child ids: `${parent}-S{i}` for TWAP/VWAP slice i (1-based), `${parent}-R{k}` for the k-th
 *   ICEBERG child, `${parent}-N1` for NORMAL. A slice keeps its id whatever happens before it.
 * - Children: LIMIT at the parent's limit price (GTC) when it has one, else MARKET (IOC for slices,
 *   GTC for ICEBERG; NORMAL keeps the parent's time in force, default GTC).
 * - Carry-over (TWAP/VWAP): when slice i is due and the previous child is still open, it is canceled
 *   first; once it has finished, slice i is sent with its planned quantity PLUS the unfilled
 *   quantity of every earlier finished child (and of skipped slices).
 * - Catch-up: when several slices are due at once (resuming after a restart, or a cancel that took
 *   longer than a slice interval), they go out as ONE child named after the last due slice, carrying
 *   the earlier ones — never a burst of children each canceled by the next.
 * - End: at start + duration every open child is canceled; the algorithm is DONE when every slice was
 *   sent and every child finished; quantity still unfilled then is not chased. A schedule resumed
 *   past its end sends its remaining quantity as one child, which the end cancels at the next step if
 *   it is still open (a MARKET/IOC child finishes by itself) — never in the step that sends it.
 * - Persist-then-act: store the returned state BEFORE performing its actions. After a restart, the
 *   persisted state never re-plans a slice it already sent; {@link pendingActions} re-derives the
 *   submits not yet acknowledged and the cancels not yet confirmed (the venue deduplicates submits
 *   by client order id).
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { type Issue, ValidationError } from '../domain/errors.ts';
import { floorToStep, isMultipleOf, roundToTick } from '../domain/instrument.ts';
import {
  IcebergParamsSchema,
  parseExecAlgorithmParams,
  TwapParamsSchema,
  VwapParamsSchema,
} from '../domain/schemas.ts';
import { NANOS_PER_SECOND, type Nanos } from '../domain/time.ts';
import {
  type ExecAlgorithm,
  type InstrumentSpec,
  type OrderStatus,
  TERMINAL_STATUSES,
} from '../domain/types.ts';
import { uniformAt } from '../sim/prng.ts';
import { rollSmallSlices, sliceTimes, splitByWeights, splitEvenly } from './plan.ts';
import type {
  AlgoAction,
  AlgoState,
  AlgoStep,
  ChildOrder,
  ChildRecord,
  ChildUpdate,
  MarketSnapshot,
  ParentOrder,
} from './types.ts';

const INVALID_PARENT = 'invalid_parent_order';
const INVALID_PARAMS = 'invalid_exec_algorithm_params';

function fail(code: string, issues: Issue[]): never {
  throw new ValidationError(code, issues);
}

function checkParent(parent: ParentOrder, spec: InstrumentSpec): void {
  const issues: Issue[] = [];
  let q: Dec | null = null;
  try {
    q = toDec(parent.quantity);
  } catch {
    issues.push({ path: 'quantity', message: `${JSON.stringify(parent.quantity)} is not a decimal number` });
  }
  if (q !== null) {
    if (!q.gt(0))
      issues.push({ path: 'quantity', message: `quantity must be greater than zero, got ${fmt(q)}` });
    else if (!isMultipleOf(q, spec.step_size)) {
      issues.push({
        path: 'quantity',
        message: `${fmt(q)} is not a multiple of step size ${spec.step_size}`,
      });
    }
  }
  const lp = parent.limit_price;
  if (lp !== undefined && lp !== null) {
    let p: Dec | null = null;
    try {
      p = toDec(lp);
    } catch {
      issues.push({ path: 'limit_price', message: `${JSON.stringify(lp)} is not a decimal number` });
    }
    if (p !== null) {
      if (!p.gt(0)) issues.push({ path: 'limit_price', message: `limit price must be greater than zero` });
      else if (!isMultipleOf(p, spec.tick_size)) {
        issues.push({
          path: 'limit_price',
          message: `${fmt(p)} is not a multiple of tick size ${spec.tick_size}`,
        });
      }
    }
  }
  if (issues.length > 0) fail(INVALID_PARENT, issues);
}

/** max(step, min_qty, ceil-to-step(min_notional / limit)) — the smallest child worth sending. */
function minSliceQuantity(spec: InstrumentSpec, limit: DecimalString | null): Dec {
  let m = Dec.max(toDec(spec.step_size), roundToTick(spec.min_qty, spec.step_size, 'up'));
  if (limit !== null) {
    const forNotional = roundToTick(toDec(spec.min_notional).div(limit), spec.step_size, 'up');
    m = Dec.max(m, forNotional);
  }
  return m;
}

/**
 * Create the state of an algorithm for a parent order starting at `startNs`. Throws a
 * ValidationError (code `invalid_exec_algorithm_params` or `invalid_parent_order`) for bad input.
 * `seed` drives the jitter; a `seed` in the params takes precedence.
 */
export function initAlgo(
  algo: ExecAlgorithm,
  parent: ParentOrder,
  params: unknown,
  startNs: Nanos,
  spec: InstrumentSpec,
  seed = 0,
): AlgoState {
  checkParent(parent, spec);
  const parsed = parseExecAlgorithmParams(algo, params ?? {}, parent.quantity);
  if (!parsed.success) throw parsed.error;
  const limit = parent.limit_price ?? null;
  const minSlice = minSliceQuantity(spec, limit);
  const state: AlgoState = {
    version: 1,
    algo,
    parent: {
      order_id: parent.order_id,
      instrument_key: parent.instrument_key,
      side: parent.side,
      quantity: fmt(toDec(parent.quantity)),
      limit_price: limit === null ? null : fmt(toDec(limit)),
      time_in_force: parent.time_in_force ?? null,
    },
    step_size: spec.step_size,
    min_slice_quantity: fmt(minSlice),
    seed: seed >>> 0,
    start_ns: startNs.toString(),
    end_ns: null,
    child_order_type: limit === null ? 'MARKET' : 'LIMIT',
    child_price: limit === null ? null : fmt(toDec(limit)),
    child_time_in_force: limit === null ? 'IOC' : 'GTC',
    slices: [],
    next_slice: 0,
    rolled: '0',
    participation_cap: null,
    volume_at_last_slice: null,
    display_quantity: null,
    refresh_jitter: 0,
    children: [],
    status: 'RUNNING',
    done_reason: null,
  };
  const qty = state.parent.quantity;
  const step = spec.step_size;
  switch (algo) {
    case 'NORMAL': {
      state.child_time_in_force = parent.time_in_force ?? 'GTC';
      state.slices = [{ at_ns: startNs.toString(), quantity: qty }];
      break;
    }
    case 'TWAP': {
      const p = TwapParamsSchema.parse(params ?? {});
      if (p.seed !== undefined) state.seed = p.seed;
      // Fewer slices when the quantity cannot give each one at least the minimum size.
      const maxByMin = toDec(qty).div(minSlice).floor().toNumber();
      const n = Math.max(1, Math.min(p.max_slices, maxByMin));
      const duration = BigInt(p.duration_sec) * NANOS_PER_SECOND;
      const times = sliceTimes(startNs, duration, n, p.jitter_pct, state.seed);
      const qtys = splitEvenly(qty, n, step);
      state.slices = times.map((t, i) => ({ at_ns: t.toString(), quantity: qtys[i]! }));
      state.end_ns = (startNs + duration).toString();
      break;
    }
    case 'VWAP': {
      const p = VwapParamsSchema.parse(params ?? {});
      if (p.seed !== undefined) state.seed = p.seed;
      const n = p.max_slices;
      const weights = p.volume_profile ?? Array.from({ length: n }, () => 1);
      const duration = BigInt(p.duration_sec) * NANOS_PER_SECOND;
      const times = sliceTimes(startNs, duration, n, 0, state.seed);
      const qtys = rollSmallSlices(splitByWeights(qty, weights, step), fmt(minSlice));
      state.slices = times.map((t, i) => ({ at_ns: t.toString(), quantity: qtys[i]! }));
      state.end_ns = (startNs + duration).toString();
      state.participation_cap = p.participation_cap ?? null;
      break;
    }
    case 'ICEBERG': {
      const p = IcebergParamsSchema.parse(params ?? {});
      if (p.seed !== undefined) state.seed = p.seed;
      const d = toDec(p.display_quantity);
      if (!isMultipleOf(d, step) || d.lt(minSlice)) {
        fail(INVALID_PARAMS, [
          {
            path: 'exec_algorithm_params.display_quantity',
            message: `display_quantity ${p.display_quantity} must be a multiple of step size ${step} and at least ${fmt(minSlice)}`,
          },
        ]);
      }
      state.display_quantity = fmt(d);
      state.refresh_jitter = p.refresh_jitter ?? 0;
      if (limit === null) state.child_time_in_force = 'GTC';
      break;
    }
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// Helpers over the state
// ---------------------------------------------------------------------------------------------

const isTerminal = (s: OrderStatus) => TERMINAL_STATUSES.has(s);

function openChildren(s: AlgoState): ChildRecord[] {
  return s.children.filter((c) => !isTerminal(c.status));
}

function sumDec(xs: readonly DecimalString[]): Dec {
  return xs.reduce((a, x) => a.plus(x), new Dec(0));
}

/** Filled quantity of the parent (sum over children). */
export function filledQuantity(state: AlgoState): DecimalString {
  return fmt(sumDec(state.children.map((c) => c.filled_quantity)));
}

/** Parent quantity not filled and not working in an open child. */
export function unassignedQuantity(state: AlgoState): DecimalString {
  const working = openChildren(state).map((c) => fmt(toDec(c.quantity).minus(c.filled_quantity)));
  return fmt(toDec(state.parent.quantity).minus(filledQuantity(state)).minus(sumDec(working)));
}

export function isDone(state: AlgoState): boolean {
  return state.status === 'DONE';
}

function childPrefix(algo: ExecAlgorithm): string {
  return algo === 'ICEBERG' ? 'R' : algo === 'NORMAL' ? 'N' : 'S';
}

function childOrder(s: AlgoState, rec: ChildRecord): ChildOrder {
  return {
    order_id: rec.order_id,
    parent_order_id: s.parent.order_id,
    instrument_key: s.parent.instrument_key,
    side: s.parent.side,
    quantity: rec.quantity,
    order_type: s.child_order_type,
    price: s.child_price,
    time_in_force: s.child_time_in_force,
    index: rec.index,
  };
}

function submit(s: AlgoState, index: number, quantity: Dec, now: Nanos, actions: AlgoAction[]): void {
  const rec: ChildRecord = {
    order_id: `${s.parent.order_id}-${childPrefix(s.algo)}${index}`,
    index,
    quantity: fmt(quantity),
    filled_quantity: '0',
    status: 'SUBMITTED',
    cancel_requested: false,
    carried: false,
    ts_submitted_ns: now.toString(),
  };
  s.children.push(rec);
  actions.push({ kind: 'submit', child: childOrder(s, rec) });
}

function requestCancel(children: readonly ChildRecord[], actions: AlgoAction[]): void {
  for (const c of children) {
    if (c.cancel_requested) continue;
    c.cancel_requested = true;
    actions.push({ kind: 'cancel', order_id: c.order_id });
  }
}

/** Move the state to DONE when nothing more can happen. */
function settle(s: AlgoState): void {
  if (s.status === 'DONE') return;
  if (toDec(filledQuantity(s)).gte(s.parent.quantity)) {
    s.status = 'DONE';
    s.done_reason = 'FILLED';
    return;
  }
  if (openChildren(s).length > 0) return;
  if (s.status === 'CANCELING') {
    s.status = 'DONE';
    s.done_reason = 'CANCELED';
    return;
  }
  if (s.algo === 'ICEBERG') {
    const last = s.children.at(-1);
    if (last !== undefined && last.status !== 'FILLED') {
      s.status = 'DONE';
      s.done_reason = 'CHILD_ENDED';
    }
    return;
  }
  if (s.next_slice >= s.slices.length) {
    s.status = 'DONE';
    s.done_reason = 'SCHEDULE_COMPLETE';
  }
}

// ---------------------------------------------------------------------------------------------
// Stepping
// ---------------------------------------------------------------------------------------------

/** Send the next (due) slice with carry-over, or roll it forward when too small. */
function sendSlice(
  s: AlgoState,
  now: Nanos,
  market: MarketSnapshot | undefined,
  actions: AlgoAction[],
): void {
  // Every slice already due goes out together (catching up after a restart or a long cancel):
  // slices before the last due one are carried into it, as skipped slices are.
  let i = s.next_slice;
  let qty = toDec(s.slices[i]!.quantity).plus(s.rolled);
  for (let next = s.slices[i + 1]; next !== undefined && BigInt(next.at_ns) <= now; next = s.slices[i + 1]) {
    i += 1;
    qty = qty.plus(next.quantity);
  }
  const finished = s.children.filter((c) => isTerminal(c.status) && !c.carried);
  for (const c of finished) {
    qty = qty.plus(toDec(c.quantity).minus(c.filled_quantity));
    c.carried = true;
  }
  // Never more than what the parent still needs.
  const remaining = toDec(s.parent.quantity).minus(filledQuantity(s));
  if (qty.gt(remaining)) qty = Dec.max(remaining, 0);
  let excess = new Dec(0);
  if (s.participation_cap !== null && market?.volume !== undefined) {
    const vol = toDec(market.volume);
    if (s.volume_at_last_slice !== null) {
      const allowed = floorToStep(
        Dec.max(vol.minus(s.volume_at_last_slice), 0).times(s.participation_cap),
        s.step_size,
      );
      if (qty.gt(allowed)) {
        excess = qty.minus(allowed);
        qty = allowed;
      }
    }
    s.volume_at_last_slice = fmt(vol);
  }
  s.next_slice = i + 1;
  if (qty.isZero() || qty.lt(s.min_slice_quantity)) {
    // Too small to send: roll forward (on the last slice it stays unfilled).
    s.rolled = fmt(qty.plus(excess));
    return;
  }
  s.rolled = fmt(excess);
  submit(s, i + 1, qty, now, actions);
}

function stepSliced(
  s: AlgoState,
  now: Nanos,
  market: MarketSnapshot | undefined,
  actions: AlgoAction[],
): void {
  const slice = s.slices[s.next_slice];
  const sentBefore = s.children.length;
  if (slice !== undefined && BigInt(slice.at_ns) <= now) {
    const open = openChildren(s);
    if (open.length > 0) requestCancel(open, actions);
    else sendSlice(s, now, market, actions);
  }
  // At the end every open child is canceled, except one sent by this very step (a slice sent when
  // resuming past the end): it goes out first and is canceled at the next step if still open.
  if (s.end_ns !== null && now >= BigInt(s.end_ns))
    requestCancel(
      s.children.slice(0, sentBefore).filter((c) => !isTerminal(c.status)),
      actions,
    );
}

function stepIceberg(s: AlgoState, now: Nanos, actions: AlgoAction[]): void {
  if (openChildren(s).length > 0) return;
  const last = s.children.at(-1);
  if (last !== undefined && last.status !== 'FILLED') return; // settle() ends it
  const assigned = sumDec(s.children.map((c) => c.quantity));
  const remaining = toDec(s.parent.quantity).minus(assigned);
  if (!remaining.gt(0)) return;
  const k = s.children.length + 1;
  let size = toDec(s.display_quantity ?? '0');
  if (k > 1 && s.refresh_jitter > 0) {
    const f = 1 + (2 * uniformAt(s.seed, k) - 1) * s.refresh_jitter;
    size = Dec.max(floorToStep(size.times(f.toFixed(12)), s.step_size), s.min_slice_quantity);
  }
  submit(s, k, Dec.min(size, remaining), now, actions);
}

function wake(s: AlgoState, now: Nanos): Nanos | null {
  if (s.status !== 'RUNNING' || s.algo === 'ICEBERG') return null;
  const end = s.end_ns === null ? null : BigInt(s.end_ns);
  const slice = s.slices[s.next_slice];
  if (slice !== undefined) {
    const at = BigInt(slice.at_ns);
    if (at > now) return at;
    // Due already: call again right away, unless we wait for a requested cancel to be confirmed
    // (the child update moves us on; the end of the schedule is the safety net).
    const open = openChildren(s);
    if (open.length === 0 || open.some((c) => !c.cancel_requested)) return at;
    return end !== null && end > now ? end : null;
  }
  return end !== null && end > now && openChildren(s).length > 0 ? end : null;
}

/**
 * Advance the algorithm to `now`: returns the new state, the child submits / cancels to perform
 * (after persisting the state) and when to call again. Never mutates `state`.
 */
export function nextAlgo(state: AlgoState, now: Nanos, market?: MarketSnapshot): AlgoStep {
  const s = structuredClone(state);
  const actions: AlgoAction[] = [];
  if (s.status === 'CANCELING') requestCancel(openChildren(s), actions);
  else if (s.status === 'RUNNING' && now >= BigInt(s.start_ns)) {
    if (s.algo === 'ICEBERG') stepIceberg(s, now, actions);
    else stepSliced(s, now, market, actions);
  }
  settle(s);
  const w = s.status === 'RUNNING' && now < BigInt(s.start_ns) ? BigInt(s.start_ns) : wake(s, now);
  actions.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'cancel' ? -1 : 1));
  return { state: s, actions, wakeAtNs: w };
}

const STATUS_RANK: Record<OrderStatus, number> = {
  PENDING: 0,
  SUBMITTED: 0,
  ACCEPTED: 1,
  PARTIALLY_FILLED: 2,
  PENDING_CANCEL: 3,
  DENIED: 4,
  FILLED: 4,
  CANCELED: 4,
  REJECTED: 4,
  EXPIRED: 4,
};

/**
 * Apply a child report (cumulative filled quantity + status). Idempotent and order-tolerant: the
 * filled quantity only grows, a status only moves forward and a final status is never replaced.
 * Unknown children are ignored.
 */
export function onChildUpdate(state: AlgoState, update: ChildUpdate): AlgoState {
  const s = structuredClone(state);
  const c = s.children.find((x) => x.order_id === update.order_id);
  if (!c) return s;
  const filled = toDec(update.filled_quantity);
  if (filled.gt(c.filled_quantity)) c.filled_quantity = fmt(Dec.min(filled, c.quantity));
  if (!isTerminal(c.status) && STATUS_RANK[update.status] >= STATUS_RANK[c.status]) c.status = update.status;
  settle(s);
  return s;
}

/** Stop the algorithm: cancel every open child; DONE (CANCELED) once they have all finished. */
export function cancelAlgo(state: AlgoState): AlgoStep {
  const s = structuredClone(state);
  const actions: AlgoAction[] = [];
  if (s.status !== 'DONE') {
    s.status = 'CANCELING';
    requestCancel(openChildren(s), actions);
    settle(s);
  }
  return { state: s, actions, wakeAtNs: null };
}

/**
 * After a restart: the actions a persisted state still owes the venue — submits of children never
 * acknowledged (status SUBMITTED/PENDING; the venue deduplicates by client order id) and cancels
 * requested but not confirmed.
 */
export function pendingActions(state: AlgoState): AlgoAction[] {
  const out: AlgoAction[] = [];
  for (const c of state.children) {
    if (isTerminal(c.status)) continue;
    if (c.cancel_requested) out.push({ kind: 'cancel', order_id: c.order_id });
    else if (c.status === 'SUBMITTED' || c.status === 'PENDING')
      out.push({ kind: 'submit', child: childOrder(state, c) });
  }
  return out;
}

/** The common interface, one object per algorithm (all share the state type). */
export interface ExecAlgorithmImpl {
  init(parent: ParentOrder, params: unknown, startNs: Nanos, spec: InstrumentSpec, seed?: number): AlgoState;
  next(state: AlgoState, now: Nanos, market?: MarketSnapshot): AlgoStep;
  onChildUpdate(state: AlgoState, update: ChildUpdate): AlgoState;
  cancel(state: AlgoState): AlgoStep;
  isDone(state: AlgoState): boolean;
}

function impl(algo: ExecAlgorithm): ExecAlgorithmImpl {
  return {
    init: (parent, params, startNs, spec, seed) => initAlgo(algo, parent, params, startNs, spec, seed),
    next: nextAlgo,
    onChildUpdate,
    cancel: cancelAlgo,
    isDone,
  };
}

export const EXEC_ALGORITHM_IMPLS: Readonly<Record<ExecAlgorithm, ExecAlgorithmImpl>> = {
  NORMAL: impl('NORMAL'),
  TWAP: impl('TWAP'),
  VWAP: impl('VWAP'),
  ICEBERG: impl('ICEBERG'),
};

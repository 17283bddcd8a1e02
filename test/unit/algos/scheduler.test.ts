import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  rollSmallSlices,
  sliceTimes,
  splitByWeights,
  splitEvenly,
  volumeProfile,
} from '../../../shared/algos/plan.ts';
import {
  cancelAlgo,
  EXEC_ALGORITHM_IMPLS,
  filledQuantity,
  initAlgo,
  isDone,
  nextAlgo,
  onChildUpdate,
  pendingActions,
  unassignedQuantity,
} from '../../../shared/algos/scheduler.ts';
import type { AlgoAction, AlgoState, ChildOrder, ParentOrder } from '../../../shared/algos/types.ts';
import { Dec } from '../../../shared/domain/decimal.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';

const SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '1000',
  min_notional: '5',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
};
const T0 = 1_751_328_300_000_000_000n; // 2025-07-01T00:05:00Z
const S = 1_000_000_000n;

const parent = (quantity: string, extra: Partial<ParentOrder> = {}): ParentOrder => ({
  order_id: 'P1',
  instrument_key: SPEC.instrument_key,
  side: 'BUY',
  quantity,
  ...extra,
});

type Policy = (child: ChildOrder) => { filled: string; status: 'FILLED' | 'CANCELED' | 'ACCEPTED' };
const fillAll: Policy = (c) => ({ filled: c.quantity, status: 'FILLED' });

interface Trace {
  at: bigint;
  actions: AlgoAction[];
}

/**
 * Drive an algorithm: call `next` (again at once after a call that produced actions, else at its
 * wake time); children are answered at once by `policy`, cancels are confirmed at once.
 */
function drive(
  state0: AlgoState,
  policy: Policy,
  opts: { from?: bigint; maxSteps?: number } = {},
): { state: AlgoState; trace: Trace[]; now: bigint; finished: boolean } {
  let state = state0;
  let now = opts.from ?? BigInt(state0.start_ns);
  const trace: Trace[] = [];
  for (let k = 0; k < (opts.maxSteps ?? 1000); k++) {
    const step = nextAlgo(state, now);
    state = step.state;
    if (step.actions.length > 0) trace.push({ at: now, actions: step.actions });
    for (const a of step.actions) {
      if (a.kind === 'submit') {
        const r = policy(a.child);
        state = onChildUpdate(state, {
          order_id: a.child.order_id,
          filled_quantity: r.filled,
          status: r.status,
        });
      } else {
        const c = state.children.find((x) => x.order_id === a.order_id)!;
        state = onChildUpdate(state, {
          order_id: a.order_id,
          filled_quantity: c.filled_quantity,
          status: 'CANCELED',
        });
      }
    }
    if (isDone(state)) return { state, trace, now, finished: true };
    if (step.actions.length === 0) {
      if (step.wakeAtNs === null) return { state, trace, now, finished: true };
      if (step.wakeAtNs > now) now = step.wakeAtNs;
    }
  }
  return { state, trace, now, finished: false };
}

const submits = (trace: Trace[]) =>
  trace.flatMap((t) =>
    t.actions.flatMap((a) =>
      a.kind === 'submit' ? [{ at: t.at - T0, id: a.child.order_id, qty: a.child.quantity }] : [],
    ),
  );

describe('TWAP', () => {
  it('1.0 BTC over 300 s in 10 slices: 0.1 every 30 s from the start', () => {
    const st = initAlgo('TWAP', parent('1.0'), { duration_sec: 300, max_slices: 10 }, T0, SPEC, 1);
    expect(st.slices.map((s) => BigInt(s.at_ns) - T0)).toEqual(
      Array.from({ length: 10 }, (_, i) => BigInt(i) * 30n * S),
    );
    const { state, trace } = drive(st, fillAll);
    expect(submits(trace)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ at: BigInt(i) * 30n * S, id: `P1-S${i + 1}`, qty: '0.1' })),
    );
    const first = trace[0]!.actions[0]!;
    expect(first).toEqual({
      kind: 'submit',
      child: {
        order_id: 'P1-S1',
        parent_order_id: 'P1',
        instrument_key: SPEC.instrument_key,
        side: 'BUY',
        quantity: '0.1',
        order_type: 'MARKET',
        price: null,
        time_in_force: 'IOC',
        index: 1,
      },
    });
    expect(isDone(state)).toBe(true);
    expect(state.done_reason).toBe('FILLED');
    expect(filledQuantity(state)).toBe('1');
  });

  it('1.0 in 3 slices with step 0.001 → 0.333, 0.333, 0.334', () => {
    const st = initAlgo('TWAP', parent('1.0'), { duration_sec: 90, max_slices: 3 }, T0, SPEC);
    expect(st.slices.map((s) => s.quantity)).toEqual(['0.333', '0.333', '0.334']);
    expect(submits(drive(st, fillAll).trace).map((s) => [s.at / S, s.qty])).toEqual([
      [0n, '0.333'],
      [30n, '0.333'],
      [60n, '0.334'],
    ]);
  });

  it('max_slices defaults to one per 30 s (schema default), and fewer slices when they would be below min_qty', () => {
    const st = initAlgo('TWAP', parent('1'), { duration_sec: 120 }, T0, SPEC);
    expect(st.slices.map((s) => s.quantity)).toEqual(['0.25', '0.25', '0.25', '0.25']);
    // 0.003 with min_qty 0.001: at most 3 slices, spread over the whole duration.
    const small = initAlgo('TWAP', parent('0.003'), { duration_sec: 100, max_slices: 10 }, T0, SPEC);
    expect(small.slices.map((s) => [BigInt(s.at_ns) - T0, s.quantity])).toEqual([
      [0n, '0.001'],
      [33_333_333_333n, '0.001'],
      [66_666_666_666n, '0.001'],
    ]);
    // With a limit price, min_notional 5 at 100 → each slice at least 0.05.
    const lim = initAlgo(
      'TWAP',
      parent('0.12', { limit_price: '100' }),
      { duration_sec: 60, max_slices: 10 },
      T0,
      SPEC,
    );
    expect(lim.min_slice_quantity).toBe('0.05');
    expect(lim.slices.map((s) => s.quantity)).toEqual(['0.06', '0.06']);
  });

  it('jitter: deterministic per seed, within ±jitter·interval, never reordered, never past the end', () => {
    const times = (seed: number) =>
      initAlgo(
        'TWAP',
        parent('1'),
        { duration_sec: 300, max_slices: 10, jitter_pct: 0.5 },
        T0,
        SPEC,
        seed,
      ).slices.map((s) => BigInt(s.at_ns) - T0);
    const a = times(1);
    expect(times(1)).toEqual(a);
    expect(times(2)).not.toEqual(a);
    a.forEach((t, i) => {
      const base = BigInt(i) * 30n * S;
      expect(t >= base - 15n * S && t <= base + 15n * S).toBe(true);
      expect(t >= 0n && t < 300n * S).toBe(true);
      if (i > 0) expect(t >= a[i - 1]!).toBe(true);
    });
    // A seed in the params wins over the seed argument.
    const p = { duration_sec: 300, max_slices: 10, jitter_pct: 0.5, seed: 2 };
    expect(initAlgo('TWAP', parent('1'), p, T0, SPEC, 1).slices).toEqual(
      initAlgo('TWAP', parent('1'), p, T0, SPEC, 99).slices,
    );
    expect(initAlgo('TWAP', parent('1'), p, T0, SPEC, 1).slices.map((s) => BigInt(s.at_ns) - T0)).toEqual(
      times(2),
    );
  });

  it('carries the unfilled quantity of a slice into the next one (cancel first when still open)', () => {
    const st = initAlgo(
      'TWAP',
      parent('0.3', { limit_price: '100' }),
      { duration_sec: 90, max_slices: 3 },
      T0,
      SPEC,
    );
    // S1: limit child, fills 0.04 and stays open.
    let step = nextAlgo(st, T0);
    expect(step.actions).toMatchObject([
      {
        kind: 'submit',
        child: {
          order_id: 'P1-S1',
          quantity: '0.1',
          order_type: 'LIMIT',
          price: '100',
          time_in_force: 'GTC',
        },
      },
    ]);
    expect(step.wakeAtNs).toBe(T0 + 30n * S);
    let s = onChildUpdate(step.state, {
      order_id: 'P1-S1',
      filled_quantity: '0.04',
      status: 'PARTIALLY_FILLED',
    });
    // Slice 2 due: S1 is canceled first; nothing is sent until its cancel is confirmed.
    step = nextAlgo(s, T0 + 30n * S);
    expect(step.actions).toEqual([{ kind: 'cancel', order_id: 'P1-S1' }]);
    expect(step.wakeAtNs).toBe(T0 + 90n * S);
    // Calling again before the confirmation does not cancel twice.
    expect(nextAlgo(step.state, T0 + 31n * S).actions).toEqual([]);
    s = onChildUpdate(step.state, { order_id: 'P1-S1', filled_quantity: '0.05', status: 'CANCELED' });
    step = nextAlgo(s, T0 + 31n * S);
    expect(step.actions).toMatchObject([{ kind: 'submit', child: { order_id: 'P1-S2', quantity: '0.15' } }]);
    s = onChildUpdate(step.state, { order_id: 'P1-S2', filled_quantity: '0.15', status: 'FILLED' });
    // S3 at 60 s, rests unfilled; at the end (90 s) it is canceled, then the algorithm is done.
    step = nextAlgo(s, T0 + 60n * S);
    expect(step.actions).toMatchObject([{ kind: 'submit', child: { order_id: 'P1-S3', quantity: '0.1' } }]);
    expect(step.wakeAtNs).toBe(T0 + 90n * S);
    step = nextAlgo(step.state, T0 + 90n * S);
    expect(step.actions).toEqual([{ kind: 'cancel', order_id: 'P1-S3' }]);
    s = onChildUpdate(step.state, { order_id: 'P1-S3', filled_quantity: '0.02', status: 'CANCELED' });
    expect(isDone(s)).toBe(true);
    expect(s.done_reason).toBe('SCHEDULE_COMPLETE');
    expect(filledQuantity(s)).toBe('0.22');
    expect(unassignedQuantity(s)).toBe('0.08');
  });

  it('IOC market slices: a partial fill carries without any cancel', () => {
    const st = initAlgo('TWAP', parent('0.3'), { duration_sec: 90, max_slices: 3 }, T0, SPEC);
    const half: Policy = (c) => ({
      filled: new Dec(c.quantity).div(2).toDecimalPlaces(3, Dec.ROUND_DOWN).toFixed(),
      status: 'CANCELED',
    });
    const { state, trace } = drive(st, half);
    // 0.1 → fills 0.05; 0.1 + 0.05 = 0.15 → 0.075; 0.1 + 0.075 = 0.175 → 0.087
    expect(submits(trace).map((x) => x.qty)).toEqual(['0.1', '0.15', '0.175']);
    expect(filledQuantity(state)).toBe('0.212');
    expect(trace.every((t) => t.actions.every((a) => a.kind === 'submit'))).toBe(true);
    expect(state.done_reason).toBe('SCHEDULE_COMPLETE');
  });

  it('catching up after downtime: the slices due together go out as one child', () => {
    const st = initAlgo(
      'TWAP',
      parent('0.3', { limit_price: '100' }),
      { duration_sec: 90, max_slices: 3 },
      T0,
      SPEC,
    );
    let step = nextAlgo(st, T0 + 65n * S); // S1 (0 s) and S2 (30 s) are due, S3 (60 s) too
    expect(step.actions).toEqual([
      { kind: 'submit', child: expect.objectContaining({ order_id: 'P1-S3', quantity: '0.3', index: 3 }) },
    ]);
    expect(step.state.next_slice).toBe(3);
    expect(step.wakeAtNs).toBe(T0 + 90n * S); // the end
    // Two due of three: one child of 0.2 named after the second, the third keeps its time.
    step = nextAlgo(st, T0 + 45n * S);
    expect(step.actions).toMatchObject([{ kind: 'submit', child: { order_id: 'P1-S2', quantity: '0.2' } }]);
    expect(step.wakeAtNs).toBe(T0 + 60n * S);
    step = nextAlgo(
      onChildUpdate(step.state, { order_id: 'P1-S2', filled_quantity: '0.05', status: 'ACCEPTED' }),
      T0 + 60n * S,
    );
    expect(step.actions).toEqual([{ kind: 'cancel', order_id: 'P1-S2' }]);
    step = nextAlgo(
      onChildUpdate(step.state, { order_id: 'P1-S2', filled_quantity: '0.05', status: 'CANCELED' }),
      T0 + 60n * S,
    );
    expect(step.actions).toMatchObject([{ kind: 'submit', child: { order_id: 'P1-S3', quantity: '0.25' } }]);
  });

  it('resumed past its end: the remainder goes out once and is canceled only at the next step', () => {
    for (const limit of [null, '1000'] as const) {
      const st = initAlgo(
        'TWAP',
        parent('0.04', limit === null ? {} : { limit_price: limit }),
        { duration_sec: 4, max_slices: 4 },
        T0,
        SPEC,
      );
      // S1 sent and filled before the crash, nothing after it until a minute past the end.
      let step = nextAlgo(st, T0);
      expect(step.actions).toMatchObject([
        { kind: 'submit', child: { order_id: 'P1-S1', quantity: '0.01' } },
      ]);
      let s = onChildUpdate(step.state, { order_id: 'P1-S1', filled_quantity: '0.01', status: 'FILLED' });
      const late = T0 + 64n * S;
      step = nextAlgo(s, late);
      // Never a cancel of the child this step sends (a cancel ahead of its submit loses the slice).
      expect(step.actions).toEqual([
        { kind: 'submit', child: expect.objectContaining({ order_id: 'P1-S4', quantity: '0.03' }) },
      ]);
      expect(pendingActions(step.state)).toHaveLength(1);
      s = step.state;
      if (limit === null) {
        s = onChildUpdate(s, { order_id: 'P1-S4', filled_quantity: '0.03', status: 'FILLED' });
        expect(filledQuantity(s)).toBe('0.04');
        expect(s.done_reason).toBe('FILLED');
      } else {
        s = onChildUpdate(s, { order_id: 'P1-S4', filled_quantity: '0.01', status: 'ACCEPTED' });
        step = nextAlgo(s, late + S);
        expect(step.actions).toEqual([{ kind: 'cancel', order_id: 'P1-S4' }]);
        s = onChildUpdate(step.state, { order_id: 'P1-S4', filled_quantity: '0.01', status: 'CANCELED' });
        expect(filledQuantity(s)).toBe('0.02');
        expect(s.done_reason).toBe('SCHEDULE_COMPLETE');
      }
    }
  });
});

describe('VWAP', () => {
  it('slice quantities follow the weights, floored to the step, remainder last', () => {
    const st = initAlgo('VWAP', parent('1'), { duration_sec: 240, volume_profile: [1, 2, 3, 4] }, T0, SPEC);
    expect(st.slices.map((s) => [BigInt(s.at_ns) - T0, s.quantity])).toEqual([
      [0n, '0.1'],
      [60n * S, '0.2'],
      [120n * S, '0.3'],
      [180n * S, '0.4'],
    ]);
    const uniform = initAlgo('VWAP', parent('1'), { duration_sec: 90, max_slices: 3 }, T0, SPEC);
    expect(uniform.slices.map((s) => s.quantity)).toEqual(['0.333', '0.333', '0.334']);
    // 1.3 × 0.1/1.1 = 0.11818… → 0.118; 1.3 × 0.7/1.1 = 0.82727… → 0.827; last 1.3 − 0.945 = 0.355
    const odd = initAlgo(
      'VWAP',
      parent('1.3'),
      { duration_sec: 90, volume_profile: [0.1, 0.7, 0.3] },
      T0,
      SPEC,
    );
    expect(odd.slices.map((s) => s.quantity)).toEqual(['0.118', '0.827', '0.355']);
  });

  it('named intraday profile: u_shape over 3 slices is 3:1:3', () => {
    expect(volumeProfile('u_shape', 3)).toEqual([3, 1, 3]);
    const st = initAlgo(
      'VWAP',
      parent('1.4'),
      { duration_sec: 90, volume_profile: volumeProfile('u_shape', 3) },
      T0,
      SPEC,
    );
    expect(st.slices.map((s) => s.quantity)).toEqual(['0.6', '0.2', '0.6']);
  });

  it('a zero-weight slice sends nothing; ids keep the slice numbers', () => {
    const st = initAlgo('VWAP', parent('1'), { duration_sec: 90, volume_profile: [1, 0, 1] }, T0, SPEC);
    expect(submits(drive(st, fillAll).trace).map((x) => [x.id, x.qty])).toEqual([
      ['P1-S1', '0.5'],
      ['P1-S3', '0.5'],
    ]);
  });

  it('participation cap: a slice is limited to cap × market volume since the previous slice', () => {
    let s = initAlgo(
      'VWAP',
      parent('1'),
      { duration_sec: 240, max_slices: 4, participation_cap: 0.1 },
      T0,
      SPEC,
    );
    const volumes = ['100', '101', '110', '110'];
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) {
      const step = nextAlgo(s, T0 + BigInt(i) * 60n * S, { volume: volumes[i]! });
      s = step.state;
      for (const a of step.actions) {
        if (a.kind !== 'submit') continue;
        sent.push(a.child.quantity);
        s = onChildUpdate(s, {
          order_id: a.child.order_id,
          filled_quantity: a.child.quantity,
          status: 'FILLED',
        });
      }
    }
    // S1: no history → 0.25. S2: 0.1 × 1 = 0.1 (0.15 rolls). S3: 0.25 + 0.15 = 0.4 ≤ 0.9. S4: 0 volume → nothing.
    expect(sent).toEqual(['0.25', '0.1', '0.4']);
    expect(s.done_reason).toBe('SCHEDULE_COMPLETE');
    expect(filledQuantity(s)).toBe('0.75');
  });
});

describe('ICEBERG', () => {
  it('keeps one display-sized child working and refills when it fills; the last takes the remainder', () => {
    const st = initAlgo(
      'ICEBERG',
      parent('1', { limit_price: '100' }),
      { display_quantity: '0.3' },
      T0,
      SPEC,
    );
    const step = nextAlgo(st, T0);
    expect(step.actions).toEqual([
      {
        kind: 'submit',
        child: {
          order_id: 'P1-R1',
          parent_order_id: 'P1',
          instrument_key: SPEC.instrument_key,
          side: 'BUY',
          quantity: '0.3',
          order_type: 'LIMIT',
          price: '100',
          time_in_force: 'GTC',
          index: 1,
        },
      },
    ]);
    expect(step.wakeAtNs).toBeNull();
    // A partial fill does not refill.
    let s = onChildUpdate(step.state, {
      order_id: 'P1-R1',
      filled_quantity: '0.1',
      status: 'PARTIALLY_FILLED',
    });
    expect(nextAlgo(s, T0 + S).actions).toEqual([]);
    const { state, trace } = drive(s, fillAll, { from: T0 + S });
    expect(trace).toEqual([]); // R1 still open: nothing to do until it fills
    s = onChildUpdate(state, { order_id: 'P1-R1', filled_quantity: '0.3', status: 'FILLED' });
    const rest = drive(s, fillAll, { from: T0 + 2n * S });
    expect(submits(rest.trace).map((x) => [x.id, x.qty])).toEqual([
      ['P1-R2', '0.3'],
      ['P1-R3', '0.3'],
      ['P1-R4', '0.1'],
    ]);
    expect(rest.state.done_reason).toBe('FILLED');
  });

  it('stops when a child ends without filling (venue cancel / reject)', () => {
    let step = nextAlgo(
      initAlgo('ICEBERG', parent('1', { limit_price: '100' }), { display_quantity: '0.3' }, T0, SPEC),
      T0,
    );
    const s = onChildUpdate(step.state, { order_id: 'P1-R1', filled_quantity: '0.2', status: 'EXPIRED' });
    expect(isDone(s)).toBe(true);
    expect(s.done_reason).toBe('CHILD_ENDED');
    step = nextAlgo(s, T0 + S);
    expect(step.actions).toEqual([]);
  });

  it('refresh jitter: refills vary within ±jitter of the display size, deterministically', () => {
    const sizes = (seed: number) => {
      const st = initAlgo(
        'ICEBERG',
        parent('10', { limit_price: '100' }),
        { display_quantity: '1', refresh_jitter: 0.2, seed },
        T0,
        SPEC,
      );
      return submits(drive(st, fillAll).trace).map((x) => x.qty);
    };
    const a = sizes(5);
    expect(sizes(5)).toEqual(a);
    expect(sizes(6)).not.toEqual(a);
    expect(a[0]).toBe('1');
    expect(a.reduce((x, q) => x.plus(q), new Dec(0)).toFixed()).toBe('10');
    for (const q of a.slice(1, -1)) expect(Number(q) >= 0.8 && Number(q) <= 1.2).toBe(true);
  });

  it('rejects a display quantity off the step grid or not below the order quantity', () => {
    expect(() => initAlgo('ICEBERG', parent('1'), { display_quantity: '0.0005' }, T0, SPEC)).toThrow(
      ValidationError,
    );
    expect(() => initAlgo('ICEBERG', parent('1'), { display_quantity: '1' }, T0, SPEC)).toThrow(
      ValidationError,
    );
  });
});

describe('NORMAL', () => {
  it('one child with the whole order and the parent time in force', () => {
    const st = initAlgo(
      'NORMAL',
      parent('0.75', { limit_price: '99.5', time_in_force: 'GTX' }),
      {},
      T0,
      SPEC,
    );
    const step = nextAlgo(st, T0);
    expect(step.actions).toEqual([
      {
        kind: 'submit',
        child: {
          order_id: 'P1-N1',
          parent_order_id: 'P1',
          instrument_key: SPEC.instrument_key,
          side: 'BUY',
          quantity: '0.75',
          order_type: 'LIMIT',
          price: '99.5',
          time_in_force: 'GTX',
          index: 1,
        },
      },
    ]);
    expect(step.wakeAtNs).toBeNull();
    const s = onChildUpdate(step.state, { order_id: 'P1-N1', filled_quantity: '0.75', status: 'FILLED' });
    expect(s.done_reason).toBe('FILLED');
  });

  it('waits for its start time', () => {
    const st = initAlgo('NORMAL', parent('1'), {}, T0 + 10n * S, SPEC);
    const step = nextAlgo(st, T0);
    expect(step.actions).toEqual([]);
    expect(step.wakeAtNs).toBe(T0 + 10n * S);
  });
});

describe('lifecycle, idempotency and restarts', () => {
  it('child updates are idempotent and order-tolerant', () => {
    const st = nextAlgo(initAlgo('NORMAL', parent('1', { limit_price: '100' }), {}, T0, SPEC), T0).state;
    const u1 = onChildUpdate(st, { order_id: 'P1-N1', filled_quantity: '0.4', status: 'PARTIALLY_FILLED' });
    expect(
      onChildUpdate(u1, { order_id: 'P1-N1', filled_quantity: '0.4', status: 'PARTIALLY_FILLED' }),
    ).toEqual(u1);
    // An older report (lower fill, earlier status) changes nothing.
    expect(onChildUpdate(u1, { order_id: 'P1-N1', filled_quantity: '0.1', status: 'ACCEPTED' })).toEqual(u1);
    // Unknown ids are ignored; the input state is never mutated.
    const copy = JSON.stringify(u1);
    expect(onChildUpdate(u1, { order_id: 'X', filled_quantity: '1', status: 'FILLED' })).toEqual(u1);
    nextAlgo(u1, T0 + S);
    expect(JSON.stringify(u1)).toBe(copy);
  });

  it('cancel: cancels open children, done once they finish', () => {
    let step = nextAlgo(
      initAlgo('TWAP', parent('1', { limit_price: '100' }), { duration_sec: 60 }, T0, SPEC),
      T0,
    );
    step = cancelAlgo(step.state);
    expect(step.actions).toEqual([{ kind: 'cancel', order_id: 'P1-S1' }]);
    expect(step.state.status).toBe('CANCELING');
    expect(nextAlgo(step.state, T0 + 40n * S).actions).toEqual([]); // no new slice while canceling
    const s = onChildUpdate(step.state, { order_id: 'P1-S1', filled_quantity: '0.1', status: 'CANCELED' });
    expect(s.done_reason).toBe('CANCELED');
    expect(filledQuantity(s)).toBe('0.1');
  });

  it('pendingActions re-derives unacknowledged submits and unconfirmed cancels after a restart', () => {
    let step = nextAlgo(
      initAlgo('TWAP', parent('1', { limit_price: '100' }), { duration_sec: 60 }, T0, SPEC),
      T0,
    );
    const persisted = JSON.parse(JSON.stringify(step.state)) as AlgoState; // crash before sending
    expect(pendingActions(persisted)).toEqual(step.actions);
    let s = onChildUpdate(persisted, { order_id: 'P1-S1', filled_quantity: '0', status: 'ACCEPTED' });
    expect(pendingActions(s)).toEqual([]);
    step = nextAlgo(s, T0 + 30n * S);
    expect(pendingActions(step.state)).toEqual([{ kind: 'cancel', order_id: 'P1-S1' }]);
    s = onChildUpdate(step.state, { order_id: 'P1-S1', filled_quantity: '0', status: 'CANCELED' });
    expect(pendingActions(s)).toEqual([]);
  });

  it('state survives a JSON round trip mid-way and resumes with exactly the same actions', () => {
    const cases: Array<[AlgoState, Policy]> = [
      [
        initAlgo('TWAP', parent('1.0'), { duration_sec: 300, max_slices: 10, jitter_pct: 0.3 }, T0, SPEC, 7),
        (c) => ({
          filled: new Dec(c.quantity).times('0.7').toDecimalPlaces(3, Dec.ROUND_DOWN).toFixed(),
          status: 'CANCELED',
        }),
      ],
      [
        initAlgo('TWAP', parent('1', { limit_price: '100' }), { duration_sec: 300, max_slices: 5 }, T0, SPEC),
        (c) => ({
          filled: new Dec(c.quantity).div(2).toDecimalPlaces(3, Dec.ROUND_DOWN).toFixed(),
          status: 'ACCEPTED',
        }),
      ],
      [
        initAlgo('VWAP', parent('2'), { duration_sec: 300, volume_profile: [5, 1, 0, 2, 7] }, T0, SPEC),
        fillAll,
      ],
      [
        initAlgo(
          'ICEBERG',
          parent('2', { limit_price: '100' }),
          { display_quantity: '0.3', refresh_jitter: 0.3 },
          T0,
          SPEC,
          3,
        ),
        fillAll,
      ],
    ];
    for (const [st, policy] of cases) {
      const whole = drive(st, policy);
      expect(whole.finished).toBe(true);
      for (let cut = 1; cut <= 40; cut++) {
        // `cut` single calls, each result serialised and parsed, then the rest from the parsed state.
        let state = st;
        let now = BigInt(st.start_ns);
        const trace: Trace[] = [];
        for (let i = 0; i < cut; i++) {
          const part = drive(state, policy, { from: now, maxSteps: 1 });
          trace.push(...part.trace);
          state = JSON.parse(JSON.stringify(part.state)) as AlgoState;
          now = part.now;
          if (part.finished) break;
        }
        const rest = drive(state, policy, { from: now });
        expect([...trace, ...rest.trace]).toEqual(whole.trace);
        expect(rest.state).toEqual(whole.state);
      }
    }
  });

  it('the common interface object per algorithm', () => {
    const twap = EXEC_ALGORITHM_IMPLS.TWAP;
    const st = twap.init(parent('1'), { duration_sec: 60, max_slices: 2 }, T0, SPEC, 0);
    expect(st.algo).toBe('TWAP');
    const step = twap.next(st, T0);
    expect(step.actions).toHaveLength(1);
    expect(twap.isDone(step.state)).toBe(false);
  });

  it('bad parameters and parents are ValidationErrors with paths', () => {
    try {
      initAlgo('TWAP', parent('1'), { duration_sec: 0, max_slice: 3 }, T0, SPEC);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const paths = (e as ValidationError).issues.map((i) => i.path);
      expect(paths).toContain('exec_algorithm_params.duration_sec');
    }
    try {
      initAlgo('NORMAL', parent('0.0005'), {}, T0, SPEC);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([
        { path: 'quantity', message: '0.0005 is not a multiple of step size 0.001' },
      ]);
    }
  });
});

describe('planning helpers', () => {
  it('rollSmallSlices moves sub-minimum slices forward', () => {
    expect(rollSmallSlices(['0.002', '0.002', '0.003', '0.001'], '0.005')).toEqual([
      '0',
      '0',
      '0.007',
      '0.001',
    ]);
  });

  it('splits always sum exactly to the total and stay on the step grid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 50 }),
        (units, n, w) => {
          const total = new Dec(units).times('0.001').toFixed();
          const even = splitEvenly(total, n, '0.001');
          expect(even.reduce((a, q) => a.plus(q), new Dec(0)).eq(total)).toBe(true);
          for (const q of even.slice(0, -1)) expect(q).toBe(even[0]);
          for (const q of even) expect(new Dec(q).times(1000).isInteger() && new Dec(q).gte(0)).toBe(true);
          if (w.some((x) => x > 0)) {
            const byW = splitByWeights(total, w, '0.001');
            expect(byW.reduce((a, q) => a.plus(q), new Dec(0)).eq(total)).toBe(true);
            for (const q of byW) expect(new Dec(q).times(1000).isInteger() && new Dec(q).gte(0)).toBe(true);
          }
        },
      ),
    );
  });

  it('slice times with jitter are ordered and inside [start, end) for any seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 86_400 }),
        fc.nat(),
        (n, dur, seed) => {
          const d = BigInt(dur) * S;
          const ts = sliceTimes(T0, d, Math.min(n, dur), 0.5, seed);
          ts.forEach((t, i) => {
            expect(t >= T0 && t < T0 + d).toBe(true);
            if (i > 0) expect(t >= ts[i - 1]!).toBe(true);
          });
        },
      ),
    );
  });
});

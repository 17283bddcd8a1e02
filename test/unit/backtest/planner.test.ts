import { describe, expect, it } from 'vitest';
import { planWindows } from '../../../shared/backtest/planner.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { deriveSeed } from '../../../shared/sim/prng.ts';
import { BTC, ETH, SEC, signal, T0_NS } from './fixtures.ts';

const MIN = 60n * SEC;
const opts = { window_minutes: 5, seed: 42 };

describe('planWindows', () => {
  it('opens a window only where the target changes, trading target − previous target', () => {
    const plan = planWindows(
      [
        signal(1, '2025-07-01T00:05:00Z', '0.1'),
        signal(2, '2025-07-01T00:10:00Z', '0.1'), // unchanged → no window
        signal(3, '2025-07-01T00:20:00Z', '0.3'),
        signal(4, '2025-07-01T00:40:00Z', '0'),
      ],
      opts,
    );
    expect(
      plan.windows.map((w) => [
        w.window_id,
        w.signal.line,
        w.previous_target,
        w.target,
        w.delta,
        w.side,
        w.quantity,
      ]),
    ).toEqual([
      ['w000000', 1, '0', '0.1', '0.1', 'BUY', '0.1'],
      ['w000001', 3, '0.1', '0.3', '0.2', 'BUY', '0.2'],
      ['w000002', 4, '0.3', '0', '-0.3', 'SELL', '0.3'],
    ]);
    expect(plan.skipped).toEqual([
      {
        line: 2,
        ts: '2025-07-01T00:10:00Z',
        strategy_id: 's1',
        instrument_key: BTC,
        target_position: '0.1',
        reason: 'unchanged_target',
      },
    ]);
    const w0 = plan.windows[0]!;
    expect(BigInt(w0.start_ns)).toBe(T0_NS);
    expect(BigInt(w0.end_ns)).toBe(T0_NS + 5n * MIN);
    expect(w0.nominal_end_ns).toBe(w0.end_ns);
    expect(w0.truncated_by).toBeNull();
    expect(w0.venue).toBe('BINANCE-SPOT');
    expect(plan.period).toEqual({
      start: '2025-07-01T00:05:00.000000000Z',
      end: '2025-07-01T00:45:00.000000000Z',
    });
  });

  it('a first target of 0 (already flat) opens no window; nothing at all gives no period', () => {
    const plan = planWindows([signal(1, '2025-07-01T00:05:00Z', '0')], opts);
    expect(plan.windows).toEqual([]);
    expect(plan.skipped.map((s) => s.line)).toEqual([1]);
    expect(plan.period).toBeNull();
  });

  it('tracks targets per (strategy, instrument) and the instrument position over strategies', () => {
    const plan = planWindows(
      [
        signal(1, '2025-07-01T00:05:00Z', '1'),
        signal(2, '2025-07-01T00:20:00Z', '2', { strategy_id: 's2' }),
        signal(3, '2025-07-01T00:30:00Z', '1.5', { strategy_id: 's2' }),
        signal(4, '2025-07-01T00:40:00Z', '1', { instrument_key: ETH }),
      ],
      opts,
    );
    expect(
      plan.windows.map((w) => [
        w.strategy_id,
        w.instrument_key,
        w.previous_target,
        w.delta,
        w.instrument_position_at_start,
      ]),
    ).toEqual([
      ['s1', BTC, '0', '1', '0'],
      ['s2', BTC, '0', '2', '1'],
      ['s2', BTC, '2', '-0.5', '3'],
      ['s1', ETH, '0', '1', '0'],
    ]);
  });

  it('a later window of the same instrument ends the open one at its start; other instruments overlap', () => {
    const plan = planWindows(
      [
        signal(1, '2025-07-01T00:05:00Z', '1'),
        signal(2, '2025-07-01T00:07:00Z', '2', { strategy_id: 's2' }),
        signal(3, '2025-07-01T00:06:00Z', '1', { instrument_key: ETH }),
      ],
      opts,
    );
    const [a, eth, b] = plan.windows;
    expect([a?.window_id, eth?.window_id, b?.window_id]).toEqual(['w000000', 'w000001', 'w000002']);
    expect(BigInt(a!.end_ns)).toBe(T0_NS + 2n * MIN);
    expect(BigInt(a!.nominal_end_ns)).toBe(T0_NS + 5n * MIN);
    expect(a?.truncated_by).toBe('w000002');
    expect(eth?.truncated_by).toBeNull();
    expect(BigInt(eth!.end_ns)).toBe(T0_NS + 6n * MIN);
    expect(b?.truncated_by).toBeNull();
  });

  it('the window length is configurable and seeds derive from the run seed and the index', () => {
    const plan = planWindows(
      [signal(1, '2025-07-01T00:05:00Z', '1'), signal(2, '2025-07-01T01:05:00Z', '2')],
      {
        window_minutes: 10,
        seed: 7,
      },
    );
    expect(BigInt(plan.windows[1]!.end_ns) - BigInt(plan.windows[1]!.start_ns)).toBe(10n * MIN);
    expect(plan.windows.map((w) => w.seed)).toEqual([deriveSeed(7, 0), deriveSeed(7, 1)]);
  });

  it('is independent of the order of the input signals', () => {
    const sigs = [
      signal(1, '2025-07-01T00:05:00Z', '1'),
      signal(2, '2025-07-01T00:05:00Z', '1', { instrument_key: ETH }),
      signal(3, '2025-07-01T00:25:00Z', '0'),
    ];
    expect(planWindows([...sigs].reverse(), opts)).toEqual(planWindows(sigs, opts));
  });

  it('a parent the algorithm cannot work is an error naming the signal line', () => {
    const bad = signal(5, '2025-07-01T00:05:00Z', '0.3', {
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.5' },
    });
    try {
      planWindows([bad], { ...opts, source: 'sig.jsonl' });
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const issue = (e as ValidationError).issues[0];
      expect(issue?.path).toBe('sig.jsonl:5.exec_algorithm_params.display_quantity');
      expect(issue?.message).toMatch(/must be less than quantity \(0\.3\).*window w000000/);
    }
  });

  it('rejects a bad window length', () => {
    expect(() => planWindows([], { window_minutes: 0, seed: 1 })).toThrow(RangeError);
  });
});

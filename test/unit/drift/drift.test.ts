import { describe, expect, it } from 'vitest';
import {
  type DriftRule,
  type DriftState,
  evaluateFill,
  INITIAL_DRIFT_STATE,
  observeDrift,
} from '../../../shared/drift/drift.ts';

const SEC = 1_000_000_000n;

describe('evaluateFill', () => {
  it('signs drift so that positive is worse for us: a BUY above the mid, a SELL below it', () => {
    expect(evaluateFill({ price: '100.1', side: 'BUY', mid: '100', threshold_bps: 5 })).toEqual({
      drift_bps: '10',
      drift: 10,
      alert: true,
    });
    expect(evaluateFill({ price: '99.9', side: 'SELL', mid: '100', threshold_bps: 5 })).toEqual({
      drift_bps: '10',
      drift: 10,
      alert: true,
    });
    // Better than the mid (a maker fill): negative, never an alert.
    expect(evaluateFill({ price: '99.9', side: 'BUY', mid: '100', threshold_bps: 5 })).toMatchObject({
      drift_bps: '-10',
      alert: false,
    });
    expect(evaluateFill({ price: '100.1', side: 'SELL', mid: '100', threshold_bps: 5 })).toMatchObject({
      drift_bps: '-10',
      alert: false,
    });
  });

  it('alerts strictly beyond the threshold, exact decimals, rounded to 4 places', () => {
    expect(evaluateFill({ price: '60003', side: 'BUY', mid: '60000', threshold_bps: 0.5 })).toEqual({
      drift_bps: '0.5',
      drift: 0.5,
      alert: false,
    });
    expect(evaluateFill({ price: '60003.01', side: 'BUY', mid: '60000', threshold_bps: 0.5 })?.alert).toBe(
      true,
    );
    expect(evaluateFill({ price: '1', side: 'BUY', mid: '3', threshold_bps: 1 })?.drift_bps).toBe(
      '-6666.6667',
    );
  });

  it('cannot judge without a mid', () => {
    expect(evaluateFill({ price: '1', side: 'BUY', mid: null, threshold_bps: 1 })).toBeNull();
    expect(evaluateFill({ price: '1', side: 'BUY', mid: '0', threshold_bps: 1 })).toBeNull();
  });
});

describe('observeDrift (persistence)', () => {
  const rule: DriftRule = { threshold_bps: 5, alerts: 3, window_ns: 60n * SEC, ewma_min_samples: 1000 };

  function run(obs: Array<[bigint, number]>, r: DriftRule = rule) {
    let s: DriftState = INITIAL_DRIFT_STATE;
    return obs.map(([t, d]) => {
      const step = observeDrift(s, { ts_event: t, drift: d, alert: d > r.threshold_bps }, r);
      s = step.state;
      return step;
    });
  }

  it('N alerts within the window make drift persistent, once; it clears when they age out', () => {
    const steps = run([
      [0n, 8],
      [10n * SEC, 2],
      [20n * SEC, 9],
      [30n * SEC, 7],
      [40n * SEC, 6],
      [200n * SEC, 1],
    ]);
    expect(steps.map((s) => s.persistent)).toEqual([false, false, false, true, true, false]);
    expect(steps.map((s) => s.became_persistent)).toEqual([false, false, false, true, false, false]);
    expect(steps[3]?.reason).toBe('3 fills beyond 5 bps within 60 s');
  });

  it('alerts spread wider than the window never add up', () => {
    const steps = run([
      [0n, 8],
      [70n * SEC, 8],
      [140n * SEC, 8],
    ]);
    expect(steps.every((s) => !s.persistent)).toBe(true);
  });

  it('an EWMA beyond its level makes drift persistent without single alerts', () => {
    const r = { threshold_bps: 10, alerts: 100, ewma_alpha: 0.5, ewma_threshold_bps: 4, ewma_min_samples: 3 };
    const steps = run(
      [
        [0n, 6],
        [SEC, 6],
        [2n * SEC, 6],
        [3n * SEC, -20],
      ],
      r,
    );
    expect(steps.map((s) => s.persistent)).toEqual([false, false, true, false]);
    expect(steps[2]?.reason).toBe('average drift 6.00 bps above 4 bps over 3 fills');
  });

  it('refuses a bad EWMA weight', () => {
    expect(() =>
      observeDrift(
        INITIAL_DRIFT_STATE,
        { ts_event: 0n, drift: 1, alert: false },
        { threshold_bps: 1, ewma_alpha: 0 },
      ),
    ).toThrow(RangeError);
  });
});

/** NAV and its watch: uncomputable and flat NAV raise alerts, never a silent 0% return. */
import { describe, expect, it } from 'vitest';
import { computeNav, INITIAL_NAV_WATCH, watchNav } from '../../../shared/rebalance/nav.ts';

const A = 'SIM:SPOT_PAIR:AAA-USDT';

describe('NAV watch', () => {
  it('computes NAV exactly and names every missing input', () => {
    expect(
      computeNav({ cash: { USDT: '100.5' }, positions: { [A]: '0.3' } }, { [A]: '0.1' }, 'USDT'),
    ).toEqual({
      ok: true,
      nav: '100.53',
      cash: '100.5',
      exposure: '0.03',
    });
    const bad = computeNav({ cash: { USD: '1' }, positions: { [A]: '1' } }, {}, 'USDT');
    expect(bad).toEqual({
      ok: false,
      issues: [
        { path: 'cash.USDT', message: 'no cash balance in USDT' },
        { path: `prices.${A}`, message: 'no price for held position 1' },
      ],
    });
    const w = watchNav(INITIAL_NAV_WATCH, bad, true, 3);
    expect(w.alert?.kind).toBe('NAV_UNCOMPUTABLE');
    expect(w.alert?.message).toContain('prices.SIM:SPOT_PAIR:AAA-USDT');
  });

  it('alerts once when NAV stays flat for N snapshots with positions held, not when flat in cash', () => {
    const nav = computeNav({ cash: { USDT: '1' }, positions: { [A]: '1' } }, { [A]: '2' }, 'USDT');
    let s = INITIAL_NAV_WATCH;
    const alerts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = watchNav(s, nav, true, 3);
      s = r.state;
      if (r.alert) alerts.push(`${i}:${r.alert.kind}`);
    }
    expect(alerts).toEqual(['2:NAV_FLAT']);
    let c = INITIAL_NAV_WATCH;
    for (let i = 0; i < 6; i++) {
      const r = watchNav(c, computeNav({ cash: { USDT: '1' }, positions: {} }, {}, 'USDT'), false, 3);
      c = r.state;
      expect(r.alert).toBeNull();
    }
  });
});

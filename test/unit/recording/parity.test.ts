import { describe, expect, it } from 'vitest';
import {
  checkTolerances,
  compareReplay,
  DEFAULT_PARITY_TOLERANCES,
  formatParityTable,
} from '../../../shared/recording/parity.ts';
import { BTC, child, clone, executionSet, parent, SEC, T0 } from './fixtures.ts';

const recorded = executionSet([parent([child(0), child(1)])]);

function run(replayed = clone(recorded), mode: 'SHADOW' | 'LIVE' = 'SHADOW') {
  return compareReplay(
    { session_id: 's', mode, recorded, replayed, tolerances: DEFAULT_PARITY_TOLERANCES },
    'replay-s',
  ).report;
}

describe('compareReplay', () => {
  it('an identical replay has 0 mismatches, equal metrics and exit 0', () => {
    const r = run();
    expect(r.verdict).toBe('identical');
    expect(r.exit_code).toBe(0);
    expect(r.totals.mismatches).toBe(0);
    expect(r.totals.mismatching_orders).toBe(0);
    expect(r.totals.mismatching_fills).toBe(0);
    expect(r.totals.child_orders).toEqual({ recorded: 2, replayed: 2 });
    expect(r.totals.fills).toEqual({ recorded: 2, replayed: 2 });
    expect(r.totals.pnl.diff).toBe(0);
    expect(r.totals.implementation_shortfall_bps.diff).toBe(0);
    expect(r.totals.slippage_bps.diff).toBe(0);
    // The backtest's definitions: bought 1 at 60010 with 60.01 fees against an arrival mid of 60000.
    expect(r.totals.implementation_shortfall_bps.recorded).toBeCloseTo(((10 + 60.01) / 60000) * 10_000, 9);
    expect(r.totals.slippage_bps.recorded).toBeCloseTo((10 / 60000) * 10_000, 9);
    // Marked at the last mid 60100: +90 unrealised − 60.01 fees.
    expect(r.totals.pnl.recorded).toBeCloseTo(90 - 60.01, 6);
  });

  it('decimals compare by value, not spelling', () => {
    const rep = clone(recorded);
    rep.parents[0]!.children[0]!.quantity = '0.50';
    rep.parents[0]!.children[0]!.fills[0]!.price = '60010.0';
    expect(run(rep).totals.mismatches).toBe(0);
  });

  it('lists every differing field of a fill with both values and counts the order and fill once', () => {
    const rep = clone(recorded);
    const f = rep.parents[0]!.children[1]!.fills[0]!;
    f.price = '60020';
    f.fee = '30.01';
    f.ts_event += 1n;
    const r = run(rep);
    expect(r.verdict).toBe('mismatch');
    expect(r.exit_code).toBe(1);
    expect(r.parents[0]!.mismatches).toEqual([
      { path: 'children[1].fills[0].price', recorded: '60010', replayed: '60020' },
      { path: 'children[1].fills[0].fee', recorded: '30.005', replayed: '30.01' },
      {
        path: 'children[1].fills[0].ts_event',
        recorded: String(T0 + 10n * SEC + 5_000_000n),
        replayed: String(T0 + 10n * SEC + 5_000_001n),
      },
    ]);
    expect(r.totals.mismatches).toBe(3);
    expect(r.totals.mismatching_fills).toBe(1);
    expect(r.totals.mismatching_orders).toBe(1);
    expect(r.totals.pnl.diff).toBeCloseTo(-5 - 0.005, 6);
  });

  it('reports children and fills present on one side only, and order field differences', () => {
    const rep = clone(recorded);
    rep.parents[0]!.children.pop();
    rep.parents[0]!.children[0]!.ts_submitted += 1_000_000n;
    rep.parents[0]!.children[0]!.fills.push({ ...rep.parents[0]!.children[0]!.fills[0]!, fill_id: 'F9' });
    const r = run(rep);
    const paths = r.parents[0]!.mismatches.map((m) => m.path);
    expect(paths).toEqual([
      'children[0].ts_submitted',
      'children[0].fills[1]',
      'children[1]',
      'children[1].fills[0]',
    ]);
    expect(r.parents[0]!.mismatches[2]).toEqual({ path: 'children[1]', recorded: 'P1-c1', replayed: null });
    expect(r.totals.mismatching_orders).toBe(2);
    expect(r.totals.mismatching_fills).toBe(2);
  });

  it('a parent missing from the replay is a mismatch with all its children', () => {
    const rep = executionSet([]);
    const r = run(rep);
    expect(r.parents[0]!.replayed).toBe(false);
    expect(r.parents[0]!.mismatches[0]).toEqual({ path: 'parent', recorded: 'P1', replayed: null });
    expect(r.totals.mismatching_orders).toBe(3);
    expect(r.exit_code).toBe(1);
  });

  it('LIVE: differences within tolerance pass (exit 0) and are still listed', () => {
    const rep = clone(recorded);
    rep.parents[0]!.children[0]!.fills[0]!.fill_id = 'sim-1';
    rep.parents[0]!.children[0]!.fills[0]!.price = '60010.5'; // 0.5 × 0.5 = 0.25 on 60,010 notional
    const r = run(rep, 'LIVE');
    expect(r.totals.mismatches).toBe(1); // the price; venue trade ids are not compared
    expect(r.tolerance_check.applied).toBe(true);
    expect(r.totals.pnl.diff_pct).toBeLessThan(0.05);
    expect(r.verdict).toBe('within_tolerance');
    expect(r.exit_code).toBe(0);
  });

  it('LIVE: an altered fill price breaks the tolerances (exit 1) with the breaches named', () => {
    const rep = clone(recorded);
    rep.parents[0]!.children[0]!.fills[0]!.price = '60100';
    const r = run(rep, 'LIVE');
    expect(r.verdict).toBe('outside_tolerance');
    expect(r.exit_code).toBe(1);
    expect(r.tolerance_check.breaches.map((b) => b.metric).sort()).toEqual([
      'implementation_shortfall_bps',
      'pnl_pct',
      'slippage_bps',
    ]);
    expect(formatParityTable(r)).toContain('breach pnl_pct');
  });
});

describe('checkTolerances', () => {
  const totals = run().totals;
  it('a metric defined on one side only is a breach; on neither side is not', () => {
    const t = clone(totals);
    t.slippage_bps = { recorded: 1.2, replayed: null, diff: null };
    t.implementation_shortfall_bps = { recorded: null, replayed: null, diff: null };
    const c = checkTolerances(t, DEFAULT_PARITY_TOLERANCES);
    expect(c.passed).toBe(false);
    expect(c.breaches).toEqual([
      expect.objectContaining({ metric: 'slippage_bps', reason: expect.stringContaining('one side only') }),
    ]);
  });
  it('limits are inclusive and configurable', () => {
    const t = clone(totals);
    t.implementation_shortfall_bps = { recorded: 1, replayed: 1.5, diff: 0.5 };
    expect(checkTolerances(t, DEFAULT_PARITY_TOLERANCES).passed).toBe(true);
    expect(
      checkTolerances(t, { ...DEFAULT_PARITY_TOLERANCES, implementation_shortfall_bps: 0.4 }).passed,
    ).toBe(false);
  });
  it('a PnL difference with no recorded notional is a breach', () => {
    const t = clone(totals);
    t.pnl = { recorded: 0, replayed: -3, diff: -3, diff_pct: null };
    expect(checkTolerances(t, DEFAULT_PARITY_TOLERANCES).breaches[0]?.metric).toBe('pnl_pct');
  });
});

describe('formatParityTable', () => {
  it('prints both sides, the differences and the verdict', () => {
    const text = formatParityTable(run());
    expect(text).toMatch(/child orders\s+2\s+2\s+0 mismatching/);
    expect(text).toContain('verdict: identical (SHADOW), exit 0');
    expect(text).toContain(BTC.length > 0 ? 'impl. shortfall (bps)' : '');
  });
});

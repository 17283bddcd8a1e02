/** The weights file: a good file parses (keys canonical, decimals normalised); every problem names its field. */
import { describe, expect, it } from 'vitest';
import {
  parseHoldings,
  parsePrices,
  parseWeightsFile,
  parseWeightsText,
} from '../../../shared/rebalance/weights.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const GOOD = {
  schema_version: 1,
  strategy_id: 'rebalance-core-v3',
  as_of: '2026-12-07T00:00:00Z',
  weights: { [BTC]: '0.50', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT': 0.3 },
};

function issues(input: unknown) {
  const r = parseWeightsFile(input);
  if (r.success) throw new Error('expected a failure');
  return r.error.issues;
}

describe('weights file', () => {
  it('parses a good file with defaults', () => {
    const r = parseWeightsFile(GOOD);
    expect(r.success).toBe(true);
    if (!r.success) return;
    expect(r.data.weights).toEqual({ [BTC]: '0.5', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT': '0.3' });
    expect(r.data.exec_algorithm).toBe('NORMAL');
    expect(r.data.as_of_ns).toBe(1_796_601_600_000_000_000n);
  });

  it('canonicalises perpetual keys', () => {
    const r = parseWeightsFile({ ...GOOD, weights: { 'BINANCE-FUTURES:PERPETUAL:BTC-USDT': '0.1' } });
    expect(r.success && Object.keys(r.data.weights)).toEqual(['BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN']);
  });

  it('names every bad field', () => {
    const got = issues({
      schema_version: 2,
      strategy_id: '',
      as_of: '2026-12-07',
      weights: { [BTC]: '0.9', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT': '1.5', 'BINANCE:PERP:X': '0.1' },
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: -5 },
      extra: true,
    });
    const paths = got.map((i) => i.path);
    expect(paths).toContain('schema_version');
    expect(paths).toContain('strategy_id');
    expect(paths).toContain('as_of');
    expect(paths).toContain('weights.BINANCE-SPOT:SPOT_PAIR:ETH-USDT');
    expect(paths).toContain('weights.BINANCE:PERP:X');
    expect(paths).toContain('exec_algorithm_params.duration_sec');
    expect(got.find((i) => i.path === 'extra')?.message).toBe('unknown field');
    expect(got.find((i) => i.path === 'schema_version')?.message).toBe(
      'must be 1 (the version this platform reads), got 2',
    );
  });

  it('rejects weights summing to more than 1, negative weights and two spellings of one instrument', () => {
    expect(issues({ ...GOOD, weights: { [BTC]: '0.6', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT': '0.5' } })).toEqual([
      { path: 'weights', message: 'weights sum to 1.1, more than 1' },
    ]);
    expect(issues({ ...GOOD, weights: { [BTC]: '-0.1' } }).map((i) => i.path)).toEqual([`weights.${BTC}`]);
    const dup = issues({
      ...GOOD,
      weights: { 'X:PERPETUAL:BTC-USDT': '0.1', 'X:PERPETUAL:BTC-USDT@LIN': '0.1' },
    });
    expect(dup).toEqual([
      {
        path: 'weights.X:PERPETUAL:BTC-USDT@LIN',
        message: 'names the same instrument as "X:PERPETUAL:BTC-USDT"',
      },
    ]);
  });

  it('reports bad JSON at the root', () => {
    const r = parseWeightsText('{"schema_version": 1,');
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(r.error.code).toBe('invalid_weights_file');
    expect(r.error.issues[0]?.path).toBe('');
    expect(r.error.issues[0]?.message).toMatch(/^not valid JSON/);
  });

  it('holdings and prices name their fields', () => {
    const h = parseHoldings({ cash: { USDT: '-1' }, positions: { [BTC]: 'abc' } });
    expect(!h.success && h.error.issues.map((i) => i.path)).toEqual(['cash.USDT', `positions.${BTC}`]);
    const p = parsePrices({ [BTC]: '0' });
    expect(!p.success && p.error.issues.map((i) => i.path)).toEqual([BTC]);
    const ok = parseHoldings({ cash: { USDT: 100000 }, positions: { [BTC]: '0.50' }, nav: '1' });
    expect(ok.success && ok.data).toEqual({ cash: { USDT: '100000' }, positions: { [BTC]: '0.5' } });
  });
});

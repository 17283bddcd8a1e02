/** `npm run rebalance -- plan`: the table, the JSON, and bad files rejected with their fields. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../scripts/rebalance.ts';

const DIR = 'test/fixtures/rebalance';
const ARGS = [
  'plan',
  '--weights',
  `${DIR}/weights.json`,
  '--holdings',
  `${DIR}/holdings.json`,
  '--prices',
  `${DIR}/prices.json`,
];

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
  return { out: () => out.join(''), err: () => err.join('') };
}

afterEach(() => vi.restoreAllMocks());

describe('rebalance plan CLI', () => {
  it('prints the worked example as JSON', async () => {
    const io = capture();
    expect(await main([...ARGS, '--json'])).toBe(0);
    const plan = JSON.parse(io.out());
    expect(plan.orders.map((o: Record<string, string>) => [o.instrument_key, o.side, o.quantity])).toEqual([
      ['BINANCE-SPOT:SPOT_PAIR:ETH-USDT', 'SELL', '1.3299'],
      ['BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BUY', '0.19086'],
    ]);
    expect(plan.skipped).toEqual([]);
    expect(plan.cash_after).toBe('4566.02431');
  });

  it('prints a table; --cash-buffer overrides', async () => {
    const io = capture();
    expect(await main([...ARGS, '--cash-buffer', '0.1'])).toBe(0);
    expect(io.out()).toContain('investable 19080');
    expect(io.out()).toMatch(/SELL\s+1\.3846\s+BINANCE-SPOT:SPOT_PAIR:ETH-USDT/);
  });

  it('rejects a bad weights file naming each field, exit 1', async () => {
    const io = capture();
    expect(
      await main([
        'plan',
        '--weights',
        `${DIR}/bad-weights.json`,
        '--holdings',
        `${DIR}/holdings.json`,
        '--prices',
        `${DIR}/prices.json`,
      ]),
    ).toBe(1);
    const lines = io.err().trim().split('\n');
    expect(lines.map((l) => l.split(': ')[1])).toEqual([
      'schema_version',
      'as_of',
      'weights.BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
      'weights.BINANCE-SPOT:SPOTPAIR:SOL-USDT',
      'exec_algorithm_params.duration_sec',
    ]);
    expect(io.out()).toBe('');
  });

  it('bad arguments exit 2', async () => {
    capture();
    expect(await main(['plan', '--weights', 'x'])).toBe(2);
    expect(await main([...ARGS, '--cash-buffer', '1.5'])).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import {
  INVALID_SIGNALS,
  parseSignalLines,
  resolveSignalInstruments,
  signalDays,
} from '../../../shared/backtest/signals.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { BTC, ETH, SPEC } from './fixtures.ts';

const line = (o: Record<string, unknown>) => JSON.stringify(o);
const ok = (over: Record<string, unknown> = {}) =>
  line({
    ts: '2025-07-01T00:05:00Z',
    instrument_key: BTC,
    target_position: '0.5',
    strategy_id: 's1',
    exec_algorithm: 'TWAP',
    exec_algorithm_params: { duration_sec: 240, max_slices: 8 },
    ...over,
  });

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const v = e as ValidationError;
    expect(v.code).toBe(INVALID_SIGNALS);
    return v.issues;
  }
  throw new Error('expected a ValidationError');
}

const lookup = (key: string) =>
  key === BTC
    ? { spec: SPEC, file: 'instruments/2025-07-01.json' }
    : { spec: undefined, file: 'instruments/2025-07-01.json' };

describe('parseSignalLines', () => {
  it('parses JSON Lines, skips blank lines, sorts by time and keeps the line numbers', () => {
    const text = [ok({ ts: '2025-07-01T00:10:00Z', target_position: 1 }), '', ok(), '   ', ''].join('\n');
    const s = parseSignalLines(text, 'sig.jsonl');
    expect(s.map((x) => [x.line, x.ts, x.target_position])).toEqual([
      [3, '2025-07-01T00:05:00Z', '0.5'],
      [1, '2025-07-01T00:10:00Z', '1'],
    ]);
    expect(s[0]?.ts_ns).toBe(1_751_328_300_000_000_000n);
    expect(s[0]?.exec_algorithm_params).toEqual({ duration_sec: 240, max_slices: 8 });
  });

  it('defaults exec_algorithm to NORMAL and accepts CRLF and a BOM', () => {
    const text = `\uFEFF${line({ ts: '2025-07-01T00:05:00Z', instrument_key: BTC, target_position: '-0.2', strategy_id: 's' })}\r\n`;
    const [s] = parseSignalLines(text);
    expect(s?.exec_algorithm).toBe('NORMAL');
    expect(s?.exec_algorithm_params).toEqual({});
    expect(s?.target_position).toBe('-0.2');
  });

  it('a malformed line is an error naming the line', () => {
    const issues = issuesOf(() =>
      parseSignalLines([ok(), '{"ts": "2025-07-01T00:05:00Z",', ok()].join('\n'), 'sig.jsonl'),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('sig.jsonl:2');
    expect(issues[0]?.message).toMatch(/not valid JSON/);
  });

  it('names the line and the field of each bad or missing field', () => {
    const text = [
      ok({ target_position: 'lots' }),
      line({ ts: '2025-07-01T00:05:00Z', instrument_key: BTC, strategy_id: 's1' }),
      ok({ ts: '2025-07-01 00:05' }),
      ok({ instrument_key: 'NOPE' }),
      ok({ quantity: 1 }),
      ok({ exec_algorithm: 'MAGIC' }),
      '[1,2]',
    ].join('\n');
    const issues = issuesOf(() => parseSignalLines(text, 'sig.jsonl'));
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual([
      'sig.jsonl:1.target_position',
      'sig.jsonl:2.target_position',
      'sig.jsonl:3.ts',
      'sig.jsonl:4.instrument_key',
      'sig.jsonl:5.quantity',
      'sig.jsonl:6.exec_algorithm',
      'sig.jsonl:7',
    ]);
    expect(issues[1]?.message).toBe('required field is missing');
    expect(issues[4]?.message).toBe('unknown field');
    expect(issues[6]?.message).toMatch(/expected a JSON object, got an array/);
  });

  it('lists at most 100 problems and says how many more there were', () => {
    const text = Array.from({ length: 130 }, () => 'x').join('\n');
    const issues = issuesOf(() => parseSignalLines(text, 's'));
    expect(issues).toHaveLength(101);
    expect(issues[100]?.message).toBe('… and 30 more problems');
  });
});

describe('resolveSignalInstruments', () => {
  it('attaches the spec and the instrument file', () => {
    const [s] = resolveSignalInstruments(parseSignalLines(ok()), lookup);
    expect(s?.spec).toBe(SPEC);
    expect(s?.instruments_file).toBe('instruments/2025-07-01.json');
  });

  it('an unknown instrument is an error naming the line and the key', () => {
    const text = [ok(), ok({ instrument_key: ETH, ts: '2025-07-01T00:10:00Z' })].join('\n');
    const issues = issuesOf(() =>
      resolveSignalInstruments(parseSignalLines(text, 'sig.jsonl'), lookup, 'sig.jsonl'),
    );
    expect(issues).toEqual([
      {
        path: 'sig.jsonl:2.instrument_key',
        message: `unknown instrument ${ETH}: not in instruments/2025-07-01.json`,
      },
    ]);
  });

  it('says when no instruments file applies on the day', () => {
    const issues = issuesOf(() =>
      resolveSignalInstruments(parseSignalLines(ok()), () => ({ spec: undefined, file: null }), 'sig'),
    );
    expect(issues[0]?.message).toBe(`unknown instrument ${BTC}: no instruments file applies on 2025-07-01`);
  });

  it('a target off the step grid, bad algorithm parameters and a duplicate instant name their line', () => {
    const text = [
      ok({ target_position: '0.55' }),
      ok({ ts: '2025-07-01T00:10:00Z', exec_algorithm_params: { duration_sec: 0 } }),
      ok({ ts: '2025-07-01T00:15:00Z' }),
      ok({ ts: '2025-07-01T00:15:00Z', target_position: '1' }),
    ].join('\n');
    const issues = issuesOf(() => resolveSignalInstruments(parseSignalLines(text, 'f'), lookup, 'f'));
    expect(issues.map((i) => i.path)).toEqual([
      'f:1.target_position',
      'f:2.exec_algorithm_params.duration_sec',
      'f:4.ts',
    ]);
    expect(issues[0]?.message).toBe(`0.55 is not a multiple of the step size 0.1 of ${BTC}`);
    expect(issues[2]?.message).toMatch(/already has a signal .* \(line 3\)/);
  });

  it('signalDays lists the UTC days', () => {
    const text = [ok(), ok({ ts: '2025-07-02T23:59:59Z' }), ok({ ts: '2025-07-02T00:00:00+02:00' })].join(
      '\n',
    );
    expect(signalDays(parseSignalLines(text))).toEqual(['2025-07-01', '2025-07-02']);
  });
});

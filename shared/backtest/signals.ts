/**
 * Signals from the strategy service (SPEC "Signals"): JSON Lines, one object per line,
 *
 *   {"ts": "2025-07-01T00:05:00Z", "instrument_key": "...", "target_position": "0.5",
 *    "strategy_id": "...", "exec_algorithm": "TWAP", "exec_algorithm_params": {...}}
 *
 * Parsing is in two passes so that the pure code needs no I/O:
 *
 * 1. {@link parseSignalLines}: each non-blank line is JSON and matches the schema (strict: an unknown
 *    key is an error). Every problem names the line and the field: `line 12: target_position: ...`.
 * 2. {@link resolveSignalInstruments}: each signal's instrument exists in the instrument file that
 *    applies on its day (the caller loads those files), its target is on the instrument's step grid,
 *    and its algorithm parameters are valid; a (strategy, instrument) never has two signals at the
 *    same instant. Problems again name the line.
 *
 * Both passes collect every problem (up to {@link MAX_SIGNAL_ISSUES}) and throw one
 * `ValidationError` (`invalid_signals`) whose issues have the path `<source>:<line>.<field>`.
 */
import { z } from 'zod';
import { utcDayOf } from '../data/tick-layout.ts';
import { fmt, toDec } from '../domain/decimal.ts';
import { formatPath, type Issue, ValidationError } from '../domain/errors.ts';
import { isMultipleOf } from '../domain/instrument.ts';
import { canonicalInstrumentId, InstrumentKeySchema } from '../domain/instrument-id.ts';
import { DecimalSchema, parseExecAlgorithmParams, StrategyIdSchema } from '../domain/schemas.ts';
import { isoToNanos, type Nanos } from '../domain/time.ts';
import { EXEC_ALGORITHMS, type ExecAlgorithm, type InstrumentSpec } from '../domain/types.ts';

export const INVALID_SIGNALS = 'invalid_signals';
export const MAX_SIGNAL_ISSUES = 100;

/** One validated signal with the line it came from. */
export interface Signal {
  /** 1-based line number in the signals file. */
  line: number;
  /** As written (ISO-8601 with zone). */
  ts: string;
  ts_ns: Nanos;
  /** Canonical spelling of the instrument id. */
  instrument_key: string;
  /** Canonical decimal string; may be negative (short) or zero (flat). */
  target_position: string;
  strategy_id: string;
  exec_algorithm: ExecAlgorithm;
  exec_algorithm_params: Record<string, unknown>;
}

const IsoTimestamp = z.string().superRefine((s, ctx) => {
  try {
    isoToNanos(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
  }
});

export const SignalLineSchema = z.strictObject({
  ts: IsoTimestamp,
  instrument_key: InstrumentKeySchema,
  target_position: DecimalSchema,
  strategy_id: StrategyIdSchema,
  exec_algorithm: z.enum(EXEC_ALGORITHMS).default('NORMAL'),
  exec_algorithm_params: z.record(z.string(), z.unknown()).default({}),
});

class IssueList {
  readonly issues: Issue[] = [];
  dropped = 0;
  constructor(private readonly source: string) {}
  add(line: number, field: string, message: string): void {
    if (this.issues.length >= MAX_SIGNAL_ISSUES) {
      this.dropped++;
      return;
    }
    this.issues.push({ path: `${this.source}:${line}${field ? `.${field}` : ''}`, message });
  }
  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const issues = [...this.issues];
    if (this.dropped > 0) issues.push({ path: this.source, message: `… and ${this.dropped} more problems` });
    throw new ValidationError(INVALID_SIGNALS, issues);
  }
}

/**
 * Pass 1: parse the JSON Lines text. Blank lines are skipped; a leading UTF-8 BOM is ignored.
 * Signals come back sorted by (ts, line). Throws `ValidationError` naming each bad line and field.
 */
export function parseSignalLines(text: string, source = 'signals'): Signal[] {
  const issues = new IssueList(source);
  const out: Signal[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      issues.add(line, '', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      issues.add(line, '', `expected a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`);
      return;
    }
    const r = SignalLineSchema.safeParse(json);
    if (!r.success) {
      for (const zi of r.error.issues) {
        if (zi.code === 'unrecognized_keys') {
          for (const k of zi.keys) issues.add(line, formatPath([...zi.path, k]), 'unknown field');
        } else {
          const field = formatPath(zi.path);
          const top = zi.path[0];
          const missing = zi.path.length === 1 && typeof top === 'string' && !Object.hasOwn(json, top);
          issues.add(line, field, missing ? 'required field is missing' : zi.message);
        }
      }
      return;
    }
    const v = r.data;
    out.push({
      line,
      ts: v.ts,
      ts_ns: isoToNanos(v.ts),
      instrument_key: canonicalInstrumentId(v.instrument_key),
      target_position: v.target_position,
      strategy_id: v.strategy_id,
      exec_algorithm: v.exec_algorithm,
      exec_algorithm_params: v.exec_algorithm_params,
    });
  });
  issues.throwIfAny();
  out.sort((a, b) => (a.ts_ns < b.ts_ns ? -1 : a.ts_ns > b.ts_ns ? 1 : a.line - b.line));
  return out;
}

/** The instrument spec that applies to a signal, and the file it came from (undefined: unknown). */
export type InstrumentLookup = (
  instrumentKey: string,
  tsNs: Nanos,
) => { spec: InstrumentSpec; file: string } | { spec: undefined; file: string | null };

export interface ResolvedSignal extends Signal {
  spec: InstrumentSpec;
  instruments_file: string;
}

/**
 * Pass 2: every signal's instrument is known on its day, its target is a multiple of the step size,
 * its algorithm parameters are valid, and no (strategy, instrument) has two signals at one instant.
 */
export function resolveSignalInstruments(
  signals: readonly Signal[],
  lookup: InstrumentLookup,
  source = 'signals',
): ResolvedSignal[] {
  const issues = new IssueList(source);
  const out: ResolvedSignal[] = [];
  const seen = new Map<string, number>();
  for (const s of signals) {
    const found = lookup(s.instrument_key, s.ts_ns);
    if (found.spec === undefined) {
      issues.add(
        s.line,
        'instrument_key',
        found.file === null
          ? `unknown instrument ${s.instrument_key}: no instruments file applies on ${s.ts.slice(0, 10)}`
          : `unknown instrument ${s.instrument_key}: not in ${found.file}`,
      );
      continue;
    }
    const spec = found.spec;
    let ok = true;
    if (!isMultipleOf(s.target_position, spec.step_size)) {
      issues.add(
        s.line,
        'target_position',
        `${s.target_position} is not a multiple of the step size ${spec.step_size} of ${s.instrument_key}`,
      );
      ok = false;
    }
    const params = parseExecAlgorithmParams(s.exec_algorithm, s.exec_algorithm_params);
    if (!params.success) {
      for (const i of params.error.issues) issues.add(s.line, i.path, i.message);
      ok = false;
    }
    const key = `${s.strategy_id}\u0000${s.instrument_key}\u0000${s.ts_ns}`;
    const first = seen.get(key);
    if (first !== undefined) {
      issues.add(
        s.line,
        'ts',
        `strategy ${s.strategy_id} already has a signal for ${s.instrument_key} at ${s.ts} (line ${first})`,
      );
      ok = false;
    } else {
      seen.set(key, s.line);
    }
    if (ok)
      out.push({ ...s, target_position: fmt(toDec(s.target_position)), spec, instruments_file: found.file });
  }
  issues.throwIfAny();
  return out;
}

/** The UTC days (`YYYY-MM-DD`) the signals fall on, sorted. */
export function signalDays(signals: readonly Signal[]): string[] {
  return [...new Set(signals.map((s) => utcDayOf(s.ts_ns)))].sort();
}

/**
 * A backtest started from the console (`POST /api/backtests`): the signals (a file of the backtest
 * data root's `signals/` folder, or uploaded text), an optional selection of them (instruments, a date
 * range), an optional execution algorithm for every signal, and the run's settings — the options of
 * `npm run backtest` (scripts/backtest.ts). One zod schema for the API and the console's form.
 *
 * {@link selectSignals} is pure: it keeps the signal lines of the chosen instruments and dates and
 * sets the algorithm, leaving every other line's problems to the planner (which names them).
 */
import { z } from 'zod';
import { InstrumentKeySchema } from '../domain/instrument-id.ts';
import { checkDecimal } from '../domain/schemas.ts';
import { EXEC_ALGORITHMS, type ExecAlgorithm } from '../domain/types.ts';
import { RunIdSchema } from './model.ts';

/** Largest uploaded signals text (the API's body limit is 1 MiB). */
export const MAX_SIGNALS_TEXT = 900_000;

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' })
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    {
      error: 'is not a calendar date',
    },
  );

export const BacktestStartRequestSchema = z
  .strictObject({
    /** A signals file of the backtest data root, e.g. `signals/sample.jsonl`. */
    signals_key: z
      .string()
      .regex(/^signals\/[A-Za-z0-9._/-]+\.jsonl$/, {
        error: 'must be a signals/….jsonl file of the backtest data',
      })
      .optional(),
    /** Uploaded signals, JSON Lines. */
    signals_text: z
      .string()
      .min(1, { error: 'the uploaded signals file is empty' })
      .max(MAX_SIGNALS_TEXT, { error: `must be at most ${MAX_SIGNALS_TEXT} characters (use a stored file)` })
      .optional(),
    /** Name of the uploaded file (shown in errors). */
    signals_name: z.string().max(200).optional(),
    /** Keep only the signals of these instruments (empty or absent: all). */
    instruments: z.array(InstrumentKeySchema).max(100, { error: 'at most 100 instruments' }).optional(),
    /** Keep only the signals from this day (UTC, inclusive)... */
    from: Day.optional(),
    /** ...to this day (UTC, inclusive). */
    to: Day.optional(),
    /** Execute every signal with this algorithm (absent: each signal's own). */
    exec_algorithm: z
      .enum(EXEC_ALGORITHMS, { error: `must be one of ${EXEC_ALGORITHMS.join(', ')}` })
      .optional(),
    window_minutes: z
      .int({ error: 'must be an integer' })
      .min(1, { error: 'must be between 1 and 1440' })
      .max(1440, { error: 'must be between 1 and 1440' })
      .optional(),
    seed: z.int({ error: 'must be an integer' }).min(0, { error: 'must be 0 or more' }).optional(),
    starting_cash: z
      .string()
      .superRefine((v, ctx) => {
        const r = checkDecimal(v, 'positive');
        if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
      })
      .optional(),
    run_id: RunIdSchema.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.signals_key === undefined) === (v.signals_text === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['signals_key'],
        message: 'choose a stored signals file or upload one (exactly one)',
      });
    }
    if (v.from !== undefined && v.to !== undefined && v.to < v.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    }
  });
export type BacktestStartRequest = z.output<typeof BacktestStartRequestSchema>;

export interface SignalSelection {
  instruments?: readonly string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  exec_algorithm?: ExecAlgorithm | undefined;
}

/**
 * The signal lines `sel` keeps, with the algorithm set. Lines that are not JSON objects with a
 * `ts` and an `instrument_key` are kept as they are (the planner reports them with their line).
 */
export function selectSignals(
  text: string,
  sel: SignalSelection,
): { text: string; kept: number; total: number } {
  const instruments = sel.instruments?.length ? new Set(sel.instruments) : null;
  const out: string[] = [];
  let kept = 0;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    total++;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      out.push(line);
      continue;
    }
    const rec = v as Record<string, unknown> | null;
    if (
      rec === null ||
      typeof rec !== 'object' ||
      typeof rec.ts !== 'string' ||
      typeof rec.instrument_key !== 'string'
    ) {
      out.push(line);
      continue;
    }
    if (instruments !== null && !instruments.has(rec.instrument_key)) continue;
    const day = rec.ts.slice(0, 10);
    if (sel.from !== undefined && day < sel.from) continue;
    if (sel.to !== undefined && day > sel.to) continue;
    kept++;
    if (sel.exec_algorithm !== undefined && rec.exec_algorithm !== sel.exec_algorithm) {
      out.push(JSON.stringify({ ...rec, exec_algorithm: sel.exec_algorithm, exec_algorithm_params: {} }));
    } else out.push(line);
  }
  return { text: out.length === 0 ? '' : `${out.join('\n')}\n`, kept, total };
}

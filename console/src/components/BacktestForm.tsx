/**
 * Start a backtest (`POST /api/backtests`): signals from the backtest data's list or an uploaded
 * JSON Lines file, optional instruments and date range to select signals, an optional algorithm
 * for every signal, and the run's settings (window, seed, starting cash, run id) — the options of
 * `npm run backtest`. Checked with the API's own schema (shared/backtest/start-request.ts) on
 * submit, each error beside its field; the API's own issues are shown the same way.
 */
import { type FormEvent, useState } from 'react';
import {
  type BacktestStartRequest,
  BacktestStartRequestSchema,
} from '../../../shared/backtest/start-request.ts';
import { parseWith } from '../../../shared/domain/schemas.ts';
import { EXEC_ALGORITHMS } from '../../../shared/domain/types.ts';
import type { Issue } from '../api.ts';
import { Field } from './Field.tsx';

export interface BacktestInputsView {
  signals: string[];
  data: Array<{ venue: string; first_day: string; last_day: string; days: number }>;
}

/** The order fields are checked in, so the first error takes the focus. */
const ORDER = [
  'signals_key',
  'signals_text',
  'instruments',
  'from',
  'to',
  'exec_algorithm',
  'window_minutes',
  'seed',
  'starting_cash',
  'run_id',
];

const ID: Record<string, string> = {
  signals_key: 'bt-signals',
  signals_text: 'bt-upload',
  instruments: 'bt-instruments',
  from: 'bt-from',
  to: 'bt-to',
  exec_algorithm: 'bt-algo',
  window_minutes: 'bt-window',
  seed: 'bt-seed',
  starting_cash: 'bt-cash',
  run_id: 'bt-run-id',
};

function errorsOf(issues: readonly Issue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const key = i.path.split(/[.[]/)[0] ?? i.path;
    out[key] = out[key] ? `${out[key]}; ${i.message}` : i.message;
  }
  return out;
}

/** `''` → absent; a number field's text → its number (or the text, for the schema to refuse). */
function intOf(v: string): number | string | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

export function BacktestForm(props: {
  inputs: BacktestInputsView | null;
  onSubmit: (body: BacktestStartRequest) => Promise<void>;
}) {
  const [source, setSource] = useState<'stored' | 'upload'>('stored');
  const [signalsKey, setSignalsKey] = useState('');
  const [upload, setUpload] = useState<{ name: string; text: string } | null>(null);
  const [instruments, setInstruments] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [algo, setAlgo] = useState('');
  const [windowMinutes, setWindowMinutes] = useState('');
  const [seed, setSeed] = useState('');
  const [cash, setCash] = useState('');
  const [runId, setRunId] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const body = (): Record<string, unknown> => {
    const b: Record<string, unknown> = {};
    if (source === 'stored') {
      if (signalsKey !== '') b.signals_key = signalsKey;
    } else if (upload !== null) {
      b.signals_text = upload.text;
      b.signals_name = upload.name;
    }
    const keys = instruments
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (keys.length > 0) b.instruments = keys;
    if (from !== '') b.from = from;
    if (to !== '') b.to = to;
    if (algo !== '') b.exec_algorithm = algo;
    const w = intOf(windowMinutes);
    if (w !== undefined) b.window_minutes = w;
    const s = intOf(seed);
    if (s !== undefined) b.seed = s;
    if (cash.trim() !== '') b.starting_cash = cash.trim();
    if (runId.trim() !== '') b.run_id = runId.trim();
    return b;
  };

  const show = (issues: readonly Issue[]) => {
    const out = errorsOf(issues);
    if (source === 'upload' && out.signals_key !== undefined && out.signals_text === undefined) {
      out.signals_text = out.signals_key;
      delete out.signals_key;
    }
    setErrors(out);
    const first = ORDER.find((k) => out[k] !== undefined);
    if (first !== undefined) document.getElementById(ID[first] ?? '')?.focus();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const r = parseWith(BacktestStartRequestSchema, body(), 'invalid_request');
    if (!r.success) {
      show(r.error.issues);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await props.onSubmit(r.data);
    } catch (err) {
      const issues = (err as { issues?: Issue[] }).issues ?? [];
      if (issues.length > 0) show(issues);
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const readFile = async (file: File | undefined) => {
    if (file === undefined) {
      setUpload(null);
      return;
    }
    setUpload({ name: file.name, text: await file.text() });
  };

  const data = props.inputs?.data ?? [];
  return (
    <form onSubmit={submit} noValidate aria-label="Start a backtest" className="bt-form">
      <fieldset>
        <legend>Signals</legend>
        <label className="inline">
          <input
            type="radio"
            name="bt-source"
            checked={source === 'stored'}
            onChange={() => setSource('stored')}
          />{' '}
          Stored file
        </label>
        <label className="inline">
          <input
            type="radio"
            name="bt-source"
            checked={source === 'upload'}
            onChange={() => setSource('upload')}
          />{' '}
          Upload
        </label>
      </fieldset>
      <div className="form-grid">
        {source === 'stored' ? (
          <Field
            id="bt-signals"
            label="Signals file"
            error={errors.signals_key}
            hint="signals/ of the backtest data"
          >
            {(a) => (
              <select {...a} value={signalsKey} onChange={(e) => setSignalsKey(e.target.value)}>
                <option value="">choose…</option>
                {(props.inputs?.signals ?? []).map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : (
          <Field id="bt-upload" label="Signals file (JSON Lines)" error={errors.signals_text}>
            {(a) => (
              <input
                {...a}
                type="file"
                accept=".jsonl,.json,.txt"
                onChange={(e) => void readFile(e.target.files?.[0])}
              />
            )}
          </Field>
        )}
        <Field
          id="bt-instruments"
          label="Instruments"
          error={errors.instruments}
          hint="only these (comma-separated); empty: every instrument of the signals"
          wide
        >
          {(a) => (
            <input
              {...a}
              value={instruments}
              placeholder="SIM:SPOT_PAIR:BTC-USDT, …"
              onChange={(e) => setInstruments(e.target.value)}
            />
          )}
        </Field>
        <Field id="bt-from" label="From (UTC day)" error={errors.from}>
          {(a) => <input {...a} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />}
        </Field>
        <Field id="bt-to" label="To (UTC day, inclusive)" error={errors.to}>
          {(a) => <input {...a} type="date" value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
        <Field id="bt-algo" label="Algorithm" error={errors.exec_algorithm} hint="empty: each signal's own">
          {(a) => (
            <select {...a} value={algo} onChange={(e) => setAlgo(e.target.value)}>
              <option value="">per signal</option>
              {EXEC_ALGORITHMS.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field id="bt-window" label="Window (minutes)" error={errors.window_minutes}>
          {(a) => (
            <input
              {...a}
              inputMode="numeric"
              value={windowMinutes}
              placeholder="5"
              onChange={(e) => setWindowMinutes(e.target.value)}
            />
          )}
        </Field>
        <Field id="bt-seed" label="Seed" error={errors.seed}>
          {(a) => (
            <input
              {...a}
              inputMode="numeric"
              value={seed}
              placeholder="42"
              onChange={(e) => setSeed(e.target.value)}
            />
          )}
        </Field>
        <Field id="bt-cash" label="Starting cash" error={errors.starting_cash}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={cash}
              placeholder="100000"
              onChange={(e) => setCash(e.target.value)}
            />
          )}
        </Field>
        <Field id="bt-run-id" label="Run id" error={errors.run_id} hint="empty: bt- + a hash of the inputs">
          {(a) => <input {...a} value={runId} onChange={(e) => setRunId(e.target.value)} />}
        </Field>
      </div>
      {data.length > 0 ? (
        <p className="muted small" data-testid="tick-data">
          Tick data:{' '}
          {data
            .map((d) => `${d.venue} ${d.first_day}${d.last_day === d.first_day ? '' : ` → ${d.last_day}`}`)
            .join(' · ')}
        </p>
      ) : (
        <p className="muted small">
          No tick data in the backtest data yet (npm run data:generate -- --out .data/backtest-data writes
          some).
        </p>
      )}
      {failure ? (
        <p className="error" role="alert">
          {failure}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start backtest'}
        </button>
      </div>
    </form>
  );
}

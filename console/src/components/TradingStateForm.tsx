/**
 * Set a trading state: scope (platform or one strategy), state, a required reason — checked with
 * the API's own schema (shared/domain/trading-state-request.ts) — then an explicit confirmation.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { parseWith } from '../../../shared/domain/schemas.ts';
import {
  type TradingStateRequest,
  TradingStateRequestSchema,
} from '../../../shared/domain/trading-state-request.ts';
import { TRADING_STATES } from '../../../shared/domain/types.ts';
import { Field } from './Field.tsx';

export function TradingStateForm(props: {
  current: string | null;
  onSubmit: (body: TradingStateRequest) => Promise<void>;
}) {
  const [scope, setScope] = useState<'platform' | 'strategy'>('platform');
  const [strategy, setStrategy] = useState('');
  const [state, setState] = useState<string>('HALTED');
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState<TradingStateRequest | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming !== null) confirmRef.current?.focus();
  }, [confirming]);

  const review = (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const body: Record<string, unknown> = { state, reason };
    if (scope === 'strategy') body.strategy_id = strategy.trim();
    const r = parseWith(TradingStateRequestSchema, body, 'invalid_trading_state');
    if (!r.success) {
      const out: Record<string, string> = {};
      for (const i of r.error.issues) out[i.path] = out[i.path] ? `${out[i.path]}; ${i.message}` : i.message;
      setErrors(out);
      document
        .getElementById(out.reason ? 'ts-reason' : out.strategy_id ? 'ts-strategy' : 'ts-reason')
        ?.focus();
      return;
    }
    setErrors({});
    setConfirming(r.data);
  };

  const confirm = async () => {
    if (confirming === null) return;
    setBusy(true);
    try {
      await props.onSubmit(confirming);
      setConfirming(null);
      setReason('');
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={review} noValidate aria-label="Change trading state" className="ts-form">
      <fieldset>
        <legend>Scope</legend>
        <label className="inline">
          <input
            type="radio"
            name="ts-scope"
            checked={scope === 'platform'}
            onChange={() => setScope('platform')}
          />{' '}
          Whole platform
        </label>
        <label className="inline">
          <input
            type="radio"
            name="ts-scope"
            checked={scope === 'strategy'}
            onChange={() => setScope('strategy')}
          />{' '}
          One strategy
        </label>
        {scope === 'strategy' ? (
          <Field id="ts-strategy" label="Strategy id" error={errors.strategy_id}>
            {(a) => <input {...a} value={strategy} onChange={(e) => setStrategy(e.target.value)} />}
          </Field>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>New state</legend>
        {TRADING_STATES.map((s) => (
          <label key={s} className={`inline state-${s.toLowerCase()}`}>
            <input
              type="radio"
              name="ts-state"
              value={s}
              checked={state === s}
              onChange={() => setState(s)}
            />{' '}
            {s}
          </label>
        ))}
        {errors.state ? (
          <small className="error" role="alert">
            {errors.state}
          </small>
        ) : null}
      </fieldset>
      <Field id="ts-reason" label="Reason (required, recorded with your name)" error={errors.reason}>
        {(a) => <textarea {...a} rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <button type="submit" className={`primary ${state === 'HALTED' ? 'danger' : ''}`}>
        Review change
      </button>
      {confirming !== null ? (
        <div
          className="confirm"
          role="alertdialog"
          aria-labelledby="ts-confirm-h"
          aria-describedby="ts-confirm-d"
        >
          <h3 id="ts-confirm-h">
            Set {confirming.strategy_id ? `strategy ${confirming.strategy_id}` : 'the whole platform'} to{' '}
            {confirming.state}?
          </h3>
          <p id="ts-confirm-d">
            Currently {props.current ?? 'unknown'}. Reason: “{confirming.reason}”. Every order intake honours
            it within 1 s.
          </p>
          <button
            ref={confirmRef}
            type="button"
            className={confirming.state === 'HALTED' ? 'danger' : 'primary'}
            onClick={confirm}
            disabled={busy}
          >
            Confirm {confirming.state}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(null)}>
            Back
          </button>
        </div>
      ) : null}
      {failure ? (
        <p className="error" role="alert">
          {failure}
        </p>
      ) : null}
    </form>
  );
}

/**
 * The order ticket (Execute page): every field labelled, checked on each change with the API's own
 * schema (shared/app/order-ticket.ts → shared/domain/schemas.ts), each error beside its field, and
 * a live preview of the same order as a CLI command and a `curl` call.
 */
import { type FormEvent, useMemo, useState } from 'react';
import {
  algorithmParams,
  checkTicket,
  cliCommand,
  curlCommand,
  issuesByField,
  newOperationId,
  type OrderTicket,
} from '../../../shared/app/order-ticket.ts';
import { EXEC_ALGORITHMS, ORDER_TYPES, SIDES, TIME_IN_FORCE } from '../../../shared/domain/types.ts';
import { Field } from './Field.tsx';

export interface OrderFormProps {
  instruments: readonly string[];
  venues: ReadonlyArray<{ id: string; mode: string; enabled: boolean }>;
  /** Where the API answers, for the previews (e.g. `http://127.0.0.1:8080`). */
  baseUrl: string;
  /** Send the validated body; resolves when the API answered (errors: field issues to show). */
  onSubmit: (
    body: Record<string, unknown>,
  ) => Promise<{ issues?: Array<{ path: string; message: string }> } | undefined>;
  initial?: Partial<OrderTicket> | undefined;
}

export function blankTicket(initial: Partial<OrderTicket> = {}): OrderTicket {
  return {
    operation_id: newOperationId(Date.now(), Math.random),
    venue: '',
    instrument_key: '',
    side: 'BUY',
    order_type: 'LIMIT',
    quantity: '',
    price: '',
    time_in_force: 'GTC',
    strategy_id: 'manual',
    exec_algorithm: 'NORMAL',
    params: {},
    reference_price: '',
    ...initial,
  };
}

export function OrderForm(props: OrderFormProps) {
  const [t, setT] = useState<OrderTicket>(() => blankTicket(props.initial));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [tried, setTried] = useState(false);
  const [serverIssues, setServerIssues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const check = useMemo(() => checkTicket(t), [t]);
  const errors = check.ok ? {} : issuesByField(check.issues);
  const shown = (name: string): string | undefined =>
    serverIssues[name] ?? (tried || touched[name] ? errors[name] : undefined);

  const set = (name: keyof OrderTicket, value: string) => {
    setT((prev) => ({ ...prev, [name]: value }));
    setTouched((p) => ({ ...p, [name]: true }));
    setServerIssues({});
  };
  const setParam = (name: string, value: string) => {
    setT((prev) => ({ ...prev, params: { ...prev.params, [name]: value } }));
    setTouched((p) => ({ ...p, [name]: true }));
    setServerIssues({});
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!check.ok) {
      const first = check.issues[0]?.path.replace(/^exec_algorithm_params\./, 'param-') ?? '';
      document.getElementById(first === '' ? 'order-quantity' : fieldId(first))?.focus();
      return;
    }
    setBusy(true);
    try {
      const r = await props.onSubmit(check.body);
      if (r?.issues && r.issues.length > 0) setServerIssues(issuesByField(r.issues));
      else {
        setT((prev) => ({ ...prev, operation_id: newOperationId(Date.now(), Math.random) }));
        setTried(false);
        setTouched({});
      }
    } finally {
      setBusy(false);
    }
  };

  const params = algorithmParams(t.exec_algorithm);
  return (
    <form className="ticket" onSubmit={submit} noValidate aria-label="Order ticket">
      <div className="grid">
        <Field id="order-venue" label="Venue" error={shown('venue')}>
          {(a) => (
            <select {...a} value={t.venue} onChange={(e) => set('venue', e.target.value)}>
              <option value="">Smart route</option>
              {props.venues.map((v) => (
                <option key={v.id} value={v.id} disabled={!v.enabled}>
                  {v.id} ({v.mode}
                  {v.enabled ? '' : ', disabled'})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          id="order-instrument_key"
          label="Instrument"
          wide
          error={shown('instrument_key')}
          hint="type to search the catalog"
        >
          {(a) => (
            <>
              <input
                {...a}
                list="instrument-options"
                value={t.instrument_key}
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => set('instrument_key', e.target.value)}
              />
              <datalist id="instrument-options">
                {props.instruments.map((k) => (
                  <option key={k} value={k} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field id="order-side" label="Side" error={shown('side')}>
          {(a) => (
            <select {...a} value={t.side} onChange={(e) => set('side', e.target.value)}>
              {SIDES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id="order-order_type" label="Order type" error={shown('order_type')}>
          {(a) => (
            <select
              {...a}
              value={t.order_type}
              onChange={(e) => {
                set('order_type', e.target.value);
                if (e.target.value === 'MARKET') set('price', '');
              }}
            >
              {ORDER_TYPES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id="order-quantity" label="Quantity" error={shown('quantity')}>
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={t.quantity}
              onChange={(e) => set('quantity', e.target.value)}
            />
          )}
        </Field>
        <Field
          id="order-price"
          label="Price"
          error={shown('price')}
          hint={t.order_type === 'MARKET' ? 'none for MARKET' : undefined}
        >
          {(a) => (
            <input
              {...a}
              inputMode="decimal"
              value={t.price}
              disabled={t.order_type === 'MARKET'}
              onChange={(e) => set('price', e.target.value)}
            />
          )}
        </Field>
        <Field id="order-time_in_force" label="Time in force" error={shown('time_in_force')}>
          {(a) => (
            <select {...a} value={t.time_in_force} onChange={(e) => set('time_in_force', e.target.value)}>
              {TIME_IN_FORCE.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id="order-strategy_id" label="Strategy" error={shown('strategy_id')}>
          {(a) => <input {...a} value={t.strategy_id} onChange={(e) => set('strategy_id', e.target.value)} />}
        </Field>
        <Field id="order-exec_algorithm" label="Algorithm" error={shown('exec_algorithm')}>
          {(a) => (
            <select {...a} value={t.exec_algorithm} onChange={(e) => set('exec_algorithm', e.target.value)}>
              {EXEC_ALGORITHMS.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        {params.map((p) => (
          <Field
            key={p.name}
            id={`param-${p.name}`}
            label={p.label}
            error={shown(p.name)}
            hint={p.hint || undefined}
          >
            {(a) => (
              <input
                {...a}
                value={t.params[p.name] ?? ''}
                required={p.required}
                onChange={(e) => setParam(p.name, e.target.value)}
              />
            )}
          </Field>
        ))}
        <Field
          id="order-operation_id"
          label="Operation id"
          error={shown('operation_id')}
          hint="idempotency key"
        >
          {(a) => (
            <input
              {...a}
              value={t.operation_id}
              spellCheck={false}
              onChange={(e) => set('operation_id', e.target.value)}
            />
          )}
        </Field>
      </div>
      {shown('') ? (
        <p className="error" role="alert">
          {shown('')}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" className={`primary ${t.side === 'SELL' ? 'sell' : 'buy'}`} disabled={busy}>
          {busy ? 'Sending…' : `Submit ${t.side}`}
        </button>
        {tried && !check.ok ? (
          <span className="error" role="status">
            {check.issues.length} field{check.issues.length === 1 ? '' : 's'} to fix
          </span>
        ) : null}
      </div>
      <details className="preview" open>
        <summary>Same order from a terminal</summary>
        <figure>
          <figcaption>CLI</figcaption>
          <pre data-testid="cli-preview">{cliCommand(t)}</pre>
        </figure>
        <figure>
          <figcaption>curl</figcaption>
          <pre data-testid="curl-preview">{curlCommand(t, props.baseUrl)}</pre>
        </figure>
      </details>
    </form>
  );
}

function fieldId(path: string): string {
  return path.startsWith('param-') ? path : `order-${path}`;
}

/** A labelled form control with its error beside it (aria-invalid + aria-describedby). */
import type { ReactNode } from 'react';

export function Field(props: {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  /** Two columns wide in a form grid. */
  wide?: boolean | undefined;
  children: (a11y: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const errId = `${props.id}-error`;
  const hintId = `${props.id}-hint`;
  const describedBy = [props.error ? errId : null, props.hint ? hintId : null].filter(Boolean).join(' ');
  return (
    <div className={`field${props.error ? ' invalid' : ''}${props.wide ? ' wide' : ''}`}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children({
        id: props.id,
        'aria-invalid': props.error !== undefined,
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
      })}
      {props.hint ? (
        <small id={hintId} className="hint">
          {props.hint}
        </small>
      ) : null}
      {props.error ? (
        <small id={errId} className="error" role="alert">
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

/** Filter controls shared by the list pages: labelled text inputs and a UTC time range. */
import { useState } from 'react';

export type FilterValues<K extends string> = Record<K, string>;

/** Filter state and a change handler per key. */
export function useFilters<K extends string>(initial: FilterValues<K>) {
  const [values, setValues] = useState(initial);
  const set = (key: K) => (e: { target: { value: string } }) =>
    setValues((p) => ({ ...p, [key]: e.target.value }));
  return [values, set] as const;
}

type Setter<K extends string> = (key: K) => (e: { target: { value: string } }) => void;

/** Text inputs for `fields` ([key, label]) and, when the values have them, `from` / `to` (UTC). */
export function FilterFields<K extends string>(props: {
  fields: ReadonlyArray<readonly [K, string]>;
  values: FilterValues<K>;
  set: Setter<K>;
  timeRange?: { from: K; to: K } | undefined;
}) {
  const { values, set } = props;
  return (
    <>
      {props.fields.map(([key, label]) => (
        <label key={key}>
          {label}
          <input value={values[key]} onChange={set(key)} />
        </label>
      ))}
      {props.timeRange ? (
        <>
          <label>
            From (UTC)
            <input
              type="datetime-local"
              step="1"
              value={values[props.timeRange.from]}
              onChange={set(props.timeRange.from)}
            />
          </label>
          <label>
            To (UTC)
            <input
              type="datetime-local"
              step="1"
              value={values[props.timeRange.to]}
              onChange={set(props.timeRange.to)}
            />
          </label>
        </>
      ) : null}
    </>
  );
}

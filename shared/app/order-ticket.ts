/**
 * An order ticket as a person fills it in (the console's Execute page, the CLI's `order submit`):
 * every field as text, turned into the JSON body of `POST /api/orders` and checked with the API's
 * own schema (shared/domain/schemas.ts), so the console, the CLI and the API give the same
 * messages at the same field paths. Also renders the equivalent CLI command and `curl` call.
 * Pure: no I/O.
 */
import type { Issue } from '../domain/errors.ts';
import { parseOrderInstruction } from '../domain/schemas.ts';
import { EXEC_ALGORITHMS, type ExecAlgorithm, type OrderInstruction } from '../domain/types.ts';

export interface OrderTicket {
  operation_id: string;
  /** A venue id, or '' for the smart router to choose. */
  venue: string;
  instrument_key: string;
  side: string;
  order_type: string;
  quantity: string;
  /** '' for none (MARKET). */
  price: string;
  time_in_force: string;
  strategy_id: string;
  exec_algorithm: string;
  /** The algorithm's parameters as typed, by name ('' = not given). */
  params: Record<string, string>;
  /** '' for none. */
  reference_price: string;
}

export type ParamKind = 'integer' | 'number' | 'decimal' | 'numbers';

export interface ParamField {
  name: string;
  kind: ParamKind;
  label: string;
  required: boolean;
  hint: string;
}

/** The parameters of each algorithm, in the order a form shows them. */
export const ALGORITHM_PARAMS: Readonly<Record<ExecAlgorithm, readonly ParamField[]>> = {
  NORMAL: [],
  TWAP: [
    { name: 'duration_sec', kind: 'integer', label: 'Duration (s)', required: true, hint: '1–86400' },
    { name: 'max_slices', kind: 'integer', label: 'Slices', required: false, hint: 'default one per 30 s' },
    { name: 'jitter_pct', kind: 'number', label: 'Jitter', required: false, hint: '0–0.5' },
    { name: 'seed', kind: 'integer', label: 'Seed', required: false, hint: 'reproducible jitter' },
  ],
  VWAP: [
    { name: 'duration_sec', kind: 'integer', label: 'Duration (s)', required: true, hint: '1–86400' },
    {
      name: 'max_slices',
      kind: 'integer',
      label: 'Slices',
      required: false,
      hint: 'default from the profile',
    },
    {
      name: 'volume_profile',
      kind: 'numbers',
      label: 'Volume profile',
      required: false,
      hint: 'weights, comma-separated',
    },
    {
      name: 'participation_cap',
      kind: 'number',
      label: 'Participation cap',
      required: false,
      hint: '0 < cap ≤ 1',
    },
    { name: 'seed', kind: 'integer', label: 'Seed', required: false, hint: '' },
  ],
  ICEBERG: [
    {
      name: 'display_quantity',
      kind: 'decimal',
      label: 'Display quantity',
      required: true,
      hint: '< quantity',
    },
    { name: 'refresh_jitter', kind: 'number', label: 'Refresh jitter', required: false, hint: '0–0.5' },
    { name: 'seed', kind: 'integer', label: 'Seed', required: false, hint: '' },
  ],
};

export function algorithmParams(algorithm: string): readonly ParamField[] {
  const a = EXEC_ALGORITHMS.find((x) => x === algorithm);
  return a === undefined ? [] : ALGORITHM_PARAMS[a];
}

/** A typed parameter value: numbers where the text is one, else the text (the schema names the problem). */
function paramValue(kind: ParamKind, text: string): unknown {
  const t = text.trim();
  if (kind === 'decimal') return t;
  if (kind === 'numbers') {
    return t.split(',').map((x) => {
      const v = x.trim();
      return v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    });
  }
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** The JSON body of `POST /api/orders` for this ticket (not yet validated). */
export function ticketBody(t: OrderTicket): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const f of algorithmParams(t.exec_algorithm)) {
    const text = t.params[f.name] ?? '';
    if (text.trim() !== '') params[f.name] = paramValue(f.kind, text);
  }
  const body: Record<string, unknown> = {
    operation_id: t.operation_id.trim(),
    instrument_key: t.instrument_key.trim(),
    side: t.side,
    order_type: t.order_type,
    quantity: t.quantity.trim(),
    price: t.price.trim() === '' ? null : t.price.trim(),
    time_in_force: t.time_in_force,
    strategy_id: t.strategy_id.trim(),
    exec_algorithm: t.exec_algorithm,
    exec_algorithm_params: params,
  };
  if (t.venue.trim() !== '') body.venue = t.venue.trim();
  if (t.reference_price.trim() !== '') body.reference_price = t.reference_price.trim();
  return body;
}

export type TicketCheck =
  | { ok: true; body: Record<string, unknown>; instruction: OrderInstruction }
  | { ok: false; body: Record<string, unknown>; issues: Issue[] };

/** Validate with the API's schema: the same issues (path and message) the API would answer. */
export function checkTicket(t: OrderTicket): TicketCheck {
  const body = ticketBody(t);
  const r = parseOrderInstruction(body);
  return r.success ? { ok: true, body, instruction: r.data } : { ok: false, body, issues: r.error.issues };
}

/** Issues by field path, for showing each beside its field (`exec_algorithm_params.x` → `x`). */
export function issuesByField(issues: readonly Issue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const key = i.path.startsWith('exec_algorithm_params.')
      ? i.path.slice('exec_algorithm_params.'.length)
      : i.path;
    out[key] = out[key] === undefined ? i.message : `${out[key]}; ${i.message}`;
  }
  return out;
}

/** Quote for a POSIX shell: bare when safe, else single quotes. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `npm run cli -- order submit ...` doing the same as this ticket. */
export function cliCommand(t: OrderTicket, url?: string): string {
  const parts = ['npm', 'run', 'cli', '--', 'order', 'submit'];
  const add = (flag: string, v: string) => {
    if (v.trim() !== '') parts.push(flag, shellQuote(v.trim()));
  };
  add('--instrument', t.instrument_key);
  add('--side', t.side);
  add('--type', t.order_type);
  add('--quantity', t.quantity);
  add('--price', t.price);
  add('--tif', t.time_in_force);
  add('--strategy', t.strategy_id);
  add('--venue', t.venue);
  if (t.exec_algorithm !== 'NORMAL') add('--algo', t.exec_algorithm);
  for (const f of algorithmParams(t.exec_algorithm)) {
    const v = (t.params[f.name] ?? '').trim();
    if (v !== '') parts.push('--param', shellQuote(`${f.name}=${v}`));
  }
  add('--reference-price', t.reference_price);
  add('--operation-id', t.operation_id);
  if (url !== undefined) add('--url', url);
  return parts.join(' ');
}

/** The `curl` call of the same request. */
export function curlCommand(t: OrderTicket, baseUrl: string): string {
  return [
    `curl -sS -X POST ${shellQuote(`${baseUrl.replace(/\/$/, '')}/api/orders`)}`,
    `-H 'Content-Type: application/json'`,
    `-d ${shellQuote(JSON.stringify(ticketBody(t)))}`,
  ].join(' \\\n  ');
}

/** A fresh operation id for a manual order: `manual-<ms>-<random>`. */
export function newOperationId(nowMs: number, random: () => number): string {
  return `manual-${nowMs.toString(36)}-${Math.floor(random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0')}`;
}

/** Display helpers: time from nanosecond digit strings, signed numbers, bps. */

export function nsToDate(ns: string | number | null | undefined): Date | null {
  if (ns === null || ns === undefined || ns === '') return null;
  const ms = typeof ns === 'number' ? ns / 1e6 : Number(BigInt(ns) / 1_000_000n);
  return new Date(ms);
}

/** `13:04:05.123` (UTC) for today-ish event times; ISO date prefix when `withDate`. */
export function fmtTime(ns: string | number | null | undefined, withDate = false): string {
  const d = nsToDate(ns);
  if (d === null) return '–';
  const iso = d.toISOString();
  return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.slice(11, 23);
}

export function fmtNum(v: string | number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || v === '') return '–';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return String(v);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtBps(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(2)} bps`;
}

export function fmtPct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)} %`;
}

/** CSS class for a signed value. */
export function signClass(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  return n > 0 ? 'pos' : n < 0 ? 'neg' : '';
}

/** The nanosecond digit string of a `datetime-local` value (taken as UTC), or ''. */
export function localInputToNs(value: string): string {
  if (value.trim() === '') return '';
  const ms = Date.parse(`${value}Z`);
  return Number.isFinite(ms) ? `${BigInt(ms) * 1_000_000n}` : '';
}

export const TERMINAL = new Set(['DENIED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

export function statusClass(status: string): string {
  if (status === 'FILLED') return 'st-ok';
  if (status === 'DENIED' || status === 'REJECTED') return 'st-bad';
  if (status === 'CANCELED' || status === 'EXPIRED') return 'st-muted';
  return 'st-live';
}

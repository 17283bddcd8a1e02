/**
 * The console's access to the HTTP API: JSON in and out, errors as `ApiFailure` (status, code,
 * message, per-field issues), and `usePoll` for live pages (re-read every `intervalMs`, ≤ 2 s).
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Issue {
  path: string;
  message: string;
}

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: Issue[];
  readonly body: unknown;
  constructor(status: number, code: string, message: string, issues: Issue[], body: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
    this.body = body;
  }
}

/** Call the API; `okStatuses` lists non-2xx answers that still carry the data (e.g. 503 health). */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; okStatuses?: number[] } = {},
): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers:
      init.body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  if (!res.ok && !(init.okStatuses ?? []).includes(res.status)) {
    const e = (json as { error?: { code?: string; message?: string; issues?: Issue[] } } | null)?.error;
    throw new ApiFailure(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? text,
      e?.issues ?? [],
      json,
    );
  }
  return json as T;
}

export interface Polled<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Read `path` now and every `intervalMs` while mounted (null path: nothing). */
export function usePoll<T>(path: string | null, intervalMs = 1500, okStatuses: number[] = []): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const okKey = okStatuses.join(',');
  const last = useRef<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` is the reload trigger (restarts the polling at once)
  useEffect(() => {
    if (path === null) return;
    let stopped = false;
    if (last.current !== path) {
      last.current = path;
      setData(null);
      setLoading(true);
    }
    const ok = okKey === '' ? [] : okKey.split(',').map(Number);
    const read = async () => {
      try {
        const v = await api<T>(path, { okStatuses: ok });
        if (!stopped) {
          setData(v);
          setError(null);
        }
      } catch (err) {
        if (!stopped) setError(err instanceof Error ? err.message : String(err));
      } finally {
        if (!stopped) setLoading(false);
      }
    };
    void read();
    const timer = intervalMs > 0 ? window.setInterval(read, intervalMs) : undefined;
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearInterval(timer);
    };
  }, [path, intervalMs, okKey, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** `?a=1&b=2` from the non-empty values. */
export function queryString(values: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v.trim() !== '') q.set(k, v.trim());
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

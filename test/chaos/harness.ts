/**
 * The chaos harness's common parts: a scenario's result (figures and a verdict), the table the
 * runs print, and bounded helpers (a concurrency pool, a deadline).
 */

export interface ScenarioResult {
  scenario: string;
  /** What was done, e.g. "10,000 malformed instructions over HTTP". */
  load: string;
  /** Named figures, in print order. */
  figures: Array<[string, string | number]>;
  /** The goals held (every "must be 0" is 0, every "must be 100%" is 100%). */
  passed: boolean;
  /** Why not, when `passed` is false. */
  failures: string[];
  seconds: number;
}

export interface Check {
  ok: boolean;
  what: string;
}

export function check(ok: boolean, what: string): Check {
  return { ok, what };
}

export function result(
  scenario: string,
  load: string,
  figures: Array<[string, string | number]>,
  checks: Check[],
  startedMs: number,
): ScenarioResult {
  const failures = checks.filter((c) => !c.ok).map((c) => c.what);
  return {
    scenario,
    load,
    figures,
    passed: failures.length === 0,
    failures,
    seconds: Math.round((performance.now() - startedMs) / 100) / 10,
  };
}

export const fmtInt = (n: number) => n.toLocaleString('en-US');

export function pct(part: number, whole: number): string {
  return whole === 0 ? '—' : `${((100 * part) / whole).toFixed(part === whole ? 0 : 2)}%`;
}

/** Run `tasks` with at most `limit` in flight. */
export async function pool<T>(limit: number, count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}

/** The results as a Markdown table (what `npm run chaos` prints and docs/reliability.md shows). */
export function table(results: readonly ScenarioResult[]): string {
  const rows = [
    '| scenario | load | figures | goal met | time |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.load} | ${r.figures.map(([k, v]) => `${k} ${typeof v === 'number' ? fmtInt(v) : v}`).join('; ')} | ${r.passed ? 'yes' : `NO: ${r.failures.join('; ')}`} | ${r.seconds} s |`,
    ),
  ];
  return rows.join('\n');
}

/** Sum of a Prometheus counter (any prefix before `name`) by the value of one label, from `/metrics` text. */
export function metricByLabel(metrics: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const line = new RegExp(`^\\w*${name}\\{([^}]*)\\}\\s+([0-9.e+]+)`);
  const value = new RegExp(`${label}="([^"]*)"`);
  for (const l of metrics.split('\n')) {
    const m = line.exec(l);
    if (m === null) continue;
    const key = value.exec(m[1] as string)?.[1] ?? '?';
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}

/**
 * `GET /api/health`: every component checked in parallel — the order store, position store, bus,
 * blob store, each venue, and whatever else the composition root adds. 200 `{status:'ok'}` when all
 * are ok, else 503 `{status:'unavailable'}`; each component shows `ok`, its `detail` and how long
 * its check took. A check that throws or takes longer than the timeout counts as not ok (with the
 * reason), so a hung dependency never hangs the health endpoint.
 */
import { Hono } from 'hono';
import type { Gauge } from 'prom-client';
import { sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';

export interface ComponentStatus {
  ok: boolean;
  detail?: string | undefined;
}
export type HealthCheck = () => Promise<ComponentStatus>;

/** Venue health, one entry per venue id (shown as `venue:<id>`). */
export type VenueHealth = () => Promise<Record<string, ComponentStatus>>;

export interface HealthOptions {
  /** Named checks (`order_store`, `position_store`, `bus`, `blob_store`, ...). */
  checks: Readonly<Record<string, HealthCheck>>;
  /** Health of every venue. */
  venues?: VenueHealth | undefined;
  /** Per-check time limit (default 3000 ms). */
  timeoutMs?: number | undefined;
  /** Set to 1/0 per component after each check. */
  gauge?: Gauge<'component'> | undefined;
  /** Wall clock in ms (default Date.now). */
  now?: (() => number) | undefined;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checked_at: string;
  components: Record<string, { ok: boolean; detail?: string; latency_ms: number }>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function withTimeout<T>(fn: () => Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run every check and build the report. */
export async function checkHealth(options: HealthOptions): Promise<HealthReport> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? Date.now;
  const components: HealthReport['components'] = {};

  const run = async (name: string, check: () => Promise<ComponentStatus>) => {
    const started = performance.now();
    let status: ComponentStatus;
    try {
      status = await withTimeout(check, timeoutMs, name);
    } catch (err) {
      status = { ok: false, detail: `check failed: ${message(err)}` };
    }
    const latency = Math.round((performance.now() - started) * 1000) / 1000;
    const entry: { ok: boolean; detail?: string; latency_ms: number } =
      status.detail !== undefined
        ? { ok: status.ok === true, detail: status.detail, latency_ms: latency }
        : { ok: status.ok === true, latency_ms: latency };
    return [name, entry] as const;
  };

  const tasks = Object.entries(options.checks).map(([name, check]) => run(name, check));
  const venueTasks = options.venues
    ? (async () => {
        const venues = options.venues;
        if (!venues) return [];
        try {
          const all = await withTimeout(venues, timeoutMs, 'venues');
          return Promise.all(Object.entries(all).map(([id, s]) => run(`venue:${id}`, async () => s)));
        } catch (err) {
          return [
            await run('venues', async () => {
              throw err;
            }),
          ];
        }
      })()
    : Promise.resolve([]);

  const results = [...(await Promise.all(tasks)), ...(await venueTasks)];
  for (const [name, entry] of results) {
    components[name] = entry;
    options.gauge?.set({ component: name }, entry.ok ? 1 : 0);
  }
  const ok = results.every(([, e]) => e.ok);
  return { status: ok ? 'ok' : 'unavailable', checked_at: new Date(now()).toISOString(), components };
}

export function healthRoutes(options: HealthOptions): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const report = await checkHealth(options);
    return sendJson(c, report.status === 'ok' ? 200 : 503, report, { 'Cache-Control': 'no-store' });
  });
  return app;
}

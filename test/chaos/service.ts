/**
 * Scenarios against the platform as `npm start` runs it — a real process (node + tsx running
 * stateful/main.ts, with its embedded local exchange), reached only over HTTP:
 *
 * - bad input: malformed instructions (test/chaos/bad-input.ts) → every one refused with a reason
 *   (400 with issues, 413, 415), no 5xx, the process alive, no order reaching a venue;
 * - secrets: the venue API key and secret set in the environment; every log line (stdout and
 *   stderr), every error body, /metrics, /api/health, /api/orders and the OpenAPI document searched
 *   for them → 0 hits.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMainProcess } from '../integration/support/main-process.ts';
import { badInputs } from './bad-input.ts';
import { check, fmtInt, metricByLabel, pct, pool, result, type ScenarioResult } from './harness.ts';

export interface ServiceRunOptions {
  badInputs: number;
  seed: number;
  concurrency?: number;
}

const REFUSAL_STATUSES = new Set([400, 413, 415]);

interface Refusal {
  status: number;
  code: string | null;
  message: string | null;
  issues: number;
}

function parseError(text: string): Omit<Refusal, 'status'> {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; issues?: unknown } };
    const e = body.error;
    return {
      code: typeof e?.code === 'string' ? e.code : null,
      message: typeof e?.message === 'string' && e.message.length > 0 ? e.message : null,
      issues: Array.isArray(e?.issues) ? e.issues.length : 0,
    };
  } catch {
    return { code: null, message: null, issues: 0 };
  }
}

/** Sum of `orders_submitted_total` by outcome, from Prometheus text. */
export function submittedByOutcome(metrics: string): Record<string, number> {
  return metricByLabel(metrics, 'orders_submitted_total', 'outcome');
}

export async function runServiceScenarios(o: ServiceRunOptions): Promise<ScenarioResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'chaos-service-'));
  const apiKey = `chaoskey${randomBytes(12).toString('hex')}`;
  const apiSecret = `chaossecret${randomBytes(16).toString('hex')}`;
  const started = performance.now();
  const svc = await startMainProcess(
    {
      EXEC_DATA_DIR: dataDir,
      EXEC_API_RATE_LIMIT: 'false',
      LOG_LEVEL: 'debug',
      BINANCE_SPOT_API_KEY: apiKey,
      BINANCE_SPOT_API_SECRET: apiSecret,
      METADATA_SERVER_DETECTION: 'none',
    },
    { startTimeoutMs: 60_000 },
  );
  let stderr = '';
  svc.child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const bodies: string[] = [];
  try {
    // ---- bad input ----
    const samples = badInputs(o.badInputs, o.seed, 1024 * 1024 + 1);
    const badStarted = performance.now();
    const byKind = new Map<string, { n: number; refused: number }>();
    let refused = 0;
    let serverErrors = 0;
    let accepted = 0;
    let transport = 0;
    let otherStatus = 0;
    await pool(o.concurrency ?? 16, samples.length, async (i) => {
      const s = samples[i] as (typeof samples)[number];
      const k = byKind.get(s.kind) ?? { n: 0, refused: 0 };
      k.n += 1;
      byKind.set(s.kind, k);
      let res: Response;
      try {
        res = await fetch(`${svc.url}/api/orders`, {
          method: 'POST',
          headers: { 'Content-Type': s.contentType },
          body: Buffer.from(s.body),
        });
      } catch (err) {
        transport += 1;
        if (process.env.CHAOS_DEBUG) console.error(s.kind, s.body.length, (err as Error).cause ?? err);
        return;
      }
      const text = await res.text();
      if (bodies.length < 2_000 || res.status >= 500) bodies.push(text);
      const e = parseError(text);
      const withReason = e.code !== null && e.message !== null && (res.status !== 400 || e.issues > 0);
      if (REFUSAL_STATUSES.has(res.status) && withReason) {
        refused += 1;
        k.refused += 1;
      } else if (res.status >= 500) serverErrors += 1;
      else if (res.status < 300) accepted += 1;
      else otherStatus += 1;
    });
    const badSeconds = (performance.now() - badStarted) / 1000;
    const alive = svc.child.exitCode === null && svc.child.signalCode === null;
    const health = alive
      ? await fetch(`${svc.url}/api/health`).then(
          (r) => r.status,
          () => 0,
        )
      : 0;
    const metrics = alive ? await (await fetch(`${svc.url}/metrics`)).text() : '';
    const outcomes = submittedByOutcome(metrics);
    const venueOrders = (outcomes.routed ?? 0) + (outcomes.unroutable ?? 0) + (outcomes.denied ?? 0);
    const worst = [...byKind.entries()]
      .filter(([, v]) => v.refused < v.n)
      .map(([kind, v]) => `${kind} ${v.n - v.refused}/${v.n}`);
    const badResult = result(
      'bad input (HTTP)',
      `${fmtInt(samples.length)} malformed instructions, ${byKind.size} families, POST /api/orders on npm start, ${o.concurrency ?? 16} in flight`,
      [
        ['refused with a reason', pct(refused, samples.length)],
        ['5xx', serverErrors],
        ['accepted', accepted],
        ['other answers', otherStatus],
        ['connection failures', transport],
        ['crashes', alive ? 0 : 1],
        ['venue orders', venueOrders],
        ['requests/s', Math.round(samples.length / badSeconds)],
      ],
      [
        check(refused === samples.length, `not refused with a reason: ${worst.join(', ')}`),
        check(serverErrors === 0, `${serverErrors} 5xx`),
        check(alive && health === 200, `service alive ${alive}, health ${health}`),
        check(venueOrders === 0, `${venueOrders} orders got past validation`),
      ],
      badStarted,
    );

    // ---- secrets ----
    const secretsStarted = performance.now();
    const probes = [
      '/api/health',
      '/metrics',
      '/api/orders?limit=1000',
      '/api/positions',
      '/api/openapi.json',
      '/api/docs',
      '/healthz',
      '/readyz',
      '/api/orders/NOPE',
      '/nope',
    ];
    for (const p of probes)
      bodies.push(
        await fetch(`${svc.url}${p}`).then(
          (r) => r.text(),
          () => '',
        ),
      );
    // Errors that go through the venue session: an order the local exchange refuses is logged with its reason.
    const logs = svc.lines.map((l) => JSON.stringify(l));
    const haystacks = [...logs, stderr, ...bodies];
    const needles = [apiKey, apiSecret];
    let hits = 0;
    for (const h of haystacks) for (const n of needles) if (h.includes(n)) hits += 1;
    const secretsResult = result(
      'secrets',
      `venue API key and secret set; ${fmtInt(logs.length)} log lines, stderr, ${fmtInt(bodies.length)} response bodies (error bodies, /metrics, health, orders, OpenAPI)`,
      [['hits', hits]],
      [check(hits === 0, `${hits} places show a key`), check(logs.length > 0, 'no log lines captured')],
      secretsStarted,
    );
    return [badResult, secretsResult];
  } finally {
    svc.child.kill('SIGTERM');
    const exited = await Promise.race([
      svc.exited,
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    if (exited === 'timeout') svc.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    void started;
  }
}

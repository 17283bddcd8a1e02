/**
 * The service's probes, mounted at the root whatever the configuration (Cloud Run: the startup
 * probe reads `/readyz`, the liveness probe `/healthz`; terraform/modules/cloud_run):
 *
 * - `GET /healthz` — liveness. 200 `{status:'ok'}` while the process serves requests; 503
 *   `{status:'lease_lost'}` once the venue-edge lease was lost (the edge stopped for good, so the
 *   instance must be replaced). Nothing external is checked: a venue outage must not get the
 *   process killed.
 * - `GET /readyz` — startup / readiness. 503 `{status:'draining'}` during shutdown. With a venue
 *   edge holding the lease: the edge's own readiness (stateful/edge/health.ts: subscription running,
 *   every venue session connected). Waiting for the lease: 200 `{status:'standby', lease}` — a
 *   standby is a finished start (a rollout's new revision must become ready while the old one still
 *   holds the lease, or the old one is never told to stop). Without LIVE / SHADOW venues: 200
 *   `{status:'ready'}`.
 */
import { Hono } from 'hono';
import type { EdgeLeaseState } from '../edge/lease.ts';

export interface ProbeSources {
  /** True once shutdown began. */
  draining(): boolean;
  /** The venue-edge lease, or null when this configuration runs no edge. */
  lease(): { state: EdgeLeaseState; detail: string | null; holder: string } | null;
  /** The running edge's router (its `/readyz`), or null while none runs. */
  edge(): Hono | null;
}

export function createProbeRouter(src: ProbeSources): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const lease = src.lease();
    if (lease?.state === 'lost') return c.json({ status: 'lease_lost', detail: lease.detail }, 503);
    return c.json({ status: 'ok' });
  });
  app.get('/readyz', async (c) => {
    if (src.draining()) return c.json({ status: 'draining' }, 503);
    const lease = src.lease();
    if (lease === null) return c.json({ status: 'ready', venues: [] });
    const edge = src.edge();
    if (lease.state === 'held' && edge !== null) return edge.fetch(c.req.raw);
    const body = { lease: { state: lease.state, holder: lease.holder, detail: lease.detail } };
    if (lease.state === 'waiting') return c.json({ status: 'standby', ...body });
    // held but the edge is still starting, or lost / released
    return c.json({ status: 'not_ready', reasons: [`venue-edge lease ${lease.state}`], ...body }, 503);
  });
  return app;
}

/**
 * Liveness and readiness of the venue edge as a small hono router the API mounts at the root:
 *
 * - `GET /healthz` — 200 `{status:'ok'}` while the process serves requests (liveness: Cloud Run
 *   restarts an instance that stops answering). Nothing external is checked: a venue outage must
 *   not get the process killed.
 * - `GET /readyz` — 200 `{status:'ready', venues}` when the edge has started, its `orders.routed`
 *   subscription runs and every venue session is connected with its private stream not down; else
 *   503 `{status:'not_ready', reasons, venues}`.
 */
import { Hono } from 'hono';
import type { VenueSessionStatus } from './types.ts';

export interface EdgeProbe {
  readiness(): { ready: boolean; reasons: string[] };
  status(): VenueSessionStatus[];
}

export function createEdgeHealthRouter(edge: EdgeProbe): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const r = edge.readiness();
    const venues = edge.status().map((s) => ({
      venue: s.venue,
      mode: s.mode,
      connected: s.connected,
      private_stream: s.private_stream,
      public_stream: s.public_stream,
      health: s.health,
    }));
    if (r.ready) return c.json({ status: 'ready', venues });
    return c.json({ status: 'not_ready', reasons: r.reasons, venues }, 503);
  });
  return app;
}

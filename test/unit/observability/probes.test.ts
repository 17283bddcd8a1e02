/** The probes Cloud Run reads (stateful/observability/probes.ts): always mounted, each state answered. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { EdgeLeaseState } from '../../../stateful/edge/lease.ts';
import { createProbeRouter } from '../../../stateful/observability/probes.ts';

function probes(opts: { draining?: boolean; lease?: EdgeLeaseState | null; edgeReady?: boolean }) {
  const edge = new Hono();
  edge.get('/readyz', (c) =>
    opts.edgeReady ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready' }, 503),
  );
  return createProbeRouter({
    draining: () => opts.draining ?? false,
    lease: () =>
      opts.lease === null || opts.lease === undefined
        ? null
        : { state: opts.lease, detail: opts.lease === 'held' ? null : 'held by edge-b', holder: 'edge-a' },
    edge: () => (opts.lease === 'held' ? edge : null),
  });
}

const get = async (app: Hono, path: string) => {
  const res = await app.request(path);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('/healthz and /readyz', () => {
  it('without a venue edge: both 200', async () => {
    expect(await get(probes({ lease: null }), '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get(probes({ lease: null }), '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('holding the lease: readiness is the edge`s own', async () => {
    expect((await get(probes({ lease: 'held', edgeReady: true }), '/readyz')).status).toBe(200);
    expect((await get(probes({ lease: 'held', edgeReady: false }), '/readyz')).status).toBe(503);
  });

  it('waiting for the lease: ready as a STANDBY, so a rollout completes', async () => {
    expect(await get(probes({ lease: 'waiting' }), '/readyz')).toEqual({
      status: 200,
      body: { status: 'standby', lease: { state: 'waiting', holder: 'edge-a', detail: 'held by edge-b' } },
    });
  });

  it('lease lost: liveness fails (the instance is replaced); draining: readiness fails', async () => {
    expect(await get(probes({ lease: 'lost' }), '/healthz')).toMatchObject({
      status: 503,
      body: { status: 'lease_lost' },
    });
    expect((await get(probes({ lease: 'lost' }), '/readyz')).status).toBe(503);
    expect(await get(probes({ lease: 'held', edgeReady: true, draining: true }), '/readyz')).toEqual({
      status: 503,
      body: { status: 'draining' },
    });
  });
});

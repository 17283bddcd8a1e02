import { describe, expect, it } from 'vitest';
import { checkHealth } from '../../../stateful/api/health/index.ts';
import { fixture } from './app-fixture.ts';

interface HealthJson {
  status: string;
  checked_at: string;
  components: Record<string, { ok: boolean; detail?: string; latency_ms: number }>;
}

describe('GET /api/health', () => {
  it('200 when every component and venue is ok, with each one listed', async () => {
    const { app } = fixture();
    const res = await app.request('/api/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as HealthJson;
    expect(body.status).toBe('ok');
    expect(Object.keys(body.components)).toEqual([
      'order_store',
      'position_store',
      'bus',
      'blob_store',
      'venue:SIM',
    ]);
    expect(body.components.order_store).toMatchObject({ ok: true, detail: 'memory only' });
    expect(body.components['venue:SIM']).toMatchObject({ ok: true, detail: 'simulated' });
    expect(typeof body.components.bus?.latency_ms).toBe('number');
    expect(Date.parse(body.checked_at)).not.toBeNaN();
  });

  it('503 when one component reports not ok, with its detail', async () => {
    const { app, health } = fixture();
    health.bus = { ok: false, detail: 'Pub/Sub unreachable: 14 UNAVAILABLE' };
    const res = await app.request('/api/health');
    expect(res.status).toBe(503);
    const body = (await res.json()) as HealthJson;
    expect(body.status).toBe('unavailable');
    expect(body.components.bus).toMatchObject({ ok: false, detail: 'Pub/Sub unreachable: 14 UNAVAILABLE' });
    expect(body.components.order_store?.ok).toBe(true);
  });

  it('a check that throws or hangs counts as not ok, and never hangs the endpoint', async () => {
    const { app } = fixture({
      checks: {
        order_store: async () => ({ ok: true }),
        blob_store: async () => {
          throw new Error('EACCES: permission denied');
        },
        bus: () => new Promise(() => undefined),
      },
    });
    const res = await app.request('/api/health');
    expect(res.status).toBe(503);
    const body = (await res.json()) as HealthJson;
    expect(body.components.blob_store).toMatchObject({
      ok: false,
      detail: 'check failed: EACCES: permission denied',
    });
    expect(body.components.bus).toMatchObject({
      ok: false,
      detail: 'check failed: bus did not answer within 200 ms',
    });
    expect(body.components.order_store?.ok).toBe(true);
  });

  it('reports each venue, and venues whose health cannot be read', async () => {
    const down = await checkHealth({
      checks: {},
      venues: async () => ({ SIM: { ok: true }, 'BINANCE-SPOT': { ok: false, detail: 'circuit open' } }),
    });
    expect(down.status).toBe('unavailable');
    expect(down.components['venue:BINANCE-SPOT']).toMatchObject({ ok: false, detail: 'circuit open' });
    const failing = await checkHealth({
      checks: {},
      venues: async () => {
        throw new Error('session registry not started');
      },
    });
    expect(failing.components.venues).toMatchObject({
      ok: false,
      detail: 'check failed: session registry not started',
    });
  });

  it('sets the component gauge exported on /metrics', async () => {
    const { app, health } = fixture();
    health.blob_store = { ok: false };
    await app.request('/api/health');
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('exec_health_component_up{component="blob_store"} 0');
    expect(text).toContain('exec_health_component_up{component="order_store"} 1');
  });
});

/**
 * `GET /api/positions?account_id=&instrument_key=`: the position book (one net position per
 * account and instrument, with the per-venue breakdown), read from the PositionStore.
 */
import { Hono } from 'hono';
import type { PositionStore } from '../../../shared/ports/position-store.ts';
import { callDependency } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import { parsePositionQuery } from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';

export function positionRoutes(positions: Pick<PositionStore, 'list'>): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const filter = parsePositionQuery(c.req.queries());
    const list = await callDependency('position store', () => positions.list(filter));
    return sendJson(c, 200, { positions: list, count: list.length });
  });
  return app;
}

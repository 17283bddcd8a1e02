/**
 * `GET /api/positions?account_id=&instrument_key=`: the position book (one net position per
 * account and instrument, with the per-venue breakdown), read from the PositionStore.
 *
 * `GET /api/positions/view?account_id=&instrument_key=`: the same book aggregated per instrument
 * (shared/app/position-view.ts) and marked to the latest mid: realized and unrealized PnL,
 * exposure, totals.
 */
import { Hono } from 'hono';
import { positionView } from '../../../shared/app/position-view.ts';
import type { DecimalString } from '../../../shared/domain/decimal.ts';
import type { Position } from '../../../shared/domain/types.ts';
import type { PositionStore } from '../../../shared/ports/position-store.ts';
import { callDependency } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import { parsePositionQuery } from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';

/** The latest mid per instrument of the given positions (null where none is known). */
export type PositionMarks = (positions: readonly Position[]) => Promise<Record<string, DecimalString | null>>;

export function positionRoutes(
  positions: Pick<PositionStore, 'list'>,
  marks?: PositionMarks | undefined,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const filter = parsePositionQuery(c.req.queries());
    const list = await callDependency('position store', () => positions.list(filter));
    return sendJson(c, 200, { positions: list, count: list.length });
  });
  app.get('/view', async (c) => {
    const filter = parsePositionQuery(c.req.queries());
    const list = await callDependency('position store', () => positions.list(filter));
    const m = marks === undefined ? {} : await callDependency('market state', () => marks(list));
    return sendJson(c, 200, positionView(list, m), { 'Cache-Control': 'no-store' });
  });
  return app;
}

/**
 * `GET /api/tca?from=&to=&venue=&strategy_id=&instrument_key=&limit=`: transaction-cost analysis of
 * the orders in the window (top-level orders, newest first): per order and aggregated per venue,
 * algorithm and strategy, with the definitions of the backtest summary (shared/tca).
 */
import { Hono } from 'hono';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import { groupTca, orderTca, orderTcaSums, totalTca } from '../../../shared/tca/live.ts';
import type { TcaSums } from '../../../shared/tca/tca.ts';
import { callDependency } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import { parseOrderListQuery } from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';

export function tcaRoutes(orders: Pick<OrderStore, 'query' | 'timeline' | 'fills'>): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const query = parseOrderListQuery(c.req.queries());
    const result = await callDependency('order store', async () => {
      const list = (await orders.query(query)).filter((o) => o.parent_order_id === null);
      const rows: Array<{ order: OrderRecord; sums: TcaSums; tca: ReturnType<typeof orderTca> }> = [];
      for (const order of list) {
        const [timeline, fills] = await Promise.all([
          orders.timeline(order.operation_id),
          orders.fills(order.operation_id),
        ]);
        rows.push({
          order,
          sums: orderTcaSums(order, timeline, fills),
          tca: orderTca(order, timeline, fills),
        });
      }
      return rows;
    });
    return sendJson(c, 200, {
      orders: result.map((r) => r.tca),
      by_venue: groupTca(result, 'venue'),
      by_algorithm: groupTca(result, 'exec_algorithm'),
      by_strategy: groupTca(result, 'strategy_id'),
      total: totalTca(result),
    });
  });
  return app;
}

/**
 * An order as the intake pipeline leaves it after routing: PENDING, risk-approved, venue chosen,
 * the whole first timeline created at version 1 — built with the real order machine, for tests and
 * benchmarks of what comes after the pipeline (venues, the edge, reconciliation).
 */
import { orderIdFor } from '../../shared/app/order-id.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import { handle, type OrderCommand } from '../../shared/domain/order-machine.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { OrderInstruction, OrderRecord } from '../../shared/domain/types.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';

export interface RouteTo {
  venue: string;
  account_id: string | null;
  ts: Nanos;
  reason?: string;
}

export async function createRoutedOrder(
  orders: OrderStore,
  instruction: OrderInstruction,
  to: RouteTo,
): Promise<OrderRecord> {
  const t = { ts_event: to.ts, ts_init: to.ts };
  const commands: OrderCommand[] = [
    {
      type: 'ReceiveOrder',
      ...t,
      instruction,
      order_id: orderIdFor(instruction.operation_id),
      parent_order_id: null,
    },
    { type: 'ApproveRisk', ...t, checks: [] },
    {
      type: 'RouteOrder',
      ...t,
      venue: to.venue,
      account_id: to.account_id,
      scores: [],
      reason: to.reason ?? 'test',
    },
  ];
  let state: OrderRecord | null = null;
  const events: OrderEvent[] = [];
  for (const c of commands) {
    const r = handle(c, state);
    if (!r.success) throw new Error(`${c.type}: ${r.error.reason}`);
    events.push(...r.data.events);
    state = r.data.order;
  }
  if (state === null) throw new Error('no order state');
  // The pipeline creates the whole first timeline as version 1.
  return (await orders.create({ ...state, version: 1 }, events)).order;
}

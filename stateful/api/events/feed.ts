/**
 * The execution event stream of `GET /api/events`: one list, newest first, of
 *
 * - every order event in the order book of record (received, risk decision, routing, venue ack,
 *   fills, cancels, rejections) — durable, from the OrderStore timelines of the orders created in
 *   the asked window;
 * - every trading-state change (who, when, why) — durable, from the TradingStateStore history;
 * - venue diagnostics the venue edge published on `exec.orders` (stream up/down, retries, circuit
 *   breaker, gap fills, reconciliation) — as seen by this process since it started (a bounded
 *   journal fed by a bus subscription, see `DiagnosticJournal`).
 *
 * Each entry is classified (`outcome`): executed, denied, rejected, canceled, info or warning.
 */
import type { OrderEvent } from '../../../shared/domain/events.ts';
import { type Nanos, nanosToIso } from '../../../shared/domain/time.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import type { TradingStateStore } from '../../../shared/ports/trading-state-store.ts';
import { scopeLabel } from '../../../shared/ports/trading-state-store.ts';

export const EVENT_CATEGORIES = ['order', 'trading_state', 'venue'] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];
export const EVENT_OUTCOMES = ['executed', 'denied', 'rejected', 'canceled', 'info', 'warning'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export interface ExecutionEventEntry {
  /** Stable id: `<operation_id>#<index in its timeline>`, `ts:<scope>#<version>`, `venue:<n>`. */
  id: string;
  ts_event: Nanos;
  time: string;
  category: EventCategory;
  /** The event's own type: `OrderFilled`, `TradingStateChanged`, `venue_diagnostic.stream`, ... */
  type: string;
  outcome: EventOutcome;
  venue: string | null;
  instrument_key: string | null;
  operation_id: string | null;
  strategy_id: string | null;
  /** Who asked (order received / cancel requested / trading state), when recorded. */
  actor: string | null;
  message: string;
}

export interface EventQuery {
  category?: EventCategory[] | undefined;
  outcome?: EventOutcome[] | undefined;
  venue?: string | undefined;
  instrument_key?: string | undefined;
  operation_id?: string | undefined;
  from?: Nanos | undefined;
  to?: Nanos | undefined;
  limit: number;
}

/** A venue diagnostic as the journal keeps it. */
export interface VenueDiagnosticEntry {
  venue: string;
  diagnostic: string;
  message: string;
  ts_event: Nanos;
  warning: boolean;
}

/** The last `capacity` venue diagnostics seen by this process. */
export class DiagnosticJournal {
  private readonly entries: VenueDiagnosticEntry[] = [];
  private seq = 0;
  private readonly capacity: number;

  constructor(capacity = 2000) {
    this.capacity = capacity;
  }

  record(e: VenueDiagnosticEntry): void {
    this.entries.push(e);
    this.seq++;
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** Oldest first, each with its sequence number. */
  list(): Array<VenueDiagnosticEntry & { seq: number }> {
    const first = this.seq - this.entries.length;
    return this.entries.map((e, i) => ({ ...e, seq: first + i }));
  }
}

/** Orders whose timelines are read per request (the newest in the window). */
export const MAX_ORDERS_PER_QUERY = 200;

export interface EventFeedDeps {
  orders: Pick<OrderStore, 'query' | 'timeline'>;
  tradingState?: Pick<TradingStateStore, 'history'> | undefined;
  diagnostics?: DiagnosticJournal | undefined;
}

function orderEntry(order: OrderRecord, e: OrderEvent, index: number): ExecutionEventEntry {
  const base = {
    id: `${order.operation_id}#${index}`,
    ts_event: e.ts_event,
    time: nanosToIso(e.ts_event),
    category: 'order' as const,
    type: e.type,
    venue: order.venue,
    instrument_key: order.instrument_key,
    operation_id: order.operation_id,
    strategy_id: order.strategy_id,
    actor: 'by' in e && e.by !== undefined ? e.by.id : null,
  };
  const what = `${order.side} ${order.quantity} ${order.instrument_key}`;
  switch (e.type) {
    case 'OrderReceived': {
      const i = e.instruction;
      const px = i.price === null ? '' : ` @ ${i.price}`;
      return {
        ...base,
        outcome: 'info',
        message: `received ${what} ${i.order_type}${px} ${i.time_in_force} ${i.exec_algorithm}`,
      };
    }
    case 'OrderRiskApproved':
      return { ...base, outcome: 'info', message: `risk approved (${e.checks.length} checks passed)` };
    case 'OrderDenied':
      return {
        ...base,
        outcome: 'denied',
        message: `denied by ${e.rule}: ${e.reason} (limit ${e.limit ?? '-'}, observed ${e.observed ?? '-'})`,
      };
    case 'OrderRouted': {
      const best = e.scores.find((s) => s.venue === e.venue)?.total_cost_bps;
      return {
        ...base,
        venue: e.venue,
        outcome: 'info',
        message: `routed to ${e.venue}${best == null ? '' : ` (cost ${best.toFixed(2)} bps)`}: ${e.reason}`,
      };
    }
    case 'OrderSubmitted':
      return {
        ...base,
        venue: e.venue,
        outcome: 'info',
        message: `sent to ${e.venue} as ${e.client_order_id}`,
      };
    case 'OrderAccepted':
      return {
        ...base,
        outcome: 'info',
        message: `accepted by the venue (venue order id ${e.venue_order_id})`,
      };
    case 'OrderRejected':
      return { ...base, outcome: 'rejected', message: `rejected: ${e.reason}` };
    case 'OrderFilled':
      return {
        ...base,
        venue: e.fill.venue,
        outcome: 'executed',
        message: `filled ${e.fill.quantity} @ ${e.fill.price} (${e.fill.liquidity}, fee ${e.fill.fee} ${e.fill.fee_currency})`,
      };
    case 'OrderCancelRequested':
      return { ...base, outcome: 'info', message: `cancel requested: ${e.reason}` };
    case 'OrderCanceled':
      return { ...base, outcome: 'canceled', message: `canceled: ${e.reason}` };
    case 'OrderExpired':
      return { ...base, outcome: 'canceled', message: `expired: ${e.reason}` };
  }
}

async function mapLimited<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function inWindow(ts: Nanos, q: EventQuery): boolean {
  return (q.from === undefined || ts >= q.from) && (q.to === undefined || ts < q.to);
}

function matches(e: ExecutionEventEntry, q: EventQuery): boolean {
  if (q.category !== undefined && !q.category.includes(e.category)) return false;
  if (q.outcome !== undefined && !q.outcome.includes(e.outcome)) return false;
  if (q.venue !== undefined && e.venue !== q.venue) return false;
  if (q.instrument_key !== undefined && e.instrument_key !== q.instrument_key) return false;
  if (q.operation_id !== undefined && e.operation_id !== q.operation_id) return false;
  return inWindow(e.ts_event, q);
}

export function createEventFeed(deps: EventFeedDeps): (q: EventQuery) => Promise<ExecutionEventEntry[]> {
  return async (q) => {
    const wants = (c: EventCategory) => q.category === undefined || q.category.includes(c);
    const out: ExecutionEventEntry[] = [];
    if (wants('order')) {
      // Events of an order happen at or after its creation: orders created before `to`.
      const orders = await deps.orders.query({
        venue: q.venue,
        instrument_key: q.instrument_key,
        to: q.to,
        limit: MAX_ORDERS_PER_QUERY,
      });
      const picked =
        q.operation_id === undefined ? orders : orders.filter((o) => o.operation_id === q.operation_id);
      const timelines = await mapLimited(picked, 16, (o) => deps.orders.timeline(o.operation_id));
      picked.forEach((o, i) => {
        (timelines[i] ?? []).forEach((e, j) => {
          out.push(orderEntry(o, e, j));
        });
      });
    }
    if (wants('trading_state') && deps.tradingState !== undefined) {
      for (const h of await deps.tradingState.history({ limit: 200 })) {
        out.push({
          id: `ts:${scopeLabel(h.scope)}#${h.version}`,
          ts_event: h.ts_updated,
          time: nanosToIso(h.ts_updated),
          category: 'trading_state',
          type: 'TradingStateChanged',
          outcome: h.state === 'ACTIVE' ? 'info' : 'warning',
          venue: null,
          instrument_key: null,
          operation_id: null,
          strategy_id: h.scope.kind === 'strategy' ? h.scope.strategy_id : null,
          actor: h.updated_by,
          message: `${scopeLabel(h.scope)}: ${h.previous ?? '(none)'} → ${h.state}: ${h.reason}`,
        });
      }
    }
    if (wants('venue') && deps.diagnostics !== undefined) {
      for (const d of deps.diagnostics.list()) {
        out.push({
          id: `venue:${d.seq}`,
          ts_event: d.ts_event,
          time: nanosToIso(d.ts_event),
          category: 'venue',
          type: `venue_diagnostic.${d.diagnostic}`,
          outcome: d.warning ? 'warning' : 'info',
          venue: d.venue,
          instrument_key: null,
          operation_id: null,
          strategy_id: null,
          actor: null,
          message: d.message,
        });
      }
    }
    return out
      .filter((e) => matches(e, q))
      .sort((a, b) => (a.ts_event > b.ts_event ? -1 : a.ts_event < b.ts_event ? 1 : a.id < b.id ? 1 : -1))
      .slice(0, q.limit);
  };
}

/**
 * Writes the execution event feed (shared/ports/event-feed-store.ts) from what the platform
 * already publishes and stores, so `GET /api/events` reads one append-only log instead of
 * re-reading order timelines:
 *
 * - `exec.orders` (subscription `venue-edge.exec.orders`): an `order_update` appends the order's
 *   timeline events not yet written (the order store is the source; entries `<operation_id>#<i>`);
 *   a `venue_diagnostic`, a reconciliation difference or unapplied report, and a `drift_alert`
 *   append one entry each;
 * - the trading-state history (the store's audit trail), re-read every `tradingStatePollMs`;
 * - at start, the timelines of the newest orders (`backfillOrders`): what happened while no
 *   writer ran (a restart, or orders stored before the feed existed).
 *
 * Every entry id is the same whoever builds it and the feed keeps an id once, so a redelivered
 * message, a second instance or the backfill never duplicate an entry. A feed or store failure
 * nacks the message (redelivered); a message that is not JSON or not one of ours is acked and
 * left out.
 */

import { ExecReconciliationMessageSchema } from '../../../shared/app/execution-messages.ts';
import type { ExecutionLog } from '../../../shared/app/execution-recorder.ts';
import { SILENT_EXECUTION_LOG } from '../../../shared/app/execution-recorder.ts';
import { ORDER_UPDATES_TOPIC, OrderUpdateMessageSchema } from '../../../shared/app/messages.ts';
import { VenueDiagnosticMessageSchema } from '../../../shared/app/venue-edge-messages.ts';
import { DriftAlertMessageSchema } from '../../../shared/drift/messages.ts';
import type { EventBus, HandlerOutcome, Subscription } from '../../../shared/ports/event-bus.ts';
import type { EventFeedStore, ExecutionEventEntry } from '../../../shared/ports/event-feed-store.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import type { TradingStateStore } from '../../../shared/ports/trading-state-store.ts';
import { ReconciliationDifferenceMessageSchema } from '../../../shared/recon/messages.ts';
import {
  diagnosticEntry,
  differenceEntry,
  driftEntry,
  orderEntries,
  tradingStateEntry,
  unappliedReportEntry,
} from './feed.ts';

/** `<service>.<topic>`, as Terraform declares it (terraform/modules/catalog). */
export const EVENT_FEED_SUBSCRIPTION = 'venue-edge.exec.orders';

export interface EventFeedWriterDeps {
  feed: Pick<EventFeedStore, 'append'>;
  bus: Pick<EventBus, 'subscribe'>;
  orders: Pick<OrderStore, 'get' | 'timeline' | 'query'>;
  tradingState?: Pick<TradingStateStore, 'history'> | undefined;
  log?: ExecutionLog | undefined;
  /** Subscription on `exec.orders` (default {@link EVENT_FEED_SUBSCRIPTION}). */
  subscription?: string | undefined;
  /** The newest trading-state changes re-read this often (default 2000 ms; 0 = only at start and on `syncTradingState()`). */
  tradingStatePollMs?: number | undefined;
  /** Newest orders whose timelines are written at start (default 200; 0 = none). */
  backfillOrders?: number | undefined;
}

export interface EventFeedWriter {
  /** Handle one `exec.orders` payload (what the subscription does with each message). */
  handle(payload: unknown): Promise<void>;
  /** Write the trading-state changes not yet written. */
  syncTradingState(): Promise<void>;
  /** Write the timelines of the newest `n` orders (idempotent). */
  backfill(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Operations whose timeline length written is remembered (beyond it an update re-reads from 0: still once, by id). */
const REMEMBER_ORDERS = 10_000;

export async function startEventFeedWriter(deps: EventFeedWriterDeps): Promise<EventFeedWriter> {
  const log = deps.log ?? SILENT_EXECUTION_LOG;
  /** Timeline events written per operation (a hint that saves writes; ids keep it exact). */
  const written = new Map<string, number>();
  const tradingWritten = new Set<string>();
  let closed = false;

  const remember = (op: string, n: number) => {
    written.delete(op);
    written.set(op, n);
    if (written.size > REMEMBER_ORDERS) {
      const oldest = written.keys().next();
      if (!oldest.done) written.delete(oldest.value);
    }
  };

  async function writeOrder(op: string): Promise<void> {
    const [order, timeline] = await Promise.all([deps.orders.get(op), deps.orders.timeline(op)]);
    if (order === null) return;
    const from = Math.min(written.get(op) ?? 0, timeline.length);
    const entries = orderEntries(order, timeline, from);
    if (entries.length > 0) await deps.feed.append(entries);
    remember(op, timeline.length);
  }

  function entryOf(payload: unknown): ExecutionEventEntry | null {
    const type = (payload as { type?: unknown } | null)?.type;
    switch (type) {
      case 'venue_diagnostic': {
        const m = VenueDiagnosticMessageSchema.safeParse(payload);
        return m.success ? diagnosticEntry(m.data) : null;
      }
      case 'reconciliation': {
        const diff = ReconciliationDifferenceMessageSchema.safeParse(payload);
        if (diff.success) return differenceEntry(diff.data);
        const report = ExecReconciliationMessageSchema.safeParse(payload);
        return report.success ? unappliedReportEntry(report.data) : null;
      }
      case 'drift_alert': {
        const m = DriftAlertMessageSchema.safeParse(payload);
        return m.success ? driftEntry(m.data) : null;
      }
      default:
        return null;
    }
  }

  const writer: EventFeedWriter = {
    async handle(payload) {
      if ((payload as { type?: unknown } | null)?.type === 'order_update') {
        const m = OrderUpdateMessageSchema.safeParse(payload);
        if (m.success) await writeOrder(m.data.operation_id);
        return;
      }
      const entry = entryOf(payload);
      if (entry !== null) await deps.feed.append([entry]);
    },
    async syncTradingState() {
      const store = deps.tradingState;
      if (store === undefined) return;
      // All of the recent history once, then the newest few per poll (a change is rare).
      const limit = tradingWritten.size === 0 ? 200 : 10;
      const fresh = (await store.history({ limit }))
        .map(tradingStateEntry)
        .filter((e) => !tradingWritten.has(e.id));
      if (fresh.length === 0) return;
      await deps.feed.append(fresh);
      for (const e of fresh) tradingWritten.add(e.id);
    },
    async backfill(n) {
      if (n <= 0) return;
      const orders = await deps.orders.query({ limit: n });
      for (const o of orders) await writeOrder(o.operation_id);
    },
    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await subscription.close();
    },
  };

  const subscription: Subscription = await deps.bus.subscribe(
    ORDER_UPDATES_TOPIC,
    deps.subscription ?? EVENT_FEED_SUBSCRIPTION,
    async (msg): Promise<HandlerOutcome> => {
      let payload: unknown;
      try {
        payload = JSON.parse(new TextDecoder().decode(msg.data));
      } catch {
        return { kind: 'ack' }; // not JSON: not an event of ours
      }
      try {
        await writer.handle(payload);
        return { kind: 'ack' };
      } catch (err) {
        log.warn(`event feed: could not write a message (redelivered): ${errorText(err)}`, {
          message_id: msg.id,
        });
        return { kind: 'nack' };
      }
    },
  );

  const pollMs = deps.tradingStatePollMs ?? 2_000;
  const sync = () => {
    if (closed) return;
    writer.syncTradingState().catch((err: unknown) => {
      log.warn(`event feed: trading-state history not written: ${errorText(err)}`);
    });
  };
  const timer = pollMs > 0 ? setInterval(sync, pollMs) : undefined;
  timer?.unref?.();
  sync();
  void writer.backfill(deps.backfillOrders ?? 200).catch((err: unknown) => {
    log.warn(`event feed: backfill of the newest orders failed: ${errorText(err)}`);
  });
  return writer;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

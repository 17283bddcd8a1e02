/**
 * The execution events as the feed stores them (shared/ports/event-feed-store.ts): one entry per
 * order event of the order book of record (received, risk decision, routing, venue ack, fills,
 * cancels, rejections), per trading-state change (who, when, why), and per venue diagnostic,
 * reconciliation difference and drift alert the venue edge publishes on `exec.orders`. Each entry
 * is classified (`outcome`): executed, denied, rejected, canceled, info or warning, and has an id
 * that is the same whoever builds it, so the feed stores it once.
 *
 * Pure mappings; ./writer.ts writes them, `GET /api/events` (./index.ts) reads the feed.
 */

import type { ExecReconciliationMessage } from '../../../shared/app/execution-messages.ts';
import type { VenueDiagnosticMessage } from '../../../shared/app/venue-edge-messages.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import { nanosToIso } from '../../../shared/domain/time.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import type { DriftAlertMessage } from '../../../shared/drift/messages.ts';
import type { ExecutionEventEntry } from '../../../shared/ports/event-feed-store.ts';
import type { TradingStateHistoryEntry } from '../../../shared/ports/trading-state-store.ts';
import { scopeLabel } from '../../../shared/ports/trading-state-store.ts';
import type { ReconciliationDifferenceMessage } from '../../../shared/recon/messages.ts';

export {
  EVENT_CATEGORIES,
  EVENT_OUTCOMES,
  type EventCategory,
  type EventFeedPage,
  type EventFeedQuery as EventQuery,
  type EventOutcome,
  type ExecutionEventEntry,
} from '../../../shared/ports/event-feed-store.ts';

/** FNV-1a (32 bit, hex) of `text`: tells apart two diagnostics of one kind at the same instant. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Diagnostics that are routine (not warnings) in the event stream. */
const ROUTINE = new Set(['clock_offset', 'polling']);

export function orderEntry(order: OrderRecord, e: OrderEvent, index: number): ExecutionEventEntry {
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

/** A trading-state change (`ts:<scope>#<version>`). */
export function tradingStateEntry(h: TradingStateHistoryEntry): ExecutionEventEntry {
  return {
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
  };
}

function venueEntry(
  id: string,
  ts: bigint,
  type: string,
  warning: boolean,
  fields: Pick<ExecutionEventEntry, 'venue' | 'message'> &
    Partial<Pick<ExecutionEventEntry, 'instrument_key' | 'operation_id' | 'strategy_id'>>,
): ExecutionEventEntry {
  return {
    id,
    ts_event: ts,
    time: nanosToIso(ts),
    category: 'venue',
    type,
    outcome: warning ? 'warning' : 'info',
    instrument_key: null,
    operation_id: null,
    strategy_id: null,
    actor: null,
    ...fields,
  };
}

/** A venue diagnostic (stream up/down, breaker, retries, gap fills, ...); routine ones are `info`. */
export function diagnosticEntry(m: VenueDiagnosticMessage): ExecutionEventEntry {
  const d = m.detail;
  const routine =
    ROUTINE.has(m.diagnostic) ||
    (m.diagnostic === 'stream' && d.state === 'up') ||
    (m.diagnostic === 'gap_fill' && d.ok === true) ||
    (m.diagnostic === 'breaker' && d.state === 'closed');
  const ts = BigInt(m.ts_event);
  return venueEntry(
    `venue:${m.venue}:${m.diagnostic}:${m.ts_event}:${fnv1a(m.message)}`,
    ts,
    `venue_diagnostic.${m.diagnostic}`,
    !routine,
    { venue: m.venue, message: m.message },
  );
}

/** A difference the reconciler found (warning) or saw resolved (info). */
export function differenceEntry(m: ReconciliationDifferenceMessage): ExecutionEventEntry {
  const correction = m.correction === null ? '' : ` (${m.correction.kind}: ${m.correction.outcome})`;
  return venueEntry(
    `recon:${m.venue}:${m.run_id}:${m.key}:${m.state}`,
    BigInt(m.ts_event),
    `reconciliation.${m.kind}`,
    m.state === 'found',
    {
      venue: m.venue,
      instrument_key: m.instrument_key,
      operation_id: m.operation_id,
      message: `${m.state === 'found' ? '' : 'resolved: '}${m.message}${correction}`,
    },
  );
}

/** A venue report the order machine did not apply, left to reconciliation. */
export function unappliedReportEntry(m: ExecReconciliationMessage): ExecutionEventEntry {
  return venueEntry(
    `recon:${m.operation_id}:${m.kind}:${m.command}:${m.ts_event}`,
    BigInt(m.ts_event),
    `reconciliation.${m.kind}`,
    true,
    {
      venue: m.venue,
      instrument_key: m.instrument_key,
      operation_id: m.operation_id,
      message: `${m.command} not applied (${m.code}): ${m.reason}; left to reconciliation`,
    },
  );
}

/** A fill beyond the drift threshold. */
export function driftEntry(m: DriftAlertMessage): ExecutionEventEntry {
  const persistent = m.persistent ? `; persistent: ${m.persistence_reason}` : '';
  const set = m.trading_state_set === null ? '' : `; trading state set ${m.trading_state_set}`;
  return venueEntry(`drift:${m.operation_id}:${m.fill_id}`, BigInt(m.ts_event), 'drift_alert', true, {
    venue: m.venue,
    instrument_key: m.instrument_key,
    operation_id: m.operation_id,
    strategy_id: m.strategy_id,
    message: `fill drift ${m.drift_bps} bps beyond ${m.threshold_bps} bps: ${m.side} ${m.fill_quantity} @ ${m.fill_price}, mid ${m.mid_at_arrival}${persistent}${set}`,
  });
}

/** Every event of `order`'s timeline, from `from` on. */
export function orderEntries(
  order: OrderRecord,
  timeline: readonly OrderEvent[],
  from = 0,
): ExecutionEventEntry[] {
  const out: ExecutionEventEntry[] = [];
  for (let i = from; i < timeline.length; i++) out.push(orderEntry(order, timeline[i] as OrderEvent, i));
  return out;
}

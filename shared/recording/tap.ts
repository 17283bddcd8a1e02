/**
 * What the venue edge hands the recorder, built from what it consumed (pure): the market event of
 * a venue event, the journal entry of a venue report, of a routed parent, of a child sent, of a
 * trading-state change. The edge calls these at its entry points (stateful/edge/session.ts,
 * stateful/edge/edge.ts) with its own clock's `now` as `ts_init`.
 */
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { OrderRecord, TradingState } from '../domain/types.ts';
import type { SessionGate } from '../execution/session.ts';
import type { VenueEvent, VenueOrderRequest } from '../ports/venue.ts';
import type { JournalInput, JournalRecord, MarketEvent, RecordingSink } from './format.ts';

/** JSON with bigints as digit strings (venue payloads carry bigint `ts_event`). */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
}

/** The market event of a venue's public feed (book snapshot or public trade), or null. */
export function marketEventOf(event: VenueEvent, tsInit: Nanos): MarketEvent | null {
  if (event.kind === 'book') {
    const b = event.book;
    return {
      kind: 'book',
      instrument_key: b.instrument_key,
      ts_event: b.ts_event,
      ts_init: tsInit,
      bids: b.bids.map((l) => [Number(l.price), Number(l.size)] as const),
      asks: b.asks.map((l) => [Number(l.price), Number(l.size)] as const),
    };
  }
  if (event.kind === 'public_trade') {
    return {
      kind: 'trade',
      instrument_key: event.instrument_key,
      ts_event: event.ts_event,
      ts_init: tsInit,
      price: Number(event.price),
      size: Number(event.size),
      side: event.side,
      trade_id: null,
    };
  }
  return null;
}

/** The journal entry of a venue's order or trade report, or null for other events. */
export function venueReportEntry(venue: string, event: VenueEvent, tsInit: Nanos): JournalInput | null {
  if (event.kind === 'order') {
    return {
      type: 'venue_report',
      ts_init: tsInit,
      venue,
      report: { kind: 'order', order: jsonSafe(event.order) as never },
    };
  }
  if (event.kind === 'trade') {
    return {
      type: 'venue_report',
      ts_init: tsInit,
      venue,
      report: { kind: 'trade', trade: jsonSafe(event.trade) as never },
    };
  }
  return null;
}

/** Record one venue event: market data as a market event, reports as journal entries. */
export function recordVenueEvent(sink: RecordingSink, venue: string, event: VenueEvent, tsInit: Nanos): void {
  const market = marketEventOf(event, tsInit);
  if (market !== null) {
    sink.marketEvent(market);
    return;
  }
  const entry = venueReportEntry(venue, event, tsInit);
  if (entry !== null) sink.record(entry);
}

/** A routed parent as the edge took it, on the venue's own instrument id (as its market data comes). */
export function parentRoutedEntry(
  order: OrderRecord,
  venue: string,
  venueInstrumentKey: string,
  params: Record<string, unknown>,
  arrivalMid: DecimalString | null,
  tsInit: Nanos,
): JournalInput {
  return {
    type: 'parent_routed',
    ts_init: tsInit,
    arrival_mid: arrivalMid,
    parent: {
      order_id: order.order_id,
      operation_id: order.operation_id,
      strategy_id: order.strategy_id,
      instrument_key: venueInstrumentKey,
      venue,
      side: order.side,
      order_type: order.order_type,
      time_in_force: order.time_in_force,
      quantity: order.quantity,
      price: order.price,
      exec_algorithm: order.exec_algorithm,
      exec_algorithm_params: jsonSafe(params) as Record<string, unknown>,
    },
  };
}

/** A child (or a direct order) sent to the venue. */
export function childSubmittedEntry(
  parentOrderId: string,
  orderId: string,
  request: VenueOrderRequest,
  midAtArrival: DecimalString | null,
  tsInit: Nanos,
): JournalInput {
  return {
    type: 'child_submitted',
    ts_init: tsInit,
    parent_order_id: parentOrderId,
    order_id: orderId,
    request: { ...request },
    mid_at_arrival: midAtArrival,
  };
}

export function tradingStateEntry(
  strategyId: string | null,
  state: TradingState,
  reason: string | null,
  tsInit: Nanos,
): JournalInput {
  return { type: 'trading_state_changed', ts_init: tsInit, strategy_id: strategyId, state, reason };
}

/** The session gate the edge stepped an instrument's parents with (see `TradingScheduleRecord`). */
export function tradingScheduleEntry(
  venue: string,
  instrumentKey: string,
  gate: SessionGate,
  tsInit: Nanos,
): JournalInput {
  const s = gate.schedule;
  return {
    type: 'trading_schedule',
    ts_init: tsInit,
    venue,
    instrument_key: instrumentKey,
    policy: gate.policy,
    schedule:
      s === null
        ? null
        : {
            sessions: s.sessions.map((x) => ({ start: String(x.start), end: String(x.end) })),
            horizon: String(s.horizon),
          },
  };
}

/** The session gate of a `trading_schedule` record (the inverse of `tradingScheduleEntry`). */
export function sessionGateOf(r: Extract<JournalRecord, { type: 'trading_schedule' }>): SessionGate {
  const s = r.schedule;
  return {
    policy: r.policy,
    schedule:
      s === null
        ? null
        : {
            sessions: s.sessions.map((x) => ({ start: BigInt(x.start), end: BigInt(x.end) })),
            horizon: BigInt(s.horizon),
          },
  };
}

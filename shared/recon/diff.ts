/**
 * The reconciliation decider (pure): our books against a venue's → differences and the
 * corrections that settle them. The shell (stateful/edge/reconcile) queries the venue and the
 * stores, calls {@link diffVenueState}, applies the corrections through the ExecutionRecorder and
 * records every difference. See docs/reconciliation.md.
 *
 * Rules, in the order they are checked:
 *
 * 1. **Trades → fills.** Each venue trade is matched to our order (client order id, then our order
 *    id, then an algorithm child id `<order_id>-S3` → its parent, then the venue order id). A trade
 *    whose fill (`fill_id` = {@link venueFillId}) is not stored is a `missing_fill` and an
 *    `apply_fill` correction; a trade of an order we do not know is a `missing_fill` we cannot
 *    correct (somebody else traded on the account).
 * 2. **Venue open orders.** One we do not know → `missing_order` (venue_only), reported only. One
 *    our books consider finished → `status_mismatch`, and `cancel_at_venue` when asked. One whose
 *    ack we missed → `accept`. Filled quantities that disagree → `status_mismatch` (reported: the
 *    order is still working, its fills may still come).
 * 3. **Our working orders not open at the venue** (judged only with the venue's answer for it, and
 *    not within `graceNs` of their last change): unknown to the venue → `missing_order`
 *    (ours_only) and REJECTED (never acknowledged, nothing filled) or CANCELED; ended there →
 *    `status_mismatch` and its end (CANCELED / EXPIRED / REJECTED) after its missing fills. When
 *    the venue reports more filled than the trades in the look-back explain, a `synthetic` fill of
 *    the shortfall at the venue's average price completes it (id `recon-<client id>-<filled>`).
 * 4. **Positions** (derivatives; spot holdings are balances) and **balances** compare our values,
 *    moved by the pending fill corrections, with the venue's within the tolerance.
 */

import { fillOfTrade } from '../app/venue-edge-rules.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { canonicalInstrumentId, parseInstrumentId } from '../domain/instrument-id.ts';
import { isTerminal, WORKING_STATUSES } from '../domain/order-machine.ts';
import type { Nanos } from '../domain/time.ts';
import type { Fill, OrderRecord } from '../domain/types.ts';
import type { VenueOrderState, VenueTrade } from '../ports/venue.ts';
import {
  type Correction,
  type Difference,
  type DiffOptions,
  EXACT,
  type OurState,
  type Tolerance,
  VENUE_OPEN_STATUSES,
  type VenueDiff,
  type VenueSnapshot,
} from './types.ts';

export const DEFAULT_GRACE_NS: Nanos = 30_000_000_000n;

// ---------------------------------------------------------------------------------------------
// Fill ids and the fill of a venue trade
// ---------------------------------------------------------------------------------------------

/**
 * The fill id of a venue trade: `<client order id at the venue>-T<trade id>` (the venue edge's
 * rule, `fillOfTrade` of shared/app/venue-edge-rules.ts; for an algorithm child the child's client
 * id). Trade ids are unique per venue and instrument and the order store keeps fill ids per order,
 * so the id is unique where it has to be. EVERY path that records a venue trade (the private
 * stream, REST polling, reconciliation) uses this rule, so the same execution is stored once.
 */
export function venueFillId(trade: VenueTrade, clientOrderId: string): string {
  return fillOfTrade(
    trade,
    { operation_id: '-', order_id: '-', instrument_key: '-', venue: '-' },
    clientOrderId,
  ).fill_id;
}

/** Prefix of the fill id of a synthetic fill (an execution older than the look-back). */
export const SYNTHETIC_FILL_PREFIX = 'recon-';

/**
 * The domain Fill of a venue trade of `order` (the order's own instrument key, ours). `clientOrderId`
 * is the order's client id at the venue, or the algorithm child's that traded.
 */
export function fillFromVenueTrade(
  trade: VenueTrade,
  order: Pick<OrderRecord, 'order_id' | 'operation_id' | 'instrument_key'>,
  venue: string,
  clientOrderId: string,
): Fill {
  return fillOfTrade(
    trade,
    {
      operation_id: order.operation_id,
      order_id: order.order_id,
      instrument_key: order.instrument_key,
      venue,
    },
    clientOrderId,
  );
}

// ---------------------------------------------------------------------------------------------
// Matching venue orders and trades to ours
// ---------------------------------------------------------------------------------------------

const CHILD_ID = /^(.+)-[A-Z]\d+$/;

/** Our orders by the ids a venue reports: client order id, our order id (and its children), venue order id. */
export class OrderIndex {
  private readonly byClient = new Map<string, OrderRecord>();
  private readonly byOrderId = new Map<string, OrderRecord>();
  private readonly byVenueId = new Map<string, OrderRecord>();

  constructor(orders: readonly OrderRecord[]) {
    for (const o of orders) {
      if (o.client_order_id !== null) this.byClient.set(o.client_order_id, o);
      this.byOrderId.set(o.order_id, o);
      if (o.venue_order_id !== null) this.byVenueId.set(o.venue_order_id, o);
    }
  }

  /**
   * Learn the venue order ids of the venue's order states that match one of our orders by client
   * id (an order whose ack we missed has none in our books; executions may carry only that id).
   */
  learn(states: Iterable<VenueOrderState>): this {
    for (const st of states) {
      if (st.venue_order_id === '' || this.byVenueId.has(st.venue_order_id)) continue;
      const m = this.match(st.client_order_id, null);
      if (m !== undefined && !m.child) this.byVenueId.set(st.venue_order_id, m.order);
    }
    return this;
  }

  /** The order a venue report belongs to; `child` when the client id is one of its algorithm's children. */
  match(
    clientOrderId: string | null,
    venueOrderId: string | null,
  ): { order: OrderRecord; child: boolean } | undefined {
    if (clientOrderId !== null && clientOrderId !== '') {
      const own = this.byClient.get(clientOrderId) ?? this.byOrderId.get(clientOrderId);
      if (own !== undefined) return { order: own, child: false };
      const parent = CHILD_ID.exec(clientOrderId)?.[1];
      const p = parent === undefined ? undefined : this.byOrderId.get(parent);
      if (p !== undefined) return { order: p, child: true };
    }
    if (venueOrderId !== null && venueOrderId !== '') {
      const v = this.byVenueId.get(venueOrderId);
      if (v !== undefined) return { order: v, child: false };
    }
    return undefined;
  }
}

/** Our orders indexed by every id the venue snapshot may report them under. */
export function indexOf(
  orders: readonly OrderRecord[],
  venue: Pick<VenueSnapshot, 'openOrders' | 'lookups'>,
): OrderIndex {
  const states: VenueOrderState[] = [...venue.openOrders];
  for (const l of venue.lookups) if (l.state !== null) states.push(l.state);
  return new OrderIndex(orders).learn(states);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** True when a and b are equal within the tolerance. */
export function withinTolerance(a: DecimalString, b: DecimalString, tol: Tolerance = EXACT): boolean {
  const x = toDec(a);
  const y = toDec(b);
  const diff = x.minus(y).abs();
  const scale = Dec.max(x.abs(), y.abs());
  const allowed = Dec.max(toDec(tol.absolute), toDec(tol.relative).times(scale));
  return diff.lte(allowed);
}

/** The canonical spelling of a venue instrument key (keys that do not parse are kept as they are). */
export function canonicalKey(key: string): string {
  try {
    return canonicalInstrumentId(key);
  } catch {
    return key;
  }
}

/** `key` as listed on `venue` (its VENUE part replaced); keys that do not parse are kept as they are. */
export function onVenue(key: string, venue: string): string {
  const p = parseInstrumentId(key);
  if (!p.success) return key;
  return canonicalInstrumentId({ ...p.data, venue });
}

function isSpot(key: string): boolean {
  const p = parseInstrumentId(key);
  return p.success && p.data.instrument_type === 'SPOT_PAIR';
}

function fillKey(operationId: string, fillId: string): string {
  return `${operationId}\u0000${fillId}`;
}

function quoteOf(key: string): string {
  const p = parseInstrumentId(key);
  return p.success ? p.data.quote : '';
}

function clientIdOf(order: OrderRecord): string {
  return order.client_order_id ?? order.order_id;
}

const CORRECTION_ORDER: Record<Correction['kind'], number> = {
  accept: 0,
  apply_fill: 1,
  set_status: 2,
  cancel_at_venue: 3,
};

function compareCorrections(a: Correction, b: Correction): number {
  const k = CORRECTION_ORDER[a.kind] - CORRECTION_ORDER[b.kind];
  if (k !== 0) return k;
  if (a.kind === 'apply_fill' && b.kind === 'apply_fill') {
    if (a.fill.ts_event !== b.fill.ts_event) return a.fill.ts_event < b.fill.ts_event ? -1 : 1;
    // Synthetic fills complete an order after its real ones.
    if (a.synthetic !== b.synthetic) return a.synthetic ? 1 : -1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The diff
// ---------------------------------------------------------------------------------------------

/** Compare our books with a venue snapshot: the differences and the corrections that settle them. */
export function diffVenueState(ours: OurState, venue: VenueSnapshot, opts: DiffOptions): VenueDiff {
  const v = opts.venue;
  const grace = opts.graceNs ?? DEFAULT_GRACE_NS;
  const index = indexOf(ours.orders, venue);
  const stored = new Set(ours.fills.map((f) => fillKey(f.operation_id, f.fill_id)));
  const differences: Difference[] = [];
  const corrections: Correction[] = [];
  /** Quantity the pending apply_fill corrections add, per operation. */
  const pending = new Map<string, Dec>();
  const pendingFills: Fill[] = [];
  /** Keys of the differences whose fill corrections are pending, per operation. */
  const pendingKeys = new Map<string, string[]>();
  const addPending = (fill: Fill, key: string) => {
    pending.set(fill.operation_id, (pending.get(fill.operation_id) ?? new Dec(0)).plus(fill.quantity));
    pendingFills.push(fill);
    pendingKeys.set(fill.operation_id, [...(pendingKeys.get(fill.operation_id) ?? []), key]);
  };
  const filledWithPending = (o: OrderRecord) =>
    toDec(o.filled_quantity).plus(pending.get(o.operation_id) ?? new Dec(0));

  // 1. Venue trades → fills.
  const trades = [...venue.trades].sort((a, b) =>
    a.ts_event !== b.ts_event ? (a.ts_event < b.ts_event ? -1 : 1) : a.trade_id < b.trade_id ? -1 : 1,
  );
  const seenTrades = new Set<string>();
  for (const t of trades) {
    const instrument = canonicalKey(t.instrument_key);
    const tradeKey = `${instrument}|${t.trade_id}`;
    if (seenTrades.has(tradeKey)) continue;
    seenTrades.add(tradeKey);
    const m = index.match(t.client_order_id, t.venue_order_id);
    const detail = {
      trade_id: t.trade_id,
      venue_order_id: t.venue_order_id,
      side: t.side,
      quantity: t.quantity,
      price: t.price,
      fee: t.fee,
      fee_currency: t.fee_currency,
      ts_event: t.ts_event.toString(),
    };
    const key = `missing_fill|${tradeKey}`;
    if (m === undefined) {
      differences.push({
        kind: 'missing_fill',
        key,
        venue: v,
        instrument_key: instrument,
        operation_id: null,
        client_order_id: t.client_order_id,
        ours: null,
        theirs: t.quantity,
        message: `${v} reports trade ${t.trade_id} (${t.side} ${t.quantity} @ ${t.price}) of an order we do not know (client id ${t.client_order_id ?? 'none'})`,
        detail,
      });
      continue;
    }
    const client = m.child && t.client_order_id !== null ? t.client_order_id : clientIdOf(m.order);
    const fill = fillFromVenueTrade(t, m.order, v, client);
    if (stored.has(fillKey(m.order.operation_id, fill.fill_id))) continue;
    differences.push({
      kind: 'missing_fill',
      key,
      venue: v,
      instrument_key: instrument,
      operation_id: m.order.operation_id,
      client_order_id: t.client_order_id,
      ours: null,
      theirs: t.quantity,
      message: `fill ${fill.fill_id} of ${m.order.operation_id} (${t.side} ${t.quantity} @ ${t.price}) is at ${v} but not in our books`,
      detail,
    });
    corrections.push({
      kind: 'apply_fill',
      difference: key,
      operation_id: m.order.operation_id,
      fill,
      synthetic: false,
    });
    addPending(fill, key);
  }

  // 2. Orders open at the venue.
  const openAtVenue = new Set<string>();
  for (const vo of venue.openOrders) {
    const m = index.match(vo.client_order_id, vo.venue_order_id);
    const instrument = canonicalKey(vo.instrument_key);
    if (m === undefined) {
      differences.push({
        kind: 'missing_order',
        key: `missing_order|venue|${vo.client_order_id || vo.venue_order_id}`,
        venue: v,
        instrument_key: instrument,
        operation_id: null,
        client_order_id: vo.client_order_id,
        missing: 'venue_only',
        ours: null,
        theirs: vo.status,
        message: `${v} has an open order we do not know: ${vo.side} ${vo.quantity} ${instrument} (client id ${vo.client_order_id}, venue id ${vo.venue_order_id})`,
        detail: orderDetail(vo),
      });
      continue;
    }
    const o = m.order;
    if (m.child) {
      // A working child of one of our algorithms: the parent is the OMS record; nothing to compare.
      if (isTerminal(o.status)) strayOrder(o, vo, instrument, true);
      continue;
    }
    openAtVenue.add(o.operation_id);
    if (isTerminal(o.status)) {
      strayOrder(o, vo, instrument, false);
      continue;
    }
    if (o.status === 'PENDING') {
      differences.push({
        kind: 'status_mismatch',
        key: `status_mismatch|${o.operation_id}|status`,
        venue: v,
        instrument_key: instrument,
        operation_id: o.operation_id,
        client_order_id: vo.client_order_id,
        ours: o.status,
        theirs: vo.status,
        message: `${o.operation_id} is open at ${v} but our books never recorded sending it (PENDING)`,
        detail: orderDetail(vo),
      });
      continue;
    }
    compareOpen(o, vo, instrument);
  }

  // 3. Our working orders that the venue does not list as open.
  const lookups = new Map(venue.lookups.map((l) => [l.client_order_id, l.state]));
  for (const o of ours.orders) {
    if (!WORKING_STATUSES.has(o.status) || o.exec_algorithm !== 'NORMAL') continue;
    if (openAtVenue.has(o.operation_id)) continue;
    const client = clientIdOf(o);
    if (!lookups.has(client)) continue; // not asked: not judged
    if (opts.now - o.ts_updated < grace) continue; // in flight
    const state = lookups.get(client) ?? null;
    const instrument = onVenue(o.instrument_key, v);
    if (state === null) {
      missingAtVenue(o, client, instrument);
    } else if (VENUE_OPEN_STATUSES.has(state.status)) {
      compareOpen(o, state, instrument);
    } else {
      endedAtVenue(o, state, instrument);
    }
  }

  // 4. Positions (derivatives), our side moved by the pending fills.
  if (ours.positions !== null && venue.positions !== null) {
    const mine = new Map<string, Dec>();
    const add = (m: Map<string, Dec>, key: string, q: Dec) => m.set(key, (m.get(key) ?? new Dec(0)).plus(q));
    for (const p of ours.positions) {
      if (!isSpot(p.instrument_key)) add(mine, canonicalKey(p.instrument_key), toDec(p.quantity));
    }
    for (const f of pendingFills) {
      const key = onVenue(f.instrument_key, v);
      if (!isSpot(key)) add(mine, key, f.side === 'BUY' ? toDec(f.quantity) : toDec(f.quantity).negated());
    }
    const theirs = new Map<string, Dec>();
    for (const p of venue.positions) {
      if (!isSpot(p.instrument_key)) add(theirs, canonicalKey(p.instrument_key), toDec(p.quantity));
    }
    const keys = [...new Set([...mine.keys(), ...theirs.keys()])].sort();
    for (const key of keys) {
      const a = fmt(mine.get(key) ?? new Dec(0));
      const b = fmt(theirs.get(key) ?? new Dec(0));
      if (withinTolerance(a, b, opts.tolerance)) continue;
      differences.push({
        kind: 'position_mismatch',
        key: `position_mismatch|${key}`,
        venue: v,
        instrument_key: key,
        operation_id: null,
        client_order_id: null,
        ours: a,
        theirs: b,
        message: `position in ${key}: ours ${a}, ${v} ${b} (difference ${fmt(toDec(b).minus(a))})`,
        detail: { difference: fmt(toDec(b).minus(a)) },
      });
    }
  }

  // 5. Balances: what we expect, moved by the pending fills, against the venue's totals.
  if (ours.balances !== null && venue.balances !== null) {
    const expected = new Map<string, Dec>();
    for (const b of ours.balances) expected.set(b.asset, (expected.get(b.asset) ?? new Dec(0)).plus(b.total));
    for (const [asset, delta] of fillFlows(pendingFills)) {
      const cur = expected.get(asset);
      if (cur !== undefined) expected.set(asset, cur.plus(delta));
    }
    const theirs = new Map<string, Dec>();
    for (const b of venue.balances) theirs.set(b.asset, (theirs.get(b.asset) ?? new Dec(0)).plus(b.total));
    for (const asset of [...expected.keys()].sort()) {
      const a = fmt(expected.get(asset) ?? new Dec(0));
      const b = fmt(theirs.get(asset) ?? new Dec(0));
      if (withinTolerance(a, b, opts.balanceTolerance ?? opts.tolerance)) continue;
      differences.push({
        kind: 'balance_mismatch',
        key: `balance_mismatch|${asset}`,
        venue: v,
        instrument_key: null,
        operation_id: null,
        client_order_id: null,
        ours: a,
        theirs: b,
        message: `balance of ${asset}: expected ${a} from our fills, ${v} has ${b} (difference ${fmt(toDec(b).minus(a))})`,
        detail: { asset, difference: fmt(toDec(b).minus(a)) },
      });
    }
  }

  corrections.sort(compareCorrections);
  return { differences, corrections };

  // -------------------------------------------------------------------------------------------

  function strayOrder(o: OrderRecord, vo: VenueOrderState, instrument: string, child: boolean): void {
    const key = `status_mismatch|${o.operation_id}|stray|${vo.client_order_id}`;
    differences.push({
      kind: 'status_mismatch',
      key,
      venue: v,
      instrument_key: instrument,
      operation_id: o.operation_id,
      client_order_id: vo.client_order_id,
      ours: o.status,
      theirs: vo.status,
      message: `${child ? `a child (${vo.client_order_id}) of ` : ''}${o.operation_id} is ${o.status} in our books but still open at ${v}`,
      detail: orderDetail(vo),
    });
    if (opts.cancelStrayOrders === true) {
      corrections.push({
        kind: 'cancel_at_venue',
        difference: key,
        operation_id: o.operation_id,
        client_order_id: vo.client_order_id,
        instrument_key: vo.instrument_key,
      });
    }
  }

  function compareOpen(o: OrderRecord, vo: VenueOrderState, instrument: string): void {
    if (o.venue_order_id === null && vo.venue_order_id !== '') {
      const key = `status_mismatch|${o.operation_id}|ack`;
      differences.push({
        kind: 'status_mismatch',
        key,
        venue: v,
        instrument_key: instrument,
        operation_id: o.operation_id,
        client_order_id: vo.client_order_id,
        ours: o.status,
        theirs: vo.status,
        message: `${v} accepted ${o.operation_id} as ${vo.venue_order_id}; our books missed the acknowledgement`,
        detail: orderDetail(vo),
      });
      corrections.push({
        kind: 'accept',
        difference: key,
        operation_id: o.operation_id,
        venue_order_id: vo.venue_order_id,
        ts_event: vo.ts_event,
      });
    } else if (
      o.venue_order_id !== null &&
      vo.venue_order_id !== '' &&
      o.venue_order_id !== vo.venue_order_id
    ) {
      differences.push({
        kind: 'status_mismatch',
        key: `status_mismatch|${o.operation_id}|venue_order_id`,
        venue: v,
        instrument_key: instrument,
        operation_id: o.operation_id,
        client_order_id: vo.client_order_id,
        ours: o.venue_order_id,
        theirs: vo.venue_order_id,
        message: `${o.operation_id} is ${vo.venue_order_id} at ${v}, ${o.venue_order_id} in our books`,
        detail: orderDetail(vo),
      });
    }
    const ourFilled = filledWithPending(o);
    const theirFilled = toDec(vo.filled_quantity);
    if (!ourFilled.eq(theirFilled)) {
      differences.push({
        kind: 'status_mismatch',
        key: `status_mismatch|${o.operation_id}|filled`,
        venue: v,
        instrument_key: instrument,
        operation_id: o.operation_id,
        client_order_id: vo.client_order_id,
        ours: fmt(ourFilled),
        theirs: fmt(theirFilled),
        message: `${o.operation_id} is working at ${v} with ${fmt(theirFilled)} filled; our fills (with the executions found) make ${fmt(ourFilled)}`,
        detail: orderDetail(vo),
      });
    }
  }

  function missingAtVenue(o: OrderRecord, client: string, instrument: string): void {
    const key = `missing_order|ours|${o.operation_id}`;
    const neverAcked = o.venue_order_id === null && filledWithPending(o).isZero();
    const status = neverAcked ? 'REJECTED' : 'CANCELED';
    differences.push({
      kind: 'missing_order',
      key,
      venue: v,
      instrument_key: instrument,
      operation_id: o.operation_id,
      client_order_id: client,
      missing: 'ours_only',
      ours: o.status,
      theirs: null,
      message: `${o.operation_id} is ${o.status} in our books but ${v} does not know order ${client}; recorded as ${status}`,
      detail: {
        client_order_id: client,
        venue_order_id: o.venue_order_id,
        filled_quantity: o.filled_quantity,
      },
    });
    corrections.push({
      kind: 'set_status',
      difference: key,
      operation_id: o.operation_id,
      status,
      reason: neverAcked
        ? `RECONCILIATION: ${v} does not know order ${client}; it never reached the venue`
        : `RECONCILIATION: ${v} no longer knows order ${client}`,
      ts_event: opts.now,
    });
  }

  function endedAtVenue(o: OrderRecord, vs: VenueOrderState, instrument: string): void {
    const key = `status_mismatch|${o.operation_id}|status`;
    const ourFilled = filledWithPending(o);
    const theirFilled = toDec(vs.filled_quantity);
    const detail = orderDetail(vs);
    if (o.venue_order_id === null && vs.venue_order_id !== '' && vs.status !== 'REJECTED') {
      // The ack was missed too: record the venue order id first (the order's timeline keeps it).
      corrections.push({
        kind: 'accept',
        difference: key,
        operation_id: o.operation_id,
        venue_order_id: vs.venue_order_id,
        ts_event: vs.ts_event,
      });
    }
    let note = '';
    if (theirFilled.gt(ourFilled)) {
      const shortfall = theirFilled.minus(ourFilled);
      if (vs.avg_price !== null && toDec(vs.avg_price).gt(0)) {
        const fill: Fill = {
          fill_id: `${SYNTHETIC_FILL_PREFIX}${vs.client_order_id || clientIdOf(o)}-${fmt(theirFilled)}`,
          order_id: o.order_id,
          operation_id: o.operation_id,
          instrument_key: o.instrument_key,
          venue: v,
          side: o.side,
          quantity: fmt(shortfall),
          price: vs.avg_price,
          fee: '0',
          fee_currency: quoteOf(o.instrument_key),
          liquidity: 'TAKER',
          ts_event: vs.ts_event,
        };
        corrections.push({
          kind: 'apply_fill',
          difference: key,
          operation_id: o.operation_id,
          fill,
          synthetic: true,
        });
        addPending(fill, key);
        note = `; ${fmt(shortfall)} filled beyond the executions found is recorded as a synthetic fill at ${vs.avg_price}`;
      } else {
        note = `; ${fmt(shortfall)} filled beyond the executions found, without an average price to record it`;
      }
    } else if (theirFilled.lt(ourFilled)) {
      note = `; our fills make ${fmt(ourFilled)}, more than the ${fmt(theirFilled)} ${v} reports`;
    }
    const byFills = (pendingKeys.get(o.operation_id) ?? []).filter((k) => k !== key);
    differences.push({
      kind: 'status_mismatch',
      key,
      venue: v,
      instrument_key: instrument,
      operation_id: o.operation_id,
      client_order_id: vs.client_order_id,
      ours: o.status,
      theirs: vs.status,
      message: `${o.operation_id} is ${o.status} in our books but ${vs.status} at ${v}${note}`,
      detail: { ...detail, our_filled_quantity: o.filled_quantity },
      ...(vs.status === 'FILLED' && byFills.length > 0 && filledWithPending(o).gte(o.quantity)
        ? { settled_by: byFills }
        : {}),
    });
    const reason = vs.reason !== undefined && vs.reason !== '' ? `: ${vs.reason}` : '';
    switch (vs.status) {
      case 'FILLED':
        return; // the fills complete it
      case 'CANCELED':
        corrections.push({
          kind: 'set_status',
          difference: key,
          operation_id: o.operation_id,
          status: 'CANCELED',
          reason: `RECONCILIATION: canceled at ${v}${reason}`,
          ts_event: vs.ts_event,
        });
        return;
      case 'EXPIRED':
        corrections.push({
          kind: 'set_status',
          difference: key,
          operation_id: o.operation_id,
          status: 'EXPIRED',
          reason: `RECONCILIATION: expired at ${v}${reason}`,
          ts_event: vs.ts_event,
        });
        return;
      case 'REJECTED': {
        const filled = filledWithPending(o).gt(0);
        corrections.push({
          kind: 'set_status',
          difference: key,
          operation_id: o.operation_id,
          status: filled ? 'CANCELED' : 'REJECTED',
          reason: `RECONCILIATION: rejected at ${v}${reason}`,
          ts_event: vs.ts_event,
        });
        return;
      }
      default:
        return;
    }
  }
}

function orderDetail(vo: VenueOrderState): Record<string, string | null> {
  return {
    client_order_id: vo.client_order_id,
    venue_order_id: vo.venue_order_id,
    side: vo.side,
    status: vo.status,
    quantity: vo.quantity,
    filled_quantity: vo.filled_quantity,
    avg_price: vo.avg_price,
    reason: vo.reason ?? null,
    ts_event: vo.ts_event.toString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Cash flows of fills (spot holdings and cash)
// ---------------------------------------------------------------------------------------------

/**
 * How fills move balances: a spot fill moves the base by ± quantity and the quote by ∓ quantity ×
 * price; every fee leaves its fee currency. Derivative fills move only fees here (their realised
 * PnL is in the positions, see {@link positionFlows}).
 */
export function fillFlows(fills: readonly Fill[]): Map<string, Dec> {
  const out = new Map<string, Dec>();
  const add = (asset: string, d: Dec) => {
    if (asset !== '') out.set(asset, (out.get(asset) ?? new Dec(0)).plus(d));
  };
  for (const f of fills) {
    const p = parseInstrumentId(f.instrument_key);
    const q = f.side === 'BUY' ? toDec(f.quantity) : toDec(f.quantity).negated();
    if (p.success && p.data.instrument_type === 'SPOT_PAIR') {
      add(p.data.base, q);
      add(p.data.quote, q.times(f.price).negated());
    }
    add(f.fee_currency, toDec(f.fee).negated());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Applying corrections to our state (the evolve of the decider; what-if and tests)
// ---------------------------------------------------------------------------------------------

/**
 * Our state after the corrections were recorded as the ExecutionRecorder records them: fills
 * stored, filled quantities, statuses and venue order ids moved, positions and expected balances
 * moved by the fills. `cancel_at_venue` changes the venue, not our books (ignored here).
 */
export function applyCorrections(
  ours: OurState,
  corrections: readonly Correction[],
  venue: string,
): OurState {
  const orders = new Map(ours.orders.map((o) => [o.operation_id, { ...o }]));
  const fills = [...ours.fills];
  const positions = ours.positions === null ? null : ours.positions.map((p) => ({ ...p }));
  const applied: Fill[] = [];
  for (const c of corrections) {
    const o = orders.get(c.operation_id);
    if (o === undefined) continue;
    switch (c.kind) {
      case 'accept':
        o.venue_order_id = c.venue_order_id;
        if (o.status === 'SUBMITTED') o.status = 'ACCEPTED';
        break;
      case 'apply_fill': {
        if (fills.some((f) => f.operation_id === c.operation_id && f.fill_id === c.fill.fill_id)) break;
        fills.push({ operation_id: c.operation_id, fill_id: c.fill.fill_id });
        applied.push(c.fill);
        const filled = toDec(o.filled_quantity).plus(c.fill.quantity);
        o.filled_quantity = fmt(filled);
        if (o.status !== 'PENDING_CANCEL' && !isTerminal(o.status)) {
          o.status = filled.gte(o.quantity) ? 'FILLED' : 'PARTIALLY_FILLED';
        } else if (filled.gte(o.quantity)) {
          o.status = 'FILLED';
        }
        if (positions !== null) {
          const key = onVenue(c.fill.instrument_key, venue);
          const q = c.fill.side === 'BUY' ? toDec(c.fill.quantity) : toDec(c.fill.quantity).negated();
          const p = positions.find((x) => canonicalKey(x.instrument_key) === key);
          if (p === undefined) positions.push({ instrument_key: key, quantity: fmt(q) });
          else p.quantity = fmt(toDec(p.quantity).plus(q));
        }
        break;
      }
      case 'set_status':
        if (!isTerminal(o.status)) {
          o.status = c.status;
          o.rejection_reason = c.reason;
        }
        break;
      case 'cancel_at_venue':
        break;
    }
  }
  let balances = ours.balances === null ? null : ours.balances.map((b) => ({ ...b }));
  if (balances !== null) {
    const flows = fillFlows(applied);
    balances = balances.map((b) => {
      const d = flows.get(b.asset);
      return d === undefined ? b : { asset: b.asset, total: fmt(toDec(b.total).plus(d)) };
    });
  }
  return { orders: [...orders.values()], fills, positions, balances };
}

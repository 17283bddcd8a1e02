import { describe, expect, it } from 'vitest';
import {
  applyCorrections,
  diffVenueState,
  fillFromVenueTrade,
  SYNTHETIC_FILL_PREFIX,
  venueFillId,
  withinTolerance,
} from '../../../shared/recon/diff.ts';
import type { DiffOptions, OurState, VenueSnapshot } from '../../../shared/recon/types.ts';
import { BTC, NOW, order, ours, SEC, snapshot, T0, trade, VENUE, venueOrder } from './fixtures.ts';

const opts: DiffOptions = { venue: VENUE, now: NOW };
const PERP = 'BINANCE-SPOT:PERPETUAL:BTC-USDT@LIN';

/** Diff, apply the corrections to our state, diff again. */
function settle(o: OurState, v: VenueSnapshot, options: DiffOptions = opts) {
  const first = diffVenueState(o, v, options);
  const after = applyCorrections(o, first.corrections, VENUE);
  const second = diffVenueState(after, v, options);
  return { first, after, second };
}

describe('diffVenueState', () => {
  it('finds nothing when the books agree', () => {
    const a = order('OP-1', { status: 'PARTIALLY_FILLED', filled_quantity: '0.2' });
    const t = trade(a, '11', '0.2', '60000');
    const d = diffVenueState(
      ours({ orders: [a], fills: [{ operation_id: 'OP-1', fill_id: venueFillId(t, a.order_id) }] }),
      snapshot({ openOrders: [venueOrder(a, { status: 'PARTIALLY_FILLED' })], trades: [t] }),
      opts,
    );
    expect(d).toEqual({ differences: [], corrections: [] });
  });

  describe('missing_fill', () => {
    it('a venue execution not in our books becomes a fill to record (the edge fill id), once', () => {
      const a = order('OP-1');
      const t = trade(a, '11', '0.2', '60000');
      const { first, second, after } = settle(
        ours({ orders: [a] }),
        snapshot({
          openOrders: [venueOrder(a, { status: 'PARTIALLY_FILLED', filled_quantity: '0.2' })],
          trades: [t],
        }),
      );
      expect(first.differences).toMatchObject([
        {
          kind: 'missing_fill',
          operation_id: 'OP-1',
          instrument_key: BTC,
          theirs: '0.2',
          key: `missing_fill|${BTC}|11`,
        },
      ]);
      expect(first.corrections).toHaveLength(1);
      const c = first.corrections[0];
      expect(c?.kind).toBe('apply_fill');
      if (c?.kind !== 'apply_fill') throw new Error('expected a fill');
      expect(c.fill).toEqual(fillFromVenueTrade(t, a, VENUE, a.order_id));
      expect(c.fill.fill_id).toBe(`${a.order_id}-T11`);
      expect(c.fill).toMatchObject({
        order_id: a.order_id,
        instrument_key: BTC,
        venue: VENUE,
        quantity: '0.2',
      });
      expect(c.synthetic).toBe(false);
      // Once applied: the order is partially filled and nothing differs any more.
      expect(after.orders[0]).toMatchObject({ status: 'PARTIALLY_FILLED', filled_quantity: '0.2' });
      expect(second).toEqual({ differences: [], corrections: [] });
    });

    it('the same trade reported twice is one difference', () => {
      const a = order('OP-1');
      const t = trade(a, '11', '0.2', '60000');
      const d = diffVenueState(ours({ orders: [a] }), snapshot({ trades: [t, { ...t }] }), opts);
      expect(d.differences.filter((x) => x.kind === 'missing_fill')).toHaveLength(1);
      expect(d.corrections).toHaveLength(1);
    });

    it('a trade matched by the venue order id alone (no client id) still finds its order', () => {
      const a = order('OP-1');
      const t = trade(a, '11', '0.5', '60000', { client_order_id: null });
      const d = diffVenueState(ours({ orders: [a] }), snapshot({ trades: [t] }), opts);
      expect(d.corrections).toMatchObject([
        { kind: 'apply_fill', operation_id: 'OP-1', fill: { fill_id: `${a.order_id}-T11` } },
      ]);
    });

    it('after a restart: an execution carrying only the venue order id of an order whose ack we missed', () => {
      const a = order('OP-1', { status: 'SUBMITTED', venue_order_id: null });
      const t = trade(a, '31', '0.5', '60000', { client_order_id: null, venue_order_id: 'V-77' });
      const { first, second, after } = settle(
        ours({ orders: [a] }),
        snapshot({
          trades: [t],
          lookups: [
            {
              client_order_id: a.order_id,
              state: venueOrder(a, {
                venue_order_id: 'V-77',
                status: 'FILLED',
                filled_quantity: '0.5',
                avg_price: '60000',
              }),
            },
          ],
        }),
      );
      expect(first.differences.map((x) => x.kind)).toEqual(['missing_fill', 'status_mismatch']);
      expect(first.differences[1]?.settled_by).toEqual([first.differences[0]?.key]);
      expect(first.corrections.map((c) => c.kind)).toEqual(['accept', 'apply_fill']);
      expect(after.orders[0]).toMatchObject({ status: 'FILLED', venue_order_id: 'V-77' });
      expect(second.differences).toEqual([]);
    });

    it("an algorithm child's execution is a fill of the parent under the child's fill id", () => {
      const parent = order('OP-P', {
        exec_algorithm: 'TWAP',
        order_type: 'MARKET',
        price: null,
        venue_order_id: null,
        client_order_id: null,
      });
      const child = `${parent.order_id}-S2`;
      const t = trade(parent, '77', '0.1', '60010', { client_order_id: child, venue_order_id: 'V-child' });
      const { first, second } = settle(ours({ orders: [parent] }), snapshot({ trades: [t] }));
      expect(first.corrections).toMatchObject([
        {
          kind: 'apply_fill',
          operation_id: 'OP-P',
          fill: { fill_id: `${child}-T77`, order_id: parent.order_id },
        },
      ]);
      // The parent itself has no order at the venue: it is never judged missing.
      expect(first.differences.map((x) => x.kind)).toEqual(['missing_fill']);
      expect(second.differences).toEqual([]);
    });

    it('an execution of an order we do not know is reported, not corrected', () => {
      const stranger = order('OP-X');
      const t = trade(stranger, '99', '1', '59000', {
        client_order_id: 'manual-1',
        venue_order_id: 'V-manual',
      });
      const d = diffVenueState(ours(), snapshot({ trades: [t] }), opts);
      expect(d.differences).toMatchObject([
        { kind: 'missing_fill', operation_id: null, client_order_id: 'manual-1', theirs: '1' },
      ]);
      expect(d.corrections).toEqual([]);
    });
  });

  describe('missing_order', () => {
    it('an open order at the venue that we do not know is reported (never canceled)', () => {
      const foreign = venueOrder(order('OP-Z'), { client_order_id: 'web-123', venue_order_id: 'V-web' });
      const d = diffVenueState(ours(), snapshot({ openOrders: [foreign] }), {
        ...opts,
        cancelStrayOrders: true,
      });
      expect(d.differences).toMatchObject([
        {
          kind: 'missing_order',
          missing: 'venue_only',
          client_order_id: 'web-123',
          key: 'missing_order|venue|web-123',
        },
      ]);
      expect(d.corrections).toEqual([]);
    });

    it('a working order the venue does not know: REJECTED when never acknowledged, else CANCELED', () => {
      const unacked = order('OP-1', { status: 'SUBMITTED', venue_order_id: null });
      const acked = order('OP-2');
      const { first, second, after } = settle(
        ours({ orders: [unacked, acked] }),
        snapshot({
          lookups: [
            { client_order_id: unacked.order_id, state: null },
            { client_order_id: acked.order_id, state: null },
          ],
        }),
      );
      expect(first.differences).toMatchObject([
        {
          kind: 'missing_order',
          missing: 'ours_only',
          operation_id: 'OP-1',
          ours: 'SUBMITTED',
          theirs: null,
        },
        { kind: 'missing_order', missing: 'ours_only', operation_id: 'OP-2', ours: 'ACCEPTED', theirs: null },
      ]);
      expect(first.corrections).toMatchObject([
        { kind: 'set_status', operation_id: 'OP-1', status: 'REJECTED' },
        { kind: 'set_status', operation_id: 'OP-2', status: 'CANCELED' },
      ]);
      expect(after.orders.map((o) => o.status)).toEqual(['REJECTED', 'CANCELED']);
      expect(second.differences).toEqual([]);
    });

    it('orders in flight (changed within the grace period) or not looked up are not judged', () => {
      const fresh = order('OP-1', { status: 'SUBMITTED', venue_order_id: null, ts_updated: NOW - 5n * SEC });
      const notAsked = order('OP-2');
      const d = diffVenueState(
        ours({ orders: [fresh, notAsked] }),
        snapshot({ lookups: [{ client_order_id: fresh.order_id, state: null }] }),
        opts,
      );
      expect(d).toEqual({ differences: [], corrections: [] });
    });
  });

  describe('status_mismatch', () => {
    it('a missed acknowledgement is recorded from the open order', () => {
      const a = order('OP-1', { status: 'SUBMITTED', venue_order_id: null });
      const { first, second } = settle(
        ours({ orders: [a] }),
        snapshot({ openOrders: [venueOrder(a, { venue_order_id: 'V-9' })] }),
      );
      expect(first.differences).toMatchObject([
        { kind: 'status_mismatch', ours: 'SUBMITTED', theirs: 'NEW' },
      ]);
      expect(first.corrections).toMatchObject([
        { kind: 'accept', operation_id: 'OP-1', venue_order_id: 'V-9' },
      ]);
      expect(second.differences).toEqual([]);
    });

    it('an order that ended at the venue: its missing fills first, then its end', () => {
      const a = order('OP-1', { status: 'PENDING_CANCEL' });
      const t = trade(a, '12', '0.1', '60000');
      const { first, second, after } = settle(
        ours({ orders: [a] }),
        snapshot({
          trades: [t],
          lookups: [
            {
              client_order_id: a.order_id,
              state: venueOrder(a, {
                status: 'CANCELED',
                filled_quantity: '0.1',
                avg_price: '60000',
                reason: 'user',
              }),
            },
          ],
        }),
      );
      expect(first.differences.map((x) => `${x.kind}:${x.ours}->${x.theirs}`)).toEqual([
        'missing_fill:null->0.1',
        'status_mismatch:PENDING_CANCEL->CANCELED',
      ]);
      expect(first.corrections.map((c) => c.kind)).toEqual(['apply_fill', 'set_status']);
      expect(first.corrections[1]).toMatchObject({
        status: 'CANCELED',
        reason: `RECONCILIATION: canceled at ${VENUE}: user`,
      });
      expect(after.orders[0]).toMatchObject({ status: 'CANCELED', filled_quantity: '0.1' });
      expect(second.differences).toEqual([]);
    });

    it('filled beyond the executions of the look-back: a synthetic fill at the average price completes it', () => {
      const a = order('OP-1', { status: 'PARTIALLY_FILLED', filled_quantity: '0.1' });
      const { first, second, after } = settle(
        ours({ orders: [a], fills: [{ operation_id: 'OP-1', fill_id: 'old' }] }),
        snapshot({
          lookups: [
            {
              client_order_id: a.order_id,
              state: venueOrder(a, {
                status: 'FILLED',
                filled_quantity: '0.5',
                avg_price: '60001.5',
                ts_event: T0 + SEC,
              }),
            },
          ],
        }),
      );
      expect(first.corrections).toMatchObject([
        {
          kind: 'apply_fill',
          synthetic: true,
          fill: {
            fill_id: `${SYNTHETIC_FILL_PREFIX}${a.order_id}-0.5`,
            quantity: '0.4',
            price: '60001.5',
            fee: '0',
            fee_currency: 'USDT',
            ts_event: T0 + SEC,
          },
        },
      ]);
      expect(first.differences[0]?.message).toContain('synthetic fill');
      expect(after.orders[0]).toMatchObject({ status: 'FILLED', filled_quantity: '0.5' });
      expect(second.differences).toEqual([]);
    });

    it('expired and rejected at the venue', () => {
      const a = order('OP-1');
      const b = order('OP-2');
      const d = diffVenueState(
        ours({ orders: [a, b] }),
        snapshot({
          lookups: [
            { client_order_id: a.order_id, state: venueOrder(a, { status: 'EXPIRED' }) },
            { client_order_id: b.order_id, state: venueOrder(b, { status: 'REJECTED', reason: 'margin' }) },
          ],
        }),
        opts,
      );
      expect(d.corrections).toMatchObject([
        { kind: 'set_status', operation_id: 'OP-1', status: 'EXPIRED' },
        {
          kind: 'set_status',
          operation_id: 'OP-2',
          status: 'REJECTED',
          reason: `RECONCILIATION: rejected at ${VENUE}: margin`,
        },
      ]);
    });

    it('an order we consider finished but still open at the venue: reported, canceled there only when asked', () => {
      const a = order('OP-1', { status: 'CANCELED' });
      const v = snapshot({ openOrders: [venueOrder(a)] });
      const reportOnly = diffVenueState(ours({ orders: [a] }), v, opts);
      expect(reportOnly.differences).toMatchObject([
        { kind: 'status_mismatch', ours: 'CANCELED', theirs: 'NEW' },
      ]);
      expect(reportOnly.corrections).toEqual([]);
      const cancel = diffVenueState(ours({ orders: [a] }), v, { ...opts, cancelStrayOrders: true });
      expect(cancel.corrections).toEqual([
        {
          kind: 'cancel_at_venue',
          difference: reportOnly.differences[0]?.key,
          operation_id: 'OP-1',
          client_order_id: a.order_id,
          instrument_key: BTC,
        },
      ]);
    });

    it('a working order whose filled quantity differs is reported while it works', () => {
      const a = order('OP-1', { status: 'PARTIALLY_FILLED', filled_quantity: '0.3' });
      const d = diffVenueState(
        ours({ orders: [a] }),
        snapshot({ openOrders: [venueOrder(a, { status: 'PARTIALLY_FILLED', filled_quantity: '0.4' })] }),
        opts,
      );
      expect(d.differences).toMatchObject([
        { kind: 'status_mismatch', ours: '0.3', theirs: '0.4', key: 'status_mismatch|OP-1|filled' },
      ]);
      expect(d.corrections).toEqual([]);
    });
  });

  describe('position_mismatch (derivatives) and balance_mismatch', () => {
    it('compares derivative positions within the tolerance; spot "positions" are left to balances', () => {
      const d = diffVenueState(
        ours({
          positions: [
            { instrument_key: PERP, quantity: '1' },
            { instrument_key: BTC, quantity: '3' },
          ],
        }),
        snapshot({
          positions: [
            { instrument_key: PERP, quantity: '1.5', entry_price: null },
            { instrument_key: BTC, quantity: '9', entry_price: null },
          ],
        }),
        opts,
      );
      expect(d.differences).toMatchObject([
        {
          kind: 'position_mismatch',
          instrument_key: PERP,
          ours: '1',
          theirs: '1.5',
          detail: { difference: '0.5' },
        },
      ]);
      const loose = diffVenueState(
        ours({ positions: [{ instrument_key: PERP, quantity: '1' }] }),
        snapshot({ positions: [{ instrument_key: PERP, quantity: '1.0004', entry_price: null }] }),
        { ...opts, tolerance: { absolute: '0.001', relative: '0' } },
      );
      expect(loose.differences).toEqual([]);
    });

    it('a position the missing fills explain is not a difference once they are applied', () => {
      const a = order('OP-1', { instrument_key: PERP });
      const t = trade(a, '5', '0.5', '60000');
      const o = ours({ orders: [a], positions: [{ instrument_key: PERP, quantity: '1' }] });
      const v = snapshot({
        trades: [t],
        lookups: [
          {
            client_order_id: a.order_id,
            state: venueOrder(a, { status: 'FILLED', filled_quantity: '0.5', avg_price: '60000' }),
          },
        ],
        positions: [{ instrument_key: PERP, quantity: '1.5', entry_price: '60000' }],
      });
      const { first, second } = settle(o, v);
      expect(first.differences.map((x) => x.kind)).toEqual(['missing_fill', 'status_mismatch']);
      expect(second.differences).toEqual([]);
    });

    it('compares expected balances, moved by the pending fills, with the venue totals', () => {
      const a = order('OP-1', { side: 'BUY', quantity: '1' });
      const t = trade(a, '1', '0.5', '60000', { fee: '3', fee_currency: 'USDT' });
      const o = ours({
        orders: [a],
        balances: [
          { asset: 'BTC', total: '1' },
          { asset: 'USDT', total: '100000' },
        ],
      });
      const v = snapshot({
        trades: [t],
        openOrders: [venueOrder(a, { status: 'PARTIALLY_FILLED', filled_quantity: '0.5' })],
        balances: [
          { asset: 'BTC', free: '1.5', total: '1.5' },
          { asset: 'USDT', free: '69997', total: '69997' },
          { asset: 'BNB', free: '2', total: '2' },
        ],
      });
      const { first, second } = settle(o, v);
      expect(first.differences.map((x) => x.kind)).toEqual(['missing_fill']);
      expect(second.differences).toEqual([]);
      // A transfer out of the account is a difference nobody's fill explains.
      const moved = diffVenueState(
        o,
        {
          ...v,
          balances: [
            { asset: 'BTC', free: '1.4', total: '1.4' },
            { asset: 'USDT', free: '69997', total: '69997' },
          ],
        },
        opts,
      );
      expect(moved.differences.filter((x) => x.kind === 'balance_mismatch')).toMatchObject([
        { key: 'balance_mismatch|BTC', ours: '1.5', theirs: '1.4', detail: { difference: '-0.1' } },
      ]);
    });
  });

  it('idempotence: a state with every correctable difference settles in one pass', () => {
    const fillsMissing = order('OP-1', { status: 'ACCEPTED' });
    const ended = order('OP-2', { status: 'PENDING_CANCEL' });
    const unknown = order('OP-3', { status: 'SUBMITTED', venue_order_id: null });
    const unacked = order('OP-4', { status: 'SUBMITTED', venue_order_id: null });
    const o = ours({
      orders: [fillsMissing, ended, unknown, unacked],
      positions: [],
      balances: [
        { asset: 'BTC', total: '0' },
        { asset: 'USDT', total: '100000' },
      ],
    });
    const t1 = trade(fillsMissing, '1', '0.2', '60000', { fee: '0' });
    const t2 = trade(fillsMissing, '2', '0.3', '60010', { fee: '0', ts_event: T0 + 20n * SEC });
    const v = snapshot({
      trades: [t2, t1],
      openOrders: [venueOrder(unacked, { venue_order_id: 'V-4' })],
      lookups: [
        {
          client_order_id: fillsMissing.order_id,
          state: venueOrder(fillsMissing, { status: 'FILLED', filled_quantity: '0.5', avg_price: '60006' }),
        },
        { client_order_id: ended.order_id, state: venueOrder(ended, { status: 'CANCELED' }) },
        { client_order_id: unknown.order_id, state: null },
      ],
      balances: [
        { asset: 'BTC', free: '0.5', total: '0.5' },
        { asset: 'USDT', free: '69997', total: '69997' },
      ],
      positions: [],
    });
    const { first, second, after } = settle(o, v);
    expect(new Set(first.differences.map((x) => x.kind))).toEqual(
      new Set(['missing_fill', 'status_mismatch', 'missing_order']),
    );
    // Fills in time order, after the ack, before the status changes.
    expect(first.corrections.map((c) => c.kind)).toEqual([
      'accept',
      'apply_fill',
      'apply_fill',
      'set_status',
      'set_status',
    ]);
    expect(after.orders.map((x) => [x.operation_id, x.status, x.filled_quantity])).toEqual([
      ['OP-1', 'FILLED', '0.5'],
      ['OP-2', 'CANCELED', '0'],
      ['OP-3', 'REJECTED', '0'],
      ['OP-4', 'ACCEPTED', '0'],
    ]);
    expect(second).toEqual({ differences: [], corrections: [] });
    // And once more: applying nothing changes nothing.
    expect(applyCorrections(after, second.corrections, VENUE)).toEqual(after);
  });
});

describe('withinTolerance', () => {
  it('is exact by default and takes the larger of the absolute and relative allowances', () => {
    expect(withinTolerance('1', '1.0')).toBe(true);
    expect(withinTolerance('1', '1.00000001')).toBe(false);
    expect(withinTolerance('100', '100.05', { absolute: '0', relative: '0.001' })).toBe(true);
    expect(withinTolerance('100', '100.2', { absolute: '0', relative: '0.001' })).toBe(false);
    expect(withinTolerance('0', '0.004', { absolute: '0.005', relative: '0.001' })).toBe(true);
  });
});

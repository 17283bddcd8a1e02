/**
 * The OrderStore contract: every adapter (local in memory, local with a journal, Firestore on the
 * emulator) must pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../shared/domain/events.ts';
import type { Fill, OrderRecord, OrderStatus } from '../../shared/domain/types.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';

export interface OrderStoreHarness {
  store: OrderStore;
  /** Close the store and open a fresh one over the same data (a restart). Optional. */
  reopen?: () => Promise<OrderStore>;
  /** Runs after the test (the harness closes the current store first). */
  cleanup?: () => Promise<void>;
}

/** A realistic 2025 timestamp with nanosecond digits that a double would lose. */
export const T0 = 1_751_328_300_123_456_789n;
const SEC = 1_000_000_000n;

export function makeOrder(operationId: string, over: Partial<OrderRecord> = {}): OrderRecord {
  return {
    order_id: `ORD-${operationId}`,
    operation_id: operationId,
    parent_order_id: null,
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    order_type: 'LIMIT',
    time_in_force: 'GTC',
    quantity: '1.5',
    price: '65000.12',
    strategy_id: 'momentum-btc-v1',
    exec_algorithm: 'TWAP',
    exec_algorithm_params: { duration_sec: 300, max_slices: 10 },
    status: 'PENDING',
    venue: null,
    account_id: null,
    client_order_id: null,
    venue_order_id: null,
    filled_quantity: '0',
    avg_fill_price: null,
    fees: '0',
    rejection_reason: null,
    version: 1,
    ts_created: T0,
    ts_updated: T0,
    ...over,
  };
}

export function received(order: OrderRecord, ts: bigint = order.ts_created): OrderEvent {
  return {
    type: 'OrderReceived',
    operation_id: order.operation_id,
    order_id: order.order_id,
    ts_event: ts,
    ts_init: ts + 1n,
    parent_order_id: order.parent_order_id,
    instruction: {
      operation_id: order.operation_id,
      instrument_key: order.instrument_key,
      side: order.side,
      quantity: order.quantity,
      price: order.price,
      order_type: order.order_type,
      time_in_force: order.time_in_force,
      strategy_id: order.strategy_id,
      exec_algorithm: order.exec_algorithm,
      exec_algorithm_params: order.exec_algorithm_params,
    },
  };
}

export function riskApproved(operationId: string, ts: bigint): OrderEvent {
  return {
    type: 'OrderRiskApproved',
    operation_id: operationId,
    ts_event: ts,
    ts_init: ts,
    checks: [
      { rule: 'max_notional', passed: true, limit: '100000', observed: '97500.18' },
      { rule: 'price_tolerance_bps', passed: true, limit: '50', observed: '3.2', message: 'ok' },
    ],
  };
}

export function makeFill(order: OrderRecord, fillId: string, over: Partial<Fill> = {}): Fill {
  return {
    fill_id: fillId,
    order_id: order.order_id,
    operation_id: order.operation_id,
    instrument_key: order.instrument_key,
    venue: 'BINANCE-SPOT',
    side: order.side,
    quantity: '0.5',
    price: '65000.1',
    fee: '0.0005',
    fee_currency: 'BTC',
    liquidity: 'TAKER',
    ts_event: T0 + 5n * SEC + 7n,
    ...over,
  };
}

export function filled(fill: Fill): OrderEvent {
  return {
    type: 'OrderFilled',
    operation_id: fill.operation_id,
    ts_event: fill.ts_event,
    ts_init: fill.ts_event + 3n,
    fill,
  };
}

/** next = order with changes, version + 1. */
function bump(order: OrderRecord, over: Partial<OrderRecord>): OrderRecord {
  return { ...order, ...over, version: order.version + 1, ts_updated: order.ts_updated + SEC };
}

export interface ContractOptions {
  /** The adapter keeps its data across a restart: run the restart test (the harness must give `reopen`). */
  durable: boolean;
}

export function orderStoreContract(
  name: string,
  factory: () => Promise<OrderStoreHarness>,
  opts: ContractOptions,
): void {
  describe(`OrderStore contract: ${name}`, () => {
    let h: OrderStoreHarness;
    let store: OrderStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup?.();
    });

    describe('create and read', () => {
      it('returns null, [] for an unknown operation_id', async () => {
        expect(await store.get('OP-missing')).toBeNull();
        expect(await store.timeline('OP-missing')).toEqual([]);
        expect(await store.fills('OP-missing')).toEqual([]);
      });

      it('creates an order with its timeline start; bigint nanoseconds round-trip exactly', async () => {
        const order = makeOrder('OP-1', {
          ts_created: 1751328300123456789n,
          ts_updated: 1751328300123456790n,
        });
        const events = [received(order), riskApproved('OP-1', order.ts_created + 10n)];
        const r = await store.create(order, events);
        expect(r).toEqual({ created: true, order });
        const got = await store.get('OP-1');
        expect(got).toEqual(order);
        expect(got?.ts_created).toBe(1751328300123456789n);
        expect(got?.ts_updated).toBe(1751328300123456790n);
        expect(await store.timeline('OP-1')).toEqual(events);
      });

      it('a second create of the same operation_id returns the stored order untouched', async () => {
        const order = makeOrder('OP-dup');
        await store.create(order, [received(order)]);
        const other = makeOrder('OP-dup', { quantity: '99', strategy_id: 'other' });
        const r = await store.create(other, [received(other, T0 + 99n)]);
        expect(r.created).toBe(false);
        expect(r.order).toEqual(order);
        expect(await store.get('OP-dup')).toEqual(order);
        expect(await store.timeline('OP-dup')).toEqual([received(order)]);
      });

      it('20 concurrent creates of one operation_id make exactly one order and one timeline', async () => {
        const attempts = Array.from({ length: 20 }, (_, i) =>
          makeOrder('OP-race', {
            order_id: `ORD-race-${i}`,
            ts_created: T0 + BigInt(i),
            ts_updated: T0 + BigInt(i),
          }),
        );
        const results = await Promise.all(attempts.map((o) => store.create(o, [received(o)])));
        const winners = results.filter((r) => r.created);
        expect(winners).toHaveLength(1);
        const stored = winners[0]!.order;
        for (const r of results) expect(r.order).toEqual(stored);
        expect(await store.get('OP-race')).toEqual(stored);
        const timeline = await store.timeline('OP-race');
        expect(timeline).toHaveLength(1);
        expect(timeline[0]).toEqual(received(stored));
      });

      it('refuses a new order whose version is not 1', async () => {
        await expect(store.create(makeOrder('OP-v2', { version: 2 }), [])).rejects.toThrow(/version 1/);
        expect(await store.get('OP-v2')).toBeNull();
      });

      it('refuses a malformed record with an error naming the field', async () => {
        const bad = { ...makeOrder('OP-bad'), quantity: 'lots' };
        await expect(store.create(bad, [])).rejects.toThrow(/quantity/);
        const badStatus = { ...makeOrder('OP-bad'), status: 'DONE' as OrderStatus };
        await expect(store.create(badStatus, [])).rejects.toThrow(/status/);
        expect(await store.get('OP-bad')).toBeNull();
      });

      it('keeps awkward operation ids apart and round-trips them', async () => {
        const ids = ['a/b', 'a%2Fb', 'a|b', '.', '..', '__x__', 'ünïcødé ✓', 'OP 1'];
        for (const id of ids) await store.create(makeOrder(id), []);
        for (const id of ids) expect((await store.get(id))?.operation_id).toBe(id);
        const all = await store.query({});
        expect(all.map((o) => o.operation_id).sort()).toEqual([...ids].sort());
      });

      it('round-trips free-form algorithm parameters and optional fields exactly', async () => {
        const params = {
          profile: [0.1, 0.25, 0.4, 0.25],
          nested: { matrix: [[1, 2], [3]], flag: true, none: null },
          $n: '5',
          $weird: { $n: 'not a bigint' },
          ratio: 0.1,
          big: 9007199254740991,
        };
        const order = makeOrder('OP-params', { exec_algorithm_params: params, risk_approved: true });
        await store.create(order, []);
        const got = await store.get('OP-params');
        expect(got?.exec_algorithm_params).toEqual(params);
        expect(got?.risk_approved).toBe(true);
        expect(got).toEqual(order);
      });

      it('returns copies: mutating a result does not change the store', async () => {
        const order = makeOrder('OP-copy');
        await store.create(order, [received(order)]);
        const got = (await store.get('OP-copy'))!;
        got.status = 'FILLED';
        got.exec_algorithm_params.duration_sec = 1;
        order.quantity = '999';
        expect(await store.get('OP-copy')).toEqual(makeOrder('OP-copy'));
      });

      it('keeps its own copy of the timeline: changing the events given, or a timeline read, changes nothing', async () => {
        const order = makeOrder('OP-copy-ev');
        const events = [received(order), riskApproved('OP-copy-ev', T0 + 1n)];
        const want = structuredClone(events);
        await store.create(order, events);
        (events[1] as { checks: Array<{ observed: string | null }> }).checks[0]!.observed = 'changed';
        events.pop();
        const read = await store.timeline('OP-copy-ev');
        expect(read).toEqual(want);
        (read[0] as { operation_id: string }).operation_id = 'changed';
        read.push(received(order));
        expect(await store.timeline('OP-copy-ev')).toEqual(want);
      });

      it('reports health', async () => {
        expect((await store.health()).ok).toBe(true);
      });
    });

    describe('transitions', () => {
      it('moves the order on and appends events, in order', async () => {
        const o1 = makeOrder('OP-t');
        await store.create(o1, [received(o1)]);
        const o2 = bump(o1, { status: 'SUBMITTED', venue: 'BINANCE-SPOT', client_order_id: 'c-OP-t' });
        const ev2: OrderEvent[] = [
          riskApproved('OP-t', T0 + 1n),
          {
            type: 'OrderRouted',
            operation_id: 'OP-t',
            ts_event: T0 + 2n,
            ts_init: T0 + 2n,
            venue: 'BINANCE-SPOT',
            account_id: 'acct-1',
            reason: 'lowest cost',
            scores: [
              {
                venue: 'BINANCE-SPOT',
                eligible: true,
                total_cost_bps: 10.5,
                fee_bps: 10,
                slippage_bps: 0.4,
                latency_bps: 0.1,
                rejection_bps: 0,
              },
              {
                venue: 'BYBIT-SPOT',
                eligible: false,
                total_cost_bps: null,
                fee_bps: null,
                slippage_bps: null,
                latency_bps: null,
                rejection_bps: null,
                reason: 'circuit open',
              },
            ],
          },
          {
            type: 'OrderSubmitted',
            operation_id: 'OP-t',
            ts_event: T0 + 3n,
            ts_init: T0 + 3n,
            venue: 'BINANCE-SPOT',
            client_order_id: 'c-OP-t',
          },
        ];
        expect(await store.transition('OP-t', 1, o2, ev2)).toEqual({ ok: true, order: o2 });
        expect(await store.get('OP-t')).toEqual(o2);
        expect(await store.timeline('OP-t')).toEqual([received(o1), ...ev2]);
      });

      it('keeps a long timeline in order (sequence ids past 10 and 100)', async () => {
        let o = makeOrder('OP-long');
        await store.create(o, [received(o)]);
        const expected: OrderEvent[] = [received(o)];
        for (let i = 0; i < 12; i++) {
          const next = bump(o, {});
          const evs: OrderEvent[] = Array.from({ length: 10 }, (_, j) => ({
            type: 'OrderCancelRequested',
            operation_id: 'OP-long',
            ts_event: T0 + BigInt(i * 10 + j),
            ts_init: T0,
            reason: `r${i}-${j}`,
          }));
          expect((await store.transition('OP-long', o.version, next, evs)).ok).toBe(true);
          expected.push(...evs);
          o = next;
        }
        const tl = await store.timeline('OP-long');
        expect(tl).toHaveLength(121);
        expect(tl).toEqual(expected);
      });

      it('not_found for an unknown order', async () => {
        const o = makeOrder('OP-nope');
        expect(await store.transition('OP-nope', 1, bump(o, {}), [])).toEqual({
          ok: false,
          reason: 'not_found',
        });
        expect(await store.get('OP-nope')).toBeNull();
      });

      it('version_conflict with the current order for a stale expectedVersion', async () => {
        const o1 = makeOrder('OP-stale');
        await store.create(o1, [received(o1)]);
        const o2 = bump(o1, { status: 'SUBMITTED' });
        await store.transition('OP-stale', 1, o2, []);
        const late = bump(o1, { status: 'CANCELED' });
        const r = await store.transition('OP-stale', 1, late, [
          { type: 'OrderCanceled', operation_id: 'OP-stale', ts_event: T0, ts_init: T0, reason: 'late' },
        ]);
        expect(r).toEqual({ ok: false, reason: 'version_conflict', current: o2 });
        expect(await store.get('OP-stale')).toEqual(o2);
        expect(await store.timeline('OP-stale')).toEqual([received(o1)]);
      });

      it('two concurrent transitions from one version: one wins, the other gets version_conflict', async () => {
        const o1 = makeOrder('OP-cc');
        await store.create(o1, [received(o1)]);
        const a = bump(o1, { status: 'ACCEPTED', venue_order_id: 'v-a' });
        const b = bump(o1, { status: 'CANCELED', rejection_reason: 'b' });
        const evA: OrderEvent = {
          type: 'OrderAccepted',
          operation_id: 'OP-cc',
          ts_event: T0 + 1n,
          ts_init: T0 + 1n,
          venue_order_id: 'v-a',
        };
        const evB: OrderEvent = {
          type: 'OrderCanceled',
          operation_id: 'OP-cc',
          ts_event: T0 + 2n,
          ts_init: T0 + 2n,
          reason: 'b',
        };
        const fillA = makeFill(o1, 'F-a');
        const [ra, rb] = await Promise.all([
          store.transition('OP-cc', 1, a, [evA], [fillA]),
          store.transition('OP-cc', 1, b, [evB]),
        ]);
        const oks = [ra, rb].filter((r) => r.ok);
        const conflicts = [ra, rb].filter((r) => !r.ok);
        expect(oks).toHaveLength(1);
        expect(conflicts).toHaveLength(1);
        const winner = ra.ok ? a : b;
        const conflict = conflicts[0]!;
        expect(conflict).toEqual({ ok: false, reason: 'version_conflict', current: winner });
        if (!conflict.ok && conflict.reason === 'version_conflict') expect(conflict.current.version).toBe(2);
        expect(await store.get('OP-cc')).toEqual(winner);
        expect(await store.timeline('OP-cc')).toEqual([received(o1), ra.ok ? evA : evB]);
        expect(await store.fills('OP-cc')).toEqual(ra.ok ? [fillA] : []);
      });

      it('five concurrent transitions from one version: exactly one wins, every loser sees the winner', async () => {
        const o1 = makeOrder('OP-c5');
        await store.create(o1, [received(o1)]);
        const nexts = Array.from({ length: 5 }, (_, k) => bump(o1, { fees: String(k) }));
        const results = await Promise.all(
          nexts.map((n, k) =>
            store.transition('OP-c5', 1, n, [
              {
                type: 'OrderCancelRequested',
                operation_id: 'OP-c5',
                ts_event: T0,
                ts_init: T0,
                reason: `k${k}`,
              },
            ]),
          ),
        );
        const winners = results.flatMap((r, k) => (r.ok ? [k] : []));
        expect(winners).toHaveLength(1);
        const winner = nexts[winners[0]!]!;
        for (const r of results) {
          if (!r.ok) expect(r).toEqual({ ok: false, reason: 'version_conflict', current: winner });
        }
        expect(await store.timeline('OP-c5')).toHaveLength(2);
      });

      it('refuses a next version that is not expectedVersion + 1, or another order', async () => {
        const o1 = makeOrder('OP-ver');
        await store.create(o1, []);
        await expect(store.transition('OP-ver', 1, { ...o1, version: 3 }, [])).rejects.toThrow(/version/);
        await expect(store.transition('OP-ver', 1, { ...o1, version: 1 }, [])).rejects.toThrow(/version/);
        await expect(store.transition('OP-other', 1, bump(o1, {}), [])).rejects.toThrow(/operation_id/);
        expect(await store.get('OP-ver')).toEqual(o1);
      });
    });

    describe('fills', () => {
      it('stores fills with the transition, in order, with exact timestamps', async () => {
        const o1 = makeOrder('OP-f');
        await store.create(o1, [received(o1)]);
        const f1 = makeFill(o1, 'F-1', { ts_event: 1751328300123456789n });
        const f2 = makeFill(o1, 'F/2', { quantity: '0.25', liquidity: 'MAKER', fee: '-0.0001' });
        const o2 = bump(o1, {
          status: 'PARTIALLY_FILLED',
          filled_quantity: '0.75',
          avg_fill_price: '65000.1',
        });
        expect((await store.transition('OP-f', 1, o2, [filled(f1), filled(f2)], [f1, f2])).ok).toBe(true);
        const f3 = makeFill(o1, 'F-3', { quantity: '0.75' });
        const o3 = bump(o2, { status: 'FILLED', filled_quantity: '1.5' });
        expect((await store.transition('OP-f', 2, o3, [filled(f3)], [f3])).ok).toBe(true);
        const fills = await store.fills('OP-f');
        expect(fills).toEqual([f1, f2, f3]);
        expect(fills[0]!.ts_event).toBe(1751328300123456789n);
        expect(await store.timeline('OP-f')).toEqual([received(o1), filled(f1), filled(f2), filled(f3)]);
      });

      it('duplicate fill → duplicate_fill and nothing written', async () => {
        const o1 = makeOrder('OP-df');
        await store.create(o1, [received(o1)]);
        const f1 = makeFill(o1, 'F-1');
        const o2 = bump(o1, { status: 'PARTIALLY_FILLED', filled_quantity: '0.5' });
        await store.transition('OP-df', 1, o2, [filled(f1)], [f1]);

        const o3 = bump(o2, { status: 'FILLED', filled_quantity: '1.5' });
        const again = { ...f1, quantity: '1' };
        const newer = makeFill(o1, 'F-2');
        const r = await store.transition('OP-df', 2, o3, [filled(newer), filled(again)], [newer, again]);
        expect(r).toEqual({ ok: false, reason: 'duplicate_fill', current: o2, fill_id: 'F-1' });
        expect(await store.get('OP-df')).toEqual(o2);
        expect(await store.fills('OP-df')).toEqual([f1]);
        expect(await store.timeline('OP-df')).toEqual([received(o1), filled(f1)]);
      });

      it('the same fill twice in one call → duplicate_fill and nothing written', async () => {
        const o1 = makeOrder('OP-df2');
        await store.create(o1, []);
        const f = makeFill(o1, 'F-x');
        const r = await store.transition('OP-df2', 1, bump(o1, { status: 'FILLED' }), [], [f, { ...f }]);
        expect(r).toEqual({ ok: false, reason: 'duplicate_fill', current: o1, fill_id: 'F-x' });
        expect(await store.get('OP-df2')).toEqual(o1);
        expect(await store.fills('OP-df2')).toEqual([]);
      });

      it('the same fill_id on two different orders is two fills', async () => {
        const a = makeOrder('OP-fa');
        const b = makeOrder('OP-fb');
        await store.create(a, []);
        await store.create(b, []);
        expect((await store.transition('OP-fa', 1, bump(a, {}), [], [makeFill(a, 'F-same')])).ok).toBe(true);
        expect((await store.transition('OP-fb', 1, bump(b, {}), [], [makeFill(b, 'F-same')])).ok).toBe(true);
        expect(await store.fills('OP-fa')).toEqual([makeFill(a, 'F-same')]);
        expect(await store.fills('OP-fb')).toEqual([makeFill(b, 'F-same')]);
      });
    });

    describe('queries', () => {
      // 12 orders, one per second from T0, across statuses, venues, strategies, instruments, parents.
      const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
      const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
      const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';
      const rows: Array<[string, OrderStatus, string | null, string, string, string | null]> = [
        // id, status, venue, strategy, instrument, parent
        ['Q00', 'PENDING', null, 's1', BTC, null],
        ['Q01', 'SUBMITTED', 'BINANCE-SPOT', 's1', BTC, null],
        ['Q02', 'FILLED', 'BINANCE-SPOT', 's1', ETH, null],
        ['Q03', 'FILLED', 'BYBIT-SPOT', 's2', BTC, null],
        ['Q04', 'CANCELED', 'BINANCE-FUTURES', 's2', PERP, null],
        ['Q05', 'ACCEPTED', 'BINANCE-SPOT', 's1', BTC, 'ORD-Q01'],
        ['Q06', 'FILLED', 'BINANCE-SPOT', 's1', BTC, 'ORD-Q01'],
        ['Q07', 'PARTIALLY_FILLED', 'BYBIT-SPOT', 's1', BTC, 'ORD-Q01'],
        ['Q08', 'DENIED', null, 's3', ETH, null],
        ['Q09', 'REJECTED', 'BINANCE-SPOT', 's2', ETH, null],
        ['Q10', 'FILLED', 'BINANCE-FUTURES', 's2', PERP, 'ORD-Q04'],
        ['Q11', 'SUBMITTED', 'BINANCE-SPOT', 's1', BTC, 'ORD-Q01'],
      ];
      const at = (i: number) => T0 + BigInt(i) * SEC;
      const orders = rows.map(([id, status, venue, strategy_id, instrument_key, parent_order_id], i) =>
        makeOrder(id, {
          status,
          venue,
          strategy_id,
          instrument_key,
          parent_order_id,
          ts_created: at(i),
          ts_updated: at(i),
        }),
      );
      const ids = (os: OrderRecord[]) => os.map((o) => o.operation_id);
      /** What a query must return: matching rows, newest first. */
      const expectIds = (pred: (o: OrderRecord) => boolean) =>
        ids(orders.filter(pred).sort((a, b) => (a.ts_created > b.ts_created ? -1 : 1)));

      beforeEach(async () => {
        await Promise.all(orders.map((o) => store.create(o, [received(o)])));
      });

      it('no filter: everything, newest first', async () => {
        expect(ids(await store.query({}))).toEqual(expectIds(() => true));
        expect(await store.query({})).toEqual([...orders].reverse());
      });

      it('by one status and by several statuses', async () => {
        expect(ids(await store.query({ status: 'FILLED' }))).toEqual(['Q10', 'Q06', 'Q03', 'Q02']);
        expect(ids(await store.query({ status: ['SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'] }))).toEqual(
          expectIds((o) => ['SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'].includes(o.status)),
        );
        expect(ids(await store.query({ status: ['FILLED'] }))).toEqual(['Q10', 'Q06', 'Q03', 'Q02']);
        expect(ids(await store.query({ status: ['EXPIRED'] }))).toEqual([]);
        expect(await store.query({ status: [] })).toEqual([]);
      });

      it('by venue, strategy_id, instrument_key, parent_order_id', async () => {
        expect(ids(await store.query({ venue: 'BYBIT-SPOT' }))).toEqual(['Q07', 'Q03']);
        expect(ids(await store.query({ strategy_id: 's2' }))).toEqual(['Q10', 'Q09', 'Q04', 'Q03']);
        expect(ids(await store.query({ instrument_key: PERP }))).toEqual(['Q10', 'Q04']);
        expect(ids(await store.query({ parent_order_id: 'ORD-Q01' }))).toEqual(['Q11', 'Q07', 'Q06', 'Q05']);
        expect(ids(await store.query({ venue: 'NOWHERE' }))).toEqual([]);
      });

      it('combinations of filters', async () => {
        expect(ids(await store.query({ status: 'FILLED', venue: 'BINANCE-SPOT' }))).toEqual(['Q06', 'Q02']);
        expect(ids(await store.query({ status: ['FILLED', 'SUBMITTED'], strategy_id: 's1' }))).toEqual(
          expectIds((o) => ['FILLED', 'SUBMITTED'].includes(o.status) && o.strategy_id === 's1'),
        );
        expect(ids(await store.query({ strategy_id: 's1', instrument_key: BTC }))).toEqual(
          expectIds((o) => o.strategy_id === 's1' && o.instrument_key === BTC),
        );
        expect(
          ids(await store.query({ parent_order_id: 'ORD-Q01', status: ['FILLED', 'PARTIALLY_FILLED'] })),
        ).toEqual(['Q07', 'Q06']);
        expect(
          ids(await store.query({ venue: 'BINANCE-SPOT', instrument_key: ETH, strategy_id: 's2' })),
        ).toEqual(['Q09']);
        expect(
          ids(
            await store.query({
              status: ['SUBMITTED', 'ACCEPTED', 'FILLED'],
              venue: 'BINANCE-SPOT',
              strategy_id: 's1',
              instrument_key: BTC,
              parent_order_id: 'ORD-Q01',
              from: at(5),
              to: at(11),
              limit: 10,
            }),
          ),
        ).toEqual(['Q06', 'Q05']);
      });

      it('time range: from inclusive, to exclusive, on ts_created', async () => {
        expect(ids(await store.query({ from: at(3), to: at(6) }))).toEqual(['Q05', 'Q04', 'Q03']);
        expect(ids(await store.query({ from: at(3) + 1n, to: at(6) + 1n }))).toEqual(['Q06', 'Q05', 'Q04']);
        expect(ids(await store.query({ from: at(11) }))).toEqual(['Q11']);
        expect(ids(await store.query({ to: at(1) }))).toEqual(['Q00']);
        expect(ids(await store.query({ to: at(0) }))).toEqual([]);
        expect(ids(await store.query({ from: at(4), to: at(4) }))).toEqual([]);
        expect(ids(await store.query({ from: at(5), to: at(4) }))).toEqual([]);
        expect(ids(await store.query({ from: 0n, to: at(12) }))).toEqual(expectIds(() => true));
        expect(ids(await store.query({ status: 'FILLED', from: at(2), to: at(10) }))).toEqual([
          'Q06',
          'Q03',
          'Q02',
        ]);
        expect(ids(await store.query({ strategy_id: 's1', from: at(5), to: at(7) }))).toEqual(['Q06', 'Q05']);
      });

      it('limit keeps the newest', async () => {
        expect(ids(await store.query({ limit: 3 }))).toEqual(['Q11', 'Q10', 'Q09']);
        expect(ids(await store.query({ status: 'FILLED', limit: 2 }))).toEqual(['Q10', 'Q06']);
        expect(ids(await store.query({ limit: 5000 }))).toHaveLength(12);
        await expect(store.query({ limit: 0 })).rejects.toThrow(/limit/);
        await expect(store.query({ limit: 1.5 })).rejects.toThrow(/limit/);
      });

      it('follows transitions (an order leaves its old status)', async () => {
        const q01 = orders[1]!;
        const next = bump(q01, { status: 'FILLED' });
        expect((await store.transition('Q01', 1, next, [])).ok).toBe(true);
        expect(ids(await store.query({ status: 'SUBMITTED' }))).toEqual(['Q11']);
        expect(ids(await store.query({ status: 'FILLED' }))).toEqual(['Q10', 'Q06', 'Q03', 'Q02', 'Q01']);
      });
    });

    it('default limit is 100', async () => {
      const many = Array.from({ length: 105 }, (_, i) =>
        makeOrder(`M${String(i).padStart(3, '0')}`, {
          ts_created: T0 + BigInt(i),
          ts_updated: T0 + BigInt(i),
        }),
      );
      await Promise.all(many.map((o) => store.create(o, [])));
      const page = await store.query({});
      expect(page).toHaveLength(100);
      expect(page[0]!.operation_id).toBe('M104');
      expect(page[99]!.operation_id).toBe('M005');
    });

    // Only durable adapters: the memory-only store keeps nothing across a restart by design.
    if (opts.durable) {
      it('everything survives a restart', async () => {
        if (!h.reopen) throw new Error('a durable harness must provide reopen()');
        const o1 = makeOrder('OP-r1');
        const o2 = makeOrder('OP-r2', {
          ts_created: T0 + SEC,
          ts_updated: T0 + SEC,
          exec_algorithm_params: { a: [[1]] },
        });
        await store.create(o1, [received(o1)]);
        await store.create(o2, [received(o2)]);
        const f1 = makeFill(o1, 'F-r1');
        const o1b = bump(o1, { status: 'PARTIALLY_FILLED', filled_quantity: '0.5' });
        await store.transition('OP-r1', 1, o1b, [filled(f1)], [f1]);
        const before = {
          q: await store.query({}),
          t1: await store.timeline('OP-r1'),
          t2: await store.timeline('OP-r2'),
        };

        store = await h.reopen();
        expect(await store.get('OP-r1')).toEqual(o1b);
        expect(await store.get('OP-r2')).toEqual(o2);
        expect(await store.query({})).toEqual(before.q);
        expect(await store.timeline('OP-r1')).toEqual(before.t1);
        expect(await store.timeline('OP-r2')).toEqual(before.t2);
        expect(await store.fills('OP-r1')).toEqual([f1]);
        // and the reopened store keeps enforcing the rules
        expect((await store.create(o1, [])).created).toBe(false);
        expect(await store.transition('OP-r1', 2, bump(o1b, {}), [], [f1])).toEqual({
          ok: false,
          reason: 'duplicate_fill',
          current: o1b,
          fill_id: 'F-r1',
        });
        expect((await store.transition('OP-r1', 1, bump(o1, {}), [])).ok).toBe(false);
        const o1c = bump(o1b, { status: 'FILLED' });
        expect(await store.transition('OP-r1', 2, o1c, [])).toEqual({ ok: true, order: o1c });
      });
    }
  });
}

/**
 * Reconciliation of a Deribit account through the ccxt adapter on the local Deribit: the edge sends
 * an inverse perpetual market order and a resting future order and goes down before it records
 * what happened; a fresh session's reconciler (stateful/edge/reconcile) recovers it at start —
 * fills recorded once, the position in USD, the resting order ACCEPTED — and a second run is a no-op.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDeribit } from '../../../dev/local-deribit/index.ts';
import type { CcxtVenue } from '../../../infra/ccxt/index.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import type { OrderInstruction } from '../../../shared/domain/types.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import { MemoryReconciliationLog } from '../../../stateful/edge/reconcile/log.ts';
import { createReconciler, type Reconciler } from '../../../stateful/edge/reconcile/reconciler.ts';
import { createRoutedOrder } from '../../support/routed-order.ts';
import { wallClock } from '../ccxt/support.ts';
import { eventually, FUTURE, localDeribit, PERP, session } from './support.ts';

const ACCOUNT = 'deribit-test';

class Bus implements Pick<EventBus, 'publish'> {
  readonly published: unknown[] = [];
  async publish(_topic: string, data: unknown): Promise<string> {
    this.published.push(JSON.parse(JSON.stringify(data)));
    return String(this.published.length);
  }
}

describe('reconciliation against the local Deribit', () => {
  let d: LocalDeribit;
  const venues: CcxtVenue[] = [];
  const orders = LocalOrderStore.memory();
  const positions = LocalPositionStore.memory();
  const bus = new Bus();
  const recorder = new ExecutionRecorder({ orders, positions, bus, clock: wallClock });
  let reconciler: Reconciler;

  beforeAll(async () => {
    d = await localDeribit({ seed: 5 });
    const edge = session(d, { timeSyncIntervalMs: 0 }).venue;
    venues.push(edge);
    await edge.connect();
    const book = await edge.fetchBook(FUTURE, 1);
    const far = toDec(book.bids[0]?.price ?? '60000')
      .times('0.8')
      .toDecimalPlaces(0)
      .toFixed();
    const send = async (op: string, over: Partial<OrderInstruction>) => {
      const instruction: OrderInstruction = {
        operation_id: op,
        instrument_key: PERP,
        side: 'BUY',
        quantity: '1000',
        price: null,
        order_type: 'MARKET',
        time_in_force: 'GTC',
        strategy_id: 'recon-deribit',
        exec_algorithm: 'NORMAL',
        exec_algorithm_params: {},
        ...over,
      };
      const o = await createRoutedOrder(orders, instruction, {
        venue: 'DERIBIT',
        account_id: ACCOUNT,
        ts: wallClock.now(),
      });
      const sub = await recorder.recordSubmitted(op, o.order_id);
      if (sub.kind !== 'recorded') throw new Error(`submit of ${op}: ${sub.kind}`);
      return edge.submit({
        client_order_id: o.order_id,
        instrument_key: o.instrument_key,
        side: o.side,
        order_type: o.order_type,
        quantity: o.quantity,
        price: o.price,
        time_in_force: o.time_in_force,
      });
    };
    await send('OP-PERP', {});
    await send('OP-FUT', {
      instrument_key: FUTURE,
      order_type: 'LIMIT',
      price: String(Math.round(Number(far) / 2.5) * 2.5),
      quantity: '200',
    });
    await eventually(
      async () =>
        (await edge.fetchOrder(orderIdFor('OP-PERP'), PERP))?.status === 'FILLED' ? true : undefined,
      'perp filled',
    );
    await edge.close();

    const venue = session(d, { timeSyncIntervalMs: 0 }).venue;
    venues.push(venue);
    await venue.connect();
    reconciler = createReconciler({
      venue,
      recorder,
      orders,
      positions,
      bus,
      clock: wallClock,
      journal: new MemoryReconciliationLog(),
      intervalMs: 0,
      graceMs: 0,
      instrumentKeys: [PERP, FUTURE],
    });
  }, 60_000);

  afterAll(async () => {
    for (const v of venues) await v.close().catch(() => undefined);
    await d?.stop();
    expect(d.unhandledRequests).toEqual([]);
  });

  it('recovers the fills (once), the USD position and the resting order', async () => {
    const report = await reconciler.runOnce();
    expect(report.errors).toEqual([]);
    expect(report.corrections.length).toBeGreaterThan(0);
    const perp = await orders.get('OP-PERP');
    expect(perp).toMatchObject({ status: 'FILLED', filled_quantity: '1000' });
    const venueTrades = (await (venues[1] as CcxtVenue).fetchTrades(PERP, report.since)).filter(
      (t) => t.venue_order_id === perp?.venue_order_id,
    );
    expect(venueTrades.length).toBeGreaterThan(0);
    const fills = await orders.fills('OP-PERP');
    expect(fills.map((f) => f.fill_id).sort()).toEqual(
      venueTrades.map((t) => `${perp?.order_id}-T${t.trade_id}`).sort(),
    );
    for (const f of fills) expect(f.fee_currency).toBe('BTC');
    expect(await positions.get(ACCOUNT, PERP)).toMatchObject({ quantity: '1000' });
    expect(await orders.get('OP-FUT')).toMatchObject({ status: 'ACCEPTED' });
    expect(report.differences.filter((x) => x.kind === 'position_mismatch')).toEqual([]);
  });

  it('a second run corrects nothing', async () => {
    const fills = (await orders.fills('OP-PERP')).length;
    const report = await reconciler.runOnce();
    expect(report.errors).toEqual([]);
    expect(report.corrections).toEqual([]);
    expect((await orders.fills('OP-PERP')).length).toBe(fills);
  });
});

/**
 * Reconciliation against a real venue protocol: the ccxt adapter on the local Binance-compatible
 * exchange (stateful/local-exchange). "The edge" sends orders and goes down before it records what
 * happened; a fresh session's reconciler recovers it at start — fills recorded once, a second run
 * is a no-op — and an offline venue is DEGRADED with our books untouched.
 */
import ccxt from 'ccxt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ccxtOptionsFor, type LocalExchange, startLocalExchange } from '../../../dev/local-exchange/index.ts';
import { type CcxtVenue, createCcxtVenue } from '../../../infra/ccxt/index.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { OrderInstruction, OrderRecord } from '../../../shared/domain/types.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import { ReconciliationDifferenceMessageSchema } from '../../../shared/recon/messages.ts';
import { MemoryReconciliationLog } from '../../../stateful/edge/reconcile/log.ts';
import { createReconciler, type Reconciler } from '../../../stateful/edge/reconcile/reconciler.ts';
import { createRoutedOrder } from '../../support/routed-order.ts';

const VENUE = 'BINANCE-SPOT';
const ACCOUNT = 'binance-spot-test';
const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const wallClock: Clock = { now: (): Nanos => BigInt(Date.now()) * 1_000_000n };

class Bus implements Pick<EventBus, 'publish'> {
  readonly published: Array<{ topic: string; data: unknown; attributes: Record<string, string> }> = [];
  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    this.published.push({ topic, data: JSON.parse(JSON.stringify(data)), attributes });
    return String(this.published.length);
  }
}

/** An order as the pipeline leaves it after routing it to VENUE (PENDING, risk-approved). */
function routed(orders: OrderStore, op: string, over: Partial<OrderInstruction>): Promise<OrderRecord> {
  const instruction: OrderInstruction = {
    operation_id: op,
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.01',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'recon-it',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    ...over,
  };
  return createRoutedOrder(orders, instruction, { venue: VENUE, account_id: ACCOUNT, ts: wallClock.now() });
}

async function eventually<T>(f: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('reconciliation against the local exchange (ccxt adapter)', () => {
  let ex: LocalExchange;
  const sessions: CcxtVenue[] = [];
  const orders = LocalOrderStore.memory();
  const positions = LocalPositionStore.memory();
  const bus = new Bus();
  const recorder = new ExecutionRecorder({ orders, positions, bus, clock: wallClock });
  const journal = new MemoryReconciliationLog();
  let reconciler: Reconciler;
  let manualClientId = '';

  const session = (): CcxtVenue => {
    const v = createCcxtVenue({
      venue: {
        id: VENUE,
        exchange: 'binance',
        mode: 'LIVE',
        sandbox: false,
        instrument_types: ['SPOT_PAIR'],
        rate_limit_per_second: 50,
        urls: { rest: ex.url, ws: ex.url.replace(/^http/, 'ws') },
      },
      account: { account_id: ACCOUNT, api_key: ex.apiKey, api_secret: ex.secret },
      clock: wallClock,
      instrumentKeys: [BTC],
      requestTimeoutMs: 2_000,
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      breaker: { consecutiveFailures: 1000, halfOpenAfterMs: 100 },
      timeSyncIntervalMs: 0,
    });
    sessions.push(v);
    return v;
  };

  beforeAll(async () => {
    ex = await startLocalExchange({ seed: 11 });

    // The edge before it went down: it recorded SUBMITTED (write-ahead), sent, and died.
    const edge = session();
    await edge.connect();
    const book = await edge.fetchBook(BTC, 5);
    const bid = Number(book.bids[0]?.price ?? '60000');
    const far = (Math.floor(bid * 0.9 * 100) / 100).toFixed(2);

    const send = async (op: string, over: Partial<OrderInstruction>) => {
      const o = await routed(orders, op, over);
      const sub = await recorder.recordSubmitted(op, o.order_id);
      if (sub.kind !== 'recorded') throw new Error(`submit of ${op}: ${sub.kind}`);
      return edge.submit({
        client_order_id: o.order_id,
        instrument_key: BTC,
        side: o.side,
        order_type: o.order_type,
        quantity: o.quantity,
        price: o.price,
        time_in_force: o.time_in_force,
      });
    };
    await send('OP-MKT', { quantity: '0.02' }); // fills at the exchange
    await send('OP-LMT', { order_type: 'LIMIT', price: far }); // rests: its ack is lost
    await send('OP-CXL', { order_type: 'LIMIT', price: far }); // then canceled at the exchange
    await edge.cancel(orderIdFor('OP-CXL'), BTC);
    await eventually(
      async () =>
        (await edge.fetchOrder(orderIdFor('OP-MKT'), BTC))?.status === 'FILLED' ? true : undefined,
      'the market order to fill',
    );
    await edge.close();

    // Somebody trades by hand on the same account with their own client id.
    const manual = new ccxt.binance(ccxtOptionsFor(ex));
    await ex.configureCcxt(manual);
    await manual.loadMarkets();
    const placed = await manual.createOrder('BTC/USDT', 'limit', 'sell', 0.001, Number(far) * 2);
    manualClientId = String(placed.clientOrderId ?? '');

    // The edge restarts: a new session and its reconciler.
    const venue = session();
    await venue.connect();
    reconciler = createReconciler({
      venue,
      recorder,
      orders,
      positions,
      bus,
      clock: wallClock,
      journal,
      intervalMs: 0,
      graceMs: 0,
      instrumentKeys: [BTC],
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => undefined);
    await ex?.stop();
  });

  it('recovers at start what happened while the edge was down — fills recorded once', async () => {
    const report = await reconciler.runOnce();
    expect(report.errors).toEqual([]);

    const venue = sessions[1] as CcxtVenue;
    const trades = await venue.fetchTrades(BTC, report.since);
    const mkt = await orders.get('OP-MKT');
    const mktTrades = trades.filter((t) => t.venue_order_id === mkt?.venue_order_id);
    expect(mktTrades.length).toBeGreaterThan(0);
    expect(mkt).toMatchObject({ status: 'FILLED', filled_quantity: '0.02' });
    const fills = await orders.fills('OP-MKT');
    expect(fills.map((f) => f.fill_id).sort()).toEqual(
      mktTrades.map((t) => `${mkt?.order_id}-T${t.trade_id}`).sort(),
    );
    expect(await positions.get(ACCOUNT, BTC)).toMatchObject({ quantity: '0.02' });

    expect(await orders.get('OP-LMT')).toMatchObject({ status: 'ACCEPTED' });
    expect((await orders.get('OP-LMT'))?.venue_order_id).not.toBeNull();
    expect(await orders.get('OP-CXL')).toMatchObject({ status: 'CANCELED' });

    // The hand-placed order is reported, never touched.
    const manual = report.differences.find((d) => d.kind === 'missing_order');
    expect(manual).toMatchObject({ missing: 'venue_only', client_order_id: manualClientId });
    expect(report.status).toBe('DIFFERENCES');
    expect(report.open).toEqual([manual?.key]);

    const messages = bus.published
      .filter((m) => m.attributes.source === 'reconciler')
      .map((m) => ReconciliationDifferenceMessageSchema.parse(m.data));
    expect(
      messages.filter((m) => m.kind === 'missing_fill' && m.correction?.outcome === 'recorded'),
    ).toHaveLength(mktTrades.length);
    expect(messages.some((m) => m.kind === 'missing_order' && m.correction === null)).toBe(true);
  });

  it('running it again is a no-op', async () => {
    const published = bus.published.length;
    const fillsBefore = await orders.fills('OP-MKT');
    const positionBefore = await positions.get(ACCOUNT, BTC);
    const report = await reconciler.runOnce();
    expect(report.errors).toEqual([]);
    expect(report.corrections).toEqual([]);
    expect(report.recorded).toBe(0);
    expect(report.differences.map((d) => d.kind)).toEqual(['missing_order']);
    expect(bus.published.length).toBe(published);
    expect(await orders.fills('OP-MKT')).toEqual(fillsBefore);
    expect(await positions.get(ACCOUNT, BTC)).toEqual(positionBefore);
  });

  it('an offline venue is DEGRADED: nothing is read as flat, positions untouched', async () => {
    const positionBefore = await positions.get(ACCOUNT, BTC);
    const ordersBefore = await Promise.all(['OP-MKT', 'OP-LMT', 'OP-CXL'].map((op) => orders.get(op)));
    const published = bus.published.length;
    ex.faults.offline();
    try {
      const report = await reconciler.runOnce();
      expect(report.status).toBe('DEGRADED');
      expect(report.errors.length).toBeGreaterThan(0);
      expect(report.differences).toEqual([]);
      expect(reconciler.health()).toMatchObject({ ok: false, state: 'DEGRADED' });
    } finally {
      ex.faults.online();
    }
    expect(await positions.get(ACCOUNT, BTC)).toEqual(positionBefore);
    expect(await Promise.all(['OP-MKT', 'OP-LMT', 'OP-CXL'].map((op) => orders.get(op)))).toEqual(
      ordersBefore,
    );
    expect(bus.published.length).toBe(published);

    // Back online: reconciled again, still nothing to correct.
    const after = await eventually(async () => {
      const r = await reconciler.runOnce();
      return r.status === 'DEGRADED' ? undefined : r;
    }, 'the venue to answer again');
    expect(after.corrections).toEqual([]);
  });
});

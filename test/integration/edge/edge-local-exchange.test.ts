/**
 * The venue edge through the REAL ccxt client (infra/ccxt) against the local Binance-spot exchange
 * (stateful/local-exchange) on loopback: embedded stores, the in-process bus, the wall clock.
 * Orders are checked on both sides: our books (order store, fills, positions, exec.* messages) and
 * the exchange's (its orders by client id, its balances).
 */
import ccxt from 'ccxt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ccxtOptionsFor, type LocalExchange } from '../../../dev/local-exchange/index.ts';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import {
  ACCOUNT,
  BTC,
  clock,
  createRoutedOrder,
  EdgeOnExchange,
  type EdgePorts,
  eventually,
  localExchange,
  publishCancel,
  publishRoute,
  untilStatus,
} from './support.ts';

let ex: LocalExchange;
let observer: InstanceType<typeof ccxt.binance>;

beforeAll(async () => {
  ex = await localExchange();
  observer = new ccxt.binance(ccxtOptionsFor(ex));
  await ex.configureCcxt(observer);
  await observer.loadMarkets();
});
afterAll(async () => {
  await ex?.stop();
});

interface Published {
  topic: string;
  data: Record<string, unknown>;
}

let ports: EdgePorts & { bus: MemoryEventBus };
let published: Published[];
let h: EdgeOnExchange;

beforeEach(async () => {
  ex.faults.reset();
  const bus = new MemoryEventBus();
  published = [];
  for (const topic of ['exec.orders', 'exec.fills', 'risk.state']) {
    await bus.subscribe(topic, `it-tap.${topic}`, async (m) => {
      published.push({
        topic,
        data: JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>,
      });
      return { kind: 'ack' };
    });
  }
  ports = {
    orders: LocalOrderStore.memory(),
    positions: LocalPositionStore.memory(),
    bus,
    algoStates: LocalAlgoStateStore.memory(),
    tradingState: LocalTradingStateStore.memory(),
    market: new LocalMarketStateStore(),
  };
});

afterEach(async () => {
  await h?.stop().catch(() => undefined);
  await ports.bus.close();
});

/** Our BTC on the exchange (free + locked). */
function btcAtExchange(): number {
  const b = ex.balance('BTC');
  return Number(b.free) + Number(b.locked);
}

/** The exchange's orders whose venue client id maps to one of `ids` (through the adapter's mapping). */
async function exchangeOrdersOf(
  ids: readonly string[],
): Promise<Array<{ clientOrderId: string; status: string }>> {
  const venueIds = new Set(ids.map((id) => h.venue.venueClientId(id)));
  const all = await observer.fetchOrders('BTC/USDT', undefined, 1000);
  return all
    .filter((o) => venueIds.has(String(o.clientOrderId)))
    .map((o) => ({ clientOrderId: String(o.clientOrderId), status: String(o.status) }));
}

describe('the edge on the ccxt adapter and the local exchange', () => {
  it('MARKET: SUBMITTED → ACCEPTED → FILLED with the exchange order id, its trade, the position', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const before = btcAtExchange();
    const order = await createRoutedOrder(ports.orders, 'OP-IT-1', { quantity: '0.01' });
    await publishRoute(ports.bus, order);
    const o = await untilStatus(ports.orders, 'OP-IT-1', 'FILLED');
    expect(o.venue_order_id).toMatch(/^\d+$/);
    expect(o.client_order_id).toBe(order.order_id);
    const fills = await ports.orders.fills('OP-IT-1');
    expect(fills.length).toBeGreaterThanOrEqual(1);
    expect(fills.every((f) => f.fill_id.startsWith(`${order.order_id}-T`))).toBe(true);
    expect(fills.reduce((s, f) => s.plus(f.quantity), toDec('0')).toString()).toBe('0.01');
    expect((await ports.orders.timeline('OP-IT-1')).map((e) => e.type).slice(3, 5)).toEqual([
      'OrderSubmitted',
      'OrderAccepted',
    ]);
    expect((await ports.positions.get(ACCOUNT, BTC))?.quantity).toBe('0.01');
    expect(btcAtExchange() - before).toBeCloseTo(0.01, 10);
    await eventually(async () => (published.some((p) => p.topic === 'exec.fills') ? true : undefined));
  });

  it('TWAP in 3 slices: one exchange order per child, fills on the parent, FILLED', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const before = btcAtExchange();
    const order = await createRoutedOrder(ports.orders, 'OP-IT-TWAP', {
      quantity: '0.03',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 3, max_slices: 3 },
    });
    await publishRoute(ports.bus, order);
    const o = await untilStatus(ports.orders, 'OP-IT-TWAP', 'FILLED');
    expect(o.filled_quantity).toBe('0.03');
    const children = [1, 2, 3].map((i) => `${order.order_id}-S${i}`);
    const atExchange = await exchangeOrdersOf(children);
    expect(atExchange).toHaveLength(3);
    expect(new Set(atExchange.map((x) => x.clientOrderId)).size).toBe(3);
    expect(btcAtExchange() - before).toBeCloseTo(0.03, 10);
    const fills = await ports.orders.fills('OP-IT-TWAP');
    expect(new Set(fills.map((f) => f.fill_id.split('-T')[0]))).toEqual(new Set(children));
    expect((await ports.algoStates.get('OP-IT-TWAP'))?.active).toBe(false);
  });

  it('the WebSockets dropped mid-TWAP: no fill lost (REST gap fill on reconnect)', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const before = btcAtExchange();
    const order = await createRoutedOrder(ports.orders, 'OP-IT-WS', {
      quantity: '0.04',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 4, max_slices: 4 },
    });
    await publishRoute(ports.bus, order);
    await eventually(async () =>
      (await ports.orders.get('OP-IT-WS'))?.filled_quantity === '0.01' ? true : undefined,
    );
    // Every socket drops (twice), while slices keep filling at the exchange.
    expect(ex.faults.dropWebSockets()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 700));
    ex.faults.dropWebSockets();
    const o = await untilStatus(ports.orders, 'OP-IT-WS', 'FILLED', 30_000);
    expect(o.filled_quantity).toBe('0.04');
    expect(btcAtExchange() - before).toBeCloseTo(0.04, 10);
    const atExchange = await exchangeOrdersOf([1, 2, 3, 4].map((i) => `${order.order_id}-S${i}`));
    expect(atExchange).toHaveLength(4);
    expect(ex.faults.stats.droppedWebSockets).toBeGreaterThan(0);
  });

  it('killed and restarted mid-TWAP: resumes from the stored state, no child sent twice, total = parent quantity', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const before = btcAtExchange();
    const order = await createRoutedOrder(ports.orders, 'OP-IT-KILL', {
      quantity: '0.03',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 6, max_slices: 3 },
    });
    await publishRoute(ports.bus, order);
    await eventually(async () =>
      (await ports.orders.get('OP-IT-KILL'))?.filled_quantity === '0.01' ? true : undefined,
    );
    await h.restart();
    const o = await untilStatus(ports.orders, 'OP-IT-KILL', 'FILLED', 30_000);
    expect(o.filled_quantity).toBe('0.03');
    const children = [1, 2, 3].map((i) => `${order.order_id}-S${i}`);
    const atExchange = await exchangeOrdersOf(children);
    expect(atExchange).toHaveLength(3);
    expect(btcAtExchange() - before).toBeCloseTo(0.03, 10);
    expect(await ports.orders.fills('OP-IT-KILL')).toHaveLength(
      new Set((await ports.orders.fills('OP-IT-KILL')).map((f) => f.fill_id)).size,
    );
  });

  it('a child whose submit was executed but never answered, then a restart: looked up, not sent twice', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const before = btcAtExchange();
    // The next order request is executed at the exchange and never answered (the adapter times out).
    ex.faults.timeoutNext(1, { path: '/api/v3/order', method: 'POST', execute: true });
    const order = await createRoutedOrder(ports.orders, 'OP-IT-LOST', {
      quantity: '0.02',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 2, max_slices: 2 },
    });
    await publishRoute(ports.bus, order);
    await new Promise((r) => setTimeout(r, 500));
    await h.restart();
    const o = await untilStatus(ports.orders, 'OP-IT-LOST', 'FILLED', 30_000);
    expect(o.filled_quantity).toBe('0.02');
    const atExchange = await exchangeOrdersOf([`${order.order_id}-S1`, `${order.order_id}-S2`]);
    expect(atExchange).toHaveLength(2);
    expect(btcAtExchange() - before).toBeCloseTo(0.02, 10);
  });

  it('a LIMIT order rests and a cancel action cancels it at the exchange', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    const order = await createRoutedOrder(ports.orders, 'OP-IT-L', {
      order_type: 'LIMIT',
      price: '1000',
      quantity: '0.01',
    });
    await publishRoute(ports.bus, order);
    await untilStatus(ports.orders, 'OP-IT-L', 'ACCEPTED');
    await publishCancel(ports.bus, (await ports.orders.get('OP-IT-L')) ?? order);
    await untilStatus(ports.orders, 'OP-IT-L', 'CANCELED');
    const atExchange = await exchangeOrdersOf([order.order_id]);
    expect(atExchange).toEqual([expect.objectContaining({ status: 'canceled' })]);
  });

  it('5xx and 429 bursts: retried (retry diagnostics visible), the order still goes through once', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    ex.faults.failNext(2, { path: '/api/v3/order', method: 'POST', status: 503 });
    ex.faults.rateLimitNext(1, { path: '/api/v3/order', method: 'POST', retryAfterSec: 0 });
    const order = await createRoutedOrder(ports.orders, 'OP-IT-5XX', { quantity: '0.01' });
    await publishRoute(ports.bus, order);
    await untilStatus(ports.orders, 'OP-IT-5XX', 'FILLED');
    expect(await exchangeOrdersOf([order.order_id])).toHaveLength(1);
    const diags = await eventually(async () => {
      const d = published.filter((p) => p.topic === 'exec.orders' && p.data.type === 'venue_diagnostic');
      return d.some((x) => x.data.diagnostic === 'retry') ? d : undefined;
    });
    expect(diags.map((d) => d.data.diagnostic)).toContain('retry');
    const metrics = await h.registry.metrics();
    expect(metrics).toMatch(
      /exec_edge_venue_diagnostics_total\{venue="BINANCE-SPOT",diagnostic="retry"\} [1-9]/,
    );
  });

  it('a failure burst opens the circuit: new orders are REJECTED (CIRCUIT_OPEN), breaker events visible', async () => {
    h = await new EdgeOnExchange(ex, ports).start();
    ex.faults.failNext(1000, { status: 503 });
    const a = await createRoutedOrder(ports.orders, 'OP-IT-CB-A', { quantity: '0.01' });
    await publishRoute(ports.bus, a);
    await eventually(
      async () =>
        published.some(
          (p) =>
            p.data.type === 'venue_diagnostic' &&
            p.data.diagnostic === 'breaker' &&
            p.data.detail !== undefined,
        )
          ? true
          : undefined,
      30_000,
      'breaker diagnostic',
    );
    const b = await createRoutedOrder(ports.orders, 'OP-IT-CB-B', { quantity: '0.01' });
    await publishRoute(ports.bus, b);
    const rejected = await untilStatus(ports.orders, 'OP-IT-CB-B', 'REJECTED');
    expect(rejected.rejection_reason).toMatch(/^CIRCUIT_OPEN: /);
    expect(await h.registry.metrics()).toContain('exec_edge_breaker_open{venue="BINANCE-SPOT"} 1');
    // The venue recovers: the order whose outcome was unknown is resolved — sent at most once.
    ex.faults.reset();
    await untilStatus(ports.orders, 'OP-IT-CB-A', 'FILLED', 30_000).catch(async (err: unknown) => {
      console.log((await ports.orders.get('OP-IT-CB-A'))?.status, h.logs.slice(-60).join('\n'));
      throw err;
    });
    expect(await exchangeOrdersOf([a.order_id])).toHaveLength(1);
    expect(await exchangeOrdersOf([b.order_id])).toHaveLength(0);
  });
});

void clock;

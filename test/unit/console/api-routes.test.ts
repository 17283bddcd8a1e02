/**
 * The console's API routes over the embedded stores: trading-state control with the caller
 * recorded, the execution event stream and its filters, positions marked to the mid, live TCA,
 * backtest results, the local-exchange control, and the console's own files at `/`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { LocalEventFeedStore } from '../../../infra/local/event-feed.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { ORDER_UPDATES_TOPIC, orderUpdateMessage } from '../../../shared/app/messages.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import type { Fill, OrderRecord } from '../../../shared/domain/types.ts';
import { type EventFeedWriter, startEventFeedWriter } from '../../../stateful/api/events/writer.ts';
import { createApp, storeOrderReader } from '../../../stateful/api/index.ts';
import { createRoutedOrder } from '../../support/routed-order.ts';

const T = 1_751_371_200_000_000_000n;
const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

function instruction(op: string, extra: Record<string, unknown> = {}) {
  return {
    operation_id: op,
    instrument_key: KEY,
    side: 'BUY' as const,
    quantity: '2',
    price: null,
    order_type: 'MARKET' as const,
    time_in_force: 'GTC' as const,
    strategy_id: 'alpha',
    exec_algorithm: 'NORMAL' as const,
    exec_algorithm_params: {},
    ...extra,
  };
}

/** A filled order: received, approved at a market mid of 100, routed, filled 2 @ 100.5 (fee 0.2). */
async function filledOrder(orders: LocalOrderStore, op: string): Promise<void> {
  // The record and first timeline as the pipeline makes them, with the approval's reference price.
  const scratch = LocalOrderStore.memory();
  const routed = await createRoutedOrder(scratch, instruction(op), {
    venue: 'BINANCE-SPOT',
    account_id: 'BINANCE-SPOT',
    ts: T,
  });
  const events = (await scratch.timeline(op)).map(
    (e): OrderEvent =>
      e.type === 'OrderRiskApproved'
        ? {
            ...e,
            checks: [
              {
                rule: 'reference_price',
                passed: true,
                limit: null,
                observed: '100',
                message: 'market reference price',
              },
            ],
          }
        : e,
  );
  await orders.create(routed, events);
  const fill: Fill = {
    fill_id: `${op}-f1`,
    order_id: routed.order_id,
    operation_id: op,
    instrument_key: KEY,
    venue: 'BINANCE-SPOT',
    side: 'BUY',
    quantity: '2',
    price: '100.5',
    fee: '0.2',
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: T + 2n,
  };
  const filled: OrderRecord = {
    ...routed,
    status: 'FILLED',
    filled_quantity: '2',
    avg_fill_price: '100.5',
    fees: '0.2',
    version: routed.version + 1,
    ts_updated: T + 2n,
  };
  const r = await orders.transition(
    op,
    routed.version,
    filled,
    [{ type: 'OrderFilled', operation_id: op, ts_event: T + 2n, ts_init: T + 2n, fill }],
    [fill],
  );
  if (!r.ok) throw new Error(r.reason);
}

let dir: string;
let app: ReturnType<typeof createApp>;
let offline = false;
const bus = new MemoryEventBus();
const feed = LocalEventFeedStore.memory();
let writer: EventFeedWriter;
let ordersStore: LocalOrderStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'console-api-'));
  const orders = LocalOrderStore.memory();
  ordersStore = orders;
  const positions = LocalPositionStore.memory();
  const tradingState = LocalTradingStateStore.memory();
  const blobs = new LocalBlobStore(path.join(dir, 'blobs'), { durable: false });
  await filledOrder(orders, 'op-filled');
  await orders.create(
    {
      ...(await createRoutedOrder(LocalOrderStore.memory(), instruction('op-denied'), {
        venue: 'SIM',
        account_id: null,
        ts: T + 5n,
      })),
      status: 'DENIED',
      venue: null,
    },
    [
      {
        type: 'OrderReceived',
        operation_id: 'op-denied',
        ts_event: T + 5n,
        ts_init: T + 5n,
        order_id: 'ord-d',
        instruction: instruction('op-denied'),
        parent_order_id: null,
      },
      {
        type: 'OrderDenied',
        operation_id: 'op-denied',
        ts_event: T + 5n,
        ts_init: T + 5n,
        rule: 'trading_state',
        limit: 'HALTED',
        observed: 'HALTED',
        reason: 'trading is HALTED: every order is denied',
        checks: [],
      },
    ],
  );
  await positions
    .put(
      {
        account_id: 'BINANCE-SPOT',
        instrument_key: KEY,
        quantity: '2',
        avg_entry_price: '100.5',
        realized_pnl: '1.5',
        fees: '0.2',
        venues: { 'BINANCE-SPOT': '2' },
        last_fill_id: 'op-filled-f1',
        version: 1,
        ts_updated: T,
      },
      0,
    )
    .catch(() => undefined);
  // The feed is written from what is published on exec.orders (and the trading-state history).
  writer = await startEventFeedWriter({
    feed,
    bus,
    orders,
    tradingState,
    tradingStatePollMs: 0,
    backfillOrders: 0,
  });
  for (const op of ['op-filled', 'op-denied']) {
    const order = await orders.get(op);
    if (order === null) throw new Error(op);
    await bus.publish(ORDER_UPDATES_TOPIC, orderUpdateMessage(order, ['OrderReceived'], T));
  }
  for (let i = 0; i < 5; i++)
    await bus.publish(ORDER_UPDATES_TOPIC, {
      type: 'venue_diagnostic',
      venue: 'BINANCE-SPOT',
      account_id: 'main',
      diagnostic: 'stream',
      message: `private stream down ${i}`,
      detail: { stream: 'private', state: 'down' },
      ts_event: String(T + 10n + BigInt(i)),
    });
  await bus.publish(ORDER_UPDATES_TOPIC, 'not json {');
  await bus.idle();
  const consoleDir = path.join(dir, 'dist');
  await mkdir(path.join(consoleDir, 'assets'), { recursive: true });
  await writeFile(path.join(consoleDir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(path.join(consoleDir, 'assets', 'app-1.js'), 'console.log(1)');
  app = createApp({
    orders: storeOrderReader(orders),
    positions,
    health: { checks: {} },
    marks: async () => ({ [KEY]: '110' }),
    tradingState: { store: tradingState, initial: 'ACTIVE', now: () => T + 100n },
    events: (q) => feed.page(q),
    tca: orders,
    backtests: blobs,
    localExchange: {
      url: 'http://127.0.0.1:1',
      isOffline: () => offline,
      offline: () => {
        offline = true;
      },
      online: () => {
        offline = false;
      },
    },
    consoleDir,
  });
});

afterAll(async () => {
  await writer.close();
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

const get = async (p: string, headers: Record<string, string> = {}) => {
  const res = await app.request(p, { headers });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { [k: string]: unknown },
  };
};

describe('PUT /api/trading-state', () => {
  it('requires a reason and a known state, naming the field', async () => {
    const res = await app.request('/api/trading-state', {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ state: 'STOP', reason: '' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { issues: unknown } }).error.issues).toEqual([
      { path: 'state', message: 'must be one of ACTIVE, REDUCING, HALTED' },
      { path: 'reason', message: 'a reason is required' },
    ]);
  });

  it('records the caller with the change (auth off: the local operator); GET shows the state and the history', async () => {
    const res = await app.request('/api/trading-state', {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ state: 'HALTED', reason: 'venue incident' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      scope: { kind: 'global' },
      state: 'HALTED',
      updated_by: 'local',
      version: 1,
    });
    const strategy = await app.request('/api/trading-state', {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ state: 'REDUCING', reason: 'drawdown', strategy_id: 'alpha' }),
    });
    expect(await strategy.json()).toMatchObject({
      scope: { kind: 'strategy', strategy_id: 'alpha' },
      updated_by: 'local',
    });
    const { body } = await get('/api/trading-state');
    expect(body.state).toBe('HALTED');
    expect(body.strategies).toMatchObject({ alpha: { state: 'REDUCING' } });
    expect((body.history as unknown[]).length).toBe(2);
  });
});

describe('GET /api/events', () => {
  it('reads order events, trading-state changes and venue diagnostics from the feed, newest first', async () => {
    await writer.syncTradingState();
    const { body } = await get('/api/events?limit=1000');
    const events = body.events as Array<{
      category: string;
      type: string;
      outcome: string;
      actor: string | null;
      message: string;
    }>;
    expect(events.filter((e) => e.category === 'venue').map((e) => e.message)).toEqual([
      'private stream down 4',
      'private stream down 3',
      'private stream down 2',
      'private stream down 1',
      'private stream down 0',
    ]);
    expect(events.find((e) => e.category === 'venue')).toMatchObject({
      type: 'venue_diagnostic.stream',
      outcome: 'warning',
    });
    expect(events.find((e) => e.type === 'OrderFilled')).toMatchObject({
      outcome: 'executed',
      message: 'filled 2 @ 100.5 (TAKER, fee 0.2 USDT)',
    });
    expect(events.find((e) => e.type === 'OrderDenied')?.message).toBe(
      'denied by trading_state: trading is HALTED: every order is denied (limit HALTED, observed HALTED)',
    );
    expect(
      events.find(
        (e) => e.category === 'trading_state' && e.actor === 'local' && e.message.startsWith('global'),
      )?.message,
    ).toBe('global: (none) → HALTED: venue incident');
  });

  it('filters by outcome, category and operation; bad parameters are 400 at their name', async () => {
    const denied = await get('/api/events?outcome=denied,rejected');
    expect((denied.body.events as Array<{ operation_id: string }>).map((e) => e.operation_id)).toEqual([
      'op-denied',
    ]);
    const one = await get('/api/events?category=order&operation_id=op-filled');
    expect((one.body.events as Array<{ type: string }>).map((e) => e.type).reverse()).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderFilled',
    ]);
    const bad = await get('/api/events?outcome=won&limt=3&cursor=abc');
    expect(bad.status).toBe(400);
    expect((bad.body.error as { issues: Array<{ path: string }> }).issues.map((i) => i.path).sort()).toEqual([
      'cursor',
      'limt',
      'outcome',
    ]);
  });

  it('pages with next_cursor: every event once, the last page without a cursor; a redelivery adds nothing', async () => {
    const all = (await get('/api/events?limit=1000')).body.events as Array<{ id: string }>;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/api/events?limit=4${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.events as Array<{ id: string }>).map((e) => e.id));
      cursor = page.body.next_cursor as string | null;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((e) => e.id));
    // The same order update again (a redelivery) and a backfill: nothing new is written.
    const filled = await ordersStore.get('op-filled');
    if (filled === null) throw new Error('op-filled');
    await bus.publish(ORDER_UPDATES_TOPIC, orderUpdateMessage(filled, ['OrderFilled'], T + 1n));
    await writer.backfill(10);
    await bus.idle();
    expect(((await get('/api/events?limit=1000')).body.events as unknown[]).length).toBe(all.length);
  });
});

describe('positions, TCA, backtests', () => {
  it('marks positions to the mid: unrealized PnL and exposure with totals', async () => {
    const { body } = await get('/api/positions/view');
    expect(body.instruments).toMatchObject([
      {
        instrument_key: KEY,
        quantity: '2',
        mark: '110',
        unrealized_pnl: '19',
        exposure: '220',
        realized_pnl: '1.5',
      },
    ]);
    expect(body.totals).toEqual({ realized_pnl: '1.5', unrealized_pnl: '19', exposure: '220', fees: '0.2' });
  });

  it('computes TCA with the backtest definitions: shortfall incl. fees and slippage vs the arrival mid', async () => {
    const { body } = await get('/api/tca');
    // IS = (201 − 200 + 0.2) / 200 = 60 bps; slippage = (100.5 − 100) × 2 / 200 = 50 bps.
    expect(body.orders).toMatchObject([
      { operation_id: 'op-denied', implementation_shortfall_bps: null, fill_ratio: 0 },
      {
        operation_id: 'op-filled',
        arrival_mid: '100',
        avg_fill_price: '100.5',
        implementation_shortfall_bps: 60,
        slippage_bps: 50,
        fill_ratio: 1,
      },
    ]);
    expect(body.total).toMatchObject({
      orders: 2,
      implementation_shortfall_bps: 60,
      slippage_bps: 50,
      fill_ratio: 0.5,
    });
    expect((body.by_venue as Array<{ key: string }>).map((g) => g.key)).toEqual(['(none)', 'BINANCE-SPOT']);
  });

  it('lists no runs in an empty results store and answers 404 for an unknown run', async () => {
    expect((await get('/api/backtests')).body).toEqual({ runs: [], count: 0 });
    expect((await get('/api/backtests/nope')).status).toBe(404);
    expect((await get('/api/backtests/..%2Fx/equity')).status).toBe(400);
  });
});

describe('local exchange control and the console files', () => {
  it('takes the local exchange offline and back', async () => {
    const put = (state: string) =>
      app.request('/api/dev/local-exchange', {
        method: 'PUT',
        headers: JSON_HEADERS,
        body: JSON.stringify({ state }),
      });
    expect(await (await put('offline')).json()).toEqual({ url: 'http://127.0.0.1:1', state: 'offline' });
    expect(offline).toBe(true);
    expect((await put('sideways')).status).toBe(400);
    await put('online');
    expect(offline).toBe(false);
  });

  it('serves the console: index.html for its routes, assets cached, /api never shadowed', async () => {
    const page = await app.request('/orders/op-filled');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>console</title>');
    const asset = await app.request('/assets/app-1.js');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await app.request('/api/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

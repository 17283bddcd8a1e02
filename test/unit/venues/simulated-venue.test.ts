import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { ExecFillMessageSchema, MarketRawQuoteSchema } from '../../../shared/app/execution-messages.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { routedAttributes, routedSubmitMessage, venueCancelMessage } from '../../../shared/app/messages.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import type { OrderInstruction, OrderRecord } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { BusMessage } from '../../../shared/ports/event-bus.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { OrderQuery, OrderStore, TransitionResult } from '../../../shared/ports/order-store.ts';
import { SimulatedVenue, type SimulatedVenueConfig } from '../../../stateful/venues/simulated/venue.ts';
import {
  BTC_SPEC,
  busMessage,
  createRoutedOrder,
  MS,
  SECOND,
  SIM_BTC_SPEC,
  T0,
  transition,
} from './fixtures.ts';

const VENUE: SimulatedVenueConfig = {
  id: 'SIM',
  mode: 'SIMULATED',
  latency_ms: 1,
  shadow: { starting_cash: '100000', cash_currency: 'USD' },
  accounts: [{ account_id: 'SIM', base_currency: 'USD' }],
  instrument_types: ['SPOT_PAIR'],
};

/** An order store whose transitions can be made to fail (a store outage). */
class FlakyOrders implements OrderStore {
  down = false;
  private readonly inner = LocalOrderStore.memory();
  create(...a: Parameters<OrderStore['create']>) {
    return this.inner.create(...a);
  }
  get(op: string) {
    return this.inner.get(op);
  }
  async transition(...a: Parameters<OrderStore['transition']>): Promise<TransitionResult> {
    if (this.down) throw new Error('order store unavailable');
    return this.inner.transition(...a);
  }
  timeline(op: string) {
    return this.inner.timeline(op);
  }
  fills(op: string) {
    return this.inner.fills(op);
  }
  query(q: OrderQuery) {
    return this.inner.query(q);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

interface Harness {
  clock: TestClock;
  orders: FlakyOrders;
  positions: LocalPositionStore;
  market: LocalMarketStateStore;
  bus: MemoryEventBus;
  published: Map<string, BusMessage[]>;
  venue: SimulatedVenue;
}

async function harness(opts: { start?: boolean; seed?: number } = {}): Promise<Harness> {
  const clock = new TestClock(T0);
  const orders = new FlakyOrders();
  const positions = LocalPositionStore.memory();
  const market = new LocalMarketStateStore();
  const bus = new MemoryEventBus();
  const published = new Map<string, BusMessage[]>();
  for (const topic of ['exec.orders', 'exec.fills', 'market.raw']) {
    published.set(topic, []);
    await bus.subscribe(topic, `test.${topic}`, async (m) => {
      published.get(topic)?.push(m);
      return { kind: 'ack' };
    });
  }
  const recorder = new ExecutionRecorder({ orders, positions, bus, clock });
  const venue = new SimulatedVenue(
    {
      venue: VENUE,
      bus,
      recorder,
      instruments: new StaticInstrumentCatalog([BTC_SPEC, SIM_BTC_SPEC]),
      clock,
      market,
      orders,
      positions,
    },
    { tickMs: 0, seed: opts.seed ?? 42 },
  );
  if (opts.start !== false) await venue.start();
  return { clock, orders, positions, market, bus, published, venue };
}

function submitMessage(order: OrderRecord): BusMessage {
  return busMessage(routedSubmitMessage(order, null, T0), routedAttributes(order, 'submit'));
}

async function route(h: Harness, op: string, over: Partial<OrderInstruction> = {}): Promise<OrderRecord> {
  const order = await createRoutedOrder(h.orders, op, over, { ts: h.clock.now() });
  expect(await h.venue.handleMessage(submitMessage(order))).toEqual({ kind: 'ack' });
  return order;
}

/** Move the clock in steps, ticking the venue at each. */
async function run(h: Harness, total: bigint, step: bigint): Promise<void> {
  const end = h.clock.now() + total;
  while (h.clock.now() < end) {
    const next = h.clock.now() + step;
    if (next > end) h.clock.set(end);
    else h.clock.set(next);
    await h.venue.tick();
  }
}

const statusOf = async (h: Harness, op: string) => (await h.orders.get(op))?.status;

describe('SimulatedVenue', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.venue.stop();
    await h.bus.close();
  });

  it('publishes its book with depth and its state for the router as soon as it starts', async () => {
    const [quote] = await h.market.getQuotes([{ venue: 'SIM', instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' }]);
    expect(quote).not.toBeNull();
    expect(quote?.bids).toHaveLength(5);
    expect(quote?.asks).toHaveLength(5);
    expect(toDec(quote?.ask ?? '0').gt(quote?.bid ?? '0')).toBe(true);
    expect(quote?.ts_event).toBe(T0);
    const states = await h.market.getVenueStates(['SIM']);
    expect(states.SIM).toMatchObject({
      status: 'UP',
      latency_ms: 1,
      balances: { USD: '100000', USDT: '100000' },
    });
    expect(h.venue.instrumentKeys()).toEqual(['SIM:SPOT_PAIR:BTC-USDT']);
    expect(h.venue.health().ok).toBe(true);
    await h.bus.idle();
    const raw = h.published.get('market.raw') ?? [];
    expect(raw.length).toBe(1);
    expect(raw[0]?.attributes).toMatchObject({ venue: 'SIM', instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' });
    expect(MarketRawQuoteSchema.parse(JSON.parse(new TextDecoder().decode(raw[0]?.data))).bid).toBe(
      quote?.bid,
    );
  });

  it('takes a MARKET BUY through SUBMITTED → ACCEPTED → FILLED, storing fills and the position', async () => {
    const order = await route(h, 'OP-M1', { quantity: '0.01' });
    expect(await statusOf(h, 'OP-M1')).toBe('SUBMITTED');
    const ask = h.venue.topOfBook('SIM:SPOT_PAIR:BTC-USDT')?.ask ?? 0;
    await run(h, 10n * MS, 10n * MS);

    const stored = await h.orders.get('OP-M1');
    expect(stored).toMatchObject({
      status: 'FILLED',
      filled_quantity: '0.01',
      client_order_id: order.order_id,
      venue_order_id: `SIM-${order.order_id}`,
    });
    const timeline = (await h.orders.timeline('OP-M1')).map((e) => e.type);
    expect(timeline).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
      'OrderFilled',
    ]);
    const fills = await h.orders.fills('OP-M1');
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({
      fill_id: `${order.order_id}-F1`,
      order_id: order.order_id,
      instrument_key: BTC_SPEC.instrument_key,
      venue: 'SIM',
      quantity: '0.01',
      liquidity: 'TAKER',
      ts_event: T0 + MS, // the order reached the matching after the venue's 1 ms latency
    });
    // Taker at the ask seen at arrival (the book 1 ms later: no snapshot in between).
    expect(Number(fills[0]?.price)).toBe(ask);
    expect(
      toDec(fills[0]?.fee ?? '0').eq(
        toDec('0.01')
          .times(fills[0]?.price ?? '0')
          .times('0.001'),
      ),
    ).toBe(true);
    const pos = await h.positions.get('SIM', BTC_SPEC.instrument_key);
    expect(pos).toMatchObject({
      quantity: '0.01',
      avg_entry_price: fills[0]?.price,
      venues: { SIM: '0.01' },
    });

    await h.bus.idle();
    const fillMsgs = h.published.get('exec.fills') ?? [];
    expect(fillMsgs).toHaveLength(1);
    expect(fillMsgs[0]?.attributes).toMatchObject({ venue: 'SIM', instrument_key: BTC_SPEC.instrument_key });
    expect(
      ExecFillMessageSchema.parse(JSON.parse(new TextDecoder().decode(fillMsgs[0]?.data))).order_status,
    ).toBe('FILLED');
    // The simulated cash moved by the cost of the buy and its fee.
    await run(h, 6n * SECOND, SECOND);
    const cash = (await h.market.getVenueStates(['SIM'])).SIM?.balances?.USDT ?? '0';
    const cost = toDec('0.01')
      .times(fills[0]?.price ?? '0')
      .plus(fills[0]?.fee ?? '0');
    expect(toDec(cash).eq(toDec('100000').minus(cost))).toBe(true);
  });

  it('rests a LIMIT far from the market and cancels it on request', async () => {
    await route(h, 'OP-L1', { order_type: 'LIMIT', price: '30000', quantity: '0.001' });
    await run(h, 2n * SECOND, 100n * MS);
    expect(await statusOf(h, 'OP-L1')).toBe('ACCEPTED');
    expect(h.venue.health().detail).toContain('1 working orders');

    // The pipeline records the request (PENDING_CANCEL) and tells the venue on orders.routed.
    const pending = await transition(h.orders, 'OP-L1', {
      type: 'RequestCancel',
      reason: 'user asked',
      ts_event: h.clock.now(),
      ts_init: h.clock.now(),
    });
    const cancel = venueCancelMessage(pending, 'user asked', h.clock.now());
    expect(await h.venue.handleMessage(busMessage(cancel, routedAttributes(pending, 'cancel')))).toEqual({
      kind: 'ack',
    });
    await run(h, 10n * MS, 5n * MS);
    const stored = await h.orders.get('OP-L1');
    expect(stored).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
    const timeline = (await h.orders.timeline('OP-L1')).map((e) => e.type);
    expect(timeline.slice(-2)).toEqual(['OrderCancelRequested', 'OrderCanceled']);
    expect(h.venue.health().detail).toContain('0 working orders');
  });

  it('runs a TWAP over 60 s in 3 slices: three child fills at the slice times, all on the parent', async () => {
    const order = await route(h, 'OP-T1', {
      quantity: '0.003',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60, max_slices: 3 },
    });
    expect(await statusOf(h, 'OP-T1')).toBe('ACCEPTED');
    // Irregular steps: the slices do not depend on the tick cadence.
    await run(h, 61n * SECOND, 7_300n * MS);

    const fills = await h.orders.fills('OP-T1');
    expect(fills.map((f) => f.fill_id)).toEqual([
      `${order.order_id}-S1-F1`,
      `${order.order_id}-S2-F1`,
      `${order.order_id}-S3-F1`,
    ]);
    expect(fills.map((f) => f.ts_event)).toEqual([T0 + MS, T0 + 20n * SECOND + MS, T0 + 40n * SECOND + MS]);
    expect(fills.map((f) => f.quantity)).toEqual(['0.001', '0.001', '0.001']);
    expect(fills.every((f) => f.order_id === order.order_id && f.operation_id === 'OP-T1')).toBe(true);
    expect(await h.orders.get('OP-T1')).toMatchObject({ status: 'FILLED', filled_quantity: '0.003' });
    expect((await h.positions.get('SIM', BTC_SPEC.instrument_key))?.quantity).toBe('0.003');
    expect(h.venue.algorithms().size).toBe(0);
  });

  it('a duplicate routed message makes no second order at the engine and no second fill', async () => {
    const order = await route(h, 'OP-D1', { quantity: '0.01' });
    expect(await h.venue.handleMessage(submitMessage(order))).toEqual({ kind: 'ack' });
    await run(h, 20n * MS, 5n * MS);
    expect(await h.venue.handleMessage(submitMessage(order))).toEqual({ kind: 'ack' });
    await run(h, 20n * MS, 5n * MS);
    expect(await h.orders.fills('OP-D1')).toHaveLength(1);
    expect(await h.orders.get('OP-D1')).toMatchObject({ status: 'FILLED', filled_quantity: '0.01' });
    expect((await h.positions.get('SIM', BTC_SPEC.instrument_key))?.quantity).toBe('0.01');
    // A duplicate algorithm parent does not restart its schedule either.
    const twap = await route(h, 'OP-D2', {
      quantity: '0.002',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 10, max_slices: 2 },
    });
    await h.venue.handleMessage(submitMessage(twap));
    await run(h, 11n * SECOND, SECOND);
    expect(await h.orders.fills('OP-D2')).toHaveLength(2);
    expect(await statusOf(h, 'OP-D2')).toBe('FILLED');
  });

  it('cancels an algorithm parent: open children are canceled and the parent ends CANCELED', async () => {
    await route(h, 'OP-C1', {
      quantity: '0.002',
      order_type: 'LIMIT',
      price: '30000',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60, max_slices: 2 },
    });
    await run(h, SECOND, 100n * MS);
    expect(h.venue.algorithms().get('OP-C1')?.children).toHaveLength(1);
    const pending = await transition(h.orders, 'OP-C1', {
      type: 'RequestCancel',
      reason: 'stop',
      ts_event: h.clock.now(),
      ts_init: h.clock.now(),
    });
    await h.venue.handleMessage(busMessage(venueCancelMessage(pending, 'stop', h.clock.now())));
    await run(h, 10n * MS, 5n * MS);
    expect(await h.orders.get('OP-C1')).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
    expect(h.venue.algorithms().size).toBe(0);
  });

  it('runs an ICEBERG one display child at a time', async () => {
    const order = await route(h, 'OP-I1', {
      quantity: '0.003',
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.001' },
    });
    await run(h, 50n * MS, 5n * MS);
    const fills = await h.orders.fills('OP-I1');
    expect(fills.map((f) => f.fill_id)).toEqual([1, 2, 3].map((k) => `${order.order_id}-R${k}-F1`));
    expect(await statusOf(h, 'OP-I1')).toBe('FILLED');
  });

  it('rejects what the venue cannot take and dead-letters malformed messages', async () => {
    const bad = await route(h, 'OP-R1', { quantity: '0.000001' }); // below min_qty / off the step grid
    await run(h, 10n * MS, 5n * MS);
    expect(await h.orders.get('OP-R1')).toMatchObject({ status: 'REJECTED' });
    expect((await h.orders.get('OP-R1'))?.rejection_reason).toMatch(/^INVALID_ORDER/);
    expect(bad.venue).toBe('SIM');

    const eth = await createRoutedOrder(h.orders, 'OP-R2', {
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
    });
    await h.venue.handleMessage(submitMessage(eth));
    expect((await h.orders.get('OP-R2'))?.rejection_reason).toMatch(/^UNKNOWN_INSTRUMENT/);

    const algo = await route(h, 'OP-R3', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: -1 },
    });
    expect(algo.exec_algorithm).toBe('TWAP');
    expect((await h.orders.get('OP-R3'))?.rejection_reason).toMatch(/^INVALID_ALGORITHM/);

    const out = await h.venue.handleMessage(busMessage({ action: 'submit', operation_id: 'x' }));
    expect(out.kind).toBe('dead_letter');
    const junk: BusMessage = {
      id: 'j',
      data: new TextEncoder().encode('{not json'),
      attributes: {},
      deliveryAttempt: 1,
      publishTimeMs: 0,
    };
    expect((await h.venue.handleMessage(junk)).kind).toBe('dead_letter');
  });

  it('keeps reports through a store outage and records them, in order, once the store is back', async () => {
    await route(h, 'OP-S1', { quantity: '0.01' });
    h.orders.down = true;
    await expect(run(h, 10n * MS, 10n * MS)).resolves.toBeUndefined();
    expect(h.venue.pendingReports()).toBe(2); // accepted + filled
    expect(h.venue.health().ok).toBe(false);
    expect(await statusOf(h, 'OP-S1')).toBe('SUBMITTED');
    h.orders.down = false;
    await run(h, 10n * MS, 10n * MS);
    expect(h.venue.pendingReports()).toBe(0);
    expect(await statusOf(h, 'OP-S1')).toBe('FILLED');
    expect(h.venue.health().ok).toBe(true);
  });
});

describe('SimulatedVenue start-up', () => {
  it('cancels orders left working by a previous run and submits routed orders never submitted', async () => {
    const h = await harness({ start: false });
    const left = await createRoutedOrder(h.orders, 'OP-OLD', {
      order_type: 'LIMIT',
      price: '30000',
      quantity: '0.001',
    });
    await transition(h.orders, 'OP-OLD', {
      type: 'SubmitOrder',
      client_order_id: left.order_id,
      ts_event: T0,
      ts_init: T0,
    });
    await createRoutedOrder(h.orders, 'OP-NEW', { quantity: '0.001' });
    await createRoutedOrder(
      h.orders,
      'OP-ELSEWHERE',
      {},
      { venue: 'BINANCE-SPOT', account_id: 'BINANCE-SPOT' },
    );
    await h.venue.start();
    expect(await h.orders.get('OP-OLD')).toMatchObject({ status: 'CANCELED' });
    expect((await h.orders.timeline('OP-OLD')).at(-1)).toMatchObject({ type: 'OrderCanceled' });
    expect(await statusOf(h, 'OP-NEW')).toBe('SUBMITTED');
    await run(h, 10n * MS, 10n * MS);
    expect(await statusOf(h, 'OP-NEW')).toBe('FILLED');
    expect(await statusOf(h, 'OP-ELSEWHERE')).toBe('PENDING');
    await h.venue.stop();
    await h.bus.close();
  });

  it('is deterministic: the same seed and clock give the same fills', async () => {
    const prices: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const h = await harness();
      await run(h, 3n * SECOND, 250n * MS);
      await route(h, 'OP-X', { quantity: '0.5' });
      await run(h, SECOND, 100n * MS);
      prices.push((await h.orders.fills('OP-X')).map((f) => `${f.quantity}@${f.price}`));
      await h.venue.stop();
      await h.bus.close();
    }
    expect(prices[0]?.length).toBeGreaterThan(0);
    expect(prices[1]).toEqual(prices[0]);
  });
});

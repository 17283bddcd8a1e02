// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax
/**
 * The venue edge over the embedded adapters for unit tests: local stores in memory, the in-process
 * bus (recording what is published), a TestClock, a fake venue; `restart()` stops the edge and
 * builds a new one over the same stores and venue (a process restart with durable stores).
 */
import { Registry } from 'prom-client';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { routedAttributes, routedSubmitMessage, venueCancelMessage } from '../../../shared/app/messages.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { type AppConfig, parseConfig } from '../../../shared/config/schema.ts';
import type { OrderInstruction, OrderRecord, TradingState } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type {
  EventBus,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from '../../../shared/ports/event-bus.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import {
  createEdgeMetrics,
  createVenueEdge,
  type EdgeMetrics,
  type VenueEdge,
  type VenueEdgeOptions,
} from '../../../stateful/edge/index.ts';
import { BTC_SPEC, createRoutedOrder, MS, T0 } from '../venues/fixtures.ts';
import { FakeVenue } from './fake-venue.ts';

export const VENUE = 'BINANCE-SPOT';
export const ACCOUNT = 'binance-main';
export const BTC = BTC_SPEC.instrument_key;
export { MS, T0 };
export const SECOND = 1_000_000_000n;

export interface Published {
  topic: string;
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

/** The in-process bus, keeping a copy of every publish. */
export class RecordingBus implements EventBus {
  readonly inner = new MemoryEventBus();
  readonly published: Published[] = [];

  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    const id = await this.inner.publish(topic, data, attributes);
    this.published.push({
      topic,
      data: JSON.parse(JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
      attributes: { ...attributes },
    });
    return id;
  }
  subscribe(
    topic: string,
    name: string,
    handler: MessageHandler,
    opts?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.inner.subscribe(topic, name, handler, opts);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
  on(topic: string, type?: string): Published[] {
    return this.published.filter((p) => p.topic === topic && (type === undefined || p.data.type === type));
  }
}

export function edgeConfig(): AppConfig {
  return parseConfig(
    {
      venues: [
        {
          id: VENUE,
          exchange: 'binance',
          mode: 'LIVE',
          instrument_types: ['SPOT_PAIR'],
          accounts: [
            {
              account_id: ACCOUNT,
              base_currency: 'USDT',
              api_key: '${EDGE_KEY}',
              api_secret: '${EDGE_SECRET}',
            },
          ],
        },
      ],
      risk: { trading_state_poll_ms: 500 },
      storage: { order_store: 'local', bus: 'memory', blob: 'local', data_dir: '.data-unused' },
    },
    { env: { EDGE_KEY: 'k', EDGE_SECRET: 's' } },
  );
}

export class EdgeHarness {
  readonly clock = new TestClock(T0);
  readonly orders = LocalOrderStore.memory();
  readonly positions = LocalPositionStore.memory();
  readonly bus = new RecordingBus();
  readonly algoStates = LocalAlgoStateStore.memory();
  readonly tradingStore = LocalTradingStateStore.memory();
  readonly market = new LocalMarketStateStore();
  readonly instruments = new StaticInstrumentCatalog([BTC_SPEC]);
  readonly config: AppConfig;
  readonly registry = new Registry();
  readonly metrics: EdgeMetrics = createEdgeMetrics(this.registry);
  venue: FakeVenue;
  edge: VenueEdge;
  recorder: ExecutionRecorder;
  readonly logs: Array<{ level: string; message: string }> = [];

  constructor(
    private readonly options: VenueEdgeOptions = {},
    config: AppConfig = edgeConfig(),
  ) {
    this.config = config;
    this.venue = new FakeVenue(VENUE, ACCOUNT, this.clock);
    this.recorder = this.newRecorder();
    this.edge = this.newEdge();
  }

  private newRecorder(): ExecutionRecorder {
    return new ExecutionRecorder({
      orders: this.orders,
      positions: this.positions,
      bus: this.bus,
      clock: this.clock,
    });
  }

  private newEdge(): VenueEdge {
    const log = {
      info: (message: string) => this.logs.push({ level: 'info', message }),
      warn: (message: string) => this.logs.push({ level: 'warn', message }),
    };
    return createVenueEdge(
      {
        config: this.config,
        venues: new Map([[VENUE, this.venue]]),
        orders: this.orders,
        positions: this.positions,
        bus: this.bus,
        clock: this.clock,
        recorder: this.recorder,
        algoStates: this.algoStates,
        tradingState: new CachedTradingStateReader(this.tradingStore, { pollMs: 500, clock: this.clock }),
        market: this.market,
        instruments: this.instruments,
        log,
        metrics: this.metrics,
      },
      { tickMs: 0, fillGraceMs: 1000, retryInitialMs: 500, orderPollMs: 0, bookPollMs: 0, ...this.options },
    );
  }

  async start(): Promise<this> {
    await this.edge.start();
    return this;
  }

  /** Stop this edge (as a process dies: its memory is gone) and start a new one over the same stores and venue. */
  async restart(): Promise<void> {
    await this.edge.stop();
    this.recorder = this.newRecorder();
    this.edge = this.newEdge();
    await this.edge.start();
  }

  /** A routed order in the store (PENDING, risk approved, routed here), and its orders.routed message. */
  async route(operationId: string, over: Partial<OrderInstruction> = {}): Promise<OrderRecord> {
    const order = await createRoutedOrder(this.orders, operationId, over, {
      venue: VENUE,
      account_id: ACCOUNT,
      ts: this.clock.now(),
    });
    await this.publishRoute(order);
    return order;
  }

  async publishRoute(order: OrderRecord): Promise<void> {
    await this.bus.publish(
      'orders.routed',
      // As intake routes it: with the price the risk engine valued the order at (the venue's mid).
      routedSubmitMessage(order, this.venue.price, this.clock.now()),
      routedAttributes(order, 'submit'),
    );
    await this.settle();
  }

  async publishCancel(operationId: string, reason = 'USER_CANCEL'): Promise<void> {
    const order = await this.orders.get(operationId);
    if (order === null) throw new Error(`no order ${operationId}`);
    await this.bus.publish(
      'orders.routed',
      venueCancelMessage(order, reason, this.clock.now()),
      routedAttributes(order, 'cancel'),
    );
    await this.settle();
  }

  async setTradingState(state: TradingState, reason = 'test'): Promise<void> {
    await this.tradingStore.set({ kind: 'global' }, { state, reason, updated_by: 'ops' }, this.clock.now());
  }

  /** Advance the clock and run what is due, until nothing is in flight. */
  async advance(dt: bigint): Promise<void> {
    this.clock.advance(dt);
    await this.settle();
    await this.edge.tick();
    await this.settle();
  }

  /** Let the bus, the stream events and the edge's tasks finish. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      await this.bus.inner.idle();
      await new Promise<void>((r) => setImmediate(r));
      await this.edge.idle();
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  async order(operationId: string): Promise<OrderRecord> {
    const o = await this.orders.get(operationId);
    if (o === null) throw new Error(`no order ${operationId}`);
    return o;
  }

  async timeline(operationId: string): Promise<string[]> {
    return (await this.orders.timeline(operationId)).map((e) => e.type);
  }

  async stop(): Promise<void> {
    await this.edge.stop();
    await this.bus.close();
  }
}

export const ms = (n: number): bigint => BigInt(n) * MS;

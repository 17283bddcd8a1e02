/**
 * The order pipeline over the embedded adapters, for unit tests: local stores in memory, the
 * in-process bus behind a recorder, the TestClock, `config/instruments.json`, and a market with
 * fresh quotes and UP venues. Counting wrappers report the commits each store makes.
 */

import { loadInstrumentsFile } from '../../../infra/instruments/catalog.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalRiskLedgerStore } from '../../../infra/local/risk-ledger.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import {
  createOrderService,
  type OrderPipelineDeps,
  type OrderPipelineService,
  pipelineSettingsFromConfig,
} from '../../../shared/app/order-pipeline.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { type AppConfig, EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import type { Fill, InstrumentSpec, OrderRecord } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type {
  EventBus,
  MessageHandler,
  SubscribeOptions,
  Subscription,
} from '../../../shared/ports/event-bus.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../../shared/ports/market-state.ts';
import type {
  CreateResult,
  OrderQuery,
  OrderStore,
  TransitionResult,
} from '../../../shared/ports/order-store.ts';
import {
  changedLedgers,
  type LedgerUpdateFn,
  normaliseScopes,
  type RiskLedgerStore,
} from '../../../shared/ports/risk-ledger-store.ts';
import type { RiskLedger } from '../../../shared/risk/ledger.ts';
import type { Decimalish } from '../../../shared/risk/types.ts';

export const T0 = isoToNanos('2025-07-01T12:00:00Z');
export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
export const SIM_BTC = 'SIM:SPOT_PAIR:BTC-USDT';
export const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
export const PERP = 'SIM:PERPETUAL:BTC-USDT@LIN';

export interface Published {
  topic: string;
  data: unknown;
  attributes: Record<string, string>;
}

/** An EventBus that records every publish (after the in-process bus accepted it) and can fail on demand. */
export class RecordingBus implements EventBus {
  readonly inner = new MemoryEventBus();
  readonly published: Published[] = [];
  /** Fail the next n publishes (a bus outage). */
  failNext = 0;

  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('bus unavailable (injected)');
    }
    const id = await this.inner.publish(topic, data, attributes);
    this.published.push({ topic, data: structuredClone(data), attributes: { ...attributes } });
    return id;
  }

  on(topic: string): Published[] {
    return this.published.filter((p) => p.topic === topic);
  }

  subscribe(t: string, s: string, h: MessageHandler, o?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(t, s, h, o);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

/** OrderStore wrapper counting commits; `failCreates` makes the next creates throw (a crash before the write). */
export class CountingOrderStore implements OrderStore {
  creates = 0;
  transitions = 0;
  failCreates = 0;
  constructor(readonly inner: OrderStore) {}
  async create(order: OrderRecord, events: OrderEvent[]): Promise<CreateResult> {
    if (this.failCreates > 0) {
      this.failCreates--;
      throw new Error('order store unavailable (injected)');
    }
    this.creates++;
    return this.inner.create(order, events);
  }
  get(op: string) {
    return this.inner.get(op);
  }
  async transition(
    op: string,
    v: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills?: Fill[],
  ): Promise<TransitionResult> {
    this.transitions++;
    return this.inner.transition(op, v, next, events, fills);
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

/** RiskLedgerStore wrapper counting the updates that wrote something (commits). */
export class CountingLedger implements RiskLedgerStore {
  writes = 0;
  updates = 0;
  constructor(readonly inner: RiskLedgerStore) {}
  async update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R> {
    this.updates++;
    let wrote = false;
    const r = await this.inner.update(scopeKeys, (l) => {
      const c = fn(l);
      wrote = changedLedgers(normaliseScopes(scopeKeys), l, c.next).length > 0;
      return c;
    });
    if (wrote) this.writes++;
    return r;
  }
  get(scope: string): Promise<RiskLedger> {
    return this.inner.get(scope);
  }
  async releaseReservation(op: string, filled: Decimalish, scope?: string): Promise<boolean> {
    const r = await this.inner.releaseReservation(op, filled, scope);
    if (r) this.writes++;
    return r;
  }
  async recordFill(op: string, qty: Decimalish, scope?: string): Promise<boolean> {
    const r = await this.inner.recordFill(op, qty, scope);
    if (r) this.writes++;
    return r;
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

/** The test configuration: the embedded venues, generous velocity, a 1 BTC position limit. */
export function testConfig(
  overrides: { risk?: Record<string, unknown>; router?: Record<string, unknown> } = {},
): AppConfig {
  return parseConfig(
    {
      venues: EMBEDDED_CONFIG.venues,
      risk: {
        max_orders_per_second: 1000,
        max_orders_per_minute: 10000,
        per_instrument: { [BTC]: { max_position: '1' } },
        ...overrides.risk,
      },
      router: { candidates: { SPOT_PAIR: ['BINANCE-SPOT', 'SIM'] }, ...overrides.router },
    },
    { env: {} },
  );
}

let defaultSpecs: InstrumentSpec[] | null = null;
export async function embeddedSpecs(): Promise<InstrumentSpec[]> {
  defaultSpecs ??= await loadInstrumentsFile();
  return defaultSpecs;
}

/** A fresh two-sided book at `mid` on `venue` for `key` (ts = clock now). */
export async function putBook(
  market: MarketStateStore,
  clock: TestClock,
  venue: string,
  key: string,
  mid: string,
  size = '5',
) {
  const m = Number(mid);
  const bid = (m - 0.5).toFixed(2);
  const ask = (m + 0.5).toFixed(2);
  await market.putQuote({
    venue,
    instrument_key: key,
    bid,
    ask,
    mid,
    bids: [{ price: bid, size }],
    asks: [{ price: ask, size }],
    ts_event: clock.now(),
  });
}

export async function putVenue(
  market: MarketStateStore,
  clock: TestClock,
  venue: string,
  status: 'UP' | 'DEGRADED' | 'CIRCUIT_OPEN' | 'DOWN' = 'UP',
  balances: Record<string, string> | null = { USDT: '1000000' },
) {
  await market.putVenueState({
    venue,
    status,
    latency_ms: 5,
    recent_orders: 0,
    recent_rejections: 0,
    balances,
    ts_updated: clock.now(),
  });
}

export interface Harness {
  service: OrderPipelineService;
  deps: OrderPipelineDeps;
  clock: TestClock;
  bus: RecordingBus;
  orders: CountingOrderStore;
  ledger: CountingLedger;
  market: LocalMarketStateStore;
  positions: LocalPositionStore;
  trading: LocalTradingStateStore;
  config: AppConfig;
}

export async function makeHarness(
  opts: {
    config?: AppConfig;
    specs?: InstrumentSpec[];
    market?: boolean;
    deps?: Partial<OrderPipelineDeps>;
  } = {},
): Promise<Harness> {
  const clock = new TestClock(T0);
  const config = opts.config ?? testConfig();
  const bus = new RecordingBus();
  const orders = new CountingOrderStore(LocalOrderStore.memory());
  const ledger = new CountingLedger(LocalRiskLedgerStore.memory());
  const market = new LocalMarketStateStore();
  const positions = LocalPositionStore.memory();
  const trading = LocalTradingStateStore.memory();
  if (opts.market !== false) {
    await putBook(market, clock, 'BINANCE-SPOT', BTC, '60000');
    await putBook(market, clock, 'SIM', SIM_BTC, '60010');
    await putBook(market, clock, 'BINANCE-SPOT', ETH, '3000');
    await putBook(market, clock, 'SIM', 'SIM:SPOT_PAIR:ETH-USDT', '3000');
    await putBook(market, clock, 'SIM', PERP, '60000');
    await putVenue(market, clock, 'BINANCE-SPOT');
    await putVenue(market, clock, 'SIM');
  }
  const deps: OrderPipelineDeps = {
    orders,
    positions,
    bus,
    ledger,
    market,
    tradingState: new CachedTradingStateReader(trading, { pollMs: config.risk.trading_state_poll_ms, clock }),
    instruments: new StaticInstrumentCatalog(
      opts.specs ?? (await embeddedSpecs()),
      'config/instruments.json',
    ),
    clock,
    ...pipelineSettingsFromConfig(config),
    ...opts.deps,
  };
  return {
    service: createOrderService(deps),
    deps,
    clock,
    bus,
    orders,
    ledger,
    market,
    positions,
    trading,
    config,
  };
}

/** A valid market order instruction. */
export function marketOrder(
  operationId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    operation_id: operationId,
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.1',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'momentum-btc-v1',
    ...extra,
  };
}

export const PUBSUB = { via: 'pubsub', message_id: 'm-1', delivery_attempt: 1 } as const;

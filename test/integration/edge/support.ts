/**
 * The venue edge on real parts: the ccxt adapter (infra/ccxt) against the local Binance-spot
 * exchange (stateful/local-exchange) over HTTP and WebSockets on loopback, the wall clock, and
 * ports given by the test (embedded stores, or Firestore / Pub/Sub on the emulators). `restart()`
 * drops the edge and its venue session and builds new ones over the same stores and exchange.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import { Registry } from 'prom-client';
import {
  DEFAULT_INSTRUMENTS,
  type LocalExchange,
  startLocalExchange,
} from '../../../dev/local-exchange/index.ts';
import { createCcxtVenue } from '../../../infra/ccxt/index.ts';
import type { CcxtVenue } from '../../../infra/ccxt/venue.ts';
import { SystemClock } from '../../../infra/compose.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { routedAttributes, routedSubmitMessage, venueCancelMessage } from '../../../shared/app/messages.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { type AppConfig, parseConfig } from '../../../shared/config/schema.ts';
import type { InstrumentSpec, OrderInstruction, OrderRecord } from '../../../shared/domain/types.ts';
import type { AlgoStateStore } from '../../../shared/ports/algo-state-store.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../../shared/ports/market-state.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import type { PositionStore } from '../../../shared/ports/position-store.ts';
import type { TradingStateStore } from '../../../shared/ports/trading-state-store.ts';
import type { RecordingSink } from '../../../shared/recording/format.ts';
import {
  createEdgeMetrics,
  createVenueEdge,
  type EdgeMetrics,
  type VenueEdge,
  type VenueEdgeOptions,
} from '../../../stateful/edge/index.ts';
import { createRoutedOrder as routeOrder } from '../../support/routed-order.ts';

export const VENUE = 'BINANCE-SPOT';
export const ACCOUNT = 'binance-spot-it';
export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

export const clock = new SystemClock();

export interface EdgePorts {
  orders: OrderStore;
  positions: PositionStore;
  bus: EventBus;
  algoStates: AlgoStateStore;
  tradingState: TradingStateStore;
  market: MarketStateStore;
}

/** The LIVE venue on the local exchange, as a configuration file writes it (keys and urls from `itEnv`). */
export const IT_VENUE = {
  id: VENUE,
  exchange: 'binance',
  mode: 'LIVE',
  instrument_types: ['SPOT_PAIR'],
  rate_limit_per_second: 50,
  accounts: [
    { account_id: ACCOUNT, base_currency: 'USDT', api_key: '${IT_KEY}', api_secret: '${IT_SECRET}' },
  ],
  urls: { rest: '${IT_URL}', ws: '${IT_WS}' },
} as const;

/** The variables IT_VENUE refers to. */
export function itEnv(ex: LocalExchange): Record<string, string> {
  return { IT_KEY: ex.apiKey, IT_SECRET: ex.secret, IT_URL: ex.url, IT_WS: ex.url.replace(/^http/, 'ws') };
}

export function itConfig(ex: LocalExchange): AppConfig {
  return parseConfig(
    {
      venues: [
        { ...IT_VENUE, accounts: [...IT_VENUE.accounts], instrument_types: [...IT_VENUE.instrument_types] },
      ],
      risk: { trading_state_poll_ms: 200 },
    },
    { env: itEnv(ex) },
  );
}

export async function localExchange(): Promise<LocalExchange> {
  return startLocalExchange({ seed: 11, quoteIntervalMs: [50, 100] });
}

export class EdgeOnExchange {
  readonly config: AppConfig;
  readonly registry = new Registry();
  readonly metrics: EdgeMetrics = createEdgeMetrics(this.registry);
  readonly instruments = new StaticInstrumentCatalog(DEFAULT_INSTRUMENTS as InstrumentSpec[]);
  venue: CcxtVenue;
  edge: VenueEdge;
  recorder: ExecutionRecorder;
  /** Every log line of the edge and the venue session (message first), for diagnosis. */
  readonly logs: string[] = [];
  private readonly log = {
    info: (m: string) => this.logs.push(`info ${m}`),
    warn: (m: string) => this.logs.push(`warn ${m}`),
  };

  constructor(
    readonly ex: LocalExchange,
    readonly ports: EdgePorts,
    private readonly options: VenueEdgeOptions = {},
    /** Session recordings by venue id (docs/recording.md). */
    private readonly recordings?: ReadonlyMap<string, RecordingSink>,
  ) {
    this.config = itConfig(ex);
    this.recorder = new ExecutionRecorder({
      orders: ports.orders,
      positions: ports.positions,
      bus: ports.bus,
      clock,
    });
    this.venue = this.newVenue();
    this.edge = this.newEdge();
  }

  private newVenue(): CcxtVenue {
    const vc = this.config.venues[0];
    const account = vc?.accounts[0];
    if (vc === undefined || account === undefined) throw new Error('no venue configured');
    return createCcxtVenue({
      venue: vc,
      account,
      clock,
      instrumentKeys: [BTC],
      log: this.log,
      onEvent: (e) => this.edge.onVenueDiagnostic(e),
      requestTimeoutMs: 2_000,
      retry: { initialDelayMs: 20, maxDelayMs: 200, random: () => 0.5 },
      breaker: { consecutiveFailures: 5, halfOpenAfterMs: 1_000 },
      streams: {
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 500,
        settleMs: 200,
        readyTimeoutMs: 5_000,
        pollAfterMs: 1_000,
        pollIntervalMs: 500,
      },
      timeSyncIntervalMs: 0,
    });
  }

  private newEdge(): VenueEdge {
    return createVenueEdge(
      {
        config: this.config,
        venues: new Map([[VENUE, this.venue]]),
        orders: this.ports.orders,
        positions: this.ports.positions,
        bus: this.ports.bus,
        clock,
        recorder: this.recorder,
        algoStates: this.ports.algoStates,
        tradingState: new CachedTradingStateReader(this.ports.tradingState, { pollMs: 200, clock }),
        market: this.ports.market,
        instruments: this.instruments,
        metrics: this.metrics,
        log: this.log,
        recordings: this.recordings,
      },
      {
        tickMs: 50,
        fillGraceMs: 300,
        retryInitialMs: 100,
        retryMaxMs: 1_000,
        orderPollMs: 5_000,
        ...this.options,
      },
    );
  }

  async start(): Promise<this> {
    await this.edge.start();
    return this;
  }

  /** The process dies (its memory with it) and a new one starts over the same stores and exchange. */
  async restart(): Promise<void> {
    await this.edge.stop();
    this.recorder = new ExecutionRecorder({
      orders: this.ports.orders,
      positions: this.ports.positions,
      bus: this.ports.bus,
      clock,
    });
    this.venue = this.newVenue();
    this.edge = this.newEdge();
    await this.edge.start();
  }

  async stop(): Promise<void> {
    await this.edge.stop();
  }
}

/** A routed order in the store (PENDING, risk approved, routed to the venue), as the pipeline leaves it. */
export function createRoutedOrder(
  orders: OrderStore,
  operationId: string,
  over: Partial<OrderInstruction> = {},
): Promise<OrderRecord> {
  const instruction: OrderInstruction = {
    operation_id: operationId,
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.01',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'it',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    ...over,
  };
  return routeOrder(orders, instruction, { venue: VENUE, account_id: ACCOUNT, ts: clock.now() });
}

export async function publishRoute(bus: EventBus, order: OrderRecord): Promise<void> {
  await bus.publish(
    'orders.routed',
    routedSubmitMessage(order, null, clock.now()),
    routedAttributes(order, 'submit'),
  );
}

export async function publishCancel(bus: EventBus, order: OrderRecord, reason = 'it cancel'): Promise<void> {
  await bus.publish(
    'orders.routed',
    venueCancelMessage(order, reason, clock.now()),
    routedAttributes(order, 'cancel'),
  );
}

/** Poll `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** Wait until the order reaches `status` and return it. */
export function untilStatus(
  orders: OrderStore,
  op: string,
  status: string,
  timeoutMs = 20_000,
): Promise<OrderRecord> {
  return eventually(
    async () => {
      const o = await orders.get(op);
      return o?.status === status ? o : undefined;
    },
    timeoutMs,
    `${op} ${status}`,
  );
}

/**
 * Dependencies, options and views of the venue edge (docs/venue-edge.md).
 */
import type { ExecutionLog, ExecutionRecorder } from '../../shared/app/execution-recorder.ts';
import type { AppConfig, VenueConfig } from '../../shared/config/schema.ts';
import type { DecimalString } from '../../shared/domain/decimal.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Fill } from '../../shared/domain/types.ts';
import type { AlgoStateStore } from '../../shared/ports/algo-state-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import type { InstrumentCatalog } from '../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../shared/ports/market-state.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';
import type { RiskLedgerStore } from '../../shared/ports/risk-ledger-store.ts';
import type { TradingStateReader } from '../../shared/ports/trading-state-store.ts';
import type { Venue } from '../../shared/ports/venue.ts';
import type { RecordingSink } from '../../shared/recording/format.ts';
import type { EdgeMetrics } from './metrics.ts';

/** Where fills go for drift detection (stateful/edge/drift `createDriftMonitor` fits). */
export interface DriftSink {
  onFill(
    fill: Fill,
    midAtArrival: DecimalString | null,
    ctx?: { strategy_id?: string | null },
  ): Promise<unknown>;
}

/** A log with levels (pino adapts through `executionLog`, stateful/venues). */
export type EdgeLog = ExecutionLog;

/** What the edge reads from the configuration. */
export type EdgeConfig = Pick<AppConfig, 'venues' | 'risk' | 'algorithms' | 'backtest'>;

export interface VenueEdgeDeps {
  config: EdgeConfig;
  /** One session per venue id the edge serves (LIVE: the ccxt adapter; SHADOW: the shadow venue). */
  venues: ReadonlyMap<string, Venue>;
  orders: OrderStore;
  positions: Pick<PositionStore, 'list'>;
  /**
   * The pre-trade risk ledger intake keeps (read only): each strategy's own position, for the
   * child policy's strategy-scoped REDUCING rule. Without it a strategy's position is taken to be
   * the instrument's (every position the platform holds in it).
   */
  riskLedger?: Pick<RiskLedgerStore, 'get'> | undefined;
  bus: EventBus;
  clock: Clock;
  /** Records acks, fills, cancels (shared with the simulated venues). */
  recorder: ExecutionRecorder;
  algoStates: AlgoStateStore;
  /** ACTIVE / REDUCING / HALTED (a CachedTradingStateReader polling ≤ 1 s). */
  tradingState: TradingStateReader & { invalidate?: () => void };
  /** Where quotes and venue states go (the router and risk read them). */
  market: MarketStateStore;
  /** Instrument specs (algorithm quantities, which instruments a venue lists). */
  instruments: InstrumentCatalog;
  log?: EdgeLog | undefined;
  /**
   * Called for every fill the edge recorded (not for duplicates), with the mid of the instrument
   * when the order (or child) was sent: the drift monitor (stateful/edge/drift). Failures are logged.
   */
  drift?: DriftSink | undefined;
  /** Edge metrics (create once per registry with `createEdgeMetrics`); none when absent. */
  metrics?: EdgeMetrics | undefined;
  /** Session recordings by venue id (docs/recording.md); venues without one are not recorded. */
  recordings?: ReadonlyMap<string, RecordingSink> | undefined;
}

export interface VenueEdgeOptions {
  /**
   * Timer period of `tick()` (due algorithm steps, retries, fill checks, the trading-state poll,
   * market publishing). 0 = no timers at all: tests drive `tick()` with a TestClock. Default
   * `algorithms.scheduler_tick_ms` (250 ms); algorithm wake-ups also get a precise timer of their own.
   */
  tickMs?: number | undefined;
  /** Trading state re-read at most this often (default `risk.trading_state_poll_ms`, ≤ 1000). */
  tradingStatePollMs?: number | undefined;
  /** Subscription name on `orders.routed` (default `venue-edge.orders.routed`, as Terraform declares it). */
  subscription?: string | undefined;
  /** Also listen on `risk.state` (subscription `venue-edge.risk.state`) to re-read the state at once (default true). */
  listenRiskState?: boolean | undefined;
  /** After a venue says an order is done, wait this long for its trades before fetching them (default 1000 ms). */
  fillGraceMs?: number | undefined;
  /** First retry of an unknown submit / unconfirmed cancel (doubles to `retryMaxMs`; default 500 ms). */
  retryInitialMs?: number | undefined;
  retryMaxMs?: number | undefined;
  /** Safety poll of every working order and its trades over REST (default 30,000 ms; 0 = never). */
  orderPollMs?: number | undefined;
  /** Book snapshots to the MarketStateStore at most this often per instrument (default 1000 ms). */
  bookPublishMs?: number | undefined;
  /** `market.raw` quotes at most this often per instrument (default 1000 ms). */
  marketRawMs?: number | undefined;
  /** A REST book is fetched when no book arrived on the stream for this long (default 5000 ms; 0 = never). */
  bookPollMs?: number | undefined;
  /** Venue state (status, latency, rejection rate, balances) at most this often (default 5000 ms). */
  venueStateMs?: number | undefined;
  /** Balances re-read at most this often (default 15,000 ms). */
  balancesMs?: number | undefined;
  /** Seed of the algorithms' jitter when their params give none (default `backtest.seed`). */
  seed?: number | undefined;
  /** Who publishes `risk.state` observations (default `venue-edge`). */
  serviceName?: string | undefined;
}

export interface EdgeVenueConfig
  extends Pick<VenueConfig, 'id' | 'exchange' | 'mode' | 'latency_ms' | 'instrument_types'> {}

/** Status of one venue session for health and readiness. */
export interface VenueSessionStatus {
  venue: string;
  mode: string;
  connected: boolean;
  private_stream: 'up' | 'down' | 'idle';
  public_stream: 'up' | 'down' | 'idle';
  health: string;
  working_orders: number;
  active_algorithms: number;
  last_error: string | null;
  /** When the venue last sent anything on its streams (ns, our clock); null: nothing yet. */
  last_message_at: Nanos | null;
}

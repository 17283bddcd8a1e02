/**
 * The venue edge as the composition root runs it (stateful/main.ts): one venue session per enabled
 * LIVE venue (the ccxt adapter, infra/ccxt) and SHADOW venue (our matching engine on that venue's
 * live market data, infra/shadow), the edge over them, a reconciler per venue
 * (stateful/edge/reconcile) and the drift monitor (stateful/edge/drift) fed by the edge's fills.
 *
 *   const runtime = await startEdgeRuntime({ config, platform, recorder, log, registry });
 *   // null when the configuration has no enabled LIVE / SHADOW venue
 *   health: { ...await runtime.health() }, app.route('/', runtime.router)   // /healthz, /readyz
 *   await runtime.stop();   // before the platform closes
 */
import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { VenueDiagnosticEvent } from '../../infra/ccxt/diagnostics.ts';
import { createCcxtVenue } from '../../infra/ccxt/index.ts';
import { rateLimitBudgetsOf } from '../../infra/ccxt/limits.ts';
import { createIbVenue } from '../../infra/ib/index.ts';
import { openEdgeRecordings } from '../../infra/recording/edge-recordings.ts';
import { createShadowVenue } from '../../infra/shadow/index.ts';
import type { ExecutionLog, ExecutionRecorder } from '../../shared/app/execution-recorder.ts';
import { CachedTradingStateReader } from '../../shared/app/trading-state-cache.ts';
import type { AppConfig, VenueConfig } from '../../shared/config/schema.ts';
import { parseInstrumentId } from '../../shared/domain/instrument-id.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { AlgoStateStore } from '../../shared/ports/algo-state-store.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import type { InstrumentCatalog } from '../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../shared/ports/market-state.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';
import type { RiskLedgerStore } from '../../shared/ports/risk-ledger-store.ts';
import type { TradingStateStore } from '../../shared/ports/trading-state-store.ts';
import type { Venue } from '../../shared/ports/venue.ts';
import { SyntheticDataVenue } from '../venues/simulated/data-venue.ts';
import { createDriftMonitor, type DriftThresholds } from './drift/index.ts';
import { createVenueEdge, type VenueEdge } from './edge.ts';
import { createEdgeHealthRouter } from './health.ts';
import { type EdgeLease, fenceAlgoStates, fenceVenue } from './lease.ts';
import { createEdgeMetrics } from './metrics.ts';
import { createReconciler, type Reconciler } from './reconcile/index.ts';
import {
  type BreakerView,
  snapshotVenueSession,
  statusThresholdsFor,
  type VenueSessionSnapshot,
} from './status.ts';
import type { VenueEdgeOptions } from './types.ts';

/** The platform ports the edge uses (infra/compose.ts `Platform` fits). */
export interface EdgePorts {
  orders: OrderStore;
  positions: PositionStore;
  bus: EventBus;
  clock: Clock;
  instruments: InstrumentCatalog;
  marketState: MarketStateStore;
  tradingState: TradingStateStore;
  algoStates: AlgoStateStore;
  /** Where session recordings go unless `recording.location` says otherwise (docs/recording.md). */
  blobs?: BlobStore | undefined;
  /** Intake's risk ledger (read only: each strategy's position for the child policy). */
  riskLedger?: Pick<RiskLedgerStore, 'get'> | undefined;
}

/** What a venue factory gets besides the venue's configuration. */
export interface VenueFactoryContext {
  /** Instruments the venue lists (its own canonical ids) and their specs. */
  instrumentKeys: string[];
  specs: InstrumentSpec[];
  clock: Clock;
  log: ExecutionLog | undefined;
  /** Diagnostics of the session (retries, breaker, streams, gap fills) → the edge. */
  onEvent: (event: VenueDiagnosticEvent) => void;
  /** Seed of simulated markets and engines (the configuration's `backtest.seed`). */
  seed?: number | undefined;
}

export type VenueFactory = (venue: VenueConfig, ctx: VenueFactoryContext) => Venue;

export interface EdgeRuntimeDeps {
  config: AppConfig;
  platform: EdgePorts;
  /** The recorder the simulated venues use too (one writer per position). */
  recorder: ExecutionRecorder;
  log?: ExecutionLog | undefined;
  /** The service's metrics registry (edge, drift metrics); none = no metrics. */
  registry?: Registry | undefined;
  /** Build a venue session (default: {@link defaultVenueFactory}). */
  createVenue?: VenueFactory | undefined;
  edge?: VenueEdgeOptions | undefined;
  /**
   * The venue-edge lease (stateful/edge/lease.ts), already HELD: every venue is wrapped so its
   * sends carry the lease's token, and so are the algorithm-state writes. None = unfenced (tests
   * of the edge alone).
   */
  lease?: EdgeLease | undefined;
  /** Reconciliation per venue: at start and then every `intervalMs` (default 300,000; false = none). */
  reconcile?: false | { intervalMs?: number | undefined } | undefined;
  /** Drift detection (default alert beyond 50 bps, no automatic REDUCING; false = none). */
  drift?:
    | false
    | { thresholds?: DriftThresholds | undefined; switchToReducing?: boolean | undefined }
    | undefined;
}

export interface EdgeRuntime {
  readonly edge: VenueEdge;
  readonly venues: ReadonlyMap<string, Venue>;
  readonly reconcilers: readonly Reconciler[];
  /** `/healthz` and `/readyz` (mount at the root). */
  readonly router: Hono;
  /** Per venue for `GET /api/health` (`venue:<id>`): the session and its last reconciliation. */
  health(): Promise<Record<string, { ok: boolean; detail?: string }>>;
  /**
   * Each session's status for operators (stateful/edge/status.ts): connected, the age of the last
   * message, breaker, rate-limit budgets, last reconciliation, drift, judged GREEN / AMBER / RED.
   */
  sessions(): VenueSessionSnapshot[];
  stop(): Promise<void>;
}

/** What an adapter may expose beyond the Venue port (the ccxt adapter does): its breaker. */
interface AdapterViews {
  diagnostics?: () => { breaker?: BreakerView };
}

function adapterViews(venue: Venue | undefined): AdapterViews {
  return (venue ?? {}) as AdapterViews;
}

/** The venues the edge serves: every enabled venue (LIVE, SHADOW, and SIMULATED as a shadow of a synthetic market). */
export function edgeVenues(config: Pick<AppConfig, 'venues'>): VenueConfig[] {
  return config.venues.filter((v) => v.enabled);
}

/** LIVE: the ccxt session with the venue's first account. SHADOW: fills by our engine on the venue's public data. */
export const defaultVenueFactory: VenueFactory = (vc, ctx) => {
  if (vc.mode === 'SIMULATED') {
    // `npm start`'s SIM: a ShadowVenue on the seeded moving market — the edge runs it exactly as a
    // SHADOW venue in production (durable scheduler, the execution core's gates, HALTED).
    const accountId = vc.accounts[0]?.account_id ?? vc.id;
    return createShadowVenue({
      id: vc.id,
      account_id: accountId,
      data: new SyntheticDataVenue({
        id: vc.id,
        instruments: ctx.specs,
        clock: ctx.clock,
        seed: ctx.seed ?? 42,
      }),
      instruments: ctx.specs,
      clock: ctx.clock,
      seed: ctx.seed,
      startingCash: vc.shadow.starting_cash,
      cashCurrency: vc.shadow.cash_currency,
      latency: vc.latency_ms,
      fees: vc.fees,
    });
  }
  const account = vc.accounts[0];
  if (account === undefined) throw new RangeError(`venue ${vc.id} has no account`);
  if (vc.exchange === 'ibkr') return ibkrVenue(vc, account.account_id, ctx);
  if (vc.mode === 'LIVE') {
    return createCcxtVenue({
      venue: vc,
      account,
      clock: ctx.clock,
      instrumentKeys: ctx.instrumentKeys,
      log: ctx.log,
      onEvent: ctx.onEvent,
      breaker: breakerOf(vc),
    });
  }
  // SHADOW: the exchange's public data (no keys needed), our matching engine and synthetic cash.
  const data = createCcxtVenue({
    venue: vc,
    account: { account_id: account.account_id },
    clock: ctx.clock,
    instrumentKeys: ctx.instrumentKeys,
    log: ctx.log,
    onEvent: ctx.onEvent,
    breaker: breakerOf(vc),
  });
  return shadowOf(vc, account.account_id, data, ctx);
};

/** A SHADOW venue: `data`'s market (no order reaches the venue), our matching engine and synthetic cash. */
function shadowOf(vc: VenueConfig, accountId: string, data: Venue, ctx: VenueFactoryContext): Venue {
  return createShadowVenue({
    id: vc.id,
    account_id: accountId,
    data,
    instruments: ctx.specs,
    clock: ctx.clock,
    startingCash: vc.shadow.starting_cash,
    cashCurrency: vc.shadow.cash_currency,
    latency: vc.latency_ms,
    fees: vc.fees,
  });
}

/**
 * An IBKR venue: LIVE trades through the TWS session; SHADOW takes that session's market data (no
 * order reaches IB) and fills with our matching engine.
 */
function ibkrVenue(vc: VenueConfig, accountId: string, ctx: VenueFactoryContext): Venue {
  if (vc.ib === undefined) throw new RangeError(`venue ${vc.id}: an ibkr venue needs its "ib" section`);
  const session = createIbVenue({
    venue: { id: vc.id, mode: vc.mode, ib: vc.ib, rate_limit_per_second: vc.rate_limit_per_second },
    accountId,
    clock: ctx.clock,
    instrumentKeys: ctx.instrumentKeys,
    log: ctx.log,
    onEvent: ctx.onEvent,
    breaker: breakerOf(vc),
  });
  return vc.mode === 'LIVE' ? session : shadowOf(vc, accountId, session, ctx);
}

/** The venue's `breaker` setting in the adapters' terms (infra/ccxt/resilience.ts). */
export function breakerOf(vc: VenueConfig): { consecutiveFailures: number; halfOpenAfterMs: number } {
  return {
    consecutiveFailures: vc.breaker.consecutive_failures,
    halfOpenAfterMs: vc.breaker.half_open_after_ms,
  };
}

function listed(vc: VenueConfig, specs: readonly InstrumentSpec[]): InstrumentSpec[] {
  return specs.filter((s) => {
    const p = parseInstrumentId(s.instrument_key);
    return p.success && p.data.venue === vc.id && vc.instrument_types.includes(p.data.instrument_type);
  });
}

/** Build the sessions and start the edge, its reconcilers and drift monitor (null: no LIVE / SHADOW venue). */
export async function startEdgeRuntime(deps: EdgeRuntimeDeps): Promise<EdgeRuntime | null> {
  const served = edgeVenues(deps.config);
  if (served.length === 0) return null;
  const p = deps.platform;
  const log = deps.log;
  let edge: VenueEdge | null = null;
  const allSpecs = await p.instruments.list();
  const venues = new Map<string, Venue>();
  /** The adapters as the factory built them (before the lease fence), for their own views. */
  const adapters = new Map<string, Venue>();
  const specsOf = new Map<string, InstrumentSpec[]>();
  const factory = deps.createVenue ?? defaultVenueFactory;
  for (const vc of served) {
    const specs = listed(vc, allSpecs);
    specsOf.set(vc.id, specs);
    venues.set(
      vc.id,
      factory(vc, {
        instrumentKeys: specs.map((s) => s.instrument_key),
        specs,
        clock: p.clock,
        log,
        onEvent: (e) => edge?.onVenueDiagnostic(e),
        seed: deps.config.backtest.seed,
      }),
    );
    adapters.set(vc.id, venues.get(vc.id) as Venue);
    if (deps.lease !== undefined) venues.set(vc.id, fenceVenue(venues.get(vc.id) as Venue, deps.lease));
  }
  const driftOpts = deps.drift;
  const drift =
    driftOpts === false
      ? undefined
      : createDriftMonitor({
          bus: p.bus,
          tradingState: p.tradingState,
          metrics: deps.registry,
          thresholds: driftOpts?.thresholds ?? { alert_bps: 50 },
          switchToReducing: driftOpts?.switchToReducing ?? false,
          clock: p.clock,
          log,
        });
  const recordings = await openEdgeRecordings({
    config: deps.config,
    venues: served,
    specsOf,
    blobs: p.blobs,
    clock: p.clock,
    seed: Math.trunc(deps.edge?.seed ?? deps.config.backtest.seed) >>> 0,
    log,
  });
  const started = createVenueEdge(
    {
      config: deps.config,
      venues,
      orders: p.orders,
      positions: p.positions,
      riskLedger: p.riskLedger,
      bus: p.bus,
      clock: p.clock,
      recorder: deps.recorder,
      algoStates: deps.lease === undefined ? p.algoStates : fenceAlgoStates(p.algoStates, deps.lease),
      tradingState: new CachedTradingStateReader(p.tradingState, {
        pollMs: deps.config.risk.trading_state_poll_ms,
        clock: p.clock,
      }),
      market: p.marketState,
      instruments: p.instruments,
      log,
      drift,
      metrics: deps.registry === undefined ? undefined : createEdgeMetrics(deps.registry),
      recordings: recordings.sinks,
    },
    deps.edge,
  );
  edge = started;
  const reconcilers: Reconciler[] = [];
  try {
    await started.start();
    if (deps.reconcile !== false) {
      for (const [id, venue] of venues) {
        const specs = specsOf.get(id) ?? [];
        const r = createReconciler({
          venue,
          recorder: deps.recorder,
          orders: p.orders,
          positions: p.positions,
          bus: p.bus,
          clock: p.clock,
          log,
          instruments: specs,
          instrumentKeys: specs.map((s) => s.instrument_key),
          intervalMs: deps.reconcile?.intervalMs,
        });
        reconcilers.push(r);
        // The first run reads the venue (orders, trades, balances): in the background.
        void r.start().catch((err: unknown) => {
          log?.warn(
            `reconciliation of ${id} could not start: ${err instanceof Error ? err.message : String(err)}`,
            {
              venue: id,
            },
          );
        });
      }
    }
  } catch (err) {
    for (const r of reconcilers) await r.stop().catch(() => undefined);
    await started.stop().catch(() => undefined);
    await recordings.close();
    throw err;
  }
  return {
    edge: started,
    venues,
    reconcilers,
    router: createEdgeHealthRouter(started),
    async health() {
      const out = await started.health();
      for (const r of reconcilers) {
        const h = r.health();
        const cur = out[r.venue];
        if (cur === undefined) continue;
        out[r.venue] = { ok: cur.ok, detail: `${cur.detail ?? ''}; reconciliation ${h.state}: ${h.detail}` };
      }
      return out;
    },
    sessions() {
      const now = p.clock.now();
      const driftStates = drift?.states() ?? new Map();
      return started.status().map((session) => {
        const venue = venues.get(session.venue);
        const adapter = adapters.get(session.venue);
        const views = adapterViews(adapter);
        const reconciler = reconcilers.find((r) => r.venue === session.venue);
        const driftOf = new Map(
          [...driftStates]
            .filter(([key]) => key.startsWith(`${session.venue}|`))
            .map(([key, state]) => [key.slice(session.venue.length + 1), state] as const),
        );
        return snapshotVenueSession(
          {
            session,
            health: venue?.health() ?? { state: 'down', detail: 'no adapter' },
            breaker: views.diagnostics?.().breaker ?? null,
            budgets: adapter === undefined ? null : rateLimitBudgetsOf(adapter),
            reconciliation: reconciler?.lastReport() ?? null,
            reconciling: reconciler !== undefined,
            drift: driftOf,
          },
          now,
          statusThresholdsFor(deps.config, session.venue),
        );
      });
    },
    async stop() {
      for (const r of reconcilers) await r.stop().catch(() => undefined);
      try {
        await started.stop();
      } finally {
        await recordings.close();
      }
    },
  };
}

/**
 * Builds the platform's ports from the configuration — the one place that picks adapters. Used by
 * `npm start` (stateful/main.ts), by every Cloud Function at cold start, and by tests.
 *
 * | `storage.*`               | adapter                                                    |
 * | ------------------------- | ---------------------------------------------------------- |
 * | `order_store: local`      | Local{Order,Position,RiskLedger,TradingState}Store with    |
 * |                           | journals in data_dir; LocalMarketStateStore (memory)       |
 * | `order_store: firestore`  | Firestore{Order,Position,RiskLedger,TradingState,          |
 * |                           | MarketState}Store over one Firestore client                |
 * | `bus: memory`             | MemoryEventBus (in-process)                                |
 * | `bus: pubsub`             | PubSubEventBus                                             |
 * | `blob: local`             | LocalBlobStore on `<data_dir>/blobs`                       |
 * | `blob: gcs`               | GcsBlobStore on `storage.bucket`                           |
 * | (always)                  | instrument catalog: `instruments/<date>.json` in the blob  |
 * |                           | store, falling back to config/instruments.json             |
 *
 * `createPlatformOrderService(platform)` builds the order pipeline (shared/app/order-pipeline.ts)
 * over these ports — the same service for `npm start`, the Cloud Run service and the functions.
 *
 * Google adapters use `storage.gcp_project`, `firestore_database` and `collection_prefix`; the
 * emulator variables (`FIRESTORE_EMULATOR_HOST`, `PUBSUB_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`)
 * are read from the `env` given (default `process.env`) and passed to the clients explicitly.
 *
 * Adding a port (a venue registry, the algorithm scheduler's state, ...) is a few lines:
 * write `async function openX(ctx: ComposeContext): Promise<X>` beside the others, then in
 * `createPlatform` add `const x = await scope.open('x', () => openX(ctx), { close, health })` and
 * put `x` in the returned object and the `Platform` interface. `scope` closes everything in reverse
 * order of opening — also when a later port fails to open — and its health checks feed
 * `GET /api/health`.
 */
import * as nodeCrypto from 'node:crypto';
import { join, resolve } from 'node:path';
import { hrtime } from 'node:process';
import type { Firestore } from '@google-cloud/firestore';
import { orderIdWith, type Sha256Hex } from '../shared/app/order-id.ts';
import {
  createOrderService,
  type OrderPipelineDeps,
  pipelineSettingsFromConfig,
} from '../shared/app/order-pipeline.ts';
import type { OrderService } from '../shared/app/order-service.ts';
import { CachedTradingStateReader } from '../shared/app/trading-state-cache.ts';
import type { AuditSink } from '../shared/audit/sink.ts';
import type { AppConfig } from '../shared/config/schema.ts';
import type { Nanos } from '../shared/domain/time.ts';
import type { AlgoStateStore } from '../shared/ports/algo-state-store.ts';
import type { BlobStore } from '../shared/ports/blob-store.ts';
import type { Clock } from '../shared/ports/clock.ts';
import type { EventBus } from '../shared/ports/event-bus.ts';
import type { InstrumentCatalog } from '../shared/ports/instrument-catalog.ts';
import type { LeaseStore } from '../shared/ports/lease-store.ts';
import type { MarketStateStore } from '../shared/ports/market-state.ts';
import type { OrderStore } from '../shared/ports/order-store.ts';
import type { PositionStore } from '../shared/ports/position-store.ts';
import type { RiskLedgerStore } from '../shared/ports/risk-ledger-store.ts';
import type { TradingStateStore } from '../shared/ports/trading-state-store.ts';
import { BusAuditSink } from './audit/audit-sink.bus.ts';
import { LocalAuditSink } from './audit/audit-sink.local.ts';
import { auditOrderStore, auditTradingStateStore } from './audit/audited-stores.ts';
import { FirestoreAlgoStateStore } from './firestore/algo-state.firestore.ts';
import { FirestoreLeaseStore } from './firestore/lease-store.firestore.ts';
import { FirestoreMarketStateStore } from './firestore/market-state.firestore.ts';
import { createFirestore, FirestoreOrderStore } from './firestore/order-store.firestore.ts';
import { FirestorePositionStore } from './firestore/position-store.firestore.ts';
import { FirestoreRiskLedgerStore } from './firestore/risk-ledger.firestore.ts';
import { FirestoreTradingStateStore } from './firestore/trading-state.firestore.ts';
import { GcsBlobStore } from './gcs/blob-store.gcs.ts';
import { createInstrumentCatalog } from './instruments/catalog.ts';
import { LocalAlgoStateStore } from './local/algo-state.local.ts';
import { LocalBlobStore } from './local/blob-store.local.ts';
import { LocalLeaseStore } from './local/lease-store.local.ts';
import { LocalMarketStateStore } from './local/market-state.local.ts';
import { LocalOrderStore } from './local/order-store.local.ts';
import { LocalPositionStore } from './local/position-store.local.ts';
import { LocalRiskLedgerStore } from './local/risk-ledger.local.ts';
import { LocalTradingStateStore } from './local/trading-state.local.ts';
import { MemoryEventBus } from './memory/event-bus.memory.ts';
import { PubSubEventBus } from './pubsub/event-bus.pubsub.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** What `GET /api/health` shows for one component. */
export interface ComponentStatus {
  ok: boolean;
  detail?: string;
}
export type HealthCheck = () => Promise<ComponentStatus>;

export interface Platform {
  readonly config: AppConfig;
  readonly orders: OrderStore;
  readonly positions: PositionStore;
  readonly bus: EventBus;
  readonly blobs: BlobStore;
  /** Pre-trade risk state: positions, working orders and rate windows per scope (compare-and-set). */
  readonly riskLedger: RiskLedgerStore;
  /** ACTIVE / REDUCING / HALTED, global and per strategy. */
  readonly tradingState: TradingStateStore;
  /** Latest quotes / depth per venue and instrument, and each venue's state (written by the venue edge). */
  readonly marketState: MarketStateStore;
  readonly instruments: InstrumentCatalog;
  /**
   * The venue edge's durable algorithm scheduler state (one record per parent operation). Opened
   * with the stores; its health is reported by the edge, not listed here.
   */
  readonly algoStates: AlgoStateStore;
  /** Fenced leases (the single venue edge: stateful/edge/lease.ts). Its health is the edge's. */
  readonly leases: LeaseStore;
  readonly clock: Clock;
  /** Which adapter backs each port, e.g. `{order_store: 'local', bus: 'memory', ...}` (logs, health). */
  readonly adapters: Readonly<Record<string, string>>;
  /** Health check per component (`order_store`, `position_store`, `bus`, `blob_store`, ...). */
  readonly health: Readonly<Record<string, HealthCheck>>;
  /** Close every port, in reverse order of opening. Idempotent; the first failure is rethrown after all ran. */
  close(): Promise<void>;
}

export interface CreatePlatformOptions {
  /** Environment for emulator hosts (default `process.env`). */
  env?: Env | undefined;
  /** The clock (default a SystemClock). Tests and backtests pass a TestClock. */
  clock?: Clock | undefined;
  /** Where adapters report warnings (journal replay, dead letters...). Default stderr. */
  warn?: ((message: string) => void) | undefined;
  /** Local journals: fdatasync every commit (default false: survives a process crash, not power loss). */
  fsync?: boolean | undefined;
  /**
   * Where the audit trail goes (infra/audit): default `<data_dir>/audit` with the in-memory bus, the
   * `audit.records` topic with Pub/Sub; `false` for none.
   */
  audit?: AuditSink | false | undefined;
}

/**
 * Wall clock with nanosecond resolution: Date.now() read once, then advanced by the monotonic
 * high-resolution timer, so `now()` never goes backwards and has ns precision.
 */
export class SystemClock implements Clock {
  private readonly epochAnchor: Nanos;
  private readonly hrAnchor: bigint;

  constructor() {
    this.hrAnchor = hrtime.bigint();
    this.epochAnchor = BigInt(Date.now()) * 1_000_000n;
  }

  now(): Nanos {
    return this.epochAnchor + (hrtime.bigint() - this.hrAnchor);
  }
}

/** What every port factory gets: the configuration, the environment and the shared clients. */
export interface ComposeContext {
  readonly config: AppConfig;
  readonly env: Env;
  readonly scope: Scope;
  readonly warn: (message: string) => void;
  readonly fsync: boolean;
  /** The one Firestore client of the process (created on first use, terminated on close). */
  firestore(): Firestore;
}

export interface OpenHooks<T> {
  close: (value: T) => Promise<void> | void;
  health?: ((value: T) => Promise<ComponentStatus>) | undefined;
  /** Which implementation was chosen (shown in logs and health). */
  adapter?: string | ((value: T) => string) | undefined;
}

interface Opened {
  name: string;
  close: () => Promise<void>;
}

/** Opens resources and closes them in reverse order; collects their health checks. */
export class Scope {
  private readonly opened: Opened[] = [];
  readonly health: Record<string, HealthCheck> = {};
  readonly adapters: Record<string, string> = {};
  private closing: Promise<void> | null = null;

  /**
   * Open one resource. `close` is registered only once `open` succeeded; `health` (when given) is
   * listed under `name`; `adapter` names the implementation chosen.
   */
  async open<T>(name: string, open: () => Promise<T> | T, hooks: OpenHooks<T>): Promise<T> {
    if (this.closing) throw new Error(`cannot open ${name}: the platform is closing`);
    return this.adopt(name, await open(), hooks);
  }

  /** Register an already created resource (synchronously), as `open` does. */
  adopt<T>(name: string, value: T, hooks: OpenHooks<T>): T {
    if (this.closing) throw new Error(`cannot open ${name}: the platform is closing`);
    this.opened.push({ name, close: async () => hooks.close(value) });
    const health = hooks.health;
    if (health) this.health[name] = () => health(value);
    const adapter = typeof hooks.adapter === 'function' ? hooks.adapter(value) : hooks.adapter;
    if (adapter) this.adapters[name] = adapter;
    return value;
  }

  /** Close everything opened, newest first; every close runs even if one fails. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const r of this.opened.reverse()) {
        try {
          await r.close();
        } catch (err) {
          errors.push(
            new Error(`closing ${r.name} failed: ${err instanceof Error ? err.message : String(err)}`, {
              cause: err,
            }),
          );
        }
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, 'closing the platform failed');
    })();
    return this.closing;
  }
}

const defaultWarn = (message: string): void => {
  process.stderr.write(`${JSON.stringify({ severity: 'WARNING', message })}\n`);
};

// ---------------------------------------------------------------------------------------------
// Port factories: one per port, each choosing its adapter from the configuration.
// ---------------------------------------------------------------------------------------------

/** Absolute data folder of the embedded adapters. */
export function dataDir(config: AppConfig): string {
  return resolve(config.storage.data_dir);
}

async function openOrderStore(ctx: ComposeContext): Promise<OrderStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreOrderStore({
      firestore: ctx.firestore(),
      ...prefixOption(ctx.config),
    });
  }
  return LocalOrderStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

async function openPositionStore(ctx: ComposeContext): Promise<PositionStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestorePositionStore({
      firestore: ctx.firestore(),
      ...prefixOption(ctx.config),
    });
  }
  return LocalPositionStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

async function openRiskLedger(ctx: ComposeContext): Promise<RiskLedgerStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreRiskLedgerStore({ firestore: ctx.firestore(), ...prefixOption(ctx.config) });
  }
  return LocalRiskLedgerStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

async function openTradingState(ctx: ComposeContext): Promise<TradingStateStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreTradingStateStore({ firestore: ctx.firestore(), ...prefixOption(ctx.config) });
  }
  return LocalTradingStateStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

async function openAlgoStates(ctx: ComposeContext): Promise<AlgoStateStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreAlgoStateStore({ firestore: ctx.firestore(), ...prefixOption(ctx.config) });
  }
  return LocalAlgoStateStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

async function openLeases(ctx: ComposeContext): Promise<LeaseStore> {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreLeaseStore({ firestore: ctx.firestore(), ...prefixOption(ctx.config) });
  }
  return LocalLeaseStore.open({ dataDir: dataDir(ctx.config), fsync: ctx.fsync, warn: ctx.warn });
}

function openMarketState(ctx: ComposeContext): MarketStateStore {
  if (ctx.config.storage.order_store === 'firestore') {
    return new FirestoreMarketStateStore({ firestore: ctx.firestore(), ...prefixOption(ctx.config) });
  }
  return new LocalMarketStateStore();
}

function openBus(ctx: ComposeContext): EventBus {
  const { storage } = ctx.config;
  const onHandlerError = (
    error: unknown,
    context: { subscription: string; messageId: string; deliveryAttempt: number },
  ) =>
    ctx.warn(
      `handler failed on ${context.subscription} (message ${context.messageId}, attempt ${context.deliveryAttempt}): ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  if (storage.bus === 'pubsub') {
    const emulatorHost = ctx.env.PUBSUB_EMULATOR_HOST;
    return new PubSubEventBus({
      projectId: storage.gcp_project,
      ...(emulatorHost ? { emulatorHost } : {}),
      onHandlerError,
      onSubscriberError: (error, subscription) =>
        ctx.warn(
          `subscriber error on ${subscription}: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });
  }
  return new MemoryEventBus({ onHandlerError });
}

function openBlobStore(ctx: ComposeContext): BlobStore {
  const { storage } = ctx.config;
  if (storage.blob === 'gcs') {
    if (!storage.bucket) throw new TypeError('storage.bucket is required when storage.blob is "gcs"');
    const apiEndpoint = ctx.env.STORAGE_EMULATOR_HOST;
    return new GcsBlobStore({
      bucket: storage.bucket,
      projectId: storage.gcp_project,
      ...(apiEndpoint ? { apiEndpoint } : {}),
    });
  }
  return new LocalBlobStore(join(dataDir(ctx.config), 'blobs'), { durable: true });
}

function prefixOption(config: AppConfig): { collectionPrefix?: string } {
  const prefix = config.storage.collection_prefix;
  return prefix ? { collectionPrefix: prefix } : {};
}

/** Where a store of the order_store family keeps its data (logs, health). */
const STORE_LOCATIONS = {
  orders: { collection: 'orders', file: 'orders.jsonl' },
  positions: { collection: 'positions', file: 'positions.jsonl' },
  'risk-ledger': { collection: 'risk_ledgers', file: 'risk-ledger.jsonl' },
  'trading-state': { collection: 'trading_state', file: 'trading-state.jsonl' },
  'market-state': { collection: 'market_quotes, venue_states', file: '' },
  'algo-states': { collection: 'algo_states', file: 'algo-states.jsonl' },
  leases: { collection: 'leases', file: 'leases.jsonl' },
} as const;

function describeStore(config: AppConfig, what: keyof typeof STORE_LOCATIONS): string {
  const { storage } = config;
  const where = STORE_LOCATIONS[what];
  if (storage.order_store === 'firestore') {
    const db = storage.firestore_database ? `/${storage.firestore_database}` : '';
    const prefix = storage.collection_prefix ?? '';
    const collections = where.collection
      .split(', ')
      .map((c) => `${prefix}${c}`)
      .join(', ');
    return `firestore ${storage.gcp_project ?? ''}${db} collection ${collections}`;
  }
  return `local ${join(dataDir(config), where.file)}`;
}

function describeBlobs(blobs: BlobStore): string {
  if (blobs instanceof GcsBlobStore) return `gcs ${blobs.url}`;
  if (blobs instanceof LocalBlobStore) return `local ${blobs.root}`;
  return 'custom';
}

// ---------------------------------------------------------------------------------------------

/**
 * Open every port the configuration asks for. On failure, whatever was already opened is closed
 * before the error is rethrown.
 */
export async function createPlatform(
  config: AppConfig,
  options: CreatePlatformOptions = {},
): Promise<Platform> {
  const env = options.env ?? process.env;
  const scope = new Scope();
  let firestore: Firestore | null = null;
  const ctx: ComposeContext = {
    config,
    env,
    scope,
    warn: options.warn ?? defaultWarn,
    fsync: options.fsync ?? false,
    firestore() {
      if (firestore === null) {
        const emulatorHost = env.FIRESTORE_EMULATOR_HOST;
        const client = createFirestore({
          ...(config.storage.gcp_project ? { projectId: config.storage.gcp_project } : {}),
          ...(config.storage.firestore_database ? { databaseId: config.storage.firestore_database } : {}),
          ...(emulatorHost ? { emulatorHost } : {}),
        });
        // Registered before the stores that use it, so it is terminated after they close.
        firestore = scope.adopt('firestore_client', client, { close: (c) => c.terminate() });
      }
      return firestore;
    },
  };

  try {
    const clock = options.clock ?? new SystemClock();
    const orders = await scope.open('order_store', () => openOrderStore(ctx), {
      close: (s) => s.close(),
      health: (s) => s.health(),
      adapter: describeStore(config, 'orders'),
    });
    const positions = await scope.open('position_store', () => openPositionStore(ctx), {
      close: (s) => s.close(),
      health: (s) => s.health(),
      adapter: describeStore(config, 'positions'),
    });
    const bus = await scope.open('bus', () => openBus(ctx), {
      close: (b) => b.close(),
      health: (b) => b.health(),
      adapter: (b) =>
        b instanceof PubSubEventBus ? `pubsub ${config.storage.gcp_project ?? ''}`.trim() : 'memory',
    });
    const blobs = await scope.open('blob_store', () => openBlobStore(ctx), {
      close: () => undefined, // BlobStore holds no connection to release
      health: (b) => b.health(),
      adapter: describeBlobs,
    });
    const riskLedger = await scope.open('risk_ledger', () => openRiskLedger(ctx), {
      close: (s) => s.close(),
      health: (s) => s.health(),
      adapter: describeStore(config, 'risk-ledger'),
    });
    const tradingState = await scope.open('trading_state', () => openTradingState(ctx), {
      close: (s) => s.close(),
      health: (s) => s.health(),
      adapter: describeStore(config, 'trading-state'),
    });
    const marketState = await scope.open('market_state', () => openMarketState(ctx), {
      close: (s) => s.close(),
      health: (s) => s.health(),
      adapter: config.storage.order_store === 'firestore' ? describeStore(config, 'market-state') : 'memory',
    });
    const algoStates = await scope.open('algo_states', () => openAlgoStates(ctx), {
      close: (s) => s.close(),
      adapter: describeStore(config, 'algo-states'),
    });
    const leases = await scope.open('leases', () => openLeases(ctx), {
      close: (s) => s.close(),
      adapter: describeStore(config, 'leases'),
    });
    const instruments = await scope.open('instruments', () => createInstrumentCatalog({ blobs, clock }), {
      close: () => undefined,
      health: async (c) => {
        const specs = await c.list();
        return { ok: specs.length > 0, detail: `${specs.length} instruments from ${c.source()}` };
      },
      adapter: 'blob store instruments/<date>.json, else config/instruments.json',
    });

    // Audit trail: every order event and trading-state change, hash-chained (infra/audit).
    const auditSink =
      options.audit === false
        ? null
        : (options.audit ??
          (bus instanceof PubSubEventBus
            ? new BusAuditSink(bus)
            : new LocalAuditSink(join(dataDir(config), 'audit'))));
    const auditWarn = (err: unknown, stream: string) =>
      ctx.warn(
        `audit trail: could not append ${stream}: ${err instanceof Error ? err.message : String(err)}`,
      );
    const auditedOrders = auditSink === null ? orders : auditOrderStore(orders, auditSink, auditWarn);
    const auditedTradingState =
      auditSink === null ? tradingState : auditTradingStateStore(tradingState, auditSink, auditWarn);
    if (auditSink !== null) scope.adopt('audit_sink', auditSink, { close: (a) => a.close() });

    return {
      config,
      orders: auditedOrders,
      positions,
      bus,
      blobs,
      riskLedger,
      tradingState: auditedTradingState,
      marketState,
      instruments,
      algoStates,
      leases,
      clock,
      adapters: scope.adapters,
      health: scope.health,
      close: () => scope.close(),
    };
  } catch (err) {
    await scope.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The order pipeline (`createOrderService`) over the platform's ports: what `npm start`, the Cloud
 * Run service and the order functions use. The trading state is read through a cache refreshed
 * every `risk.trading_state_poll_ms` (≤ 1 s, the SPEC's "honoured within 1 s"). `overrides` replace
 * individual dependencies (tests).
 */
export function createPlatformOrderService(
  platform: Platform,
  overrides: Partial<OrderPipelineDeps> = {},
): OrderService {
  const { config } = platform;
  return createOrderService({
    orders: platform.orders,
    positions: platform.positions,
    bus: platform.bus,
    ledger: platform.riskLedger,
    market: platform.marketState,
    tradingState: new CachedTradingStateReader(platform.tradingState, {
      pollMs: config.risk.trading_state_poll_ms,
      clock: platform.clock,
    }),
    instruments: platform.instruments,
    clock: platform.clock,
    orderId: nodeOrderId,
    ...pipelineSettingsFromConfig(config),
    ...overrides,
  });
}

/**
 * SHA-256 by node:crypto for the order ids (shared/app/order-id.ts; the pure core cannot import
 * it): the same ids as the pure implementation, ≈ 3× faster. `crypto.hash` (Node ≥ 20.12) is the
 * one-shot form; older runtimes get `createHash`.
 */
export const nodeSha256Hex: Sha256Hex =
  typeof nodeCrypto.hash === 'function'
    ? (text) => nodeCrypto.hash('sha256', text, 'hex')
    : (text) => nodeCrypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** `orderIdFor` over node:crypto's SHA-256. */
export const nodeOrderId = orderIdWith(nodeSha256Hex);

/**
 * The rebalance service over a composed platform's ports (the function and the `npm start` watcher
 * build it the same way): the position book, the market state, the order store, the bus, the
 * BlobStore (records, actual state, daily closes), the instrument catalog, and the
 * PortfolioStateStore — Firestore when `storage.order_store` is firestore, memory otherwise;
 * settings from the `rebalance` configuration block.
 */

import { NANOS_PER_MILLI } from '../../shared/domain/time.ts';
import type { PortfolioStateStore } from '../../shared/ports/portfolio-state-store.ts';
import { orderPaceNs } from '../../shared/rebalance/backtest.ts';
import type { RebalanceCompletionStore } from '../../shared/rebalance/completion-store.ts';
import { createRebalanceService, type RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import type { Env, Platform } from '../compose.ts';
import { createFirestore } from '../firestore/order-store.firestore.ts';
import { FirestorePortfolioStateStore } from '../firestore/portfolio-state.firestore.ts';
import { MemoryPortfolioStateStore } from '../memory/portfolio-state.memory.ts';
import { FirestoreRebalanceCompletionStore } from './completion-store.firestore.ts';
import { MemoryRebalanceCompletionStore } from './completion-store.memory.ts';
import { dailyCloseReader } from './daily-data.ts';

function openFirestore(platform: Platform, env: Env) {
  const { storage } = platform.config;
  const emulatorHost = env.FIRESTORE_EMULATOR_HOST;
  return createFirestore({
    ...(storage.gcp_project ? { projectId: storage.gcp_project } : {}),
    ...(storage.firestore_database ? { databaseId: storage.firestore_database } : {}),
    ...(emulatorHost ? { emulatorHost } : {}),
  });
}

export function openPortfolioStateStore(platform: Platform, env: Env = process.env): PortfolioStateStore {
  const { storage } = platform.config;
  if (storage.order_store !== 'firestore') return new MemoryPortfolioStateStore();
  return new FirestorePortfolioStateStore({
    firestore: openFirestore(platform, env),
    ...(storage.collection_prefix ? { collectionPrefix: storage.collection_prefix } : {}),
    ownsClient: true,
  });
}

/** Completions claimed once across instances: Firestore with the Firestore order store, memory otherwise. */
export function openRebalanceCompletionStore(
  platform: Platform,
  env: Env = process.env,
): RebalanceCompletionStore {
  const { storage } = platform.config;
  if (storage.order_store !== 'firestore') return new MemoryRebalanceCompletionStore();
  return new FirestoreRebalanceCompletionStore({
    firestore: openFirestore(platform, env),
    ...(storage.collection_prefix ? { collectionPrefix: storage.collection_prefix } : {}),
    ownsClient: true,
  });
}

export function createPlatformRebalanceService(
  platform: Platform,
  portfolio: PortfolioStateStore = new MemoryPortfolioStateStore(),
  completions: RebalanceCompletionStore = new MemoryRebalanceCompletionStore(),
): RebalanceService {
  const cfg = platform.config.rebalance;
  return createRebalanceService({
    positions: platform.positions,
    market: platform.marketState,
    bus: platform.bus,
    blobs: platform.blobs,
    instrument: async (k) => (await platform.instruments.get(k)) ?? undefined,
    dailyClose: dailyCloseReader(platform.blobs),
    defaults: {
      quote_currency: cfg.quote_currency,
      cash_buffer: cfg.cash_buffer,
      min_trade_weight: cfg.min_trade_weight,
    },
    statePrefix: cfg.state_prefix,
    now: () => platform.clock.now(),
    // One velocity slot apart, as the backtest releases them (docs/rebalancing.md).
    // Rounded up to whole ms: never closer together than one velocity slot.
    paceMs: Number(
      (orderPaceNs(platform.config.risk.max_orders_per_second) + NANOS_PER_MILLI - 1n) / NANOS_PER_MILLI,
    ),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    orders: platform.orders,
    portfolio,
    completions,
    flatNavSnapshots: cfg.flat_nav_snapshots,
  });
}

/** The service of the cloud's rebalance functions: actual states and completion claims in Firestore (with a Firestore order store). */
export function createCloudRebalanceService(platform: Platform): RebalanceService {
  return createPlatformRebalanceService(
    platform,
    openPortfolioStateStore(platform),
    openRebalanceCompletionStore(platform),
  );
}

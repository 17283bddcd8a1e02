/**
 * What the ops console adds to the service's HTTP API, wired from the platform's ports: the
 * trading-state control, the execution event feed, the catalog and venue states, service
 * detection, live TCA, backtest results and the built console itself (console/dist). The routes
 * live in stateful/api; this only connects them to the ports of one running service.
 *
 * The execution event feed (shared/ports/event-feed-store.ts) is Firestore's
 * `execution_events` when the order store is Firestore, else a journal under the data folder; its
 * writer (stateful/api/events/writer.ts) follows `exec.orders` (subscription
 * `venue-edge.exec.orders`, in-process bus or Pub/Sub alike) and the trading-state history.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../infra/compose.ts';
import { dataDir, type Env } from '../infra/compose.ts';
import { FirestoreEventFeedStore } from '../infra/firestore/event-feed.firestore.ts';
import { createFirestore } from '../infra/firestore/order-store.firestore.ts';
import { LocalBlobStore } from '../infra/local/blob-store.local.ts';
import { LocalEventFeedStore } from '../infra/local/event-feed.local.ts';
import type { ExecutionLog } from '../shared/app/execution-recorder.ts';
import { venueInstrumentKey } from '../shared/app/messages.ts';
import type { DecimalString } from '../shared/domain/decimal.ts';
import type { Position } from '../shared/domain/types.ts';
import type { EventFeedStore } from '../shared/ports/event-feed-store.ts';
import { riskLimitsFromConfig } from '../shared/risk/config.ts';
import { createBacktestRunner } from './api/backtests/runner.ts';
import type { ServiceMap } from './api/catalog/index.ts';
import type { LocalExchangeControl } from './api/dev/index.ts';
import { startEventFeedWriter } from './api/events/writer.ts';
import type { ApiDeps } from './api/index.ts';
import type { VenueSessionSnapshot } from './edge/status.ts';

/** Where `npm run console:build` (and `npm start`'s prestart) writes the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../console/dist', import.meta.url));

export interface ConsoleWiring {
  deps: Pick<
    ApiDeps,
    | 'marks'
    | 'tradingState'
    | 'events'
    | 'catalog'
    | 'tca'
    | 'backtests'
    | 'backtestRunner'
    | 'consoleDir'
    | 'localExchange'
  >;
  /** Health checks of what the console added (`event_feed`), for `GET /api/health`. */
  checks: Readonly<Record<string, () => Promise<{ ok: boolean; detail?: string }>>>;
  close(): Promise<void>;
}

export interface ConsoleWiringOptions {
  platform: Platform;
  /** What runs in this process, for service detection (read on every request). */
  services: () => Omit<ServiceMap, 'api' | 'trading_state' | 'backtest_results' | 'backtest_runner'>;
  /** The venue edge's session snapshots (read on every request; empty while no edge runs). */
  sessions?: (() => readonly VenueSessionSnapshot[]) | undefined;
  /** Serve the console from here (default console/dist). */
  consoleDir?: string | undefined;
  /** The event feed (default: {@link openEventFeedStore} over the platform's storage). */
  eventFeed?: EventFeedStore | undefined;
  /** Where the event feed writer reports failures. */
  log?: ExecutionLog | undefined;
  /**
   * Start backtests from the console (`POST /api/backtests`): on by default when the blob store is a
   * local folder (`npm start`), never on Cloud Storage (the cloud runs backtests in the backtest
   * functions, not beside the live edge); `EXEC_BACKTEST_RUNNER=off` turns it off. Its data root
   * (tick data, instruments, signals) is `EXEC_BACKTEST_DATA`, default `<data dir>/backtest-data`.
   */
  backtestWorkers?: number | undefined;
  /** Environment: the Firestore emulator host, `EXEC_BACKTEST_RUNNER` (default `process.env`). */
  env?: Env | undefined;
  /** The local exchange `npm start` runs in process, for `/api/dev/local-exchange`. */
  localExchange?: {
    url: string;
    faults: { offline(): void; online(): void; readonly offlineNow: boolean };
  } | null;
}

/** The latest mid of each instrument over the venues its positions are on. */
export function marksFrom(platform: Pick<Platform, 'marketState'>) {
  return async (positions: readonly Position[]): Promise<Record<string, DecimalString | null>> => {
    const keys: Array<{ instrument: string; venue: string; instrument_key: string }> = [];
    for (const p of positions) {
      for (const venue of Object.keys(p.venues)) {
        try {
          keys.push({
            instrument: p.instrument_key,
            venue,
            instrument_key: venueInstrumentKey(p.instrument_key, venue),
          });
        } catch {
          // Not a venue-qualified id: no mark from this venue.
        }
      }
    }
    const quotes = keys.length === 0 ? [] : await platform.marketState.getQuotes(keys);
    const out: Record<string, DecimalString | null> = {};
    for (const p of positions) out[p.instrument_key] ??= null;
    keys.forEach((k, i) => {
      const mid = quotes[i]?.mid ?? null;
      if (mid !== null && out[k.instrument] === null) out[k.instrument] = mid;
    });
    return out;
  };
}

function localExchangeControl(ex: NonNullable<ConsoleWiringOptions['localExchange']>): LocalExchangeControl {
  return {
    url: ex.url,
    isOffline: () => ex.faults.offlineNow,
    offline: () => ex.faults.offline(),
    online: () => ex.faults.online(),
  };
}

/** The execution event feed beside the order store: Firestore `execution_events`, or a local journal. */
export async function openEventFeedStore(
  platform: Pick<Platform, 'config'>,
  env: Env = process.env,
): Promise<EventFeedStore> {
  const { storage } = platform.config;
  if (storage.order_store !== 'firestore') {
    return LocalEventFeedStore.open({ dataDir: dataDir(platform.config) });
  }
  const emulatorHost = env.FIRESTORE_EMULATOR_HOST;
  return new FirestoreEventFeedStore({
    firestore: createFirestore({
      ...(storage.gcp_project ? { projectId: storage.gcp_project } : {}),
      ...(storage.firestore_database ? { databaseId: storage.firestore_database } : {}),
      ...(emulatorHost ? { emulatorHost } : {}),
    }),
    ...(storage.collection_prefix ? { collectionPrefix: storage.collection_prefix } : {}),
    ownsClient: true,
  });
}

export async function wireConsole(opts: ConsoleWiringOptions): Promise<ConsoleWiring> {
  const { platform } = opts;
  const env = opts.env ?? process.env;
  const feed = opts.eventFeed ?? (await openEventFeedStore(platform, env));
  const writer = await startEventFeedWriter({
    feed,
    bus: platform.bus,
    orders: platform.orders,
    tradingState: platform.tradingState,
    log: opts.log,
  });
  const config = platform.config;
  const backtestData = resolve(env.EXEC_BACKTEST_DATA ?? join(dataDir(config), 'backtest-data'));
  const backtestRunner =
    platform.blobs instanceof LocalBlobStore && env.EXEC_BACKTEST_RUNNER !== 'off'
      ? createBacktestRunner({
          data: new LocalBlobStore(backtestData, { durable: false }),
          dataLocation: backtestData,
          results: platform.blobs,
          resultsLocation: platform.blobs.root,
          limits: riskLimitsFromConfig(config.risk),
          defaults: {
            window_minutes: config.backtest.window_minutes,
            seed: config.backtest.seed,
            trading_state: config.risk.initial_trading_state,
          },
          workers: opts.backtestWorkers ?? 1,
          log: opts.log,
        })
      : undefined;
  return {
    deps: {
      marks: marksFrom(platform),
      tradingState: {
        store: platform.tradingState,
        initial: config.risk.initial_trading_state,
        now: () => platform.clock.now(),
      },
      events: (q) => feed.page(q),
      catalog: {
        instruments: platform.instruments,
        venues: config.venues.map((v) => ({
          id: v.id,
          exchange: v.exchange,
          mode: v.mode,
          enabled: v.enabled,
        })),
        market: platform.marketState,
        now: () => platform.clock.now(),
        sessions: opts.sessions,
        services: () => ({
          api: true,
          trading_state: true,
          backtest_results: true,
          ...opts.services(),
          backtest_runner: backtestRunner !== undefined,
        }),
      },
      tca: platform.orders,
      backtests: platform.blobs,
      ...(backtestRunner === undefined ? {} : { backtestRunner }),
      consoleDir: opts.consoleDir ?? CONSOLE_DIST,
      ...(opts.localExchange ? { localExchange: localExchangeControl(opts.localExchange) } : {}),
    },
    checks: { event_feed: () => feed.health() },
    close: async () => {
      await writer.close();
      if (opts.eventFeed === undefined) await feed.close();
    },
  };
}

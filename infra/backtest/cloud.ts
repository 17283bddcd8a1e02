/**
 * Cold start of the backtest functions (backtest-planner, backtest-window, backtest-merge): the
 * configuration once, the data and results stores, the Pub/Sub bus. Lighter than the order
 * functions' cold start: backtests touch no order store.
 *
 * Environment:
 * - `EXEC_CONFIG`: the configuration file (risk limits, `backtest` defaults, storage);
 * - `BACKTEST_DATA`: tick data root, `gs://bucket/prefix` or a folder (default `gs://<storage.bucket>`
 *   when `storage.blob` is `gcs`, else `<storage.data_dir>`);
 * - `BACKTEST_RESULTS`: results root (default: the same as the data root);
 * - `PUBSUB_EMULATOR_HOST`: the emulator (tests).
 */
import { type BacktestSettings, DEFAULT_BACKTEST_SETTINGS } from '../../shared/backtest/model.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import { riskLimitsFromConfig } from '../../shared/risk/config.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { loadConfig } from '../config/load-config.ts';
import { FooterCache } from '../parquet/reader.ts';
import { PubSubEventBus } from '../pubsub/event-bus.pubsub.ts';
import { openBlobLocation } from '../ticks/blob-location.ts';

export interface BacktestFunctionDeps {
  config: AppConfig;
  data: BlobStore;
  results: BlobStore;
  bus: EventBus;
  settings: BacktestSettings;
  limits: RiskLimits;
  /** Footers reused by the windows a warm instance runs. */
  cache: FooterCache;
  now: () => number;
}

/** Default settings of a run from the configuration (a request may override some). */
export function settingsFromConfig(config: AppConfig): BacktestSettings {
  return {
    ...DEFAULT_BACKTEST_SETTINGS,
    window_minutes: config.backtest.window_minutes,
    seed: config.backtest.seed,
    trading_state: config.risk.initial_trading_state,
  };
}

export function defaultDataLocation(config: AppConfig): string {
  return config.storage.blob === 'gcs' && config.storage.bucket
    ? `gs://${config.storage.bucket}`
    : config.storage.data_dir;
}

let cold: Promise<BacktestFunctionDeps> | null = null;

export function backtestColdStart(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<BacktestFunctionDeps> {
  cold ??= (async () => {
    const config = loadConfig({ env });
    const dataLocation = env.BACKTEST_DATA ?? defaultDataLocation(config);
    const resultsLocation = env.BACKTEST_RESULTS ?? dataLocation;
    const bus = new PubSubEventBus({
      ...(config.storage.gcp_project ? { projectId: config.storage.gcp_project } : {}),
      ...(env.PUBSUB_EMULATOR_HOST ? { emulatorHost: env.PUBSUB_EMULATOR_HOST } : {}),
    });
    return {
      config,
      data: await openBlobLocation(dataLocation, { durable: false }),
      results: await openBlobLocation(resultsLocation),
      bus,
      settings: settingsFromConfig(config),
      limits: riskLimitsFromConfig(config.risk),
      cache: new FooterCache(),
      now: () => Date.now(),
    };
  })();
  return cold;
}

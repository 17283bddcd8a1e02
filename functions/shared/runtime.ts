/**
 * Cold start of the order functions: read the configuration ONCE, open the ports (infra/compose.ts)
 * and build the OrderService (shared/app/order-pipeline.ts) — once per process, shared by every
 * function registered in it (`functions/index.ts` registers all of them for a single deploy
 * source). A configuration that does not parse fails the cold start with a
 * {@link FunctionStartupError} naming every bad field: the instance never serves a message it
 * would mishandle, and functions-framework exits with the message in the log.
 *
 * The ports — order and position stores, bus, blobs, and the pipeline's risk ledger, trading state
 * (read through a ≤ 1 s cache), market state and instrument catalog — are infra/compose.ts's
 * choice from `storage.*`: Firestore + Pub/Sub in the cloud, embedded adapters by default.
 */
import {
  type CreatePlatformOptions,
  createPlatform,
  createPlatformOrderService,
  type Env,
  type Platform,
} from '../../infra/compose.ts';
import { loadConfig } from '../../infra/config/load-config.ts';
import type { OrderService } from '../../shared/app/order-service.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import { ValidationError } from '../../shared/domain/errors.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import { createFunctionLogger, type FunctionLogger } from './log.ts';

/** What the order functions need, built once per process. */
export interface FunctionDeps {
  readonly config: AppConfig;
  readonly platform: Platform;
  readonly service: OrderService;
  /** The bus the service publishes on; the functions publish their dead letters on it too. */
  readonly bus: EventBus;
  /** A logger for one function (Cloud Logging JSON lines). */
  logger(functionName: string): FunctionLogger;
  /** Close every port (tests; SIGTERM). */
  close(): Promise<void>;
}

/** The cold start failed: the message says what to fix; `cause` is the original error. */
export class FunctionStartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FunctionStartupError';
  }
}

export interface ComposeFunctionOptions {
  /** Environment (default process.env): EXEC_CONFIG and the emulator hosts. */
  env?: Env | undefined;
  /** The configuration file (default EXEC_CONFIG, else the embedded default). */
  configPath?: string | undefined;
  /** An already validated configuration (tests, benches): skips the file. */
  config?: AppConfig | undefined;
  /** Passed to createPlatform (clock, warn, fsync). */
  platform?: Omit<CreatePlatformOptions, 'env'> | undefined;
}

/** Read the configuration or fail with every problem listed. */
export function loadFunctionConfig(options: ComposeFunctionOptions = {}): AppConfig {
  if (options.config) return options.config;
  try {
    return loadConfig({ path: options.configPath, env: options.env ?? process.env });
  } catch (err) {
    if (err instanceof ValidationError) {
      const fields = err.issues.map((i) => `  - ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n');
      throw new FunctionStartupError(
        `order functions cannot start: the configuration is invalid (${err.code}): ${err.message}\n${fields}`,
        { cause: err },
      );
    }
    throw new FunctionStartupError(
      `order functions cannot start: reading the configuration failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** Build the deps (no memoisation: see {@link coldStart}). */
export async function composeFunctionDeps(options: ComposeFunctionOptions = {}): Promise<FunctionDeps> {
  const env = options.env ?? process.env;
  const config = loadFunctionConfig(options);
  const startup = createFunctionLogger('cold-start', config.logging.level);
  const platform = await createPlatform(config, {
    warn: (message) => startup.warn(message),
    ...options.platform,
    env,
  });
  const service = createPlatformOrderService(platform);
  startup.info('order functions ready', { adapters: platform.adapters });
  let closing: Promise<void> | null = null;
  return {
    config,
    platform,
    service,
    bus: platform.bus,
    logger: (functionName) => createFunctionLogger(functionName, config.logging.level),
    close: () => {
      closing ??= platform.close();
      return closing;
    },
  };
}

let cold: Promise<FunctionDeps> | null = null;

/**
 * The process's deps, composed on first call and shared afterwards (every function of the deploy
 * source). A failure is not cached as success: it rejects every caller with the same error.
 */
export function coldStart(options: ComposeFunctionOptions = {}): Promise<FunctionDeps> {
  cold ??= composeFunctionDeps(options);
  return cold;
}

/** Close the process's deps (tests, a SIGTERM handler); a later coldStart composes afresh. */
export async function shutdownFunctions(): Promise<void> {
  const current = cold;
  cold = null;
  if (current === null) return;
  const deps = await current.catch(() => null);
  if (deps) await deps.close();
}

/**
 * The order functions wired to the emulators, for the integration test and the bench: a
 * configuration file (Firestore order store, Pub/Sub bus, unique collection prefix), the
 * environment a function instance would get, and the topics and subscriptions Terraform would
 * declare (push subscriptions to the functions' endpoints with their dead-letter topics).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import { functionDeadLetterTopic, functionSubscription } from '../../../functions/shared/dead-letter.ts';
import { type AppConfigInput, EMBEDDED_CONFIG } from '../../../shared/config/schema.ts';
import { createPushSubscription, ensureTopics } from './pubsub-tap.ts';

export interface FunctionsEnvOptions {
  projectId: string;
  pubsubHost: string;
  firestoreHost: string;
  /** Collection prefix isolating this run's documents (default unique). */
  collectionPrefix?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface FunctionsEnv {
  configPath: string;
  dataDir: string;
  collectionPrefix: string;
  /** EXEC_CONFIG, the emulator hosts, METADATA_SERVER_DETECTION. */
  env: Record<string, string>;
}

/** Write the configuration and return the environment a function instance would run with. */
export function prepareFunctionsEnv(opts: FunctionsEnvOptions): FunctionsEnv {
  const dir = mkdtempSync(join(tmpdir(), 'functions-env-'));
  const collectionPrefix = opts.collectionPrefix ?? `fn${Date.now().toString(36)}${process.pid}-`;
  const config = {
    venues: EMBEDDED_CONFIG.venues,
    router: EMBEDDED_CONFIG.router,
    risk: {
      ...EMBEDDED_CONFIG.risk,
      // Loose velocity limits: tests and benches send bursts; the notional limits stay as shipped.
      max_orders_per_second: 100_000,
      max_orders_per_minute: 1_000_000,
    },
    storage: {
      order_store: 'firestore',
      bus: 'pubsub',
      blob: 'local',
      data_dir: dir,
      gcp_project: opts.projectId,
      collection_prefix: collectionPrefix,
    },
    logging: { level: opts.logLevel ?? 'warn', log_orders: true, log_fills: true },
  } satisfies AppConfigInput;
  const configPath = join(dir, 'functions.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return {
    configPath,
    dataDir: dir,
    collectionPrefix,
    env: {
      EXEC_CONFIG: configPath,
      PUBSUB_EMULATOR_HOST: opts.pubsubHost,
      FIRESTORE_EMULATOR_HOST: opts.firestoreHost,
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: opts.projectId,
    },
  };
}

/** Topics the order functions read and write. */
export const FUNCTION_TOPICS = [
  'orders.requests',
  'orders.cancels',
  'orders.routed',
  'exec.orders',
  functionDeadLetterTopic('order-intake', 'orders.requests'),
  functionDeadLetterTopic('order-cancel', 'orders.cancels'),
] as const;

/**
 * What Terraform declares for a function: its push subscription `<function>.<topic>` to the
 * function's URL (path `/projects/<p>/topics/<t>`, so functions-framework makes a CloudEvent of
 * it) with a native dead-letter policy to `<function>.<topic>.dlq` as the backstop.
 */
export async function subscribeFunction(
  pubsub: PubSub,
  functionName: string,
  topic: string,
  baseUrl: string,
): Promise<string> {
  const { projectId } = pubsub;
  const name = functionSubscription(functionName, topic);
  await createPushSubscription(pubsub, {
    name,
    topic,
    endpoint: `${baseUrl}/projects/${projectId}/topics/${topic}`,
    deadLetterTopic: functionDeadLetterTopic(functionName, topic),
    maxDeliveryAttempts: 5,
  });
  return name;
}

export { ensureTopics };

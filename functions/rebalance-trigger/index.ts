/**
 * Registers `rebalance-trigger` (Cloud Storage object-finalize trigger on the weights bucket; the
 * handler filters on `rebalance.weights_prefix`). The platform's ports are composed once at cold
 * start (shared with the order functions when they run from `functions/index.ts`); a bad
 * configuration fails the instance before it takes an event.
 */
import * as functions from '@google-cloud/functions-framework';
import { GcsBlobStore } from '../../infra/gcs/blob-store.gcs.ts';
import { createPlatformRebalanceService } from '../../infra/rebalance/compose.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import { coldStart } from '../shared/runtime.ts';
import { createRebalanceTriggerHandler, REBALANCE_TRIGGER } from './handler.ts';

const deps = await coldStart();
const { config, platform } = deps;
const buckets = new Map<string, BlobStore>();

/** The platform's own bucket through its BlobStore; another bucket through a store of its own. */
function storeFor(bucket: string): BlobStore {
  if (config.storage.blob === 'gcs' && bucket === config.storage.bucket) return platform.blobs;
  let store = buckets.get(bucket);
  if (store === undefined) {
    const apiEndpoint = process.env.STORAGE_EMULATOR_HOST;
    store = new GcsBlobStore({
      bucket,
      projectId: config.storage.gcp_project,
      ...(apiEndpoint ? { apiEndpoint } : {}),
    });
    buckets.set(bucket, store);
  }
  return store;
}

functions.cloudEvent(
  REBALANCE_TRIGGER,
  createRebalanceTriggerHandler({
    service: createPlatformRebalanceService(platform),
    readObject: async (bucket, name) => {
      try {
        return await storeFor(bucket).get(name);
      } catch (err) {
        if (err instanceof BlobNotFoundError) return null;
        throw err;
      }
    },
    weightsPrefix: config.rebalance.weights_prefix,
    log: deps.logger(REBALANCE_TRIGGER),
  }),
);

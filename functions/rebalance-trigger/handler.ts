/**
 * `rebalance-trigger`: a Cloud Storage object-finalize event (Eventarc, `google.cloud.storage.object.v1.finalized`)
 * on the weights prefix → read the object → the rebalance service (shared/rebalance/rebalance-service.ts:
 * validate, plan, publish the order instructions to `orders.requests`).
 *
 * | event / outcome                                   | function                                         |
 * | ------------------------------------------------- | ------------------------------------------------ |
 * | not a storage object, or no bucket / name         | ack `ignored` (logged): nothing to retry          |
 * | an object outside the weights prefix, not `.json` | ack `ignored`                                     |
 * | the object is gone (deleted since)                | ack `ignored`                                     |
 * | PUBLISHED, DUPLICATE                              | ack (the record names the orders)                 |
 * | INVALID, UNPLANNABLE                              | ack: recorded with the reasons, no order          |
 * | reading, a store or the bus fails                 | throw → Eventarc retries; the rebalance is idempotent |
 */
import type { RebalanceRecord, RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import type { FunctionLogger } from '../shared/log.ts';

export const REBALANCE_TRIGGER = 'rebalance-trigger';

export interface StorageObjectEvent {
  bucket: string;
  name: string;
  generation: string | null;
}

/** The object of a CloudEvent (data as Eventarc sends it: StorageObjectData JSON), or null. */
export function storageObjectOf(event: unknown): StorageObjectEvent | null {
  if (typeof event !== 'object' || event === null) return null;
  const data = (event as { data?: unknown }).data;
  const d =
    typeof data === 'string'
      ? safeJson(data)
      : data instanceof Uint8Array
        ? safeJson(new TextDecoder().decode(data))
        : data;
  if (typeof d !== 'object' || d === null) return null;
  const { bucket, name, generation } = d as Record<string, unknown>;
  if (typeof bucket !== 'string' || bucket === '' || typeof name !== 'string' || name === '') return null;
  return {
    bucket,
    name,
    generation: typeof generation === 'string' || typeof generation === 'number' ? String(generation) : null,
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export interface RebalanceTriggerDeps {
  service: RebalanceService;
  /** Read an object's bytes; null when it no longer exists. */
  readObject(bucket: string, name: string): Promise<Uint8Array | null>;
  /** Object names under this prefix (`weights/`) are weights files. */
  weightsPrefix: string;
  log: FunctionLogger;
}

export interface RebalanceTriggerReply {
  outcome: string;
  rebalance_id?: string;
  orders?: number;
  issues?: RebalanceRecord['issues'];
}

export function createRebalanceTriggerHandler(deps: RebalanceTriggerDeps) {
  const prefix = `${deps.weightsPrefix.replace(/\/+$/, '')}/`;
  return async (event: unknown): Promise<RebalanceTriggerReply> => {
    const object = storageObjectOf(event);
    if (object === null) {
      deps.log.warn('not a Cloud Storage object event; ignored');
      return { outcome: 'ignored' };
    }
    const fields = { bucket: object.bucket, object: object.name, generation: object.generation };
    if (!object.name.startsWith(prefix) || !object.name.endsWith('.json')) {
      deps.log.info('object outside the weights prefix; ignored', fields);
      return { outcome: 'ignored' };
    }
    const bytes = await deps.readObject(object.bucket, object.name);
    if (bytes === null) {
      deps.log.warn('weights object no longer exists; ignored', fields);
      return { outcome: 'ignored' };
    }
    const source = `gs://${object.bucket}/${object.name}${object.generation ? `#${object.generation}` : ''}`;
    const r = await deps.service.onWeightsFile({ source, bytes });
    const out = {
      ...fields,
      rebalance_id: r.rebalance_id,
      strategy_id: r.strategy_id,
      status: r.status,
      orders: r.instructions.length,
    };
    if (r.status === 'INVALID' || r.status === 'UNPLANNABLE') {
      deps.log.warn(`weights file ${r.status === 'INVALID' ? 'rejected' : 'not plannable'}: no order`, {
        ...out,
        issues: r.issues,
      });
    } else deps.log.info(`rebalance ${r.status.toLowerCase()}`, out);
    return {
      outcome: r.status.toLowerCase(),
      rebalance_id: r.rebalance_id,
      orders: r.instructions.length,
      issues: r.issues,
    };
  };
}

/**
 * Registers `rebalance-complete` (Pub/Sub trigger on `exec.orders`): writes a rebalance's actual
 * state once its last order is final. The platform's ports are composed once at cold start (shared
 * with the other functions of `functions/index.ts`), with the Firestore PortfolioStateStore and the
 * Firestore completion claims when `storage.order_store` is firestore.
 */
import * as functions from '@google-cloud/functions-framework';
import { createCloudRebalanceService } from '../../infra/rebalance/compose.ts';
import { coldStart } from '../shared/runtime.ts';
import { createRebalanceCompleteHandler, REBALANCE_COMPLETE } from './handler.ts';

const deps = await coldStart();

functions.cloudEvent(
  REBALANCE_COMPLETE,
  createRebalanceCompleteHandler({
    service: createCloudRebalanceService(deps.platform),
    bus: deps.bus,
    log: deps.logger(REBALANCE_COMPLETE),
  }),
);

/**
 * Registers `rebalance-complete` (Pub/Sub trigger on `exec.orders`): writes a rebalance's actual
 * state once its last order is final. The platform's ports are composed once at cold start (shared
 * with the other functions of `functions/index.ts`), with the Firestore PortfolioStateStore and the
 * Firestore completion claims when `storage.order_store` is firestore.
 */
import * as functions from '@google-cloud/functions-framework';
import {
  createPlatformRebalanceService,
  openPortfolioStateStore,
  openRebalanceCompletionStore,
} from '../../infra/rebalance/compose.ts';
import { coldStart } from '../shared/runtime.ts';
import { createRebalanceCompleteHandler, REBALANCE_COMPLETE } from './handler.ts';

const deps = await coldStart();
const { platform } = deps;

functions.cloudEvent(
  REBALANCE_COMPLETE,
  createRebalanceCompleteHandler({
    service: createPlatformRebalanceService(
      platform,
      openPortfolioStateStore(platform),
      openRebalanceCompletionStore(platform),
    ),
    bus: deps.bus,
    log: deps.logger(REBALANCE_COMPLETE),
  }),
);

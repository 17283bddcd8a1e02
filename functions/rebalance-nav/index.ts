/**
 * Registers `rebalance-nav` (Pub/Sub trigger on `rebalance.daily`, published once a day by Cloud
 * Scheduler): the DAILY NAV snapshot of every rebalanced portfolio, into the Firestore
 * PortfolioStateStore when `storage.order_store` is firestore.
 */
import * as functions from '@google-cloud/functions-framework';
import {
  createPlatformRebalanceService,
  openPortfolioStateStore,
  openRebalanceCompletionStore,
} from '../../infra/rebalance/compose.ts';
import { coldStart } from '../shared/runtime.ts';
import { createRebalanceNavHandler, REBALANCE_NAV } from './handler.ts';

const deps = await coldStart();
const { platform } = deps;

functions.cloudEvent(
  REBALANCE_NAV,
  createRebalanceNavHandler({
    service: createPlatformRebalanceService(
      platform,
      openPortfolioStateStore(platform),
      openRebalanceCompletionStore(platform),
    ),
    bus: deps.bus,
    log: deps.logger(REBALANCE_NAV),
  }),
);

/**
 * Registers `rebalance-nav` (Pub/Sub trigger on `rebalance.daily`, published once a day by Cloud
 * Scheduler): the DAILY NAV snapshot of every rebalanced portfolio, into the Firestore
 * PortfolioStateStore when `storage.order_store` is firestore.
 */
import * as functions from '@google-cloud/functions-framework';
import { createCloudRebalanceService } from '../../infra/rebalance/compose.ts';
import { coldStart } from '../shared/runtime.ts';
import { createRebalanceNavHandler, REBALANCE_NAV } from './handler.ts';

const deps = await coldStart();

functions.cloudEvent(
  REBALANCE_NAV,
  createRebalanceNavHandler({
    service: createCloudRebalanceService(deps.platform),
    bus: deps.bus,
    log: deps.logger(REBALANCE_NAV),
  }),
);

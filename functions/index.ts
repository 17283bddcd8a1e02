/**
 * Every Cloud Function of the platform in one module: importing it registers all of them with
 * functions-framework (local runs: `functions-framework --source functions/index.ts --target
 * <name>`). Each function composes its deps once at cold start; the two order functions share one
 * composition (functions/shared/runtime.ts). The deployed archive's entry module imports only
 * `functions/<name>/index.ts` of the function it runs (terraform/scripts/package-functions.mjs),
 * so an instance loads one function's code.
 *
 * The folder name = the function name = the entry point = the Terraform key; a function consumes
 * its trigger topic through the push subscription `<name>.<topic>` and dead-letters to
 * `<name>.<topic>.dlq`.
 */
import { BACKTEST_MERGE, BACKTEST_MERGE_TOPIC } from './backtest-merge/handler.ts';
import { BACKTEST_PLANNER, BACKTEST_PLANNER_TOPIC } from './backtest-planner/handler.ts';
import { BACKTEST_WINDOW, BACKTEST_WINDOW_TOPIC } from './backtest-window/handler.ts';
import { ORDER_CANCEL, ORDER_CANCEL_TOPIC } from './order-cancel/handler.ts';
import { ORDER_INTAKE, ORDER_INTAKE_TOPIC } from './order-intake/handler.ts';
import { REBALANCE_COMPLETE, REBALANCE_COMPLETE_TOPIC } from './rebalance-complete/handler.ts';
import { REBALANCE_NAV, REBALANCE_NAV_TOPIC } from './rebalance-nav/handler.ts';
import { REBALANCE_TRIGGER } from './rebalance-trigger/handler.ts';

import './order-intake/index.ts';
import './order-cancel/index.ts';
import './backtest-planner/index.ts';
import './backtest-window/index.ts';
import './backtest-merge/index.ts';
import './rebalance-trigger/index.ts';
import './rebalance-complete/index.ts';
import './rebalance-nav/index.ts';

/** Every function in this deploy source with its trigger topic. */
export const FUNCTIONS = [
  { name: ORDER_INTAKE, topic: ORDER_INTAKE_TOPIC },
  { name: ORDER_CANCEL, topic: ORDER_CANCEL_TOPIC },
  { name: BACKTEST_PLANNER, topic: BACKTEST_PLANNER_TOPIC },
  { name: BACKTEST_WINDOW, topic: BACKTEST_WINDOW_TOPIC },
  { name: BACKTEST_MERGE, topic: BACKTEST_MERGE_TOPIC },
  { name: REBALANCE_COMPLETE, topic: REBALANCE_COMPLETE_TOPIC },
  { name: REBALANCE_NAV, topic: REBALANCE_NAV_TOPIC },
] as const;

/** Functions triggered by Cloud Storage object events (Eventarc), not by a topic. */
export const STORAGE_FUNCTIONS = [
  { name: REBALANCE_TRIGGER, event: 'google.cloud.storage.object.v1.finalized' },
] as const;

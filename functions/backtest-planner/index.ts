/**
 * Registers `backtest-planner` (Pub/Sub trigger on `backtests.requests`). The configuration, the
 * stores and the bus are opened once at cold start (infra/backtest/cloud.ts); a bad configuration
 * fails the instance before it takes a message.
 */
import * as functions from '@google-cloud/functions-framework';
import { backtestColdStart } from '../../infra/backtest/cloud.ts';
import { createFunctionLogger } from '../shared/log.ts';
import { BACKTEST_PLANNER, createBacktestPlannerHandler } from './handler.ts';

const deps = await backtestColdStart();

functions.cloudEvent(
  BACKTEST_PLANNER,
  createBacktestPlannerHandler({
    data: deps.data,
    results: deps.results,
    bus: deps.bus,
    log: createFunctionLogger(BACKTEST_PLANNER, deps.config.logging.level),
    settings: deps.settings,
    limits: deps.limits,
    now: deps.now,
  }),
);

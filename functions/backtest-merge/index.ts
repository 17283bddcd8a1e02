/**
 * Registers `backtest-merge` (Pub/Sub trigger on `backtests.done`): merges a run once every window
 * is done. Stores and bus are opened once at cold start (infra/backtest/cloud.ts).
 */
import * as functions from '@google-cloud/functions-framework';
import { backtestColdStart } from '../../infra/backtest/cloud.ts';
import { createFunctionLogger } from '../shared/log.ts';
import { BACKTEST_MERGE, createBacktestMergeHandler } from './handler.ts';

const deps = await backtestColdStart();

functions.cloudEvent(
  BACKTEST_MERGE,
  createBacktestMergeHandler({
    results: deps.results,
    bus: deps.bus,
    log: createFunctionLogger(BACKTEST_MERGE, deps.config.logging.level),
    now: deps.now,
  }),
);

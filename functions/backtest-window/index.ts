/**
 * Registers `backtest-window` (Pub/Sub trigger on `backtests.windows`), one window per message.
 * Stores, bus and a footer cache (reused by the windows a warm instance runs) are opened once at
 * cold start (infra/backtest/cloud.ts).
 */
import * as functions from '@google-cloud/functions-framework';
import { backtestColdStart } from '../../infra/backtest/cloud.ts';
import { createFunctionLogger } from '../shared/log.ts';
import { BACKTEST_WINDOW, createBacktestWindowHandler } from './handler.ts';

const deps = await backtestColdStart();

functions.cloudEvent(
  BACKTEST_WINDOW,
  createBacktestWindowHandler({
    data: deps.data,
    results: deps.results,
    bus: deps.bus,
    log: createFunctionLogger(BACKTEST_WINDOW, deps.config.logging.level),
    cache: deps.cache,
  }),
);

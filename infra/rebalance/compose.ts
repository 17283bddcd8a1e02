/**
 * The rebalance service over a composed platform's ports (the function and the `npm start` watcher
 * build it the same way): the position book, the market state, the bus, the BlobStore (records,
 * daily closes) and the instrument catalog; settings from the `rebalance` configuration block.
 */

import { createRebalanceService, type RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import type { Platform } from '../compose.ts';
import { dailyCloseReader } from './daily-data.ts';

export function createPlatformRebalanceService(platform: Platform): RebalanceService {
  const cfg = platform.config.rebalance;
  return createRebalanceService({
    positions: platform.positions,
    market: platform.marketState,
    bus: platform.bus,
    blobs: platform.blobs,
    instrument: async (k) => (await platform.instruments.get(k)) ?? undefined,
    dailyClose: dailyCloseReader(platform.blobs),
    defaults: {
      quote_currency: cfg.quote_currency,
      cash_buffer: cfg.cash_buffer,
      min_trade_weight: cfg.min_trade_weight,
    },
    statePrefix: cfg.state_prefix,
    now: () => platform.clock.now(),
    // One velocity slot apart, as the backtest releases them (docs/rebalancing.md).
    paceMs: Math.ceil(1000 / platform.config.risk.max_orders_per_second),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}

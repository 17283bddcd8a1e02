/**
 * `rebalance-nav`: the daily NAV snapshot of rebalanced portfolios in the cloud. Cloud Scheduler
 * publishes one message a day to `rebalance.daily` (terraform/modules/platform/rebalance.tf); the
 * function takes the DAILY snapshot of every portfolio with an actual state
 * (shared/rebalance/rebalance-service.ts `snapshotDaily`), dated at the start of the UTC day, so a
 * redelivered or repeated message the same day rewrites the same snapshot. A NAV that cannot be
 * computed or stays flat while positions are held is logged as `PortfolioNavAlerted` (warning).
 *
 * | message                                  | function                                 |
 * | ---------------------------------------- | ---------------------------------------- |
 * | any (the payload is not read)            | snapshots taken → ack `snapshotted`      |
 * | a store or the market state fails        | throw → Pub/Sub redelivers (idempotent)  |
 */
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import type { RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import type { FunctionLogger } from '../shared/log.ts';
import { type PubSubFunction, pubSubFunction } from '../shared/pubsub-function.ts';

export const REBALANCE_NAV = 'rebalance-nav';
export const REBALANCE_NAV_TOPIC: TopicName = 'rebalance.daily';

export interface RebalanceNavDeps {
  service: Pick<RebalanceService, 'snapshotDaily'>;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
}

export function createRebalanceNavHandler(deps: RebalanceNavDeps): PubSubFunction {
  return pubSubFunction({
    functionName: REBALANCE_NAV,
    topic: REBALANCE_NAV_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: async () => {
      const taken = await deps.service.snapshotDaily();
      for (const t of taken) {
        if (t.alert === null) continue;
        deps.log.warn(t.alert.message, {
          event: 'PortfolioNavAlerted',
          strategy_id: t.strategy_id,
          kind: t.alert.kind,
        });
      }
      return {
        kind: 'ack',
        outcome: 'snapshotted',
        fields: {
          portfolios: taken.length,
          alerts: taken.filter((t) => t.alert !== null).length,
        },
      };
    },
  });
}

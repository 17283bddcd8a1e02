/**
 * `rebalance-complete`: every `exec.orders` message → when it is a final status of a rebalance
 * order (operation id `RB-<20 hex>:<instrument>`), find the rebalance (its locator, written before
 * the orders were published) and, once every order of it is final, write the portfolio's actual
 * state — `portfolio_actual_state.json` through the BlobStore, the PortfolioStateStore document and
 * the REBALANCE NAV snapshot — exactly once (shared/rebalance/rebalance-service.ts `onOrderUpdate`,
 * the completion claimed in `rebalance_completions`).
 *
 * | message                                                   | function                                  |
 * | --------------------------------------------------------- | ----------------------------------------- |
 * | another order's update, another message type (reconciliation, venue diagnostic, child order) | ack `ignored` |
 * | a rebalance order, not final; a rebalance not known here  | ack `not_final` / `unknown_rebalance`     |
 * | final, other orders of the rebalance still open           | ack `pending`                             |
 * | final, the last one: state written / already written      | ack `completed` / `already_completed`     |
 * | an `order_update` that fails its schema                   | dead-letter + ack                         |
 * | the record not written yet, a store fails                 | throw → Pub/Sub redelivers (idempotent)   |
 */

import { OrderUpdateMessageSchema } from '../../shared/app/messages.ts';
import type { Issue } from '../../shared/domain/errors.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import { operationPrefixOf } from '../../shared/rebalance/instructions.ts';
import type { RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import type { FunctionLogger } from '../shared/log.ts';
import { type PubSubFunction, pubSubFunction, type Verdict } from '../shared/pubsub-function.ts';

export const REBALANCE_COMPLETE = 'rebalance-complete';
export const REBALANCE_COMPLETE_TOPIC: TopicName = 'exec.orders';

export interface RebalanceCompleteDeps {
  service: Pick<RebalanceService, 'onOrderUpdate'>;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
}

export function createRebalanceCompleteHandler(deps: RebalanceCompleteDeps): PubSubFunction {
  return pubSubFunction({
    functionName: REBALANCE_COMPLETE,
    topic: REBALANCE_COMPLETE_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: async (delivery): Promise<Verdict> => {
      // Most of exec.orders is other orders' traffic: decided on the attribute, unparsed.
      const attr = delivery.attributes.operation_id;
      if (attr !== undefined && operationPrefixOf(attr) === null) return { kind: 'ack', outcome: 'ignored' };
      let payload: unknown;
      try {
        payload = JSON.parse(new TextDecoder().decode(delivery.data));
      } catch (err) {
        return poison('malformed_json', [{ path: '', message: `not JSON: ${(err as Error).message}` }]);
      }
      if (
        typeof payload !== 'object' ||
        payload === null ||
        (payload as { type?: unknown }).type !== 'order_update'
      ) {
        return { kind: 'ack', outcome: 'ignored' };
      }
      const parsed = OrderUpdateMessageSchema.safeParse(payload);
      if (!parsed.success) {
        return poison(
          'invalid_order_update',
          parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        );
      }
      const u = parsed.data;
      const r = await deps.service.onOrderUpdate({ operation_id: u.operation_id, status: u.status });
      const fields = {
        operation_id: u.operation_id,
        status: u.status,
        ...('rebalance_id' in r ? { rebalance_id: r.rebalance_id } : {}),
      };
      switch (r.outcome) {
        case 'not_a_rebalance_order':
          return { kind: 'ack', outcome: 'ignored' };
        case 'not_final':
        case 'unknown_rebalance':
          return { kind: 'ack', outcome: r.outcome, fields };
        case 'pending':
          return {
            kind: 'ack',
            outcome: 'pending',
            fields: { ...fields, strategy_id: r.strategy_id, open: r.open.length },
          };
        case 'completed':
        case 'already_completed':
          if (r.outcome === 'completed' && r.alert !== null) {
            deps.log.warn(r.alert.message, {
              event: 'PortfolioNavAlerted',
              strategy_id: r.strategy_id,
              rebalance_id: r.rebalance_id,
              kind: r.alert.kind,
            });
          }
          return {
            kind: 'ack',
            outcome: r.outcome,
            fields: {
              ...fields,
              strategy_id: r.strategy_id,
              nav: r.state.nav,
              orders: r.state.orders.length,
            },
          };
      }
    },
  });
}

function poison(reason: string, issues: Issue[]): Verdict {
  return { kind: 'dead_letter', outcome: 'invalid', reason, issues };
}

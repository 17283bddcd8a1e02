/**
 * Orders: submit (`POST /api/orders`), read (`GET /api/orders/:operation_id`), list
 * (`GET /api/orders?...`) and cancel (`DELETE /api/orders/:operation_id`). The routes only translate
 * HTTP to the OrderService contract (shared/app/order-service.ts) and its outcomes back to status
 * codes; validation of the instruction, risk, routing and idempotency all happen in the service.
 *
 * | outcome                               | status |
 * | ------------------------------------- | ------ |
 * | submit: routed / denied / unroutable  | 201 (a new order, whatever its decision) |
 * | submit: duplicate                     | 200 (the existing order's reply)         |
 * | submit / cancel: invalid              | 400 `{error:{code, issues}}`            |
 * | cancel: cancel_requested              | 202 (the venue was asked)                |
 * | cancel: canceled                      | 200 (canceled at once)                   |
 * | cancel / get: not_found               | 404                                      |
 * | cancel: not_cancelable                | 409 with the reason and the order        |
 * | the service throws (transient)        | 503 `unavailable`                        |
 */
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { CancelOutcome, OrderService, SubmitOutcome } from '../../../shared/app/order-service.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import { toOrderReply } from '../../../shared/domain/schemas.ts';
import type { OrderStore } from '../../../shared/ports/order-store.ts';
import { ApiError, callDependency } from '../errors/index.ts';
import { readJsonBody, sendJson } from '../json/index.ts';
import { CancelBodySchema, parseOperationIdParam, parseOrderListQuery } from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';

/** Reading orders only: what the API needs when no order intake runs in this process. */
export type OrderReader = Pick<OrderService, 'get' | 'list'>;

function hasIntake(service: OrderService | OrderReader): service is OrderService {
  return 'submit' in service && typeof service.submit === 'function' && 'cancel' in service;
}

function intakeUnavailable(): ApiError {
  return new ApiError(
    503,
    'intake_unavailable',
    'order intake does not run in this process: submit and cancel through Pub/Sub (orders.requests, orders.cancels)',
  );
}

/** Who made the call, recorded in the order's timeline (set by the auth middleware). */
function callerRef(c: Context<ApiEnv>): { id: string; source: string } | undefined {
  const caller = c.get('caller');
  return caller === undefined ? undefined : { id: caller.id, source: caller.source };
}

const location = (operationId: string) => `/api/orders/${encodeURIComponent(operationId)}`;

export interface OrderRoutesOptions {
  /** One info line per submit / cancel outcome (config `logging.log_orders`). */
  logger?: Logger | undefined;
}

function outcomeFields(outcome: SubmitOutcome | CancelOutcome): Record<string, unknown> {
  const reply = 'reply' in outcome ? outcome.reply : null;
  return {
    outcome: outcome.kind,
    ...(reply
      ? {
          operation_id: reply.operation_id,
          order_id: reply.order_id,
          status: reply.status,
          venue: reply.venue,
          rejection_reason: reply.rejection_reason,
        }
      : {}),
    ...('operation_id' in outcome ? { operation_id: outcome.operation_id } : {}),
    ...('issues' in outcome ? { code: outcome.code, issues: outcome.issues } : {}),
    ...('reason' in outcome ? { reason: outcome.reason } : {}),
  };
}

export function orderRoutes(
  service: OrderService | OrderReader,
  options: OrderRoutesOptions = {},
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const log = (
    c: { get: (key: 'requestId') => string },
    what: string,
    outcome: SubmitOutcome | CancelOutcome,
  ) => options.logger?.info({ request_id: c.get('requestId'), ...outcomeFields(outcome) }, what);

  app.post('/', async (c) => {
    if (!hasIntake(service)) throw intakeUnavailable();
    const body = await readJsonBody(c, { required: true, what: 'an order instruction' });
    const outcome = await callDependency('order service', () =>
      service.submit(body, { via: 'http', caller: callerRef(c) }),
    );
    log(c, 'order submitted', outcome);
    switch (outcome.kind) {
      case 'invalid':
        if (outcome.reply === null) throw new ValidationError(outcome.code, outcome.issues);
        // Recorded as a REJECTED order under its operation_id: say so.
        throw new ApiError(400, outcome.code, new ValidationError(outcome.code, outcome.issues).message, {
          issues: outcome.issues,
          order: outcome.reply,
        });
      case 'duplicate':
        return sendJson(c, 200, outcome.reply, { Location: location(outcome.reply.operation_id) });
      case 'routed':
      case 'denied':
      case 'unroutable':
        return sendJson(c, 201, outcome.reply, { Location: location(outcome.reply.operation_id) });
    }
  });

  app.get('/', async (c) => {
    const query = parseOrderListQuery(c.req.queries());
    const orders = await callDependency('order store', () => service.list(query));
    return sendJson(c, 200, { orders, count: orders.length, limit: query.limit });
  });

  app.get('/:operation_id', async (c) => {
    const operationId = parseOperationIdParam(c.req.param('operation_id'));
    const detail = await callDependency('order store', () => service.get(operationId));
    if (detail === null) throw notFound(operationId);
    return sendJson(c, 200, {
      ...detail.reply,
      order: detail.order,
      timeline: detail.timeline,
      fill_records: detail.fills,
    });
  });

  app.delete('/:operation_id', async (c) => {
    if (!hasIntake(service)) throw intakeUnavailable();
    const operationId = parseOperationIdParam(c.req.param('operation_id'));
    const raw = await readJsonBody(c, { required: false, what: 'a cancel request {reason}' });
    let reason: string | undefined;
    if (raw !== undefined) {
      const r = CancelBodySchema.safeParse(raw);
      if (!r.success) {
        throw new ValidationError(
          'invalid_cancel',
          r.error.issues.flatMap((i) =>
            i.code === 'unrecognized_keys'
              ? i.keys.map((k) => ({ path: k, message: 'unknown field' }))
              : [{ path: i.path.map(String).join('.'), message: i.message }],
          ),
        );
      }
      if (r.data.operation_id !== undefined && r.data.operation_id !== operationId) {
        throw new ValidationError('invalid_cancel', [
          {
            path: 'operation_id',
            message: `does not match the operation_id in the path (${operationId}); leave it out or send the same`,
          },
        ]);
      }
      reason = r.data.reason;
    }
    const request =
      reason === undefined ? { operation_id: operationId } : { operation_id: operationId, reason };
    const outcome = await callDependency('order service', () =>
      service.cancel(request, { via: 'http', caller: callerRef(c) }),
    );
    log(c, 'order cancel', outcome);
    switch (outcome.kind) {
      case 'cancel_requested':
        return sendJson(c, 202, outcome.reply);
      case 'canceled':
        return sendJson(c, 200, outcome.reply);
      case 'not_found':
        throw notFound(outcome.operation_id);
      case 'not_cancelable':
        throw new ApiError(
          409,
          'not_cancelable',
          `order ${operationId} cannot be canceled: ${outcome.reason}`,
          {
            reason: outcome.reason,
            order: outcome.reply,
          },
        );
      case 'invalid':
        throw new ValidationError(outcome.code, outcome.issues);
    }
  });

  return app;
}

function notFound(operationId: string): ApiError {
  return new ApiError(404, 'not_found', `no order with operation_id ${operationId}`, {
    operation_id: operationId,
  });
}

/**
 * A read-only OrderService over an OrderStore, for a process without order intake: `get` and
 * `list` straight from the store.
 */
export function storeOrderReader(
  store: Pick<OrderStore, 'get' | 'timeline' | 'fills' | 'query'>,
): OrderReader {
  return {
    async get(operationId) {
      const order = await store.get(operationId);
      if (order === null) return null;
      const [timeline, fills] = await Promise.all([store.timeline(operationId), store.fills(operationId)]);
      return { order, reply: toOrderReply(order, fills), timeline, fills };
    },
    list: (query) => store.query(query),
  };
}

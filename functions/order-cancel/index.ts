/**
 * Registers `order-cancel` (Pub/Sub trigger on `orders.cancels`). Composition happens here, once,
 * at cold start (shared with `order-intake` when both run from `functions/index.ts`); a bad
 * configuration fails the instance with the reason before any message is taken.
 */
import * as functions from '@google-cloud/functions-framework';
import { coldStart } from '../shared/runtime.ts';
import { createOrderCancelHandler, ORDER_CANCEL } from './handler.ts';

const deps = await coldStart();

functions.cloudEvent(
  ORDER_CANCEL,
  createOrderCancelHandler({ service: deps.service, bus: deps.bus, log: deps.logger(ORDER_CANCEL) }),
);

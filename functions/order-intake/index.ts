/**
 * Registers `order-intake` (Pub/Sub trigger on `orders.requests`). Composition happens here, once,
 * at cold start: a bad configuration makes the import — and so the instance — fail with the
 * reason, before any message is taken. Deploy: entry point `order-intake`, source `functions/`
 * (see docs/functions.md).
 */
import * as functions from '@google-cloud/functions-framework';
import { coldStart } from '../shared/runtime.ts';
import { createOrderIntakeHandler, ORDER_INTAKE } from './handler.ts';

const deps = await coldStart();

functions.cloudEvent(
  ORDER_INTAKE,
  createOrderIntakeHandler({ service: deps.service, bus: deps.bus, log: deps.logger(ORDER_INTAKE) }),
);

/**
 * A small OrderService for the API tests: real validation (parseOrderInstruction /
 * parseCancelRequest), the real order state machine and a real (in-memory) LocalOrderStore, with
 * the decision of each new order and failures under the test's control. The HTTP layer only maps
 * the service's outcomes, so this is what its tests need; the real pipeline is tested on its own.
 */
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import type {
  CancelOutcome,
  OrderService,
  SubmitOutcome,
  SubmitSource,
} from '../../../shared/app/order-service.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import { applyEvents, handle, isTerminal, type OrderCommand } from '../../../shared/domain/order-machine.ts';
import { parseCancelRequest, parseOrderInstruction, toOrderReply } from '../../../shared/domain/schemas.ts';
import type { Fill, OrderInstruction, OrderRecord } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { OrderQuery } from '../../../shared/ports/order-store.ts';

export type Decision =
  | { kind: 'routed'; venue: string }
  | { kind: 'denied'; rule: string; reason: string }
  | { kind: 'unroutable'; reason: string };

/** 2025-07-01T00:00:00Z in ns: larger than 2^53, so a lossy serialiser would show. */
export const T0 = 1_751_328_000_123_456_789n;

export class FakeOrderService implements OrderService {
  readonly store: LocalOrderStore = LocalOrderStore.memory();
  readonly clock = new TestClock(T0);
  readonly sources: SubmitSource[] = [];
  decide: (instruction: OrderInstruction) => Decision = () => ({ kind: 'routed', venue: 'SIM' });
  /** Thrown by the next call (then cleared): a transient failure of the store or bus. */
  failNext: Error | null = null;

  private takeFailure(): void {
    const f = this.failNext;
    if (f) {
      this.failNext = null;
      throw f;
    }
  }

  private apply(
    state: OrderRecord | null,
    commands: OrderCommand[],
  ): { order: OrderRecord; events: OrderEvent[] } {
    let order = state;
    const events: OrderEvent[] = [];
    for (const command of commands) {
      const r = handle(command, order);
      if (!r.success) throw new Error(`fake service: ${command.type} refused: ${r.error.reason}`);
      order = r.data.order;
      events.push(...r.data.events);
    }
    if (order === null) throw new Error('fake service: no command');
    // Several commands recorded together are ONE transition: one version bump.
    return { order: applyEvents(state, events), events };
  }

  private async reply(order: OrderRecord) {
    return toOrderReply(order, await this.store.fills(order.operation_id));
  }

  async submit(input: unknown, source: SubmitSource): Promise<SubmitOutcome> {
    this.takeFailure();
    this.sources.push(source);
    const parsed = parseOrderInstruction(input);
    if (!parsed.success)
      return { kind: 'invalid', code: parsed.error.code, issues: parsed.error.issues, reply: null };
    const instruction = parsed.data;
    const existing = await this.store.get(instruction.operation_id);
    if (existing) return { kind: 'duplicate', reply: await this.reply(existing) };

    this.clock.advance(1_000n);
    const ts = { ts_event: this.clock.now(), ts_init: this.clock.now() };
    const decision = this.decide(instruction);
    const commands: OrderCommand[] = [
      {
        type: 'ReceiveOrder',
        instruction,
        order_id: `ord_${instruction.operation_id}`,
        parent_order_id: null,
        ...ts,
      },
    ];
    if (decision.kind === 'denied') {
      commands.push({
        type: 'DenyOrder',
        rule: decision.rule,
        limit: '1',
        observed: instruction.quantity,
        reason: decision.reason,
        checks: [{ rule: decision.rule, passed: false, limit: '1', observed: instruction.quantity }],
        ...ts,
      });
    } else {
      commands.push({ type: 'ApproveRisk', checks: [], ...ts });
      if (decision.kind === 'routed') {
        commands.push({
          type: 'RouteOrder',
          venue: decision.venue,
          account_id: decision.venue,
          scores: [],
          reason: 'only venue',
          ...ts,
        });
      }
    }
    const { order, events } = this.apply(null, commands);
    let created = order;
    const allEvents = [...events];
    if (decision.kind === 'unroutable') {
      // The pipeline records an unroutable order as REJECTED with the reason.
      created = { ...order, status: 'REJECTED', rejection_reason: decision.reason };
      const rejected: OrderEvent = {
        type: 'OrderRejected',
        operation_id: order.operation_id,
        reason: decision.reason,
        ...ts,
      };
      allEvents.push(rejected);
      created = { ...created, version: 1 };
    }
    const r = await this.store.create(created, allEvents);
    if (!r.created) return { kind: 'duplicate', reply: await this.reply(r.order) };
    const reply = await this.reply(r.order);
    return decision.kind === 'routed'
      ? { kind: 'routed', reply }
      : decision.kind === 'denied'
        ? { kind: 'denied', reply }
        : { kind: 'unroutable', reply };
  }

  async cancel(input: unknown, source: SubmitSource): Promise<CancelOutcome> {
    this.takeFailure();
    this.sources.push(source);
    const parsed = parseCancelRequest(input);
    if (!parsed.success) return { kind: 'invalid', code: parsed.error.code, issues: parsed.error.issues };
    const { operation_id, reason = 'canceled by request' } = parsed.data;
    const order = await this.store.get(operation_id);
    if (order === null) return { kind: 'not_found', operation_id };
    if (isTerminal(order.status) || order.status === 'PENDING_CANCEL') {
      return { kind: 'not_cancelable', reply: await this.reply(order), reason: `order is ${order.status}` };
    }
    this.clock.advance(1_000n);
    const { order: next, events } = this.apply(order, [
      { type: 'RequestCancel', reason, ts_event: this.clock.now(), ts_init: this.clock.now() },
    ]);
    const t = await this.store.transition(operation_id, order.version, next, events);
    if (!t.ok) throw new Error(`fake service: transition failed: ${t.reason}`);
    const reply = await this.reply(t.order);
    return t.order.status === 'CANCELED' ? { kind: 'canceled', reply } : { kind: 'cancel_requested', reply };
  }

  async get(operationId: string) {
    this.takeFailure();
    const order = await this.store.get(operationId);
    if (order === null) return null;
    const [timeline, fills] = await Promise.all([
      this.store.timeline(operationId),
      this.store.fills(operationId),
    ]);
    return { order, reply: toOrderReply(order, fills), timeline, fills };
  }

  async list(query: OrderQuery): Promise<OrderRecord[]> {
    this.takeFailure();
    return this.store.query(query);
  }

  /** Move an order on as a venue would: submitted, accepted, filled. */
  async venueSubmits(
    operationId: string,
    fills: Array<Pick<Fill, 'fill_id' | 'quantity' | 'price'>> = [],
  ): Promise<OrderRecord> {
    let order = await this.store.get(operationId);
    if (order === null) throw new Error(`no order ${operationId}`);
    const step = async (command: OrderCommand, fill?: Fill) => {
      if (order === null) throw new Error('unreachable');
      const { order: next, events } = this.apply(order, [command]);
      const t = await this.store.transition(operationId, order.version, next, events, fill ? [fill] : []);
      if (!t.ok) throw new Error(`transition failed: ${t.reason}`);
      order = t.order;
    };
    const ts = () => {
      this.clock.advance(1_000n);
      return { ts_event: this.clock.now(), ts_init: this.clock.now() };
    };
    await step({ type: 'SubmitOrder', client_order_id: `c-${operationId}`, ...ts() });
    await step({ type: 'AcceptOrder', venue_order_id: `v-${operationId}`, ...ts() });
    for (const f of fills) {
      const t = ts();
      const fill: Fill = {
        ...f,
        order_id: order.order_id,
        operation_id: operationId,
        instrument_key: order.instrument_key,
        venue: order.venue ?? 'SIM',
        side: order.side,
        fee: '0.01',
        fee_currency: 'USDT',
        liquidity: 'TAKER',
        ts_event: t.ts_event,
      };
      await step({ type: 'ApplyFill', fill, ...t }, fill);
    }
    return order;
  }
}

/** A valid instruction (SPEC example, as a MARKET TWAP order). */
export function instruction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    operation_id: 'OP-12345',
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    quantity: '1.0',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'momentum-btc-v1',
    exec_algorithm: 'TWAP',
    exec_algorithm_params: { duration_sec: 300, max_slices: 10 },
    ...overrides,
  };
}

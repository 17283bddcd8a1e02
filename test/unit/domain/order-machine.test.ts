import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toDec } from '../../../shared/domain/decimal.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import {
  type ApplyFill,
  applyEvents,
  type DecideContext,
  decide,
  evolve,
  handle,
  isTerminal,
  type OrderCommand,
  type OrderRejection,
  remainingQuantity,
} from '../../../shared/domain/order-machine.ts';
import {
  type Fill,
  ORDER_STATUSES,
  type OrderInstruction,
  type OrderRecord,
  type OrderStatus,
} from '../../../shared/domain/types.ts';

const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const VENUE = 'BINANCE-SPOT';
const T0 = 1_751_328_300_000_000_000n;

const INSTRUCTION: OrderInstruction = {
  operation_id: 'OP-1',
  instrument_key: KEY,
  side: 'BUY',
  quantity: '1',
  price: '100',
  order_type: 'LIMIT',
  time_in_force: 'GTC',
  strategy_id: 'momentum',
  exec_algorithm: 'NORMAL',
  exec_algorithm_params: {},
};

let clock = T0;
const ts = () => {
  clock += 1_000n;
  return { ts_event: clock, ts_init: clock + 10n };
};

const cmd = {
  receive: (instruction: OrderInstruction = INSTRUCTION): OrderCommand => ({
    type: 'ReceiveOrder',
    instruction,
    order_id: 'ord-1',
    parent_order_id: null,
    ...ts(),
  }),
  approve: (): OrderCommand => ({
    type: 'ApproveRisk',
    checks: [{ rule: 'max_order_qty', passed: true, limit: '10', observed: '1' }],
    ...ts(),
  }),
  deny: (): OrderCommand => ({
    type: 'DenyOrder',
    rule: 'max_order_qty',
    limit: '0.5',
    observed: '1',
    reason: 'quantity 1 exceeds max_order_qty 0.5',
    checks: [{ rule: 'max_order_qty', passed: false, limit: '0.5', observed: '1' }],
    ...ts(),
  }),
  route: (venue = VENUE): OrderCommand => ({
    type: 'RouteOrder',
    venue,
    account_id: 'acc-1',
    scores: [
      {
        venue,
        eligible: true,
        total_cost_bps: 11,
        fee_bps: 10,
        slippage_bps: 1,
        latency_bps: 0,
        rejection_bps: 0,
      },
    ],
    reason: 'lowest cost',
    ...ts(),
  }),
  submit: (client_order_id = 'cid-OP-1'): OrderCommand => ({ type: 'SubmitOrder', client_order_id, ...ts() }),
  accept: (venue_order_id = 'v-1'): OrderCommand => ({ type: 'AcceptOrder', venue_order_id, ...ts() }),
  reject: (reason = 'insufficient balance'): OrderCommand => ({ type: 'RejectOrder', reason, ...ts() }),
  fill: (fill_id: string, quantity: string, price = '100', extra: Partial<Fill> = {}): ApplyFill => ({
    type: 'ApplyFill',
    fill: {
      fill_id,
      order_id: 'ord-1',
      operation_id: 'OP-1',
      instrument_key: KEY,
      venue: VENUE,
      side: 'BUY',
      quantity,
      price,
      fee: '0.1',
      fee_currency: 'USDT',
      liquidity: 'MAKER',
      ts_event: clock,
      ...extra,
    },
    ...ts(),
  }),
  cancel: (reason = 'user'): OrderCommand => ({ type: 'RequestCancel', reason, ...ts() }),
  canceled: (reason = 'venue confirmed'): OrderCommand => ({ type: 'ConfirmCancel', reason, ...ts() }),
  expire: (reason = 'DAY order expired'): OrderCommand => ({ type: 'ExpireOrder', reason, ...ts() }),
};

interface Run {
  order: OrderRecord | null;
  events: OrderEvent[];
  fillIds: Set<string>;
}

/** Apply commands that must all succeed. */
function run(commands: OrderCommand[], start: Run = { order: null, events: [], fillIds: new Set() }): Run {
  let { order } = start;
  const events = [...start.events];
  const fillIds = new Set(start.fillIds);
  for (const c of commands) {
    const r = handle(c, order, { fill_ids: fillIds });
    if (!r.success) throw new Error(`${c.type} rejected: ${r.error.code}: ${r.error.reason}`);
    order = r.data.order;
    events.push(...r.data.events);
    if (c.type === 'ApplyFill') fillIds.add(c.fill.fill_id);
  }
  return { order, events, fillIds };
}

function rejection(command: OrderCommand, state: Run, context?: DecideContext): OrderRejection {
  const r = decide(command, state.order, context ?? { fill_ids: state.fillIds });
  if (r.success) throw new Error(`expected a rejection, got ${r.data.map((e) => e.type).join(', ')}`);
  return r.error;
}

function must<T>(v: T | null | undefined): T {
  if (v === null || v === undefined) throw new Error('expected a value');
  return v;
}

const live = () => run([cmd.receive(), cmd.approve(), cmd.route(), cmd.submit(), cmd.accept()]);
const statusOf = (r: Run): OrderStatus | undefined => r.order?.status;

describe('happy path', () => {
  it('receives, approves, routes, submits, accepts, fills: one version per transition, full timeline', () => {
    const received = run([cmd.receive()]);
    expect(received.order).toMatchObject({
      order_id: 'ord-1',
      operation_id: 'OP-1',
      parent_order_id: null,
      instrument_key: KEY,
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '1',
      price: '100',
      status: 'PENDING',
      venue: null,
      account_id: null,
      client_order_id: null,
      venue_order_id: null,
      filled_quantity: '0',
      avg_fill_price: null,
      fees: '0',
      rejection_reason: null,
      risk_approved: false,
      version: 1,
    });
    expect(received.order?.ts_created).toBe(received.events[0]?.ts_event);

    const approved = run([cmd.approve()], received);
    expect(approved.order).toMatchObject({ status: 'PENDING', risk_approved: true, version: 2 });
    const routed = run([cmd.route()], approved);
    expect(routed.order).toMatchObject({ status: 'PENDING', venue: VENUE, account_id: 'acc-1', version: 3 });
    const submitted = run([cmd.submit()], routed);
    expect(submitted.order).toMatchObject({ status: 'SUBMITTED', client_order_id: 'cid-OP-1', version: 4 });
    const accepted = run([cmd.accept()], submitted);
    expect(accepted.order).toMatchObject({ status: 'ACCEPTED', venue_order_id: 'v-1', version: 5 });
    const partial = run([cmd.fill('f1', '0.4', '100')], accepted);
    expect(partial.order).toMatchObject({
      status: 'PARTIALLY_FILLED',
      filled_quantity: '0.4',
      avg_fill_price: '100',
      fees: '0.1',
      version: 6,
    });
    const done = run([cmd.fill('f2', '0.6', '101')], partial);
    expect(done.order).toMatchObject({
      status: 'FILLED',
      filled_quantity: '1',
      avg_fill_price: '100.6',
      fees: '0.2',
      version: 7,
    });
    expect(done.events.map((e) => e.type)).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
      'OrderFilled',
      'OrderFilled',
    ]);
    expect(done.order?.ts_updated).toBe(done.events.at(-1)?.ts_event);
    expect(isTerminal('FILLED')).toBe(true);
  });

  it('events carry what the timeline needs: risk values, every venue score, venue on submit', () => {
    const r = run([cmd.receive(), cmd.deny()]);
    expect(r.events[1]).toMatchObject({
      type: 'OrderDenied',
      operation_id: 'OP-1',
      rule: 'max_order_qty',
      limit: '0.5',
      observed: '1',
      reason: 'quantity 1 exceeds max_order_qty 0.5',
    });
    expect(r.order).toMatchObject({
      status: 'DENIED',
      rejection_reason: 'quantity 1 exceeds max_order_qty 0.5',
    });
    const s = run([cmd.receive(), cmd.approve(), cmd.route(), cmd.submit()]);
    expect(s.events[2]).toMatchObject({ type: 'OrderRouted', venue: VENUE, reason: 'lowest cost' });
    expect(s.events[2]?.type === 'OrderRouted' && s.events[2].scores).toHaveLength(1);
    expect(s.events[3]).toMatchObject({ type: 'OrderSubmitted', venue: VENUE, client_order_id: 'cid-OP-1' });
    expect(s.events[0]).toMatchObject({ type: 'OrderReceived', order_id: 'ord-1', instruction: INSTRUCTION });
  });

  it('the timeline alone rebuilds the record (evolve over every event)', () => {
    const r = run([
      cmd.receive(),
      cmd.approve(),
      cmd.route(),
      cmd.submit(),
      cmd.fill('f1', '0.5'),
      cmd.accept(),
    ]);
    let rebuilt: OrderRecord | null = null;
    for (const e of r.events) rebuilt = evolve(rebuilt, e);
    expect({ ...rebuilt, version: 0 }).toEqual({ ...r.order, version: 0 });
  });
});

describe('risk and routing', () => {
  it('a PENDING order can be denied before or after approval and routing, not after submission', () => {
    expect(statusOf(run([cmd.receive(), cmd.deny()]))).toBe('DENIED');
    expect(statusOf(run([cmd.receive(), cmd.approve(), cmd.deny()]))).toBe('DENIED');
    expect(statusOf(run([cmd.receive(), cmd.approve(), cmd.route(), cmd.deny()]))).toBe('DENIED');
    expect(rejection(cmd.deny(), live())).toEqual({
      code: 'illegal_transition',
      reason: 'order is ACCEPTED; cannot deny (only an order not yet submitted can be denied)',
    });
  });

  it('routing and submitting need risk approval; submitting needs a venue', () => {
    const received = run([cmd.receive()]);
    expect(rejection(cmd.route(), received)).toEqual({
      code: 'risk_not_approved',
      reason: 'order has not been approved by the risk engine; cannot route',
    });
    expect(rejection(cmd.submit(), received)).toEqual({
      code: 'risk_not_approved',
      reason: 'order has not been approved by the risk engine; cannot submit',
    });
    expect(rejection(cmd.submit(), run([cmd.approve()], received))).toEqual({
      code: 'not_routed',
      reason: 'order has no venue yet; route it before submitting',
    });
    expect(rejection(cmd.approve(), run([cmd.approve()], received))).toEqual({
      code: 'illegal_transition',
      reason: 'order is PENDING; cannot approve risk (risk already approved)',
    });
  });

  it('re-routing before submission replaces the venue; submitting twice is refused', () => {
    const r = run([cmd.receive(), cmd.approve(), cmd.route('OKX'), cmd.route('BYBIT')]);
    expect(r.order?.venue).toBe('BYBIT');
    const s = run([cmd.submit()], r);
    expect(s.order?.venue).toBe('BYBIT');
    expect(rejection(cmd.submit(), s)).toEqual({
      code: 'illegal_transition',
      reason: 'order is SUBMITTED; cannot submit (already submitted)',
    });
    expect(rejection(cmd.route(), s).code).toBe('illegal_transition');
  });

  it('the same operation_id twice is one order', () => {
    expect(rejection(cmd.receive(), run([cmd.receive()]))).toEqual({
      code: 'order_exists',
      reason:
        'order ord-1 already exists for operation_id OP-1 (status PENDING); the operation_id is the idempotency key',
    });
  });

  it('every command but ReceiveOrder needs an order', () => {
    const empty: Run = { order: null, events: [], fillIds: new Set() };
    expect(rejection(cmd.accept(), empty)).toEqual({
      code: 'order_not_found',
      reason: 'no order exists; cannot accept',
    });
    expect(rejection(cmd.fill('f', '1'), empty).code).toBe('order_not_found');
  });
});

describe('venue acknowledgement and rejection', () => {
  it('a fill may come before the ack; the late ack records the venue order id and keeps the status', () => {
    const r = run([cmd.receive(), cmd.approve(), cmd.route(), cmd.submit(), cmd.fill('f1', '0.5')]);
    expect(r.order).toMatchObject({ status: 'PARTIALLY_FILLED', venue_order_id: null });
    const acked = run([cmd.accept('v-9')], r);
    expect(acked.order).toMatchObject({ status: 'PARTIALLY_FILLED', venue_order_id: 'v-9' });
    expect(rejection(cmd.accept('v-9'), acked)).toEqual({
      code: 'illegal_transition',
      reason: 'order is PARTIALLY_FILLED; cannot accept (already acknowledged by the venue as v-9)',
    });
    const filledBeforeAck = run([
      cmd.receive(),
      cmd.approve(),
      cmd.route(),
      cmd.submit(),
      cmd.fill('f1', '1'),
    ]);
    expect(filledBeforeAck.order?.status).toBe('FILLED');
    expect(rejection(cmd.accept(), filledBeforeAck)).toEqual({
      code: 'terminal_state',
      reason: 'order is FILLED; cannot accept',
    });
  });

  it('an ack needs a submitted order', () => {
    expect(rejection(cmd.accept(), run([cmd.receive(), cmd.approve(), cmd.route()]))).toEqual({
      code: 'illegal_transition',
      reason: 'order is PENDING; cannot accept (not submitted to a venue)',
    });
  });

  it('the venue can reject a SUBMITTED or ACCEPTED order, or one pending cancel without fills', () => {
    const submitted = run([cmd.receive(), cmd.approve(), cmd.route(), cmd.submit()]);
    expect(run([cmd.reject('price filter')], submitted).order).toMatchObject({
      status: 'REJECTED',
      rejection_reason: 'price filter',
    });
    expect(statusOf(run([cmd.reject()], live()))).toBe('REJECTED');
    expect(statusOf(run([cmd.cancel(), cmd.reject()], submitted))).toBe('REJECTED');
    expect(rejection(cmd.reject(), run([cmd.fill('f1', '0.5')], live()))).toEqual({
      code: 'illegal_transition',
      reason: 'order is PARTIALLY_FILLED; cannot reject (the order has fills; cancel or expire it instead)',
    });
    expect(rejection(cmd.reject(), run([cmd.fill('f1', '0.5'), cmd.cancel()], live())).code).toBe(
      'illegal_transition',
    );
    expect(rejection(cmd.reject(), run([cmd.receive()]))).toEqual({
      code: 'illegal_transition',
      reason:
        'order is PENDING; cannot reject (not submitted to a venue; a risk or routing refusal is DenyOrder)',
    });
  });
});

describe('cancel', () => {
  it('cancel of a PENDING order completes at once: two events, one version', () => {
    const r = run([cmd.receive(), cmd.approve()]);
    const c = handle(cmd.cancel('strategy withdrew'), r.order);
    expect(c.success).toBe(true);
    if (!c.success) return;
    expect(c.data.events.map((e) => e.type)).toEqual(['OrderCancelRequested', 'OrderCanceled']);
    expect(c.data.order).toMatchObject({ status: 'CANCELED', version: 3 });
  });

  it.each([
    ['SUBMITTED', () => run([cmd.receive(), cmd.approve(), cmd.route(), cmd.submit()])],
    ['ACCEPTED', live],
    ['PARTIALLY_FILLED', () => run([cmd.fill('f1', '0.5')], live())],
  ])('%s → PENDING_CANCEL → CANCELED', (_status, start) => {
    const requested = run([cmd.cancel()], start());
    expect(requested.order?.status).toBe('PENDING_CANCEL');
    expect(rejection(cmd.cancel(), requested)).toEqual({
      code: 'illegal_transition',
      reason: 'order is PENDING_CANCEL; cannot cancel (a cancel is already pending)',
    });
    expect(statusOf(run([cmd.canceled()], requested))).toBe('CANCELED');
  });

  it('the venue may cancel on its own from any working status, and a PENDING order can be canceled directly', () => {
    expect(statusOf(run([cmd.canceled('IOC remainder')], live()))).toBe('CANCELED');
    expect(statusOf(run([cmd.fill('f1', '0.3'), cmd.canceled('IOC remainder')], live()))).toBe('CANCELED');
    expect(statusOf(run([cmd.receive(), cmd.canceled()]))).toBe('CANCELED');
  });

  it('a fill racing a cancel: partial stays PENDING_CANCEL, completing fill makes it FILLED', () => {
    const pending = run([cmd.cancel()], live());
    const partial = run([cmd.fill('f1', '0.5')], pending);
    expect(partial.order).toMatchObject({ status: 'PENDING_CANCEL', filled_quantity: '0.5' });
    const full = run([cmd.fill('f2', '0.5')], partial);
    expect(full.order).toMatchObject({ status: 'FILLED', filled_quantity: '1' });
    expect(rejection(cmd.canceled(), full)).toEqual({
      code: 'terminal_state',
      reason: 'order is FILLED; cannot confirm cancel',
    });
  });

  it('a FILLED order cannot be canceled', () => {
    expect(rejection(cmd.cancel(), run([cmd.fill('f1', '1')], live()))).toEqual({
      code: 'terminal_state',
      reason: 'order is FILLED; cannot cancel',
    });
  });
});

describe('expiry', () => {
  it('expires from working statuses only', () => {
    expect(statusOf(run([cmd.expire()], live()))).toBe('EXPIRED');
    expect(statusOf(run([cmd.fill('f1', '0.2'), cmd.expire()], live()))).toBe('EXPIRED');
    expect(statusOf(run([cmd.cancel(), cmd.expire()], live()))).toBe('EXPIRED');
    expect(rejection(cmd.expire(), run([cmd.receive()]))).toEqual({
      code: 'illegal_transition',
      reason: 'order is PENDING; cannot expire (not submitted to a venue)',
    });
  });
});

describe('fills', () => {
  it('a fill after CANCELED is refused', () => {
    expect(rejection(cmd.fill('f9', '0.1'), run([cmd.canceled()], live()))).toEqual({
      code: 'terminal_state',
      reason: 'order is CANCELED; cannot apply fill f9',
    });
  });

  it('an over-fill names both values', () => {
    expect(rejection(cmd.fill('f2', '0.6'), run([cmd.fill('f1', '0.5')], live()))).toEqual({
      code: 'overfill',
      reason:
        'fill f2 of 0.6 would take the filled quantity to 1.1, above the order quantity 1 (already filled 0.5)',
    });
  });

  it('a fill of another side, instrument, order or venue is refused', () => {
    const l = live();
    expect(rejection(cmd.fill('f1', '0.1', '100', { side: 'SELL' }), l)).toEqual({
      code: 'fill_mismatch',
      reason: "fill f1 side SELL does not match the order's side BUY",
    });
    expect(
      rejection(cmd.fill('f1', '0.1', '100', { instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT' }), l),
    ).toEqual({
      code: 'fill_mismatch',
      reason: `fill f1 instrument_key BINANCE-SPOT:SPOT_PAIR:ETH-USDT does not match the order's instrument_key ${KEY}`,
    });
    expect(rejection(cmd.fill('f1', '0.1', '100', { order_id: 'ord-2' }), l).code).toBe('fill_mismatch');
    expect(rejection(cmd.fill('f1', '0.1', '100', { venue: 'OKX' }), l)).toEqual({
      code: 'fill_mismatch',
      reason: "fill f1 venue OKX does not match the order's venue BINANCE-SPOT",
    });
  });

  it('a fill id already applied is refused (set or array context)', () => {
    const once = run([cmd.fill('f1', '0.1')], live());
    expect(rejection(cmd.fill('f1', '0.1'), once)).toEqual({
      code: 'duplicate_fill',
      reason: 'fill f1 was already applied to order ord-1',
    });
    expect(rejection(cmd.fill('f1', '0.1'), once, { fill_ids: ['f0', 'f1'] }).code).toBe('duplicate_fill');
    expect(decide(cmd.fill('f1', '0.1'), once.order, {}).success).toBe(true);
  });

  it('invalid fill numbers are refused', () => {
    const l = live();
    expect(rejection(cmd.fill('f1', '0'), l)).toEqual({
      code: 'invalid_fill',
      reason: 'fill f1 quantity must be a decimal > 0, got "0"',
    });
    expect(rejection(cmd.fill('f1', 'abc'), l).code).toBe('invalid_fill');
    expect(rejection(cmd.fill('f1', '0.1', '-5'), l)).toEqual({
      code: 'invalid_fill',
      reason: 'fill f1 price must be a decimal > 0, got "-5"',
    });
    expect(rejection(cmd.fill('f1', '0.1', '100', { fee: 'x' }), l)).toEqual({
      code: 'invalid_fill',
      reason: 'fill f1 fee must be a decimal, got "x"',
    });
  });

  it('a PENDING order cannot be filled', () => {
    expect(rejection(cmd.fill('f1', '0.1'), run([cmd.receive(), cmd.approve(), cmd.route()]))).toEqual({
      code: 'illegal_transition',
      reason: 'order is PENDING; cannot apply fill f1 (not submitted to a venue)',
    });
  });

  it('accounting is exact: filled sum, VWAP rounded half-even to 18 dp, fees summed (rebates negative)', () => {
    const big: OrderInstruction = { ...INSTRUCTION, quantity: '3' };
    const r = run([
      cmd.receive(big),
      cmd.approve(),
      cmd.route(),
      cmd.submit(),
      cmd.fill('f1', '1', '100', { fee: '0.05' }),
      cmd.fill('f2', '2', '101', { fee: '-0.01' }),
    ]);
    // (100 + 202) / 3 = 100.666… → 18 dp, half-even
    expect(r.order).toMatchObject({
      filled_quantity: '3',
      avg_fill_price: '100.666666666666666667',
      fees: '0.04',
      status: 'FILLED',
    });
    const tiny = run([
      cmd.receive({ ...INSTRUCTION, quantity: '0.3' }),
      cmd.approve(),
      cmd.route(),
      cmd.submit(),
      cmd.fill('a', '0.1', '0.1'),
      cmd.fill('b', '0.2', '0.2'),
    ]);
    expect(tiny.order?.filled_quantity).toBe('0.3');
    // (0.01 + 0.04) / 0.3 = 0.1666…
    expect(tiny.order?.avg_fill_price).toBe('0.166666666666666667');
    expect(remainingQuantity(must(tiny.order))).toBe('0');
    expect(remainingQuantity(must(run([cmd.fill('x', '0.25')], live()).order))).toBe('0.75');
  });
});

describe('terminal states', () => {
  const terminals: Array<[OrderStatus, () => Run]> = [
    ['DENIED', () => run([cmd.receive(), cmd.deny()])],
    ['FILLED', () => run([cmd.fill('f1', '1')], live())],
    ['CANCELED', () => run([cmd.cancel(), cmd.canceled()], live())],
    ['REJECTED', () => run([cmd.reject()], live())],
    ['EXPIRED', () => run([cmd.expire()], live())],
  ];
  const all = (): OrderCommand[] => [
    cmd.approve(),
    cmd.deny(),
    cmd.route(),
    cmd.submit(),
    cmd.accept('v-2'),
    cmd.reject(),
    cmd.fill('fz', '0.1'),
    cmd.cancel(),
    cmd.canceled(),
    cmd.expire(),
  ];
  it.each(terminals)('%s accepts no command', (status, start) => {
    const s = start();
    expect(s.order?.status).toBe(status);
    for (const c of all()) expect(rejection(c, s).code).toBe('terminal_state');
    expect(rejection(cmd.receive(), s).code).toBe('order_exists');
  });
});

describe('evolve and applyEvents', () => {
  it('applyEvents bumps the version once however many events; refuses an empty transition', () => {
    const r = run([cmd.receive()]);
    const base = { operation_id: 'OP-1', ts_event: T0 + 5n, ts_init: T0 + 6n };
    const next = applyEvents(r.order, [
      { type: 'OrderCancelRequested', ...base, reason: 'x' },
      { type: 'OrderCanceled', ...base, reason: 'x' },
    ]);
    expect(next.version).toBe(2);
    expect(() => applyEvents(r.order, [])).toThrow('a transition needs at least one event');
  });

  it('evolve refuses impossible inputs', () => {
    const base = { operation_id: 'OP-1', ts_event: T0, ts_init: T0 };
    expect(() => evolve(null, { type: 'OrderCanceled', ...base, reason: 'x' })).toThrow(
      'OrderCanceled for OP-1, which has no record',
    );
    const r = run([cmd.receive()]);
    expect(() => evolve(r.order, must(r.events[0]))).toThrow(
      'OrderReceived for OP-1, which already has a record',
    );
  });

  it('ts_updated never goes backwards on a late venue timestamp', () => {
    const l = live();
    const before = l.order?.ts_updated ?? 0n;
    const late = handle({ ...cmd.fill('f1', '0.1'), ts_event: before - 1_000_000n }, l.order);
    expect(late.success && late.data.order.ts_updated).toBe(before);
  });
});

describe('property: random command sequences', () => {
  const fillQty = fc.constantFrom('0.1', '0.25', '0.3', '0.5', '1', '1.5');
  const fillId = fc.constantFrom('f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8');
  const price = fc.constantFrom('99.5', '100', '100.25', '101');
  const side = fc.constantFrom<'BUY' | 'SELL'>('BUY', 'BUY', 'BUY', 'SELL');
  const command: fc.Arbitrary<() => OrderCommand> = fc.oneof(
    fc.constant(() => cmd.receive()),
    fc.constant(() => cmd.approve()),
    fc.constant(() => cmd.deny()),
    fc.constant(() => cmd.route()),
    fc.constant(() => cmd.submit()),
    fc.constant(() => cmd.accept()),
    fc.constant(() => cmd.reject()),
    {
      weight: 2,
      arbitrary: fc.tuple(fillId, fillQty, price, side).map(
        ([id, q, p, s]) =>
          () =>
            cmd.fill(id, q, p, { side: s }),
      ),
    },
    {
      weight: 8,
      arbitrary: fc.tuple(fillId, fillQty, price).map(
        ([id, q, p]) =>
          () =>
            cmd.fill(id, q, p),
      ),
    },
    fc.constant(() => cmd.cancel()),
    fc.constant(() => cmd.canceled()),
    fc.constant(() => cmd.expire()),
  );

  // Start from a random point of the happy path so that every status is well covered.
  const happyPath = (): OrderCommand[] => [
    cmd.receive(),
    cmd.approve(),
    cmd.route(),
    cmd.submit(),
    cmd.accept(),
  ];

  it('never over-fills, never leaves a terminal state, one version per accepted transition', () => {
    const reached = new Set<OrderStatus>();
    let acceptedFills = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(command, { minLength: 1, maxLength: 40 }),
        (n, rest) => {
          const makers = [
            ...happyPath()
              .slice(0, n)
              .map((c) => () => c),
            ...rest,
          ];
          let order: OrderRecord | null = null;
          const fillIds = new Set<string>();
          let terminalSince: OrderRecord | null = null;
          let fillSum = toDec(0);
          for (const make of makers) {
            const c = make();
            const r = handle(c, order, { fill_ids: fillIds });
            if (terminalSince !== null) {
              expect(r.success).toBe(false);
              continue;
            }
            if (!r.success) {
              expect(r.error.reason.length).toBeGreaterThan(0);
              continue;
            }
            expect(r.data.events.length).toBeGreaterThan(0);
            expect(r.data.order.version).toBe(order === null ? 1 : order.version + 1);
            if (c.type === 'ApplyFill') {
              acceptedFills += 1;
              fillIds.add(c.fill.fill_id);
              fillSum = fillSum.plus(toDec(c.fill.quantity));
            }
            order = r.data.order;
            const filled = toDec(order.filled_quantity);
            const quantity = toDec(order.quantity);
            expect(filled.lte(quantity)).toBe(true);
            expect(filled.eq(fillSum)).toBe(true);
            expect(order.status === 'FILLED').toBe(filled.eq(quantity));
            if (order.status === 'PARTIALLY_FILLED') expect(filled.gt(0) && filled.lt(quantity)).toBe(true);
            reached.add(order.status);
            if (isTerminal(order.status)) terminalSince = order;
          }
          if (terminalSince !== null) expect(order).toBe(terminalSince);
        },
      ),
      { numRuns: 500 },
    );
    // The generator really exercises the machine: every status is reached and fills get through.
    expect([...reached].sort()).toEqual([...ORDER_STATUSES].sort());
    expect(acceptedFills).toBeGreaterThan(80);
  });
});

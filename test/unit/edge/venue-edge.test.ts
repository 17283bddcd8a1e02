import { afterEach, describe, expect, it } from 'vitest';
import type { VenueDiagnosticEvent } from '../../../infra/ccxt/diagnostics.ts';
import { routedAttributes, routedSubmitMessage } from '../../../shared/app/messages.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import { createEdgeHealthRouter } from '../../../stateful/edge/index.ts';
import { busMessage, createRoutedOrder } from '../venues/fixtures.ts';
import { ACCOUNT, BTC, EdgeHarness, ms, SECOND, T0, VENUE } from './harness.ts';

let h: EdgeHarness;
afterEach(async () => {
  await h?.stop();
});

const TWAP_3 = {
  exec_algorithm: 'TWAP' as const,
  exec_algorithm_params: { duration_sec: 60, max_slices: 3 },
};

describe('direct (NORMAL) orders', () => {
  it('MARKET: SUBMITTED before the venue is called, then ACCEPTED, FILLED with the venue trade', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-1', { quantity: '0.01' });

    // The venue got the order under the client order id derived from the operation id.
    expect(h.venue.submitCalls.map((r) => r.client_order_id)).toEqual([orderIdFor('OP-1')]);
    expect(h.venue.submitCalls[0]).toMatchObject({
      instrument_key: BTC,
      side: 'BUY',
      order_type: 'MARKET',
      quantity: '0.01',
    });
    const o = await h.order('OP-1');
    expect(o).toMatchObject({
      status: 'FILLED',
      filled_quantity: '0.01',
      avg_fill_price: '60000',
      client_order_id: order.order_id,
      venue_order_id: 'V1',
    });
    expect(await h.timeline('OP-1')).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
      'OrderFilled',
    ]);
    const fills = await h.orders.fills('OP-1');
    expect(fills).toEqual([
      expect.objectContaining({
        fill_id: `${order.order_id}-T1`,
        quantity: '0.01',
        price: '60000',
        venue: VENUE,
      }),
    ]);
    expect(await h.positions.get(ACCOUNT, BTC)).toMatchObject({ quantity: '0.01' });
    expect(h.bus.on('exec.fills')).toHaveLength(1);
    expect(h.bus.on('exec.orders', 'order_update').map((m) => m.data.status)).toEqual([
      'SUBMITTED',
      'ACCEPTED',
      'FILLED',
    ]);
  });

  it('a duplicate routed message (again, and at the same time) makes one venue order', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-DUP', { quantity: '0.02' });
    await h.publishRoute(order);
    const msg = routedSubmitMessage(order, null, h.clock.now());
    await Promise.all([
      h.bus.publish('orders.routed', msg, routedAttributes(order, 'submit')),
      h.bus.publish('orders.routed', msg, routedAttributes(order, 'submit')),
      h.edge.handleRouted(busMessage(msg, routedAttributes(order, 'submit'))),
    ]);
    await h.settle();
    expect(h.venue.orderIds()).toEqual([order.order_id]);
    expect(h.venue.submitCalls).toHaveLength(1);
    expect(await h.orders.fills('OP-DUP')).toHaveLength(1);
    expect((await h.order('OP-DUP')).status).toBe('FILLED');
  });

  it('a LIMIT order rests (ACCEPTED), a cancel action cancels it at the venue (CANCELED)', async () => {
    h = await new EdgeHarness().start();
    await h.route('OP-L', { order_type: 'LIMIT', price: '50000', quantity: '0.01' });
    expect((await h.order('OP-L')).status).toBe('ACCEPTED');
    await h.publishCancel('OP-L', 'strategy stop');
    // The pipeline moves it to PENDING_CANCEL before telling the edge; here the edge confirms it.
    const o = await h.order('OP-L');
    expect(o.status).toBe('CANCELED');
    expect(h.venue.order(orderIdFor('OP-L'))?.status).toBe('CANCELED');
  });

  it('a partial fill, then the rest: every trade is a fill, recorded once', async () => {
    h = await new EdgeHarness().start();
    await h.route('OP-P', { order_type: 'LIMIT', price: '59000', quantity: '0.03' });
    h.venue.fill(orderIdFor('OP-P'), '0.01', '59000');
    await h.settle();
    expect(await h.order('OP-P')).toMatchObject({ status: 'PARTIALLY_FILLED', filled_quantity: '0.01' });
    h.venue.fill(orderIdFor('OP-P'));
    await h.settle();
    expect(await h.order('OP-P')).toMatchObject({ status: 'FILLED', filled_quantity: '0.03' });
    expect(await h.orders.fills('OP-P')).toHaveLength(2);
  });

  it('a venue rejection is recorded as REJECTED with the reason; an open circuit rejects with CIRCUIT_OPEN', async () => {
    h = await new EdgeHarness().start();
    h.venue.fail({ op: 'submit', kind: 'rejected' });
    await h.route('OP-R');
    expect(await h.order('OP-R')).toMatchObject({
      status: 'REJECTED',
      rejection_reason: 'VENUE_REJECTED: BINANCE-SPOT: injected rejected',
    });
    h.venue.setHealth('circuit_open');
    await h.route('OP-C');
    const c = await h.order('OP-C');
    expect(c.status).toBe('REJECTED');
    expect(c.rejection_reason).toMatch(/^CIRCUIT_OPEN: /);
  });

  it('a breaker that opens DURING the send proves nothing: the outcome is resolved, not rejected', async () => {
    h = await new EdgeHarness().start();
    h.venue.fail({ op: 'submit', kind: 'circuit_open' });
    await h.route('OP-CB', { quantity: '0.01' });
    expect((await h.order('OP-CB')).status).toBe('SUBMITTED');
    await h.advance(ms(600));
    expect(await h.order('OP-CB')).toMatchObject({ status: 'FILLED', filled_quantity: '0.01' });
    expect(h.venue.orderIds()).toEqual([orderIdFor('OP-CB')]);
  });

  it('a cancel for an order whose send outcome is unknown: not at the venue → CANCELED, never sent after', async () => {
    h = await new EdgeHarness().start();
    h.venue.fail({ op: 'submit', kind: 'transient' });
    await h.route('OP-CU', { order_type: 'LIMIT', price: '50000', quantity: '0.01' });
    await h.publishCancel('OP-CU', 'changed my mind');
    expect((await h.order('OP-CU')).status).toBe('CANCELED');
    await h.advance(ms(2000));
    expect(h.venue.orderIds()).toEqual([]);
  });

  it('an unknown send outcome is resolved by client order id: found → not sent again', async () => {
    h = await new EdgeHarness().start();
    // The venue took it, but the answer and the stream's ack were lost.
    h.venue.dropEvents = true;
    h.venue.fail({ op: 'submit', kind: 'transient', afterSend: true });
    await h.route('OP-U', { order_type: 'LIMIT', price: '50000', quantity: '0.01' });
    expect((await h.order('OP-U')).status).toBe('SUBMITTED');
    h.venue.dropEvents = false;
    await h.advance(ms(600));
    expect(h.venue.fetchOrderCalls).toContain(orderIdFor('OP-U'));
    expect(h.venue.submitCalls).toHaveLength(1);
    expect((await h.order('OP-U')).status).toBe('ACCEPTED');
  });

  it('an unknown send outcome is resolved by client order id: not at the venue → sent once more, same id', async () => {
    h = await new EdgeHarness().start();
    h.venue.fail({ op: 'submit', kind: 'transient' });
    await h.route('OP-U2', { quantity: '0.01' });
    expect((await h.order('OP-U2')).status).toBe('SUBMITTED');
    await h.advance(ms(600));
    expect(h.venue.submitCalls.map((r) => r.client_order_id)).toEqual([
      orderIdFor('OP-U2'),
      orderIdFor('OP-U2'),
    ]);
    expect(h.venue.orderIds()).toEqual([orderIdFor('OP-U2')]);
    expect((await h.order('OP-U2')).status).toBe('FILLED');
  });

  it('fills the stream did not deliver are read over REST before the order is closed', async () => {
    h = await new EdgeHarness().start();
    h.venue.dropEvents = true;
    await h.route('OP-W', { quantity: '0.01' });
    // The REST answer said FILLED; the trade never came on the stream.
    expect((await h.order('OP-W')).status).toBe('ACCEPTED');
    await h.advance(ms(1100));
    expect(await h.order('OP-W')).toMatchObject({ status: 'FILLED', filled_quantity: '0.01' });
    expect(await h.orders.fills('OP-W')).toHaveLength(1);
  });

  it('an IOC remainder: the fills are stored before the cancel closes the order', async () => {
    h = await new EdgeHarness().start();
    h.venue.dropEvents = true;
    await h.route('OP-IOC', { order_type: 'LIMIT', price: '60000', quantity: '0.02', time_in_force: 'IOC' });
    const id = orderIdFor('OP-IOC');
    // Nothing crossed: canceled at once by the venue.
    expect((await h.order('OP-IOC')).status).toBe('CANCELED');
    expect(h.venue.order(id)?.status).toBe('CANCELED');
  });
});

describe('algorithms', () => {
  it('TWAP 60 s in 3 slices: children at +0, +20 s, +40 s, fills on the parent, FILLED', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-T', { quantity: '0.3', ...TWAP_3 });
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`]);
    expect(h.venue.submitCalls[0]).toMatchObject({
      order_type: 'MARKET',
      time_in_force: 'IOC',
      quantity: '0.1',
    });
    expect(await h.order('OP-T')).toMatchObject({ status: 'PARTIALLY_FILLED', filled_quantity: '0.1' });
    await h.advance(19n * SECOND);
    expect(h.venue.orderIds()).toHaveLength(1);
    await h.advance(1n * SECOND);
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`, `${order.order_id}-S2`]);
    await h.advance(20n * SECOND);
    expect(h.venue.orderIds()).toHaveLength(3);
    const o = await h.order('OP-T');
    expect(o).toMatchObject({ status: 'FILLED', filled_quantity: '0.3' });
    expect((await h.orders.fills('OP-T')).map((f) => f.fill_id)).toEqual([
      `${order.order_id}-S1-T1`,
      `${order.order_id}-S2-T2`,
      `${order.order_id}-S3-T3`,
    ]);
    expect(await h.timeline('OP-T')).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
      'OrderFilled',
      'OrderFilled',
      'OrderFilled',
    ]);
    const rec = await h.algoStates.get('OP-T');
    expect(rec).toMatchObject({ active: false, state: { status: 'DONE', done_reason: 'FILLED' } });
    expect(await h.algoStates.listActive()).toEqual([]);
    // Every child's life is on exec.orders as child_order messages.
    const children = h.bus.on('exec.orders', 'child_order');
    expect(new Set(children.map((m) => m.data.client_order_id))).toEqual(
      new Set([`${order.order_id}-S1`, `${order.order_id}-S2`, `${order.order_id}-S3`]),
    );
    expect(children.filter((m) => m.data.status === 'FILLED')).toHaveLength(3);
  });

  it('persists the state BEFORE sending each child', async () => {
    h = await new EdgeHarness().start();
    const seen: Array<{ child: string; stored: string[] }> = [];
    const submit = h.venue.submit.bind(h.venue);
    h.venue.submit = async (req) => {
      const rec = await h.algoStates.get('OP-PS');
      seen.push({ child: req.client_order_id, stored: rec?.state.children.map((c) => c.order_id) ?? [] });
      return submit(req);
    };
    const order = await h.route('OP-PS', { quantity: '0.3', ...TWAP_3 });
    await h.advance(20n * SECOND);
    expect(seen).toEqual([
      { child: `${order.order_id}-S1`, stored: [`${order.order_id}-S1`] },
      { child: `${order.order_id}-S2`, stored: [`${order.order_id}-S1`, `${order.order_id}-S2`] },
    ]);
  });

  it('restart mid-TWAP: resumes from the stored state, no child duplicated or lost, total = parent quantity', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-RS', { quantity: '0.3', ...TWAP_3 });
    expect(h.venue.orderIds()).toHaveLength(1);
    await h.restart();
    // Downtime over slice 2's time: the new process catches up, then keeps the schedule.
    await h.advance(25n * SECOND);
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`, `${order.order_id}-S2`]);
    await h.restart();
    await h.advance(20n * SECOND);
    expect(h.venue.orderIds()).toEqual([
      `${order.order_id}-S1`,
      `${order.order_id}-S2`,
      `${order.order_id}-S3`,
    ]);
    // One send per child (the restarts looked S1/S2 up, they did not send them again).
    expect(h.venue.submitCalls.map((r) => r.client_order_id)).toEqual(h.venue.orderIds());
    expect(await h.order('OP-RS')).toMatchObject({ status: 'FILLED', filled_quantity: '0.3' });
    expect(await h.orders.fills('OP-RS')).toHaveLength(3);
    expect(await h.positions.get(ACCOUNT, BTC)).toMatchObject({ quantity: '0.3' });
  });

  it('a crash between persisting a child and sending it: the restart sends it once (pendingActions, same id)', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-CR', { quantity: '0.3', ...TWAP_3 });
    // Slice 2 is persisted, then the send dies without reaching the venue.
    h.venue.fail({ op: 'submit', kind: 'transient', clientOrderId: `${order.order_id}-S2` });
    await h.advance(20n * SECOND);
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`]);
    const stored = await h.algoStates.get('OP-CR');
    expect(stored?.state.children.map((c) => [c.order_id, c.status])).toEqual([
      [`${order.order_id}-S1`, 'FILLED'],
      [`${order.order_id}-S2`, 'SUBMITTED'],
    ]);
    await h.restart();
    await h.settle();
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`, `${order.order_id}-S2`]);
    expect(await h.order('OP-CR')).toMatchObject({ filled_quantity: '0.2' });
    await h.advance(20n * SECOND);
    expect(await h.order('OP-CR')).toMatchObject({ status: 'FILLED', filled_quantity: '0.3' });
  });

  it('a crash after the venue took a child but before its answer: the restart finds it, never sends it twice', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-CA', { quantity: '0.3', ...TWAP_3 });
    h.venue.dropEvents = true;
    h.venue.fail({ op: 'submit', kind: 'transient', afterSend: true, clientOrderId: `${order.order_id}-S2` });
    await h.advance(20n * SECOND);
    await h.restart();
    h.venue.dropEvents = false;
    await h.settle();
    const s2 = h.venue.submitCalls.filter((r) => r.client_order_id === `${order.order_id}-S2`);
    expect(s2).toHaveLength(1);
    expect(h.venue.fetchOrderCalls).toContain(`${order.order_id}-S2`);
    // Its fill (missed by the stream) was read back from the venue's trades.
    expect(await h.order('OP-CA')).toMatchObject({ filled_quantity: '0.2' });
    await h.advance(20n * SECOND);
    expect(await h.order('OP-CA')).toMatchObject({ status: 'FILLED', filled_quantity: '0.3' });
    expect(h.venue.orderIds()).toHaveLength(3);
  });

  it('a cancel action cancels the working children and settles the parent CANCELED', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-TC', { quantity: '0.3', order_type: 'LIMIT', price: '50000', ...TWAP_3 });
    expect(h.venue.order(`${order.order_id}-S1`)?.status).toBe('NEW');
    await h.publishCancel('OP-TC', 'strategy stop');
    expect(h.venue.order(`${order.order_id}-S1`)?.status).toBe('CANCELED');
    const o = await h.order('OP-TC');
    expect(o.status).toBe('CANCELED');
    expect(o.rejection_reason ?? (await h.orders.timeline('OP-TC')).at(-1)).toBeTruthy();
    expect((await h.algoStates.get('OP-TC'))?.active).toBe(false);
    await h.advance(60n * SECOND);
    expect(h.venue.orderIds()).toHaveLength(1);
  });

  it('a TWAP that cannot fill expires at the end of the schedule with what it got', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-EX', { quantity: '0.3', order_type: 'LIMIT', price: '50000', ...TWAP_3 });
    h.venue.fill(`${order.order_id}-S1`, '0.05');
    await h.settle();
    await h.advance(20n * SECOND);
    await h.advance(20n * SECOND);
    await h.advance(20n * SECOND);
    const o = await h.order('OP-EX');
    expect(o.status).toBe('EXPIRED');
    expect(o.filled_quantity).toBe('0.05');
    expect(h.venue.orderIds()).toHaveLength(3);
    expect(h.venue.orderIds().every((id) => h.venue.order(id)?.status !== 'NEW')).toBe(true);
  });

  it('ICEBERG: one child working at a time, the next after the previous filled', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-ICE', {
      quantity: '0.03',
      order_type: 'LIMIT',
      price: '59000',
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.01' },
    });
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-R1`]);
    h.venue.fill(`${order.order_id}-R1`);
    await h.settle();
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-R1`, `${order.order_id}-R2`]);
    h.venue.fill(`${order.order_id}-R2`);
    await h.settle();
    h.venue.fill(`${order.order_id}-R3`);
    await h.settle();
    expect(await h.order('OP-ICE')).toMatchObject({ status: 'FILLED', filled_quantity: '0.03' });
  });

  it('fills that happened while the edge was down are read back at restart and the schedule goes on', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-DOWN', {
      quantity: '0.3',
      order_type: 'LIMIT',
      price: '59000',
      ...TWAP_3,
    });
    await h.edge.stop();
    // While nobody listens, the resting child fills at the venue.
    h.venue.fill(`${order.order_id}-S1`);
    await h.restart();
    await h.settle();
    expect(await h.order('OP-DOWN')).toMatchObject({ filled_quantity: '0.1' });
    h.clock.advance(20n * SECOND);
    await h.advance(0n);
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`, `${order.order_id}-S2`]);
    expect(h.venue.order(`${order.order_id}-S2`)?.quantity).toBe('0.1');
  });

  it('a parent recorded SUBMITTED whose state was never stored (crash) is started at the next start', async () => {
    h = new EdgeHarness();
    const order = await createRoutedOrder(
      h.orders,
      'OP-ORPHAN',
      { quantity: '0.3', ...TWAP_3 },
      {
        venue: VENUE,
        account_id: ACCOUNT,
        ts: T0,
      },
    );
    await h.recorder.recordSubmitted('OP-ORPHAN', order.order_id);
    await h.start();
    await h.settle();
    expect(h.venue.orderIds()).toEqual([`${order.order_id}-S1`]);
    expect((await h.order('OP-ORPHAN')).status).toBe('PARTIALLY_FILLED');
    expect((await h.algoStates.get('OP-ORPHAN'))?.active).toBe(true);
  });

  it('a routed order whose message was lost (still PENDING) is submitted at start', async () => {
    h = new EdgeHarness();
    await createRoutedOrder(
      h.orders,
      'OP-STRANDED',
      { quantity: '0.01' },
      { venue: VENUE, account_id: ACCOUNT, ts: T0 },
    );
    await h.start();
    await h.settle();
    expect((await h.order('OP-STRANDED')).status).toBe('FILLED');
  });

  it('bad algorithm parameters reject the parent (INVALID_ALGORITHM) without sending anything', async () => {
    h = await new EdgeHarness().start();
    await h.route('OP-BAD', {
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.000001' },
    });
    const o = await h.order('OP-BAD');
    expect(o.status).toBe('REJECTED');
    expect(o.rejection_reason).toMatch(/^INVALID_ALGORITHM: /);
    expect(h.venue.submitCalls).toHaveLength(0);
  });
});

describe('trading state', () => {
  it('HALTED cancels the working children within one poll and pauses the schedule; ACTIVE resumes it', async () => {
    h = await new EdgeHarness().start();
    const order = await h.route('OP-H', { quantity: '0.3', order_type: 'LIMIT', price: '50000', ...TWAP_3 });
    const s1 = `${order.order_id}-S1`;
    expect(h.venue.order(s1)?.status).toBe('NEW');
    await h.setTradingState('HALTED', 'incident');
    await h.advance(ms(500)); // one poll
    expect(h.venue.order(s1)?.status).toBe('CANCELED');
    // Paused: slice 2's time passes without a child.
    await h.advance(20n * SECOND);
    expect(h.venue.orderIds()).toEqual([s1]);
    const published = h.bus.on('risk.state');
    expect(published.map((m) => m.data.state)).toContain('HALTED');
    await h.setTradingState('ACTIVE', 'resolved');
    await h.advance(ms(500));
    // Resumed: slice 2 goes out with slice 1's canceled quantity carried over.
    expect(h.venue.orderIds()).toEqual([s1, `${order.order_id}-S2`]);
    expect(h.venue.order(`${order.order_id}-S2`)?.quantity).toBe('0.2');
    expect((await h.order('OP-H')).status).toBe('ACCEPTED');
  });

  it('REDUCING lets no exposure-increasing child out; a reducing one goes', async () => {
    h = await new EdgeHarness().start();
    // A long 0.5 position first (fills while ACTIVE).
    await h.route('OP-LONG', { quantity: '0.5' });
    expect(await h.positions.get(ACCOUNT, BTC)).toMatchObject({ quantity: '0.5' });
    await h.setTradingState('REDUCING', 'drift');
    await h.advance(ms(500));
    const buy = await h.route('OP-BUY', { quantity: '0.3', ...TWAP_3 });
    expect(h.venue.submitCalls.filter((r) => r.client_order_id.startsWith(buy.order_id))).toEqual([]);
    const gated = h.bus.on('exec.orders', 'child_order').filter((m) => m.data.operation_id === 'OP-BUY');
    // Denied by the child policy (the risk rule `trading_state`, intake's REDUCING rule), never sent.
    expect(gated[0]?.data).toMatchObject({ status: 'DENIED', client_order_id: `${buy.order_id}-S1` });
    expect(String(gated[0]?.data.reason)).toMatch(/^trading_state: REDUCING: /);
    const sell = await h.route('OP-SELL', { side: 'SELL', quantity: '0.3', ...TWAP_3 });
    expect(h.venue.orderIds()).toContain(`${sell.order_id}-S1`);
    expect((await h.order('OP-SELL')).filled_quantity).toBe('0.1');
    // A direct order that would increase exposure is not sent either (canceled with the reason).
    await h.route('OP-BUY2', { quantity: '0.01' });
    const b2 = await h.order('OP-BUY2');
    expect(b2.status).toBe('CANCELED');
    expect(h.venue.orderIds()).not.toContain(b2.order_id);
  });

  it('publishes each trading state change it sees on risk.state once', async () => {
    h = await new EdgeHarness().start();
    await h.setTradingState('REDUCING', 'r1');
    await h.advance(ms(500));
    await h.advance(ms(500));
    await h.setTradingState('ACTIVE', 'r2');
    await h.advance(ms(500));
    const m = h.bus.on('risk.state').map((p) => [p.data.state, p.data.previous, p.data.version]);
    expect(m).toEqual([
      ['REDUCING', null, 1],
      ['ACTIVE', 'REDUCING', 2],
    ]);
  });
});

describe('streams, messages, health', () => {
  it('a stream change is logged once: the connection event, not again as the adapter diagnostic', async () => {
    h = await new EdgeHarness().start();
    const streamLines = () => h.logs.filter((l) => /private stream (up|down)/.test(l.message));
    const before = streamLines().length;
    h.venue.streamDown();
    const down: VenueDiagnosticEvent = {
      type: 'stream',
      venue: VENUE,
      account_id: ACCOUNT,
      ts: h.clock.now(),
      stream: 'private',
      state: 'down',
      reason: 'test',
    };
    h.edge.onVenueDiagnostic(down);
    await h.settle();
    const lines = streamLines().slice(before);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
    expect(lines[0]?.message).toContain(`venue ${VENUE} private stream down`);
  });

  it('a private stream that drops and comes back triggers a gap fill that records the missed fills', async () => {
    h = await new EdgeHarness().start();
    await h.route('OP-G', { order_type: 'LIMIT', price: '59000', quantity: '0.02' });
    h.venue.streamDown();
    await h.settle();
    expect((await h.edge.readiness()).ready).toBe(false);
    h.venue.dropEvents = true;
    h.venue.fill(orderIdFor('OP-G'));
    h.venue.dropEvents = false;
    await h.settle();
    expect((await h.order('OP-G')).filled_quantity).toBe('0');
    h.venue.streamUp();
    await h.settle();
    expect(await h.order('OP-G')).toMatchObject({ status: 'FILLED', filled_quantity: '0.02' });
    expect(h.edge.readiness().ready).toBe(true);
  });

  it('malformed routed messages are dead-lettered; an unknown operation too; another venue is acked', async () => {
    h = await new EdgeHarness().start();
    expect(await h.edge.handleRouted(busMessage({ action: 'submit' }))).toMatchObject({
      kind: 'dead_letter',
    });
    const order = await h.route('OP-X');
    const msg = { ...routedSubmitMessage(order, null, h.clock.now()), operation_id: 'OP-NOPE' };
    expect(await h.edge.handleRouted(busMessage(msg))).toEqual({
      kind: 'dead_letter',
      reason: 'unknown_order: no order OP-NOPE in the order store',
    });
    expect(await h.edge.handleRouted(busMessage({ ...msg, venue: 'SIM' }))).toEqual({ kind: 'ack' });
  });

  it('venue diagnostics become exec.orders messages and metrics', async () => {
    h = await new EdgeHarness().start();
    const breaker: VenueDiagnosticEvent = {
      type: 'breaker',
      venue: VENUE,
      account_id: ACCOUNT,
      ts: T0,
      state: 'open',
      reason: '5 failures',
    };
    h.edge.onVenueDiagnostic(breaker);
    const retry: VenueDiagnosticEvent = {
      type: 'retry',
      venue: VENUE,
      account_id: ACCOUNT,
      ts: T0,
      operation: 'submit',
      attempt: 1,
      delay_ms: 200,
      error_kind: 'transient',
      message: '503',
    };
    h.edge.onVenueDiagnostic(retry);
    await h.settle();
    const d = h.bus.on('exec.orders', 'venue_diagnostic');
    expect(d.map((m) => m.data.diagnostic)).toEqual(['breaker', 'retry']);
    expect(d[0]?.attributes).toEqual({ venue: VENUE, diagnostic: 'breaker', diagnostic_message: 'true' });
    const text = await h.registry.metrics();
    expect(text).toContain('exec_edge_breaker_open{venue="BINANCE-SPOT"} 1');
    expect(text).toContain('exec_edge_venue_diagnostics_total{venue="BINANCE-SPOT",diagnostic="retry"} 1');
  });

  it('publishes the venue state and the book for the router and risk', async () => {
    h = await new EdgeHarness({ bookPollMs: 5000 }).start();
    // At start: the REST book (no stream book yet) and the venue state, so the router can use the venue.
    const [first] = await h.market.getQuotes([{ venue: VENUE, instrument_key: BTC }]);
    expect(first).toMatchObject({ bid: '59999.99', ask: '60000.01', mid: '60000' });
    const states = await h.market.getVenueStates([VENUE]);
    expect(states[VENUE]).toMatchObject({ status: 'UP', balances: { USDT: '100000', BTC: '0' } });
    // Then the stream's books, at most once a second.
    h.venue.publishBook('59998', '60004');
    await h.advance(ms(10));
    expect((await h.market.getQuotes([{ venue: VENUE, instrument_key: BTC }]))[0]?.mid).toBe('60000');
    await h.advance(ms(1000));
    const [q] = await h.market.getQuotes([{ venue: VENUE, instrument_key: BTC }]);
    expect(q).toMatchObject({ bid: '59998', ask: '60004', mid: '60001' });
    expect(h.bus.on('market.raw')).toHaveLength(2);
  });

  it('/healthz and /readyz', async () => {
    h = new EdgeHarness();
    const app = createEdgeHealthRouter(h.edge);
    expect((await app.request('/healthz')).status).toBe(200);
    const before = await app.request('/readyz');
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({
      status: 'not_ready',
      reasons: expect.arrayContaining(['not started']),
    });
    await h.start();
    const after = await app.request('/readyz');
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({
      status: 'ready',
      venues: [{ venue: VENUE, connected: true }],
    });
    expect(await h.edge.health()).toEqual({ [VENUE]: { ok: true, detail: expect.stringContaining('LIVE') } });
  });
});

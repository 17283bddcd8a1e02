import { describe, expect, it } from 'vitest';
import { LocalRiskLedgerStore } from '../../../infra/local/risk-ledger.local.ts';
import {
  OrderUpdateMessageSchema,
  RoutedMessageSchema,
  RoutedSubmitMessageSchema,
  VenueCancelMessageSchema,
} from '../../../shared/app/messages.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';
import { createOrderService } from '../../../shared/app/order-pipeline.ts';
import type { OrderDenied, OrderEvent, OrderRouted } from '../../../shared/domain/events.ts';
import { applyEvents, decide } from '../../../shared/domain/order-machine.ts';
import { NANOS_PER_MILLI } from '../../../shared/domain/time.ts';
import type { Position } from '../../../shared/domain/types.ts';
import {
  changedLedgers,
  DEFAULT_LEDGER_SCOPE,
  type LedgerUpdateFn,
  normaliseScopes,
  type RiskLedgerStore,
} from '../../../shared/ports/risk-ledger-store.ts';
import type { RiskLedger } from '../../../shared/risk/ledger.ts';
import type { Decimalish } from '../../../shared/risk/types.ts';
import {
  BTC,
  ETH,
  embeddedSpecs,
  type Harness,
  makeHarness,
  marketOrder,
  PERP,
  PUBSUB,
  putVenue,
  SIM_BTC,
  T0,
  testConfig,
} from './harness.ts';

const HTTP = { via: 'http' } as const;

function types(events: OrderEvent[]): string[] {
  return events.map((e) => e.type);
}

async function openReservations(h: Harness): Promise<string[]> {
  return Object.keys((await h.ledger.get(DEFAULT_LEDGER_SCOPE)).open);
}

/** Move an order to SUBMITTED as the venue edge would. */
async function submitAtVenue(h: Harness, operationId: string): Promise<void> {
  const order = await h.orders.get(operationId);
  if (order === null) throw new Error('no order');
  const d = decide(
    { type: 'SubmitOrder', ts_event: T0, ts_init: T0, client_order_id: `c-${operationId}` },
    order,
  );
  if (!d.success) throw new Error(d.error.reason);
  const r = await h.orders.transition(operationId, order.version, applyEvents(order, d.data), d.data);
  if (!r.ok) throw new Error(r.reason);
}

describe('submit: a valid order', () => {
  it('is risk-approved, routed, recorded once with its whole first timeline, and published', async () => {
    const h = await makeHarness();
    const out = await h.service.submit(marketOrder('OP-1'), PUBSUB);
    expect(out.kind).toBe('routed');
    if (out.kind !== 'routed') return;
    expect(out.reply).toEqual({
      operation_id: 'OP-1',
      order_id: orderIdFor('OP-1'),
      status: 'PENDING',
      rejection_reason: null,
      venue: 'BINANCE-SPOT',
      fills: [],
    });

    const detail = await h.service.get('OP-1');
    expect(detail?.order).toMatchObject({
      version: 1,
      status: 'PENDING',
      risk_approved: true,
      venue: 'BINANCE-SPOT',
      account_id: 'BINANCE-SPOT',
    });
    expect(types(detail?.timeline ?? [])).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRouted']);
    const routed = detail?.timeline[2] as OrderRouted;
    expect(routed.scores.map((s) => s.venue).sort()).toEqual(['BINANCE-SPOT', 'SIM']);
    expect(routed.scores.every((s) => s.eligible && s.total_cost_bps !== null)).toBe(true);

    const [msg, ...more] = h.bus.on('orders.routed');
    expect(more).toHaveLength(0);
    expect(msg?.attributes).toEqual({
      action: 'submit',
      venue: 'BINANCE-SPOT',
      instrument_key: BTC,
      operation_id: 'OP-1',
      strategy_id: 'momentum-btc-v1',
    });
    const payload = RoutedSubmitMessageSchema.parse(msg?.data);
    expect(payload).toMatchObject({
      operation_id: 'OP-1',
      order_id: orderIdFor('OP-1'),
      venue: 'BINANCE-SPOT',
      venue_instrument_key: BTC,
      quantity: '0.1',
      price: null,
      reference_price: '60000',
      version: 1,
      ts_created: T0.toString(),
    });
    const [update] = h.bus.on('exec.orders');
    expect(OrderUpdateMessageSchema.parse(update?.data)).toMatchObject({
      status: 'PENDING',
      venue: 'BINANCE-SPOT',
      events: ['OrderReceived', 'OrderRiskApproved', 'OrderRouted'],
    });
    expect(update?.attributes).toMatchObject({
      operation_id: 'OP-1',
      status: 'PENDING',
      venue: 'BINANCE-SPOT',
    });
    expect(await openReservations(h)).toEqual(['OP-1']);
  });

  it('costs two commits: the ledger reservation and one order create (no transitions)', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-W'), PUBSUB);
    expect({ ledger: h.ledger.writes, creates: h.orders.creates, transitions: h.orders.transitions }).toEqual(
      {
        ledger: 1,
        creates: 1,
        transitions: 0,
      },
    );
  });

  it('accepts the raw bytes of a Pub/Sub message and normalises decimals and the instrument spelling', async () => {
    const h = await makeHarness();
    const bytes = new TextEncoder().encode(
      JSON.stringify(marketOrder('OP-B', { instrument_key: 'SIM:PERPETUAL:BTC-USDT', quantity: 0.01 })),
    );
    const out = await h.service.submit(bytes, PUBSUB);
    expect(out.kind).toBe('routed');
    const order = await h.orders.get('OP-B');
    expect(order).toMatchObject({ instrument_key: PERP, quantity: '0.01', venue: 'SIM' });
    const msg = RoutedSubmitMessageSchema.parse(h.bus.on('orders.routed')[0]?.data);
    expect(msg.venue_instrument_key).toBe(PERP);
  });

  it('routes to the cheaper venue and names the venue-specific instrument', async () => {
    const h = await makeHarness();
    // BINANCE-SPOT rejects a lot lately: SIM wins.
    await h.market.putVenueState({
      venue: 'BINANCE-SPOT',
      status: 'UP',
      latency_ms: 5,
      recent_orders: 10,
      recent_rejections: 10,
      balances: { USDT: '1000000' },
      ts_updated: h.clock.now(),
    });
    const out = await h.service.submit(marketOrder('OP-SIM'), HTTP);
    expect(out.reply?.venue).toBe('SIM');
    const msg = RoutedSubmitMessageSchema.parse(h.bus.on('orders.routed')[0]?.data);
    expect(msg).toMatchObject({ venue: 'SIM', instrument_key: BTC, venue_instrument_key: SIM_BTC });
  });

  it('honours a venue named by the order', async () => {
    const h = await makeHarness();
    const out = await h.service.submit(marketOrder('OP-N', { venue: 'SIM' }), HTTP);
    expect(out).toMatchObject({ kind: 'routed', reply: { venue: 'SIM' } });
    const routed = (await h.service.get('OP-N'))?.timeline[2] as OrderRouted;
    expect(routed.reason).toBe('venue named by order');
  });
});

describe('submit: idempotency and resume', () => {
  it('the same message three times makes one order, one timeline and one routed message', async () => {
    const h = await makeHarness();
    const first = await h.service.submit(marketOrder('OP-D'), PUBSUB);
    const second = await h.service.submit(marketOrder('OP-D'), { ...PUBSUB, delivery_attempt: 2 });
    const third = await h.service.submit(marketOrder('OP-D'), HTTP);
    expect([first.kind, second.kind, third.kind]).toEqual(['routed', 'duplicate', 'duplicate']);
    expect(second.reply).toEqual(first.reply);
    expect(third.reply).toEqual(first.reply);
    expect(await h.service.list({})).toHaveLength(1);
    expect(types(await h.orders.timeline('OP-D'))).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
    ]);
    expect(h.bus.on('orders.routed')).toHaveLength(1);
    expect(await openReservations(h)).toEqual(['OP-D']);
    expect(h.ledger.writes).toBe(1);
  });

  it('three concurrent deliveries make one order, one reservation and one routed message', async () => {
    const h = await makeHarness();
    const outs = await Promise.all([1, 2, 3].map(() => h.service.submit(marketOrder('OP-C'), PUBSUB)));
    expect(outs.map((o) => o.kind).sort()).toEqual(['duplicate', 'duplicate', 'routed']);
    expect(types(await h.orders.timeline('OP-C'))).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
    ]);
    expect(h.bus.on('orders.routed')).toHaveLength(1);
    const ledger = await h.ledger.get(DEFAULT_LEDGER_SCOPE);
    expect(Object.keys(ledger.open)).toEqual(['OP-C']);
    expect(ledger.instruments[BTC]?.working_buy).toBe('0.1');
  });

  it('a crash between the reservation and the create resumes on redelivery without reserving twice', async () => {
    const h = await makeHarness();
    h.orders.failCreates = 1;
    await expect(h.service.submit(marketOrder('OP-R'), PUBSUB)).rejects.toThrow(/injected/);
    expect(await openReservations(h)).toEqual(['OP-R']);
    expect(h.bus.published).toHaveLength(0);

    const out = await h.service.submit(marketOrder('OP-R'), { ...PUBSUB, delivery_attempt: 2 });
    expect(out.kind).toBe('routed');
    const ledger = await h.ledger.get(DEFAULT_LEDGER_SCOPE);
    expect(ledger.instruments[BTC]?.working_buy).toBe('0.1');
    const timeline = await h.orders.timeline('OP-R');
    expect(types(timeline)).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRouted']);
    const approved = timeline[1];
    expect(approved?.type === 'OrderRiskApproved' && approved.checks[0]?.rule).toBe('reservation');
    expect(RoutedSubmitMessageSchema.parse(h.bus.on('orders.routed')[0]?.data).reference_price).toBe('60000');
  });

  it('a crash between the create and the publish re-publishes the route on a later redelivery', async () => {
    const h = await makeHarness();
    h.bus.failNext = 1;
    await expect(h.service.submit(marketOrder('OP-P'), PUBSUB)).rejects.toThrow(/injected/);
    expect(h.bus.on('orders.routed')).toHaveLength(0);
    // Pub/Sub redelivers after the ack deadline (≥ 10 s): the order is still PENDING, so resume.
    h.clock.advance(10_000n * NANOS_PER_MILLI);
    const out = await h.service.submit(marketOrder('OP-P'), { ...PUBSUB, delivery_attempt: 2 });
    expect(out.kind).toBe('duplicate');
    const routed = h.bus.on('orders.routed');
    expect(routed).toHaveLength(1);
    expect(RoutedSubmitMessageSchema.parse(routed[0]?.data)).toMatchObject({
      operation_id: 'OP-P',
      reference_price: '60000',
    });
    expect(h.orders.creates).toBe(1);
  });

  it('republishStaleRoutes re-publishes PENDING routes nobody took, and not SUBMITTED ones', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-S1'), PUBSUB);
    await h.service.submit(marketOrder('OP-S2'), PUBSUB);
    await submitAtVenue(h, 'OP-S2');
    expect(await h.service.republishStaleRoutes(5_000)).toEqual([]);
    h.clock.advance(6_000n * NANOS_PER_MILLI);
    expect(await h.service.republishStaleRoutes(5_000)).toEqual(['OP-S1']);
    expect(h.bus.on('orders.routed').map((m) => m.attributes.operation_id)).toEqual([
      'OP-S1',
      'OP-S2',
      'OP-S1',
    ]);
  });
});

describe('submit: invalid input is recorded and reported', () => {
  it('malformed JSON: invalid_json, nothing recorded, no reply', async () => {
    const h = await makeHarness();
    const out = await h.service.submit('{"operation_id": "OP-X", ', PUBSUB);
    expect(out).toMatchObject({ kind: 'invalid', code: 'invalid_json', reply: null });
    expect(out.kind === 'invalid' && out.issues[0]?.message).toMatch(/not valid JSON/);
    expect(await h.service.list({})).toEqual([]);
  });

  it('wrong types with a usable operation_id: a REJECTED order whose reason lists every field', async () => {
    const h = await makeHarness();
    const input = marketOrder('OP-T', { quantity: 'lots', side: 'HOLD', quantiy: 1 });
    const out = await h.service.submit(input, PUBSUB);
    expect(out.kind).toBe('invalid');
    if (out.kind !== 'invalid') return;
    expect(out.code).toBe('invalid_order');
    expect(out.issues.map((i) => i.path).sort()).toEqual(['quantity', 'quantiy', 'side']);
    expect(out.reply).toMatchObject({
      operation_id: 'OP-T',
      order_id: orderIdFor('OP-T'),
      status: 'REJECTED',
    });
    expect(out.reply?.rejection_reason).toMatch(/^invalid_order: /);
    expect(out.reply?.rejection_reason).toContain(
      'quantity: must be a decimal number such as "1.25", got "lots"',
    );
    expect(out.reply?.rejection_reason).toContain('quantiy: unknown field');

    const detail = await h.service.get('OP-T');
    expect(types(detail?.timeline ?? [])).toEqual(['OrderReceived', 'OrderRejected']);
    const rejected = detail?.timeline[1] as OrderEvent & { input?: string; source?: unknown };
    expect(rejected.input).toContain('"quantity":"lots"');
    expect(rejected.source).toEqual(PUBSUB);
    // The fields that were valid are kept; the others are placeholders.
    expect(detail?.order).toMatchObject({
      instrument_key: BTC,
      strategy_id: 'momentum-btc-v1',
      quantity: '0',
    });
    expect(h.bus.on('orders.routed')).toHaveLength(0);
    expect(OrderUpdateMessageSchema.parse(h.bus.on('exec.orders')[0]?.data).status).toBe('REJECTED');

    // Redelivered: the same record, nothing new.
    const again = await h.service.submit(input, { ...PUBSUB, delivery_attempt: 2 });
    expect(again).toMatchObject({ kind: 'invalid', reply: out.reply });
    expect(h.orders.creates).toBe(2);
    expect(await h.service.list({})).toHaveLength(1);
  });

  it('no usable operation_id: invalid with a null reply and nothing recorded', async () => {
    const h = await makeHarness();
    const out = await h.service.submit({ ...marketOrder('x'), operation_id: 'has spaces!' }, PUBSUB);
    expect(out).toMatchObject({ kind: 'invalid', code: 'invalid_order', reply: null });
    expect(await h.service.submit([1, 2], PUBSUB)).toMatchObject({ kind: 'invalid', reply: null });
    expect(await h.service.list({})).toEqual([]);
  });

  it('an unknown instrument is invalid with a clear reason', async () => {
    const h = await makeHarness();
    const out = await h.service.submit(
      marketOrder('OP-U', { instrument_key: 'BINANCE-SPOT:SPOT_PAIR:DOGE-USDT' }),
      PUBSUB,
    );
    expect(out.kind).toBe('invalid');
    expect(out.kind === 'invalid' && out.issues).toEqual([
      {
        path: 'instrument_key',
        message:
          'unknown instrument BINANCE-SPOT:SPOT_PAIR:DOGE-USDT: not in the instrument catalog (config/instruments.json)',
      },
    ]);
    expect(out.reply?.rejection_reason).toBe(
      'invalid_order: instrument_key: unknown instrument BINANCE-SPOT:SPOT_PAIR:DOGE-USDT: not in the instrument catalog (config/instruments.json)',
    );
    expect(await openReservations(h)).toEqual([]);
  });

  it('an invalid message reusing the operation_id of a real order leaves that order alone', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-Z'), PUBSUB);
    const out = await h.service.submit(marketOrder('OP-Z', { side: 'HOLD' }), PUBSUB);
    expect(out).toMatchObject({ kind: 'invalid', reply: { status: 'PENDING', venue: 'BINANCE-SPOT' } });
    expect(types(await h.orders.timeline('OP-Z'))).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
    ]);
  });
});

describe('submit: risk denials are recorded data', () => {
  it('beyond the position limit: DENIED with the rule, the limit and the observed value', async () => {
    const h = await makeHarness();
    const out = await h.service.submit(marketOrder('OP-L', { quantity: '1.5' }), PUBSUB);
    expect(out.kind).toBe('denied');
    expect(out.reply?.status).toBe('DENIED');
    expect(out.reply?.rejection_reason).toMatch(/1\.5/);
    const timeline = await h.orders.timeline('OP-L');
    expect(types(timeline)).toEqual(['OrderReceived', 'OrderDenied']);
    const denied = timeline[1] as OrderDenied;
    expect(denied).toMatchObject({ rule: 'position_instrument', limit: '1', observed: '1.5' });
    expect(denied.checks.length).toBeGreaterThan(10);
    expect(h.bus.on('orders.routed')).toHaveLength(0);
    expect(OrderUpdateMessageSchema.parse(h.bus.on('exec.orders')[0]?.data).status).toBe('DENIED');
    expect(await openReservations(h)).toEqual([]);
    expect({ ledger: h.ledger.writes, creates: h.orders.creates }).toEqual({ ledger: 0, creates: 1 });
  });

  it('working orders count toward the limit: the 11th 0.1 BTC order is denied', async () => {
    const h = await makeHarness();
    const kinds: string[] = [];
    for (let i = 0; i < 11; i++) kinds.push((await h.service.submit(marketOrder(`OP-${i}`), PUBSUB)).kind);
    expect(kinds.filter((k) => k === 'routed')).toHaveLength(10);
    expect(kinds[10]).toBe('denied');
  });

  it('a quantity off the step size is denied by the instrument rule', async () => {
    const h = await makeHarness();
    const out = await h.service.submit(marketOrder('OP-Q', { quantity: '0.000015' }), PUBSUB);
    expect(out.kind).toBe('denied');
    const denied = (await h.orders.timeline('OP-Q'))[1] as OrderDenied;
    expect(denied).toMatchObject({ rule: 'quantity_step', limit: '0.00001', observed: '0.000015' });
  });

  it('a market order with no market price and no reference_price is denied (cannot be valued)', async () => {
    const h = await makeHarness({ market: false });
    const out = await h.service.submit(marketOrder('OP-V', { instrument_key: ETH }), PUBSUB);
    expect(out.kind).toBe('denied');
    expect(((await h.orders.timeline('OP-V'))[1] as OrderDenied).rule).toBe('reference_price');
    // The strategy's reference price values it; the SIMULATED venues count as UP without a state.
    const ok = await h.service.submit(
      marketOrder('OP-V2', { instrument_key: ETH, reference_price: '3000' }),
      PUBSUB,
    );
    expect(ok.kind).toBe('routed');
  });

  it('HALTED denies every order, within one poll interval of the change', async () => {
    const h = await makeHarness();
    expect((await h.service.submit(marketOrder('OP-H1'), PUBSUB)).kind).toBe('routed');
    await h.trading.set(
      { kind: 'global' },
      { state: 'HALTED', reason: 'drill', updated_by: 'ops' },
      h.clock.now(),
    );
    h.clock.advance(BigInt(h.config.risk.trading_state_poll_ms) * NANOS_PER_MILLI);
    const out = await h.service.submit(marketOrder('OP-H2', { side: 'SELL' }), PUBSUB);
    expect(out.kind).toBe('denied');
    expect((await h.orders.timeline('OP-H2'))[1] as OrderDenied).toMatchObject({
      rule: 'trading_state',
      limit: 'HALTED',
    });
  });

  it('a strategy HALT denies only that strategy', async () => {
    const h = await makeHarness();
    await h.trading.set(
      { kind: 'strategy', strategy_id: 'momentum-btc-v1' },
      { state: 'HALTED', reason: 'drift', updated_by: 'drift-monitor' },
      h.clock.now(),
    );
    expect((await h.service.submit(marketOrder('OP-S1'), PUBSUB)).kind).toBe('denied');
    expect((await h.service.submit(marketOrder('OP-S2', { strategy_id: 'other' }), PUBSUB)).kind).toBe(
      'routed',
    );
  });

  it('REDUCING allows only orders that reduce the position held (seeded from the position book)', async () => {
    const h = await makeHarness();
    const position: Position = {
      account_id: 'BINANCE-SPOT',
      instrument_key: BTC,
      quantity: '0.5',
      avg_entry_price: '59000',
      cost_basis: '29500',
      realized_pnl: '0',
      fees: '0',
      venues: { 'BINANCE-SPOT': '0.5' },
      last_fill_id: 'f-0',
      version: 1,
      ts_updated: T0,
    };
    await h.positions.put(position, 0);
    await h.trading.set(
      { kind: 'global' },
      { state: 'REDUCING', reason: 'drawdown', updated_by: 'ops' },
      h.clock.now(),
    );
    const buy = await h.service.submit(marketOrder('OP-RB'), PUBSUB);
    expect(buy.kind).toBe('denied');
    expect(((await h.orders.timeline('OP-RB'))[1] as OrderDenied).rule).toBe('trading_state');
    const sell = await h.service.submit(marketOrder('OP-RS', { side: 'SELL', quantity: '0.2' }), PUBSUB);
    expect(sell.kind).toBe('routed');
    expect((await h.ledger.get(DEFAULT_LEDGER_SCOPE)).instruments[BTC]).toMatchObject({
      position: '0.5',
      working_sell: '0.2',
    });
  });

  it('a LIVE-like venue without a known balance denies spot buys (fail closed)', async () => {
    const h = await makeHarness();
    await putVenue(h.market, h.clock, 'BINANCE-SPOT', 'UP', null);
    const cfg = testConfig();
    const live = {
      ...h.deps,
      venues: cfg.venues.map((v) => (v.id === 'BINANCE-SPOT' ? { ...v, mode: 'LIVE' as const } : v)),
    };
    const service = createOrderService(live);
    const out = await service.submit(marketOrder('OP-FB'), PUBSUB);
    expect(out.kind).toBe('denied');
    expect(((await h.orders.timeline('OP-FB'))[1] as OrderDenied).rule).toBe('free_balance');
  });
});

describe('submit: no route', () => {
  it('every venue circuit-open: REJECTED with the reason and every score, nothing reserved', async () => {
    const h = await makeHarness();
    await putVenue(h.market, h.clock, 'BINANCE-SPOT', 'CIRCUIT_OPEN');
    await putVenue(h.market, h.clock, 'SIM', 'DOWN');
    const out = await h.service.submit(marketOrder('OP-NR'), PUBSUB);
    expect(out).toMatchObject({
      kind: 'unroutable',
      reply: { status: 'REJECTED', rejection_reason: 'unroutable: no eligible venue' },
    });
    const timeline = await h.orders.timeline('OP-NR');
    expect(types(timeline)).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRejected']);
    const rejected = timeline[2] as OrderEvent & { scores?: Array<{ venue: string; reason?: string }> };
    expect(rejected.scores?.map((s) => [s.venue, s.reason])).toEqual([
      ['BINANCE-SPOT', 'circuit open'],
      ['SIM', 'venue down'],
    ]);
    expect(await openReservations(h)).toEqual([]);
    expect(h.ledger.writes).toBe(0);
    expect(h.bus.on('orders.routed')).toHaveLength(0);
  });

  it('a venue that does not list the instrument is scored ineligible with the reason', async () => {
    const specs = (await embeddedSpecs()).filter((s) => s.instrument_key !== SIM_BTC);
    const h = await makeHarness({ specs });
    await h.service.submit(marketOrder('OP-UL'), PUBSUB);
    const routed = (await h.orders.timeline('OP-UL'))[2] as OrderRouted;
    expect(routed.venue).toBe('BINANCE-SPOT');
    expect(routed.scores.find((s) => s.venue === 'SIM')).toMatchObject({
      eligible: false,
      reason: 'instrument SIM:SPOT_PAIR:BTC-USDT is not listed on this venue',
    });
    const named = await h.service.submit(marketOrder('OP-UL2', { venue: 'SIM' }), PUBSUB);
    expect(named.reply?.rejection_reason).toBe(
      'unroutable: venue SIM named by order is not eligible: instrument SIM:SPOT_PAIR:BTC-USDT is not listed on this venue',
    );
  });

  it('a stale venue state counts as unknown for a LIVE-mode venue', async () => {
    const h = await makeHarness();
    h.clock.advance(120_000n * NANOS_PER_MILLI); // states and quotes now two minutes old
    const cfg = testConfig();
    const service = createOrderService({
      ...h.deps,
      venues: cfg.venues.map((v) => ({ ...v, mode: 'LIVE' as const })),
    });
    const out = await service.submit(
      marketOrder('OP-ST', { side: 'SELL', reference_price: '60000' }),
      PUBSUB,
    );
    expect(out.kind).toBe('unroutable');
    const scores = (
      (await h.orders.timeline('OP-ST'))[2] as OrderEvent & { scores: Array<{ reason?: string }> }
    ).scores;
    expect(scores.map((s) => s.reason)).toEqual(['venue state unknown', 'venue state unknown']);
  });
});

describe('cancel', () => {
  it('a PENDING order is canceled at once and its reservation released', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-CP'), PUBSUB);
    const out = await h.service.cancel(
      { operation_id: 'OP-CP', reason: 'strategy changed its mind' },
      PUBSUB,
    );
    expect(out).toMatchObject({ kind: 'canceled', reply: { status: 'CANCELED' } });
    expect(types(await h.orders.timeline('OP-CP')).slice(3)).toEqual([
      'OrderCancelRequested',
      'OrderCanceled',
    ]);
    expect(await openReservations(h)).toEqual([]);
    expect((await h.ledger.get(DEFAULT_LEDGER_SCOPE)).instruments[BTC]?.working_buy).toBe('0');
    // Nothing reached a venue: no cancel for the edge, one order update.
    expect(h.bus.on('orders.routed').map((m) => m.attributes.action)).toEqual(['submit']);
    expect(OrderUpdateMessageSchema.parse(h.bus.on('exec.orders')[1]?.data)).toMatchObject({
      status: 'CANCELED',
      events: ['OrderCancelRequested', 'OrderCanceled'],
    });
  });

  it('a working order goes PENDING_CANCEL and the venue edge is told on orders.routed (action=cancel)', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-CW'), PUBSUB);
    await submitAtVenue(h, 'OP-CW');
    const out = await h.service.cancel({ operation_id: 'OP-CW' }, HTTP);
    expect(out).toMatchObject({ kind: 'cancel_requested', reply: { status: 'PENDING_CANCEL' } });
    const cancels = h.bus.on('orders.routed').filter((m) => m.attributes.action === 'cancel');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]?.attributes).toEqual({
      action: 'cancel',
      venue: 'BINANCE-SPOT',
      instrument_key: BTC,
      operation_id: 'OP-CW',
      strategy_id: 'momentum-btc-v1',
    });
    expect(VenueCancelMessageSchema.parse(cancels[0]?.data)).toMatchObject({
      client_order_id: 'c-OP-CW',
      venue_order_id: null,
      reason: 'cancel requested',
      venue_instrument_key: BTC,
    });
    expect(RoutedMessageSchema.safeParse(cancels[0]?.data).success).toBe(true);
    // The reservation stays until the venue confirms (the edge releases it).
    expect(await openReservations(h)).toEqual(['OP-CW']);

    // A redelivered cancel tells the venue again and changes nothing.
    const again = await h.service.cancel({ operation_id: 'OP-CW' }, PUBSUB);
    expect(again.kind).toBe('cancel_requested');
    expect(h.bus.on('orders.routed').filter((m) => m.attributes.action === 'cancel')).toHaveLength(2);
    expect((await h.orders.get('OP-CW'))?.version).toBe(3);
  });

  it('terminal, unknown and malformed cancels', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-CT', { quantity: '5' }), PUBSUB); // denied
    expect(await h.service.cancel({ operation_id: 'OP-CT' }, HTTP)).toMatchObject({
      kind: 'not_cancelable',
      reason: 'order is DENIED',
      reply: { status: 'DENIED' },
    });
    expect(await h.service.cancel({ operation_id: 'NOPE' }, HTTP)).toEqual({
      kind: 'not_found',
      operation_id: 'NOPE',
    });
    expect(await h.service.cancel({ operation_id: 'OP-1', extra: true }, HTTP)).toMatchObject({
      kind: 'invalid',
      code: 'invalid_cancel',
      issues: [{ path: 'extra', message: 'unknown field' }],
    });
    expect(await h.service.cancel('not json', HTTP)).toMatchObject({ kind: 'invalid', code: 'invalid_json' });
  });
});

describe('get and list', () => {
  it('get returns the order, its reply, timeline and fills; list filters through the store', async () => {
    const h = await makeHarness();
    await h.service.submit(marketOrder('OP-G1'), PUBSUB);
    await h.service.submit(marketOrder('OP-G2', { quantity: '3' }), PUBSUB);
    const d = await h.service.get('OP-G1');
    expect(d?.reply.status).toBe('PENDING');
    expect(d?.fills).toEqual([]);
    expect(await h.service.get('missing')).toBeNull();
    expect((await h.service.list({ status: 'DENIED' })).map((o) => o.operation_id)).toEqual(['OP-G2']);
    expect((await h.service.list({ venue: 'BINANCE-SPOT' })).map((o) => o.operation_id)).toEqual(['OP-G1']);
  });
});

describe('order ids', () => {
  it('are derived from the operation id', async () => {
    const { createHash } = await import('node:crypto');
    for (const op of ['OP-1', '', 'a'.repeat(200), 'ünïcødé-🚀', 'x'.repeat(55), 'y'.repeat(64)]) {
      const want = createHash('sha256').update(op, 'utf8').digest('hex').slice(0, 32);
      expect(orderIdFor(op)).toBe(`ord_${want}`);
    }
  });
});

/**
 * The embedded store applies the pipeline's ledger ops in place; every other store (Firestore)
 * writes the pure `next` the same change carries. This wrapper records, for every update, the pure
 * `next` (read before the store applies anything, as a store that only knows `next` would) and
 * what the store holds afterwards.
 */
class ParityLedger implements RiskLedgerStore {
  readonly compared: Array<{ pure: RiskLedger; stored: RiskLedger }> = [];
  opsUpdates = 0;
  constructor(readonly inner: LocalRiskLedgerStore) {}
  async update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R> {
    const pure: Array<[string, RiskLedger]> = [];
    const r = await this.inner.update(scopeKeys, (l) => {
      const c = fn(l);
      if (c.ops !== undefined) {
        this.opsUpdates++;
        // Copied at once: what fn reads (and the pure ledgers made from it) is only valid during fn.
        for (const [scope, ledger] of changedLedgers(normaliseScopes(scopeKeys), l, c.next)) {
          pure.push([scope, structuredClone(ledger)]);
        }
      }
      return c;
    });
    for (const [scope, ledger] of pure) {
      this.compared.push({ pure: ledger, stored: await this.inner.get(scope) });
    }
    return r;
  }
  get(scope: string) {
    return this.inner.get(scope);
  }
  releaseReservation(op: string, filled: Decimalish, scope?: string) {
    return this.inner.releaseReservation(op, filled, scope);
  }
  recordFill(op: string, qty: Decimalish, scope?: string) {
    return this.inner.recordFill(op, qty, scope);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

describe('the ledger change', () => {
  it('is given as ops that the embedded store applies in place, equal to the pure next', async () => {
    const ledger = new ParityLedger(LocalRiskLedgerStore.memory());
    const h = await makeHarness({ deps: { ledger } });
    // A platform position the ledger has never seen: the first order seeds it (a set_position op).
    await h.positions.put(
      {
        account_id: 'BINANCE-SPOT',
        instrument_key: BTC,
        quantity: '0.3',
        avg_entry_price: '59000',
        cost_basis: '17700',
        realized_pnl: '0',
        fees: '0',
        venues: { 'BINANCE-SPOT': '0.3' },
        last_fill_id: 'f-0',
        version: 1,
        ts_updated: T0,
      },
      0,
    );
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      h.clock.advance(250n * NANOS_PER_MILLI);
      const extra =
        i % 3 === 1
          ? { side: 'SELL' }
          : i % 3 === 2
            ? { instrument_key: ETH, quantity: '1' }
            : { quantity: '0.2' };
      outcomes.push(
        (await h.service.submit(marketOrder(`OP-P${i}`, { strategy_id: `s${i % 2}`, ...extra }), PUBSUB))
          .kind,
      );
    }
    await h.service.cancel({ operation_id: 'OP-P0' }, HTTP);
    expect(outcomes).toContain('routed');
    expect(outcomes).toContain('denied'); // the position limit (1 BTC, the seeded 0.3 included)
    expect(ledger.opsUpdates).toBe(outcomes.filter((o) => o === 'routed').length);
    expect(ledger.compared).toHaveLength(ledger.opsUpdates);
    for (const { pure, stored } of ledger.compared) expect(stored).toEqual(pure);
    const final = await ledger.get(DEFAULT_LEDGER_SCOPE);
    expect(final.instruments[BTC]?.position).toBe('0.3');
    expect(Object.keys(final.open)).not.toContain('OP-P0');
  });

  it('treats ids named like Object.prototype members as plain keys', async () => {
    const h = await makeHarness();
    for (const [op, strategy] of [
      ['constructor', 'toString'],
      ['__proto__', '__proto__'],
      ['hasOwnProperty', 'constructor'],
    ] as const) {
      const out = await h.service.submit(marketOrder(op, { strategy_id: strategy }), PUBSUB);
      expect(out.kind).toBe('routed');
    }
    const l = await h.ledger.get(DEFAULT_LEDGER_SCOPE);
    expect(Object.keys(l.open).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty']);
    expect(Object.keys(l.strategies).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(l.instruments[BTC]?.working_buy).toBe('0.3');
    expect((await h.service.cancel({ operation_id: 'constructor' }, HTTP)).kind).toBe('canceled');
    expect(Object.keys((await h.ledger.get(DEFAULT_LEDGER_SCOPE)).open).sort()).toEqual([
      '__proto__',
      'hasOwnProperty',
    ]);
  });
});

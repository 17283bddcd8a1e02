import { beforeEach, describe, expect, it } from 'vitest';
import {
  cashPoolName,
  createShadowVenue,
  type ShadowVenue,
  type ShadowVenueOptions,
} from '../../../infra/shadow/index.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { VenueError, type VenueEvent, type VenueOrderRequest } from '../../../shared/ports/venue.ts';
import { FakeDataVenue } from './fake-data-venue.ts';

const T0 = 1_751_371_200_000_000_000n;
const MS = 1_000_000n;
const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const PERP = 'BINANCE-SPOT:PERPETUAL:BTC-USDT@LIN';

const SPEC: InstrumentSpec = {
  instrument_key: BTC,
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
};

function req(id: string, over: Partial<VenueOrderRequest> = {}): VenueOrderRequest {
  return {
    client_order_id: id,
    instrument_key: BTC,
    side: 'BUY',
    order_type: 'MARKET',
    quantity: '0.5',
    price: null,
    time_in_force: 'GTC',
    ...over,
  };
}

describe('the SHADOW venue', () => {
  let data: FakeDataVenue;
  let clock: TestClock;
  let shadow: ShadowVenue;
  let events: VenueEvent[];

  const make = (over: Partial<ShadowVenueOptions> = {}) =>
    createShadowVenue({
      id: 'BINANCE-SPOT',
      account_id: 'shadow-1',
      data,
      instruments: [SPEC],
      clock,
      seed: 7,
      ...over,
    });

  const own = () => events.filter((e) => e.kind === 'order' || e.kind === 'trade');

  beforeEach(async () => {
    data = new FakeDataVenue('BINANCE-SPOT');
    clock = new TestClock(T0);
    events = [];
    data.book(
      BTC,
      [
        ['59990', '1'],
        ['59980', '2'],
      ],
      [
        ['60000', '0.1'],
        ['60010', '1'],
      ],
      T0,
    );
    shadow = make();
    await shadow.connect();
    await shadow.watch([BTC], (e) => events.push(e));
  });

  it('starts with 100,000 of cash, named as the instruments quote it (USD → USDT)', async () => {
    expect(shadow.mode).toBe('SHADOW');
    expect(await shadow.fetchBalances()).toEqual([{ asset: 'USDT', free: '100000', total: '100000' }]);
    expect(cashPoolName('USD', [BTC, 'BINANCE-SPOT:SPOT_PAIR:ETH-USDC'])).toBe('USD');
    expect(cashPoolName('EUR', [BTC])).toBe('EUR');
    expect(cashPoolName('USD', ['X:SPOT_PAIR:BTC-EUR'])).toBe('USD');
    const eur = make({ cashCurrency: 'EUR', startingCash: '5000', startingBalances: { BTC: '1' } });
    expect(await eur.fetchBalances()).toEqual([
      { asset: 'BTC', free: '1', total: '1' },
      { asset: 'EUR', free: '5000', total: '5000' },
    ]);
  });

  it('a market buy walks the live book: fills, trades, events and balances agree', async () => {
    clock.advance(10n * MS);
    const st = await shadow.submit(req('c-1'));
    expect(st).toMatchObject({
      client_order_id: 'c-1',
      venue_order_id: 'BINANCE-SPOT-S1',
      status: 'FILLED',
      filled_quantity: '0.5',
      avg_price: '60008',
    });
    const trades = await shadow.fetchTrades(BTC, T0);
    expect(trades.map((t) => [t.trade_id, t.quantity, t.price, t.fee, t.liquidity])).toEqual([
      ['1', '0.1', '60000', '6', 'TAKER'],
      ['2', '0.4', '60010', '24.004', 'TAKER'],
    ]);
    expect(
      own().map((e) => (e.kind === 'order' ? `order:${e.order.status}` : `trade:${e.trade.trade_id}`)),
    ).toEqual(['order:NEW', 'trade:1', 'order:PARTIALLY_FILLED', 'trade:2', 'order:FILLED']);
    // 100,000 − (6,000 + 24,004) − (6 + 24.004)
    expect(await shadow.fetchBalances()).toEqual([
      { asset: 'BTC', free: '0.5', total: '0.5' },
      { asset: 'USDT', free: '69965.996', total: '69965.996' },
    ]);
    expect(await shadow.fetchOpenOrders()).toEqual([]);
    expect(await shadow.fetchOrder('c-1', BTC)).toEqual(st);
    expect(shadow.midAtArrival('c-1')).toBe('59995');
    // The same client order id again is the same order (idempotent).
    expect(await shadow.submit(req('c-1'))).toEqual(st);
    expect(await shadow.fetchTrades(BTC, T0)).toHaveLength(2);
  });

  it("takes an order at the edge's send time (what the edge recorded), not at a later read of the clock", async () => {
    clock.set(T0 + 10n * MS); // the clock has moved on since the edge read it
    const st = await shadow.submit(req('c-7', { quantity: '0.1' }), T0 + 7n * MS);
    expect(st).toMatchObject({ status: 'FILLED', avg_price: '60000' });
    expect(await shadow.fetchTrades(BTC, T0)).toMatchObject([{ quantity: '0.1', ts_event: T0 + 7n * MS }]);
    // Without a send time it is the clock's.
    await shadow.submit(req('c-8', { quantity: '0.1' }));
    expect((await shadow.fetchTrades(BTC, T0)).map((t) => t.ts_event)).toEqual([T0 + 7n * MS, T0 + 10n * MS]);
  });

  it("takes a cancel at the edge's send time", async () => {
    await shadow.submit(req('c-10', { order_type: 'LIMIT', price: '59000', quantity: '0.1' }));
    clock.set(T0 + 30n * MS);
    const st = await shadow.cancel('c-10', BTC, T0 + 25n * MS);
    expect(st).toMatchObject({ status: 'CANCELED', ts_event: T0 + 25n * MS });
  });

  it('reports market data stamped with its receive time, the clock its matching runs on', async () => {
    expect(
      events.filter((e) => e.kind === 'book').map((e) => (e.kind === 'book' ? e.ts_init : null)),
    ).toEqual([T0]);
    clock.set(T0 + 40n * MS);
    data.book(BTC, [['59995', '1']], [['60005', '1']], T0 + 30n * MS);
    const book = events.filter((e) => e.kind === 'book').at(-1);
    expect(book).toMatchObject({ ts_init: T0 + 40n * MS, book: { ts_event: T0 + 30n * MS } });
    await shadow.submit(req('c-9', { quantity: '0.1' }));
    expect(await shadow.fetchTrades(BTC, T0)).toMatchObject([{ price: '60005', ts_event: T0 + 40n * MS }]);
  });

  it('a limit order rests, holds its cash, and fills when the market trades through it', async () => {
    const st = await shadow.submit(req('c-2', { order_type: 'LIMIT', price: '59950', quantity: '1' }));
    expect(st.status).toBe('NEW');
    expect(await shadow.fetchOpenOrders(BTC)).toMatchObject([{ client_order_id: 'c-2', status: 'NEW' }]);
    expect(await shadow.fetchBalances()).toEqual([{ asset: 'USDT', free: '40050', total: '100000' }]);

    // A print AT the price does not fill (conservative); through it does, as maker at our price, at
    // the time the print reached us (matching runs on the receive clock, not the venue's ts_event).
    clock.set(T0 + 100n * MS);
    data.trade(BTC, '59950', '0.3', 'SELL', T0 + 100n * MS);
    expect(await shadow.fetchTrades(BTC, T0)).toEqual([]);
    clock.set(T0 + 203n * MS);
    data.trade(BTC, '59940', '0.3', 'SELL', T0 + 200n * MS);
    expect(await shadow.fetchTrades(BTC, T0)).toMatchObject([
      { quantity: '0.3', price: '59950', liquidity: 'MAKER', ts_event: T0 + 203n * MS },
    ]);
    expect(events.filter((e) => e.kind === 'public_trade').map((e) => e.ts_init)).toEqual([
      T0 + 100n * MS,
      T0 + 203n * MS,
    ]);
    expect(await shadow.fetchOpenOrders()).toMatchObject([
      { status: 'PARTIALLY_FILLED', filled_quantity: '0.3' },
    ]);

    // The book moves through the rest: the remainder fills at our limit.
    data.book(BTC, [['59900', '1']], [['59930', '5']], T0 + 300n * MS);
    expect(await shadow.fetchOrder('c-2', BTC)).toMatchObject({
      status: 'FILLED',
      filled_quantity: '1',
      avg_price: '59950',
    });
    expect(await shadow.fetchOpenOrders()).toEqual([]);
    const balances = await shadow.fetchBalances();
    expect(balances).toEqual([
      { asset: 'BTC', free: '1', total: '1' },
      { asset: 'USDT', free: '39990.05', total: '39990.05' },
    ]);
    // Market data is forwarded under the venue's keys.
    expect(events.filter((e) => e.kind === 'public_trade')).toHaveLength(2);
    expect(events.filter((e) => e.kind === 'book').at(-1)).toMatchObject({ book: { instrument_key: BTC } });
  });

  it('refuses what a venue refuses: unknown instruments, bad precision, missing funds', async () => {
    const refused = async (r: VenueOrderRequest) => {
      try {
        await shadow.submit(r);
      } catch (err) {
        if (err instanceof VenueError) return `${err.kind}: ${err.message}`;
        throw err;
      }
      return 'accepted';
    };
    expect(await refused(req('x1', { instrument_key: 'BINANCE-SPOT:SPOT_PAIR:DOGE-USDT' }))).toMatch(
      /^rejected: .*UNKNOWN_INSTRUMENT/,
    );
    expect(await refused(req('x2', { quantity: '0.123456' }))).toMatch(
      /^rejected: .*INVALID_ORDER: quantity/,
    );
    expect(await refused(req('x3', { order_type: 'LIMIT', price: '60000.001' }))).toMatch(
      /INVALID_ORDER: price/,
    );
    expect(await refused(req('x4', { quantity: '2' }))).toMatch(/INSUFFICIENT_BALANCE: buying 2 BTC/);
    expect(await refused(req('x5', { side: 'SELL', quantity: '0.1' }))).toMatch(
      /INSUFFICIENT_BALANCE: selling 0.1 BTC with 0 free/,
    );
    expect(await shadow.fetchOpenOrders()).toEqual([]);
    expect(own()).toEqual([]);
  });

  it('cancels a resting order; an unknown order is not_found; a finished one answers its state', async () => {
    await shadow.submit(req('c-3', { order_type: 'LIMIT', price: '59000', quantity: '0.1' }));
    const canceled = await shadow.cancel('c-3', BTC);
    expect(canceled).toMatchObject({ status: 'CANCELED', reason: 'USER_CANCEL: canceled on request' });
    expect(own().at(-1)).toMatchObject({ kind: 'order', order: { status: 'CANCELED' } });
    expect(await shadow.fetchBalances()).toEqual([{ asset: 'USDT', free: '100000', total: '100000' }]);
    await expect(shadow.cancel('nope', BTC)).rejects.toMatchObject({ kind: 'not_found' });
    await shadow.submit(req('c-4', { quantity: '0.01' }));
    expect(await shadow.cancel('c-4', BTC)).toMatchObject({ status: 'FILLED' });
  });

  it('is deterministic: the same data stream and seed give the same events and balances', async () => {
    const runOnce = async () => {
      const d = new FakeDataVenue('BINANCE-SPOT');
      const c = new TestClock(T0);
      const out: VenueEvent[] = [];
      d.book(
        BTC,
        [['59990', '1']],
        [
          ['60000', '0.2'],
          ['60005', '3'],
        ],
        T0,
      );
      const s = createShadowVenue({
        id: 'BINANCE-SPOT',
        account_id: 'a',
        data: d,
        instruments: [SPEC],
        clock: c,
        seed: 3,
        fillModel: { kind: 'probabilistic', probFillAtTouch: 0.5 },
      });
      await s.connect();
      await s.watch([BTC], (e) => out.push(e));
      await s.submit(req('a', { order_type: 'LIMIT', price: '59990', quantity: '0.3' }));
      await s.submit(req('b', { quantity: '0.25' }));
      for (let i = 1; i <= 20; i++) d.trade(BTC, '59990', '0.02', 'SELL', T0 + BigInt(i) * MS);
      return { out, balances: await s.fetchBalances() };
    };
    const a = await runOnce();
    const b = await runOnce();
    expect(a).toEqual(b);
    expect(a.out.filter((e) => e.kind === 'trade').length).toBeGreaterThan(2);
  });

  it('takes market data from a session under another venue id and ignores its private events', async () => {
    const live = new FakeDataVenue('BINANCE-SPOT');
    live.book(BTC, [['100', '1']], [['101', '1']], T0);
    const s = make({ id: 'BINANCE-PAPER', data: live });
    const seen: VenueEvent[] = [];
    await s.connect();
    await s.watch(['BINANCE-PAPER:SPOT_PAIR:BTC-USDT'], (e) => seen.push(e));
    expect(live.watched).toEqual([BTC]);
    live.push({
      kind: 'trade',
      trade: {
        trade_id: 'real-1',
        venue_order_id: 'R',
        client_order_id: 'r',
        instrument_key: BTC,
        side: 'BUY',
        quantity: '1',
        price: '101',
        fee: '0',
        fee_currency: 'USDT',
        liquidity: 'TAKER',
        ts_event: T0,
      },
    });
    live.push({ kind: 'connection', state: 'down', stream: 'private', ts_event: T0 });
    live.trade(BTC, '100.5', '1', 'BUY', T0 + MS);
    // The first snapshot (read when watching starts) is market data like the stream's.
    expect(seen.map((e) => e.kind)).toEqual(['connection', 'book', 'public_trade']);
    expect(seen[1]).toMatchObject({ book: { instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT' } });
    expect(seen[2]).toMatchObject({ instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT' });
    const st = await s.submit(
      req('p-1', { instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT', quantity: '0.1' }),
    );
    expect(st).toMatchObject({
      status: 'FILLED',
      avg_price: '101',
      instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT',
    });
    expect(
      await s.fetchInstrumentRules(['BINANCE-PAPER:SPOT_PAIR:BTC-USDT', 'BINANCE-PAPER:SPOT_PAIR:ETH-USDT']),
    ).toEqual([
      {
        instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT',
        tick_size: '0.01',
        step_size: '0.00001',
        min_qty: '0.00001',
        max_qty: '9000',
        min_notional: '5',
      },
    ]);
    expect(await s.fetchBook('BINANCE-PAPER:SPOT_PAIR:BTC-USDT', 5)).toMatchObject({
      instrument_key: 'BINANCE-PAPER:SPOT_PAIR:BTC-USDT',
      asks: [{ price: '101', size: '1' }],
    });
    await s.close();
    expect(live.closed).toBe(true);
    expect(s.health().state).toBe('down');
  });

  it('derivatives: positions net, realised PnL and fees move the settlement cash', async () => {
    const perp: InstrumentSpec = { ...SPEC, instrument_key: PERP, maker_fee: '0', taker_fee: '0' };
    data.book(PERP, [['59990', '5']], [['60000', '5']], T0);
    const s = make({ instruments: [perp] });
    await s.connect();
    await s.watch([PERP], () => undefined);
    await s.submit(req('d-1', { instrument_key: PERP, quantity: '2' }));
    expect(await s.fetchPositions()).toEqual([{ instrument_key: PERP, quantity: '2', entry_price: '60000' }]);
    data.book(PERP, [['61000', '5']], [['61010', '5']], T0 + MS);
    await s.submit(req('d-2', { instrument_key: PERP, quantity: '1', side: 'SELL' }));
    expect(await s.fetchPositions()).toEqual([{ instrument_key: PERP, quantity: '1', entry_price: '60000' }]);
    expect(await s.fetchBalances()).toEqual([{ asset: 'USDT', free: '101000', total: '101000' }]);
  });

  it('continues the synthetic account after a restart from the fills recorded before it', async () => {
    await shadow.submit(req('r-1', { quantity: '0.1' }));
    const before = await shadow.fetchBalances();
    const recorded = (await shadow.fetchTrades(BTC, 0n)).map((t) => ({
      fill_id: `r-1-T${t.trade_id}`,
      order_id: 'r-1',
      operation_id: 'OP-R',
      instrument_key: 'SIM:SPOT_PAIR:BTC-USDT', // our order's key (routed here): mapped to this venue
      venue: 'BINANCE-SPOT',
      side: t.side,
      quantity: t.quantity,
      price: t.price,
      fee: t.fee,
      fee_currency: t.fee_currency,
      liquidity: t.liquidity,
      ts_event: t.ts_event,
    }));
    const restarted = make();
    restarted.restoreAccount([...recorded, ...recorded]);
    expect(await restarted.fetchBalances()).toEqual(before);
    expect(await restarted.fetchTrades(BTC, 0n)).toEqual([]);
  });

  it('with latency, an order reaches the matching only when time has passed', async () => {
    const s = make({ latency: { insert_ms: 100 }, tickMs: 0 });
    await s.connect();
    const seen: VenueEvent[] = [];
    await s.watch([BTC], (e) => seen.push(e));
    expect((await s.submit(req('l-1', { quantity: '0.05' }))).status).toBe('NEW');
    expect(await s.fetchTrades(BTC, T0)).toEqual([]);
    clock.advance(50n * MS);
    s.advance();
    expect((await s.fetchOrder('l-1', BTC))?.status).toBe('NEW');
    clock.advance(50n * MS);
    s.advance();
    expect(await s.fetchOrder('l-1', BTC)).toMatchObject({ status: 'FILLED', avg_price: '60000' });
    expect(seen.filter((e) => e.kind === 'trade')).toMatchObject([{ trade: { ts_event: T0 + 100n * MS } }]);
  });
});

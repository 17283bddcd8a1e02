import { describe, expect, it } from 'vitest';
import { FillJoiner } from '../../../infra/ib/fills.ts';
import {
  decimalOf,
  errorKindOf,
  executionFilterTime,
  IB_UNSET_DOUBLE,
  IbOrderRefused,
  ibOrderOf,
  liquidityOf,
  orderStatusOf,
  parseIbTime,
  sideOfExecution,
  stateOf,
  wallTimeToUtcMs,
  withOrderStatus,
  zonedWallTime,
} from '../../../infra/ib/mapping.ts';
import { parseTradingHours } from '../../../infra/ib/trading-hours.ts';
import { millisToNanos } from '../../../shared/domain/time.ts';
import { gateAt, sessionAt } from '../../../shared/execution/session.ts';
import type { VenueInstrumentRules, VenueOrderRequest } from '../../../shared/ports/venue.ts';

const SPY = 'IBKR:STOCK:SPY-USD@ARCA';
const RULES: VenueInstrumentRules = {
  instrument_key: SPY,
  tick_size: '0.01',
  step_size: '1',
  min_qty: '1',
  max_qty: null,
  min_notional: null,
  contract_size: '1',
};
const req = (over: Partial<VenueOrderRequest> = {}): VenueOrderRequest => ({
  client_order_id: 'c-1',
  instrument_key: SPY,
  side: 'BUY',
  order_type: 'LIMIT',
  quantity: '10',
  price: '501.25',
  time_in_force: 'GTC',
  ...over,
});

describe('IB order fields', () => {
  it('a LIMIT order carries our client id in orderRef, the account, and exact numbers', () => {
    expect(ibOrderOf(req(), RULES, 'DU1')).toEqual({
      action: 'BUY',
      orderType: 'LMT',
      totalQuantity: 10,
      lmtPrice: 501.25,
      tif: 'GTC',
      orderRef: 'c-1',
      account: 'DU1',
      transmit: true,
      outsideRth: false,
    });
  });

  it('a MARKET IOC sell has no price', () => {
    const o = ibOrderOf(
      req({ order_type: 'MARKET', price: null, side: 'SELL', time_in_force: 'IOC' }),
      RULES,
      '',
    );
    expect(o).toMatchObject({ action: 'SELL', orderType: 'MKT', tif: 'IOC' });
    expect(o).not.toHaveProperty('lmtPrice');
    expect(o).not.toHaveProperty('account');
  });

  it.each([
    [{ quantity: '1.5' }, 'quantity', 'size increment 1'],
    [{ quantity: '0' }, 'quantity', 'greater than 0'],
    [{ price: '501.255' }, 'price', 'minimum tick 0.01'],
    [{ price: null }, 'price', 'needs a price'],
    [{ time_in_force: 'GTX' as const }, 'time_in_force', 'post-only'],
  ])('refuses %j naming %s', (over, field, text) => {
    let err: unknown;
    try {
      ibOrderOf(req(over), RULES, 'DU1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IbOrderRefused);
    expect((err as IbOrderRefused).field).toBe(field);
    expect((err as IbOrderRefused).message).toContain(text);
  });
});

describe('IB statuses, sides, liquidity, numbers', () => {
  it.each([
    ['PreSubmitted', '0', 'NEW'],
    ['Submitted', '0', 'NEW'],
    ['Submitted', '4', 'PARTIALLY_FILLED'],
    ['Submitted', '10', 'FILLED'],
    ['Filled', '10', 'FILLED'],
    ['Cancelled', '0', 'CANCELED'],
    ['Cancelled', '3', 'CANCELED'],
    ['ApiCancelled', '0', 'CANCELED'],
    ['Inactive', '0', 'REJECTED'],
  ])('%s with %s filled of 10 → %s', (status, filled, want) => {
    expect(orderStatusOf(status, filled, '10')).toBe(want);
  });

  it('a stale orderStatus never moves a final order back or its fill down', () => {
    const base = {
      orderId: 7,
      client_order_id: 'c',
      instrument_key: SPY,
      side: 'BUY' as const,
      quantity: '10',
      ibStatus: null,
      filled: '0',
      avg_price: null,
      ts_event: 1n,
    };
    const part = withOrderStatus(base, 'Submitted', 6, 500.5, 2n);
    expect(stateOf(part)).toMatchObject({
      status: 'PARTIALLY_FILLED',
      filled_quantity: '6',
      avg_price: '500.5',
    });
    const full = withOrderStatus(part, 'Filled', 10, 500.6, 3n);
    expect(stateOf(withOrderStatus(full, 'Submitted', 6, 500.5, 4n))).toMatchObject({
      status: 'FILLED',
      filled_quantity: '10',
      venue_order_id: '7',
    });
  });

  it('sides, liquidity and IB unset doubles', () => {
    expect(sideOfExecution('BOT')).toBe('BUY');
    expect(sideOfExecution('SLD')).toBe('SELL');
    expect(() => sideOfExecution('X')).toThrow(/BOT nor SLD/);
    expect(liquidityOf(1)).toBe('MAKER');
    expect(liquidityOf(2)).toBe('TAKER');
    expect(liquidityOf({ value: 1 })).toBe('MAKER');
    expect(decimalOf(IB_UNSET_DOUBLE)).toBeNull();
    expect(decimalOf(0.1)).toBe('0.1');
    expect(decimalOf('1.50')).toBe('1.5');
  });

  it('error codes map to port kinds', () => {
    expect(errorKindOf(100)).toBe('rate_limited');
    expect(errorKindOf(10147)).toBe('not_found');
    expect(errorKindOf(504)).toBe('transient');
    expect(errorKindOf(201)).toBe('rejected');
  });
});

describe('IB times', () => {
  it('execution times: with a zone (DST-correct), dashed UTC, epoch seconds', () => {
    // 2026-07-01 09:30 New York = 13:30 UTC (EDT); 2026-12-07 09:30 = 14:30 UTC (EST)
    expect(parseIbTime('20260701 09:30:00 US/Eastern')).toBe(
      BigInt(Date.UTC(2026, 6, 1, 13, 30)) * 1_000_000n,
    );
    expect(parseIbTime('20261207 09:30:00 America/New_York')).toBe(
      BigInt(Date.UTC(2026, 11, 7, 14, 30)) * 1_000_000n,
    );
    expect(parseIbTime('20261207-14:30:05')).toBe(BigInt(Date.UTC(2026, 11, 7, 14, 30, 5)) * 1_000_000n);
    expect(parseIbTime('20261207  14:30:05')).toBe(BigInt(Date.UTC(2026, 11, 7, 14, 30, 5)) * 1_000_000n);
    expect(parseIbTime('1796653805')).toBe(1_796_653_805_000_000_000n);
    expect(() => parseIbTime('yesterday')).toThrow(/yyyyMMdd/);
    expect(() => parseIbTime('20261207 09:30:00 Mars/Olympus')).toThrow(/unknown time zone/);
  });

  it('wall-clock time in a zone and back (the one helper the adapter and the local TWS share)', () => {
    // 2026-03-08 02:00 New York does not exist (EST → EDT): 06:59 UTC is 01:59 EST, 07:00 UTC is 03:00 EDT.
    expect(zonedWallTime('US/Eastern', Date.UTC(2026, 2, 8, 6, 59))).toMatchObject({
      day: 8,
      hour: 1,
      minute: 59,
    });
    expect(zonedWallTime('US/Eastern', Date.UTC(2026, 2, 8, 7, 0))).toMatchObject({
      day: 8,
      hour: 3,
      minute: 0,
    });
    // Monday 2026-12-07 00:30 UTC is Sunday 18:30 in Chicago (IB's CST alias).
    expect(zonedWallTime('CST', Date.UTC(2026, 11, 7, 0, 30))).toEqual({
      year: 2026,
      month: 12,
      day: 6,
      hour: 18,
      minute: 30,
      second: 0,
      weekday: 0,
    });
    for (const ms of [Date.UTC(2026, 0, 15, 12, 34, 56), Date.UTC(2026, 6, 15, 3, 4, 5)]) {
      const w = zonedWallTime('Europe/Berlin', ms);
      expect(wallTimeToUtcMs(w.year, w.month, w.day, w.hour, w.minute, w.second, 'Europe/Berlin')).toBe(ms);
    }
    expect(() => zonedWallTime('Mars/Olympus', 0)).toThrow(/unknown time zone/);
  });

  it('execution filter time is UTC yyyyMMdd-HH:mm:ss', () => {
    expect(executionFilterTime(Date.UTC(2026, 11, 7, 4, 5, 6))).toBe('20261207-04:05:06');
  });
});

describe('trading hours', () => {
  // December: EST = UTC-5. Nanoseconds, the shared schedule's unit.
  const ny = (d: number, h: number, m = 0) => millisToNanos(Date.UTC(2026, 11, d, h + 5, m));
  const utc = (d: number, h: number, m = 0) => millisToNanos(Date.UTC(2026, 11, d, h, m));

  it('current form: open inside the session, closed outside with the next open named', () => {
    const s = parseTradingHours(
      '20261207:0930-20261207:1600;20261208:0930-20261208:1600;20261212:CLOSED',
      'US/Eastern',
    );
    expect(s.sessions).toEqual([
      { start: ny(7, 9, 30), end: ny(7, 16) },
      { start: ny(8, 9, 30), end: ny(8, 16) },
    ]);
    expect(s.horizon).toBe(ny(13, 0)); // the end of the last listed day (Dec 12, New York)
    expect(sessionAt(s, ny(7, 10))).toEqual({ open: true, closes_at: ny(7, 16) });
    expect(sessionAt(s, ny(7, 17))).toEqual({ open: false, next_open: ny(8, 9, 30) });
    const refused = gateAt({ schedule: s, policy: 'refuse' }, ny(7, 17));
    expect(refused).toEqual({
      kind: 'refuse',
      reason: 'outside trading hours (next session opens 2026-12-08T14:30:00.000000000Z)',
    });
    expect(sessionAt(s, ny(7, 16))).toMatchObject({ open: false });
    expect(sessionAt(s, utc(14, 0))).toEqual({ open: null, horizon: ny(13, 0) });
  });

  it('older form with a lunch break, and overnight futures sessions', () => {
    const s = parseTradingHours('20261207:0930-1200,1300-1600', 'EST5EDT');
    expect(sessionAt(s, ny(7, 12, 30)).open).toBe(false);
    expect(sessionAt(s, ny(7, 13, 30)).open).toBe(true);
    const es = parseTradingHours('20261206:1700-20261207:1600;20261207:1700-20261208:1600', 'US/Central');
    expect(sessionAt(es, utc(7, 3)).open).toBe(true); // 21:00 Chicago Sunday
    expect(sessionAt(es, utc(7, 22, 30)).open).toBe(false); // 16:30 Chicago
  });

  it('unreadable hours name the part', () => {
    expect(() => parseTradingHours('20261207:0930', 'UTC')).toThrow(/from-to/);
    expect(() => parseTradingHours('monday:0930-1600', 'UTC')).toThrow(/yyyyMMdd/);
    expect(() => parseTradingHours('', 'UTC')).toThrow(/no day/);
  });
});

describe('fills from execDetails + commissionReport', () => {
  const exec = (id: string) => ({
    exec_id: id,
    order_id: 5,
    order_ref: 'c-1',
    instrument_key: SPY,
    side: 'BUY' as const,
    quantity: '10',
    price: '501.25',
    liquidity: 'TAKER' as const,
    ts_event: 9n,
  });
  const fee = (id: string) => ({ exec_id: id, fee: '1.0', fee_currency: 'USD' });

  it('either order, repeated: one trade per execId', () => {
    const j = new FillJoiner();
    const out = [
      j.execution(exec('e1')),
      j.execution(exec('e1')),
      j.commission(fee('e1')),
      j.commission(fee('e1')),
      j.commission(fee('e2')),
      j.execution(exec('e2')),
      j.execution(exec('e2')),
    ].filter((t) => t !== null);
    expect(out.map((t) => t.trade_id)).toEqual(['e1', 'e2']);
    expect(out[0]).toEqual({
      trade_id: 'e1',
      venue_order_id: '5',
      client_order_id: 'c-1',
      instrument_key: SPY,
      side: 'BUY',
      quantity: '10',
      price: '501.25',
      fee: '1.0',
      fee_currency: 'USD',
      liquidity: 'TAKER',
      ts_event: 9n,
    });
    expect(j.completed('e2')?.trade_id).toBe('e2');
    expect(j.waiting()).toEqual([]);
  });

  it('an order not ours has no client order id; memory stays bounded', () => {
    const j = new FillJoiner(2);
    j.commission(fee('a'));
    expect(j.execution({ ...exec('a'), order_ref: '' })?.client_order_id).toBeNull();
    j.commission(fee('b'));
    j.execution(exec('b'));
    j.commission(fee('c'));
    j.execution(exec('c'));
    expect(j.completed('a')).toBeUndefined();
    expect(j.completed('c')).toBeDefined();
  });
});

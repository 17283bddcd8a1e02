import { describe, expect, it } from 'vitest';
import { recordsVenue } from '../../../infra/recording/edge-recordings.ts';
import { parseConfig } from '../../../shared/config/schema.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import type { VenueEvent } from '../../../shared/ports/venue.ts';
import {
  type JournalInput,
  JournalRecordSchema,
  type MarketEvent,
} from '../../../shared/recording/format.ts';
import {
  childSubmittedEntry,
  parentRoutedEntry,
  recordVenueEvent,
  sessionGateOf,
  tradingScheduleEntry,
  tradingStateEntry,
} from '../../../shared/recording/tap.ts';
import { BTC, T0 } from './fixtures.ts';

/** The entry as the recorder stores it: bigints as digits, a seq, validated by the journal schema. */
function stored(entry: JournalInput) {
  return JournalRecordSchema.parse(
    JSON.parse(JSON.stringify({ ...entry, seq: 1 }, (_k, v) => (typeof v === 'bigint' ? String(v) : v))),
  );
}

function sink() {
  const market: MarketEvent[] = [];
  const records: JournalInput[] = [];
  return {
    market,
    records,
    marketEvent: (e: MarketEvent) => market.push(e),
    record: (r: JournalInput) => records.push(r),
  };
}

describe('recordVenueEvent', () => {
  it('book snapshots and public trades are market events with ts_event and ts_init', () => {
    const s = sink();
    const book: VenueEvent = {
      kind: 'book',
      book: {
        instrument_key: BTC,
        bids: [{ price: '60000.1', size: '1.5' }],
        asks: [{ price: '60000.2', size: '2' }],
        ts_event: T0,
      },
    };
    recordVenueEvent(s, 'BINANCE-SPOT', book, T0 + 7n);
    recordVenueEvent(
      s,
      'BINANCE-SPOT',
      {
        kind: 'public_trade',
        instrument_key: BTC,
        price: '60000.15',
        size: '0.01',
        side: 'SELL',
        ts_event: T0 + 1n,
      },
      T0 + 9n,
    );
    expect(s.market).toEqual([
      {
        kind: 'book',
        instrument_key: BTC,
        ts_event: T0,
        ts_init: T0 + 7n,
        bids: [[60000.1, 1.5]],
        asks: [[60000.2, 2]],
      },
      {
        kind: 'trade',
        instrument_key: BTC,
        ts_event: T0 + 1n,
        ts_init: T0 + 9n,
        price: 60000.15,
        size: 0.01,
        side: 'SELL',
        trade_id: null,
      },
    ]);
    expect(s.records).toEqual([]);
  });

  it('order and trade reports become valid venue_report entries; connection events are not recorded', () => {
    const s = sink();
    recordVenueEvent(
      s,
      'BINANCE-SPOT',
      {
        kind: 'order',
        order: {
          client_order_id: 'c1',
          venue_order_id: '77',
          instrument_key: BTC,
          side: 'BUY',
          status: 'NEW',
          quantity: '0.1',
          filled_quantity: '0',
          avg_price: null,
          ts_event: T0,
        },
      },
      T0 + 1n,
    );
    recordVenueEvent(
      s,
      'BINANCE-SPOT',
      {
        kind: 'trade',
        trade: {
          trade_id: 't1',
          venue_order_id: '77',
          client_order_id: 'c1',
          instrument_key: BTC,
          side: 'BUY',
          quantity: '0.1',
          price: '60000',
          fee: '0.006',
          fee_currency: 'USDT',
          liquidity: 'TAKER',
          ts_event: T0 + 2n,
        },
      },
      T0 + 3n,
    );
    recordVenueEvent(
      s,
      'BINANCE-SPOT',
      { kind: 'connection', state: 'up', stream: 'private', ts_event: T0 },
      T0,
    );
    expect(s.records.map((r) => stored(r).type)).toEqual(['venue_report', 'venue_report']);
    expect(stored(s.records[1]!)).toMatchObject({
      report: { kind: 'trade', trade: { ts_event: String(T0 + 2n) } },
    });
  });
});

describe('journal entries of the edge', () => {
  it('a routed parent, a child sent and a trading-state change validate', () => {
    const order = {
      order_id: 'ord_1',
      operation_id: 'OP-1',
      strategy_id: 's1',
      instrument_key: BTC,
      side: 'BUY',
      order_type: 'LIMIT',
      time_in_force: 'GTC',
      quantity: '0.3',
      price: '60000',
      exec_algorithm: 'TWAP',
    } as OrderRecord;
    const p = stored(
      parentRoutedEntry(order, 'BINANCE-SPOT', BTC, { duration_sec: 60, n: 5n }, '60000.5', T0),
    );
    expect(p).toMatchObject({
      type: 'parent_routed',
      ts_init: String(T0),
      arrival_mid: '60000.5',
      parent: { order_id: 'ord_1', venue: 'BINANCE-SPOT', price: '60000', exec_algorithm_params: { n: '5' } },
    });
    const c = stored(
      childSubmittedEntry(
        'ord_1',
        'ord_1-S1',
        {
          client_order_id: 'ord_1-S1',
          instrument_key: BTC,
          side: 'BUY',
          order_type: 'LIMIT',
          quantity: '0.1',
          price: '60000',
          time_in_force: 'GTC',
        },
        null,
        T0 + 1n,
      ),
    );
    expect(c).toMatchObject({ type: 'child_submitted', order_id: 'ord_1-S1', mid_at_arrival: null });
    expect(stored(tradingStateEntry(null, 'HALTED', 'ops', T0))).toMatchObject({
      strategy_id: null,
      state: 'HALTED',
    });
  });
});

describe('recording configuration', () => {
  it('defaults: SHADOW recorded, LIVE not, the reference tolerances', () => {
    const cfg = parseConfig({}, { env: {}, cores: 2 });
    expect(cfg.recording).toEqual({
      shadow: true,
      live: false,
      flush_interval_ms: 1000,
      max_buffered_events: 50_000,
      parity: { pnl_pct: 0.05, implementation_shortfall_bps: 0.5, slippage_bps: 1 },
    });
    expect(recordsVenue(cfg, { mode: 'SHADOW' })).toBe(true);
    expect(recordsVenue(cfg, { mode: 'LIVE' })).toBe(false);
    expect(recordsVenue(cfg, { mode: 'SIMULATED' })).toBe(true); // a shadow of the synthetic market
    const live = parseConfig({ recording: { live: 'true', shadow: false } }, { env: {}, cores: 2 });
    expect(recordsVenue(live, { mode: 'LIVE' })).toBe(true);
    expect(recordsVenue(live, { mode: 'SHADOW' })).toBe(false);
    expect(recordsVenue(live, { mode: 'SIMULATED' })).toBe(false);
  });

  it('bad values are named by their path', () => {
    expect(() => parseConfig({ recording: { parity: { pnl_pct: -1 } } }, { env: {}, cores: 2 })).toThrow(
      /recording\.parity\.pnl_pct/,
    );
    expect(() => parseConfig({ recording: { flush_ms: 5 } }, { env: {}, cores: 2 })).toThrow(/recording/);
  });
});

describe('trading_schedule entries', () => {
  it('round-trip the session gate the edge used, nanoseconds as digits; null: always open', () => {
    const gate = {
      policy: 'queue' as const,
      schedule: { sessions: [{ start: T0 + 1n, end: T0 + 2n }], horizon: T0 + 3n },
    };
    const r = stored(tradingScheduleEntry('IBKR', 'IBKR:STOCK:SPY-USD@ARCA', gate, T0));
    expect(r).toMatchObject({
      type: 'trading_schedule',
      venue: 'IBKR',
      policy: 'queue',
      schedule: { horizon: String(T0 + 3n) },
    });
    if (r.type !== 'trading_schedule') throw new Error('not a trading_schedule record');
    expect(sessionGateOf(r)).toEqual(gate);
    const open = stored(tradingScheduleEntry('IBKR', 'k', { policy: 'refuse', schedule: null }, T0));
    if (open.type !== 'trading_schedule') throw new Error('not a trading_schedule record');
    expect(sessionGateOf(open)).toEqual({ policy: 'refuse', schedule: null });
    expect(() =>
      stored({ ...tradingScheduleEntry('IBKR', 'k', gate, T0), policy: 'later' } as never),
    ).toThrow();
  });
});

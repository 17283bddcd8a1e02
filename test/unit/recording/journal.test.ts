import { describe, expect, it } from 'vitest';
import { projectRecordedExecutions } from '../../../shared/recording/executions.ts';
import {
  JournalRecordSchema,
  journalPartKey,
  marketPartKey,
  parsePartKey,
  type SequencedMarketEvent,
  type SequencedRecord,
  sessionIdsOf,
} from '../../../shared/recording/format.ts';
import { MarkSampler, midOf, replaySteps } from '../../../shared/recording/timeline.ts';
import { BTC, SEC, T0 } from './fixtures.ts';

let seq = 0;
function rec(r: Record<string, unknown>, ts = T0): SequencedRecord {
  return { ...JournalRecordSchema.parse({ seq: seq++, ts_init: String(ts), ...r }), run: 1 };
}

const parentRouted = () =>
  rec({
    type: 'parent_routed',
    arrival_mid: '60000',
    parent: {
      order_id: 'P1',
      operation_id: 'OP-1',
      strategy_id: 's1',
      instrument_key: BTC,
      venue: 'BINANCE-SPOT',
      side: 'BUY',
      order_type: 'MARKET',
      quantity: '1',
      price: null,
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 20 },
    },
  });
const submitted = (i: number, ts: bigint) =>
  rec(
    {
      type: 'child_submitted',
      parent_order_id: 'P1',
      order_id: `P1-c${i}`,
      mid_at_arrival: '60000',
      request: {
        client_order_id: `cid-${i}`,
        instrument_key: BTC,
        side: 'BUY',
        order_type: 'MARKET',
        quantity: '0.5',
        price: null,
        time_in_force: 'GTC',
      },
    },
    ts,
  );
const order = (i: number, status: string, ts: bigint, filled = '0') =>
  rec(
    {
      type: 'venue_report',
      venue: 'BINANCE-SPOT',
      report: {
        kind: 'order',
        order: {
          client_order_id: `cid-${i}`,
          venue_order_id: `v${i}`,
          instrument_key: BTC,
          side: 'BUY',
          status,
          quantity: '0.5',
          filled_quantity: filled,
          avg_price: null,
          ts_event: String(ts),
        },
      },
    },
    ts,
  );
const trade = (i: number, id: string, qty: string, ts: bigint, clientId: string | null = `cid-${i}`) =>
  rec(
    {
      type: 'venue_report',
      venue: 'BINANCE-SPOT',
      report: {
        kind: 'trade',
        trade: {
          trade_id: id,
          venue_order_id: `v${i}`,
          client_order_id: clientId,
          instrument_key: BTC,
          side: 'BUY',
          quantity: qty,
          price: '60010.00',
          fee: '0.1',
          fee_currency: 'USDT',
          liquidity: 'TAKER',
          ts_event: String(ts),
        },
      },
    },
    ts + 1000n,
  );

describe('projectRecordedExecutions', () => {
  it('builds parents, children in send order, statuses and fills from venue reports', () => {
    seq = 0;
    const records = [
      parentRouted(),
      submitted(0, T0 + SEC),
      order(0, 'NEW', T0 + SEC + 1n),
      trade(0, 't1', '0.2', T0 + SEC + 2n),
      trade(0, 't1', '0.2', T0 + SEC + 2n), // redelivered: counted once
      trade(0, 't2', '0.3', T0 + SEC + 3n, null), // matched by venue order id
      order(0, 'FILLED', T0 + SEC + 4n, '0.5'),
      submitted(1, T0 + 10n * SEC),
      order(1, 'NEW', T0 + 10n * SEC + 1n),
      order(1, 'CANCELED', T0 + 10n * SEC + 2n),
      order(1, 'NEW', T0 + 10n * SEC + 3n), // late: a terminal child stays terminal
      trade(7, 'tx', '1', T0 + 11n * SEC), // an order the session did not send
    ];
    const [p] = projectRecordedExecutions(records);
    expect(p?.parent_order_id).toBe('P1');
    expect(p?.ts_routed).toBe(T0);
    expect(p?.children.map((c) => [c.order_id, c.status])).toEqual([
      ['P1-c0', 'FILLED'],
      ['P1-c1', 'CANCELED'],
    ]);
    const c0 = p!.children[0]!;
    expect(c0.ts_submitted).toBe(T0 + SEC);
    expect(c0.fills.map((f) => [f.fill_id, f.quantity, f.price, f.ts_event])).toEqual([
      ['t1', '0.2', '60010', T0 + SEC + 2n],
      ['t2', '0.3', '60010', T0 + SEC + 3n],
    ]);
  });
});

describe('keys', () => {
  it('part keys round-trip and other keys are not parts', () => {
    const j = journalPartKey('shadow-1', 2, 17);
    const m = marketPartKey('shadow-1', 2, 17);
    expect(j).toBe('recordings/shadow-1/journal/r0002-p000017.jsonl');
    expect(m).toBe('recordings/shadow-1/market/r0002-p000017.parquet');
    expect(parsePartKey('shadow-1', j)).toEqual({ kind: 'journal', run: 2, part: 17 });
    expect(parsePartKey('shadow-1', m)).toEqual({ kind: 'market', run: 2, part: 17 });
    expect(parsePartKey('shadow-1', 'recordings/shadow-1/journal/r0002-p000017.parquet')).toBeNull();
    expect(parsePartKey('shadow-2', j)).toBeNull();
    expect(() => journalPartKey('s', 0, 1)).toThrow(/run 0/);
    expect(sessionIdsOf(['recordings/b/manifest.json', 'recordings/a/manifest.json', j])).toEqual(['a', 'b']);
  });
});

describe('replaySteps and marks', () => {
  it('interleaves records and market events by run and seq', () => {
    seq = 0;
    const r0 = parentRouted(); // seq 0
    const ev = (s: number, run = 1): SequencedMarketEvent => ({
      kind: 'trade',
      instrument_key: BTC,
      ts_event: T0,
      ts_init: T0 + BigInt(s),
      price: 1,
      size: 1,
      side: 'BUY',
      trade_id: null,
      run,
      seq: s,
    });
    seq = 2;
    const r2 = submitted(0, T0 + 2n); // seq 2
    const r5 = { ...submitted(1, T0 + 5n), run: 2, seq: 0 };
    const steps = [...replaySteps([r0, r2, r5], [ev(1), ev(3), ev(4), ev(1, 2)])];
    expect(steps.map((s) => `${s.kind[0]}${s.run}.${s.seq}`)).toEqual([
      'r1.0',
      'm1.1',
      'r1.2',
      'm1.3',
      'm1.4',
      'r2.0',
      'm2.1',
    ]);
  });

  it('samples one mid per interval per instrument and keeps the last one', () => {
    const s = new MarkSampler(10n * SEC);
    const q = (t: bigint, bid: number): SequencedMarketEvent => ({
      kind: 'quote',
      instrument_key: BTC,
      ts_event: t,
      ts_init: t,
      bid_px: bid,
      bid_sz: 1,
      ask_px: bid + 2,
      ask_sz: 1,
      run: 1,
      seq: 0,
    });
    s.add(q(T0, 100));
    s.add(q(T0 + SEC, 102));
    s.add(q(T0 + 11n * SEC, 104));
    s.add(q(T0 + 12n * SEC, 106));
    expect(s.finish().map((m) => m.mid)).toEqual([101, 105, 107]);
    expect(
      midOf({ ...q(T0, 1), kind: 'book', bids: [[10, 1]], asks: [] } as unknown as SequencedMarketEvent),
    ).toBeNull();
  });
});

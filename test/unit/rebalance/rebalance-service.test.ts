/**
 * The live rebalance service over in-memory ports: holdings from the position book and the venue
 * states, the price fallback chain recorded, instructions published to orders.requests with
 * operation ids from the file, idempotent on the same bytes, invalid files recorded with no order.
 */
import { describe, expect, it } from 'vitest';
import { MemoryPortfolioStateStore } from '../../../infra/memory/portfolio-state.memory.ts';
import { MemoryRebalanceCompletionStore } from '../../../infra/rebalance/completion-store.memory.ts';
import type { DecimalString } from '../../../shared/domain/decimal.ts';
import type { InstrumentSpec, OrderRecord, Position } from '../../../shared/domain/types.ts';
import type { MarketQuote, QuoteKey, VenueState } from '../../../shared/ports/market-state.ts';
import { DEFAULT_REBALANCE, rebalanceOperationId } from '../../../shared/rebalance/instructions.ts';
import {
  actualStateKey,
  createRebalanceService,
  rebalanceRecordKey,
} from '../../../shared/rebalance/rebalance-service.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
const SOL = 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT';
const XRP = 'BINANCE-SPOT:SPOT_PAIR:XRP-USDT';

function spec(key: string, step = '0.0001'): InstrumentSpec {
  return {
    instrument_key: key,
    tick_size: '0.01',
    step_size: step,
    min_qty: step,
    max_qty: '1000000',
    min_notional: '5',
    maker_fee: '0.001',
    taker_fee: '0.001',
  };
}

function quote(key: string, bid: string | null, ask: string | null, mid: string | null): MarketQuote {
  return { venue: 'BINANCE-SPOT', instrument_key: key, bid, ask, mid, bids: [], asks: [], ts_event: 1n };
}

function setup(
  opts: {
    balances?: Record<string, DecimalString> | null;
    positions?: Position[];
    orders?: Map<string, OrderRecord>;
    portfolio?: MemoryPortfolioStateStore;
    completions?: MemoryRebalanceCompletionStore;
  } = {},
) {
  const published: Array<{ topic: string; data: unknown; attributes: Record<string, string> | undefined }> =
    [];
  const blobs = new Map<string, string>();
  const puts: string[] = [];
  const quotes = new Map<string, MarketQuote>([
    [BTC, quote(BTC, '49990', '50010', '50000')],
    [ETH, quote(ETH, null, null, '3000')],
  ]);
  const balances = opts.balances === undefined ? { USDT: '10000' } : opts.balances;
  const sleeps: number[] = [];
  let clock = 1_796_601_600_000_000_000n;
  const service = createRebalanceService({
    positions: { list: async () => opts.positions ?? [] },
    market: {
      getQuotes: async (keys: readonly QuoteKey[]) => keys.map((k) => quotes.get(k.instrument_key) ?? null),
      getVenueStates: async (venues: readonly string[]) =>
        Object.fromEntries(
          venues.map((v): [string, VenueState] => [
            v,
            {
              venue: v,
              status: 'UP',
              latency_ms: 1,
              recent_orders: 0,
              recent_rejections: 0,
              balances,
              ts_updated: 1n,
            },
          ]),
        ),
    },
    bus: {
      publish: async (topic, data, attributes) => {
        published.push({ topic, data: JSON.parse(new TextDecoder().decode(data as Uint8Array)), attributes });
        return String(published.length);
      },
    },
    blobs: {
      put: async (key, data) => {
        puts.push(key);
        blobs.set(key, typeof data === 'string' ? data : new TextDecoder().decode(data));
      },
      get: async (key) => new TextEncoder().encode(blobs.get(key) ?? ''),
      stat: async (key) => (blobs.has(key) ? { key, size: 1 } : null),
      list: async (prefix) =>
        [...blobs.keys()]
          .filter((k) => k.startsWith(prefix))
          .sort()
          .map((key) => ({ key, size: 1 })),
    },
    instrument: async (k) => (k === XRP ? undefined : spec(k)),
    dailyClose: async (k) => (k === SOL ? '100' : null),
    defaults: DEFAULT_REBALANCE,
    statePrefix: 'portfolio',
    now: () => {
      clock += 1_000_000_000n;
      return clock;
    },
    paceMs: 100,
    orders: { get: async (op) => opts.orders?.get(op) ?? null },
    portfolio: opts.portfolio,
    completions: opts.completions ?? new MemoryRebalanceCompletionStore(),
    flatNavSnapshots: 2,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { service, published, blobs, puts, sleeps };
}

const FILE = JSON.stringify({
  schema_version: 1,
  strategy_id: 'rb',
  as_of: '2026-12-07T00:00:00Z',
  weights: { [BTC]: '0.4', [ETH]: '0.3', [SOL]: '0.1', [XRP]: '0.1' },
  exec_algorithm: 'TWAP',
  exec_algorithm_params: { duration_sec: 60 },
});
const bytes = (s: string) => new TextEncoder().encode(s);

/** A weights file: half of the portfolio in BTC. */
const HALF_BTC = JSON.stringify({
  schema_version: 1,
  strategy_id: 'rb',
  as_of: '2026-12-07T00:00:00Z',
  weights: { [BTC]: '0.5' },
});

/** The BTC buy of a 0.5-weight rebalance from 10,000 USDT (0.098 BTC), filled at 50,010. */
const filled = (op: string): OrderRecord =>
  ({
    operation_id: op,
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.098',
    status: 'FILLED',
    filled_quantity: '0.098',
    avg_fill_price: '50010',
    fees: '4.90098',
    rejection_reason: null,
  }) as OrderRecord;

describe('rebalance service', () => {
  it('plans on the position book and venue cash, records the price source, publishes to orders.requests', async () => {
    const { service, published, blobs, sleeps } = setup({
      positions: [
        { account_id: 'A', instrument_key: ETH, quantity: '1', venues: {} } as unknown as Position,
        { account_id: 'B', instrument_key: ETH, quantity: '0.5', venues: {} } as unknown as Position,
      ],
    });
    const r = await service.onWeightsFile({ source: 'gs://b/weights/a.json#1', bytes: bytes(FILE) });
    expect(r.status).toBe('PUBLISHED');
    expect(r.holdings).toEqual({ cash: { USDT: '10000' }, positions: { [ETH]: '1.5' } });
    expect(r.prices.map((p) => [p.instrument_key, p.source, p.price])).toEqual([
      [BTC, 'live_mid', '50000'],
      [ETH, 'last_trade', '3000'],
      [SOL, 'daily_close', '100'],
      [XRP, null, null],
    ]);
    expect(r.prices[3]?.missing).toEqual(['live_mid', 'last_trade', 'daily_close']);
    // equity 10000 + 1.5 × 3000 = 14500, investable 14210
    expect(r.plan?.equity).toBe('14500');
    expect(r.plan?.skipped.map((s) => [s.instrument_key, s.reason])).toEqual([[XRP, 'UNKNOWN_INSTRUMENT']]);
    expect(published.map((p) => p.topic)).toEqual(['orders.requests', 'orders.requests', 'orders.requests']);
    // Paced one velocity slot apart: a sleep between consecutive publishes.
    expect(sleeps).toEqual([100, 100]);
    const first = published[0]?.data as Record<string, unknown>;
    expect(first).toMatchObject({
      // target 14210 × 0.3 / 3000 = 1.421, held 1.5: sells come first
      instrument_key: ETH,
      side: 'SELL',
      quantity: '0.079',
      order_type: 'MARKET',
      strategy_id: 'rb',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60 },
      operation_id: rebalanceOperationId(r.rebalance_id, ETH),
    });
    expect(published[0]?.attributes?.operation_id).toBe(first.operation_id);
    expect(blobs.has(rebalanceRecordKey('portfolio', 'rb', r.rebalance_id))).toBe(true);
  });

  it('the same bytes again (redelivery, re-save) publish nothing new', async () => {
    const { service, published } = setup();
    const a = await service.onWeightsFile({ source: 'x#1', bytes: bytes(FILE) });
    const n = published.length;
    const b = await service.onWeightsFile({ source: 'x#2', bytes: bytes(FILE) });
    expect(b.status).toBe('DUPLICATE');
    expect(b.rebalance_id).toBe(a.rebalance_id);
    expect(published.length).toBe(n);
  });

  it('an invalid file is recorded with its reasons and makes no order', async () => {
    const { service, published, blobs } = setup();
    const r = await service.onWeightsFile({
      source: 'bad.json',
      bytes: bytes('{"schema_version":1,"weights":{"BTC":"2"}}'),
    });
    expect(r.status).toBe('INVALID');
    expect(r.issues.map((i) => i.path)).toEqual(['strategy_id', 'as_of', 'weights.BTC', 'weights.BTC']);
    expect(published).toEqual([]);
    const rec = JSON.parse(blobs.get(rebalanceRecordKey('portfolio', null, r.rebalance_id)) ?? '{}');
    expect(rec.status).toBe('INVALID');
  });

  it('no cash balance known: not plannable, recorded, no order', async () => {
    const { service, published } = setup({ balances: null });
    const r = await service.onWeightsFile({ source: 'a.json', bytes: bytes(FILE) });
    expect(r.status).toBe('UNPLANNABLE');
    expect(r.issues[0]?.path).toBe('holdings.cash.USDT');
    expect(published).toEqual([]);
  });

  it('completes when every order is final: actual state (BlobStore + store), NAV snapshot, flat-NAV alert', async () => {
    const orders = new Map<string, OrderRecord>();
    const portfolio = new MemoryPortfolioStateStore();
    const positions: Position[] = [];
    const { service, blobs } = setup({ orders, portfolio, positions });
    const r = await service.onWeightsFile({
      source: 'a.json',
      bytes: bytes(HALF_BTC),
    });
    // 10000 × 0.98 × 0.5 / 50000 = 0.098 BTC
    expect(r.instructions.map((i) => [i.side, i.quantity, i.venue])).toEqual([
      ['BUY', '0.098', 'BINANCE-SPOT'],
    ]);
    const op = r.instructions[0]?.operation_id as string;
    expect(await service.complete(r)).toEqual({ status: 'PENDING', open: [op] });
    orders.set(op, filled(op));
    positions.push({
      account_id: 'BINANCE-SPOT',
      instrument_key: BTC,
      quantity: '0.098',
      venues: {},
    } as unknown as Position);
    const c = await service.complete(r);
    expect(c.status).toBe('COMPLETED');
    if (c.status !== 'COMPLETED') return;
    // cash 10000 − 0.098 × 50010 − 4.90098 = 5094.11902; NAV = cash + 0.098 × 50000 = 9994.11902
    expect(c.state.cash.USDT).toBe('5094.11902');
    expect(c.state.nav).toBe('9994.11902');
    expect(c.state.instruments).toMatchObject([
      {
        instrument_key: BTC,
        quantity: '0.098',
        price_source: 'live_mid',
        value: '4900',
        target_weight: '0.5',
      },
    ]);
    expect(c.state.orders).toMatchObject([{ operation_id: op, status: 'FILLED', avg_fill_price: '50010' }]);
    expect(JSON.parse(blobs.get(actualStateKey('portfolio', 'rb')) ?? '{}').nav).toBe('9994.11902');
    expect((await portfolio.getActualState('rb'))?.rebalance_id).toBe(r.rebalance_id);
    expect(c.alert).toBeNull();
    // Venue balances that never move and unchanged prices: the second equal snapshot (flat after 2).
    const s1 = await service.snapshotNav('rb', 'USDT', [BTC], 'DAILY');
    const s2 = await service.snapshotNav('rb', 'USDT', [BTC], 'DAILY');
    expect(s1.alert).toBeNull();
    expect(s2.alert).toMatchObject({ kind: 'NAV_FLAT', snapshots: 2 });
    expect((await portfolio.listNavSnapshots('rb')).map((x) => x.reason)).toEqual([
      'REBALANCE',
      'DAILY',
      'DAILY',
    ]);
  });

  describe('completing from order updates (exec.orders)', () => {
    it('ignores other orders and non-final updates; completes on the final one, once under redelivery', async () => {
      const orders = new Map<string, OrderRecord>();
      const portfolio = new MemoryPortfolioStateStore();
      const { service, blobs, puts } = setup({ orders, portfolio });
      const r = await service.onWeightsFile({ source: 'a.json', bytes: bytes(HALF_BTC) });
      const op = r.instructions[0]?.operation_id as string;
      // The locator is written before the order is published.
      expect(puts.findIndex((k) => k.startsWith('portfolio/_operations/RB-'))).toBeLessThan(
        puts.indexOf(rebalanceRecordKey('portfolio', 'rb', r.rebalance_id)),
      );
      expect(await service.onOrderUpdate({ operation_id: 'op-manual-1', status: 'FILLED' })).toEqual({
        outcome: 'not_a_rebalance_order',
      });
      expect(await service.onOrderUpdate({ operation_id: op, status: 'ACCEPTED' })).toEqual({
        outcome: 'not_final',
      });
      expect(
        await service.onOrderUpdate({ operation_id: `RB-${'0'.repeat(20)}:${BTC}`, status: 'FILLED' }),
      ).toEqual({ outcome: 'unknown_rebalance' });
      // A FILLED update seen before the store shows it (eventual): still pending, nothing written.
      expect(await service.onOrderUpdate({ operation_id: op, status: 'FILLED' })).toMatchObject({
        outcome: 'pending',
        rebalance_id: r.rebalance_id,
        open: [op],
      });
      expect(blobs.has(actualStateKey('portfolio', 'rb'))).toBe(false);
      orders.set(op, filled(op));
      const c = await service.onOrderUpdate({ operation_id: op, status: 'FILLED' });
      expect(c).toMatchObject({ outcome: 'completed', rebalance_id: r.rebalance_id, strategy_id: 'rb' });
      const written = puts.filter((k) => k === actualStateKey('portfolio', 'rb')).length;
      expect(written).toBe(1);
      const again = await service.onOrderUpdate({ operation_id: op, status: 'FILLED' });
      expect(again).toMatchObject({ outcome: 'already_completed', rebalance_id: r.rebalance_id });
      if (c.outcome === 'completed' && again.outcome === 'already_completed') {
        expect(again.state).toEqual(c.state);
      }
      expect(puts.filter((k) => k === actualStateKey('portfolio', 'rb'))).toHaveLength(1);
      expect((await portfolio.listNavSnapshots('rb')).map((x) => x.reason)).toEqual(['REBALANCE']);
    });

    it('a final update overtaking the record throws (redelivered later)', async () => {
      const { service, blobs } = setup();
      const r = await service.onWeightsFile({ source: 'a.json', bytes: bytes(HALF_BTC) });
      blobs.delete(rebalanceRecordKey('portfolio', 'rb', r.rebalance_id));
      const op = r.instructions[0]?.operation_id as string;
      await expect(service.onOrderUpdate({ operation_id: op, status: 'FILLED' })).rejects.toThrow(
        /record is not written yet/,
      );
    });

    it('two shells racing: the second writes out the first claim, not its own', async () => {
      const orders = new Map<string, OrderRecord>();
      const completions = new MemoryRebalanceCompletionStore();
      const portfolio = new MemoryPortfolioStateStore();
      const a = setup({ orders, completions, portfolio });
      const r = await a.service.onWeightsFile({ source: 'a.json', bytes: bytes(HALF_BTC) });
      const op = r.instructions[0]?.operation_id as string;
      orders.set(op, filled(op));
      // The first shell claims and crashes before writing anything out.
      const first = await a.service.complete(r);
      expect(first.status).toBe('COMPLETED');
      const claimed = await completions.get(r.rebalance_id);
      expect(claimed?.applied).toBe(true);
      // A claim made but never applied is written out as stored by whoever comes next.
      const c2 = new MemoryRebalanceCompletionStore();
      const stale = {
        ...(claimed as NonNullable<typeof claimed>),
        state: {
          ...(claimed as NonNullable<typeof claimed>).state,
          ts_completed: '2026-12-07T00:00:01.000000000Z',
        },
      };
      await c2.claim(stale);
      const b = setup({ orders, completions: c2, portfolio: new MemoryPortfolioStateStore() });
      const done = await b.service.complete(r);
      expect(done.status).toBe('COMPLETED');
      if (done.status !== 'COMPLETED') return;
      expect(done.state.ts_completed).toBe('2026-12-07T00:00:01.000000000Z');
      expect(JSON.parse(b.blobs.get(actualStateKey('portfolio', 'rb')) ?? '{}').ts_completed).toBe(
        '2026-12-07T00:00:01.000000000Z',
      );
      expect((await c2.get(r.rebalance_id))?.applied).toBe(true);
    });
  });

  it('the daily snapshot: every portfolio with an actual state, dated at the UTC day start, once a day', async () => {
    const orders = new Map<string, OrderRecord>();
    const portfolio = new MemoryPortfolioStateStore();
    const positions: Position[] = [];
    const { service } = setup({ orders, portfolio, positions });
    const r = await service.onWeightsFile({
      source: 'a.json',
      bytes: bytes(HALF_BTC),
    });
    const op = r.instructions[0]?.operation_id as string;
    orders.set(op, filled(op));
    positions.push({
      account_id: 'BINANCE-SPOT',
      instrument_key: BTC,
      quantity: '0.098',
      venues: {},
    } as unknown as Position);
    expect((await service.complete(r)).status).toBe('COMPLETED');
    const first = await service.snapshotDaily();
    const again = await service.snapshotDaily();
    expect(first.map((x) => [x.strategy_id, x.snapshot.reason])).toEqual([['rb', 'DAILY']]);
    // 2026-12-07T00:00:00Z: the day of the service's clock.
    expect(first[0]?.snapshot.ts_event).toBe(1_796_601_600_000_000_000n);
    expect(again[0]?.snapshot.ts_event).toBe(first[0]?.snapshot.ts_event);
    // venue cash 10000 (never moved) + 0.098 × 50000
    expect(first[0]?.snapshot.nav).toBe('14900');
    expect((await portfolio.listNavSnapshots('rb')).map((x) => x.reason)).toEqual(['DAILY', 'REBALANCE']);
  });
});

import { describe, expect, it } from 'vitest';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { quoteColumns, tradeColumns } from '../../../shared/sim/columns.ts';
import { isFill, summariseFills, toDomainFill } from '../../../shared/sim/fills.ts';
import { MatchingEngine } from '../../../shared/sim/matching-engine.ts';
import type { MatchingEngineConfig, SimEvent, SimFilled, SimOrder } from '../../../shared/sim/types.ts';

const SPEC: InstrumentSpec = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '1000',
  min_notional: '5',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
};

/** 2025-07-01T00:00:00Z */
const EPOCH = 1_751_328_000_000_000_000n;
const MS = 1_000_000n;

function engine(extra: Partial<MatchingEngineConfig> = {}): MatchingEngine {
  return new MatchingEngine({ instrument: SPEC, epochNs: EPOCH, ...extra });
}

function mkt(
  id: string,
  side: 'BUY' | 'SELL',
  qty: string,
  tif: SimOrder['time_in_force'] = 'GTC',
): SimOrder {
  return { order_id: id, side, order_type: 'MARKET', quantity: qty, time_in_force: tif };
}

function lmt(
  id: string,
  side: 'BUY' | 'SELL',
  qty: string,
  price: string,
  tif: SimOrder['time_in_force'] = 'GTC',
): SimOrder {
  return { order_id: id, side, order_type: 'LIMIT', quantity: qty, price, time_in_force: tif };
}

const fills = (evs: SimEvent[]): SimFilled[] => evs.filter(isFill);
const brief = (evs: SimEvent[]) =>
  evs.map((e) =>
    e.type === 'filled'
      ? `${e.type} ${e.order_id} ${e.quantity}@${e.price} ${e.liquidity} fee=${e.fee}`
      : `${e.type} ${e.order_id}${'reason' in e ? ` ${e.reason}` : ''}`,
  );

/** L2 book: asks 100×1, 101×2, 102×5; bids 99×1, 98×3. */
function l2Book(e: MatchingEngine, ts: bigint): void {
  e.onBookSnapshot(
    ts,
    [
      [99, 1],
      [98, 3],
    ],
    [
      [100, 1],
      [101, 2],
      [102, 5],
    ],
  );
}

describe('market orders walking an L2 book', () => {
  it('a BUY of 2.5 takes 1@100 and 1.5@101: average 100.6, taker fees exact', () => {
    const e = engine();
    l2Book(e, EPOCH + 1n * MS);
    e.submit(mkt('O1', 'BUY', '2.5'), EPOCH + 2n * MS);
    e.advanceTo(EPOCH + 2n * MS);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual([
      'accepted O1',
      'filled O1 1@100 TAKER fee=0.05', // 1 × 100 × 0.0005
      'filled O1 1.5@101 TAKER fee=0.07575', // 1.5 × 101 × 0.0005 = 151.5 × 0.0005
    ]);
    expect(evs[0]).toMatchObject({ type: 'accepted', mid_at_arrival: '99.5', ts_event: EPOCH + 2n * MS });
    const f = fills(evs);
    expect(f.map((x) => x.fill_id)).toEqual(['O1-F1', 'O1-F2']);
    expect(f[1]).toMatchObject({ cum_quantity: '2.5', leaves_quantity: '0', fee_currency: 'USDT' });
    expect(summariseFills(f)).toEqual({
      quantity: '2.5',
      notional: '251.5',
      fees: '0.12575',
      avg_price: '100.6',
    });
    expect(e.getOrder('O1')).toMatchObject({
      status: 'FILLED',
      filled_quantity: '2.5',
      leaves_quantity: '0',
    });
    expect(
      toDomainFill(f[0]!, {
        operation_id: 'OP-1',
        venue: 'SIM',
        instrument_key: SPEC.instrument_key,
      }),
    ).toEqual({
      fill_id: 'O1-F1',
      order_id: 'O1',
      operation_id: 'OP-1',
      instrument_key: SPEC.instrument_key,
      venue: 'SIM',
      side: 'BUY',
      quantity: '1',
      price: '100',
      fee: '0.05',
      fee_currency: 'USDT',
      liquidity: 'TAKER',
      ts_event: EPOCH + 2n * MS,
    });
  });

  it('does not reuse liquidity it consumed until the level updates', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(mkt('O1', 'BUY', '2.5'), EPOCH);
    e.submit(mkt('O2', 'BUY', '1'), EPOCH);
    e.advanceTo(EPOCH);
    // O2 finds 0.5 left at 101 and goes on to 102.
    expect(brief(e.drainEvents()).filter((s) => s.startsWith('filled O2'))).toEqual([
      'filled O2 0.5@101 TAKER fee=0.02525',
      'filled O2 0.5@102 TAKER fee=0.0255',
    ]);
    // Nothing changed at 100: a third buy starts at 101's remaining 0 and takes 102 (4.5 left there).
    e.submit(mkt('O3', 'BUY', '0.2'), EPOCH + MS);
    e.advanceTo(EPOCH + MS);
    expect(brief(e.drainEvents()).filter((s) => s.startsWith('filled'))).toEqual([
      'filled O3 0.2@102 TAKER fee=0.0102',
    ]);
    // The 100 level updates (size 1 → 0.8): fresh liquidity there.
    e.onBookLevel(EPOCH + 2n * MS, 'ASK', 0, 100, 0.8);
    e.submit(mkt('O4', 'BUY', '1'), EPOCH + 2n * MS);
    e.advanceTo(EPOCH + 2n * MS);
    expect(brief(e.drainEvents()).filter((s) => s.startsWith('filled'))).toEqual([
      'filled O4 0.8@100 TAKER fee=0.04',
      'filled O4 0.2@102 TAKER fee=0.0102',
    ]);
  });

  it('a SELL walks the bids down', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(mkt('S1', 'SELL', '2'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual([
      'accepted S1',
      'filled S1 1@99 TAKER fee=0.0495',
      'filled S1 1@98 TAKER fee=0.049',
    ]);
  });

  it('a GTC market order larger than the book waits for new liquidity', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(mkt('O1', 'BUY', '10'), EPOCH);
    e.advanceTo(EPOCH);
    expect(fills(e.drainEvents()).map((f) => `${f.quantity}@${f.price}`)).toEqual([
      '1@100',
      '2@101',
      '5@102',
    ]);
    expect(e.getOrder('O1')).toMatchObject({ status: 'PARTIALLY_FILLED', leaves_quantity: '2' });
    e.onBookLevel(EPOCH + MS, 'ASK', 3, 103, 4);
    expect(brief(e.drainEvents())).toEqual(['filled O1 2@103 TAKER fee=0.103']);
    expect(e.workingOrderCount()).toBe(0);
  });
});

describe('resting limit orders', () => {
  it('a BUY at 99 fills as MAKER when a trade prints through it; not at the touch by default', () => {
    const e = engine();
    e.onQuote(EPOCH, 98.9, 2, 99.2, 2);
    e.submit(lmt('B1', 'BUY', '0.5', '99'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted B1']);
    e.onTrade(EPOCH + 1n * MS, 99, 5, 'SELL'); // at the touch: conservative model → nothing
    expect(e.drainEvents()).toEqual([]);
    e.onTrade(EPOCH + 2n * MS, 98.5, 0.3, 'SELL'); // through: 0.3 @ 99 (our limit), maker fee 29.7 × 0.0002
    expect(brief(e.drainEvents())).toEqual(['filled B1 0.3@99 MAKER fee=0.00594']);
    e.onTrade(EPOCH + 3n * MS, 99.5, 7, 'BUY'); // above our bid: nothing
    e.onTrade(EPOCH + 4n * MS, 98, 1, 'SELL'); // through again: the remaining 0.2
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual(['filled B1 0.2@99 MAKER fee=0.00396']);
    expect(evs[0]).toMatchObject({ fill_id: 'B1-F2', cum_quantity: '0.5', ts_event: EPOCH + 4n * MS });
    expect(e.getOrder('B1')?.status).toBe('FILLED');
  });

  it('a resting SELL fills when trades print above it; one print is shared in price-time priority', () => {
    const e = engine();
    e.submit(lmt('S1', 'SELL', '1', '101'), EPOCH);
    e.submit(lmt('S2', 'SELL', '1', '100.5'), EPOCH);
    e.submit(lmt('S3', 'SELL', '1', '101'), EPOCH + 1n);
    e.advanceTo(EPOCH + 1n);
    e.drainEvents();
    e.onTrade(EPOCH + MS, 101.5, 2.5, 'BUY');
    expect(brief(e.drainEvents())).toEqual([
      'filled S2 1@100.5 MAKER fee=0.0201',
      'filled S1 1@101 MAKER fee=0.0202',
      'filled S3 0.5@101 MAKER fee=0.0101',
    ]);
  });

  it('a resting BUY fills as MAKER at its limit when the ask comes down to it, against the displayed size', () => {
    const e = engine();
    e.onQuote(EPOCH, 98, 1, 100, 1);
    e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
    e.advanceTo(EPOCH);
    e.drainEvents();
    e.onQuote(EPOCH + MS, 98, 1, 98.9, 0.4); // ask crosses our bid: 0.4 at OUR price 99
    expect(brief(e.drainEvents())).toEqual(['filled B1 0.4@99 MAKER fee=0.00792']);
    e.onQuote(EPOCH + 2n * MS, 98.1, 1, 98.9, 0.4); // only the bid moved: the 0.4 is already ours
    expect(e.drainEvents()).toEqual([]);
    e.onQuote(EPOCH + 3n * MS, 98.1, 1, 99, 2); // ask at our price, fresh size
    expect(brief(e.drainEvents())).toEqual(['filled B1 0.6@99 MAKER fee=0.01188']);
  });

  it('a resting SELL fills as MAKER when an L2 bid level rises through it', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(lmt('S1', 'SELL', '1', '101'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted S1']); // best bid 99 < 101: rests
    e.onBookLevel(EPOCH + MS, 'BID', 1, 98.5, 3); // below our price: nothing
    e.onBookLevel(EPOCH + 2n * MS, 'BID', 0, 101.5, 0.3); // through: 0.3 at our 101
    expect(brief(e.drainEvents())).toEqual(['filled S1 0.3@101 MAKER fee=0.00606']);
    e.onBookLevel(EPOCH + 3n * MS, 'BID', 1, 101, 2); // a second level at our price: 0.7 more
    expect(brief(e.drainEvents())).toEqual(['filled S1 0.7@101 MAKER fee=0.01414']);
  });

  it('a marketable limit is a TAKER at the book prices on arrival, the rest rests', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(lmt('B1', 'BUY', '2', '100.5'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted B1', 'filled B1 1@100 TAKER fee=0.05']);
    expect(e.getOrder('B1')).toMatchObject({ status: 'PARTIALLY_FILLED', leaves_quantity: '1' });
    e.onTrade(EPOCH + MS, 100.4, 3, 'SELL');
    expect(brief(e.drainEvents())).toEqual(['filled B1 1@100.5 MAKER fee=0.0201']);
  });
});

describe('time in force', () => {
  it('IOC: fills what is there within the limit, cancels the remainder', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(lmt('I1', 'BUY', '2', '100.5', 'IOC'), EPOCH);
    e.advanceTo(EPOCH);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual([
      'accepted I1',
      'filled I1 1@100 TAKER fee=0.05',
      'canceled I1 IOC_REMAINDER',
    ]);
    expect(evs[2]).toMatchObject({ filled_quantity: '1' });
    expect(e.getOrder('I1')).toMatchObject({
      status: 'CANCELED',
      filled_quantity: '1',
      leaves_quantity: '0',
    });
  });

  it('IOC market order on an empty book is canceled unfilled', () => {
    const e = engine();
    e.submit(mkt('I1', 'BUY', '1', 'IOC'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted I1', 'canceled I1 IOC_REMAINDER']);
  });

  it('FOK: not fully fillable within the limit → no fill, canceled; fillable → all of it', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(lmt('F1', 'BUY', '4', '101', 'FOK'), EPOCH); // 1 + 2 = 3 available at ≤ 101
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted F1', 'canceled F1 FOK_NOT_FILLABLE']);
    expect(e.getOrder('F1')).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
    e.submit(lmt('F2', 'BUY', '3', '101', 'FOK'), EPOCH + MS);
    e.advanceTo(EPOCH + MS);
    expect(brief(e.drainEvents())).toEqual([
      'accepted F2',
      'filled F2 1@100 TAKER fee=0.05',
      'filled F2 2@101 TAKER fee=0.101',
    ]);
  });

  it('post-only (GTX): rejected if it would cross on arrival, otherwise rests', () => {
    const e = engine();
    l2Book(e, EPOCH);
    e.submit(lmt('P1', 'BUY', '1', '100', 'GTX'), EPOCH);
    e.submit(lmt('P2', 'BUY', '1', '99.5', 'GTX'), EPOCH);
    e.submit(mkt('P3', 'BUY', '1', 'GTX'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual([
      'rejected P1 POST_ONLY_WOULD_CROSS',
      'accepted P2',
      'rejected P3 MARKET_ORDER_NOT_POST_ONLY',
    ]);
    expect(e.getOrder('P1')?.status).toBe('REJECTED');
    expect(e.getOrder('P2')?.status).toBe('ACCEPTED');
  });

  it('DAY: a working order expires at the end of the UTC day', () => {
    const e = engine();
    e.submit(lmt('D1', 'BUY', '1', '90', 'DAY'), EPOCH + 3_600_000n * MS); // 01:00
    e.advanceTo(EPOCH + 86_400_000n * MS - 1n);
    expect(brief(e.drainEvents())).toEqual(['accepted D1']);
    e.advanceTo(EPOCH + 86_400_000n * MS);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual(['expired D1 DAY_END']);
    expect(evs[0]?.ts_event).toBe(EPOCH + 86_400_000n * MS);
    expect(e.getOrder('D1')?.status).toBe('EXPIRED');
  });
});

describe('latency', () => {
  it('a market order submitted at t with 5 ms insert latency fills against the quote at t+5ms', () => {
    const e = engine({ latency: { insertNs: 5_000_000 } });
    e.onQuote(EPOCH, 99, 1, 100, 1);
    e.submit(mkt('M1', 'BUY', '1'), EPOCH);
    e.onQuote(EPOCH + 2n * MS, 99, 1, 100.5, 1);
    e.onQuote(EPOCH + 5n * MS, 100, 1, 101, 1);
    expect(e.drainEvents()).toEqual([]); // not yet: the quote at t+5ms comes first
    e.onQuote(EPOCH + 7n * MS, 100, 1, 102, 1);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual(['accepted M1', 'filled M1 1@101 TAKER fee=0.0505']);
    expect(evs[1]?.ts_event).toBe(EPOCH + 5n * MS);
    expect(evs[0]).toMatchObject({ mid_at_arrival: '100.5' });
  });

  it('without latency the same order fills at the quote of its submission time', () => {
    const e = engine();
    e.onQuote(EPOCH, 99, 1, 100, 1);
    e.submit(mkt('M1', 'BUY', '1'), EPOCH);
    e.onQuote(EPOCH + 5n * MS, 100, 1, 101, 1);
    expect(brief(e.drainEvents())).toEqual(['accepted M1', 'filled M1 1@100 TAKER fee=0.05']);
  });

  it('cancel latency: fills before the cancel takes effect still happen; later cancels are refused', () => {
    const e = engine({ latency: { insertNs: 1_000_000, cancelNs: 2_000_000 } });
    e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
    e.advanceTo(EPOCH + MS);
    expect(brief(e.drainEvents())).toEqual(['accepted B1']);
    e.cancel('B1', EPOCH + 2n * MS); // effective at +4 ms
    e.onTrade(EPOCH + 3n * MS, 98, 0.25, 'SELL');
    e.advanceTo(EPOCH + 4n * MS);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual(['filled B1 0.25@99 MAKER fee=0.00495', 'canceled B1 USER_CANCEL']);
    expect(evs[1]).toMatchObject({ filled_quantity: '0.25', ts_event: EPOCH + 4n * MS });
    e.cancel('B1', EPOCH + 5n * MS);
    e.cancel('NOPE', EPOCH + 5n * MS);
    e.advanceTo(EPOCH + 10n * MS);
    expect(brief(e.drainEvents())).toEqual([
      'cancel_rejected B1 ORDER_CLOSED',
      'cancel_rejected NOPE UNKNOWN_ORDER',
    ]);
  });

  it('a cancel that arrives before the order reaches the matching waits for it', () => {
    const e = engine({ latency: { insertNs: 5_000_000, cancelNs: 1_000_000 } });
    e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
    e.cancel('B1', EPOCH);
    e.advanceTo(EPOCH + 10n * MS);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual(['accepted B1', 'canceled B1 USER_CANCEL']);
    expect(evs.map((x) => x.ts_event)).toEqual([EPOCH + 5n * MS, EPOCH + 5n * MS]);
  });

  it('jitter is seeded: same seed → same arrival times, bounded by the jitter', () => {
    const times = (seed: number) => {
      const e = engine({ seed, latency: { insertNs: 1_000_000, insertJitterNs: 1_000_000 } });
      for (let i = 0; i < 20; i++) e.submit(lmt(`B${i}`, 'BUY', '1', '90'), EPOCH);
      e.advanceTo(EPOCH + 10n * MS);
      return e.drainEvents().map((x) => x.ts_event - EPOCH);
    };
    const a = times(7);
    expect(times(7)).toEqual(a);
    expect(times(8)).not.toEqual(a);
    for (const t of a) {
      expect(t).toBeGreaterThanOrEqual(1_000_000n);
      expect(t).toBeLessThan(2_000_000n);
    }
  });
});

describe('L1 books', () => {
  it('a market order takes at most the displayed ask size; the rest fills on the next quote', () => {
    const e = engine();
    e.onQuote(EPOCH, 99.9, 3, 100, 0.4);
    e.submit(mkt('M1', 'BUY', '1'), EPOCH);
    e.advanceTo(EPOCH);
    expect(brief(e.drainEvents())).toEqual(['accepted M1', 'filled M1 0.4@100 TAKER fee=0.02']);
    e.onQuote(EPOCH + MS, 99.8, 3, 100, 0.4); // bid moved, ask unchanged: that 0.4 was ours
    expect(e.drainEvents()).toEqual([]);
    e.onQuote(EPOCH + 2n * MS, 99.9, 3, 100.5, 1);
    expect(brief(e.drainEvents())).toEqual(['filled M1 0.6@100.5 TAKER fee=0.03015']); // 60.3 × 0.0005
    expect(e.getOrder('M1')?.status).toBe('FILLED');
  });

  it('slippage model: a market BUY on L1 pays fixed bps above the ask, rounded up to the tick', () => {
    const e = engine({ slippage: { fixedBps: 10 } });
    e.onQuote(EPOCH, 99, 5, 100, 5);
    e.submit(mkt('M1', 'BUY', '1'), EPOCH);
    e.submit(mkt('M2', 'SELL', '1'), EPOCH);
    e.advanceTo(EPOCH);
    // 100 × 1.001 = 100.1; 99 × 0.999 = 98.901 → down to 98.9
    expect(fills(e.drainEvents()).map((f) => `${f.side} ${f.price}`)).toEqual(['BUY 100.1', 'SELL 98.9']);
  });

  it('random slippage is seeded and stays within [fixed, fixed + random] bps', () => {
    const prices = (seed: number) => {
      const e = engine({ seed, slippage: { fixedBps: 1, randomBps: 20 } });
      e.onQuote(EPOCH, 999, 100, 1000, 100);
      for (let i = 0; i < 10; i++) e.submit(mkt(`M${i}`, 'BUY', '1'), EPOCH);
      e.advanceTo(EPOCH);
      return fills(e.drainEvents()).map((f) => Number(f.price));
    };
    const a = prices(1);
    expect(prices(1)).toEqual(a);
    expect(prices(2)).not.toEqual(a);
    for (const p of a) {
      expect(p).toBeGreaterThanOrEqual(1000.1);
      expect(p).toBeLessThanOrEqual(1002.11);
    }
  });

  it('with trades only (no quotes), a waiting market order takes same-side aggressor prints', () => {
    const e = engine();
    e.submit(mkt('M1', 'BUY', '1'), EPOCH);
    e.advanceTo(EPOCH);
    e.onTrade(EPOCH + MS, 100, 5, 'SELL'); // a seller hit a bid: no offer liquidity shown
    e.onTrade(EPOCH + 2n * MS, 100.5, 0.4, 'BUY'); // a buyer lifted 0.4 offered at 100.5
    e.onTrade(EPOCH + 3n * MS, 100.7, 2, 'BUY');
    expect(brief(e.drainEvents())).toEqual([
      'accepted M1',
      'filled M1 0.4@100.5 TAKER fee=0.0201',
      'filled M1 0.6@100.7 TAKER fee=0.03021',
    ]);
  });
});

describe('fill models at the touch', () => {
  it('queue model: touch prints eat the displayed size ahead of us first', () => {
    const e = engine({ fillModel: { kind: 'queue' } });
    e.onQuote(EPOCH, 99, 2, 99.5, 1);
    e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
    e.advanceTo(EPOCH);
    e.drainEvents();
    e.onTrade(EPOCH + MS, 99, 1.5, 'SELL'); // 2 ahead → 0.5 ahead
    expect(e.drainEvents()).toEqual([]);
    e.onTrade(EPOCH + 2n * MS, 99, 0.8, 'SELL'); // 0.5 ahead, then 0.3 to us
    expect(brief(e.drainEvents())).toEqual(['filled B1 0.3@99 MAKER fee=0.00594']);
    e.onQuote(EPOCH + 3n * MS, 99, 0.1, 99.5, 1); // displayed shrinks: nothing ahead anymore
    e.onTrade(EPOCH + 4n * MS, 99, 1, 'SELL');
    expect(brief(e.drainEvents())).toEqual(['filled B1 0.7@99 MAKER fee=0.01386']);
  });

  it('queue model: cancels ahead of us shrink the queue', () => {
    const e = engine({ fillModel: { kind: 'queue' } });
    e.onQuote(EPOCH, 99, 5, 99.5, 1);
    e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
    e.advanceTo(EPOCH);
    e.onQuote(EPOCH + MS, 99, 0.5, 99.5, 1);
    e.onTrade(EPOCH + 2n * MS, 99, 1, 'SELL');
    expect(fills(e.drainEvents()).map((f) => f.quantity)).toEqual(['0.5']);
  });

  it('probabilistic model: deterministic per seed, differs across seeds', () => {
    const run = (seed: number) => {
      const e = engine({ seed, fillModel: { kind: 'probabilistic', probFillAtTouch: 0.5 } });
      e.submit(lmt('B1', 'BUY', '1', '99'), EPOCH);
      e.advanceTo(EPOCH);
      for (let i = 1; i <= 30; i++) e.onTrade(EPOCH + BigInt(i) * MS, 99, 0.01, 'SELL');
      return fills(e.drainEvents()).map((f) => `${f.ts_event - EPOCH}:${f.quantity}`);
    };
    const a = run(42);
    expect(a.length).toBeGreaterThan(0);
    expect(a.length).toBeLessThan(30);
    expect(run(42)).toEqual(a);
    expect(run(43)).not.toEqual(a);
  });
});

describe('validation and identity', () => {
  it('rejects orders off the instrument grid; a duplicate id is ignored', () => {
    const e = engine();
    expect(e.submit(lmt('X1', 'BUY', '0.0015', '99'), EPOCH)).toBe('queued');
    expect(e.submit(lmt('X1', 'BUY', '1', '99'), EPOCH)).toBe('duplicate');
    e.submit(lmt('X2', 'BUY', '1', '99.001'), EPOCH);
    e.submit(lmt('X3', 'BUY', '0.01', '99'), EPOCH); // notional 0.99 < 5
    e.submit(
      { order_id: 'X4', side: 'BUY', order_type: 'LIMIT', quantity: '1', time_in_force: 'GTC' },
      EPOCH,
    );
    e.advanceTo(EPOCH);
    const evs = e.drainEvents();
    expect(brief(evs)).toEqual([
      'rejected X1 INVALID_ORDER',
      'rejected X2 INVALID_ORDER',
      'rejected X3 INVALID_ORDER',
      'rejected X4 LIMIT_PRICE_REQUIRED',
    ]);
    expect(evs[0]).toMatchObject({
      message:
        'quantity: 0.0015 is not a multiple of step size 0.001; ' +
        'notional: notional 0.1485 (quantity 0.0015 × price 99) is below min notional 5',
    });
    expect(evs[1]).toMatchObject({ message: 'price: 99.001 is not a multiple of tick size 0.01' });
  });

  it('market data out of order throws, or is clamped in SHADOW mode', () => {
    const strict = engine();
    strict.onQuote(EPOCH + MS, 99, 1, 100, 1);
    expect(() => strict.onTrade(EPOCH, 100, 1, 'BUY')).toThrow(RangeError);
    const shadow = engine({ lateData: 'clamp' });
    shadow.onQuote(EPOCH + MS, 99, 1, 100, 1);
    shadow.onTrade(EPOCH, 100, 1, 'BUY');
    expect(shadow.lastTrade()).toEqual({ price: 100, size: 1, ts_event: EPOCH + MS });
  });
});

describe('columnar batches', () => {
  it('give the same events as per-event calls, and keep last trade / top of book', () => {
    const quotes = [
      { ts_event: EPOCH + 1n * MS, bid_px: 99, bid_sz: 1, ask_px: 100, ask_sz: 0.5 },
      { ts_event: EPOCH + 3n * MS, bid_px: 98.5, bid_sz: 1, ask_px: 99.5, ask_sz: 0.7 },
      { ts_event: EPOCH + 6n * MS, bid_px: 98, bid_sz: 2, ask_px: 98.9, ask_sz: 1 },
    ];
    const trades = [
      { ts_event: EPOCH + 2n * MS, price: 100, size: 0.1, side: 'BUY' as const },
      { ts_event: EPOCH + 4n * MS, price: 98.7, size: 0.2, side: 'SELL' as const },
      { ts_event: EPOCH + 5n * MS, price: 99.2, size: 0.05, side: 'SELL' as const }, // above 99
    ];
    const orders = () => {
      const list: Array<[SimOrder, bigint]> = [
        [mkt('M1', 'BUY', '1'), EPOCH + 1n * MS],
        [lmt('B1', 'BUY', '0.6', '99'), EPOCH + 2n * MS],
      ];
      return list;
    };
    const cfg = { latency: { insertNs: 500_000 } };

    const a = engine(cfg);
    const b = engine(cfg);
    // Per event, merged by time.
    const stream = [
      ...quotes.map((q) => ({
        t: q.ts_event,
        f: () => a.onQuote(q.ts_event, q.bid_px, q.bid_sz, q.ask_px, q.ask_sz),
      })),
      ...trades.map((x) => ({ t: x.ts_event, f: () => a.onTrade(x.ts_event, x.price, x.size, x.side) })),
    ].sort((x, y) => (x.t < y.t ? -1 : 1));
    const subs = orders();
    for (const s of stream) {
      s.f();
      for (const [o, t] of subs) if (t === s.t) a.submit(o, t);
    }
    a.advanceTo(EPOCH + 10n * MS);

    // Batches, one row at a time in the merged order (a loader would pass runs of rows).
    const qc = quoteColumns(quotes, EPOCH);
    const tc = tradeColumns(trades, EPOCH);
    let qi = 0;
    let ti = 0;
    while (qi < quotes.length || ti < trades.length) {
      const nextQ = quotes[qi]?.ts_event ?? 1n << 62n;
      const nextT = trades[ti]?.ts_event ?? 1n << 62n;
      const t = nextQ < nextT ? nextQ : nextT;
      if (nextQ < nextT) b.onQuotes(qc, qi, ++qi);
      else b.onTrades(tc, ti, ++ti);
      for (const [o, ts] of subs) if (ts === t) b.submit(o, ts);
    }
    b.advanceTo(EPOCH + 10n * MS);

    const ea = a.drainEvents();
    expect(b.drainEvents()).toEqual(ea);
    expect(brief(ea)).toEqual([
      'accepted M1',
      'filled M1 0.5@100 TAKER fee=0.025',
      'accepted B1', // at 2.5 ms: ask 100 > 99, rests
      'filled M1 0.5@99.5 TAKER fee=0.024875', // 3 ms quote: ask 99.5 × 0.7, M1 first (waiting market)
      'filled B1 0.2@99 MAKER fee=0.00396', // 4 ms trade at 98.7 through 99
      'filled B1 0.4@99 MAKER fee=0.00792', // 6 ms quote: ask 98.9 × 1 crosses 99
    ]);
    expect(b.lastTrade()).toEqual(a.lastTrade());
    expect(b.bestAsk()).toEqual({ price: 98.9, size: 1 });
  });

  it('a batch with no working orders only updates the last trade', () => {
    const e = engine();
    const tc = tradeColumns(
      [
        { ts_event: EPOCH + 1n, price: 10, size: 1, side: 'BUY' },
        { ts_event: EPOCH + 2n, price: 11, size: 2, side: null },
      ],
      EPOCH,
    );
    e.onTrades(tc);
    expect(e.lastTrade()).toEqual({ price: 11, size: 2, ts_event: EPOCH + 2n });
    expect(e.drainEvents()).toEqual([]);
    expect(e.now()).toBe(EPOCH + 2n);
  });
});

describe('time base', () => {
  it('rebase moves the relative base without changing any absolute time', () => {
    const e = engine({ latency: { insertNs: 5_000_000 } });
    const HOUR = 3_600_000n * MS;
    e.onQuote(EPOCH, 99, 1, 100, 1);
    e.submit(lmt('D1', 'BUY', '1', '99', 'DAY'), EPOCH + MS);
    e.submit(lmt('B2', 'BUY', '1', '98', 'GTC'), EPOCH + 2n * MS);
    e.rebase(EPOCH + HOUR);
    expect(e.epochNs).toBe(EPOCH + HOUR);
    expect(e.nextTimerAt()).toBe(EPOCH + 6n * MS); // D1's arrival, unchanged in absolute time
    e.advanceTo(EPOCH + 10n * MS);
    // Relative columns now count from the new base: -1 h + 20 ms is 00:00:00.020.
    e.onTrades(
      tradeColumns([{ ts_event: EPOCH + 20n * MS, price: 97, size: 5, side: 'SELL' }], EPOCH + HOUR),
    );
    e.advanceTo(EPOCH + 86_400_000n * MS);
    expect(e.drainEvents().map((x) => [x.type, x.order_id, x.ts_event])).toEqual([
      ['accepted', 'D1', EPOCH + 6n * MS],
      ['accepted', 'B2', EPOCH + 7n * MS],
      ['filled', 'D1', EPOCH + 20n * MS],
      ['filled', 'B2', EPOCH + 20n * MS],
    ]);
  });

  it('timestamps further than 2^53 ns from the epoch are refused, not rounded', () => {
    const e = engine();
    expect(() => e.onTrade(EPOCH + (1n << 53n) + 1n, 100, 1, 'BUY')).toThrow(RangeError);
  });
});

describe('determinism', () => {
  it('same seed and inputs → identical event list', () => {
    const run = (seed: number) => {
      const e = engine({
        seed,
        latency: { insertNs: 200_000, insertJitterNs: 300_000, cancelNs: 100_000, cancelJitterNs: 100_000 },
        fillModel: { kind: 'probabilistic', probFillAtTouch: 0.3 },
        slippage: { fixedBps: 0.5, randomBps: 3 },
      });
      let x = 1;
      const rnd = () => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x / 4294967296;
      };
      let mid = 100;
      for (let i = 0; i < 2000; i++) {
        const ts = EPOCH + BigInt(i) * MS;
        mid = Math.round((mid + (rnd() - 0.5) * 0.2) * 100) / 100;
        e.onQuote(
          ts,
          mid - 0.01,
          0.5 + Math.floor(rnd() * 10) / 10,
          mid + 0.01,
          0.5 + Math.floor(rnd() * 10) / 10,
        );
        e.onTrade(
          ts + 1n,
          Math.round((mid + (rnd() < 0.5 ? -0.01 : 0.01)) * 100) / 100,
          0.1,
          rnd() < 0.5 ? 'BUY' : 'SELL',
        );
        if (i % 50 === 0) e.submit(mkt(`M${i}`, rnd() < 0.5 ? 'BUY' : 'SELL', '0.7'), ts + 2n);
        if (i % 70 === 0) e.submit(lmt(`L${i}`, 'BUY', '0.3', (mid - 0.01).toFixed(2)), ts + 2n);
        if (i % 70 === 35) e.cancel(`L${i - 35}`, ts + 2n);
      }
      e.advanceTo(EPOCH + 3000n * MS);
      return e.drainEvents();
    };
    const a = run(11);
    expect(a.filter((x) => x.type === 'filled').length).toBeGreaterThan(40);
    expect(run(11)).toEqual(a);
    expect(run(12)).not.toEqual(a);
    // Every order's fills sum exactly to its final cumulative quantity.
    const cum = new Map<string, bigint>();
    for (const f of fills(a)) {
      const units = BigInt(Math.round(Number(f.quantity) * 1000));
      cum.set(f.order_id, (cum.get(f.order_id) ?? 0n) + units);
      expect(BigInt(Math.round(Number(f.cum_quantity) * 1000))).toBe(cum.get(f.order_id));
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { OrderInstruction } from '../../../shared/domain/types.ts';
import { DEFAULT_ROUTER_SETTINGS } from '../../../shared/routing/config.ts';
import { roundBps, route, walkDepth } from '../../../shared/routing/router.ts';
import type {
  RouterSettings,
  RoutingDecision,
  VenueCandidate,
  VisibleDepth,
} from '../../../shared/routing/types.ts';

// Settings used throughout: unit weights, 0.01 bps per ms of latency, 50 bps for a 100% rejection
// rate, 25 bps when depth is missing, 50 bps beyond visible depth, +10 bps when degraded.
const S: RouterSettings = DEFAULT_ROUTER_SETTINGS;

function order(over: Partial<OrderInstruction> = {}): OrderInstruction {
  return {
    operation_id: 'OP-1',
    instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    quantity: '1',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 's',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    ...over,
  };
}

/** bids 99.9 × 10, asks 100 × 10 (mid 99.95) unless given. */
function depth(
  asks: Array<[number, number]> = [[100, 10]],
  bids: Array<[number, number]> = [[99.9, 10]],
): VisibleDepth {
  return {
    asks: asks.map(([price, size]) => ({ price, size })),
    bids: bids.map(([price, size]) => ({ price, size })),
  };
}

function venue(id: string, over: Partial<VenueCandidate> = {}): VenueCandidate {
  return {
    venue: id,
    account_id: `${id}-acct`,
    status: 'UP',
    maker_fee: 0.0002,
    taker_fee: 0.0005,
    depth: depth(),
    latency_ms: 0,
    rejection_rate: 0,
    ...over,
  };
}

function routed(d: RoutingDecision) {
  if (!d.routed) throw new Error(`not routed: ${d.reason}`);
  return d;
}

function score(d: RoutingDecision, id: string) {
  const s = d.scores.find((x) => x.venue === id);
  if (s === undefined) throw new Error(`no score for ${id}`);
  return s;
}

describe('route: cost model', () => {
  it('fee-only difference: the cheaper taker fee wins', () => {
    // Same books (bid 99.99, ask 100: mid 99.995), latency 10 ms each.
    const book = depth([[100, 10]], [[99.99, 10]]);
    const d = routed(
      route(
        order(),
        [
          venue('A', { taker_fee: 0.001, depth: book, latency_ms: 10 }),
          venue('B', { taker_fee: 0.0005, depth: book, latency_ms: 10 }),
        ],
        S,
      ),
    );
    // slippage (100 − 99.995) / 99.995 × 10 000 = 0.50002500125 → 0.500025; latency 10 × 0.01 = 0.1.
    expect(d.venue).toBe('B');
    expect(d.account_id).toBe('B-acct');
    expect(d.scores).toEqual([
      {
        venue: 'B',
        eligible: true,
        total_cost_bps: 5.600025,
        fee_bps: 5,
        slippage_bps: 0.500025,
        latency_bps: 0.1,
        rejection_bps: 0,
      },
      {
        venue: 'A',
        eligible: true,
        total_cost_bps: 10.600025,
        fee_bps: 10,
        slippage_bps: 0.500025,
        latency_bps: 0.1,
        rejection_bps: 0,
      },
    ]);
    expect(d.reason).toBe('lowest cost 5.600025 bps (next A 10.600025 bps)');
  });

  it('a cheaper venue with thin depth loses to a deeper one for a large order, wins for a small one', () => {
    // A: 5 bps taker, asks 100 × 1 only. B: 10 bps taker, asks 100 × 5, 100.1 × 5. Both bid 99.9 (mid 99.95).
    const cands = [
      venue('A', { taker_fee: 0.0005, depth: depth([[100, 1]]) }),
      venue('B', {
        taker_fee: 0.001,
        depth: depth([
          [100, 5],
          [100.1, 5],
        ]),
      }),
    ];
    // Buy 4: A takes 1 @ 100 and 3 beyond depth @ 100 × 1.005 = 100.5 → avg 401.5 / 4 = 100.375,
    // slippage 0.425 / 99.95 × 10 000 = 42.521261; B takes 4 @ 100, slippage 0.05 / 99.95 × 10 000 = 5.002501.
    const big = routed(route(order({ quantity: '4' }), cands, S));
    expect(big.venue).toBe('B');
    expect(score(big, 'A')).toMatchObject({ fee_bps: 5, slippage_bps: 42.521261, total_cost_bps: 47.521261 });
    expect(score(big, 'B')).toMatchObject({ fee_bps: 10, slippage_bps: 5.002501, total_cost_bps: 15.002501 });
    // Buy 1: both fill at 100; A's cheaper fee wins (10.002501 vs 15.002501).
    const small = routed(route(order({ quantity: '1' }), cands, S));
    expect(small.venue).toBe('A');
    expect(score(small, 'A').total_cost_bps).toBe(10.002501);
  });

  it('latency and rejection penalties can outweigh a cheaper fee; weights scale them', () => {
    const cands = [
      venue('A', { taker_fee: 0.0005, latency_ms: 200, rejection_rate: 0.1 }),
      venue('B', { taker_fee: 0.0006, latency_ms: 20, rejection_rate: 0 }),
    ];
    const d = routed(route(order(), cands, S));
    // A: 5 + 5.002501 + 200 × 0.01 + 0.1 × 50 = 17.002501; B: 6 + 5.002501 + 0.2 + 0 = 11.202501.
    expect(score(d, 'A')).toMatchObject({ latency_bps: 2, rejection_bps: 5, total_cost_bps: 17.002501 });
    expect(score(d, 'B')).toMatchObject({ latency_bps: 0.2, rejection_bps: 0, total_cost_bps: 11.202501 });
    expect(d.venue).toBe('B');
    // Latency and rejection weighted 0: fee decides (A 10.002501 < B 11.002501).
    const feeOnly = { ...S, weights: { fee: 1, slippage: 1, latency: 0, rejection: 0 } };
    const f = routed(route(order(), cands, feeOnly));
    expect(f.venue).toBe('A');
    expect(score(f, 'A').total_cost_bps).toBe(10.002501);
    // Components are reported unweighted.
    expect(score(f, 'A').latency_bps).toBe(2);
  });

  it('unknown latency uses default_latency_ms; rejection rate is clamped to [0, 1]', () => {
    const d = routed(route(order(), [venue('A', { latency_ms: null, rejection_rate: 3 })], S));
    // 250 ms × 0.01 = 2.5 bps; rate 1 × 50 = 50 bps.
    expect(score(d, 'A')).toMatchObject({ latency_bps: 2.5, rejection_bps: 50 });
    expect(d.reason).toBe('only eligible venue (cost 62.502501 bps)');
  });

  it('compares venues against one common reference: the best mid', () => {
    const cands = [
      venue('A', { depth: depth([[100, 10]], [[99.9, 10]]) }), // mid 99.95
      venue('B', { depth: depth([[101, 10]], [[100.9, 10]]) }), // mid 100.95
    ];
    // Buy: reference = lowest mid 99.95; B pays 101 → (101 − 99.95) / 99.95 × 10 000 = 105.052526.
    const buy = routed(route(order(), cands, S));
    expect(buy.venue).toBe('A');
    expect(score(buy, 'B').slippage_bps).toBe(105.052526);
    // Sell: reference = highest mid 100.95; B receives 100.9 → 4.952947; A receives 99.9 → 104.011887.
    const sell = routed(route(order({ side: 'SELL' }), cands, S));
    expect(sell.venue).toBe('B');
    expect(score(sell, 'B').slippage_bps).toBe(4.952947);
    expect(score(sell, 'A').slippage_bps).toBe(104.011887);
  });
});

describe('route: order types', () => {
  it('a resting LIMIT order pays the maker fee and no slippage; a marketable one pays taker', () => {
    const cands = [venue('A')];
    const resting = routed(route(order({ order_type: 'LIMIT', price: '99.95' }), cands, S));
    expect(score(resting, 'A')).toMatchObject({ fee_bps: 2, slippage_bps: 0, total_cost_bps: 2 });
    const marketable = routed(route(order({ order_type: 'LIMIT', price: '100' }), cands, S));
    expect(score(marketable, 'A')).toMatchObject({ fee_bps: 5, slippage_bps: 5.002501 });
    const sell = routed(route(order({ side: 'SELL', order_type: 'LIMIT', price: '99.9' }), cands, S));
    expect(score(sell, 'A').fee_bps).toBe(5);
  });

  it('a LIMIT order does not walk past its price; the rest is valued at the limit', () => {
    const a = venue('A', {
      depth: depth([
        [100, 10],
        [100.1, 10],
      ]),
    });
    // Buy 15 limit 100: 10 @ 100, 100.1 is beyond the limit, 5 rest @ 100 → avg 100.
    const d = routed(route(order({ order_type: 'LIMIT', price: '100', quantity: '15' }), [a], S));
    expect(score(d, 'A').slippage_bps).toBe(5.002501);
  });

  it('post-only (GTX): maker always; a venue where it would cross the book is ineligible', () => {
    const cands = [venue('A'), venue('B', { depth: depth([[99.97, 10]], [[99.9, 10]]) })];
    // Limit 99.98 crosses B's ask 99.97 but rests on A.
    const d = routed(route(order({ order_type: 'LIMIT', price: '99.98', time_in_force: 'GTX' }), cands, S));
    expect(d.venue).toBe('A');
    expect(score(d, 'A')).toMatchObject({ fee_bps: 2, slippage_bps: 0 });
    expect(score(d, 'B')).toMatchObject({ eligible: false, reason: 'post-only order would cross the book' });
  });

  it('missing depth costs the missing-depth penalty and assumes taker', () => {
    const d = routed(route(order(), [venue('A'), venue('C', { depth: null, taker_fee: 0.0001 })], S));
    expect(score(d, 'C')).toEqual({
      venue: 'C',
      eligible: true,
      total_cost_bps: 26,
      fee_bps: 1,
      slippage_bps: 25,
      latency_bps: 0,
      rejection_bps: 0,
      reason: 'no visible depth (penalty)',
    });
    expect(d.venue).toBe('A');
  });
});

describe('route: eligibility, tie-break, named venue', () => {
  it('excludes a circuit-open venue with its reason even when it is cheapest', () => {
    const d = routed(
      route(
        order(),
        [venue('A', { taker_fee: 0.001 }), venue('Z', { status: 'CIRCUIT_OPEN', taker_fee: 0 })],
        S,
      ),
    );
    expect(d.venue).toBe('A');
    expect(d.scores[1]).toEqual({
      venue: 'Z',
      eligible: false,
      total_cost_bps: null,
      fee_bps: null,
      slippage_bps: null,
      latency_bps: null,
      rejection_bps: null,
      reason: 'circuit open',
    });
  });

  it('no eligible venue → not routed, with every score', () => {
    const d = route(order(), [venue('A', { status: 'DOWN' }), venue('B', { status: 'UNKNOWN' })], S);
    expect(d).toMatchObject({ routed: false, reason: 'no eligible venue' });
    expect(d.scores.map((s) => [s.venue, s.reason])).toEqual([
      ['A', 'venue down'],
      ['B', 'venue state unknown'],
    ]);
    expect(route(order(), [], S)).toEqual({ routed: false, reason: 'no eligible venue', scores: [] });
  });

  it('DEGRADED venues pay the degraded penalty, or are ineligible when it is null', () => {
    const d = routed(route(order(), [venue('A', { status: 'DEGRADED' })], S));
    // 5 + 5.002501 + 10.
    expect(score(d, 'A')).toMatchObject({ total_cost_bps: 20.002501, reason: 'degraded (+10 bps)' });
    const strict = route(order(), [venue('A', { status: 'DEGRADED' })], { ...S, degraded_penalty_bps: null });
    expect(strict).toMatchObject({ routed: false, reason: 'no eligible venue' });
    expect(score(strict, 'A').reason).toBe('venue degraded (degraded venues are not eligible)');
  });

  it('tie-break: lower latency, then venue id, whatever the input order', () => {
    const noLatencyCost = { ...S, latency_cost_bps_per_ms: 0 };
    const byLatency = routed(
      route(order(), [venue('ALPHA', { latency_ms: 50 }), venue('BETA', { latency_ms: 20 })], noLatencyCost),
    );
    expect(byLatency.venue).toBe('BETA');
    expect(byLatency.reason).toBe('lowest cost 10.002501 bps, tied with ALPHA: lower latency');
    for (const cands of [
      [venue('ALPHA'), venue('BETA')],
      [venue('BETA'), venue('ALPHA')],
    ]) {
      const d = routed(route(order(), cands, S));
      expect(d.venue).toBe('ALPHA');
      expect(d.scores.map((s) => s.venue)).toEqual(['ALPHA', 'BETA']);
      expect(d.reason).toBe('lowest cost 10.002501 bps, tied with BETA on cost and latency: venue id order');
    }
  });

  it('an order naming its venue skips scoring but the venue must be an eligible candidate', () => {
    const cands = [venue('A'), venue('B', { taker_fee: 0.01 }), venue('Z', { status: 'CIRCUIT_OPEN' })];
    const d = routed(route(order({ venue: 'B' }), cands, S));
    expect(d).toMatchObject({ venue: 'B', account_id: 'B-acct', reason: 'venue named by order' });
    expect(d.scores).toEqual([
      {
        venue: 'A',
        eligible: true,
        total_cost_bps: null,
        fee_bps: null,
        slippage_bps: null,
        latency_bps: null,
        rejection_bps: null,
      },
      {
        venue: 'B',
        eligible: true,
        total_cost_bps: null,
        fee_bps: null,
        slippage_bps: null,
        latency_bps: null,
        rejection_bps: null,
        reason: 'venue named by order',
      },
      {
        venue: 'Z',
        eligible: false,
        total_cost_bps: null,
        fee_bps: null,
        slippage_bps: null,
        latency_bps: null,
        rejection_bps: null,
        reason: 'circuit open',
      },
    ]);
    expect(route(order({ venue: 'Z' }), cands, S)).toMatchObject({
      routed: false,
      reason: 'venue Z named by order is not eligible: circuit open',
    });
    expect(route(order({ venue: 'OKX' }), cands, S)).toMatchObject({
      routed: false,
      reason: 'venue OKX named by order is not a candidate for this instrument',
    });
  });

  it('smart execution disabled: first eligible venue in preference (candidate) order', () => {
    const off = { ...S, smart_execution_enabled: false };
    const d = routed(
      route(
        order(),
        [venue('Z', { status: 'CIRCUIT_OPEN' }), venue('B', { taker_fee: 0.01 }), venue('A')],
        off,
      ),
    );
    expect(d.venue).toBe('B');
    expect(d.reason).toBe('smart execution disabled: first eligible venue in preference order');
    // Scores are still computed and ranked for the record.
    expect(d.scores.map((s) => s.venue)).toEqual(['A', 'B', 'Z']);
  });

  it('is deterministic and pure', () => {
    const cands = [venue('A', { taker_fee: 0.0004 }), venue('B')];
    const snapshot = JSON.stringify(cands);
    expect(route(order(), cands, S)).toEqual(route(order(), cands, S));
    expect(JSON.stringify(cands)).toBe(snapshot);
  });

  it('duplicate candidates: the first one counts', () => {
    const d = routed(route(order(), [venue('A'), venue('A', { taker_fee: 0 })], S));
    expect(d.scores.map((s) => [s.venue, s.eligible, s.reason])).toEqual([
      ['A', true, undefined],
      ['A', false, 'duplicate candidate'],
    ]);
    expect(score(d, 'A').fee_bps).toBe(5);
  });
});

describe('walkDepth / roundBps', () => {
  it('prices quantity beyond the visible depth with the penalty, capped at the limit', () => {
    const asks = [{ price: 100, size: 1 }];
    // Market buy 3: 1 @ 100 + 2 @ 100.5 = 301 → 100.333…
    expect(walkDepth(asks, 3, true, null, 50).avg_price).toBeCloseTo(301 / 3, 12);
    // Limit 100.2: the beyond-depth price 100.5 is capped at 100.2 → (100 + 200.4) / 3.
    expect(walkDepth(asks, 3, true, 100.2, 50)).toEqual({ avg_price: 300.4 / 3, visible_qty: 1 });
    // Sell side: 1 @ 99.9, 1 beyond @ 99.9 × 0.995 = 99.4005.
    expect(walkDepth([{ price: 99.9, size: 1 }], 2, false, null, 50).avg_price).toBeCloseTo(
      (99.9 + 99.4005) / 2,
      12,
    );
  });

  it('skips empty or invalid levels', () => {
    const levels = [
      { price: 100, size: 0 },
      { price: 0, size: 5 },
      { price: 100.5, size: 2 },
    ];
    expect(walkDepth(levels, 2, true, null, 50)).toEqual({ avg_price: 100.5, visible_qty: 2 });
  });

  it('rounds to 1e-6 bps and never returns −0', () => {
    expect(roundBps(0.50002500125)).toBe(0.500025);
    expect(Object.is(roundBps(-1e-9), 0)).toBe(true);
  });
});

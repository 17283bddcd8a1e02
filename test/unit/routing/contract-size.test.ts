import { describe, expect, it } from 'vitest';
import type { OrderInstruction } from '../../../shared/domain/types.ts';
import { DEFAULT_ROUTER_SETTINGS } from '../../../shared/routing/config.ts';
import { route } from '../../../shared/routing/router.ts';
import type { VenueCandidate } from '../../../shared/routing/types.ts';

const order: OrderInstruction = {
  operation_id: 'OP-1',
  instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
  side: 'BUY',
  quantity: '2',
  price: null,
  order_type: 'MARKET',
  time_in_force: 'GTC',
  strategy_id: 's',
  exec_algorithm: 'NORMAL',
  exec_algorithm_params: {},
};

const cand = (venue: string, askSize: number, extra: Partial<VenueCandidate> = {}): VenueCandidate => ({
  venue,
  status: 'UP',
  maker_fee: 0.0002,
  taker_fee: 0.0005,
  depth: {
    asks: [
      { price: 100, size: askSize },
      { price: 101, size: 1_000_000 },
    ],
    bids: [{ price: 99.9, size: askSize }],
  },
  latency_ms: 0,
  rejection_rate: 0,
  ...extra,
});

describe('router: book sizes in contracts', () => {
  it('walks a venue whose book counts 0.01 BTC contracts in contracts, not in BTC', () => {
    // OKX shows 150 contracts (1.5 BTC) at the best ask: a 2 BTC order takes 150 @ 100 and 50 @ 101.
    const okx = cand('OKX', 150, { depth_unit: 0.01 });
    // Read as BTC, 150 at the best ask would cover the whole order at 100.
    const d = route(order, [okx], DEFAULT_ROUTER_SETTINGS);
    const s = d.scores.find((x) => x.venue === 'OKX');
    // avg = (150 × 100 + 50 × 101) / 200 = 100.25; reference = best mid 99.95 → 30.015008 bps.
    expect(s?.slippage_bps).toBe(30.015008);
    const unscaled = route(order, [cand('OKX', 150)], DEFAULT_ROUTER_SETTINGS).scores[0];
    expect(unscaled?.slippage_bps).toBe(5.002501);
  });
});

import { describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import {
  buildCandidates,
  ROUTER_DEFAULTS,
  rejectionRate,
  routerSettingsFromConfig,
} from '../../../shared/routing/config.ts';
import { route } from '../../../shared/routing/router.ts';

const book = { bids: [{ price: 99.9, size: 10 }], asks: [{ price: 100, size: 10 }] };

describe('routerSettingsFromConfig', () => {
  it('takes weights, costs and candidates from cfg.router and venue facts from cfg.venues', () => {
    const cfg = parseConfig(EMBEDDED_CONFIG, { env: {} });
    const s = routerSettingsFromConfig(cfg.router, cfg.venues);
    expect(s).toEqual({
      smart_execution_enabled: true,
      weights: { fee: 1, slippage: 1, latency: 1, rejection: 1 },
      latency_cost_bps_per_ms: 0.01,
      rejection_penalty_bps: 50,
      ...ROUTER_DEFAULTS,
      candidates: {
        SPOT_PAIR: ['BINANCE-SPOT', 'SIM'],
        PERPETUAL: ['SIM'],
        FUTURE: ['SIM'],
        OPTION: ['SIM'],
        STOCK: [],
      },
      venues: {
        SIM: { maker_fee: null, taker_fee: null, latency_ms: 1, account_id: 'SIM' },
        'BINANCE-SPOT': { maker_fee: 0.001, taker_fee: 0.001, latency_ms: 1, account_id: 'BINANCE-SPOT' },
      },
    });
    expect(
      routerSettingsFromConfig(cfg.router, cfg.venues, { degraded_penalty_bps: null }).degraded_penalty_bps,
    ).toBeNull();
  });

  it('drops disabled venues from the candidate lists', () => {
    const cfg = parseConfig(
      {
        ...EMBEDDED_CONFIG,
        venues: [EMBEDDED_CONFIG.venues[0], { ...EMBEDDED_CONFIG.venues[1], enabled: false }],
      },
      { env: {} },
    );
    expect(routerSettingsFromConfig(cfg.router, cfg.venues).candidates.SPOT_PAIR).toEqual(['SIM']);
  });
});

describe('buildCandidates', () => {
  const cfg = parseConfig(EMBEDDED_CONFIG, { env: {} });
  const settings = routerSettingsFromConfig(cfg.router, cfg.venues);

  it('lists the instrument type candidates in preference order with live state and fee fallbacks', () => {
    const c = buildCandidates(settings, 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT', {
      'BINANCE-SPOT': { status: 'UP', depth: book, latency_ms: 12, rejection_rate: rejectionRate(2, 100) },
      SIM: { status: 'CIRCUIT_OPEN', depth: null, maker_fee: 0.0001, taker_fee: 0.0003 },
    });
    expect(c).toEqual([
      {
        venue: 'BINANCE-SPOT',
        account_id: 'BINANCE-SPOT',
        status: 'UP',
        maker_fee: 0.001,
        taker_fee: 0.001,
        depth: book,
        latency_ms: 12,
        rejection_rate: 0.02,
      },
      {
        venue: 'SIM',
        account_id: 'SIM',
        status: 'CIRCUIT_OPEN',
        maker_fee: 0.0001,
        taker_fee: 0.0003,
        depth: null,
        latency_ms: 1,
        rejection_rate: null,
      },
    ]);
    const d = route(
      {
        operation_id: 'OP-1',
        instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
        side: 'BUY',
        quantity: '1',
        price: null,
        order_type: 'MARKET',
        time_in_force: 'GTC',
        strategy_id: 's',
        exec_algorithm: 'NORMAL',
        exec_algorithm_params: {},
      },
      c,
      settings,
    );
    expect(d).toMatchObject({ routed: true, venue: 'BINANCE-SPOT', account_id: 'BINANCE-SPOT' });
  });

  it('a venue without live state is UNKNOWN (ineligible); unconfigured fees fall back to 0', () => {
    const c = buildCandidates(settings, 'PERPETUAL', {});
    expect(c).toEqual([
      {
        venue: 'SIM',
        account_id: 'SIM',
        status: 'UNKNOWN',
        maker_fee: 0,
        taker_fee: 0,
        depth: null,
        latency_ms: 1,
        rejection_rate: null,
      },
    ]);
    expect(buildCandidates(settings, 'not-an-id', {})).toEqual([]);
  });

  it('rejectionRate is rejections over orders, 0 without orders', () => {
    expect(rejectionRate(3, 100)).toBe(0.03);
    expect(rejectionRate(0, 0)).toBe(0);
  });
});

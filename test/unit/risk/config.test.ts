import { describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import { riskLimitsFromConfig } from '../../../shared/risk/config.ts';
import { evaluate } from '../../../shared/risk/engine.ts';
import { BTC, ctx, NOW, order } from './fixtures.ts';

describe('riskLimitsFromConfig', () => {
  it('maps the embedded config, absent optional limits becoming null', () => {
    const cfg = parseConfig(EMBEDDED_CONFIG, { env: {} });
    expect(riskLimitsFromConfig(cfg.risk)).toEqual({
      enabled: true,
      max_orders_per_second: 10,
      max_orders_per_minute: 100,
      max_notional_per_order: '1000000',
      max_total_notional: '10000000',
      max_position_global: null,
      price_tolerance_bps: 500,
      min_free_balance: '0',
      per_strategy: {},
      per_instrument: {},
    });
  });

  it('maps per-strategy and per-instrument limits, and the engine enforces them', () => {
    const cfg = parseConfig(
      {
        ...EMBEDDED_CONFIG,
        risk: {
          ...EMBEDDED_CONFIG.risk,
          min_free_balance: '250',
          max_position_global: '3',
          per_strategy: { momo: { max_orders_per_second: 2, max_position: '1.5' } },
          per_instrument: { [BTC]: { max_position: '2', min_order_size: '0.01', max_order_size: '1' } },
        },
      },
      { env: {} },
    );
    const limits = riskLimitsFromConfig(cfg.risk);
    expect(limits.per_strategy).toEqual({
      momo: {
        max_orders_per_second: 2,
        max_orders_per_minute: null,
        max_notional_per_order: null,
        max_position: '1.5',
      },
    });
    expect(limits.per_instrument).toEqual({
      [BTC]: { max_position: '2', min_order_size: '0.01', max_order_size: '1', max_notional_per_order: null },
    });
    expect(limits.min_free_balance).toBe('250');
    expect(limits.max_position_global).toBe('3');
    const d = evaluate(order({ quantity: '1.2' }), ctx(), limits, NOW);
    expect(d).toMatchObject({ approved: false, rule: 'order_size_max', limit: '1', observed: '1.2' });
    // 500 bps default tolerance: 50000 × 1.05 = 52500.
    const t = evaluate(order({ order_type: 'LIMIT', price: '52500.01' }), ctx(), limits, NOW);
    expect(t).toMatchObject({ approved: false, rule: 'price_tolerance', limit: '52500' });
  });
});

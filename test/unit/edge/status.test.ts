/**
 * The operators' view of a venue session (stateful/edge/status.ts) and the venue budgets it shows
 * (infra/ccxt/limits.ts `budgets()`): GREEN / AMBER / RED with the reasons, message age, breaker,
 * budgets, reconciliation, drift.
 */
import { describe, expect, it } from 'vitest';
import { rateLimitBudgetsOf, VenueRateLimiter } from '../../../infra/ccxt/limits.ts';
import { createIbVenue } from '../../../infra/ib/venue.ts';
import { createShadowVenue } from '../../../infra/shadow/venue.ts';
import { parseConfig } from '../../../shared/config/schema.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { ReconciliationReport } from '../../../stateful/edge/reconcile/reconciler.ts';
import {
  DEFAULT_STATUS_THRESHOLDS,
  snapshotVenueSession,
  statusThresholdsFor,
  type VenueSessionInputs,
} from '../../../stateful/edge/status.ts';
import { SyntheticDataVenue } from '../../../stateful/venues/simulated/data-venue.ts';
import { FakeDataVenue } from '../shadow/fake-data-venue.ts';

const NOW: Nanos = 1_751_371_200_000_000_000n;
const ms = (n: number): Nanos => BigInt(n) * NANOS_PER_MILLI;

function inputs(
  over: Partial<VenueSessionInputs> = {},
  session: Partial<VenueSessionInputs['session']> = {},
) {
  return {
    session: {
      venue: 'BINANCE-SPOT',
      mode: 'LIVE',
      connected: true,
      private_stream: 'up' as const,
      public_stream: 'up' as const,
      health: 'up',
      working_orders: 1,
      active_algorithms: 0,
      last_error: null,
      last_message_at: NOW - ms(1_200),
      ...session,
    },
    health: { state: 'up' as const },
    breaker: 'closed' as const,
    budgets: [
      {
        name: 'REQUEST_WEIGHT_1M',
        kind: 'weight' as const,
        used: 120,
        limit: 6000,
        window_ms: 60_000,
        refill_ms: 41_000,
      },
    ],
    reconciliation: null,
    reconciling: true,
    drift: new Map(),
    ...over,
  } satisfies VenueSessionInputs;
}

function report(
  status: ReconciliationReport['status'],
  extra: Partial<ReconciliationReport> = {},
): ReconciliationReport {
  return {
    venue: 'BINANCE-SPOT',
    run_id: 'r1',
    status,
    ts_started: NOW - ms(5_000),
    ts_finished: NOW - ms(4_000),
    since: NOW - ms(86_400_000),
    queried: {
      instruments: [],
      our_orders: 0,
      open_orders: 0,
      lookups: 0,
      trades: 0,
      balances: null,
      positions: null,
    },
    differences: [],
    corrections: [],
    recorded: 0,
    resolved: [],
    open: [],
    errors: [],
    unlisted: [],
    ...extra,
  };
}

describe('snapshotVenueSession', () => {
  it('a connected session with a fresh message, room in its budgets and a clean reconciliation is GREEN', () => {
    const s = snapshotVenueSession(inputs({ reconciliation: report('OK') }), NOW);
    expect(s.state).toBe('GREEN');
    expect(s.reasons).toEqual([]);
    expect(s.last_message_age_ms).toBe(1_200);
    expect(s.rate_limits).toEqual([
      expect.objectContaining({ name: 'REQUEST_WEIGHT_1M', used: 120, limit: 6000, used_fraction: 0.02 }),
    ]);
    expect(s.reconciliation).toMatchObject({ status: 'OK', run_id: 'r1', age_ms: 4_000, open: 0 });
    expect(s.drift).toEqual({ state: 'NONE', instruments: [] });
  });

  it('a stale last message turns AMBER, then RED, even while the session says connected', () => {
    const amber = snapshotVenueSession(inputs({}, { last_message_at: NOW - ms(20_000) }), NOW);
    expect(amber.state).toBe('AMBER');
    expect(amber.reasons).toEqual(['last message 20 s ago']);
    const red = snapshotVenueSession(inputs({}, { last_message_at: NOW - ms(90_000) }), NOW);
    expect(red.state).toBe('RED');
    expect(red.reasons).toEqual(['last message 90 s ago']);
    const tight = snapshotVenueSession(inputs({}, { last_message_at: NOW - ms(3_000) }), NOW, {
      stale_amber_ms: 2_000,
      stale_red_ms: 10_000,
      budget_amber: 0.8,
    });
    expect(tight.state).toBe('AMBER');
  });

  it('disconnected, an open breaker or a down private stream is RED with every reason listed', () => {
    const s = snapshotVenueSession(
      inputs(
        { breaker: 'open', health: { state: 'circuit_open', detail: '5 failures' } },
        {
          connected: false,
          private_stream: 'down',
        },
      ),
      NOW,
    );
    expect(s.state).toBe('RED');
    expect(s.reasons).toEqual(['not connected', 'private stream down', 'circuit breaker open']);
    expect(s.breaker).toBe('open');
  });

  it('the breaker falls back to the adapter health when the adapter has no breaker of its own', () => {
    const s = snapshotVenueSession(inputs({ breaker: null, health: { state: 'circuit_open' } }), NOW);
    expect(s.breaker).toBe('open');
    expect(s.state).toBe('RED');
  });

  it('a budget near its limit or spent is AMBER with the time to refill', () => {
    const near = snapshotVenueSession(
      inputs({
        budgets: [
          { name: 'ORDERS_10S', kind: 'orders', used: 85, limit: 100, window_ms: 10_000, refill_ms: 2_500 },
        ],
      }),
      NOW,
    );
    expect(near.state).toBe('AMBER');
    expect(near.reasons).toEqual(['ORDERS_10S budget 85% used']);
    const spent = snapshotVenueSession(
      inputs({
        budgets: [
          { name: 'ORDERS_10S', kind: 'orders', used: 100, limit: 100, window_ms: 10_000, refill_ms: 2_500 },
        ],
      }),
      NOW,
    );
    expect(spent.reasons).toEqual(['ORDERS_10S budget spent (refills in 3 s)']);
  });

  it('a simulated venue has no budgets and no message yet is AMBER while connected', () => {
    const s = snapshotVenueSession(
      inputs({ budgets: null }, { mode: 'SIMULATED', last_message_at: null }),
      NOW,
    );
    expect(s.rate_limits).toBeNull();
    expect(s.last_message_age_ms).toBeNull();
    expect(s.state).toBe('AMBER');
    expect(s.reasons).toEqual(['no message from the venue yet']);
  });

  it('reconciliation: differences and failures are AMBER, corrections are shown but not a warning, none running is null', () => {
    const diff = snapshotVenueSession(
      inputs({ reconciliation: report('DIFFERENCES', { open: ['a', 'b'] }) }),
      NOW,
    );
    expect(diff.state).toBe('AMBER');
    expect(diff.reasons).toEqual(['reconciliation DIFFERENCES: 2 open difference(s)']);
    const degraded = snapshotVenueSession(
      inputs({ reconciliation: report('DEGRADED', { errors: ['timeout'] }) }),
      NOW,
    );
    expect(degraded.reasons).toEqual(['reconciliation DEGRADED: timeout']);
    const corrected = snapshotVenueSession(inputs({ reconciliation: report('CORRECTED') }), NOW);
    expect(corrected.state).toBe('GREEN');
    expect(corrected.reconciliation?.status).toBe('CORRECTED');
    const notRun = snapshotVenueSession(inputs(), NOW);
    expect(notRun.reconciliation).toMatchObject({ status: 'NOT_RUN', run_id: null, age_ms: null });
    expect(snapshotVenueSession(inputs({ reconciling: false }), NOW).reconciliation).toBeNull();
  });

  it('drift: recent alerts are ALERTING, persistent drift is PERSISTENT and AMBER', () => {
    const alerting = snapshotVenueSession(
      inputs({
        drift: new Map([
          ['BTC-USDT', { alerts: [NOW - ms(10)], ewma: 12.345, samples: 3, persistent: false }],
        ]),
      }),
      NOW,
    );
    expect(alerting.drift).toEqual({
      state: 'ALERTING',
      instruments: [
        { instrument_key: 'BTC-USDT', persistent: false, ewma_bps: 12.35, samples: 3, recent_alerts: 1 },
      ],
    });
    expect(alerting.state).toBe('GREEN');
    const persistent = snapshotVenueSession(
      inputs({ drift: new Map([['BTC-USDT', { alerts: [NOW], ewma: 80, samples: 9, persistent: true }]]) }),
      NOW,
    );
    expect(persistent.drift.state).toBe('PERSISTENT');
    expect(persistent.state).toBe('AMBER');
    expect(persistent.reasons).toEqual(['persistent drift on BTC-USDT']);
  });
});

describe('VenueRateLimiter.budgets', () => {
  it('reports used / limit / window per budget and the time until the oldest usage ages out', async () => {
    let now = 1_000;
    const l = new VenueRateLimiter(
      {
        weight: [{ name: 'W', limit: 10, windowMs: 1_000 }],
        orders: [{ name: 'O', limit: 2, windowMs: 500 }],
        orderOperations: ['createOrder'],
      },
      () => now,
      async (d) => {
        now += d;
      },
    );
    expect(l.budgets()).toEqual([
      { name: 'W', kind: 'weight', used: 0, limit: 10, window_ms: 1_000, refill_ms: 0 },
      { name: 'O', kind: 'orders', used: 0, limit: 2, window_ms: 500, refill_ms: 0 },
    ]);
    await l.acquireWeight(4);
    now += 300;
    await l.acquireWeight(2);
    await l.acquireOrder('createOrder');
    expect(l.budgets()).toEqual([
      { name: 'W', kind: 'weight', used: 6, limit: 10, window_ms: 1_000, refill_ms: 700 },
      { name: 'O', kind: 'orders', used: 1, limit: 2, window_ms: 500, refill_ms: 500 },
    ]);
    now += 800; // the first 4 and the order have aged out
    expect(l.budgets()).toEqual([
      { name: 'W', kind: 'weight', used: 2, limit: 10, window_ms: 1_000, refill_ms: 200 },
      { name: 'O', kind: 'orders', used: 0, limit: 2, window_ms: 500, refill_ms: 0 },
    ]);
  });
});

describe('staleness limits from the configuration', () => {
  const config = parseConfig(
    {
      status: { stale_amber_ms: 20_000 },
      venues: [
        { id: 'BINANCE-SPOT', exchange: 'binance', mode: 'SHADOW' },
        { id: 'IBKR', exchange: 'ibkr', mode: 'SHADOW', ib: {}, status: { stale_red_ms: 900_000 } },
        {
          id: 'OKX',
          exchange: 'okx',
          mode: 'SHADOW',
          status: { stale_amber_ms: 5_000, stale_red_ms: 10_000 },
        },
      ],
    },
    { env: {} },
  );

  it("a venue's own limits replace the platform default, field by field", () => {
    expect(statusThresholdsFor(config, 'BINANCE-SPOT')).toEqual({
      ...DEFAULT_STATUS_THRESHOLDS,
      stale_amber_ms: 20_000,
      stale_red_ms: 60_000,
    });
    expect(statusThresholdsFor(config, 'IBKR')).toMatchObject({
      stale_amber_ms: 20_000,
      stale_red_ms: 900_000,
    });
    expect(statusThresholdsFor(config, 'OKX')).toMatchObject({ stale_amber_ms: 5_000, stale_red_ms: 10_000 });
    expect(statusThresholdsFor(parseConfig({}, { env: {} }), 'SIM')).toEqual(DEFAULT_STATUS_THRESHOLDS);
  });

  it('the same silence is judged by each venue its own limits, and the snapshot shows them', () => {
    const quiet = inputs({}, { last_message_at: NOW - ms(120_000) });
    const binance = snapshotVenueSession(quiet, NOW, statusThresholdsFor(config, 'BINANCE-SPOT'));
    expect(binance.state).toBe('RED');
    expect(binance.stale_limits_ms).toEqual({ amber: 20_000, red: 60_000 });
    const ib = snapshotVenueSession(quiet, NOW, statusThresholdsFor(config, 'IBKR'));
    expect(ib.state).toBe('AMBER');
    expect(ib.reasons).toEqual(['last message 120 s ago']);
    expect(ib.stale_limits_ms).toEqual({ amber: 20_000, red: 900_000 });
    const okx = snapshotVenueSession(
      inputs({}, { last_message_at: NOW - ms(7_000) }),
      NOW,
      statusThresholdsFor(config, 'OKX'),
    );
    expect(okx.state).toBe('AMBER');
    const fresh = snapshotVenueSession(
      inputs({}, { last_message_at: NOW - ms(7_000) }),
      NOW,
      statusThresholdsFor(config, 'BINANCE-SPOT'),
    );
    expect(fresh.state).toBe('GREEN');
  });
});

describe('venue budgets of SHADOW and IBKR sessions', () => {
  /** A market-data session that paces by venue budgets, as the ccxt adapter does. */
  class PacedDataVenue extends FakeDataVenue {
    readonly limiter = new VenueRateLimiter(
      {
        weight: [{ name: 'REQUEST_WEIGHT_1M', limit: 6_000, windowMs: 60_000 }],
        orders: [{ name: 'ORDERS_10S', limit: 100, windowMs: 10_000 }],
        orderOperations: ['createOrder'],
      },
      () => 1_000,
    );
    rateLimitBudgets() {
      return this.limiter.budgets();
    }
  }

  it("a SHADOW venue shows its market-data session's budgets: its requests spend the venue's", async () => {
    const data = new PacedDataVenue('BINANCE-SPOT');
    const clock = new TestClock(NOW);
    const shadow = createShadowVenue({
      id: 'BINANCE-SPOT',
      account_id: 'shadow-1',
      data,
      instruments: [],
      clock,
    });
    await data.limiter.acquireWeight(20);
    expect(shadow.rateLimitBudgets()).toEqual([
      {
        name: 'REQUEST_WEIGHT_1M',
        kind: 'weight',
        used: 20,
        limit: 6_000,
        window_ms: 60_000,
        refill_ms: 60_000,
      },
      { name: 'ORDERS_10S', kind: 'orders', used: 0, limit: 100, window_ms: 10_000, refill_ms: 0 },
    ]);
    const snap = snapshotVenueSession(
      inputs({ budgets: rateLimitBudgetsOf(shadow) }, { mode: 'SHADOW' }),
      NOW,
    );
    expect(snap.rate_limits?.map((b) => [b.name, b.used, b.used_fraction])).toEqual([
      ['REQUEST_WEIGHT_1M', 20, 0.0033],
      ['ORDERS_10S', 0, 0],
    ]);
    await shadow.close();
  });

  it('a SHADOW venue on a data session without budgets (the synthetic market) shows none', async () => {
    const clock = new TestClock(NOW);
    const sim = createShadowVenue({
      id: 'SIM',
      account_id: 'SIM',
      data: new SyntheticDataVenue({ id: 'SIM', instruments: [], clock, seed: 1 }),
      instruments: [],
      clock,
    });
    expect(sim.rateLimitBudgets()).toBeNull();
    expect(rateLimitBudgetsOf(sim)).toBeNull();
    expect(rateLimitBudgetsOf(new FakeDataVenue('X'))).toBeNull();
    await sim.close();
  });

  it("an IBKR session shows IB's message budget", () => {
    const ib = createIbVenue({
      venue: {
        id: 'IBKR',
        mode: 'LIVE',
        ib: {
          host: '127.0.0.1',
          port: 7497,
          client_id: 0,
          market_data_type: 'delayed',
          outside_hours: 'refuse',
        },
        rate_limit_per_second: 10,
      },
      accountId: 'ib-1',
      clock: new TestClock(NOW),
      instrumentKeys: [],
    });
    expect(rateLimitBudgetsOf(ib)).toEqual([
      { name: 'MESSAGES_1S', kind: 'weight', used: 0, limit: 45, window_ms: 1_000, refill_ms: 0 },
    ]);
  });
});

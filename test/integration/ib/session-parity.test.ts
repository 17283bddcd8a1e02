/**
 * Trading-session parity: one parent out of hours through the three shells of the execution core —
 * (a) the backtest window, (b) the venue edge over a SHADOW venue whose market data comes from an
 * IBKR session, (c) the venue edge LIVE over the IBKR adapter — against the local TWS (the real
 * `@stoqey/ib` client, US-equity hours 09:30–16:00 New York) with one controllable clock. The
 * schedule is the contract's, read once from TWS; every shell must make the same child decisions:
 * denied by `trading_hours` with the same reason (`refuse`), or held and sent at the same instant,
 * the open (`queue`) — also when the edge restarts while the parent is held.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalTws, startLocalTws, type TwsSession } from '../../../dev/local-tws/index.ts';
import { createIbVenue } from '../../../infra/ib/index.ts';
import { loadInstrumentsFile } from '../../../infra/instruments/catalog.ts';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { createShadowVenue } from '../../../infra/shadow/venue.ts';
import { ORDER_UPDATES_TOPIC, routedAttributes, routedSubmitMessage } from '../../../shared/app/messages.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import { planWindows } from '../../../shared/backtest/planner.ts';
import { simulateWindow } from '../../../shared/backtest/window.ts';
import { type AppConfig, parseConfig } from '../../../shared/config/schema.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { ExecAlgorithm, InstrumentSpec } from '../../../shared/domain/types.ts';
import type { OutsideHoursPolicy, TradingSchedule } from '../../../shared/execution/session.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import type { Venue } from '../../../shared/ports/venue.ts';
import { riskLimitsFromConfig } from '../../../shared/risk/config.ts';
import type { VenueEdge } from '../../../stateful/edge/index.ts';
import { signal } from '../../unit/backtest/fixtures.ts';
import { RecordingBus } from '../../unit/edge/harness.ts';
import {
  childName,
  NO_LATENCY,
  parityEdge,
  type Tick,
  windowTicks,
} from '../../unit/execution/parity-harness.ts';
import { createRoutedOrder } from '../../unit/venues/fixtures.ts';
import { localTwsVenueOptions, SPY } from './harness.ts';

const S = 1_000_000_000n;
/** Monday 7 December 2026, 09:29 New York: a minute before the open. */
const T0_ISO = '2026-12-07T14:29:00Z';
const T0 = isoToNanos(T0_ISO);
const OPEN = isoToNanos('2026-12-07T14:30:00Z');
const NEXT_OPEN = 'outside trading hours (next session opens 2026-12-07T14:30:00.000000000Z)';
const STRATEGY = 'eq';
const ACCOUNT = 'ib-test';

/** Regular hours only (TWS takes orders exactly when they trade): Monday–Friday 09:30–16:00 New York. */
const RTH: TwsSession = {
  name: 'US equities, regular hours',
  timeZoneId: 'US/Eastern',
  trading: [[], [[570, 960]], [[570, 960]], [[570, 960]], [[570, 960]], [[570, 960]], []],
  liquid: null,
};

const SPY_SPEC = (await loadInstrumentsFile()).find((i) => i.instrument_key === SPY) as InstrumentSpec;

interface Scenario {
  algorithm: ExecAlgorithm;
  params: Record<string, unknown>;
  quantity: string;
  policy: OutsideHoursPolicy;
}

/** A child decision, comparable across shells. */
interface Decision {
  child: string;
  status: string;
  submitted: string;
  reason: string | null;
}

const DECIDED = ['DENIED', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED'];
const decisionOf = (d: Decision): Decision => ({
  ...d,
  // Whether a sent child filled is the market's business (the window's ticks, TWS's book): sent is sent.
  status: d.status === 'DENIED' ? 'DENIED' : 'SENT',
});

// ---------------------------------------------------------------------------------------------
// (a) the backtest window
// ---------------------------------------------------------------------------------------------

/** A flat book around 600 every second from a second before the window to two minutes into it. */
function ticks(): Tick[] {
  const out: Tick[] = [];
  for (let i = -1; i <= 120; i++)
    out.push({ t: T0 + BigInt(i) * S, kind: 'book', bid: 599.99, ask: 600.01, size: 500 });
  return out;
}

function backtest(sc: Scenario, schedule: TradingSchedule, config: AppConfig): Decision[] {
  const plan = planWindows(
    [
      signal(1, T0_ISO, sc.quantity, {
        instrument_key: SPY,
        spec: SPY_SPEC,
        strategy_id: STRATEGY,
        exec_algorithm: sc.algorithm,
        exec_algorithm_params: sc.params,
      }),
    ],
    { window_minutes: 2, seed: 42 },
  );
  const w = plan.windows[0];
  if (w === undefined) throw new Error('no window');
  const r = simulateWindow({
    window: w,
    settings: { ...DEFAULT_BACKTEST_SETTINGS, latency: NO_LATENCY },
    limits: riskLimitsFromConfig(config.risk),
    ticks: windowTicks(ticks()),
    session: { schedule, policy: sc.policy },
  });
  return r.orders
    .filter((o) => o.parent_order_id !== null && DECIDED.includes(o.status))
    .map((o) => ({
      child: childName(o.order_id, r.window_id),
      status: o.status,
      submitted: o.ts_submitted_ns,
      reason: o.status === 'DENIED' ? o.reason : null,
    }));
}

// ---------------------------------------------------------------------------------------------
// (b), (c) the venue edge over SHADOW (IB data) or LIVE (the IB adapter)
// ---------------------------------------------------------------------------------------------

function edgeConfig(
  mode: 'LIVE' | 'SHADOW',
  policy: OutsideHoursPolicy,
  tws: Pick<LocalTws, 'host' | 'port'>,
): AppConfig {
  return parseConfig(
    {
      venues: [
        {
          id: 'IBKR',
          exchange: 'ibkr',
          mode,
          instrument_types: ['STOCK', 'FUTURE'],
          accounts: [{ account_id: ACCOUNT, base_currency: 'USD' }],
          ib: { host: tws.host, port: tws.port, client_id: 1, outside_hours: policy },
          shadow: { starting_cash: '10000000' },
        },
      ],
      risk: { trading_state_poll_ms: 500, max_orders_per_second: 1000, max_orders_per_minute: 100_000 },
      storage: { order_store: 'local', bus: 'memory', blob: 'local', data_dir: '.data-unused' },
    },
    { env: {} },
  );
}

let clientSeq = 100;

class EdgeOverIb {
  readonly orders = LocalOrderStore.memory();
  readonly positions = LocalPositionStore.memory();
  readonly algoStates = LocalAlgoStateStore.memory();
  readonly tradingStore = LocalTradingStateStore.memory();
  readonly bus = new RecordingBus();
  readonly reader: CachedTradingStateReader;
  edge: VenueEdge | null = null;
  op: string | null = null;

  constructor(
    readonly mode: 'LIVE' | 'SHADOW',
    readonly config: AppConfig,
    readonly tws: LocalTws,
    readonly clock: TestClock,
  ) {
    this.reader = new CachedTradingStateReader(this.tradingStore, { pollMs: 500, clock });
  }

  private venue(): Venue {
    const session = createIbVenue({
      ...localTwsVenueOptions(this.tws, { clientId: ++clientSeq, clock: this.clock, accountId: ACCOUNT }),
    });
    if (this.mode === 'LIVE') return session;
    return createShadowVenue({
      id: 'IBKR',
      account_id: ACCOUNT,
      data: session,
      instruments: [SPY_SPEC],
      clock: this.clock,
      latency: 0,
      tickMs: 0,
      startingCash: '10000000',
    });
  }

  /** A new edge process over the same stores (the first, or one after a restart). */
  async start(): Promise<void> {
    this.edge = parityEdge(this, this.config, new Map([['IBKR', this.venue()]]), SPY_SPEC);
    await this.edge.start();
    await this.settle();
  }

  async stop(): Promise<void> {
    await this.edge?.stop();
    this.edge = null;
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 8; i++) {
      await this.bus.inner.idle();
      await new Promise<void>((r) => setTimeout(r, 5));
      await this.edge?.idle();
    }
  }

  async route(sc: Scenario): Promise<void> {
    const order = await createRoutedOrder(
      this.orders,
      `OP-${this.mode}-${sc.algorithm}-${sc.policy}`,
      {
        side: 'BUY',
        quantity: sc.quantity,
        strategy_id: STRATEGY,
        instrument_key: SPY,
        exec_algorithm: sc.algorithm,
        exec_algorithm_params: sc.params,
      },
      { venue: 'IBKR', account_id: ACCOUNT, ts: T0 },
    );
    await this.bus.publish(
      'orders.routed',
      routedSubmitMessage(order, '600', T0),
      routedAttributes(order, 'submit'),
    );
    await this.settle();
    this.op = order.operation_id;
  }

  async at(t: Nanos): Promise<void> {
    this.clock.set(t);
    await this.settle();
    await this.edge?.tick();
    await this.settle();
  }

  async decisions(): Promise<Decision[]> {
    if (this.op === null) throw new Error('not routed');
    const order = await this.orders.get(this.op);
    const rec = await this.algoStates.get(this.op);
    if (order === null || rec === null) throw new Error('no parent or no scheduler state');
    const reasons = new Map<string, string | null>();
    for (const p of this.bus.published) {
      const m = p.data as {
        type?: string;
        client_order_id?: string;
        status?: string;
        reason?: string | null;
      };
      if (p.topic === ORDER_UPDATES_TOPIC && m.type === 'child_order' && m.status === 'DENIED')
        reasons.set(m.client_order_id ?? '', m.reason ?? null);
    }
    return rec.state.children
      .filter((c) => DECIDED.includes(c.status))
      .map((c) => ({
        child: childName(c.order_id, order.order_id),
        status: c.status,
        submitted: c.ts_submitted_ns,
        reason: c.status === 'DENIED' ? (reasons.get(c.order_id) ?? null) : null,
      }));
  }

  childIds(): Promise<string[]> {
    return this.algoStates
      .get(this.op ?? '')
      .then((r) => (r === null ? [] : r.state.children.map((c) => c.order_id)));
  }
}

// ---------------------------------------------------------------------------------------------

const twss: LocalTws[] = [];
const edges: EdgeOverIb[] = [];
afterEach(async () => {
  for (const e of edges.splice(0)) await e.stop();
  for (const t of twss.splice(0)) await t.stop();
});

async function setup(
  policy: OutsideHoursPolicy,
): Promise<{ clock: TestClock; schedule: TradingSchedule; tws: LocalTws }> {
  const clock = new TestClock(T0 - S);
  const t = await startLocalTws({
    seed: 11,
    clock,
    session: RTH,
    autoTick: false,
    quoteIntervalMs: [200, 400],
  });
  twss.push(t);
  // The contract's hours as TWS lists them, read once through the adapter: the one schedule for all.
  const probe = createIbVenue(
    localTwsVenueOptions(t, { clientId: ++clientSeq, clock, outsideHours: policy }),
  );
  await probe.connect();
  const schedule = await probe.tradingSchedule(SPY);
  await probe.close();
  if (schedule === null) throw new Error('TWS listed no hours');
  return { clock, schedule, tws: t };
}

/**
 * Runs the scenario through the edge in `mode` over its own local TWS and clock (same hours, same
 * schedule); `restartBeforeOpen`: a new edge process at T0 + 30 s.
 */
async function throughEdge(
  mode: 'LIVE' | 'SHADOW',
  sc: Scenario,
  restartBeforeOpen = false,
): Promise<EdgeOverIb> {
  const env = await setup(sc.policy);
  env.clock.set(T0);
  const e = new EdgeOverIb(mode, edgeConfig(mode, sc.policy, env.tws), env.tws, env.clock);
  edges.push(e);
  await e.start();
  await e.route(sc);
  await e.at(T0);
  for (const s of [20n, 30n, 40n]) {
    if (restartBeforeOpen && s === 30n) {
      await e.stop();
      await e.start();
    }
    await e.at(T0 + s * S);
  }
  await e.at(OPEN);
  await e.at(OPEN + S);
  return e;
}

const TWAP: Omit<Scenario, 'policy'> = {
  algorithm: 'TWAP',
  params: { duration_sec: 60, max_slices: 3 },
  quantity: '30',
};
const NORMAL: Omit<Scenario, 'policy'> = { algorithm: 'NORMAL', params: {}, quantity: '10' };

/** The contract's schedule as the local TWS lists it (the backtest window's input). */
async function schedule(policy: OutsideHoursPolicy): Promise<TradingSchedule> {
  return (await setup(policy)).schedule;
}

/** The window's risk limits: the edge's configuration (no TWS behind it). */
const windowConfig = (policy: OutsideHoursPolicy) =>
  edgeConfig('SHADOW', policy, { host: '127.0.0.1', port: 7497 });

describe('session gate parity: backtest window = edge over SHADOW (IB data) = edge LIVE over the local TWS', () => {
  it('refuse: every TWAP child before the open is DENIED by trading_hours with the same reason, in all three', async () => {
    const sc: Scenario = { ...TWAP, policy: 'refuse' };
    const expected: Decision[] = [0n, 20n, 40n].map((s, i) => ({
      child: `S${i + 1}`,
      status: 'DENIED',
      submitted: (T0 + s * S).toString(),
      reason: `trading_hours: ${NEXT_OPEN}`,
    }));
    expect(backtest(sc, await schedule(sc.policy), windowConfig(sc.policy))).toEqual(expected);
    for (const mode of ['SHADOW', 'LIVE'] as const) {
      const e = await throughEdge(mode, sc);
      expect(await e.decisions()).toEqual(expected);
      expect(e.tws.calls('PLACE_ORDER')).toBe(0);
    }
  });

  it('refuse: a NORMAL order out of hours is denied the same way (the edge runs it through the core)', async () => {
    const sc: Scenario = { ...NORMAL, policy: 'refuse' };
    const expected: Decision[] = [
      { child: 'N1', status: 'DENIED', submitted: T0.toString(), reason: `trading_hours: ${NEXT_OPEN}` },
    ];
    expect(backtest(sc, await schedule(sc.policy), windowConfig(sc.policy))).toEqual(expected);
    for (const mode of ['SHADOW', 'LIVE'] as const) {
      const e = await throughEdge(mode, sc);
      expect(await e.decisions()).toEqual(expected);
      expect((await e.orders.get(e.op ?? ''))?.status).toBe('EXPIRED');
      expect(e.tws.calls('PLACE_ORDER')).toBe(0);
    }
  });

  it('queue: held until the open and sent at that instant — the same child in all three; LIVE reaches TWS once', async () => {
    const sc: Scenario = { ...TWAP, policy: 'queue' };
    const window = backtest(sc, await schedule(sc.policy), windowConfig(sc.policy)).map(decisionOf);
    // The three slices were due by the open: they go out together as one child, at the open.
    expect(window).toEqual([{ child: 'S3', status: 'SENT', submitted: OPEN.toString(), reason: null }]);
    for (const mode of ['SHADOW', 'LIVE'] as const) {
      const e = await throughEdge(mode, sc);
      expect((await e.decisions()).map(decisionOf)).toEqual(window);
      const [child] = await e.childIds();
      if (mode === 'LIVE') expect(e.tws.ordersWithRef(child ?? '')).toBe(1);
    }
  });

  it('queue across an edge restart while held: the stored parent is sent once at the open, never twice', async () => {
    const sc: Scenario = { ...NORMAL, policy: 'queue' };
    const window = backtest(sc, await schedule(sc.policy), windowConfig(sc.policy)).map(decisionOf);
    expect(window).toEqual([{ child: 'N1', status: 'SENT', submitted: OPEN.toString(), reason: null }]);
    for (const mode of ['SHADOW', 'LIVE'] as const) {
      const e = await throughEdge(mode, sc, true);
      expect((await e.decisions()).map(decisionOf)).toEqual(window);
      const children = await e.childIds();
      expect(children).toHaveLength(1);
      if (mode === 'LIVE') expect(e.tws.ordersWithRef(children[0] ?? '')).toBe(1);
    }
  });
});

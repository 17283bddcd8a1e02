/**
 * The venue edge (stateful/edge, infra/ccxt) — a plain tsx script, not a vitest file:
 *
 *   npx tsx test/bench/edge.bench.ts            (or `npm run bench -- edge`)
 *
 * Everything runs on loopback (a guard destroys and reports any other connection):
 *
 * (1) Order-to-ack latency through the REAL ccxt client to the local Binance-spot exchange
 *     (stateful/local-exchange, in this process): `CcxtVenue.submit` → HTTP reply, for MARKET and
 *     resting LIMIT orders (and the LIMIT's cancel), with the session's private and public streams
 *     running, paced under the venue's request budget (50/s, as `npm start` configures it) so our
 *     own token bucket never waits; a back-to-back burst; and, as a DIAGNOSTIC (not how production
 *     runs), the same orders with ccxt's own throttle off, which shows what that throttle adds to
 *     every call (it credits no idle time: each call waits cost × rateLimit, ~10 ms for a Binance
 *     order, however long the client was idle). Then the whole edge path: `orders.routed`
 *     on the in-process bus → the edge (embedded in-memory stores) → ccxt → the exchange → the
 *     venue's ack recorded in the order store (timed at the store's transition).
 * (2) Fills per second the edge persists to the Firestore EMULATOR through the ExecutionRecorder
 *     (FirestoreOrderStore + FirestorePositionStore): orders created and acknowledged untimed, then
 *     fills recorded with 1, 8 and 32 in flight (time-boxed), p50/p99 per fill, Firestore docs
 *     read/written per fill. The recorder serialises fills of one (account, instrument) position,
 *     so a single venue account is limited by that lock; a last run spreads the same load over 16
 *     accounts to show what the store itself sustains. SKIPPED (with the reason) when the emulator
 *     cannot start.
 * (3) Steady memory with five venue sessions: five local exchanges in one child process, five ccxt
 *     sessions (each on its own exchange, public + private streams on 2 instruments, a market
 *     order every 2 s each) in another child process — the edge's figure is the sessions process,
 *     measured alone; the exchanges' process is reported beside it. RSS and V8 heap used after a
 *     forced full GC (--expose-gc), at start and sampled each second over the steady period
 *     (min / median / max). Target for the edge: ≤ 512 MiB.
 *
 * Timing never fails the run; it exits non-zero only on a crash. About 2½ minutes on 2 cores.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type LocalExchange, startLocalExchange } from '../../dev/local-exchange/index.ts';
import { createCcxtVenue } from '../../infra/ccxt/index.ts';
import { FirestoreOrderStore } from '../../infra/firestore/order-store.firestore.ts';
import { FirestorePositionStore } from '../../infra/firestore/position-store.firestore.ts';
import { LocalAlgoStateStore } from '../../infra/local/algo-state.local.ts';
import { LocalMarketStateStore } from '../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../infra/memory/event-bus.memory.ts';
import { ExecutionRecorder } from '../../shared/app/execution-recorder.ts';
import { orderIdFor } from '../../shared/app/order-id.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Fill, OrderInstruction, OrderRecord } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { OrderQuery, OrderStore, TransitionResult } from '../../shared/ports/order-store.ts';
import type { VenueEvent, VenueOrderRequest } from '../../shared/ports/venue.ts';
import {
  createRoutedOrder,
  EdgeOnExchange,
  publishCancel,
  publishRoute,
} from '../integration/edge/support.ts';
import { installFirestoreOpCounter } from '../integration/support/firestore-ops.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { createRoutedOrder as routeOrder } from '../support/routed-order.ts';
import type { HostCommand, HostReply, MemSample, SessionCounters } from './support/edge-memory-host.ts';
import { guardLoopback } from './support/loopback-guard.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
const VENUE_ID = 'BINANCE-SPOT';
const TARGET_MIB = 512;

const wallClock: Clock = { now: (): Nanos => BigInt(Date.now()) * 1_000_000n };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nowMs = () => performance.now();
const sleepUntil = (t: number) => sleep(Math.max(0, t - nowMs()));
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

export interface LatencyStats {
  n: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function stats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return {
    n: s.length,
    mean_ms: round(mean),
    p50_ms: round(percentile(s, 50)),
    p99_ms: round(percentile(s, 99)),
    max_ms: round(s[s.length - 1] ?? Number.NaN),
  };
}

function median(xs: readonly number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

// ---------------------------------------------------------------------------------------------
// (1a) order-to-ack through the ccxt adapter
// ---------------------------------------------------------------------------------------------

export interface AckRow extends LatencyStats {
  path: string;
  note: string;
}

export interface AckResult {
  rows: AckRow[];
  /** Venue events the session's streams delivered while it ran, by kind. */
  events: Record<string, number>;
  diagnostics: Record<string, number>;
  statuses: Record<string, number>;
  unhandled: readonly string[];
}

/** Send `count` requests one at a time, starting one every `gapMs` at most (paced under the budget). */
async function paced(count: number, gapMs: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = nowMs();
  for (let i = 0; i < count; i++) {
    const wait = next - nowMs();
    if (wait > 0) await sleep(wait);
    next = nowMs() + gapMs;
    await one(i);
  }
}

function limitPriceBelow(bid: string, fraction: number): string {
  return (Math.floor(Number(bid) * (1 - fraction) * 100) / 100).toFixed(2);
}

function ackVenue(
  ex: LocalExchange,
  ccxtThrottle: boolean,
  diagnostics: Record<string, number>,
): ReturnType<typeof createCcxtVenue> {
  return createCcxtVenue({
    venue: {
      id: VENUE_ID,
      exchange: 'binance',
      mode: 'LIVE',
      sandbox: false,
      instrument_types: ['SPOT_PAIR'],
      rate_limit_per_second: 50, // as stateful/edge/embedded.ts configures the local exchange venue
    },
    account: { account_id: 'bench-ack', api_key: ex.apiKey, api_secret: ex.secret },
    clock: wallClock,
    instrumentKeys: [BTC, ETH],
    ccxtOverrides: async (exchange) => {
      await ex.configureCcxt(exchange);
      // Diagnostic only: production always runs with ccxt's throttle on (exchange-factory.ts).
      if (!ccxtThrottle) exchange.enableRateLimit = false;
    },
    onEvent: (d) => {
      diagnostics[d.type] = (diagnostics[d.type] ?? 0) + 1;
    },
  });
}

export async function benchVenueAck(ex: LocalExchange, n: number, gapMs: number): Promise<AckResult> {
  const events: Record<string, number> = {};
  const diagnostics: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  let seq = 0;
  const req = (over: Partial<VenueOrderRequest>): VenueOrderRequest => ({
    client_order_id: orderIdFor(`edge-bench-ack-${process.pid}-${seq++}`),
    instrument_key: BTC,
    side: 'BUY',
    order_type: 'MARKET',
    quantity: '0.001',
    price: null,
    time_in_force: 'GTC',
    ...over,
  });
  const side = (i: number) => (i % 2 === 0 ? 'BUY' : 'SELL');
  const rate = round(1000 / gapMs, 1);
  const rows: AckRow[] = [];

  /** One session with its streams running; `body` measures with `timed`. */
  const withSession = async (
    ccxtThrottle: boolean,
    body: (
      venue: ReturnType<typeof createCcxtVenue>,
      timed: (r: VenueOrderRequest, into: number[]) => Promise<void>,
      price: string,
    ) => Promise<void>,
  ) => {
    const venue = ackVenue(ex, ccxtThrottle, diagnostics);
    try {
      await venue.connect();
      await venue.watch([BTC, ETH], (e: VenueEvent) => {
        events[e.kind] = (events[e.kind] ?? 0) + 1;
      });
      const timed = async (r: VenueOrderRequest, into: number[]) => {
        const t0 = nowMs();
        const state = await venue.submit(r);
        into.push(nowMs() - t0);
        const k = `${r.order_type} ${state.status}`;
        statuses[k] = (statuses[k] ?? 0) + 1;
      };
      const book = await venue.fetchBook(BTC, 5);
      const price = limitPriceBelow(book.bids[0]?.price ?? '60000', 0.05); // rests: never fills
      // Warm-up (JIT, keep-alive sockets, ccxt's caches): not measured.
      const warm: number[] = [];
      await paced(20, 3 * gapMs, async (i) => {
        const start = nowMs();
        await timed(req({ side: side(i) }), warm);
        await sleepUntil(start + gapMs);
        const r = req({ order_type: 'LIMIT', price });
        await timed(r, warm);
        await sleepUntil(start + 2 * gapMs);
        await venue.cancel(r.client_order_id, BTC);
      });
      await body(venue, timed, price);
    } finally {
      await venue.close();
    }
  };

  await withSession(true, async (venue, timed, price) => {
    const market: number[] = [];
    const limit: number[] = [];
    const cancel: number[] = [];
    await paced(n, gapMs, (i) => timed(req({ side: side(i) }), market));
    // Two requests per order (the LIMIT, then its cancel one slot later): the same request rate.
    await paced(n, 2 * gapMs, async () => {
      const start = nowMs();
      const r = req({ order_type: 'LIMIT', price });
      await timed(r, limit);
      await sleepUntil(start + gapMs);
      const t0 = nowMs();
      const state = await venue.cancel(r.client_order_id, BTC);
      cancel.push(nowMs() - t0);
      statuses[`cancel ${state.status}`] = (statuses[`cancel ${state.status}`] ?? 0) + 1;
    });
    // Back to back (no pacing): what a burst costs once our token bucket and ccxt's throttle bite.
    const burst: number[] = [];
    const burstT0 = nowMs();
    for (let i = 0; i < 100; i++) await timed(req({ side: side(i) }), burst);
    const burstRate = round(100 / ((nowMs() - burstT0) / 1000), 1);
    rows.push(
      {
        path: 'ccxt submit MARKET → reply (fills in it)',
        ...stats(market),
        note: `paced ${rate}/s; 0.001 BTC`,
      },
      {
        path: 'ccxt submit LIMIT (rests) → NEW ack',
        ...stats(limit),
        note: `${rate / 2}/s + their cancels; 5% under bid`,
      },
      {
        path: 'ccxt cancel LIMIT → CANCELED ack',
        ...stats(cancel),
        note: `${gapMs} ms after the LIMIT went`,
      },
      {
        path: 'ccxt submit MARKET, back to back',
        ...stats(burst),
        note: `no pacing: ${burstRate}/s achieved`,
      },
    );
  });
  // Where the time goes: the same with ccxt's own throttle off (enableRateLimit=false).
  await withSession(false, async (venue, timed, price) => {
    const market: number[] = [];
    const limit: number[] = [];
    const m = Math.min(n, 150);
    await paced(m, gapMs, (i) => timed(req({ side: side(i) }), market));
    await paced(m, 2 * gapMs, async () => {
      const start = nowMs();
      const r = req({ order_type: 'LIMIT', price });
      await timed(r, limit);
      await sleepUntil(start + gapMs);
      await venue.cancel(r.client_order_id, BTC);
    });
    rows.push(
      {
        path: 'DIAGNOSTIC MARKET, ccxt throttle off',
        ...stats(market),
        note: 'not production; = round trip w/o ccxt wait',
      },
      {
        path: 'DIAGNOSTIC LIMIT, ccxt throttle off',
        ...stats(limit),
        note: 'not production; = round trip w/o ccxt wait',
      },
    );
  });
  return { rows, events, diagnostics, statuses, unhandled: [...ex.unhandledRequests] };
}

// ---------------------------------------------------------------------------------------------
// (1b) the edge path: orders.routed → edge → ccxt → exchange → ack in the order store
// ---------------------------------------------------------------------------------------------

interface Marks {
  submitted?: number;
  /** The venue order id is in the store (the ack recorded). */
  ack?: number;
  terminal?: number;
  terminalStatus?: string;
  fillBeforeAck?: boolean;
}

const TERMINAL = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

/** An OrderStore that notes, per operation, when the edge's transitions reach each milestone. */
class MilestoneOrderStore implements OrderStore {
  private readonly marks = new Map<string, Marks>();
  private readonly waiters = new Map<string, Array<() => boolean>>();

  constructor(private readonly inner: OrderStore) {}

  marksOf(op: string): Marks {
    let m = this.marks.get(op);
    if (m === undefined) {
      m = {};
      this.marks.set(op, m);
    }
    return m;
  }

  /** Resolves once `done(marks)` is true (checked after each transition of `op`). */
  until(op: string, done: (m: Marks) => boolean, ms: number, what: string): Promise<Marks> {
    const m = this.marksOf(op);
    if (done(m)) return Promise.resolve(m);
    const p = new Promise<Marks>((resolve) => {
      const check = () => {
        if (!done(m)) return false;
        resolve(m);
        return true;
      };
      const list = this.waiters.get(op) ?? [];
      list.push(check);
      this.waiters.set(op, list);
    });
    return within(p, ms, `${op}: ${what}`);
  }

  async create(order: OrderRecord, events: OrderEvent[]) {
    return this.inner.create(order, events);
  }
  async get(operationId: string) {
    return this.inner.get(operationId);
  }
  async transition(
    operationId: string,
    expectedVersion: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills?: Fill[],
  ): Promise<TransitionResult> {
    const r = await this.inner.transition(operationId, expectedVersion, next, events, fills);
    if (r.ok) {
      const t = nowMs();
      const m = this.marksOf(operationId);
      const s = r.order.status;
      if (s === 'SUBMITTED') m.submitted ??= t;
      if (r.order.venue_order_id !== null && r.order.venue_order_id !== undefined) m.ack ??= t;
      if ((fills?.length ?? 0) > 0 && m.ack === undefined) m.fillBeforeAck = true;
      if (TERMINAL.has(s) && m.terminal === undefined) {
        m.terminal = t;
        m.terminalStatus = s;
      }
      const list = this.waiters.get(operationId);
      if (list !== undefined) {
        const left = list.filter((w) => !w());
        if (left.length > 0) this.waiters.set(operationId, left);
        else this.waiters.delete(operationId);
      }
    }
    return r;
  }
  timeline(operationId: string) {
    return this.inner.timeline(operationId);
  }
  fills(operationId: string) {
    return this.inner.fills(operationId);
  }
  query(q: OrderQuery) {
    return this.inner.query(q);
  }
  health() {
    return this.inner.health();
  }
  close() {
    return this.inner.close();
  }
}

export interface EdgePathResult {
  rows: AckRow[];
  fillBeforeAck: number;
  outcomes: Record<string, number>;
  errors: string[];
}

export async function benchEdgePath(
  ex: LocalExchange,
  nMarket: number,
  nLimit: number,
  gapMs: number,
): Promise<EdgePathResult> {
  const orders = new MilestoneOrderStore(LocalOrderStore.memory());
  const bus = new MemoryEventBus();
  const ports = {
    orders,
    positions: LocalPositionStore.memory(),
    bus,
    algoStates: LocalAlgoStateStore.memory(),
    tradingState: LocalTradingStateStore.memory(),
    market: new LocalMarketStateStore(),
  };
  // The edge's production defaults (EdgeOnExchange's test settings are shorter).
  const h = new EdgeOnExchange(ex, ports, {
    tickMs: 250,
    fillGraceMs: 1_000,
    retryInitialMs: 500,
    retryMaxMs: 30_000,
    orderPollMs: 30_000,
  });
  const outcomes: Record<string, number> = {};
  const errors: string[] = [];
  const count = (k: string) => {
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  };
  try {
    await h.start();
    const book = await h.venue.fetchBook(BTC, 5);
    const price = limitPriceBelow(book.bids[0]?.price ?? '60000', 0.05);
    const run = `${process.pid}-${Date.now()}`;
    const series = {
      mSubmitted: [] as number[],
      mAck: [] as number[],
      mFilled: [] as number[],
      lAck: [] as number[],
      lCancel: [] as number[],
    };
    let fillBeforeAck = 0;

    const marketOne = async (i: number, into: boolean) => {
      const op = `EDGE-BENCH-M-${run}-${into ? '' : 'w'}${i}`;
      const order = await createRoutedOrder(orders, op, {
        quantity: '0.001',
        side: i % 2 === 0 ? 'BUY' : 'SELL',
      });
      const t0 = nowMs();
      await publishRoute(bus, order);
      try {
        const m = await orders.until(
          op,
          (x) => x.terminal !== undefined && x.ack !== undefined,
          15_000,
          'FILLED',
        );
        count(`MARKET ${m.terminalStatus}`);
        if (!into) return;
        if (m.fillBeforeAck) fillBeforeAck += 1;
        series.mSubmitted.push((m.submitted ?? Number.NaN) - t0);
        series.mAck.push((m.ack ?? Number.NaN) - t0);
        series.mFilled.push((m.terminal ?? Number.NaN) - t0);
      } catch (err) {
        count('MARKET timeout');
        errors.push(messageOf(err));
      }
    };
    const limitOne = async (i: number, into: boolean) => {
      const op = `EDGE-BENCH-L-${run}-${into ? '' : 'w'}${i}`;
      const order = await createRoutedOrder(orders, op, {
        quantity: '0.001',
        order_type: 'LIMIT',
        price,
        time_in_force: 'GTC',
      } satisfies Partial<OrderInstruction>);
      const t0 = nowMs();
      await publishRoute(bus, order);
      try {
        const m = await orders.until(op, (x) => x.ack !== undefined, 15_000, 'ACCEPTED');
        if (into) series.lAck.push((m.ack ?? Number.NaN) - t0);
        const acked = (await orders.get(op)) ?? order;
        await sleepUntil(t0 + gapMs);
        const c0 = nowMs();
        await publishCancel(bus, acked, 'bench');
        const done = await orders.until(op, (x) => x.terminal !== undefined, 15_000, 'CANCELED');
        count(`LIMIT ${done.terminalStatus}`);
        if (into) series.lCancel.push((done.terminal ?? Number.NaN) - c0);
      } catch (err) {
        count('LIMIT timeout');
        errors.push(messageOf(err));
      }
    };

    await paced(10, gapMs, (i) => marketOne(i, false));
    await paced(5, 2 * gapMs, (i) => limitOne(i, false));
    await paced(nMarket, gapMs, (i) => marketOne(i, true));
    await paced(nLimit, 2 * gapMs, (i) => limitOne(i, true));
    const rate = round(1000 / gapMs, 1);
    const note = `MARKET paced ${rate}/s; LIMIT ${rate / 2}/s + cancels`;
    return {
      rows: [
        {
          path: 'edge MARKET: routed → SUBMITTED stored',
          ...stats(series.mSubmitted),
          note: 'before the venue is called',
        },
        { path: 'edge MARKET: routed → venue ack stored', ...stats(series.mAck), note },
        {
          path: 'edge MARKET: routed → FILLED stored',
          ...stats(series.mFilled),
          note: 'its fills + position too',
        },
        { path: 'edge LIMIT: routed → venue ack stored', ...stats(series.lAck), note },
        {
          path: 'edge LIMIT: cancel routed → CANCELED stored',
          ...stats(series.lCancel),
          note,
        },
      ],
      fillBeforeAck,
      outcomes,
      errors: errors.slice(0, 5),
    };
  } finally {
    await h.stop().catch(() => undefined);
    await bus.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (2) fills persisted to the Firestore emulator through the ExecutionRecorder
// ---------------------------------------------------------------------------------------------

export interface FillRun extends LatencyStats {
  layout: string;
  in_flight: number;
  fills_per_s: number;
  seconds: number;
  position_keys: number;
  reads_per_fill: number;
  writes_per_fill: number;
  round_trips_per_fill: number;
  not_recorded: number;
}

export type FillsResult =
  | { skipped: true; reason: string }
  | { skipped: false; emulator_start_ms: number; orders_per_run: number; runs: FillRun[] };

interface FillPlan {
  layout: string;
  accounts: number;
  inFlight: number;
  maxFills: number;
  timeboxMs: number;
  measured: boolean;
}

/** A routed order (as the pipeline leaves it) on `account`, then SUBMITTED and ACCEPTED (as the edge records them). */
async function ackedOrder(
  orders: OrderStore,
  recorder: ExecutionRecorder,
  op: string,
  account: string,
  instrumentKey: string,
  quantity: string,
): Promise<OrderRecord> {
  const instruction: OrderInstruction = {
    operation_id: op,
    instrument_key: instrumentKey,
    side: 'BUY',
    quantity,
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'bench',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
  };
  const orderId = orderIdFor(op);
  await routeOrder(orders, instruction, {
    venue: VENUE_ID,
    account_id: account,
    ts: wallClock.now(),
    reason: 'bench',
  });
  await recorder.recordSubmitted(op, orderId);
  const acked = await recorder.recordAccepted(op, `V-${op}`);
  if (acked.kind !== 'recorded') throw new Error(`ack of ${op}: ${acked.kind}`);
  return acked.order;
}

async function pool(count: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await task(i);
      }
    }),
  );
}

export async function benchFirestoreFills(opts: {
  fills: number;
  levels: readonly number[];
  timeboxMs: number;
}): Promise<FillsResult> {
  let emu: Awaited<ReturnType<typeof startFirestoreEmulator>>;
  try {
    emu = await startFirestoreEmulator({ projectId: 'demo-edge-bench' });
  } catch (err) {
    return { skipped: true, reason: messageOf(err) };
  }
  const counter = installFirestoreOpCounter();
  const ORDERS = 64;
  try {
    const db = emu.client();
    const plans: FillPlan[] = [
      // Warm the emulator's JVM and the client's channel: not reported.
      { layout: 'warm-up', accounts: 16, inFlight: 8, maxFills: 300, timeboxMs: 8_000, measured: false },
      ...opts.levels.map((c) => ({
        layout: '1 account × 2 instruments (one venue session)',
        accounts: 1,
        inFlight: c,
        maxFills: opts.fills,
        timeboxMs: opts.timeboxMs,
        measured: true,
      })),
      {
        layout: '16 accounts × 2 instruments',
        accounts: 16,
        inFlight: Math.max(...opts.levels),
        maxFills: opts.fills,
        timeboxMs: opts.timeboxMs,
        measured: true,
      },
    ];
    const runs: FillRun[] = [];
    for (const plan of plans) {
      const prefix = `edge-bench-${randomUUID().slice(0, 8)}-`;
      const orders = new FirestoreOrderStore({ firestore: db, collectionPrefix: prefix });
      const positions = new FirestorePositionStore({ firestore: db, collectionPrefix: prefix });
      const bus = new MemoryEventBus();
      const recorder = new ExecutionRecorder({ orders, positions, bus, clock: wallClock });
      const keys = Array.from({ length: plan.accounts * 2 }, (_, k) => ({
        account: `bench-acct-${Math.floor(k / 2)}`,
        instrument: k % 2 === 0 ? BTC : ETH,
      }));
      const made: OrderRecord[] = new Array(ORDERS);
      await pool(ORDERS, 16, async (i) => {
        const key = keys[i % keys.length] ?? { account: 'bench-acct-0', instrument: BTC };
        made[i] = await ackedOrder(
          orders,
          recorder,
          `${prefix}OP-${i}`,
          key.account,
          key.instrument,
          key.instrument === BTC ? '5' : '50',
        );
      });
      counter.reset();
      const latencies: number[] = [];
      let notRecorded = 0;
      const deadline = nowMs() + plan.timeboxMs;
      const t0 = nowMs();
      await pool(plan.maxFills, plan.inFlight, async (i) => {
        if (nowMs() > deadline) return;
        const order = made[i % ORDERS];
        if (order === undefined) throw new Error('order missing');
        const btc = order.instrument_key === BTC;
        const fill: Fill = {
          fill_id: `${order.order_id}-T${i}`,
          order_id: order.order_id,
          operation_id: order.operation_id,
          instrument_key: order.instrument_key,
          venue: VENUE_ID,
          side: order.side,
          quantity: btc ? '0.001' : '0.01',
          price: btc ? '60000.01' : '3000.01',
          fee: btc ? '0.06' : '0.03',
          fee_currency: 'USDT',
          liquidity: 'TAKER',
          ts_event: wallClock.now(),
        };
        const f0 = nowMs();
        const out = await recorder.recordFill(order.operation_id, fill);
        latencies.push(nowMs() - f0);
        if (out.kind !== 'recorded') notRecorded += 1;
      });
      const seconds = (nowMs() - t0) / 1000;
      const c = counter.counts();
      const n = Math.max(1, latencies.length);
      await bus.close();
      if (!plan.measured) continue;
      runs.push({
        layout: plan.layout,
        in_flight: plan.inFlight,
        ...stats(latencies),
        fills_per_s: round(latencies.length / seconds, 1),
        seconds: round(seconds, 1),
        position_keys: keys.length,
        reads_per_fill: round(c.reads / n, 2),
        writes_per_fill: round(c.writes / n, 2),
        round_trips_per_fill: round((c.getAllCalls + c.queries + c.commits + c.failedCommits) / n, 2),
        not_recorded: notRecorded,
      });
    }
    return { skipped: false, emulator_start_ms: emu.startMs, orders_per_run: ORDERS, runs };
  } finally {
    counter.uninstall();
    await emu.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// (3) memory with five venue sessions (two child processes)
// ---------------------------------------------------------------------------------------------

class Host {
  private readonly queue: HostReply[] = [];
  private readonly waiting: Array<(m: HostReply) => void> = [];
  private exited: number | null = null;
  readonly exitedAt: Promise<number>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: HostReply) => {
      const w = this.waiting.shift();
      if (w) w(m);
      else this.queue.push(m);
    });
    this.exitedAt = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exited = code ?? -1;
        resolve(nowMs());
      }),
    );
  }

  static fork(role: 'exchanges' | 'sessions', env: Record<string, string> = {}): Host {
    const path = fileURLToPath(new URL('./support/edge-memory-host.ts', import.meta.url));
    // As stateful/Dockerfile runs the service: `node --import tsx` with NODE_OPTIONS=--enable-source-maps.
    const asDeployed = role === 'sessions' ? ['--enable-source-maps'] : [];
    const child = fork(path, [role], {
      execArgv: ['--import', 'tsx', '--expose-gc', ...asDeployed],
      env: { ...process.env, ...env, METADATA_SERVER_DETECTION: 'none' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Host(child);
  }

  next(ms: number, what: string): Promise<HostReply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited !== null) return Promise.reject(new Error(`${what}: host exited (${this.exited})`));
    const p = new Promise<HostReply>((resolve) => this.waiting.push(resolve));
    return within(p, ms, what).then((m) => {
      if (m.type === 'error') throw new Error(m.message);
      return m;
    });
  }

  async ask(command: HostCommand, ms: number): Promise<HostReply> {
    const reply = this.next(ms, command.type);
    this.child.send(command);
    return reply;
  }

  async sample(): Promise<Extract<HostReply, { type: 'sample' }>> {
    const m = await this.ask({ type: 'sample' }, 10_000);
    if (m.type !== 'sample') throw new Error(`expected a sample, got ${m.type}`);
    return m;
  }

  /** Ask it to stop; returns ms from the request to the process exit (or -1 if killed). */
  async stop(): Promise<{ reply: HostReply | null; exitMs: number }> {
    if (this.exited !== null || !this.child.connected) return { reply: null, exitMs: 0 };
    const t0 = nowMs();
    let reply: HostReply | null = null;
    try {
      reply = await this.ask({ type: 'stop' }, 15_000);
    } catch {
      reply = null;
    }
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.exitedAt,
      new Promise<number>((resolve) => {
        timer = setTimeout(() => resolve(-1), 10_000);
      }),
    ]);
    clearTimeout(timer);
    if (exited === -1) {
      this.child.kill('SIGKILL');
      return { reply, exitMs: -1 };
    }
    return { reply, exitMs: Math.round(exited - t0) };
  }

  kill(): void {
    if (this.exited === null) this.child.kill('SIGKILL');
  }
}

export interface MemRange {
  min: number;
  median: number;
  max: number;
}

export interface MemoryResult {
  sessions: number;
  steady_seconds: number;
  open_ms: number;
  gc_forced: boolean;
  edge_bare: MemSample;
  /** ccxt + the adapter imported, no session yet (sampled over the idle seconds). */
  edge_loaded_rss: MemRange;
  edge_loaded_heap: MemRange;
  edge_steady_rss: MemRange;
  edge_steady_heap: MemRange;
  edge_peak_rss: number;
  exchanges_bare: MemSample;
  exchanges_started: MemSample;
  exchanges_idle_rss: MemRange;
  exchanges_idle_heap: MemRange;
  exchanges_steady_rss: MemRange;
  exchanges_steady_heap: MemRange;
  exchanges_peak_rss: number;
  events_per_s: Record<string, number>;
  counters: SessionCounters;
  violations: string[];
  exit_ms: { sessions: number; exchanges: number };
}

const range = (xs: readonly number[]): MemRange => ({
  min: Math.min(...xs),
  median: median(xs),
  max: Math.max(...xs),
});

export async function benchMemory(opts: {
  idleSeconds: number;
  warmSeconds: number;
  steadySeconds: number;
}): Promise<MemoryResult> {
  const exchanges = Host.fork('exchanges');
  let sessions: Host | null = null;
  try {
    const ready = await exchanges.next(60_000, 'exchanges ready');
    if (ready.type !== 'ready' || ready.role !== 'exchanges') throw new Error('exchanges host: bad ready');
    sessions = Host.fork('sessions', { EDGE_BENCH_EXCHANGES: JSON.stringify(ready.exchanges) });
    const sReady = await sessions.next(60_000, 'sessions ready');
    if (sReady.type !== 'ready') throw new Error('sessions host: bad ready');
    const s = sessions;

    const every = async (seconds: number, each: () => Promise<void>) => {
      const start = nowMs();
      for (let k = 0; k < seconds; k++) {
        await each();
        const wait = start + (k + 1) * 1_000 - nowMs();
        if (wait > 0) await sleep(wait);
      }
    };
    // Idle: the exchanges' markets move with no client; the edge process has ccxt + the adapter loaded.
    const exIdle: MemSample[] = [];
    const edgeLoaded: MemSample[] = [];
    await every(opts.idleSeconds, async () => {
      const [a, b] = await Promise.all([exchanges.sample(), s.sample()]);
      exIdle.push(a.mem);
      edgeLoaded.push(b.mem);
    });

    const opened = await s.ask({ type: 'open' }, 60_000);
    if (opened.type !== 'opened') throw new Error(`sessions: expected opened, got ${opened.type}`);
    await sleep(opts.warmSeconds * 1_000);

    const exSteady: MemSample[] = [];
    const edgeSteady: MemSample[] = [];
    let first: SessionCounters | undefined;
    let last: SessionCounters | undefined;
    let violations: string[] = [];
    const t0 = nowMs();
    await every(opts.steadySeconds, async () => {
      const [a, b] = await Promise.all([exchanges.sample(), s.sample()]);
      exSteady.push(a.mem);
      edgeSteady.push(b.mem);
      first ??= b.counters;
      last = b.counters;
      violations = [...new Set([...violations, ...a.violations, ...b.violations])];
    });
    const span = (nowMs() - t0) / 1000 - 1; // first → last sample
    const eventsPerS: Record<string, number> = {};
    for (const [k, v] of Object.entries(last?.events ?? {})) {
      eventsPerS[k] = round((v - (first?.events[k] ?? 0)) / Math.max(1, span), 1);
    }
    const sStop = await s.stop();
    const eStop = await exchanges.stop();
    if (sStop.reply?.type === 'stopped')
      violations = [...new Set([...violations, ...sStop.reply.violations])];
    if (eStop.reply?.type === 'stopped')
      violations = [...new Set([...violations, ...eStop.reply.violations])];
    return {
      sessions: 5,
      steady_seconds: opts.steadySeconds,
      open_ms: opened.ms,
      gc_forced: edgeSteady.every((m) => m.gc),
      edge_bare: sReady.bare,
      edge_loaded_rss: range(edgeLoaded.map((m) => m.rssBytes)),
      edge_loaded_heap: range(edgeLoaded.map((m) => m.heapUsedBytes)),
      edge_steady_rss: range(edgeSteady.map((m) => m.rssBytes)),
      edge_steady_heap: range(edgeSteady.map((m) => m.heapUsedBytes)),
      edge_peak_rss: Math.max(...edgeSteady.map((m) => m.maxRssBytes)),
      exchanges_bare: ready.bare,
      exchanges_started: ready.mem,
      exchanges_idle_rss: range(exIdle.map((m) => m.rssBytes)),
      exchanges_idle_heap: range(exIdle.map((m) => m.heapUsedBytes)),
      exchanges_steady_rss: range(exSteady.map((m) => m.rssBytes)),
      exchanges_steady_heap: range(exSteady.map((m) => m.heapUsedBytes)),
      exchanges_peak_rss: Math.max(...exSteady.map((m) => m.maxRssBytes)),
      events_per_s: eventsPerS,
      counters: last ?? opened.counters,
      violations,
      exit_ms: { sessions: sStop.exitMs, exchanges: eStop.exitMs },
    };
  } finally {
    sessions?.kill();
    exchanges.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Printing and the entry point
// ---------------------------------------------------------------------------------------------

export interface EdgeBenchResult {
  ack: AckResult | { error: string };
  edge: EdgePathResult | { error: string };
  fills: FillsResult | { error: string };
  memory: MemoryResult | { error: string };
  nonLoopback: string[];
  seconds: number;
}

function latencyTable(rows: readonly AckRow[]): void {
  console.table(
    rows.map((r) => ({
      path: r.path,
      n: r.n,
      'mean ms': r.mean_ms,
      'p50 ms': r.p50_ms,
      'p99 ms': r.p99_ms,
      'max ms': r.max_ms,
      note: r.note,
    })),
  );
}

function printResult(r: EdgeBenchResult): void {
  console.log('\n(1) order-to-ack through the real ccxt client → local exchange (loopback, in-process)');
  if ('error' in r.ack) console.log(`    FAILED: ${r.ack.error}`);
  else {
    latencyTable(r.ack.rows);
    console.log(
      `    venue answers ${JSON.stringify(r.ack.statuses)}; stream events while measuring ${JSON.stringify(r.ack.events)}; diagnostics ${JSON.stringify(r.ack.diagnostics)}; routes the exchange lacks: ${r.ack.unhandled.length}`,
    );
  }
  console.log(
    '\n    edge path: orders.routed (memory bus) → venue edge → ccxt → exchange → recorded in the order store',
  );
  if ('error' in r.edge) console.log(`    FAILED: ${r.edge.error}`);
  else {
    latencyTable(r.edge.rows);
    console.log(
      `    outcomes ${JSON.stringify(r.edge.outcomes)}; MARKET orders whose stream fill was stored before the ack: ${r.edge.fillBeforeAck}`,
    );
    for (const e of r.edge.errors) console.log(`    error: ${e}`);
  }

  console.log(
    '\n(2) fills persisted by the ExecutionRecorder to the Firestore emulator (order + fill + position)',
  );
  if ('error' in r.fills) console.log(`    FAILED: ${r.fills.error}`);
  else if (r.fills.skipped) console.log(`    SKIPPED (${r.fills.reason})`);
  else {
    console.log(
      `    emulator ready in ${r.fills.emulator_start_ms} ms; ${r.fills.orders_per_run} acknowledged orders per run, fills round robin over them; time-boxed runs`,
    );
    console.table(
      r.fills.runs.map((f) => ({
        layout: f.layout,
        'in flight': f.in_flight,
        fills: f.n,
        seconds: f.seconds,
        'fills/s': f.fills_per_s,
        'p50 ms': f.p50_ms,
        'p99 ms': f.p99_ms,
        'max ms': f.max_ms,
        'docs read/fill': f.reads_per_fill,
        'docs written/fill': f.writes_per_fill,
        'round trips/fill': f.round_trips_per_fill,
        'not recorded': f.not_recorded,
      })),
    );
    console.log(
      "    per-fill latency includes waiting for the recorder's per-position lock (one (account, instrument) at a time).",
    );
  }

  console.log(
    `\n(3) memory: 5 ccxt venue sessions (edge process) and 5 local exchanges (own process). Target edge ≤ ${TARGET_MIB} MiB`,
  );
  if ('error' in r.memory) console.log(`    FAILED: ${r.memory.error}`);
  else {
    const m = r.memory;
    const fmt = (x: MemRange) => `${mib(x.min)} / ${mib(x.median)} / ${mib(x.max)}`;
    const ok = (bytes: number) =>
      bytes <= TARGET_MIB * 1024 * 1024 ? `yes (≤ ${TARGET_MIB})` : `NO (> ${TARGET_MIB})`;
    console.table([
      {
        process: 'EDGE: node + tsx only (bare)',
        'RSS MiB (min/med/max)': String(mib(m.edge_bare.rssBytes)),
        'heap used MiB (min/med/max)': String(mib(m.edge_bare.heapUsedBytes)),
        [`≤ ${TARGET_MIB} MiB`]: ok(m.edge_bare.rssBytes),
      },
      {
        process: 'EDGE: + ccxt + adapter loaded, no session (start)',
        'RSS MiB (min/med/max)': fmt(m.edge_loaded_rss),
        'heap used MiB (min/med/max)': fmt(m.edge_loaded_heap),
        [`≤ ${TARGET_MIB} MiB`]: ok(m.edge_loaded_rss.max),
      },
      {
        process: `EDGE: 5 sessions steady (${m.steady_seconds} s)`,
        'RSS MiB (min/med/max)': fmt(m.edge_steady_rss),
        'heap used MiB (min/med/max)': fmt(m.edge_steady_heap),
        [`≤ ${TARGET_MIB} MiB`]: ok(m.edge_steady_rss.max),
      },
      {
        process: 'EDGE: peak RSS (getrusage, incl. garbage)',
        'RSS MiB (min/med/max)': String(mib(m.edge_peak_rss)),
        'heap used MiB (min/med/max)': '',
        [`≤ ${TARGET_MIB} MiB`]: ok(m.edge_peak_rss),
      },
      {
        process: 'exchanges: node + tsx only (bare)',
        'RSS MiB (min/med/max)': String(mib(m.exchanges_bare.rssBytes)),
        'heap used MiB (min/med/max)': String(mib(m.exchanges_bare.heapUsedBytes)),
        [`≤ ${TARGET_MIB} MiB`]: '',
      },
      {
        process: 'exchanges: 5 exchanges started',
        'RSS MiB (min/med/max)': String(mib(m.exchanges_started.rssBytes)),
        'heap used MiB (min/med/max)': String(mib(m.exchanges_started.heapUsedBytes)),
        [`≤ ${TARGET_MIB} MiB`]: '',
      },
      {
        process: 'exchanges: idle, no client',
        'RSS MiB (min/med/max)': fmt(m.exchanges_idle_rss),
        'heap used MiB (min/med/max)': fmt(m.exchanges_idle_heap),
        [`≤ ${TARGET_MIB} MiB`]: '',
      },
      {
        process: 'exchanges: serving the 5 sessions',
        'RSS MiB (min/med/max)': fmt(m.exchanges_steady_rss),
        'heap used MiB (min/med/max)': fmt(m.exchanges_steady_heap),
        [`≤ ${TARGET_MIB} MiB`]: '',
      },
    ]);
    const loadShare = m.edge_loaded_rss.median - m.edge_bare.rssBytes;
    const heapShare = m.edge_steady_heap.median - m.edge_loaded_heap.median;
    const rssShare = m.edge_steady_rss.median - m.edge_loaded_rss.median;
    const rssSpread = m.edge_steady_rss.max - m.edge_steady_rss.min;
    const exShare = m.exchanges_steady_rss.median - m.exchanges_bare.rssBytes;
    console.log(
      `    THE EDGE'S FIGURE is the EDGE process alone: steady RSS median ${mib(m.edge_steady_rss.median)} MiB, max ${mib(m.edge_steady_rss.max)} MiB (peak incl. garbage ${mib(m.edge_peak_rss)} MiB) against ${TARGET_MIB} MiB.`,
    );
    console.log(
      `    Of that: node + tsx ${mib(m.edge_bare.rssBytes)} MiB; importing ccxt + the adapter ${mib(loadShare)} MiB; the 5 open sessions ${mib(heapShare)} MiB of live heap (${mib(heapShare / 5)} MiB each). Their RSS delta (${mib(rssShare)} MiB) is inside the ${mib(rssSpread)} MiB the after-GC RSS moves between samples.`,
    );
    console.log(
      `    The local exchanges are NOT in that figure (own process); in one process (as npm start runs its one exchange) five would add ≈ ${mib(exShare)} MiB (their steady RSS − a bare node + tsx).`,
    );
    console.log(
      `    sessions opened (connect + watch, 5 in parallel) in ${m.open_ms} ms; streams up ${m.counters.streamsUp}/5; health ${JSON.stringify(m.counters.health)}; orders sent ${m.counters.submits} (${m.counters.submitErrors} failed); events/s ${JSON.stringify(m.events_per_s)}; full GC before each reading: ${m.gc_forced}; exit after stop: edge ${m.exit_ms.sessions} ms, exchanges ${m.exit_ms.exchanges} ms`,
    );
  }
  console.log(
    `\nnon-loopback connections: ${r.nonLoopback.length === 0 ? 'none' : r.nonLoopback.join(', ')}; total ${r.seconds} s`,
  );
}

/** Run every part and print the tables; returns the figures. */
export async function runEdgeBench(
  opts: {
    orders?: number;
    edgeOrders?: number;
    gapMs?: number;
    fills?: number;
    levels?: readonly number[];
    fillTimeboxMs?: number;
    steadySeconds?: number;
  } = {},
): Promise<EdgeBenchResult> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const guard = guardLoopback();
  const t0 = nowMs();
  const n = opts.orders ?? 300;
  const gapMs = opts.gapMs ?? 25;
  const attempt = async <T>(what: string, f: () => Promise<T>): Promise<T | { error: string }> => {
    try {
      return await f();
    } catch (err) {
      console.error(`${what} failed:`, err);
      return { error: messageOf(err) };
    }
  };

  const ex = await startLocalExchange({ seed: 7 });
  let ack: AckResult | { error: string };
  let edge: EdgePathResult | { error: string };
  try {
    ack = await attempt('order-to-ack', () => benchVenueAck(ex, n, gapMs));
    const e = opts.edgeOrders ?? 150;
    edge = await attempt('edge path', () => benchEdgePath(ex, e, Math.round((e * 2) / 3), gapMs));
  } finally {
    await ex.stop();
  }
  const fills = await attempt('fills', () =>
    benchFirestoreFills({
      fills: opts.fills ?? 2_000,
      levels: opts.levels ?? [1, 8, 32],
      timeboxMs: opts.fillTimeboxMs ?? 10_000,
    }),
  );
  const memory = await attempt('memory', () =>
    benchMemory({ idleSeconds: 4, warmSeconds: 3, steadySeconds: opts.steadySeconds ?? 25 }),
  );
  const result: EdgeBenchResult = {
    ack,
    edge,
    fills,
    memory,
    nonLoopback: [
      ...guard.violations,
      ...('error' in memory ? [] : memory.violations.map((v) => `${v} (child)`)),
    ],
    seconds: round((nowMs() - t0) / 1000, 1),
  };
  printResult(result);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runEdgeBench().then(
    (r) => {
      // A part that crashed (not a slow one) makes the run fail.
      const crashed = [r.ack, r.edge, r.fills, r.memory].some((x) => 'error' in x);
      process.exitCode = crashed ? 1 : 0;
      // Everything was stopped; if something still holds the event loop, say so and leave anyway.
      const force = setTimeout(() => {
        const left = process.getActiveResourcesInfo().filter((k) => k !== 'TTYWrap');
        console.log(`(still open 5 s after the end: ${left.join(', ')}; exiting)`);
        process.exit();
      }, 5_000);
      force.unref();
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * The live rebalance: a weights file arrived (a Cloud Storage object, a file in the watched folder)
 * → read holdings and prices through the ports → plan (the pure planner every shell uses) →
 * publish the order instructions to `orders.requests`, where the ordinary order path (intake,
 * risk, routing, the venue edge) takes them. The same in the Cloud Function and under `npm start`;
 * the shells only decode their trigger and call {@link RebalanceService.onWeightsFile}.
 *
 * - Holdings: positions from the position book (summed over accounts, per instrument); cash from
 *   the venue states in the market state (each weighted venue's free balance in the quote
 *   currency, summed).
 * - Prices, in order: the live mid (both sides of the book), the last trade (a one-sided book's
 *   mid, as the edge publishes it), the latest daily close (`market-data-daily/...` in the
 *   BlobStore). Which one each instrument used is recorded.
 * - Idempotency: the rebalance id comes from the file's bytes, each order's operation_id from it
 *   and the instrument (instructions.ts), so a redelivered event or a re-saved identical file
 *   makes no second order; a file already recorded as published is not planned again.
 * - A file that fails validation is recorded with its reasons (`<state_prefix>/_invalid/<id>.json`)
 *   and makes no order. A plan that cannot be made (equity uncomputable) is recorded likewise.
 *
 * Every rebalance is recorded at `<state_prefix>/<strategy_id>/rebalances/<rebalance_id>.json`.
 */
import type { DecimalString } from '../domain/decimal.ts';
import { fmt, toDec } from '../domain/decimal.ts';
import type { Issue } from '../domain/errors.ts';
import { parseInstrumentId } from '../domain/instrument-id.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import {
  type InstrumentSpec,
  type OrderInstruction,
  type OrderStatus,
  TERMINAL_STATUSES,
} from '../domain/types.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { MarketStateStore } from '../ports/market-state.ts';
import type { OrderStore } from '../ports/order-store.ts';
import type {
  NavSnapshot,
  PortfolioActualState,
  PortfolioStateStore,
} from '../ports/portfolio-state-store.ts';
import type { PositionStore } from '../ports/position-store.ts';
import { buildActualState, navAlertOf } from './actual-state.ts';
import type { RebalanceCompletionStore } from './completion-store.ts';
import {
  operationPrefixOf,
  planInstructions,
  type RebalanceDefaults,
  rebalanceIdOf,
  rebalanceOperationPrefix,
  settingsFor,
} from './instructions.ts';
import { computeNav, type NavAlert } from './nav.ts';
import { planRebalance, type RebalancePlan } from './plan.ts';
import { parseWeightsText, type WeightsFile } from './weights.ts';

export const ORDERS_REQUESTS_TOPIC = 'orders.requests';

export type PriceSource = 'live_mid' | 'last_trade' | 'daily_close';

export interface PriceUse {
  instrument_key: string;
  price: DecimalString | null;
  source: PriceSource | null;
  /** Sources tried before the one used (or all of them when none had a price). */
  missing: PriceSource[];
}

/** Reads the latest daily close of an instrument (the BlobStore's daily bars), or null. */
export type DailyCloseReader = (instrumentKey: string) => Promise<DecimalString | null>;

export interface RebalanceServiceDeps {
  positions: Pick<PositionStore, 'list'>;
  market: Pick<MarketStateStore, 'getQuotes' | 'getVenueStates'>;
  bus: Pick<EventBus, 'publish'>;
  blobs: Pick<BlobStore, 'put' | 'get' | 'stat' | 'list'>;
  instrument: (key: string) => Promise<InstrumentSpec | undefined>;
  dailyClose: DailyCloseReader;
  defaults: RebalanceDefaults;
  statePrefix: string;
  now: () => Nanos;
  /**
   * Gap between two published orders of one rebalance, so they reach intake one velocity slot
   * apart as in backtests (1 s / risk.max_orders_per_second); 0 = all at once.
   */
  paceMs?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** For completing rebalances: the order book of record and where actual states go. */
  orders?: Pick<OrderStore, 'get'> | undefined;
  portfolio?: PortfolioStateStore | undefined;
  /** Same NAV in this many snapshots in a row, positions held → NAV_FLAT (default 3). */
  flatNavSnapshots?: number | undefined;
  /**
   * Where each rebalance's completion is claimed once (Firestore in the cloud, where several
   * instances see final order updates; memory under `npm start`'s one watcher).
   */
  completions: RebalanceCompletionStore;
}

export type CompletionResult =
  | { status: 'PENDING'; open: string[] }
  /**
   * COMPLETED: this call wrote the actual state. ALREADY_COMPLETED: an earlier call did (a
   * redelivery, a racing update); nothing was written. `state` is the stored one either way.
   */
  | { status: 'COMPLETED' | 'ALREADY_COMPLETED'; state: PortfolioActualState; alert: NavAlert | null };

/** An order update as `exec.orders` carries it (the fields completing a rebalance needs). */
export interface OrderUpdateRef {
  operation_id: string;
  status: string;
}

/** What an order update meant for the rebalances. */
export type OrderUpdateOutcome =
  | { outcome: 'not_a_rebalance_order' | 'not_final' | 'unknown_rebalance'; rebalance_id?: string }
  | { outcome: 'pending'; rebalance_id: string; strategy_id: string; open: string[] }
  | {
      outcome: 'completed' | 'already_completed';
      rebalance_id: string;
      strategy_id: string;
      state: PortfolioActualState;
      alert: NavAlert | null;
    };

/** The locator of a published rebalance by its orders' operation-id prefix. */
export interface RebalanceLocator {
  rebalance_id: string;
  strategy_id: string;
  record_key: string;
}

export interface NavSnapshotResult {
  snapshot: NavSnapshot;
  alert: NavAlert | null;
}

/** Where the file came from: `source` names it (`gs://bucket/key#generation`, a path). */
export interface WeightsFileEvent {
  source: string;
  bytes: Uint8Array;
}

export type RebalanceStatus = 'PUBLISHED' | 'DUPLICATE' | 'INVALID' | 'UNPLANNABLE';

export interface RebalanceRecord {
  rebalance_id: string;
  source: string;
  status: RebalanceStatus;
  strategy_id: string | null;
  as_of: string | null;
  ts_received: string;
  issues: Issue[];
  holdings: { cash: Record<string, DecimalString>; positions: Record<string, DecimalString> } | null;
  prices: PriceUse[];
  plan: RebalancePlan | null;
  instructions: OrderInstruction[];
}

export interface RebalanceService {
  onWeightsFile(event: WeightsFileEvent): Promise<RebalanceRecord>;
  /**
   * When every order of a published rebalance is final: persist `portfolio_actual_state.json`
   * (BlobStore, `<state_prefix>/<strategy_id>/portfolio_actual_state.json`) and the state and a
   * NAV snapshot in the PortfolioStateStore. PENDING (with the open operation ids) otherwise.
   */
  complete(record: RebalanceRecord): Promise<CompletionResult>;
  /**
   * An order update (from `exec.orders`): when it is a final status of a rebalance order, find its
   * rebalance (the locator written before its orders were published) and complete it. Idempotent.
   */
  onOrderUpdate(update: OrderUpdateRef): Promise<OrderUpdateOutcome>;
  /** A NAV snapshot of a strategy's portfolio now (daily), with the NAV watch's alert. */
  snapshotNav(
    strategyId: string,
    quote: string,
    keys: readonly string[],
    reason: NavSnapshot['reason'],
  ): Promise<NavSnapshotResult>;
  /**
   * The DAILY snapshot of every portfolio with an actual state (`<state_prefix>/<strategy>/
   * portfolio_actual_state.json`), dated at the start of the UTC day of now: taken twice the same
   * day (a redelivered or repeated trigger), it is one snapshot (the last wins).
   */
  snapshotDaily(): Promise<Array<NavSnapshotResult & { strategy_id: string }>>;
}

const ACTUAL_STATE_FILE = 'portfolio_actual_state.json';
const NANOS_PER_DAY = 86_400_000_000_000n;

export function actualStateKey(statePrefix: string, strategyId: string): string {
  return `${statePrefix}/${strategyId}/${ACTUAL_STATE_FILE}`;
}

const encoder = new TextEncoder();

/** Where the locator of a rebalance's operation-id prefix (`RB-<20 hex>`) is kept. */
export function rebalanceLocatorKey(statePrefix: string, operationPrefix: string): string {
  return `${statePrefix}/_operations/${operationPrefix}.json`;
}

export function rebalanceRecordKey(
  statePrefix: string,
  strategyId: string | null,
  rebalanceId: string,
): string {
  return strategyId === null
    ? `${statePrefix}/_invalid/${rebalanceId}.json`
    : `${statePrefix}/${strategyId}/rebalances/${rebalanceId}.json`;
}

export function createRebalanceService(d: RebalanceServiceDeps): RebalanceService {
  const record = async (r: RebalanceRecord) => {
    await d.blobs.put(
      rebalanceRecordKey(d.statePrefix, r.status === 'INVALID' ? null : r.strategy_id, r.rebalance_id),
      `${JSON.stringify(r, null, 2)}\n`,
      { contentType: 'application/json' },
    );
    return r;
  };

  const pricesFor = async (keys: readonly string[]): Promise<PriceUse[]> => {
    const quotes = await d.market.getQuotes(keys.map((k) => ({ venue: parseVenue(k), instrument_key: k })));
    const out: PriceUse[] = [];
    for (const [i, k] of keys.entries()) {
      const q = quotes[i] ?? null;
      const missing: PriceSource[] = [];
      if (q !== null && q.bid !== null && q.ask !== null && q.mid !== null) {
        out.push({ instrument_key: k, price: q.mid, source: 'live_mid', missing });
        continue;
      }
      missing.push('live_mid');
      if (q !== null && q.mid !== null) {
        out.push({ instrument_key: k, price: q.mid, source: 'last_trade', missing });
        continue;
      }
      missing.push('last_trade');
      const close = await d.dailyClose(k);
      if (close !== null) {
        out.push({ instrument_key: k, price: close, source: 'daily_close', missing });
        continue;
      }
      missing.push('daily_close');
      out.push({ instrument_key: k, price: null, source: null, missing });
    }
    return out;
  };

  /** Positions from the position book (every account) and the free cash of these keys' venues. */
  const readHoldings = async (weighted: readonly string[]) => {
    const positions: Record<string, DecimalString> = {};
    for (const p of await d.positions.list()) {
      const q = toDec(p.quantity);
      if (q.isZero()) continue;
      positions[p.instrument_key] = fmt(toDec(positions[p.instrument_key] ?? '0').plus(q));
    }
    const keys = [...new Set([...weighted, ...Object.keys(positions)])].sort();
    const venues = [...new Set(keys.map(parseVenue))];
    const states = await d.market.getVenueStates(venues);
    const cash: Record<string, DecimalString> = {};
    for (const v of venues) {
      const balances = states[v]?.balances;
      if (!balances) continue;
      for (const [ccy, amount] of Object.entries(balances)) {
        cash[ccy] = fmt(toDec(cash[ccy] ?? '0').plus(amount));
      }
    }
    return { keys, holdings: { cash, positions } };
  };

  const flatAfter = d.flatNavSnapshots ?? 3;
  const { completions } = d;

  /** Holdings, prices and the NAV snapshot of a portfolio now (nothing stored). */
  const measureNav = async (
    strategyId: string,
    quote: string,
    weighted: readonly string[],
    reason: NavSnapshot['reason'],
    cashOverride?: Record<string, DecimalString>,
    tsEvent: Nanos = d.now(),
  ) => {
    const read = await readHoldings(weighted);
    const holdings = cashOverride
      ? { ...read.holdings, cash: { ...read.holdings.cash, ...cashOverride } }
      : read.holdings;
    const prices = await pricesFor(read.keys);
    const priceMap: Record<string, DecimalString> = {};
    for (const p of prices) if (p.price !== null) priceMap[p.instrument_key] = p.price;
    const nav = computeNav(holdings, priceMap, quote);
    const snapshot: NavSnapshot = {
      strategy_id: strategyId,
      ts_event: tsEvent,
      reason,
      nav: nav.ok ? nav.nav : null,
      cash: nav.ok ? nav.cash : null,
      exposure: nav.ok ? nav.exposure : null,
      issues: nav.ok ? [] : nav.issues,
    };
    return { snapshot, holdings, prices };
  };

  /** Store a snapshot (same strategy and time twice = one snapshot) and watch the NAV. */
  const recordSnapshot = async (snapshot: NavSnapshot, positionsHeld: boolean): Promise<NavAlert | null> => {
    if (!d.portfolio) return snapshot.nav === null ? navAlertOf([snapshot], false, flatAfter) : null;
    await d.portfolio.putNavSnapshot(snapshot);
    const recent = await d.portfolio.listNavSnapshots(snapshot.strategy_id, flatAfter + 1);
    return navAlertOf(recent, positionsHeld, flatAfter);
  };

  const readRecord = async (key: string): Promise<RebalanceRecord | null> => {
    if ((await d.blobs.stat(key)) === null) return null;
    return JSON.parse(new TextDecoder().decode(await d.blobs.get(key))) as RebalanceRecord;
  };

  const complete = async (record: RebalanceRecord): Promise<CompletionResult> => {
    if (record.status !== 'PUBLISHED' || record.strategy_id === null || record.plan === null) {
      throw new Error(`rebalance ${record.rebalance_id} is ${record.status}: nothing to complete`);
    }
    if (!d.orders) throw new Error('the rebalance service has no order store to complete rebalances');
    const done = await completions.get(record.rebalance_id);
    if (done?.applied) return { status: 'ALREADY_COMPLETED', state: done.state, alert: null };
    const orders = [];
    const open: string[] = [];
    for (const ins of record.instructions) {
      const o = await d.orders.get(ins.operation_id);
      if (o === null || !TERMINAL_STATUSES.has(o.status)) open.push(ins.operation_id);
      else orders.push(o);
    }
    if (open.length > 0) return { status: 'PENDING', open };
    const quote = record.plan.quote_currency;
    const weighted = record.plan.orders
      .map((o) => o.instrument_key)
      .concat(record.plan.skipped.map((x) => x.instrument_key));
    // Cash after the rebalance from our own fills (exact and immediate; a venue's balance is
    // polled and may not show the last fills yet): the plan's starting cash, less what the
    // buys cost, plus what the sells brought, less fees (charged in the quote currency).
    let cash = toDec(record.plan.cash_before);
    for (const o of orders) {
      const traded = o.avg_fill_price === null ? toDec(0) : toDec(o.filled_quantity).times(o.avg_fill_price);
      cash = o.side === 'BUY' ? cash.minus(traded) : cash.plus(traded);
      cash = cash.minus(o.fees);
    }
    const snap = await measureNav(record.strategy_id, quote, weighted, 'REBALANCE', {
      [quote]: fmt(cash),
    });
    const candidate = buildActualState({
      record,
      orders,
      holdings: snap.holdings,
      prices: snap.prices,
      quote,
      now: snap.snapshot.ts_event,
    });
    // The first claim wins; every shell writes out the claimed completion, never its own.
    const { completion } = await completions.claim({
      rebalance_id: record.rebalance_id,
      strategy_id: record.strategy_id,
      state: candidate,
      snapshot: snap.snapshot,
    });
    if (completion.applied) return { status: 'ALREADY_COMPLETED', state: completion.state, alert: null };
    const state = completion.state;
    const alert = await recordSnapshot(completion.snapshot, Object.keys(state.positions).length > 0);
    await d.blobs.put(
      actualStateKey(d.statePrefix, state.strategy_id),
      `${JSON.stringify(state, null, 2)}\n`,
      {
        contentType: 'application/json',
      },
    );
    if (d.portfolio) {
      // A completion written out late (a redelivery after a crash) never replaces a later rebalance's state.
      const latest = await d.portfolio.getActualState(state.strategy_id);
      if (latest === null || latest.rebalance_id === state.rebalance_id || latest.as_of <= state.as_of) {
        await d.portfolio.putActualState(state);
      }
    }
    await completions.markApplied(record.rebalance_id);
    return { status: 'COMPLETED', state, alert };
  };

  return {
    snapshotNav: async (strategyId, quote, keys, reason) => {
      const { snapshot, holdings } = await measureNav(strategyId, quote, keys, reason);
      const alert = await recordSnapshot(snapshot, Object.keys(holdings.positions).length > 0);
      return { snapshot, alert };
    },

    async snapshotDaily() {
      const now = d.now();
      const day = now - (now % NANOS_PER_DAY);
      const out: Array<NavSnapshotResult & { strategy_id: string }> = [];
      for (const info of await d.blobs.list(`${d.statePrefix}/`)) {
        if (!info.key.endsWith(`/${ACTUAL_STATE_FILE}`)) continue;
        const state = JSON.parse(
          new TextDecoder().decode(await d.blobs.get(info.key)),
        ) as PortfolioActualState;
        const keys = state.instruments.map((x) => x.instrument_key);
        const m = await measureNav(state.strategy_id, state.quote_currency, keys, 'DAILY', undefined, day);
        const alert = await recordSnapshot(m.snapshot, Object.keys(m.holdings.positions).length > 0);
        out.push({ strategy_id: state.strategy_id, snapshot: m.snapshot, alert });
      }
      return out;
    },

    complete,

    async onOrderUpdate(update) {
      const prefix = operationPrefixOf(update.operation_id);
      if (prefix === null) return { outcome: 'not_a_rebalance_order' };
      if (!TERMINAL_STATUSES.has(update.status as OrderStatus)) return { outcome: 'not_final' };
      const locatorKey = rebalanceLocatorKey(d.statePrefix, prefix);
      if ((await d.blobs.stat(locatorKey)) === null) return { outcome: 'unknown_rebalance' };
      const locator = JSON.parse(new TextDecoder().decode(await d.blobs.get(locatorKey))) as RebalanceLocator;
      const ids = { rebalance_id: locator.rebalance_id, strategy_id: locator.strategy_id };
      const record = await readRecord(locator.record_key);
      // The locator is written before the orders are published and the record after: a final
      // update can overtake the record. Throwing makes the message come back once it is there.
      if (record === null || record.status !== 'PUBLISHED') {
        throw new Error(
          `rebalance ${locator.rebalance_id}: its record is not written yet (${locator.record_key})`,
        );
      }
      const c = await complete(record);
      if (c.status === 'PENDING') return { outcome: 'pending', ...ids, open: c.open };
      return {
        outcome: c.status === 'COMPLETED' ? 'completed' : 'already_completed',
        ...ids,
        state: c.state,
        alert: c.alert,
      };
    },

    async onWeightsFile(event) {
      const rebalanceId = rebalanceIdOf(event.bytes);
      const base: RebalanceRecord = {
        rebalance_id: rebalanceId,
        source: event.source,
        status: 'INVALID',
        strategy_id: null,
        as_of: null,
        ts_received: nanosToIso(d.now()),
        issues: [],
        holdings: null,
        prices: [],
        plan: null,
        instructions: [],
      };
      const parsed = parseWeightsText(new TextDecoder().decode(event.bytes));
      if (!parsed.success) return record({ ...base, issues: parsed.error.issues });
      const weights: WeightsFile = parsed.data;
      base.strategy_id = weights.strategy_id;
      base.as_of = weights.as_of;
      const key = rebalanceRecordKey(d.statePrefix, weights.strategy_id, rebalanceId);
      const previous = await d.blobs.stat(key);
      if (previous !== null) {
        const prior = JSON.parse(new TextDecoder().decode(await d.blobs.get(key))) as RebalanceRecord;
        if (prior.status === 'PUBLISHED') {
          // Publishing again is harmless (same operation_ids), but there is nothing new to do.
          return { ...prior, status: 'DUPLICATE', source: event.source };
        }
      }
      const settings = settingsFor(weights, d.defaults);

      // Holdings: the position book (every account) and the weighted venues' free cash.
      const { keys, holdings } = await readHoldings(Object.keys(weights.weights));
      const prices = await pricesFor(keys);
      const priceMap: Record<string, DecimalString> = {};
      for (const p of prices) if (p.price !== null) priceMap[p.instrument_key] = p.price;
      const specs = new Map<string, InstrumentSpec | undefined>();
      for (const k of keys) specs.set(k, await d.instrument(k));
      const plan = planRebalance({
        weights: weights.weights,
        holdings,
        prices: priceMap,
        instrument: (k) => specs.get(k),
        settings,
      });
      if (!plan.success) {
        return record({ ...base, status: 'UNPLANNABLE', issues: plan.error.issues, holdings, prices });
      }
      const instructions = planInstructions(plan.data, weights, rebalanceId);
      if (instructions.length > 0) {
        // Before the first order exists: whoever sees its final update can find the rebalance.
        const locator: RebalanceLocator = {
          rebalance_id: rebalanceId,
          strategy_id: weights.strategy_id,
          record_key: key,
        };
        await d.blobs.put(
          rebalanceLocatorKey(d.statePrefix, rebalanceOperationPrefix(rebalanceId)),
          `${JSON.stringify(locator)}\n`,
          { contentType: 'application/json' },
        );
      }
      for (const [i, ins] of instructions.entries()) {
        if (i > 0 && d.paceMs && d.sleep) await d.sleep(d.paceMs);
        await d.bus.publish(ORDERS_REQUESTS_TOPIC, encoder.encode(JSON.stringify(ins)), {
          operation_id: ins.operation_id,
          instrument_key: ins.instrument_key,
          strategy_id: ins.strategy_id,
          rebalance_id: rebalanceId,
        });
      }
      return record({ ...base, status: 'PUBLISHED', holdings, prices, plan: plan.data, instructions });
    },
  };
}

function parseVenue(key: string): string {
  const r = parseInstrumentId(key);
  return r.success ? r.data.venue : '';
}

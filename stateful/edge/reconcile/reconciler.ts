/**
 * The reconciler (shell): at start and every few minutes it compares our books with one venue
 * account — open orders, executions since a look-back, balances and positions — with the pure
 * decider of shared/recon, corrects our records through the ExecutionRecorder and records every
 * difference (the ReconciliationLog, `exec.orders` `reconciliation` messages, the log).
 * See docs/reconciliation.md.
 *
 * - **A venue that cannot be queried is DEGRADED, never flat.** Any failed venue query stops the
 *   run before anything is compared or corrected: positions, orders and balances stay untouched;
 *   the report and `health()` say DEGRADED with the error.
 * - **Idempotent.** Corrections go through the ExecutionRecorder: a fill is stored once per fill
 *   id (the venue's trade id, shared with the edge's stream and polling paths), a status is
 *   recorded once. Re-running finds nothing to correct. A difference that stays (a position the
 *   fills do not explain) is recorded once while it lasts, and once more when it is resolved.
 * - **One run at a time.** `runOnce()` during a run returns that run's report.
 */
import {
  type ExecutionLog,
  type ExecutionOutcome,
  type ExecutionRecorder,
  SILENT_EXECUTION_LOG,
} from '../../../shared/app/execution-recorder.ts';
import { ORDER_UPDATES_TOPIC } from '../../../shared/app/messages.ts';
import { parseInstrumentId } from '../../../shared/domain/instrument-id.ts';
import { WORKING_STATUSES } from '../../../shared/domain/order-machine.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, type Nanos } from '../../../shared/domain/time.ts';
import type { InstrumentSpec, OrderRecord, OrderStatus, Position } from '../../../shared/domain/types.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import type { OrderQuery, OrderStore } from '../../../shared/ports/order-store.ts';
import type { PositionStore } from '../../../shared/ports/position-store.ts';
import {
  type Venue,
  type VenueBalance,
  VenueError,
  type VenueOrderState,
  type VenuePosition,
  type VenueTrade,
} from '../../../shared/ports/venue.ts';
import {
  assetsOf,
  type BalanceBaseline,
  expectedBalances,
  extendBaseline,
  positionFlows,
} from '../../../shared/recon/balances.ts';
import {
  canonicalKey,
  DEFAULT_GRACE_NS,
  diffVenueState,
  indexOf,
  OrderIndex,
  onVenue,
} from '../../../shared/recon/diff.ts';
import {
  type CorrectionNote,
  type CorrectionOutcome,
  differenceAttributes,
  differenceMessage,
} from '../../../shared/recon/messages.ts';
import type {
  Correction,
  Difference,
  OurState,
  Tolerance,
  VenueSnapshot,
} from '../../../shared/recon/types.ts';
import { MemoryReconciliationLog, type ReconciliationLog, type ReconciliationLogEntry } from './log.ts';
import { reportInstrumentSpecs, type SpecCheckReport } from './spec-check.ts';

/** What the reconciler records through (the ExecutionRecorder). */
export type ReconcilerRecorder = Pick<
  ExecutionRecorder,
  'recordFill' | 'recordAccepted' | 'recordCanceled' | 'recordExpired' | 'recordRejected' | 'recoverPositions'
>;

export interface ReconcilerDeps {
  venue: Venue;
  recorder: ReconcilerRecorder;
  orders: Pick<OrderStore, 'query' | 'fills'>;
  positions: Pick<PositionStore, 'list'>;
  bus: Pick<EventBus, 'publish'>;
  clock: Clock;
  /** Executions are fetched since `now − lookbackNs` on the first run (default 24 h). */
  lookbackNs?: Nanos | undefined;
  /** Period of the runs after `start()` (default 5 minutes; 0 = no timer). */
  intervalMs?: number | undefined;
  log?: ExecutionLog | undefined;
  /** Where differences and the balance baseline are kept (default in memory). */
  journal?: ReconciliationLog | undefined;
  /** Position accounts of this venue (default the venue's account id and the venue id). */
  accounts?: readonly string[] | undefined;
  /** Venue instrument keys always reconciled (besides those of our orders and positions). */
  instrumentKeys?: readonly string[] | undefined;
  /** Our instrument definitions: `start()` checks the venue's among them (instrument spec check). */
  instruments?: readonly InstrumentSpec[] | undefined;
  /** Positions (default exact). */
  tolerance?: Tolerance | undefined;
  /** Balances (default 10 bps relative: fees in other assets, rounding at the venue). */
  balanceTolerance?: Tolerance | undefined;
  /** Orders that changed within this many ms are in flight and not judged (default 30 s). */
  graceMs?: number | undefined;
  /** Our orders created this long before the look-back still match venue executions (default 7 days). */
  orderHorizonNs?: Nanos | undefined;
  /** Later runs read executions since the previous good run minus this (default 10 minutes). */
  overlapNs?: Nanos | undefined;
  /** Cancel at the venue orders that our books consider finished (default false: reported only). */
  cancelStrayOrders?: boolean | undefined;
  /** Compare balances (default true). */
  compareBalances?: boolean | undefined;
  /** Rebuild the venue's positions from the stored fills on the first run (default true). */
  recoverPositionsOnStart?: boolean | undefined;
  /** Called with every report (e.g. to publish the venue state DEGRADED); its errors are logged. */
  onReport?: ((report: ReconciliationReport) => void | Promise<void>) | undefined;
}

export type ReconciliationStatus =
  /** Nothing differs. */
  | 'OK'
  /** Differences were found and every one was corrected. */
  | 'CORRECTED'
  /** Differences remain (reported). */
  | 'DIFFERENCES'
  /** The venue could not be queried: nothing was compared or changed. */
  | 'DEGRADED'
  /** Our stores or the bus failed while correcting (the next run continues). */
  | 'FAILED';

export interface AppliedCorrection {
  correction: Correction;
  outcome: CorrectionOutcome;
  detail: string;
}

export interface ReconciliationReport {
  venue: string;
  run_id: string;
  status: ReconciliationStatus;
  ts_started: Nanos;
  ts_finished: Nanos;
  /** Executions were read since this time. */
  since: Nanos;
  queried: {
    instruments: string[];
    our_orders: number;
    open_orders: number;
    lookups: number;
    trades: number;
    balances: number | null;
    positions: number | null;
  };
  differences: Difference[];
  corrections: AppliedCorrection[];
  /** Log entries recorded (and published) by this run: new or changed differences, and resolved ones. */
  recorded: number;
  /** Keys of differences that were open and are no longer found. */
  resolved: string[];
  /** Keys of differences open after this run. */
  open: string[];
  /** Venue query failures (any makes the run DEGRADED). */
  errors: string[];
  /** Instruments the venue refused to be queried for (not listed there): skipped, with the reason. */
  unlisted: string[];
}

export interface ReconcilerHealth {
  ok: boolean;
  state: ReconciliationStatus | 'NOT_RUN';
  detail: string;
}

export interface Reconciler {
  readonly venue: string;
  /** One reconciliation now (never throws: failures are in the report). */
  runOnce(): Promise<ReconciliationReport>;
  /** The instrument spec check (when `instruments` were given), a first run, then one every `intervalMs`. */
  start(): Promise<ReconciliationReport>;
  stop(): Promise<void>;
  health(): ReconcilerHealth;
  lastReport(): ReconciliationReport | null;
  /** Check our instrument specs against the venue's rules (log + event per difference). */
  checkSpecs(instruments: readonly InstrumentSpec[]): Promise<SpecCheckReport>;
}

const DAY_NS = 86_400n * NANOS_PER_SECOND;
const PAGE = 1000;
const WORKING: OrderStatus[] = [...WORKING_STATUSES];
const DEFAULT_BALANCE_TOLERANCE: Tolerance = { absolute: '0', relative: '0.001' };

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const venue = deps.venue;
  const log = deps.log ?? SILENT_EXECUTION_LOG;
  const journal = deps.journal ?? new MemoryReconciliationLog();
  const lookbackNs = deps.lookbackNs ?? DAY_NS;
  const intervalMs = Math.max(0, Math.trunc(deps.intervalMs ?? 300_000));
  const graceNs =
    deps.graceMs === undefined ? DEFAULT_GRACE_NS : BigInt(Math.trunc(deps.graceMs)) * NANOS_PER_MILLI;
  const horizonNs = deps.orderHorizonNs ?? 7n * DAY_NS;
  const overlapNs = deps.overlapNs ?? 600n * NANOS_PER_SECOND;
  const accounts = new Set(deps.accounts ?? [venue.account_id, venue.id]);
  const compareBalances = deps.compareBalances ?? true;

  let running: Promise<ReconciliationReport> | null = null;
  let last: ReconciliationReport | null = null;
  let lastGoodStart: Nanos | null = null;
  let recovered = deps.recoverPositionsOnStart === false;
  let timer: ReturnType<typeof setInterval> | null = null;
  let stopped = false;

  function runOnce(): Promise<ReconciliationReport> {
    if (running !== null) return running;
    const run = reconcile().finally(() => {
      running = null;
    });
    running = run;
    return run;
  }

  async function reconcile(): Promise<ReconciliationReport> {
    const started = deps.clock.now();
    const since =
      lastGoodStart === null
        ? started - lookbackNs
        : maxNanos(started - lookbackNs, lastGoodStart - overlapNs);
    const report: ReconciliationReport = {
      venue: venue.id,
      run_id: `${venue.id}-${started}`,
      status: 'OK',
      ts_started: started,
      ts_finished: started,
      since,
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
    };
    try {
      await reconcileInto(report, since);
    } catch (err) {
      report.status = 'FAILED';
      report.errors.push(`reconciliation failed: ${errorText(err)}`);
      log.warn(`reconciliation of ${venue.id} failed (the next run continues): ${errorText(err)}`, {
        venue: venue.id,
        run_id: report.run_id,
      });
    }
    report.ts_finished = deps.clock.now();
    last = report;
    if (deps.onReport !== undefined) {
      try {
        await deps.onReport(report);
      } catch (err) {
        log.warn(`reconciliation of ${venue.id}: the report callback failed: ${errorText(err)}`, {
          venue: venue.id,
        });
      }
    }
    return report;
  }

  async function reconcileInto(report: ReconciliationReport, since: Nanos): Promise<void> {
    if (!recovered) {
      // Positions are a projection of the stored fills: make them so before comparing.
      await deps.recorder.recoverPositions({ venue: venue.id });
      recovered = true;
    }

    // Our side.
    const orders = await ourOrders(since);
    let positions = await ourPositions();
    report.queried.our_orders = orders.length;
    const instruments = new Set((deps.instrumentKeys ?? []).map(canonicalKey));
    for (const o of orders) instruments.add(onVenue(o.instrument_key, venue.id));
    for (const p of positions) if (p.quantity !== '0') instruments.add(onVenue(p.instrument_key, venue.id));
    const keys = [...instruments].sort();
    report.queried.instruments = keys;

    // The venue's side: any failure → DEGRADED, nothing compared or changed.
    const snapshot = await queryVenue(orders, keys, since, report);
    if (snapshot === null) {
      report.status = 'DEGRADED';
      log.warn(
        `reconciliation of ${venue.id}: the venue cannot be queried (DEGRADED): ${report.errors.join('; ')}`,
        {
          venue: venue.id,
          run_id: report.run_id,
        },
      );
      return;
    }

    // Our fills of the orders the venue reports executions for.
    const index = indexOf(orders, snapshot);
    const fillOps = new Set<string>();
    for (const t of snapshot.trades) {
      const m = index.match(t.client_order_id, t.venue_order_id);
      if (m !== undefined) fillOps.add(m.order.operation_id);
    }
    const fills: Array<{ operation_id: string; fill_id: string }> = [];
    for (const op of fillOps) {
      for (const f of await deps.orders.fills(op)) fills.push({ operation_id: op, fill_id: f.fill_id });
    }

    // Expected balances from the baseline.
    let baseline: BalanceBaseline | null = null;
    let expected: OurState['balances'] = null;
    if (compareBalances && snapshot.balances !== null) {
      baseline = (await journal.baseline(venue.id)) ?? { venue: venue.id, assets: {}, ts_updated: '0' };
      if (Object.keys(baseline.assets).length > 0)
        expected = expectedBalances(baseline, positionFlows(positions));
    }

    const ours: OurState = {
      orders,
      fills,
      positions:
        snapshot.positions === null
          ? null
          : positions.map((p) => ({
              instrument_key: onVenue(p.instrument_key, venue.id),
              quantity: p.quantity,
            })),
      balances: expected,
    };
    const now = deps.clock.now();
    const diff = diffVenueState(ours, snapshot, {
      venue: venue.id,
      now,
      tolerance: deps.tolerance,
      balanceTolerance: deps.balanceTolerance ?? DEFAULT_BALANCE_TOLERANCE,
      graceNs,
      cancelStrayOrders: deps.cancelStrayOrders ?? false,
    });
    report.differences = diff.differences;

    // Corrections, in order; a store failure stops the rest (the next run picks them up).
    const notes = new Map<string, CorrectionNote[]>();
    let storeFailure: string | null = null;
    for (const c of diff.corrections) {
      let applied: AppliedCorrection;
      if (storeFailure !== null) {
        applied = {
          correction: c,
          outcome: 'skipped',
          detail: `not applied after an earlier failure: ${storeFailure}`,
        };
      } else {
        try {
          applied = await apply(c);
        } catch (err) {
          applied = { correction: c, outcome: 'failed', detail: errorText(err) };
          if (c.kind !== 'cancel_at_venue') storeFailure = errorText(err);
          report.errors.push(`${c.kind} for ${c.operation_id}: ${errorText(err)}`);
        }
      }
      report.corrections.push(applied);
      const list = notes.get(c.difference) ?? [];
      list.push({ kind: c.kind, outcome: applied.outcome, detail: applied.detail });
      notes.set(c.difference, list);
    }

    // The balance baseline: assets first seen now are captured after the corrections.
    if (baseline !== null && snapshot.balances !== null && storeFailure === null) {
      positions = await ourPositions();
      const assets = new Set<string>();
      for (const k of keys) for (const a of assetsOf(k)) assets.add(a);
      const next = extendBaseline(baseline, assets, snapshot.balances, positionFlows(positions), now);
      if (next !== baseline) await journal.setBaseline(next);
    }

    await record(report, diff.differences, notes, now);
    if (storeFailure !== null) report.status = 'FAILED';
    else if (diff.differences.length === 0) report.status = 'OK';
    else report.status = report.open.length === 0 ? 'CORRECTED' : 'DIFFERENCES';
    if (storeFailure === null) lastGoodStart = report.ts_started;
    log.info(
      `reconciliation of ${venue.id}: ${report.status}, ${diff.differences.length} difference(s), ${diff.corrections.length} correction(s), ${report.open.length} open`,
      {
        venue: venue.id,
        run_id: report.run_id,
        instruments: keys.length,
        trades: report.queried.trades,
        open_orders: report.queried.open_orders,
      },
    );
  }

  /** Query everything the comparison needs; null (with the error in the report) when any query fails. */
  async function queryVenue(
    orders: readonly OrderRecord[],
    keys: readonly string[],
    since: Nanos,
    report: ReconciliationReport,
  ): Promise<VenueSnapshot | null> {
    const step = async <T>(what: string, call: () => Promise<T>): Promise<T | typeof FAILED> => {
      try {
        return await call();
      } catch (err) {
        report.errors.push(`${what}: ${errorText(err)}`);
        return FAILED;
      }
    };
    const openOrders: VenueOrderState[] = [];
    const trades: VenueTrade[] = [];
    const listed = new Set<string>();
    for (const key of keys) {
      let open: VenueOrderState[];
      try {
        open = await venue.fetchOpenOrders(key);
      } catch (err) {
        if (refusedInstrument(err)) {
          // The venue does not list it (an order routed here was refused): nothing there to compare.
          report.unlisted.push(`${key}: ${errorText(err)}`);
          continue;
        }
        report.errors.push(`open orders of ${key}: ${errorText(err)}`);
        return null;
      }
      listed.add(key);
      openOrders.push(...open);
      const t = await step(`executions of ${key} since ${since}`, () => venue.fetchTrades(key, since));
      if (t === FAILED) return null;
      trades.push(...t);
    }
    report.queried.open_orders = openOrders.length;
    report.queried.trades = trades.length;

    // Our working orders the venue does not list as open: ask for each (unless in flight).
    const index = new OrderIndex(orders);
    const openOps = new Set<string>();
    for (const vo of openOrders) {
      const m = index.match(vo.client_order_id, vo.venue_order_id);
      if (m !== undefined && !m.child) openOps.add(m.order.operation_id);
    }
    const now = deps.clock.now();
    const lookups: Array<{ client_order_id: string; state: VenueOrderState | null }> = [];
    for (const o of orders) {
      if (!WORKING_STATUSES.has(o.status) || o.exec_algorithm !== 'NORMAL' || openOps.has(o.operation_id))
        continue;
      if (now - o.ts_updated < graceNs) continue;
      if (!listed.has(onVenue(o.instrument_key, venue.id))) continue;
      const client = o.client_order_id ?? o.order_id;
      const state = await step(`order ${client}`, () =>
        venue.fetchOrder(client, onVenue(o.instrument_key, venue.id)),
      );
      if (state === FAILED) return null;
      lookups.push({ client_order_id: client, state });
    }
    report.queried.lookups = lookups.length;

    let balances: VenueBalance[] | null = null;
    if (compareBalances) {
      const b = await step('balances', () => venue.fetchBalances());
      if (b === FAILED) return null;
      balances = b;
      report.queried.balances = b.length;
    }
    let positions: VenuePosition[] | null = null;
    if (keys.some((k) => isDerivative(k))) {
      const p = await step('positions', () => venue.fetchPositions());
      if (p === FAILED) return null;
      positions = p;
      report.queried.positions = p.length;
    }
    return { openOrders, lookups, trades, balances, positions };
  }

  async function apply(c: Correction): Promise<AppliedCorrection> {
    const r = deps.recorder;
    let outcome: ExecutionOutcome;
    switch (c.kind) {
      case 'apply_fill':
        outcome = await r.recordFill(c.operation_id, c.fill);
        break;
      case 'accept':
        outcome = await r.recordAccepted(c.operation_id, c.venue_order_id, c.ts_event);
        break;
      case 'set_status':
        outcome =
          c.status === 'CANCELED'
            ? await r.recordCanceled(c.operation_id, c.reason, c.ts_event)
            : c.status === 'EXPIRED'
              ? await r.recordExpired(c.operation_id, c.reason, c.ts_event)
              : await r.recordRejected(c.operation_id, c.reason, c.ts_event);
        break;
      case 'cancel_at_venue': {
        const state = await venue.cancel(c.client_order_id, c.instrument_key);
        return { correction: c, outcome: 'recorded', detail: `canceled at ${venue.id}: ${state.status}` };
      }
    }
    return { correction: c, outcome: outcome.kind, detail: describe(outcome) };
  }

  /** Journal and publish what is new: found (or changed) differences, and those resolved. */
  async function record(
    report: ReconciliationReport,
    differences: readonly Difference[],
    notes: ReadonlyMap<string, CorrectionNote[]>,
    now: Nanos,
  ): Promise<void> {
    const open = await journal.open(venue.id);
    const entries: ReconciliationLogEntry[] = [];
    const seen = new Set<string>();
    const stillOpen: string[] = [];
    for (const d of differences) {
      seen.add(d.key);
      // Settled by its own corrections and by those of the differences it names (its fills).
      const note = combine([
        ...(notes.get(d.key) ?? []),
        ...(d.settled_by ?? []).flatMap((k) => notes.get(k) ?? []),
      ]);
      const settled =
        note !== null &&
        (note.outcome === 'recorded' || note.outcome === 'duplicate' || note.outcome === 'ignored');
      const fingerprint = `${d.ours ?? ''}|${d.theirs ?? ''}`;
      if (!settled) stillOpen.push(d.key);
      const prev = open.get(d.key);
      if (!settled && prev !== undefined && prev.fingerprint === fingerprint) continue; // recorded already
      entries.push({
        venue: venue.id,
        run_id: report.run_id,
        kind: d.kind,
        key: d.key,
        state: 'found',
        open: !settled,
        fingerprint,
        operation_id: d.operation_id,
        instrument_key: d.instrument_key,
        ours: d.ours,
        theirs: d.theirs,
        message: d.message,
        detail: {
          ...d.detail,
          client_order_id: d.client_order_id,
          ...(d.missing ? { missing: d.missing } : {}),
        },
        correction: note,
        ts_event: now,
      });
    }
    for (const [key, prev] of open) {
      if (prev.kind === 'spec_mismatch' || seen.has(key)) continue;
      report.resolved.push(key);
      entries.push({
        ...prev,
        run_id: report.run_id,
        state: 'resolved',
        open: false,
        correction: null,
        ts_event: now,
      });
    }
    await journal.append(entries);
    for (const e of entries) {
      const m = differenceMessage(
        { ...e, client_order_id: e.detail.client_order_id ?? null },
        report.run_id,
        e.state,
        e.correction,
        now,
      );
      await deps.bus.publish(ORDER_UPDATES_TOPIC, m, differenceAttributes(m));
      const fields = {
        venue: venue.id,
        run_id: report.run_id,
        kind: e.kind,
        key: e.key,
        operation_id: e.operation_id,
        correction: e.correction?.kind ?? null,
        outcome: e.correction?.outcome ?? null,
      };
      if (e.state === 'resolved') log.info(`reconciliation ${venue.id}: resolved ${e.kind} ${e.key}`, fields);
      else log.warn(`reconciliation ${venue.id}: ${e.kind}: ${e.message}`, fields);
    }
    report.recorded = entries.length;
    report.open = stillOpen;
  }

  async function ourOrders(since: Nanos): Promise<OrderRecord[]> {
    const byOp = new Map<string, OrderRecord>();
    for (const o of await queryAll({ venue: venue.id, status: WORKING })) byOp.set(o.operation_id, o);
    for (const o of await queryAll({ venue: venue.id, from: since - horizonNs })) byOp.set(o.operation_id, o);
    return [...byOp.values()];
  }

  /** Page through the orders matching `q` (newest first), each once. */
  async function queryAll(q: OrderQuery): Promise<OrderRecord[]> {
    const out = new Map<string, OrderRecord>();
    let to: Nanos | undefined;
    for (;;) {
      const page = await deps.orders.query({ ...q, limit: PAGE, to });
      let fresh = 0;
      for (const o of page) {
        if (out.has(o.operation_id)) continue;
        out.set(o.operation_id, o);
        fresh++;
      }
      const oldest = page.at(-1);
      if (page.length < PAGE || oldest === undefined || fresh === 0) break;
      to = oldest.ts_created + 1n;
    }
    return [...out.values()];
  }

  async function ourPositions(): Promise<Position[]> {
    const out: Position[] = [];
    for (const account of accounts) out.push(...(await deps.positions.list({ account_id: account })));
    return out;
  }

  async function checkSpecs(instruments: readonly InstrumentSpec[]): Promise<SpecCheckReport> {
    return reportInstrumentSpecs({ venue, instruments, bus: deps.bus, clock: deps.clock, log, journal });
  }

  return {
    venue: venue.id,
    runOnce,
    async start() {
      stopped = false;
      if (deps.instruments !== undefined) {
        try {
          await checkSpecs(deps.instruments);
        } catch (err) {
          log.warn(`instrument spec check of ${venue.id} failed: ${errorText(err)}`, { venue: venue.id });
        }
      }
      const first = await runOnce();
      if (intervalMs > 0 && timer === null && !stopped) {
        timer = setInterval(() => {
          if (running === null) void runOnce();
        }, intervalMs);
        timer.unref?.();
      }
      return first;
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (running !== null) await running;
    },
    health(): ReconcilerHealth {
      if (last === null) return { ok: true, state: 'NOT_RUN', detail: `${venue.id}: not reconciled yet` };
      const when = `run ${last.run_id}`;
      switch (last.status) {
        case 'OK':
          return { ok: true, state: 'OK', detail: `${venue.id}: books match (${when})` };
        case 'CORRECTED':
          return {
            ok: true,
            state: 'CORRECTED',
            detail: `${venue.id}: ${last.differences.length} difference(s) corrected (${when})`,
          };
        case 'DIFFERENCES':
          return {
            ok: true,
            state: 'DIFFERENCES',
            detail: `${venue.id}: ${last.open.length} open difference(s) (${when})`,
          };
        case 'DEGRADED':
          return {
            ok: false,
            state: 'DEGRADED',
            detail: `${venue.id}: venue cannot be queried: ${last.errors.join('; ')}`,
          };
        case 'FAILED':
          return { ok: false, state: 'FAILED', detail: `${venue.id}: ${last.errors.join('; ')}` };
      }
    },
    lastReport: () => last,
    checkSpecs,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const FAILED: unique symbol = Symbol('failed');

/** A venue's refusal of an instrument (unknown symbol): not an outage. */
function refusedInstrument(err: unknown): boolean {
  return err instanceof VenueError && (err.kind === 'rejected' || err.kind === 'not_found');
}

function isDerivative(key: string): boolean {
  const p = parseInstrumentId(key);
  return p.success && p.data.instrument_type !== 'SPOT_PAIR';
}

function maxNanos(a: Nanos, b: Nanos): Nanos {
  return a > b ? a : b;
}

function describe(o: ExecutionOutcome): string {
  switch (o.kind) {
    case 'recorded':
      return `recorded: ${o.order.operation_id} ${o.order.status}, filled ${o.order.filled_quantity}`;
    case 'duplicate':
      return `already recorded: ${o.order.operation_id} ${o.order.status}`;
    case 'ignored':
      return `ignored (${o.code}): ${o.reason}`;
    case 'reconciliation':
      return `refused by our books (${o.reconciliation}, ${o.code}): ${o.reason}`;
  }
}

/** One note for a difference settled by several corrections (the least settled outcome wins). */
function combine(notes: readonly CorrectionNote[] | undefined): CorrectionNote | null {
  if (notes === undefined || notes.length === 0) return null;
  const rank: Record<CorrectionOutcome, number> = {
    failed: 5,
    skipped: 4,
    reconciliation: 3,
    ignored: 2,
    recorded: 1,
    duplicate: 0,
  };
  let worst = notes[0] as CorrectionNote;
  for (const n of notes) if (rank[n.outcome] > rank[worst.outcome]) worst = n;
  return {
    kind: notes.map((n) => n.kind).join('+'),
    outcome: worst.outcome,
    detail: notes.map((n) => n.detail).join('; '),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The venue edge as real processes for the crash and venue-fault scenarios: `stateful/main.ts`
 * processes (as `npm start` runs them, with a configuration file) on the Firestore and Pub/Sub
 * emulators, trading LIVE BINANCE-SPOT through the real ccxt client against a local exchange that
 * runs in this (the harness's) process — so it outlives every `kill -9` of an edge, keeps the
 * venue's own order and trade records, and takes faults.
 *
 * Orders enter as the order pipeline leaves them (PENDING, risk-approved, routed: the order intake
 * function's output) and their route is published on `orders.routed`. The audit compares, per
 * parent, the platform's view (order record, fills) with the exchange's records (orders by client
 * order id, trades) read through its REST API.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration's substitution syntax
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ccxt from 'ccxt';
import { ccxtOptionsFor, type LocalExchange, startLocalExchange } from '../../dev/local-exchange/index.ts';
import { ourClientIdOf, venueClientIdOf } from '../../infra/ccxt/client-ids.ts';
import { FirestoreAlgoStateStore } from '../../infra/firestore/algo-state.firestore.ts';
import { FirestoreOrderStore } from '../../infra/firestore/order-store.firestore.ts';
import { PubSubEventBus } from '../../infra/pubsub/event-bus.pubsub.ts';
import { Dec, fmt } from '../../shared/domain/decimal.ts';
import type { OrderInstruction, OrderRecord } from '../../shared/domain/types.ts';
import { TERMINAL_STATUSES } from '../../shared/domain/types.ts';
import { createRoutedOrder, IT_VENUE, itEnv, publishRoute } from '../integration/edge/support.ts';
import { type MainProcess, startMainProcess } from '../integration/support/main-process.ts';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { type PubSubEmulator, startPubSubEmulator } from '../support/pubsub-emulator.ts';
import type { ScenarioResult } from './harness.ts';

/** Child ids: `-S<i>` slices (TWAP, VWAP), `-R<k>` refills (ICEBERG), `-N1` (NORMAL); shared/algos/scheduler.ts. */
const CHILD_LETTERS = ['S', 'R', 'N'] as const;
/** Highest child index the audit maps back (the scenarios' parents have far fewer). */
const MAX_CHILDREN = 64;

export const LEASE_ACQUIRED = 'venue-edge lease acquired';
export const LEASE_STANDBY = 'venue edge in STANDBY';

export interface EdgeClusterOptions {
  projectId: string;
  /** Lease TTL of the edges (EXEC_LEASE_TTL_MS). */
  leaseTtlMs: number;
  seed: number;
  /** Keep Firestore's documents across `firestore.restart()` (test/support/firestore-emulator.ts). */
  durableFirestore?: boolean;
  /** Keep the Pub/Sub topology across `pubsub.restart()` (test/support/pubsub-emulator.ts). */
  keepPubSubTopology?: boolean;
}

export interface ExchangeOrderRow {
  orderId: string;
  clientOrderId: string;
  status: string;
  executedQty: string;
}

export interface ExchangeTradeRow {
  id: string;
  orderId: string;
  qty: string;
}

/** The platform against the exchange, over a set of parents. */
export interface Audit {
  parents: number;
  /** Parents in a final status (FILLED, CANCELED, REJECTED, EXPIRED). */
  final: number;
  byStatus: Record<string, number>;
  /** Orders the exchange holds for these parents (children and direct orders). */
  venueOrders: number;
  /** Client order ids the exchange took more than once (each extra one counts). */
  duplicateVenueOrders: number;
  /** Children the venue acknowledged (or that filled) per the stored scheduler state, missing at the exchange. */
  lostChildren: number;
  /** Children at the exchange that the stored scheduler state does not know. */
  unknownChildren: number;
  /** Exchange trades of our orders with no fill on the platform. */
  lostFills: number;
  /** Platform fills with no trade at the exchange. */
  phantomFills: number;
  /** Parents whose filled quantity differs from the sum of their orders' executed quantity at the exchange. */
  quantityMismatches: number;
  /** Every trade of the exchange account matched to a parent of this run. */
  venueTrades: number;
  /** Parents with no order at the exchange at all (refused or canceled before any child left). */
  neverAtVenue: number;
  /** Why the parents that did not fill ended as they did: reason (numbers blanked) → count. */
  notFilledReasons: Record<string, number>;
  /** The same, of the parents that never reached the venue. */
  neverAtVenueReasons: Record<string, number>;
  mismatchDetail: string[];
}

export interface Supervisor {
  /** The edge process running now. */
  current(): MainProcess;
  /** Why each replaced process exited. */
  readonly exits: string[];
  stop(): Promise<void>;
}

export interface EdgeCluster {
  ex: LocalExchange;
  orders: FirestoreOrderStore;
  bus: PubSubEventBus;
  firestore: FirestoreEmulator;
  pubsub: PubSubEmulator;
  /** Every edge process started (killed ones too). */
  processes: MainProcess[];
  startEdge(): Promise<MainProcess>;
  /** A routed order in the store and its route on `orders.routed`. */
  submit(operationId: string, over: Partial<OrderInstruction>): Promise<OrderRecord>;
  /**
   * `submit`, retried every 500 ms while the store or the bus fails (as the order intake's message
   * is redelivered); an attempt that hangs is given up after 10 s. Resolves with the failed attempts.
   */
  submitRetrying(operationId: string, over: Partial<OrderInstruction>, timeoutMs: number): Promise<number>;
  /** Wait until every operation is in a final status or `timeoutMs` passes; returns the last records. */
  settle(operationIds: readonly string[], timeoutMs: number): Promise<Map<string, OrderRecord | null>>;
  audit(operationIds: readonly string[]): Promise<Audit>;
  /**
   * The supervisor's part (Cloud Run replaces an instance that exits): while running, an edge that
   * exits — e.g. it lost its lease while the store was slow or down, its fail-safe — is started again.
   */
  supervise(first: MainProcess): Supervisor;
  /** `r`, and when it missed a goal the edge logs kept (see dumpLogs) and named in its failures. */
  verdict(name: string, r: ScenarioResult): Promise<ScenarioResult>;
  /** With CHAOS_LOG_DIR set: every edge process's log lines and stderr to `<dir>/<name>-edge-<i>.log`. */
  dumpLogs(name: string): Promise<string | null>;
  close(): Promise<void>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const alive = (p: MainProcess) => p.child.exitCode === null && p.child.signalCode === null;

export function logged(p: MainProcess, prefix: string, from = 0): boolean {
  for (let i = from; i < p.lines.length; i++) {
    const m = p.lines[i]?.message;
    if (typeof m === 'string' && m.startsWith(prefix)) return true;
  }
  return false;
}

/** Wait for a log line starting with `prefix` (or the process's exit: false). */
export async function waitLog(p: MainProcess, prefix: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (logged(p, prefix)) return true;
    if (!alive(p)) return false;
    await sleep(50);
  }
  return false;
}

/** The parent order id of one of our client ids (`ord_<hex>` or `ord_<hex>-S3`). */
export function parentOf(ourId: string): string {
  const dash = ourId.indexOf('-');
  return dash < 0 ? ourId : ourId.slice(0, dash);
}

export async function startEdgeCluster(o: EdgeClusterOptions): Promise<EdgeCluster> {
  const started = await Promise.allSettled([
    startFirestoreEmulator({ projectId: o.projectId, durable: o.durableFirestore ?? false }),
    startPubSubEmulator({ projectId: o.projectId, keepTopology: o.keepPubSubTopology ?? false }),
    startLocalExchange({
      seed: o.seed,
      quoteIntervalMs: [50, 100],
      startingBalances: { USDT: '100000000', BTC: '10000', ETH: '10000' },
    }),
  ]);
  const [fs, ps, lx] = started;
  if (fs?.status !== 'fulfilled' || ps?.status !== 'fulfilled' || lx?.status !== 'fulfilled') {
    // One part did not start: stop the others before giving up.
    for (const r of started) if (r.status === 'fulfilled') await r.value.stop().catch(() => undefined);
    const failed = started.find((r) => r.status === 'rejected');
    throw failed?.status === 'rejected' ? failed.reason : new Error('edge cluster did not start');
  }
  const [firestore, pubsub, ex] = [fs.value, ps.value, lx.value];
  const dir = await mkdtemp(join(tmpdir(), 'chaos-edge-'));
  const prefix = `chaos-${randomUUID().slice(0, 8)}-`;
  const config = {
    venues: [IT_VENUE],
    // The load is the point: velocity limits well above it (the limits scenario measures those).
    risk: { trading_state_poll_ms: 200, max_orders_per_second: 1_000, max_orders_per_minute: 100_000 },
    algorithms: { scheduler_tick_ms: 50 },
    storage: {
      order_store: 'firestore',
      bus: 'pubsub',
      blob: 'local',
      data_dir: dir,
      gcp_project: o.projectId,
      collection_prefix: prefix,
    },
    server: { host: '127.0.0.1' },
    logging: { level: 'info' },
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const env: Record<string, string> = {
    EXEC_CONFIG: join(dir, 'config.json'),
    ...itEnv(ex),
    FIRESTORE_EMULATOR_HOST: firestore.host,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    GCP_PROJECT: o.projectId,
    EXEC_LEASE_TTL_MS: String(o.leaseTtlMs),
    EXEC_LEASE_RETRY_MS: '200',
    METADATA_SERVER_DETECTION: 'none',
    LOG_LEVEL: 'info',
  };
  const db = firestore.client();
  const orders = new FirestoreOrderStore({ firestore: db, collectionPrefix: prefix });
  const algoStates = new FirestoreAlgoStateStore({ firestore: db, collectionPrefix: prefix });
  const bus = new PubSubEventBus({ projectId: o.projectId, emulatorHost: pubsub.host, retryPolicy: null });
  const client = new ccxt.binance(ccxtOptionsFor(ex));
  await ex.configureCcxt(client);
  const processes: MainProcess[] = [];
  const stderrOf = new Map<MainProcess, () => string>();

  async function exchangeOrders(): Promise<ExchangeOrderRow[]> {
    const out: ExchangeOrderRow[] = [];
    let from = 0;
    for (;;) {
      const page = (await client.privateGetAllOrders({
        symbol: 'BTCUSDT',
        orderId: from,
        limit: 1000,
      })) as Array<Record<string, unknown>>;
      for (const r of page)
        out.push({
          orderId: String(r.orderId),
          clientOrderId: String(r.clientOrderId),
          status: String(r.status),
          executedQty: String(r.executedQty),
        });
      if (page.length < 1000) return out;
      from = Number(page[page.length - 1]?.orderId) + 1;
    }
  }

  async function exchangeTrades(): Promise<ExchangeTradeRow[]> {
    const out: ExchangeTradeRow[] = [];
    let from = 0;
    for (;;) {
      const page = (await client.privateGetMyTrades({
        symbol: 'BTCUSDT',
        fromId: from,
        limit: 1000,
      })) as Array<Record<string, unknown>>;
      for (const r of page) out.push({ id: String(r.id), orderId: String(r.orderId), qty: String(r.qty) });
      if (page.length < 1000) return out;
      from = Number(page[page.length - 1]?.id) + 1;
    }
  }

  const startEdge = async (): Promise<MainProcess> => {
    const p = await startMainProcess(env, { startTimeoutMs: 120_000 });
    processes.push(p);
    let err = '';
    p.child.stderr?.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-20_000);
    });
    stderrOf.set(p, () => err);
    return p;
  };

  const dumpLogs = async (name: string): Promise<string | null> => {
    const out = process.env.CHAOS_LOG_DIR;
    if (!out) return null;
    await mkdir(out, { recursive: true });
    for (const [i, p] of processes.entries()) {
      const lines = p.lines.map((l) => JSON.stringify(l)).join('\n');
      await writeFile(join(out, `${name}-edge-${i}.log`), `${lines}\n${stderrOf.get(p)?.() ?? ''}`);
    }
    return out;
  };

  return {
    ex,
    orders,
    bus,
    firestore,
    pubsub,
    processes,
    startEdge,
    supervise(first) {
      let edge = first;
      const exits: string[] = [];
      let running = true;
      const loop = (async () => {
        while (running) {
          await sleep(500);
          if (!running || alive(edge)) continue;
          const reason = edge.lines
            .filter((l) => l.severity === 'CRITICAL' || l.severity === 'ERROR')
            .at(-1)?.message;
          exits.push(`exit ${edge.child.exitCode ?? edge.child.signalCode}: ${String(reason ?? '')}`);
          try {
            edge = await startEdge();
          } catch (err) {
            exits.push(`restart failed: ${String(err).slice(0, 200)}`);
          }
        }
      })();
      return {
        current: () => edge,
        exits,
        stop: async () => {
          running = false;
          await loop;
        },
      };
    },
    async verdict(name, r) {
      if (r.passed) return r;
      const dir = await dumpLogs(name);
      if (dir !== null) r.failures.push(`edge logs in ${dir}`);
      return r;
    },
    dumpLogs,
    async submit(operationId, over) {
      const order = await createRoutedOrder(orders, operationId, over);
      await publishRoute(bus, order);
      return order;
    },
    async submitRetrying(operationId, over, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (let failed = 0; ; failed++) {
        try {
          const attempt = (async () => {
            const existing = await orders.get(operationId);
            const order = existing ?? (await createRoutedOrder(orders, operationId, over));
            await publishRoute(bus, order);
          })();
          attempt.catch(() => undefined);
          await Promise.race([
            attempt,
            sleep(10_000).then(() => {
              throw new Error('no answer within 10 s');
            }),
          ]);
          return failed;
        } catch (err) {
          if (Date.now() > deadline)
            throw new Error(`${operationId} not submitted within ${timeoutMs} ms: ${String(err)}`);
          await sleep(500);
        }
      }
    },
    async settle(ops, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const last = new Map<string, OrderRecord | null>();
      let open = [...ops];
      while (open.length > 0) {
        const got = await Promise.all(open.map((op) => orders.get(op).catch(() => null)));
        for (const [i, r] of got.entries()) last.set(open[i] as string, r);
        open = open.filter((_, i) => !TERMINAL_STATUSES.has(got[i]?.status ?? 'PENDING'));
        if (open.length === 0 || Date.now() > deadline) break;
        await sleep(500);
      }
      return last;
    },
    async audit(ops) {
      const records = new Map<string, OrderRecord>();
      for (const op of ops) {
        const r = await orders.get(op);
        if (r !== null) records.set(r.order_id, r);
      }
      const venueOrders = await exchangeOrders();
      const trades = await exchangeTrades();
      const byStatus: Record<string, number> = {};
      for (const r of records.values()) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      // The exchange's orders of these parents, by our client id (children's ids that do not fit
      // Binance's 36 characters are hashed: map every id these parents can have back).
      const known = new Map<string, string>();
      for (const parent of records.keys()) {
        known.set(venueClientIdOf('binance', parent).id, parent);
        for (const letter of CHILD_LETTERS)
          for (let i = 1; i <= MAX_CHILDREN; i++) {
            const child = `${parent}-${letter}${i}`;
            known.set(venueClientIdOf('binance', child).id, child);
          }
      }
      const ours = new Map<string, ExchangeOrderRow[]>();
      const parentOfVenueOrder = new Map<string, string>();
      for (const v of venueOrders) {
        const id = ourClientIdOf(v.clientOrderId, known);
        if (id === null) continue;
        const parent = parentOf(id);
        if (!records.has(parent)) continue;
        ours.set(id, [...(ours.get(id) ?? []), v]);
        parentOfVenueOrder.set(v.orderId, parent);
      }
      let duplicateVenueOrders = 0;
      for (const rows of ours.values()) duplicateVenueOrders += rows.length - 1;
      // Children: the scheduler's stored children (shared/algos) against the exchange. A child the
      // venue acknowledged (or that filled) must be there; a child there must be one of the stored.
      let lostChildren = 0;
      let unknownChildren = 0;
      const mismatchDetail: string[] = [];
      for (const r of records.values()) {
        if (r.exec_algorithm === 'NORMAL') continue;
        const st = await algoStates.get(r.operation_id);
        const stored = new Set((st?.state.children ?? []).map((c) => c.order_id));
        for (const c of st?.state.children ?? []) {
          const acked = st?.venue_order_ids[c.order_id] !== undefined || !new Dec(c.filled_quantity).isZero();
          if (acked && !ours.has(c.order_id)) {
            lostChildren += 1;
            mismatchDetail.push(`${r.operation_id}: child ${c.order_id} (${c.status}) not at the exchange`);
          }
        }
        for (const id of ours.keys()) {
          if (parentOf(id) !== r.order_id || id === r.order_id) continue;
          if (!stored.has(id)) {
            unknownChildren += 1;
            mismatchDetail.push(`${r.operation_id}: ${id} at the exchange, not in the stored state`);
          }
        }
      }
      // Fills: every exchange trade of our orders on the platform (fill id `<child>-T<trade id>`), and back.
      let lostFills = 0;
      let phantomFills = 0;
      let quantityMismatches = 0;
      let venueTrades = 0;
      const tradesByParent = new Map<string, ExchangeTradeRow[]>();
      for (const t of trades) {
        const parent = parentOfVenueOrder.get(t.orderId);
        if (parent === undefined) continue;
        venueTrades += 1;
        tradesByParent.set(parent, [...(tradesByParent.get(parent) ?? []), t]);
      }
      const executedByParent = new Map<string, Dec>();
      for (const [id, rows] of ours) {
        const parent = parentOf(id);
        let sum = executedByParent.get(parent) ?? new Dec(0);
        for (const r of rows) sum = sum.plus(r.executedQty);
        executedByParent.set(parent, sum);
      }
      for (const r of records.values()) {
        const fills = await orders.fills(r.operation_id);
        const tradeIds = new Set(fills.map((f) => f.fill_id.slice(f.fill_id.lastIndexOf('-T') + 2)));
        const venue = tradesByParent.get(r.order_id) ?? [];
        const venueIds = new Set(venue.map((t) => t.id));
        const lost = venue.filter((t) => !tradeIds.has(t.id)).length;
        const phantom = [...tradeIds].filter((id) => !venueIds.has(id)).length;
        lostFills += lost;
        phantomFills += phantom;
        const executed = executedByParent.get(r.order_id) ?? new Dec(0);
        const traded = venue.reduce((a, t) => a.plus(t.qty), new Dec(0));
        if (!executed.eq(r.filled_quantity) || !traded.eq(r.filled_quantity)) {
          quantityMismatches += 1;
          mismatchDetail.push(
            `${r.operation_id} ${r.exec_algorithm} ${r.status}: platform ${r.filled_quantity}, venue executed ${fmt(executed)}, venue trades ${fmt(traded)}`,
          );
        }
        if (lost > 0 || phantom > 0)
          mismatchDetail.push(
            `${r.operation_id}: ${lost} venue trades without a fill, ${phantom} fills without a trade`,
          );
      }
      const atVenue = new Set([...ours.keys()].map(parentOf));
      const notFilledReasons: Record<string, number> = {};
      const neverAtVenueReasons: Record<string, number> = {};
      for (const r of records.values()) {
        if (r.status === 'FILLED') continue;
        // The record keeps a rejection's reason; a cancel's or an expiry's is on its final event.
        const last = (await orders.timeline(r.operation_id)).at(-1);
        const reason = r.rejection_reason ?? (last !== undefined && 'reason' in last ? last.reason : null);
        const why = `${r.status}: ${(reason ?? 'no reason').replace(/[0-9][0-9.]*/g, 'N').slice(0, 100)}`;
        notFilledReasons[why] = (notFilledReasons[why] ?? 0) + 1;
        if (!atVenue.has(r.order_id)) neverAtVenueReasons[why] = (neverAtVenueReasons[why] ?? 0) + 1;
      }
      return {
        neverAtVenue: [...records.keys()].filter((id) => !atVenue.has(id)).length,
        notFilledReasons,
        neverAtVenueReasons,
        parents: ops.length,
        final: [...records.values()].filter((r) => TERMINAL_STATUSES.has(r.status)).length,
        byStatus,
        venueOrders: [...ours.values()].reduce((n, rows) => n + rows.length, 0),
        duplicateVenueOrders,
        lostChildren,
        unknownChildren,
        lostFills,
        phantomFills,
        quantityMismatches,
        venueTrades,
        mismatchDetail,
      };
    },
    async close() {
      for (const p of processes) {
        if (p.child.signalCode === 'SIGSTOP') p.child.kill('SIGCONT');
        if (alive(p)) await p.stop(10_000);
      }
      await bus.close().catch(() => undefined);
      await orders.close().catch(() => undefined);
      await algoStates.close().catch(() => undefined);
      await ex.stop().catch(() => undefined);
      await Promise.all([firestore.stop(), pubsub.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The risk ledger on Firestore: one document per scope, `<prefix>risk_ledgers/{escaped scope}`,
 * holding `{scope, version, ledger_json}` (the `RiskLedger` as exact JSON text: its maps are keyed
 * by instrument ids and operation ids, which need no escaping inside a string, and nothing queries
 * inside it).
 *
 * Two layers make `update` atomic:
 *
 * - Within this process, GROUP COMMIT: concurrent updates of the same scopes queue up; one batch
 *   (up to `maxBatch`) runs at a time per scope set, calling each `fn` in arrival order on the
 *   ledgers the earlier ones left, and writes once. A process never races itself, and a burst of N
 *   orders costs one ledger write, not N (which also keeps the document near Firestore's ~1
 *   sustained write/s guideline).
 * - Across processes, optimistic COMPARE-AND-SET, not a transaction:
 *
 *   1. `getAll(ledger docs)` — one round trip, remembering each document's `updateTime`;
 *   2. every `fn` of the batch in memory;
 *   3. one `WriteBatch`: `update(doc, …, {lastUpdateTime: <read time>})` for each changed ledger that
 *      existed, `create(doc)` for one that did not. The batch is atomic; if anyone wrote one of the
 *      documents after our read, its precondition fails (FAILED_PRECONDITION, or ALREADY_EXISTS for
 *      a create) and NOTHING is written;
 *   4. on such a conflict: wait a jittered, growing back-off and start again from 1.
 *
 * This is as safe as a transaction for this read-modify-write (a write only lands on exactly the
 * versions that were read), and under contention it degrades far better: a Firestore transaction
 * holds locks (pessimistic in server client libraries) and the emulator serialises contended
 * transactions with multi-second waits, whereas CAS losers just re-read. See
 * docs/order-pipeline.md ("Consistency model") for the throughput limits and sharding.
 */
import type { DocumentReference, DocumentSnapshot, Firestore, Timestamp } from '@google-cloud/firestore';
import {
  changedLedgers,
  DEFAULT_LEDGER_SCOPE,
  emptyLedger,
  fillByOperationId,
  type LedgerUpdateFn,
  normaliseScopes,
  parseStoredLedger,
  RiskLedgerSchema,
  type RiskLedgerStore,
  releaseByOperationId,
} from '../../shared/ports/risk-ledger-store.ts';
import type { RiskLedger } from '../../shared/risk/ledger.ts';
import type { Decimalish } from '../../shared/risk/types.ts';
import { escapeDocId } from './codec.ts';
import { collectionHealth, GrpcStatus, grpcCode } from './grpc.ts';

export interface FirestoreRiskLedgerStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection name (default ''): `<prefix>risk_ledgers`. */
  collectionPrefix?: string;
  /** Terminate the client on `close()` (default false: the caller owns it). */
  ownsClient?: boolean;
  /** Upper bound for `health()` (default 2000 ms). */
  healthTimeoutMs?: number;
  /** Give up (throw, so the message is retried later) after this long under contention (default 30 s). */
  maxWaitMs?: number;
  /** First back-off after a lost race (default 4 ms); doubles per attempt up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  /** Largest back-off (default 200 ms). Each wait is uniformly random in [0, current cap] ("full jitter"). */
  maxBackoffMs?: number;
  /** Random source for the jitter (tests); default Math.random. */
  random?: () => number;
  /**
   * Group commit (default true): concurrent updates of the same scopes in THIS process queue up and
   * run as one batch — one read, every `fn` in arrival order on the evolving ledgers, one CAS
   * commit — so a process never races itself and a burst of N orders costs one ledger write
   * instead of N. Other processes are still handled by the CAS loop.
   */
  groupCommit?: boolean;
  /** Most updates in one group commit (default 100). */
  maxBatch?: number;
}

/** Statistics of the store's CAS loop (for metrics and the concurrency test). */
export interface LedgerCasStats {
  /** Calls of `update` (and of the helpers built on it). */
  updates: number;
  /** Batches run (each one read-compute-commit loop; one per update without group commit). */
  batches: number;
  /** Successful commits. */
  commits: number;
  /** Commits refused because another writer changed a ledger first. */
  conflicts: number;
  /** Most CAS attempts one batch needed. */
  maxAttempts: number;
  /** Most updates in one batch. */
  maxBatch: number;
}

interface Pending {
  fn: LedgerUpdateFn<unknown>;
  resolve: (r: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/** Firestore refuses documents over 1 MiB; stop well before it with a clear message. */
const MAX_LEDGER_JSON_BYTES = 900_000;

/** The update ran out of time under contention (transient: retry the message). */
export class LedgerContentionError extends Error {
  constructor(scopes: readonly string[], attempts: number, waitedMs: number) {
    super(
      `risk ledger ${scopes.join(', ')}: gave up after ${attempts} conflicting attempts in ${Math.round(waitedMs)} ms (contention); retry later`,
    );
    this.name = 'LedgerContentionError';
  }
}

interface ReadLedger {
  ref: DocumentReference;
  exists: boolean;
  updateTime: Timestamp | undefined;
  ledger: RiskLedger;
}

export class FirestoreRiskLedgerStore implements RiskLedgerStore {
  readonly collection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxWaitMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  private readonly groupCommit: boolean;
  private readonly maxBatch: number;
  private readonly queues = new Map<string, { scopes: string[]; items: Pending[]; running: boolean }>();
  private readonly counters: LedgerCasStats = {
    updates: 0,
    batches: 0,
    commits: 0,
    conflicts: 0,
    maxAttempts: 0,
    maxBatch: 0,
  };

  constructor(opts: FirestoreRiskLedgerStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}risk_ledgers`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxWaitMs = opts.maxWaitMs ?? 30_000;
    this.baseBackoffMs = opts.baseBackoffMs ?? 4;
    this.maxBackoffMs = opts.maxBackoffMs ?? 200;
    this.random = opts.random ?? Math.random;
    this.groupCommit = opts.groupCommit ?? true;
    this.maxBatch = Math.max(1, Math.trunc(opts.maxBatch ?? 100));
  }

  /** CAS loop statistics since the store was made. */
  stats(): LedgerCasStats {
    return { ...this.counters };
  }

  private ref(scope: string): DocumentReference {
    return this.db.collection(this.collection).doc(escapeDocId(scope));
  }

  async update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R> {
    const scopes = normaliseScopes(scopeKeys);
    this.counters.updates++;
    return await new Promise<R>((resolve, reject) => {
      const item: Pending = { fn, resolve: (r) => resolve(r as R), reject };
      if (!this.groupCommit) {
        void this.runBatch(scopes, [item]);
        return;
      }
      const key = scopes.join('\u0000');
      let q = this.queues.get(key);
      if (q === undefined) {
        q = { scopes, items: [], running: false };
        this.queues.set(key, q);
      }
      q.items.push(item);
      if (!q.running) void this.drain(key, q);
    });
  }

  private async drain(
    key: string,
    q: { scopes: string[]; items: Pending[]; running: boolean },
  ): Promise<void> {
    q.running = true;
    try {
      while (q.items.length > 0) await this.runBatch(q.scopes, q.items.splice(0, this.maxBatch));
    } finally {
      q.running = false;
      if (q.items.length === 0) this.queues.delete(key);
      else void this.drain(key, q);
    }
  }

  /**
   * One read-compute-commit loop for a batch of updates; settles every item (never throws). Each
   * `fn` sees the ledgers as the earlier items of the batch left them; one that throws fails alone.
   */
  private async runBatch(scopes: string[], batch: Pending[]): Promise<void> {
    this.counters.batches++;
    if (batch.length > this.counters.maxBatch) this.counters.maxBatch = batch.length;
    const refs = scopes.map((s) => this.ref(s));
    const started = performance.now();
    try {
      for (let attempt = 1; ; attempt++) {
        const snaps = await this.db.getAll(...refs);
        const read = snaps.map((snap, i) => this.fromSnapshot(snap, refs[i] as DocumentReference));
        const base: Record<string, RiskLedger> = {};
        scopes.forEach((s, i) => {
          base[s] = (read[i] as ReadLedger).ledger;
        });
        let current: Record<string, RiskLedger> = base;
        const outcomes: Outcome[] = batch.map((item) => {
          try {
            const change = item.fn(current);
            const writes = changedLedgers(scopes, current, change.next);
            if (writes.length > 0) {
              const next = { ...current };
              for (const [scope, ledger] of writes) next[scope] = checkLedger(scope, ledger);
              current = next;
            }
            return { ok: true, result: change.result };
          } catch (error) {
            return { ok: false, error };
          }
        });
        const changed = scopes.filter((s) => current[s] !== base[s]);
        if (changed.length > 0) {
          const commit = this.db.batch();
          for (const scope of changed) {
            const r = read[scopes.indexOf(scope)] as ReadLedger;
            const doc = toDoc(scope, current[scope] as RiskLedger);
            if (r.exists && r.updateTime !== undefined)
              commit.update(r.ref, doc, { lastUpdateTime: r.updateTime });
            else commit.create(r.ref, doc);
          }
          try {
            await commit.commit();
            this.counters.commits++;
          } catch (err) {
            const code = grpcCode(err);
            const conflict =
              code === GrpcStatus.FAILED_PRECONDITION ||
              code === GrpcStatus.ALREADY_EXISTS ||
              code === GrpcStatus.ABORTED ||
              // The document vanished after our read (a concurrent delete): read again.
              code === GrpcStatus.NOT_FOUND;
            if (!conflict) throw err;
            this.counters.conflicts++;
            const waited = performance.now() - started;
            if (waited >= this.maxWaitMs) {
              this.noteAttempts(attempt);
              throw new LedgerContentionError(scopes, attempt, waited);
            }
            const cap = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(attempt - 1, 16));
            await sleep(this.random() * cap);
            continue;
          }
        }
        this.noteAttempts(attempt);
        batch.forEach((item, i) => {
          const o = outcomes[i] as Outcome;
          if (o.ok) item.resolve(o.result);
          else item.reject(o.error);
        });
        return;
      }
    } catch (err) {
      for (const item of batch) item.reject(err);
    }
  }

  async get(scopeKey: string): Promise<RiskLedger> {
    const ref = this.ref(scopeKey);
    return this.fromSnapshot(await ref.get(), ref).ledger;
  }

  async releaseReservation(
    operationId: string,
    filledQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    return this.update([scopeKey], (l) => {
      const before = l[scopeKey] as RiskLedger;
      const after = releaseByOperationId(before, operationId, filledQty);
      return { result: after !== before, next: { [scopeKey]: after } };
    });
  }

  async recordFill(
    operationId: string,
    fillQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    return this.update([scopeKey], (l) => {
      const before = l[scopeKey] as RiskLedger;
      const after = fillByOperationId(before, operationId, fillQty);
      return { result: after !== before, next: { [scopeKey]: after } };
    });
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }

  private noteAttempts(attempt: number): void {
    if (attempt > this.counters.maxAttempts) this.counters.maxAttempts = attempt;
  }

  private fromSnapshot(snap: DocumentSnapshot, ref: DocumentReference): ReadLedger {
    if (!snap.exists) return { ref, exists: false, updateTime: undefined, ledger: emptyLedger() };
    const data = snap.data();
    const text = data?.ledger_json;
    if (typeof text !== 'string') throw new Error(`${ref.path}: corrupt risk ledger: ledger_json is missing`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(
        `${ref.path}: corrupt risk ledger: ledger_json is not JSON (${(err as Error).message})`,
      );
    }
    return { ref, exists: true, updateTime: snap.updateTime, ledger: parseStoredLedger(json, ref.path) };
  }
}

/** Refuse a malformed ledger from `fn` before it can be stored (a bug must not corrupt the store). */
function checkLedger(scope: string, ledger: RiskLedger): RiskLedger {
  const r = RiskLedgerSchema.safeParse(ledger);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RangeError(
      `ledger for scope ${scope} is malformed at ${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? ''}`,
    );
  }
  return ledger;
}

function toDoc(scope: string, ledger: RiskLedger): Record<string, unknown> {
  const json = JSON.stringify(ledger);
  if (Buffer.byteLength(json, 'utf8') > MAX_LEDGER_JSON_BYTES) {
    throw new RangeError(
      `risk ledger ${scope} would be ${Buffer.byteLength(json, 'utf8')} bytes, over the ${MAX_LEDGER_JSON_BYTES}-byte budget of one Firestore document: too many open reservations; shard the ledger (docs/order-pipeline.md)`,
    );
  }
  return {
    scope,
    version: ledger.version,
    open_reservations: Object.keys(ledger.open).length,
    ledger_json: json,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

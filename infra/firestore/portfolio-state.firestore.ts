/**
 * The PortfolioStateStore on Firestore.
 *
 *   <prefix>portfolio_state/{escaped strategy_id}                       the latest actual state
 *   <prefix>nav_snapshots/{escaped strategy_id}|{20-digit ts_event}     one NAV snapshot
 *
 * The state document holds the state's fields as they are (decimals as strings); a snapshot stores
 * `ts_event` as its 20-digit zero-padded string so ids and queries sort by time. Both are validated
 * on write and on read.
 */
import { FieldPath, type Firestore } from '@google-cloud/firestore';
import {
  type NavSnapshot,
  NavSnapshotSchema,
  type PortfolioActualState,
  PortfolioActualStateSchema,
  type PortfolioStateStore,
} from '../../shared/ports/portfolio-state-store.ts';
import { encodeNanos, escapeDocId } from './codec.ts';
import { collectionHealth } from './grpc.ts';

export interface FirestorePortfolioStateStoreOptions {
  firestore: Firestore;
  collectionPrefix?: string;
  ownsClient?: boolean;
  healthTimeoutMs?: number;
}

export class FirestorePortfolioStateStore implements PortfolioStateStore {
  private readonly db: Firestore;
  private readonly states: string;
  private readonly snapshots: string;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;

  constructor(o: FirestorePortfolioStateStoreOptions) {
    this.db = o.firestore;
    this.states = `${o.collectionPrefix ?? ''}portfolio_state`;
    this.snapshots = `${o.collectionPrefix ?? ''}nav_snapshots`;
    this.ownsClient = o.ownsClient ?? false;
    this.healthTimeoutMs = o.healthTimeoutMs ?? 5_000;
  }

  async putActualState(state: PortfolioActualState): Promise<void> {
    const s = PortfolioActualStateSchema.parse(state);
    await this.db.collection(this.states).doc(escapeDocId(s.strategy_id)).set(s);
  }

  async getActualState(strategyId: string): Promise<PortfolioActualState | null> {
    const snap = await this.db.collection(this.states).doc(escapeDocId(strategyId)).get();
    if (!snap.exists) return null;
    const r = PortfolioActualStateSchema.safeParse(snap.data());
    if (!r.success) throw new Error(`${snap.ref.path}: corrupt actual state: ${r.error.message}`);
    return r.data;
  }

  async putNavSnapshot(snapshot: NavSnapshot): Promise<void> {
    const s = NavSnapshotSchema.parse(snapshot);
    const id = `${escapeDocId(s.strategy_id)}|${encodeNanos(s.ts_event)}`;
    await this.db
      .collection(this.snapshots)
      .doc(id)
      .set({ ...s, ts_event: encodeNanos(s.ts_event) });
  }

  async listNavSnapshots(strategyId: string, limit?: number): Promise<NavSnapshot[]> {
    // A range over the document ids (`<strategy>|<ts>`) sorts by time without a composite index.
    const from = `${escapeDocId(strategyId)}|`;
    const q = this.db
      .collection(this.snapshots)
      .where(FieldPath.documentId(), '>=', from)
      .where(FieldPath.documentId(), '<', `${from}\uffff`)
      .orderBy(FieldPath.documentId(), 'asc');
    const res = await q.get();
    const all = res.docs.map((d) => {
      const data = d.data() as Record<string, unknown>;
      const r = NavSnapshotSchema.safeParse({
        ...data,
        ts_event: typeof data.ts_event === 'string' ? BigInt(data.ts_event) : data.ts_event,
      });
      if (!r.success) throw new Error(`${d.ref.path}: corrupt NAV snapshot: ${r.error.message}`);
      return r.data;
    });
    // Firestore scans keys ascending only; one snapshot a day keeps reading them all cheap.
    return limit === undefined ? all : all.slice(Math.max(0, all.length - limit));
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.states, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}

/**
 * The RebalanceCompletionStore on Firestore:
 *
 *   <prefix>rebalance_completions/{escaped rebalance_id}
 *     { rebalance_id, strategy_id, state, snapshot (ts_event as 20 digits), applied, ts_claimed }
 *
 * A claim is a `create()`: it fails with ALREADY_EXISTS when another claim came first, and the
 * stored document is read back. Documents are validated on write and on read.
 */
import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { NavSnapshotSchema, PortfolioActualStateSchema } from '../../shared/ports/portfolio-state-store.ts';
import type {
  ClaimResult,
  RebalanceCompletion,
  RebalanceCompletionStore,
} from '../../shared/rebalance/completion-store.ts';
import { encodeNanos, escapeDocId } from '../firestore/codec.ts';
import { GrpcStatus, grpcCode } from '../firestore/grpc.ts';

export interface FirestoreRebalanceCompletionStoreOptions {
  firestore: Firestore;
  collectionPrefix?: string | undefined;
  ownsClient?: boolean | undefined;
}

const StoredSchema = z.object({
  rebalance_id: z.string().min(1),
  strategy_id: z.string().min(1),
  state: PortfolioActualStateSchema,
  snapshot: NavSnapshotSchema.extend({
    ts_event: z
      .string()
      .regex(/^\d{20}$/)
      .transform((s) => BigInt(s)),
  }),
  applied: z.boolean(),
});

export class FirestoreRebalanceCompletionStore implements RebalanceCompletionStore {
  private readonly db: Firestore;
  private readonly collection: string;
  private readonly ownsClient: boolean;

  constructor(o: FirestoreRebalanceCompletionStoreOptions) {
    this.db = o.firestore;
    this.collection = `${o.collectionPrefix ?? ''}rebalance_completions`;
    this.ownsClient = o.ownsClient ?? false;
  }

  private ref(rebalanceId: string) {
    return this.db.collection(this.collection).doc(escapeDocId(rebalanceId));
  }

  async claim(candidate: Omit<RebalanceCompletion, 'applied'>): Promise<ClaimResult> {
    const state = PortfolioActualStateSchema.parse(candidate.state);
    const snapshot = NavSnapshotSchema.parse(candidate.snapshot);
    const ref = this.ref(candidate.rebalance_id);
    try {
      await ref.create({
        rebalance_id: candidate.rebalance_id,
        strategy_id: candidate.strategy_id,
        state,
        snapshot: { ...snapshot, ts_event: encodeNanos(snapshot.ts_event) },
        applied: false,
      });
      return { completion: { ...candidate, state, snapshot, applied: false }, first: true };
    } catch (err) {
      if (grpcCode(err) !== GrpcStatus.ALREADY_EXISTS) throw err;
    }
    const stored = await this.get(candidate.rebalance_id);
    if (stored === null) throw new Error(`${ref.path}: claimed by another writer but not readable`);
    return { completion: stored, first: false };
  }

  async get(rebalanceId: string): Promise<RebalanceCompletion | null> {
    const snap = await this.ref(rebalanceId).get();
    if (!snap.exists) return null;
    const r = StoredSchema.safeParse(snap.data());
    if (!r.success) throw new Error(`${snap.ref.path}: corrupt rebalance completion: ${r.error.message}`);
    return r.data;
  }

  async markApplied(rebalanceId: string): Promise<void> {
    await this.ref(rebalanceId).update({ applied: true });
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}

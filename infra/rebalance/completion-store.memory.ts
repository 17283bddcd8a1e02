/** The RebalanceCompletionStore in memory (`npm start` without Firestore, tests). */
import type {
  ClaimResult,
  RebalanceCompletion,
  RebalanceCompletionStore,
} from '../../shared/rebalance/completion-store.ts';

export class MemoryRebalanceCompletionStore implements RebalanceCompletionStore {
  private readonly completions = new Map<string, RebalanceCompletion>();

  async claim(candidate: Omit<RebalanceCompletion, 'applied'>): Promise<ClaimResult> {
    const existing = this.completions.get(candidate.rebalance_id);
    if (existing !== undefined) return { completion: structuredClone(existing), first: false };
    const stored: RebalanceCompletion = structuredClone({ ...candidate, applied: false });
    this.completions.set(candidate.rebalance_id, stored);
    return { completion: structuredClone(stored), first: true };
  }

  async get(rebalanceId: string): Promise<RebalanceCompletion | null> {
    const c = this.completions.get(rebalanceId);
    return c === undefined ? null : structuredClone(c);
  }

  async markApplied(rebalanceId: string): Promise<void> {
    const c = this.completions.get(rebalanceId);
    if (c === undefined) throw new Error(`no completion of rebalance ${rebalanceId} to mark applied`);
    c.applied = true;
  }

  async close(): Promise<void> {}
}

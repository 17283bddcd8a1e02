/**
 * Port: the completion of each rebalance, recorded once. When every order of a rebalance is final,
 * whichever shell sees it first (the `rebalance-complete` function on a final `exec.orders` update,
 * the local watcher's poll) builds the actual state and the REBALANCE NAV snapshot and **claims**
 * the completion with them: the first claim is stored, every later one (a redelivered update, two
 * final updates racing on two instances) gets the stored one back. Only the stored completion is
 * ever written out (`portfolio_actual_state.json`, the PortfolioStateStore, the snapshot), and it is
 * marked applied once written, so a redelivery after that writes nothing; a crash between the claim
 * and the mark makes the next delivery write the very same documents again.
 *
 * Adapters: `infra/rebalance/completion-store.memory.ts`, `completion-store.firestore.ts`
 * (collection `rebalance_completions`, a `create()` that fails when the document exists).
 */
import type { NavSnapshot, PortfolioActualState } from '../ports/portfolio-state-store.ts';

export interface RebalanceCompletion {
  rebalance_id: string;
  strategy_id: string;
  state: PortfolioActualState;
  snapshot: NavSnapshot;
  /** True once the state and the snapshot were written out. */
  applied: boolean;
}

export interface ClaimResult {
  /** The stored completion: `candidate` when this claim was the first, the earlier one otherwise. */
  completion: RebalanceCompletion;
  /** True when this claim stored its candidate. */
  first: boolean;
}

export interface RebalanceCompletionStore {
  /** Store `candidate` (applied false) unless a completion of its rebalance exists; atomic. */
  claim(candidate: Omit<RebalanceCompletion, 'applied'>): Promise<ClaimResult>;
  get(rebalanceId: string): Promise<RebalanceCompletion | null>;
  /** Mark the completion written out. */
  markApplied(rebalanceId: string): Promise<void>;
  close(): Promise<void>;
}

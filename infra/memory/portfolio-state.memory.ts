/** The PortfolioStateStore in memory (`npm start` without Firestore, tests). Validates on write. */
import {
  type NavSnapshot,
  NavSnapshotSchema,
  type PortfolioActualState,
  PortfolioActualStateSchema,
  type PortfolioStateStore,
} from '../../shared/ports/portfolio-state-store.ts';

export class MemoryPortfolioStateStore implements PortfolioStateStore {
  private readonly states = new Map<string, PortfolioActualState>();
  private readonly snapshots = new Map<string, Map<bigint, NavSnapshot>>();

  async putActualState(state: PortfolioActualState): Promise<void> {
    this.states.set(state.strategy_id, structuredClone(PortfolioActualStateSchema.parse(state)));
  }

  async getActualState(strategyId: string): Promise<PortfolioActualState | null> {
    const s = this.states.get(strategyId);
    return s === undefined ? null : structuredClone(s);
  }

  async putNavSnapshot(snapshot: NavSnapshot): Promise<void> {
    const s = NavSnapshotSchema.parse(snapshot);
    let m = this.snapshots.get(s.strategy_id);
    if (m === undefined) {
      m = new Map();
      this.snapshots.set(s.strategy_id, m);
    }
    m.set(s.ts_event, structuredClone(s));
  }

  async listNavSnapshots(strategyId: string, limit?: number): Promise<NavSnapshot[]> {
    const all = [...(this.snapshots.get(strategyId)?.values() ?? [])].sort((a, b) =>
      a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : 0,
    );
    return structuredClone(limit === undefined ? all : all.slice(Math.max(0, all.length - limit)));
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return { ok: true, detail: 'memory' };
  }

  async close(): Promise<void> {}
}

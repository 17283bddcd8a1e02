/**
 * The actual state of a rebalanced portfolio (SPEC "Weights files": `portfolio_actual_state.json`
 * is written after each rebalance) and its NAV snapshots, per strategy. Written by the rebalance
 * shells once every order of a rebalance is final, and daily; read by ops and by the next
 * rebalance's reviewers. Adapters: memory (infra/memory) and Firestore; the JSON file itself goes
 * through the BlobStore beside it.
 *
 * Documents are validated on write and on read (zod): decimals as strings, times as ISO strings
 * (state) or integer nanoseconds (snapshots).
 */
import { z } from 'zod';
import type { Nanos } from '../domain/time.ts';

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const IssueSchema = z.object({ path: z.string(), message: z.string() });

export const ActualInstrumentSchema = z.object({
  instrument_key: z.string().min(1),
  quantity: decimal,
  price: decimal.nullable(),
  price_source: z.enum(['live_mid', 'last_trade', 'daily_close']).nullable(),
  value: decimal.nullable(),
  actual_weight: decimal.nullable(),
  target_weight: decimal,
});

export const ActualOrderSchema = z.object({
  operation_id: z.string().min(1),
  instrument_key: z.string().min(1),
  side: z.enum(['BUY', 'SELL']),
  quantity: decimal,
  status: z.string().min(1),
  filled_quantity: decimal,
  avg_fill_price: decimal.nullable(),
  fees: decimal,
  reason: z.string().nullable(),
});

export const PortfolioActualStateSchema = z.object({
  schema_version: z.literal(1),
  strategy_id: z.string().min(1),
  rebalance_id: z.string().min(1),
  source: z.string(),
  as_of: z.string(),
  ts_completed: z.string(),
  quote_currency: z.string().min(1),
  /** Null when it cannot be computed; `nav_issues` then says why. */
  nav: decimal.nullable(),
  nav_issues: z.array(IssueSchema),
  cash: z.record(z.string(), decimal),
  positions: z.record(z.string(), decimal),
  instruments: z.array(ActualInstrumentSchema),
  orders: z.array(ActualOrderSchema),
  skipped: z.array(z.object({ instrument_key: z.string(), reason: z.string(), message: z.string() })),
});
export type PortfolioActualState = z.output<typeof PortfolioActualStateSchema>;

export const NAV_SNAPSHOT_REASONS = ['REBALANCE', 'DAILY'] as const;

export interface NavSnapshot {
  strategy_id: string;
  ts_event: Nanos;
  reason: (typeof NAV_SNAPSHOT_REASONS)[number];
  nav: string | null;
  cash: string | null;
  exposure: string | null;
  /** Why the NAV could not be computed (empty when it could). */
  issues: Array<{ path: string; message: string }>;
}

export const NavSnapshotSchema = z.object({
  strategy_id: z.string().min(1),
  ts_event: z.bigint(),
  reason: z.enum(NAV_SNAPSHOT_REASONS),
  nav: decimal.nullable(),
  cash: decimal.nullable(),
  exposure: decimal.nullable(),
  issues: z.array(IssueSchema),
});

export interface PortfolioStateStore {
  /** Store the strategy's latest actual state (replaces the previous one). */
  putActualState(state: PortfolioActualState): Promise<void>;
  getActualState(strategyId: string): Promise<PortfolioActualState | null>;
  /** Record a NAV snapshot; the same (strategy, ts_event) twice is one snapshot (the last wins). */
  putNavSnapshot(snapshot: NavSnapshot): Promise<void>;
  /** The strategy's snapshots, oldest first; the latest `limit` when given. */
  listNavSnapshots(strategyId: string, limit?: number): Promise<NavSnapshot[]>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

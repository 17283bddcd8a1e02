/**
 * The trading state (SPEC "Pre-trade risk"): ACTIVE / REDUCING / HALTED for the whole platform and,
 * optionally, per strategy — with the reason, who changed it and when. HALTED denies every order,
 * REDUCING allows only orders that reduce exposure. Stored in Firestore in the cloud (a journal
 * locally) and honoured by every process within 1 s: readers cache it for at most
 * `risk.trading_state_poll_ms` (≤ 1000 ms), see `CachedTradingStateReader` (shared/app).
 */
import { z } from 'zod';
import type { Nanos } from '../domain/time.ts';
import { TRADING_STATES, type TradingState } from '../domain/types.ts';

/** Which trading state: the platform's, or one strategy's. */
export type TradingScope = { kind: 'global' } | { kind: 'strategy'; strategy_id: string };

export const GLOBAL_SCOPE: TradingScope = Object.freeze({ kind: 'global' });

/** One stored state with its audit fields. */
export interface TradingStateEntry {
  state: TradingState;
  reason: string;
  /** Who changed it (an operator, a service such as `drift-monitor`). */
  updated_by: string;
  ts_updated: Nanos;
  /** 1 for the first setting of this scope, +1 on every change. */
  version: number;
}

/** Everything stored: the global state (null = never set) and every strategy's. */
export interface TradingStateSnapshot {
  global: TradingStateEntry | null;
  strategies: Readonly<Record<string, TradingStateEntry>>;
}

/** A change as requested. */
export interface TradingStateChange {
  state: TradingState;
  reason: string;
  updated_by: string;
}

/** One recorded change (the audit trail). */
export interface TradingStateHistoryEntry extends TradingStateEntry {
  scope: TradingScope;
  /** The state before the change (null = none stored). */
  previous: TradingState | null;
}

/** What the order pipeline needs: the current snapshot (possibly cached, never older than 1 s). */
export interface TradingStateReader {
  snapshot(): Promise<TradingStateSnapshot>;
}

export interface TradingStateStore extends TradingStateReader {
  /** Record a change (always stored, even when the state is unchanged: the reason may differ). */
  set(scope: TradingScope, change: TradingStateChange, ts: Nanos): Promise<TradingStateEntry>;
  /** Changes newest first (all scopes, or one), at most `limit` (default 100). */
  history(opts?: {
    scope?: TradingScope | undefined;
    limit?: number | undefined;
  }): Promise<TradingStateHistoryEntry[]>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

/** The states an order of `strategyId` is checked against. `initial` applies when none is stored. */
export function effectiveTradingState(
  snapshot: TradingStateSnapshot,
  strategyId: string,
  initial: TradingState,
): { trading_state: TradingState; strategy_trading_state: TradingState } {
  return {
    trading_state: snapshot.global?.state ?? initial,
    strategy_trading_state: snapshot.strategies[strategyId]?.state ?? 'ACTIVE',
  };
}

export function scopeLabel(scope: TradingScope): string {
  return scope.kind === 'global' ? 'global' : `strategy ${scope.strategy_id}`;
}

export function sameScope(a: TradingScope, b: TradingScope): boolean {
  return (
    a.kind === b.kind && (a.kind === 'global' || (b.kind === 'strategy' && a.strategy_id === b.strategy_id))
  );
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export const TradingScopeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('global') }),
  z.object({ kind: z.literal('strategy'), strategy_id: z.string().min(1).max(128) }),
]);

export const TradingStateChangeSchema = z.object({
  state: z.enum(TRADING_STATES),
  reason: z.string().min(1, 'a reason is required').max(1024),
  updated_by: z.string().min(1, 'updated_by is required').max(256),
});

export const TradingStateEntrySchema = z.object({
  state: z.enum(TRADING_STATES),
  reason: z.string(),
  updated_by: z.string(),
  ts_updated: z.bigint(),
  version: z.number().int().min(1),
});

export const TradingStateHistoryEntrySchema = TradingStateEntrySchema.extend({
  scope: TradingScopeSchema,
  previous: z.enum(TRADING_STATES).nullable(),
});

/** Validate a requested change; throws a RangeError naming the bad field. */
export function checkTradingStateChange(scope: TradingScope, change: TradingStateChange): void {
  const s = TradingScopeSchema.safeParse(scope);
  if (!s.success) throw new RangeError(`invalid trading state scope: ${s.error.issues[0]?.message ?? ''}`);
  const c = TradingStateChangeSchema.safeParse(change);
  if (!c.success) {
    const i = c.error.issues[0];
    throw new RangeError(`invalid trading state change: ${i?.path.join('.') ?? ''}: ${i?.message ?? ''}`);
  }
}

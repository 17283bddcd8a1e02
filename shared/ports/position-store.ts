import type { Position } from '../domain/types.ts';

export type PositionUpdateResult =
  | { ok: true; position: Position }
  | { ok: false; reason: 'version_conflict'; current: Position | null };

/** The position book: one document per (account_id, instrument_key). */
export interface PositionStore {
  get(accountId: string, instrumentKey: string): Promise<Position | null>;
  list(filter?: {
    account_id?: string | undefined;
    instrument_key?: string | undefined;
  }): Promise<Position[]>;
  /**
   * Store `next` if the stored version equals `expectedVersion` (0 = must not exist yet).
   * `next.version` must be expectedVersion + 1.
   */
  put(next: Position, expectedVersion: number): Promise<PositionUpdateResult>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

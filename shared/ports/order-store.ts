import type { OrderEvent } from '../domain/events.ts';
import type { Nanos } from '../domain/time.ts';
import type { Fill, OrderRecord, OrderStatus } from '../domain/types.ts';

export interface OrderQuery {
  status?: OrderStatus | OrderStatus[] | undefined;
  venue?: string | undefined;
  strategy_id?: string | undefined;
  instrument_key?: string | undefined;
  parent_order_id?: string | undefined;
  /** ts_created >= from (inclusive). */
  from?: Nanos | undefined;
  /** ts_created < to (exclusive). */
  to?: Nanos | undefined;
  /** Newest first, at most this many (default 100, max 1000). */
  limit?: number | undefined;
}

export type CreateResult =
  /** created: true the first time an operation_id is seen; false returns the existing order untouched. */
  { created: boolean; order: OrderRecord };

export type TransitionResult =
  | { ok: true; order: OrderRecord }
  | { ok: false; reason: 'not_found' }
  /** Someone else moved the order first; `current` is what is stored now. */
  | { ok: false; reason: 'version_conflict'; current: OrderRecord }
  /** A fill with this fill_id is already stored for the order: nothing was written. */
  | { ok: false; reason: 'duplicate_fill'; current: OrderRecord; fill_id: string };

/**
 * The unified OMS. Orders are keyed by operation_id (the idempotency key); every change is a
 * versioned transition that appends to the order's timeline atomically with the new state.
 */
export interface OrderStore {
  /** Idempotent create keyed by `order.operation_id` (version must be 1). Stores `events` as the timeline start. */
  create(order: OrderRecord, events: OrderEvent[]): Promise<CreateResult>;
  get(operationId: string): Promise<OrderRecord | null>;
  /**
   * Replace the order with `next` (whose version must be expectedVersion + 1) if the stored version
   * is `expectedVersion`, appending `events` to the timeline and storing `fills` (each at most once,
   * keyed by fill_id), all atomically.
   */
  transition(
    operationId: string,
    expectedVersion: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills?: Fill[],
  ): Promise<TransitionResult>;
  /** The order's events in the order they were recorded. */
  timeline(operationId: string): Promise<OrderEvent[]>;
  fills(operationId: string): Promise<Fill[]>;
  query(q: OrderQuery): Promise<OrderRecord[]>;
  /** Component health for GET /api/health. */
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

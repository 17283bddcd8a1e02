/**
 * Shapes of reconciliation (docs/reconciliation.md): what we compare, the differences found and the
 * corrections that settle them. Pure data: decimal strings, bigint nanoseconds.
 */
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { Fill, OrderRecord, OrderStatus } from '../domain/types.ts';
import type {
  VenueBalance,
  VenueOrderState,
  VenueOrderStatus,
  VenuePosition,
  VenueTrade,
} from '../ports/venue.ts';

/** The kinds of difference between our books and a venue's. */
export const DIFFERENCE_KINDS = [
  /** An order the venue has open that we do not know, or one we think working that the venue does not know. */
  'missing_order',
  /** Both know the order but disagree on its state (status, ack, filled quantity). */
  'status_mismatch',
  /** A venue execution that is not a stored fill of ours. */
  'missing_fill',
  /** An asset's balance at the venue is not what our fills explain. */
  'balance_mismatch',
  /** A derivative position at the venue is not our position. */
  'position_mismatch',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/** Which side has what the other lacks (missing_order only). */
export type MissingSide = 'venue_only' | 'ours_only';

/** One difference. `key` identifies it across runs (the same difference found again has the same key). */
export interface Difference {
  kind: DifferenceKind;
  key: string;
  venue: string;
  /** The venue's instrument key (null for balances). */
  instrument_key: string | null;
  operation_id: string | null;
  client_order_id: string | null;
  /** missing_order: who has the order. */
  missing?: MissingSide | undefined;
  /** Our value (status, quantity, balance) and the venue's, as strings; null when absent. */
  ours: string | null;
  theirs: string | null;
  /** One sentence for people. */
  message: string;
  /** Everything else worth keeping (ids, quantities), as strings. */
  detail: Record<string, string | null>;
  /**
   * Keys of other differences whose corrections settle this one too (an order FILLED at the venue
   * is settled by recording its missing fills). A difference is settled by its own corrections,
   * or by theirs.
   */
  settled_by?: string[] | undefined;
}

/** What to record so our books agree with the venue (applied through the ExecutionRecorder). */
export type Correction =
  /** Record a venue execution as a fill (exactly once: the fill id is derived from the trade). */
  | { kind: 'apply_fill'; difference: string; operation_id: string; fill: Fill; synthetic: boolean }
  /** The venue acknowledged an order whose ack we missed. */
  | { kind: 'accept'; difference: string; operation_id: string; venue_order_id: string; ts_event: Nanos }
  /** The order ended at the venue (or the venue does not know it): record the end. */
  | {
      kind: 'set_status';
      difference: string;
      operation_id: string;
      status: Extract<OrderStatus, 'CANCELED' | 'EXPIRED' | 'REJECTED'>;
      reason: string;
      ts_event: Nanos;
    }
  /** An order of ours that our books consider finished is still open at the venue: cancel it there. */
  | {
      kind: 'cancel_at_venue';
      difference: string;
      operation_id: string;
      client_order_id: string;
      instrument_key: string;
    };
export type CorrectionKind = Correction['kind'];

/** |ours − theirs| ≤ max(absolute, relative × max(|ours|, |theirs|)) counts as equal. */
export interface Tolerance {
  absolute: DecimalString;
  relative: DecimalString;
}

export const EXACT: Tolerance = Object.freeze({ absolute: '0', relative: '0' });

/** Our side of the comparison. */
export interface OurState {
  /**
   * Our orders at the venue that the comparison covers: every working order, and the recent ones
   * (so that a venue trade of an order that finished meanwhile finds its order).
   */
  orders: readonly OrderRecord[];
  /** Fills stored for those orders (only the ids matter). */
  fills: ReadonlyArray<{ operation_id: string; fill_id: string }>;
  /**
   * Our net positions by the VENUE's instrument key (null: positions are not compared). Spot pairs
   * are ignored here (spot holdings are balances).
   */
  positions: ReadonlyArray<{ instrument_key: string; quantity: DecimalString }> | null;
  /** The balance we expect per asset at the venue (null: balances are not compared). */
  balances: ReadonlyArray<{ asset: string; total: DecimalString }> | null;
}

/** The venue's side, as queried. */
export interface VenueSnapshot {
  openOrders: readonly VenueOrderState[];
  /**
   * What the venue said about each of our working orders that is not in `openOrders`
   * (`fetchOrder`): its state, or null when the venue does not know it. Orders without an entry
   * are not judged.
   */
  lookups: ReadonlyArray<{ client_order_id: string; state: VenueOrderState | null }>;
  /** Our executions at the venue since the look-back. */
  trades: readonly VenueTrade[];
  balances: readonly VenueBalance[] | null;
  positions: readonly VenuePosition[] | null;
}

export interface DiffOptions {
  venue: string;
  now: Nanos;
  /** Positions: default exact. */
  tolerance?: Tolerance | undefined;
  /** Balances: default `tolerance`. */
  balanceTolerance?: Tolerance | undefined;
  /**
   * Our working orders that changed within this many ns are in flight (sent a moment ago, a cancel
   * on its way) and are not judged missing or ended. Default 30 s.
   */
  graceNs?: Nanos | undefined;
  /** Propose `cancel_at_venue` for orders still open at the venue that our books consider finished. */
  cancelStrayOrders?: boolean | undefined;
}

export interface VenueDiff {
  differences: Difference[];
  /** In the order to apply them: acks, fills (by ts_event), then status changes, then venue cancels. */
  corrections: Correction[];
}

/** Statuses a venue reports for an order still working there. */
export const VENUE_OPEN_STATUSES: ReadonlySet<VenueOrderStatus> = new Set(['NEW', 'PARTIALLY_FILLED']);

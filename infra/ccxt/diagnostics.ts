/**
 * What a ccxt venue session reports about itself besides domain events: retries, circuit breaker
 * transitions, stream reconnects, gap fills, REST polling, clock offset measurements and submits
 * whose outcome had to be recovered. The edge (stateful/venues) turns these into structured log
 * lines, `/metrics` counters and `venue.*` events; nothing here is needed for correctness.
 *
 * Every event carries the venue id, the account id and `ts` (our clock, ns).
 */
import type { Nanos } from '../../shared/domain/time.ts';
import type { VenueErrorKind } from '../../shared/ports/venue.ts';

export type BreakerState = 'closed' | 'open' | 'half_open';
export type StreamKind = 'private' | 'public';

interface DiagnosticBase {
  venue: string;
  account_id: string;
  ts: Nanos;
}

/** The event-specific part of a {@link VenueDiagnosticEvent}. */
export type VenueDiagnosticPayload =
  | {
      /** A REST call failed with a retryable error and will be tried again after `delay_ms`. */
      type: 'retry';
      operation: string;
      attempt: number;
      delay_ms: number;
      error_kind: VenueErrorKind;
      message: string;
    }
  | {
      /** A REST call failed for good (after its retries). */
      type: 'call_failed';
      operation: string;
      error_kind: VenueErrorKind;
      message: string;
    }
  | { type: 'breaker'; state: BreakerState; reason?: string | undefined }
  | { type: 'stream'; stream: StreamKind; state: 'up' | 'down'; reason?: string | undefined }
  | {
      /** A WebSocket loop failed and is re-subscribing after `delay_ms`. */
      type: 'reconnect';
      loop: string;
      attempt: number;
      delay_ms: number;
      message: string;
    }
  | {
      type: 'gap_fill';
      reason: 'connect' | 'reconnect' | 'poll';
      orders: number;
      trades: number;
      duration_ms: number;
      ok: boolean;
      message?: string | undefined;
    }
  | { type: 'polling'; state: 'started' | 'stopped' }
  | {
      /** Local clock minus venue clock (ms), measured at the midpoint of a server-time request. */
      type: 'clock_offset';
      offset_ms: number;
      rtt_ms: number;
    }
  | { type: 'clock_offset_failed'; message: string }
  | {
      /** A submit whose outcome was unknown (timeout, 5xx, reset) was resolved by a lookup. */
      type: 'submit_recovery';
      client_order_id: string;
      outcome: 'found' | 'resend' | 'duplicate_found';
      attempt: number;
      message: string;
    }
  | { type: 'parse_error'; source: string; message: string }
  | { type: 'instrument_missing'; instrument_key: string; symbol: string };

export type VenueDiagnosticEvent = DiagnosticBase & VenueDiagnosticPayload;

export type VenueDiagnosticListener = (event: VenueDiagnosticEvent) => void;

/** A point-in-time view of a session for `/api/health` and the console. */
export interface VenueDiagnosticsSnapshot {
  venue: string;
  account_id: string;
  exchange: string;
  connected: boolean;
  breaker: BreakerState;
  streams: Record<StreamKind, 'up' | 'down' | 'connecting' | 'idle'>;
  polling: boolean;
  /** Last measured local-minus-venue clock offset (ms), null until measured. */
  clock_offset_ms: number | null;
  clock_rtt_ms: number | null;
  last_error: { operation: string; kind: VenueErrorKind; message: string; ts: Nanos } | null;
  counters: {
    retries: number;
    failures: number;
    reconnects: number;
    gap_fills: number;
    submit_recoveries: number;
    parse_errors: number;
  };
}

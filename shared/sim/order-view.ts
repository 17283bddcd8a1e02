/**
 * The one mapping "matching-engine events → an order's state" (docs/matching-engine.md), shared by
 * every place that turns `MatchingEngine` events into orders: the backtest window, the ShadowVenue
 * (and through it `npm start`'s SIM) and the local exchange (dev/local-exchange, which names the
 * final states as Binance does). Pure: each event gives a new view.
 *
 * - `accepted`: the order reached the matching (PENDING → WORKING), the mid at arrival is kept;
 * - `filled`: quantity, notional and fees accumulate; FILLED when nothing is left, else PARTIALLY_FILLED;
 * - `canceled` / `expired` / `rejected`: final, with `<REASON>: <message>`;
 * - `cancel_rejected`: nothing changes (the order had finished, or was unknown).
 * A final order never changes again.
 */
import { Dec, type DecimalString, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { SimEvent } from './types.ts';

export type SimOrderPhase =
  | 'PENDING'
  | 'WORKING'
  | 'PARTIALLY_FILLED'
  | 'FILLED'
  | 'CANCELED'
  | 'EXPIRED'
  | 'REJECTED';

export interface SimOrderView {
  phase: SimOrderPhase;
  filled: Dec;
  notional: Dec;
  fees: Dec;
  /** `<REASON>: <message>` of the event that ended the order; null while it works or once FILLED. */
  reason: string | null;
  mid_at_arrival: DecimalString | null;
  /** Time of the last event applied; null before any. */
  ts_event: Nanos | null;
}

const ZERO = new Dec(0);

export function newSimOrderView(): SimOrderView {
  return {
    phase: 'PENDING',
    filled: ZERO,
    notional: ZERO,
    fees: ZERO,
    reason: null,
    mid_at_arrival: null,
    ts_event: null,
  };
}

export function isFinalPhase(p: SimOrderPhase): boolean {
  return p === 'FILLED' || p === 'CANCELED' || p === 'EXPIRED' || p === 'REJECTED';
}

/** The order's view after one engine event about it. */
export function applySimEvent(v: SimOrderView, ev: SimEvent): SimOrderView {
  if (ev.type === 'cancel_rejected' || isFinalPhase(v.phase)) return v;
  switch (ev.type) {
    case 'accepted':
      return {
        ...v,
        phase: v.phase === 'PENDING' ? 'WORKING' : v.phase,
        mid_at_arrival: ev.mid_at_arrival,
        ts_event: ev.ts_event,
      };
    case 'filled':
      return {
        ...v,
        phase: toDec(ev.leaves_quantity).isZero() ? 'FILLED' : 'PARTIALLY_FILLED',
        filled: v.filled.plus(ev.quantity),
        notional: v.notional.plus(toDec(ev.quantity).times(ev.price)),
        fees: v.fees.plus(ev.fee),
        ts_event: ev.ts_event,
      };
    case 'canceled':
      return { ...v, phase: 'CANCELED', reason: `${ev.reason}: ${ev.message}`, ts_event: ev.ts_event };
    case 'expired':
      return { ...v, phase: 'EXPIRED', reason: `${ev.reason}: ${ev.message}`, ts_event: ev.ts_event };
    case 'rejected':
      return { ...v, phase: 'REJECTED', reason: `${ev.reason}: ${ev.message}`, ts_event: ev.ts_event };
  }
}

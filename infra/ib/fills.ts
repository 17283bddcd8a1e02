/**
 * Fills exactly once from IB's two halves of an execution: `execDetails` (what traded: order, side,
 * size, price, time) and `commissionReport` (what it cost). TWS sends them as separate messages, in
 * either order, and sends them again — on a `reqExecutions` answer, after a reconnect, or twice on a
 * bad line. Both halves carry the `execId`; the joiner keys on it, completes a trade when it has
 * both, and completes each execId once.
 *
 * Pure: no timers, no socket. A correction (IB re-sends an execution under the same order with an
 * execId whose suffix counts up, "…01.01" → "…01.02") is a different execId: a different trade.
 */
import type { Nanos } from '../../shared/domain/time.ts';
import type { Liquidity, Side } from '../../shared/domain/types.ts';
import type { VenueTrade } from '../../shared/ports/venue.ts';

/** The execution half, already mapped to domain values (mapping.ts). */
export interface ExecutionHalf {
  exec_id: string;
  order_id: number;
  /** `orderRef` of the order (our client order id), '' when the order is not ours. */
  order_ref: string;
  instrument_key: string;
  side: Side;
  quantity: string;
  price: string;
  liquidity: Liquidity;
  ts_event: Nanos;
}

/** The commission half. */
export interface CommissionHalf {
  exec_id: string;
  fee: string;
  fee_currency: string;
}

/** Remember at most this many completed execIds (oldest forgotten first): a long session stays bounded. */
const MEMORY = 200_000;

export class FillJoiner {
  private readonly executions = new Map<string, ExecutionHalf>();
  private readonly commissions = new Map<string, CommissionHalf>();
  private readonly done = new Map<string, VenueTrade>();

  constructor(private readonly memory = MEMORY) {}

  /** An execution arrived: the completed trade when its commission is already here (null otherwise, or when seen). */
  execution(e: ExecutionHalf): VenueTrade | null {
    if (this.done.has(e.exec_id)) return null;
    const c = this.commissions.get(e.exec_id);
    if (c === undefined) {
      this.executions.set(e.exec_id, e);
      return null;
    }
    return this.complete(e, c);
  }

  /** A commission report arrived: the completed trade when its execution is already here. */
  commission(c: CommissionHalf): VenueTrade | null {
    if (this.done.has(c.exec_id)) return null;
    const e = this.executions.get(c.exec_id);
    if (e === undefined) {
      this.commissions.set(c.exec_id, c);
      return null;
    }
    return this.complete(e, c);
  }

  /** A trade completed before (a query answer reads it back without it being new). */
  completed(execId: string): VenueTrade | undefined {
    return this.done.get(execId);
  }

  /** Executions still waiting for their commission report. */
  waiting(): ExecutionHalf[] {
    return [...this.executions.values()];
  }

  private complete(e: ExecutionHalf, c: CommissionHalf): VenueTrade {
    this.executions.delete(e.exec_id);
    this.commissions.delete(e.exec_id);
    const trade: VenueTrade = {
      trade_id: e.exec_id,
      venue_order_id: String(e.order_id),
      client_order_id: e.order_ref === '' ? null : e.order_ref,
      instrument_key: e.instrument_key,
      side: e.side,
      quantity: e.quantity,
      price: e.price,
      fee: c.fee,
      fee_currency: c.fee_currency,
      liquidity: e.liquidity,
      ts_event: e.ts_event,
    };
    this.done.set(e.exec_id, trade);
    if (this.done.size > this.memory) {
      const oldest = this.done.keys().next();
      if (!oldest.done) this.done.delete(oldest.value);
    }
    return trade;
  }
}

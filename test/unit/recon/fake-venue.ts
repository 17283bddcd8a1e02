/**
 * An in-memory venue account for the reconciler tests: what the venue "knows" is set by the test
 * (open orders, order states, executions, balances, positions, instrument rules); `offline` makes
 * every query fail as an unreachable venue does.
 */
import type { Nanos } from '../../../shared/domain/time.ts';
import {
  type Venue,
  type VenueBalance,
  type VenueBook,
  VenueError,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
  type VenueOrderRequest,
  type VenueOrderState,
  type VenuePosition,
  type VenueTrade,
} from '../../../shared/ports/venue.ts';

export class FakeVenue implements Venue {
  readonly mode = 'LIVE' as const;
  /** Every order the venue knows, by client order id. */
  readonly orders = new Map<string, VenueOrderState>();
  trades: VenueTrade[] = [];
  balances: VenueBalance[] = [];
  positions: VenuePosition[] = [];
  rules: VenueInstrumentRules[] = [];
  offline = false;
  /** Instruments the venue lists (null: all); others are refused as unknown symbols. */
  listed: Set<string> | null = null;
  /** Calls made, by method (to check what the reconciler asked). */
  readonly calls: string[] = [];
  readonly canceled: string[] = [];

  constructor(
    readonly id: string,
    readonly account_id: string,
  ) {}

  private check(what: string): void {
    this.calls.push(what);
    if (this.offline) throw new VenueError('transient', this.id, `${what}: connect ECONNREFUSED`);
  }

  async connect(): Promise<void> {}
  async submit(_req: VenueOrderRequest): Promise<VenueOrderState> {
    throw new VenueError('rejected', this.id, 'the fake venue takes no orders');
  }
  async cancel(clientOrderId: string, _instrumentKey: string): Promise<VenueOrderState> {
    this.check('cancel');
    const o = this.orders.get(clientOrderId);
    if (o === undefined) throw new VenueError('not_found', this.id, `no order ${clientOrderId}`);
    const next: VenueOrderState = { ...o, status: 'CANCELED' };
    this.orders.set(clientOrderId, next);
    this.canceled.push(clientOrderId);
    return next;
  }
  async fetchOrder(clientOrderId: string, _instrumentKey: string): Promise<VenueOrderState | null> {
    this.check('fetchOrder');
    return this.orders.get(clientOrderId) ?? null;
  }
  async fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]> {
    this.check('fetchOpenOrders');
    if (instrumentKey !== undefined && this.listed !== null && !this.listed.has(instrumentKey)) {
      throw new VenueError('rejected', this.id, `fetchOpenOrders: unknown symbol ${instrumentKey}`);
    }
    return [...this.orders.values()].filter(
      (o) =>
        (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') &&
        (instrumentKey === undefined || o.instrument_key === instrumentKey),
    );
  }
  async fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]> {
    this.check('fetchTrades');
    return this.trades.filter((t) => t.instrument_key === instrumentKey && t.ts_event >= sinceNs);
  }
  async fetchBalances(): Promise<VenueBalance[]> {
    this.check('fetchBalances');
    return this.balances.map((b) => ({ ...b }));
  }
  async fetchPositions(): Promise<VenuePosition[]> {
    this.check('fetchPositions');
    return this.positions.map((p) => ({ ...p }));
  }
  async fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]> {
    this.check('fetchInstrumentRules');
    return this.rules.filter((r) => instrumentKeys.includes(r.instrument_key));
  }
  async fetchBook(instrumentKey: string, _depth: number): Promise<VenueBook> {
    this.check('fetchBook');
    return { instrument_key: instrumentKey, bids: [], asks: [], ts_event: 0n };
  }
  async watch(_keys: string[], _handler: (event: VenueEvent) => void): Promise<void> {}
  health(): { state: VenueHealthState; detail?: string | undefined } {
    return this.offline ? { state: 'down', detail: 'offline' } : { state: 'up' };
  }
  async close(): Promise<void> {}
}

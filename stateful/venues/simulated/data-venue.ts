/**
 * The market-data session of `npm start`'s SIM venue: the seeded moving market (./market-model.ts)
 * behind the Venue port's public half — `watch` streams book snapshots and trade prints as a live
 * exchange's public streams would, `fetchBook` answers the latest book. It sends no orders and has
 * no account (those methods refuse): the `ShadowVenue` (infra/shadow/venue.ts) on top of it fills
 * orders with our matching engine, so a SIMULATED venue runs through the venue edge exactly as a
 * SHADOW one does in production (durable scheduler, the execution core's gates, HALTED).
 *
 * Time comes from the injected Clock: `advance()` emits every event up to `clock.now()`; `watch`
 * starts a timer (`tickMs`) that calls it, tests call it by hand with a TestClock.
 */
import type { Nanos } from '../../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import {
  type Venue,
  type VenueBalance,
  type VenueBook,
  VenueError,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
  type VenueOrderState,
  type VenuePosition,
  type VenueTrade,
} from '../../../shared/ports/venue.ts';
import { SyntheticMarketStream } from './market-model.ts';

export interface SyntheticDataVenueOptions {
  id: string;
  instruments: readonly InstrumentSpec[];
  clock: Clock;
  seed: number;
  /** Starting mids by instrument key (default: the market model's table). */
  startPrices?: Readonly<Record<string, number>> | undefined;
  /** Time between snapshots (default the model's [100, 250] ms). */
  quoteIntervalMs?: readonly [number, number] | undefined;
  /** Timer period of `advance()` once watching; 0 = none (tests). Default 50 ms. */
  tickMs?: number | undefined;
}

/**
 * The public half of a venue alone: a market-data session sends no orders and has no account, so
 * those methods refuse (`rejected` for orders and trades, `auth` for the account), naming `what`.
 */
export abstract class DataSessionVenue
  implements
    Pick<
      Venue,
      | 'submit'
      | 'cancel'
      | 'fetchOrder'
      | 'fetchOpenOrders'
      | 'fetchTrades'
      | 'fetchBalances'
      | 'fetchPositions'
    >
{
  abstract readonly id: string;

  /** `what` names the session in the refusals ("a market-data session"). */
  constructor(private readonly what: string) {}

  async submit(): Promise<VenueOrderState> {
    throw new VenueError('rejected', this.id, `${this.what} sends no orders`);
  }
  async cancel(): Promise<VenueOrderState> {
    throw new VenueError('rejected', this.id, `${this.what} sends no orders`);
  }
  async fetchOrder(): Promise<VenueOrderState | null> {
    throw new VenueError('rejected', this.id, `${this.what} has no orders`);
  }
  async fetchOpenOrders(): Promise<VenueOrderState[]> {
    throw new VenueError('rejected', this.id, `${this.what} has no orders`);
  }
  async fetchTrades(): Promise<VenueTrade[]> {
    throw new VenueError('rejected', this.id, `${this.what} has no trades`);
  }
  async fetchBalances(): Promise<VenueBalance[]> {
    throw new VenueError('auth', this.id, `${this.what} has no account`);
  }
  async fetchPositions(): Promise<VenuePosition[]> {
    throw new VenueError('auth', this.id, `${this.what} has no account`);
  }
}

export class SyntheticDataVenue extends DataSessionVenue implements Venue {
  readonly id: string;
  readonly account_id = 'market-data';
  readonly mode = 'SIMULATED' as const;
  private readonly streams = new Map<string, SyntheticMarketStream>();
  private readonly handlers: Array<(e: VenueEvent) => void> = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(private readonly o: SyntheticDataVenueOptions) {
    super('a market-data session');
    this.id = o.id;
    const now = o.clock.now();
    for (const spec of o.instruments) {
      this.streams.set(
        spec.instrument_key,
        new SyntheticMarketStream({
          spec,
          seed: o.seed,
          startNs: now,
          startPrice: o.startPrices?.[spec.instrument_key],
          quoteIntervalMs: o.quoteIntervalMs,
        }),
      );
    }
  }

  /** Emit every market event up to the clock's now, in time order per instrument. */
  advance(): void {
    if (this.closed) return;
    const now: Nanos = this.o.clock.now();
    for (const [key, stream] of this.streams) {
      for (const ev of stream.takeUntil(now)) {
        if (ev.kind === 'book') {
          const book = stream.book();
          if (book === null) continue;
          this.emit({
            kind: 'book',
            book: { instrument_key: key, bids: book.bids, asks: book.asks, ts_event: ev.ts },
          });
        } else {
          const t = stream.lastTrade();
          if (t === null) continue;
          this.emit({
            kind: 'public_trade',
            instrument_key: key,
            price: t.price,
            size: t.size,
            side: ev.aggressor,
            ts_event: ev.ts,
          });
        }
      }
    }
  }

  async connect(): Promise<void> {
    if (this.closed) throw new VenueError('transient', this.id, 'the market-data session is closed');
  }

  async watch(instrumentKeys: string[], handler: (e: VenueEvent) => void): Promise<void> {
    for (const k of instrumentKeys) {
      if (!this.streams.has(k))
        throw new VenueError('rejected', this.id, `watch: ${k} is not listed on ${this.id}`);
    }
    if (!this.handlers.includes(handler)) this.handlers.push(handler);
    this.emit({ kind: 'connection', state: 'up', stream: 'public', ts_event: this.o.clock.now() });
    const tickMs = this.o.tickMs ?? 50;
    if (tickMs > 0 && this.timer === null) {
      this.timer = setInterval(() => this.advance(), tickMs);
      this.timer.unref?.();
    }
  }

  async fetchBook(instrumentKey: string, depth: number): Promise<VenueBook> {
    const stream = this.streams.get(instrumentKey);
    if (stream === undefined)
      throw new VenueError('rejected', this.id, `UNKNOWN_INSTRUMENT ${instrumentKey}`);
    this.advance();
    const b = stream.book();
    if (b === null) throw new VenueError('transient', this.id, `no book of ${instrumentKey} yet`);
    return {
      instrument_key: instrumentKey,
      bids: b.bids.slice(0, depth),
      asks: b.asks.slice(0, depth),
      ts_event: b.ts,
    };
  }

  async fetchInstrumentRules(): Promise<VenueInstrumentRules[]> {
    return [];
  }

  health(): { state: VenueHealthState; detail?: string | undefined } {
    return this.closed
      ? { state: 'down', detail: 'closed' }
      : { state: 'up', detail: 'seeded moving market' };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private emit(e: VenueEvent): void {
    for (const h of this.handlers) h(e);
  }
}

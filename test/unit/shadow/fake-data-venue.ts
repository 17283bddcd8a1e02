/**
 * A market-data venue for the shadow venue tests: a real implementation of the Venue port whose
 * books and public trades the test sets and pushes (`book()`, `trade()`), as a live exchange's
 * public streams would. It is a data session only: order methods refuse.
 */
import type { Nanos } from '../../../shared/domain/time.ts';
import type { Side } from '../../../shared/domain/types.ts';
import {
  type BookLevel,
  type Venue,
  type VenueBook,
  VenueError,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
} from '../../../shared/ports/venue.ts';
import { DataSessionVenue } from '../../../stateful/venues/simulated/data-venue.ts';

export class FakeDataVenue extends DataSessionVenue implements Venue {
  readonly mode = 'LIVE' as const;
  readonly account_id = 'data';
  private readonly books = new Map<string, VenueBook>();
  private handler: ((e: VenueEvent) => void) | null = null;
  watched: string[] = [];
  connected = false;
  closed = false;

  constructor(readonly id: string) {
    super('a data session');
  }

  /** Set the book of `key` and push it to the watcher (levels as [price, size] strings). */
  book(key: string, bids: Array<[string, string]>, asks: Array<[string, string]>, ts: Nanos): void {
    const lv = (xs: Array<[string, string]>): BookLevel[] => xs.map(([price, size]) => ({ price, size }));
    const book: VenueBook = { instrument_key: key, bids: lv(bids), asks: lv(asks), ts_event: ts };
    this.books.set(key, book);
    this.handler?.({ kind: 'book', book });
  }

  /** Push a public trade print. */
  trade(key: string, price: string, size: string, side: Side, ts: Nanos): void {
    this.handler?.({ kind: 'public_trade', instrument_key: key, price, size, side, ts_event: ts });
  }

  /** Push any event (e.g. a private one the shadow venue must ignore). */
  push(e: VenueEvent): void {
    this.handler?.(e);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }
  async fetchInstrumentRules(): Promise<VenueInstrumentRules[]> {
    return [];
  }
  async fetchBook(instrumentKey: string, depth: number): Promise<VenueBook> {
    const b = this.books.get(instrumentKey);
    if (b === undefined) throw new VenueError('transient', this.id, `no book of ${instrumentKey} yet`);
    return { ...b, bids: b.bids.slice(0, depth), asks: b.asks.slice(0, depth) };
  }
  async watch(keys: string[], handler: (e: VenueEvent) => void): Promise<void> {
    this.watched.push(...keys);
    this.handler = handler;
  }
  health(): { state: VenueHealthState; detail?: string | undefined } {
    return { state: this.closed ? 'down' : 'up' };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

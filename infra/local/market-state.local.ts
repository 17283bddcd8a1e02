/**
 * The embedded market state: the latest quote per (venue, instrument) and the state of each venue,
 * in memory only. Market state is transient by nature — the venue edge rewrites it within seconds
 * of starting, and readers ignore entries past their freshness limits — so nothing is journalled.
 * Records are validated on write and handed out as copies.
 */
import {
  checkMarketRecord,
  type MarketQuote,
  MarketQuoteSchema,
  type MarketStateStore,
  type QuoteKey,
  type VenueState,
  VenueStateSchema,
} from '../../shared/ports/market-state.ts';
import { copyData } from './copy.ts';

const quoteKey = (venue: string, instrumentKey: string) => `${venue}\u0000${instrumentKey}`;

export class LocalMarketStateStore implements MarketStateStore {
  private readonly quotes = new Map<string, MarketQuote>();
  private readonly venues = new Map<string, VenueState>();
  private closed = false;

  async putQuote(quote: MarketQuote): Promise<void> {
    this.assertOpen();
    const q = checkMarketRecord(MarketQuoteSchema, quote, 'quote');
    this.quotes.set(quoteKey(q.venue, q.instrument_key), copyData(q));
  }

  async getQuotes(keys: readonly QuoteKey[]): Promise<Array<MarketQuote | null>> {
    this.assertOpen();
    return keys.map((k) => {
      const q = this.quotes.get(quoteKey(k.venue, k.instrument_key));
      return q === undefined ? null : copyData(q);
    });
  }

  async putVenueState(state: VenueState): Promise<void> {
    this.assertOpen();
    const s = checkMarketRecord(VenueStateSchema, state, 'venue state');
    this.venues.set(s.venue, copyData(s));
  }

  async getVenueStates(venues: readonly string[]): Promise<Record<string, VenueState>> {
    this.assertOpen();
    const out: Record<string, VenueState> = {};
    for (const v of venues) {
      const s = this.venues.get(v);
      if (s !== undefined) out[v] = copyData(s);
    }
    return out;
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return this.closed
      ? { ok: false, detail: 'market state store is closed' }
      : { ok: true, detail: 'memory only' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('market state store is closed');
  }
}

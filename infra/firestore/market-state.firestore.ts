/**
 * Market state on Firestore:
 *
 *   <prefix>market_quotes/{escaped venue}|{escaped instrument_key}   latest quote snapshot
 *   <prefix>venue_states/{escaped venue}                            latest venue state
 *
 * Quotes keep decimals as strings and depth as arrays of `{price, size}` maps; `ts_event` /
 * `ts_updated` are 20-digit zero-padded nanoseconds. Writes are plain `set()` (last writer wins):
 * each venue has one writer, the stateful service holding its session, which throttles quote
 * snapshots to about one per second per instrument (Firestore's sustained-write guideline per
 * document). Reads are one `getAll` round trip for any number of keys.
 */
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import {
  checkMarketRecord,
  type MarketQuote,
  MarketQuoteSchema,
  type MarketStateStore,
  type QuoteKey,
  type VenueState,
  VenueStateSchema,
} from '../../shared/ports/market-state.ts';
import { encodeNanos, escapeDocId } from './codec.ts';
import { collectionHealth } from './grpc.ts';

export interface FirestoreMarketStateStoreOptions {
  firestore: Firestore;
  collectionPrefix?: string;
  ownsClient?: boolean;
  healthTimeoutMs?: number;
}

function nanosField(v: unknown): unknown {
  return typeof v === 'string' && /^\d{20}$/.test(v) ? BigInt(v) : v;
}

export class FirestoreMarketStateStore implements MarketStateStore {
  readonly quotesCollection: string;
  readonly venuesCollection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;

  constructor(opts: FirestoreMarketStateStoreOptions) {
    this.db = opts.firestore;
    this.quotesCollection = `${opts.collectionPrefix ?? ''}market_quotes`;
    this.venuesCollection = `${opts.collectionPrefix ?? ''}venue_states`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
  }

  private quoteRef(venue: string, instrumentKey: string): DocumentReference {
    return this.db
      .collection(this.quotesCollection)
      .doc(`${escapeDocId(venue)}|${escapeDocId(instrumentKey)}`);
  }

  private venueRef(venue: string): DocumentReference {
    return this.db.collection(this.venuesCollection).doc(escapeDocId(venue));
  }

  async putQuote(quote: MarketQuote): Promise<void> {
    const q = checkMarketRecord(MarketQuoteSchema, quote, 'quote');
    await this.quoteRef(q.venue, q.instrument_key).set({
      ...q,
      bids: q.bids.map((l) => ({ price: l.price, size: l.size })),
      asks: q.asks.map((l) => ({ price: l.price, size: l.size })),
      ts_event: encodeNanos(q.ts_event),
    });
  }

  async getQuotes(keys: readonly QuoteKey[]): Promise<Array<MarketQuote | null>> {
    if (keys.length === 0) return [];
    const snaps = await this.db.getAll(...keys.map((k) => this.quoteRef(k.venue, k.instrument_key)));
    return snaps.map((s) => {
      if (!s.exists) return null;
      const data = s.data() ?? {};
      return checkMarketRecord(
        MarketQuoteSchema,
        { ...data, ts_event: nanosField(data.ts_event) },
        s.ref.path,
      );
    });
  }

  async putVenueState(state: VenueState): Promise<void> {
    const s = checkMarketRecord(VenueStateSchema, state, 'venue state');
    const doc: Record<string, unknown> = { ...s, ts_updated: encodeNanos(s.ts_updated) };
    if (s.detail === undefined) delete doc.detail;
    await this.venueRef(s.venue).set(doc);
  }

  async getVenueStates(venues: readonly string[]): Promise<Record<string, VenueState>> {
    const unique = [...new Set(venues)];
    if (unique.length === 0) return {};
    const snaps = await this.db.getAll(...unique.map((v) => this.venueRef(v)));
    const out: Record<string, VenueState> = {};
    for (const s of snaps) {
      if (!s.exists) continue;
      const data = s.data() ?? {};
      const state = checkMarketRecord(
        VenueStateSchema,
        { ...data, ts_updated: nanosField(data.ts_updated) },
        s.ref.path,
      );
      out[state.venue] = state;
    }
    return out;
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.venuesCollection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}

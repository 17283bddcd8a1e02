/**
 * What one venue session tells the rest of the platform about the market and about itself:
 *
 * - the book of each listed instrument → `MarketStateStore.putQuote` (≤ 1 per `bookPublishMs` per
 *   instrument; the router scores depth on it, risk values orders at its mid) and a `market.raw`
 *   quote (≤ 1 per `marketRawMs`). Books come from the venue's public stream; an instrument whose
 *   stream has been silent for `bookPollMs` is read over REST instead.
 * - public trades → the last trade and the cumulative traded volume (VWAP participation cap);
 * - the venue state → `putVenueState` (≤ 1 per `venueStateMs`): UP / DEGRADED / CIRCUIT_OPEN /
 *   DOWN from the session's health, the measured order round trip, the recent rejection rate and
 *   the account's free balances (read at most every `balancesMs`; a failed read leaves them null,
 *   never empty — a failed venue query never reads as "flat").
 *
 * Nothing here decides anything about orders.
 */
import {
  MARKET_RAW_TOPIC,
  type MarketRawQuote,
  marketRawAttributes,
} from '../../shared/app/execution-messages.ts';
import { Dec, type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../shared/domain/time.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import type { MarketQuote, MarketStateStore, VenueHealth } from '../../shared/ports/market-state.ts';
import type { Venue, VenueBook, VenueHealthState } from '../../shared/ports/venue.ts';
import type { EdgeLog } from './types.ts';

const LEVELS = 5;
const RECENT_WINDOW = 100;

interface InstrumentMarket {
  book: VenueBook | null;
  /** When the last book arrived (our clock). */
  bookSeenAt: Nanos | null;
  lastBookPublish: Nanos | null;
  lastRawPublish: Nanos | null;
  lastTrade: { price: DecimalString; size: DecimalString; ts_event: Nanos } | null;
  volume: Dec;
}

export interface MarketPublisherOptions {
  bookPublishMs: number;
  marketRawMs: number;
  bookPollMs: number;
  venueStateMs: number;
  balancesMs: number;
  latencyMs: number;
}

const ms = (n: number): Nanos => BigInt(Math.max(0, Math.trunc(n))) * NANOS_PER_MILLI;

export class MarketPublisher {
  private readonly markets = new Map<string, InstrumentMarket>();
  private readonly recent = new Map<string, boolean>();
  private latencyEwmaMs: number | null = null;
  private balances: Record<string, DecimalString> | null = null;
  private balancesAt: Nanos | null = null;
  private lastVenueState: Nanos | null = null;

  constructor(
    private readonly venueId: string,
    private readonly venue: Venue,
    private readonly market: MarketStateStore,
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly clock: Clock,
    private readonly log: EdgeLog,
    private readonly opts: MarketPublisherOptions,
  ) {}

  setInstruments(keys: readonly string[]): void {
    for (const k of keys) {
      if (!this.markets.has(k)) {
        this.markets.set(k, {
          book: null,
          bookSeenAt: null,
          lastBookPublish: null,
          lastRawPublish: null,
          lastTrade: null,
          volume: new Dec(0),
        });
      }
    }
  }

  /** The mid of an instrument (null without a two-sided book). */
  mid(instrumentKey: string): DecimalString | null {
    const b = this.markets.get(instrumentKey)?.book;
    const bid = b?.bids[0]?.price;
    const ask = b?.asks[0]?.price;
    if (bid === undefined || ask === undefined) return null;
    return fmt(toDec(bid).plus(ask).div(2));
  }

  /** Cumulative public volume seen since start (monotonic; VWAP's participation cap). */
  volume(instrumentKey: string): DecimalString | null {
    const m = this.markets.get(instrumentKey);
    return m === undefined ? null : fmt(m.volume);
  }

  onBook(book: VenueBook): void {
    const m = this.markets.get(book.instrument_key);
    if (m === undefined) return;
    m.book = book;
    m.bookSeenAt = this.clock.now();
  }

  onPublicTrade(t: {
    instrument_key: string;
    price: DecimalString;
    size: DecimalString;
    ts_event: Nanos;
  }): void {
    const m = this.markets.get(t.instrument_key);
    if (m === undefined) return;
    m.lastTrade = { price: t.price, size: t.size, ts_event: t.ts_event };
    try {
      m.volume = m.volume.plus(t.size);
    } catch {
      // A malformed size from the venue adapter is not counted.
    }
  }

  /** Count an order sent to the venue (rejected: the venue refused it) for the rejection rate. */
  countOrder(clientOrderId: string, rejected: boolean): void {
    const known = this.recent.has(clientOrderId);
    this.recent.set(clientOrderId, rejected || (this.recent.get(clientOrderId) ?? false));
    if (known) return;
    while (this.recent.size > RECENT_WINDOW) {
      const oldest = this.recent.keys().next();
      if (oldest.done) break;
      this.recent.delete(oldest.value);
    }
  }

  /** A measured order round trip (ms), folded into an exponentially weighted average. */
  observeLatency(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) return;
    this.latencyEwmaMs =
      this.latencyEwmaMs === null ? milliseconds : this.latencyEwmaMs * 0.8 + milliseconds * 0.2;
  }

  /** Publish what is due. Failures are logged and retried at the next call. */
  async publish(status: { health: VenueHealthState; detail?: string | undefined }): Promise<void> {
    const now = this.clock.now();
    for (const [key, m] of this.markets) {
      try {
        await this.publishInstrument(key, m, now);
      } catch (err) {
        this.log.warn(`venue ${this.venueId}: publishing the market of ${key} failed: ${errorText(err)}`, {
          venue: this.venueId,
          instrument_key: key,
        });
      }
    }
    if (this.lastVenueState === null || now - this.lastVenueState >= ms(this.opts.venueStateMs)) {
      this.lastVenueState = now;
      try {
        await this.publishVenueState(status, now);
      } catch (err) {
        this.log.warn(`venue ${this.venueId}: publishing the venue state failed: ${errorText(err)}`, {
          venue: this.venueId,
        });
      }
    }
  }

  private async publishInstrument(key: string, m: InstrumentMarket, now: Nanos): Promise<void> {
    const stale = m.bookSeenAt === null || now - m.bookSeenAt >= ms(this.opts.bookPollMs);
    if (this.opts.bookPollMs > 0 && stale && this.venue.health().state !== 'circuit_open') {
      try {
        m.book = await this.venue.fetchBook(key, LEVELS);
        m.bookSeenAt = now;
      } catch (err) {
        // Logged once per poll period; the stream may come back.
        m.bookSeenAt = now;
        this.log.info(`venue ${this.venueId}: REST book of ${key} failed: ${errorText(err)}`, {
          venue: this.venueId,
        });
      }
    }
    const book = m.book;
    if (book === null) return;
    if (m.lastBookPublish === null || now - m.lastBookPublish >= ms(this.opts.bookPublishMs)) {
      m.lastBookPublish = now;
      await this.market.putQuote(this.quoteOf(key, book));
    }
    if (m.lastRawPublish === null || now - m.lastRawPublish >= ms(this.opts.marketRawMs)) {
      m.lastRawPublish = now;
      const raw = this.rawOf(key, book, m);
      await this.bus.publish(MARKET_RAW_TOPIC, raw, marketRawAttributes(raw));
    }
  }

  private quoteOf(key: string, book: VenueBook): MarketQuote {
    const bids = book.bids.slice(0, LEVELS).map((l) => ({ price: l.price, size: l.size }));
    const asks = book.asks.slice(0, LEVELS).map((l) => ({ price: l.price, size: l.size }));
    const bid = bids[0]?.price ?? null;
    const ask = asks[0]?.price ?? null;
    return {
      venue: this.venueId,
      instrument_key: key,
      bid,
      ask,
      mid: bid !== null && ask !== null ? fmt(toDec(bid).plus(ask).div(2)) : null,
      bids,
      asks,
      ts_event: book.ts_event,
    };
  }

  private rawOf(key: string, book: VenueBook, m: InstrumentMarket): MarketRawQuote {
    const q = this.quoteOf(key, book);
    return {
      type: 'quote',
      venue: this.venueId,
      instrument_key: key,
      bid: q.bid,
      bid_size: q.bids[0]?.size ?? null,
      ask: q.ask,
      ask_size: q.asks[0]?.size ?? null,
      mid: q.mid,
      bids: q.bids,
      asks: q.asks,
      last_trade:
        m.lastTrade === null
          ? null
          : { price: m.lastTrade.price, size: m.lastTrade.size, ts_event: m.lastTrade.ts_event.toString() },
      ts_event: book.ts_event.toString(),
    };
  }

  private async publishVenueState(
    status: { health: VenueHealthState; detail?: string | undefined },
    now: Nanos,
  ): Promise<void> {
    if (
      status.health !== 'down' &&
      status.health !== 'circuit_open' &&
      (this.balancesAt === null || now - this.balancesAt >= ms(this.opts.balancesMs))
    ) {
      this.balancesAt = now;
      try {
        const free: Record<string, DecimalString> = {};
        for (const b of await this.venue.fetchBalances()) free[b.asset] = b.free;
        this.balances = free;
      } catch (err) {
        // Unknown, not empty: risk denies spot buys without a fresh balance rather than assume one.
        this.balances = null;
        this.log.warn(`venue ${this.venueId}: balances could not be read: ${errorText(err)}`, {
          venue: this.venueId,
        });
      }
    }
    const detail = status.detail;
    await this.market.putVenueState({
      venue: this.venueId,
      status: VENUE_HEALTH_OF[status.health],
      latency_ms:
        this.latencyEwmaMs === null ? this.opts.latencyMs : Math.round(this.latencyEwmaMs * 1000) / 1000,
      recent_orders: this.recent.size,
      recent_rejections: [...this.recent.values()].filter((r) => r).length,
      balances: this.balances,
      ...(detail !== undefined ? { detail } : {}),
      ts_updated: now,
    });
  }
}

const VENUE_HEALTH_OF: Record<VenueHealthState, VenueHealth> = {
  up: 'UP',
  degraded: 'DEGRADED',
  down: 'DOWN',
  circuit_open: 'CIRCUIT_OPEN',
};

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The Venue port contract (shared/ports/venue.ts): every venue the edge can run — the ccxt adapter
 * against a venue speaking the exchange's protocol, the ShadowVenue, any adapter added later and any
 * fake used in tests — must pass the same behaviour tests. Call `venueContract(name, factory)` from a
 * `*.test.ts` with a factory that builds a connected venue on a market where a small MARKET order
 * fills at once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Dec, toDec } from '../../shared/domain/decimal.ts';
import { type Venue, VenueError, type VenueEvent, type VenueOrderState } from '../../shared/ports/venue.ts';

export interface VenueHarness {
  venue: Venue;
  /** An instrument the venue lists (its own canonical id). */
  instrumentKey: string;
  /** A quantity the venue accepts that a MARKET buy fills at once. */
  quantity: string;
  /** A quantity that is not a multiple of the instrument's step (the venue refuses it). */
  offStepQuantity: string;
  /** A LIMIT buy price far below the market (the order rests; × quantity above the min notional). */
  restingBuyPrice: string;
  /** Let time pass / events flow (a simulated clock moves, a socket delivers); default a short sleep. */
  settle?: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

let seq = 0;
/** Client order ids unique per run, in the characters every venue accepts. */
function clientId(tag: string): string {
  seq++;
  return `VC${tag}${Date.now().toString(36)}${seq}`;
}

export function venueContract(name: string, factory: () => Promise<VenueHarness>): void {
  describe(`Venue contract: ${name}`, () => {
    let h: VenueHarness;
    let events: VenueEvent[];

    const settle = async () => {
      if (h.settle !== undefined) await h.settle();
      else await new Promise((r) => setTimeout(r, 50));
    };

    /** Read the order back until `done` holds (the stream and the REST view may lag the answer). */
    const until = async (
      id: string,
      done: (o: VenueOrderState | null) => boolean,
    ): Promise<VenueOrderState | null> => {
      let o: VenueOrderState | null = null;
      for (let i = 0; i < 100; i++) {
        o = await h.venue.fetchOrder(id, h.instrumentKey);
        if (done(o)) return o;
        await settle();
      }
      return o;
    };

    beforeEach(async () => {
      h = await factory();
      events = [];
      await h.venue.watch([h.instrumentKey], (e) => events.push(e));
    });
    afterEach(async () => {
      await h.close();
    });

    it('a MARKET order fills: the answer names the order, the order and its trades read back', async () => {
      const id = clientId('M');
      const st = await h.venue.submit({
        client_order_id: id,
        instrument_key: h.instrumentKey,
        side: 'BUY',
        order_type: 'MARKET',
        quantity: h.quantity,
        price: null,
        time_in_force: 'IOC',
      });
      expect(st.client_order_id).toBe(id);
      expect(st.venue_order_id).not.toBe('');
      expect(st.side).toBe('BUY');
      expect(typeof st.ts_event).toBe('bigint');
      const done = await until(id, (o) => o?.status === 'FILLED');
      expect(done).toMatchObject({
        status: 'FILLED',
        client_order_id: id,
        venue_order_id: st.venue_order_id,
      });
      expect(toDec(done?.filled_quantity ?? '0').eq(h.quantity)).toBe(true);
      const trades = (await h.venue.fetchTrades(h.instrumentKey, 0n)).filter(
        (t) => t.client_order_id === id || t.venue_order_id === st.venue_order_id,
      );
      expect(trades.length).toBeGreaterThan(0);
      let sum = new Dec(0);
      for (const t of trades) {
        expect(t.trade_id).not.toBe('');
        expect(t.side).toBe('BUY');
        expect(toDec(t.price).gt(0)).toBe(true);
        expect(() => toDec(t.fee)).not.toThrow();
        expect(typeof t.ts_event).toBe('bigint');
        sum = sum.plus(t.quantity);
      }
      expect(sum.eq(h.quantity)).toBe(true);
      // The private stream told the watcher too: a trade and a final order update of this order.
      for (let i = 0; i < 50 && !events.some((e) => e.kind === 'order' && e.order.status === 'FILLED'); i++)
        await settle();
      expect(
        events.some(
          (e) => e.kind === 'order' && e.order.client_order_id === id && e.order.status === 'FILLED',
        ),
      ).toBe(true);
    });

    it('a resting LIMIT order is open, a second submit with its client id makes no second order, a cancel closes it', async () => {
      const id = clientId('L');
      const req = {
        client_order_id: id,
        instrument_key: h.instrumentKey,
        side: 'BUY' as const,
        order_type: 'LIMIT' as const,
        quantity: h.quantity,
        price: h.restingBuyPrice,
        time_in_force: 'GTC' as const,
      };
      const first = await h.venue.submit(req);
      expect(first.status).toBe('NEW');
      const again = await h.venue.submit(req);
      expect(again.venue_order_id).toBe(first.venue_order_id);
      const open = (await h.venue.fetchOpenOrders(h.instrumentKey)).filter((o) => o.client_order_id === id);
      expect(open).toHaveLength(1);
      await h.venue.cancel(id, h.instrumentKey);
      const closed = await until(id, (o) => o?.status === 'CANCELED');
      expect(closed).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
      expect((await h.venue.fetchOpenOrders(h.instrumentKey)).some((o) => o.client_order_id === id)).toBe(
        false,
      );
    });

    it('an unknown order: fetchOrder answers null, cancel throws not_found (or rejected)', async () => {
      const id = clientId('U');
      expect(await h.venue.fetchOrder(id, h.instrumentKey)).toBeNull();
      const err = await h.venue.cancel(id, h.instrumentKey).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VenueError);
      expect(['not_found', 'rejected']).toContain((err as VenueError).kind);
    });

    it('an order off the instrument step is refused (VenueError rejected) and is not at the venue', async () => {
      const id = clientId('R');
      const err = await h.venue
        .submit({
          client_order_id: id,
          instrument_key: h.instrumentKey,
          side: 'BUY',
          order_type: 'LIMIT',
          quantity: h.offStepQuantity,
          price: h.restingBuyPrice,
          time_in_force: 'GTC',
        })
        .then(
          (st) => st,
          (e: unknown) => e,
        );
      if (err instanceof VenueError) expect(err.kind).toBe('rejected');
      else expect((err as VenueOrderState).status).toBe('REJECTED');
      const after = await h.venue.fetchOrder(id, h.instrumentKey);
      expect(after === null || after.status === 'REJECTED').toBe(true);
    });

    it('balances are decimal strings; health names a state', async () => {
      const balances = await h.venue.fetchBalances();
      expect(balances.length).toBeGreaterThan(0);
      for (const b of balances) {
        expect(b.asset).not.toBe('');
        expect(toDec(b.total).gte(toDec(b.free))).toBe(true);
      }
      expect(['up', 'degraded', 'down', 'circuit_open']).toContain(h.venue.health().state);
    });
  });
}

/**
 * The ccxt adapter's Deribit path against the local Deribit's fault injection: unknown submit
 * outcomes resolved by label look-up (never a second order), 5xx and 429 answers, a dropped
 * WebSocket (reconnect, gap fill), duplicated and reordered private events (each fill once).
 */
import { describe, expect, it } from 'vitest';
import type { LocalDeribit } from '../../../dev/local-deribit/index.ts';
import type { VenueEvent, VenueTrade } from '../../../shared/ports/venue.ts';
import { localVenueSuite } from '../ccxt/support.ts';
import { eventually, localDeribit, marketOrder, PERP, session } from './support.ts';

let d: LocalDeribit;
const BUY = { path: '/api/v2/private/buy' };

const { open } = localVenueSuite(async () => {
  d = await localDeribit({ seed: 23 });
  return d;
}, session);

function fillsByTradeId(events: VenueEvent[]): Map<string, VenueTrade[]> {
  const out = new Map<string, VenueTrade[]>();
  for (const e of events)
    if (e.kind === 'trade') out.set(e.trade.trade_id, [...(out.get(e.trade.trade_id) ?? []), e.trade]);
  return out;
}

describe('submit with an unknown outcome', () => {
  it('executed but never answered: found by label, no second order', async () => {
    const s = await open({ requestTimeoutMs: 600 });
    d.faults.timeoutNext(1, { ...BUY, execute: true });
    const req = marketOrder('BUY', '100', PERP);
    const st = await s.venue.submit(req);
    expect(st).toMatchObject({
      client_order_id: req.client_order_id,
      status: 'FILLED',
      filled_quantity: '100',
    });
    expect(d.faults.stats.timedOutExecuted).toBe(1);
    expect(
      s.diags
        .filter((x) => x.type === 'submit_recovery')
        .map((x) => x.type === 'submit_recovery' && x.outcome),
    ).toEqual(['found']);
    expect(d.ordersWithLabel(s.venue.venueClientId(req.client_order_id))).toBe(1);
  });

  it('lost before the venue: not found by label, sent again once', async () => {
    const s = await open({ requestTimeoutMs: 600 });
    d.faults.timeoutNext(1, { ...BUY, execute: false });
    const req = marketOrder('BUY', '50', PERP);
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    expect(d.ordersWithLabel(s.venue.venueClientId(req.client_order_id))).toBe(1);
  });

  it('a 503 then a 429 on the order call: looked up, sent again, one order', async () => {
    const s = await open();
    d.faults.failNext(1, { ...BUY, status: 503 });
    d.faults.rateLimitNext(1, { ...BUY, retryAfterSec: 0 });
    const req = marketOrder('BUY', '30', PERP);
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    expect(d.faults.stats.failed).toBeGreaterThanOrEqual(1);
    expect(d.faults.stats.rateLimited).toBeGreaterThanOrEqual(1);
    expect(d.ordersWithLabel(s.venue.venueClientId(req.client_order_id))).toBe(1);
  });
});

describe('private stream faults', () => {
  it('duplicated and reordered user.trades / user.orders events: every fill reaches the handler, none twice as distinct fills', async () => {
    const s = await open();
    await s.venue.watch([PERP], (e) => s.events.push(e));
    await eventually(() => (d.connections().privateSubscriptions >= 2 ? true : undefined), 'subscribed');
    d.faults.duplicateEvents(true);
    d.faults.reorderEvents(true);
    const req = marketOrder('SELL', '300', PERP);
    const st = await s.venue.submit(req);
    expect(st.status).toBe('FILLED');
    d.faults.reorderEvents(false);
    const venueTrades = (await s.venue.fetchTrades(PERP, 0n)).filter(
      (t) => t.venue_order_id === st.venue_order_id,
    );
    await eventually(() => {
      const seen = fillsByTradeId(
        s.events.filter((e) => e.kind !== 'trade' || e.trade.venue_order_id === st.venue_order_id),
      );
      return venueTrades.every((t) => seen.has(t.trade_id)) ? true : undefined;
    }, 'every fill on the stream');
    expect(d.faults.stats.duplicatedEvents).toBeGreaterThan(0);
    // The same trade id always carries the same fill: a consumer keyed by trade id books it once.
    for (const [, copies] of fillsByTradeId(s.events)) {
      expect(new Set(copies.map((c) => `${c.quantity}@${c.price}:${c.fee}`)).size).toBe(1);
    }
  });

  it('a dropped WebSocket reconnects (down, then up) and trades made meanwhile are found by fetchTrades', async () => {
    const s = await open();
    await s.venue.watch([PERP], (e) => s.events.push(e));
    await eventually(() => (d.connections().privateSubscriptions >= 2 ? true : undefined), 'subscribed');
    const since = BigInt(Date.now()) * 1_000_000n;
    d.faults.dropWebSockets();
    const req = marketOrder('BUY', '40', PERP);
    const st = await s.venue.submit(req);
    await eventually(() => {
      const down = s.events.findIndex(
        (e) => e.kind === 'connection' && e.stream === 'private' && e.state === 'down',
      );
      if (down < 0) return undefined;
      const upAgain = s.events.some(
        (e, i) => i > down && e.kind === 'connection' && e.stream === 'private' && e.state === 'up',
      );
      return upAgain ? true : undefined;
    }, 'private stream down and up again');
    const gap = (await s.venue.fetchTrades(PERP, since)).filter(
      (t) => t.venue_order_id === st.venue_order_id,
    );
    expect(gap.length).toBeGreaterThan(0);
    expect(d.faults.stats.droppedWebSockets).toBeGreaterThan(0);
  });
});

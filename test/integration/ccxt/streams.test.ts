/**
 * The adapter's streams against the local exchange: a dropped WebSocket is re-subscribed and the
 * REST gap fill delivers what happened while it was down; an unreachable WebSocket falls back to
 * REST polling; duplicated and reordered private events pass through (consumers de-duplicate).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalExchange } from '../../../dev/local-exchange/index.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import type { VenueEvent, VenueOrderState, VenueTrade } from '../../../shared/ports/venue.ts';
import {
  BTC,
  ETH,
  eventually,
  limitOrder,
  localExchange,
  marketOrder,
  type Session,
  session,
  sleep,
} from './support.ts';

let ex: LocalExchange;
const sessions: Session[] = [];

beforeAll(async () => {
  ex = await localExchange({ startingBalances: { USDT: '5000000', BTC: '10', ETH: '100' } });
});
afterEach(() => {
  ex.faults.reset();
});
afterAll(async () => {
  for (const s of sessions) await s.venue.close();
  await ex?.stop();
  expect(ex.unhandledRequests).toEqual([]);
});

async function watching(overrides: Parameters<typeof session>[1] = {}, keys = [BTC]): Promise<Session> {
  const s = session(ex, overrides);
  sessions.push(s);
  await s.venue.connect();
  await s.venue.watch(keys, (e) => s.events.push(e));
  return s;
}

function indexOf(events: VenueEvent[], pred: (e: VenueEvent) => boolean, from = 0): number {
  for (let i = from; i < events.length; i++) {
    const e = events[i];
    if (e !== undefined && pred(e)) return i;
  }
  return -1;
}

const isPrivate = (state: 'up' | 'down') => (e: VenueEvent) =>
  e.kind === 'connection' && e.stream === 'private' && e.state === state;

function tradesFor(events: VenueEvent[], venueOrderId: string): VenueTrade[] {
  return events.flatMap((e) =>
    e.kind === 'trade' && e.trade.venue_order_id === venueOrderId ? [e.trade] : [],
  );
}

describe('WebSocket drop', () => {
  it('reconnects, re-subscribes and gap-fills the trades made while disconnected', async () => {
    // A slow reconnect leaves a real gap for the order below to fall into.
    const s = await watching({
      streams: {
        reconnectInitialDelayMs: 1_500,
        reconnectMaxDelayMs: 1_500,
        settleMs: 200,
        readyTimeoutMs: 5_000,
      },
    });
    expect(indexOf(s.events, isPrivate('up'))).toBeGreaterThanOrEqual(0);
    await eventually(
      () => s.diags.find((d) => d.type === 'gap_fill' && d.reason === 'connect'),
      'the first gap fill',
    );

    expect(ex.faults.dropWebSockets()).toBeGreaterThan(0);
    const down = await eventually(() => {
      const i = indexOf(s.events, isPrivate('down'));
      return i >= 0 ? i : undefined;
    }, 'private stream down');
    expect(s.venue.health().state).toBe('degraded');

    // Filled through REST while no private socket is open: the stream cannot see it.
    const st = await s.venue.submit(marketOrder('BUY', '0.005'));
    expect(st.status).toBe('FILLED');
    const seenLive = tradesFor(s.events, st.venue_order_id).length;

    const up = await eventually(() => {
      const i = indexOf(s.events, isPrivate('up'), down);
      return i >= 0 ? i : undefined;
    }, 'private stream up again');
    const gap = await eventually(
      () => s.diags.find((d) => d.type === 'gap_fill' && d.reason === 'reconnect' && d.ok),
      'the reconnect gap fill',
    );
    expect(gap.type === 'gap_fill' && gap.trades).toBeGreaterThan(0);
    const after = s.events.slice(up);
    const filled = tradesFor(after, st.venue_order_id);
    expect(filled.length).toBeGreaterThan(0);
    expect(filled.reduce((a, t) => a.plus(t.quantity), toDec('0')).toString()).toBe('0.005');
    expect(seenLive).toBe(0);
    // (Its FILLED state came back from submit itself; open orders that end in the gap are the next test.)
    expect(s.diags.some((d) => d.type === 'reconnect')).toBe(true);

    // And the re-subscribed stream is live: a new fill arrives over the WebSocket.
    const next = await s.venue.submit(marketOrder('SELL', '0.001'));
    await eventually(
      () => (tradesFor(s.events, next.venue_order_id).length > 0 ? true : undefined),
      'a live trade',
    );
    await eventually(() => (s.venue.health().state === 'up' ? true : undefined), 'health up');
  });

  it('an open order that fills while disconnected gets its final state from the gap fill', async () => {
    const s = await watching({
      streams: { reconnectInitialDelayMs: 1_500, reconnectMaxDelayMs: 1_500, settleMs: 200 },
    });
    const book = await s.venue.fetchBook(BTC, 1);
    const resting = await s.venue.submit(
      limitOrder(
        'SELL',
        '0.001',
        toDec(book.asks[0]?.price ?? '0')
          .plus('1000')
          .toFixed(),
      ),
    );
    expect(resting.status).toBe('NEW');
    ex.faults.dropWebSockets();
    await eventually(() => (indexOf(s.events, isPrivate('down')) >= 0 ? true : undefined), 'down');
    // Canceled through another path while the stream is down (as if by hand in the venue's UI).
    const other = session(ex);
    sessions.push(other);
    await other.venue.connect();
    await other.venue.cancel(resting.client_order_id, BTC);
    const final = await eventually(() => {
      const e = s.events.find(
        (x) =>
          x.kind === 'order' &&
          x.order.client_order_id === resting.client_order_id &&
          x.order.status === 'CANCELED',
      );
      return e?.kind === 'order' ? e.order : undefined;
    }, 'the CANCELED state after the reconnect');
    expect(final.venue_order_id).toBe(resting.venue_order_id);
  });
});

describe('venue offline', () => {
  it('everything fails without taking the process down; back online, the streams return and gap-fill', async () => {
    const s = await watching({
      streams: {
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 300,
        pollAfterMs: 200,
        pollIntervalMs: 200,
      },
      retry: { initialDelayMs: 10, maxDelayMs: 20, maxRetries: 1 },
      breaker: { consecutiveFailures: 1_000 },
    });
    await eventually(
      () => s.diags.find((d) => d.type === 'gap_fill' && d.reason === 'connect'),
      'the first gap fill',
    );
    ex.faults.offline();
    await eventually(() => (indexOf(s.events, isPrivate('down')) >= 0 ? true : undefined), 'down');
    await eventually(
      () => s.diags.find((d) => d.type === 'gap_fill' && d.reason === 'poll' && !d.ok),
      'a failed poll',
    );
    const err = await s.venue.fetchBalances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    ex.faults.online();
    const down = indexOf(s.events, isPrivate('down'));
    await eventually(
      () => (indexOf(s.events, isPrivate('up'), down) >= 0 ? true : undefined),
      'up again',
      15_000,
    );
    await eventually(
      () => s.diags.find((d) => d.type === 'gap_fill' && d.reason === 'reconnect' && d.ok),
      'gap fill',
    );
    expect(s.diags.some((d) => d.type === 'polling' && d.state === 'stopped')).toBe(true);
    const st = await s.venue.submit(marketOrder('BUY', '0.001'));
    await eventually(
      () => (tradesFor(s.events, st.venue_order_id).length > 0 ? true : undefined),
      'a live trade',
    );
  });
});

describe('REST polling fallback', () => {
  it('a private stream that cannot connect is replaced by polling, which delivers fills', async () => {
    const s = await watching({
      venue: { urls: { rest: ex.url, ws: 'ws://127.0.0.1:9' } },
      streams: {
        reconnectInitialDelayMs: 200,
        reconnectMaxDelayMs: 400,
        pollAfterMs: 300,
        pollIntervalMs: 250,
        readyTimeoutMs: 500,
      },
    });
    await eventually(
      () => s.diags.find((d) => d.type === 'polling' && d.state === 'started'),
      'polling started',
    );
    expect(s.venue.health()).toEqual({ state: 'degraded', detail: 'private stream down, polling' });
    expect(s.venue.diagnostics().polling).toBe(true);
    const st = await s.venue.submit(marketOrder('BUY', '0.002'));
    const trades = await eventually(() => {
      const t = tradesFor(s.events, st.venue_order_id);
      return t.length > 0 ? t : undefined;
    }, 'a polled trade');
    expect(trades[0]?.client_order_id).toBe(st.client_order_id);
    expect(s.diags.some((d) => d.type === 'gap_fill' && d.reason === 'poll' && d.ok)).toBe(true);
  });
});

describe('duplicated and reordered events', () => {
  it('pass through; de-duplicating by trade_id gives the exact fills', async () => {
    const s = await watching({}, [ETH]);
    ex.faults.duplicateEvents(true);
    ex.faults.reorderEvents(true);
    const orders: VenueOrderState[] = [];
    for (let i = 0; i < 3; i++) orders.push(await s.venue.submit(marketOrder('BUY', '0.01', ETH)));
    const ids = new Set(orders.map((o) => o.venue_order_id));
    const trades = await eventually(() => {
      const t = s.events.flatMap((e) =>
        e.kind === 'trade' && ids.has(e.trade.venue_order_id) ? [e.trade] : [],
      );
      const unique = new Map(t.map((x) => [x.trade_id, x]));
      const sum = [...unique.values()].reduce((a, x) => a.plus(x.quantity), toDec('0'));
      return sum.eq('0.03') && t.length > unique.size ? { all: t, unique } : undefined;
    }, 'duplicated trades adding up');
    expect(trades.all.length).toBeGreaterThan(trades.unique.size);
    expect(ex.faults.stats.duplicatedEvents).toBeGreaterThan(0);
    // Every order reaches FILLED in the stream whatever the order of the updates.
    for (const o of orders) {
      await eventually(
        () =>
          s.events.find(
            (e) =>
              e.kind === 'order' &&
              e.order.venue_order_id === o.venue_order_id &&
              e.order.status === 'FILLED',
          ),
        `order ${o.venue_order_id} FILLED`,
      );
    }
    ex.faults.duplicateEvents(false);
    ex.faults.reorderEvents(false);
    await sleep(50);
  });
});

describe("without credentials (a SHADOW venue's market data)", () => {
  it('streams books and prints only', async () => {
    const s = await watching({ account: { account_id: 'shadow' } });
    const book = await eventually(() => s.events.find((e) => e.kind === 'book'), 'a book');
    expect(book.kind === 'book' && book.book.instrument_key).toBe(BTC);
    expect(book.kind === 'book' && book.book.bids.length).toBeGreaterThan(0);
    await eventually(() => s.events.find((e) => e.kind === 'public_trade'), 'a print');
    expect(s.venue.diagnostics().streams.private).toBe('idle');
    await eventually(() => (s.venue.health().state === 'up' ? true : undefined), 'health up');
    expect(s.events.some((e) => e.kind === 'connection' && e.stream === 'private')).toBe(false);
  });
});

describe('close', () => {
  it('stops the loops and the sockets; later calls fail', async () => {
    const s = await watching();
    await s.venue.close();
    const n = s.events.length;
    await sleep(300);
    expect(s.events.length).toBeLessThanOrEqual(n + 1);
    expect(s.venue.health()).toEqual({ state: 'down', detail: 'closed' });
    await expect(s.venue.fetchBalances()).rejects.toThrow(/closed/);
    await s.venue.close(); // idempotent
  });
});

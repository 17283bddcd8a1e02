/**
 * The EventFeedStore contract: every adapter (local in memory, local with a journal, Firestore on
 * the emulator) must pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nanosToIso } from '../../shared/domain/time.ts';
import {
  EventCursorError,
  type EventFeedQuery,
  type EventFeedStore,
  type ExecutionEventEntry,
} from '../../shared/ports/event-feed-store.ts';
import type { StoreHarness } from '../support/store-suite.ts';

const T0 = 1_751_328_300_123_456_789n;
const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'SIM:SPOT_PAIR:ETH-USDT';

export function entry(id: string, dt: bigint, over: Partial<ExecutionEventEntry> = {}): ExecutionEventEntry {
  const ts = T0 + dt;
  return {
    id,
    ts_event: ts,
    time: nanosToIso(ts),
    category: 'order',
    type: 'OrderFilled',
    outcome: 'executed',
    venue: 'BINANCE-SPOT',
    instrument_key: KEY,
    operation_id: id.split('#')[0] ?? id,
    strategy_id: 'alpha',
    actor: null,
    message: `event ${id}`,
    ...over,
  };
}

/** Every page of `q` in turn (at most 50). */
async function allPages(store: EventFeedStore, q: EventFeedQuery): Promise<ExecutionEventEntry[][]> {
  const pages: ExecutionEventEntry[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const p = await store.page(cursor === undefined ? q : { ...q, cursor });
    pages.push(p.events);
    if (p.next_cursor === null) return pages;
    cursor = p.next_cursor;
  }
  throw new Error('more than 50 pages');
}

const ids = (es: readonly ExecutionEventEntry[]) => es.map((e) => e.id);

export function eventFeedContract(
  name: string,
  factory: () => Promise<StoreHarness<EventFeedStore>>,
  opts: { durable: boolean },
): void {
  describe(`EventFeedStore contract: ${name}`, () => {
    let h: StoreHarness<EventFeedStore>;
    let store: EventFeedStore;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('starts empty', async () => {
      expect(await store.page({ limit: 10 })).toEqual({ events: [], next_cursor: null });
    });

    it('stores each id once: a second append of an id leaves the first as it is', async () => {
      expect(await store.append([entry('OP-1#0', 1n), entry('OP-1#1', 2n)])).toBe(2);
      expect(await store.append([entry('OP-1#1', 2n, { message: 'rewritten' }), entry('OP-1#2', 3n)])).toBe(
        1,
      );
      expect(await store.append([entry('OP-1#3', 4n), entry('OP-1#3', 4n)])).toBe(1);
      const page = await store.page({ limit: 10 });
      expect(ids(page.events)).toEqual(['OP-1#3', 'OP-1#2', 'OP-1#1', 'OP-1#0']);
      expect(page.events.find((e) => e.id === 'OP-1#1')?.message).toBe('event OP-1#1');
      expect(page.events[0]).toEqual(entry('OP-1#3', 4n));
    });

    it('reads newest first, ties by id descending, whatever the order of the appends', async () => {
      await store.append([entry('b', 5n), entry('a', 5n), entry('old', 1n)]);
      await store.append([entry('c', 5n), entry('new', 9n)]);
      expect(ids((await store.page({ limit: 10 })).events)).toEqual(['new', 'c', 'b', 'a', 'old']);
    });

    it('pages with a cursor: every entry once, in order, the last page without a cursor', async () => {
      const all = Array.from({ length: 7 }, (_, i) => entry(`OP-${i}#0`, BigInt(i % 3)));
      await store.append(all);
      const pages = await allPages(store, { limit: 3 });
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      const expected = ids(
        [...all].sort((a, b) =>
          a.ts_event === b.ts_event ? (a.id < b.id ? 1 : -1) : a.ts_event > b.ts_event ? -1 : 1,
        ),
      );
      expect(pages.flat().map((e) => e.id)).toEqual(expected);
      // An exact fit ends without a cursor too.
      expect((await store.page({ limit: 7 })).next_cursor).toBeNull();
    });

    it('a page continues from its cursor even after newer entries arrive', async () => {
      await store.append([entry('x3', 3n), entry('x2', 2n), entry('x1', 1n)]);
      const first = await store.page({ limit: 2 });
      expect(ids(first.events)).toEqual(['x3', 'x2']);
      await store.append([entry('x9', 9n)]);
      const next = await store.page({ limit: 2, cursor: first.next_cursor as string });
      expect(ids(next.events)).toEqual(['x1']);
      expect(next.next_cursor).toBeNull();
    });

    it('filters by category, outcome, venue, instrument, operation and time window', async () => {
      await store.append([
        entry('OP-1#0', 1n, { type: 'OrderReceived', outcome: 'info' }),
        entry('OP-1#1', 2n, { type: 'OrderDenied', outcome: 'denied' }),
        entry('OP-2#0', 3n, {
          venue: 'SIM',
          instrument_key: ETH,
          outcome: 'rejected',
          type: 'OrderRejected',
        }),
        entry('OP-2#1', 4n, { venue: 'SIM', instrument_key: ETH }),
        entry('ts:global#1', 5n, {
          category: 'trading_state',
          type: 'TradingStateChanged',
          outcome: 'warning',
          venue: null,
          instrument_key: null,
          operation_id: null,
        }),
        entry('venue:SIM:stream:1', 6n, {
          category: 'venue',
          type: 'venue_diagnostic.stream',
          outcome: 'warning',
          venue: 'SIM',
          instrument_key: null,
          operation_id: null,
        }),
      ]);
      const q = async (f: Omit<EventFeedQuery, 'limit'>) =>
        ids((await store.page({ limit: 50, ...f })).events);
      expect(await q({ category: ['trading_state', 'venue'] })).toEqual([
        'venue:SIM:stream:1',
        'ts:global#1',
      ]);
      expect(await q({ category: ['order'], outcome: ['denied', 'rejected'] })).toEqual(['OP-2#0', 'OP-1#1']);
      expect(await q({ outcome: ['warning'] })).toEqual(['venue:SIM:stream:1', 'ts:global#1']);
      expect(await q({ venue: 'SIM' })).toEqual(['venue:SIM:stream:1', 'OP-2#1', 'OP-2#0']);
      expect(await q({ instrument_key: ETH })).toEqual(['OP-2#1', 'OP-2#0']);
      expect(await q({ operation_id: 'OP-1' })).toEqual(['OP-1#1', 'OP-1#0']);
      expect(await q({ from: T0 + 2n, to: T0 + 5n })).toEqual(['OP-2#1', 'OP-2#0', 'OP-1#1']);
      expect(await q({ venue: 'SIM', outcome: ['executed', 'warning'], from: T0 + 4n })).toEqual([
        'venue:SIM:stream:1',
        'OP-2#1',
      ]);
    });

    it('pages through a filter that most entries fail, without losing or repeating one', async () => {
      const all = Array.from({ length: 40 }, (_, i) =>
        entry(`F-${String(i).padStart(2, '0')}#0`, BigInt(i), {
          outcome: i % 7 === 0 ? 'denied' : i % 11 === 0 ? 'rejected' : 'info',
        }),
      );
      await store.append(all);
      const pages = await allPages(store, { limit: 2, outcome: ['denied', 'rejected'] });
      const wanted = all
        .filter((e) => e.outcome !== 'info')
        .map((e) => e.id)
        .reverse();
      expect(pages.flat().map((e) => e.id)).toEqual(wanted);
    });

    it('refuses a cursor it did not issue, and an entry with a bad field, naming it', async () => {
      await expect(store.page({ limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(EventCursorError);
      await expect(
        store.append([{ ...entry('bad', 1n), outcome: 'maybe' as ExecutionEventEntry['outcome'] }]),
      ).rejects.toThrow(/event "bad": outcome/);
      await expect(store.append([{ ...entry('neg', 1n), ts_event: -1n }])).rejects.toThrow(/ts_event/);
      expect((await store.page({ limit: 5 })).events).toEqual([]);
    });

    it('reports its health', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    if (opts.durable) {
      it('keeps every entry across a restart, and still each id once', async () => {
        await store.append([entry('d1', 1n), entry('d2', 2n)]);
        const reopened = await h.reopen?.();
        if (!reopened) throw new Error('durable harness without reopen');
        store = reopened;
        expect(await store.append([entry('d2', 2n, { message: 'again' }), entry('d3', 3n)])).toBe(1);
        const page = await store.page({ limit: 10 });
        expect(ids(page.events)).toEqual(['d3', 'd2', 'd1']);
        expect(page.events[1]).toEqual(entry('d2', 2n));
      });
    }
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import { writeTickDay } from '../../../infra/ticks/writer.ts';
import { bookForEngine, quotesForEngine, tradesForEngine } from '../../../shared/data/engine-columns.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import { MatchingEngine } from '../../../shared/sim/index.ts';
import { ETH_SPOT, instrument, syntheticDays, tempBlobStore } from './helpers.ts';

let blobs: LocalBlobStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ blobs, cleanup } = await tempBlobStore('engine'));
  const [d] = syntheticDays(ETH_SPOT, ['2025-07-01'], { tradesPerDay: 5_000, l2Levels: 3 });
  if (!d) throw new Error('no day');
  await writeTickDay(blobs, ETH_SPOT, d.day, d);
});

afterAll(async () => {
  await cleanup();
});

describe('loader columns → matching engine', () => {
  it('feed the engine batch methods; a market buy fills at the loaded ask', async () => {
    const from = isoToNanos('2025-07-01T12:00:00Z');
    const to = isoToNanos('2025-07-01T12:05:00Z');
    const w = await loadWindow(blobs, {
      instrument_key: ETH_SPOT,
      fromNs: from,
      toNs: to,
      kinds: ['trades', 'quotes', 'book'],
    });
    if (!w.trades || !w.quotes || !w.book) throw new Error('missing columns');
    const quotes = quotesForEngine(w.quotes, from);
    const trades = tradesForEngine(w.trades, from);
    const book = bookForEngine(w.book, from);
    expect(quotes.ts.length).toBeGreaterThan(10);
    expect(quotes.askPx).toBe(w.quotes.ask_px);
    expect(book.level[0]).toBe(0);
    expect(book.side[0]).toBe(1);
    expect(trades.ts[0]).toBe(Number((w.trades.ts[0] as bigint) - from));

    const engine = new MatchingEngine({ instrument: instrument(ETH_SPOT).spec, epochNs: from });
    const k = 5; // replay the first quotes, then buy
    engine.onQuotes(quotes, 0, k);
    const t = w.quotes.ts[k - 1] as bigint;
    engine.submit(
      { order_id: 'o1', side: 'BUY', order_type: 'MARKET', quantity: '0.01', time_in_force: 'IOC' },
      t,
    );
    engine.advanceTo(t);
    const fill = engine.drainEvents().find((e) => e.type === 'filled');
    expect(fill).toBeDefined();
    expect(Number((fill as { price: string }).price)).toBe(w.quotes.ask_px[k - 1]);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import { importBinanceBookTicker } from '../../../scripts/import-binance-book-ticker.ts';
import { parseBinanceBookTickerLine, QuoteDaySplitter } from '../../../shared/data/binance-book-ticker.ts';
import { BinanceCsvError } from '../../../shared/data/binance-trades.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/binance/BTCUSDT-bookTicker-2025-07-01.csv');
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';

describe('Binance book-ticker dumps', () => {
  it('parse lines with or without the header; ts_event = transaction_time', () => {
    expect(
      parseBinanceBookTickerLine(
        'update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time',
        1,
      ),
    ).toBeNull();
    expect(parseBinanceBookTickerLine('9,100.5,1,100.6,0,1751328000123,1751328000125\r', 1)).toEqual({
      updateId: 9n,
      bidPx: 100.5,
      bidSz: 1,
      askPx: 100.6,
      askSz: 0,
      tsNs: 1_751_328_000_123_000_000n,
    });
    expect(parseBinanceBookTickerLine('  ', 4)).toBeNull();
  });

  it('reject malformed lines naming the file, the line and the field', () => {
    const bad = (line: string, lineNo = 3) => {
      try {
        parseBinanceBookTickerLine(line, lineNo, 'x.csv');
      } catch (e) {
        expect(e).toBeInstanceOf(BinanceCsvError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(bad('1,100,1,101,1,1751328000000')).toMatch(/^x\.csv:3: expected 7 fields/);
    expect(bad('1,100,1,99,1,1751328000000,1751328000000')).toMatch(/x\.csv:3: crossed book/);
    expect(bad('1,-1,1,99,1,1751328000000,1751328000000')).toMatch(/best_bid_price "-1"/);
    expect(bad('1,100,1,101,1,12,1751328000000')).toMatch(/transaction_time: .*too small/);
    expect(bad('a,b,c,d,e,f,g', 1)).toMatch(/unexpected header/);
  });

  it('split by UTC day, sorted by (time, update_id)', () => {
    const s = new QuoteDaySplitter();
    s.addCsv(
      '3,10,1,11,1,1751328000005,0\n1,10,2,11,2,1751328000005,0\n2,10,3,11,3,1751328000001,0\n4,10,4,11,4,1751414400000,0\n',
    );
    const days = s.days();
    expect(days.map((d) => d.day)).toEqual(['2025-07-01', '2025-07-02']);
    expect(Array.from(days[0]?.quotes.bid_sz ?? [])).toEqual([3, 2, 1]);
    expect(Array.from(days[1]?.quotes.ask_sz ?? [])).toEqual([4]);
  });

  it('import into quotes.parquet that the loader reads back exactly', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'bookticker-'));
    try {
      const blobs = new LocalBlobStore(root, { durable: false });
      const summary = await importBinanceBookTicker(blobs, PERP, [FIXTURE]);
      expect(summary.quotes).toBe(5);
      expect(summary.days.map((d) => [d.day, d.rows])).toEqual([
        ['2025-07-01', 4],
        ['2025-07-02', 1],
      ]);
      expect(summary.days[0]?.key).toBe(tickFileKey(PERP, '2025-07-01', 'quotes'));
      const w = await loadWindow(blobs, {
        instrument_key: PERP,
        fromNs: isoToNanos('2025-07-01T00:00:00Z'),
        toNs: isoToNanos('2025-07-02T00:00:01Z'),
        kinds: ['quotes'],
      });
      expect(Array.from(w.quotes?.bid_sz ?? [])).toEqual([1.3, 0.5, 0.45, 1.25, 0.01]);
      expect(w.quotes?.ts[0]).toBe(1_751_328_000_100_000_000n);
      expect(w.quotes?.ts[4]).toBe(1_751_414_400_000_000_000n);

      // A malformed file stops the import and writes nothing.
      const bad = path.join(root, 'bad.csv');
      await writeFile(bad, '1,100,1,101,1,1751328000000,1751328000000\n2,100,1,100,1,1751328000001,0\n');
      const other = new LocalBlobStore(path.join(root, 'other'), { durable: false });
      await expect(importBinanceBookTicker(other, PERP, [bad])).rejects.toThrow(/bad\.csv:2: crossed book/);
      expect(await other.list('market-data-tick/')).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBinanceCsvFiles } from '../../../scripts/import-binance-trades.ts';
import {
  BinanceCsvError,
  binanceTimeToNanos,
  parseBinanceTradeLine,
  TradeDaySplitter,
} from '../../../shared/data/binance-trades.ts';
import { SIDE_BUY, SIDE_SELL } from '../../../shared/data/tick-columns.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/binance');

describe('Binance trade dump parsing', () => {
  it('tells milliseconds, microseconds and nanoseconds apart by magnitude', () => {
    const ns = 1_751_328_000_123_000_000n;
    expect(binanceTimeToNanos('1751328000123')).toBe(ns);
    expect(binanceTimeToNanos('1751328000123000')).toBe(ns);
    expect(binanceTimeToNanos('1751328000123000000')).toBe(ns);
    expect(binanceTimeToNanos('1751328000123456')).toBe(ns + 456_000n);
    expect(() => binanceTimeToNanos('12345')).toThrow(/too small/);
    expect(() => binanceTimeToNanos('1.5e12')).toThrow(/not an integer/);
  });

  it('parses lines with and without header and the 7th column; side = is_buyer_maker ? SELL : BUY', () => {
    expect(parseBinanceTradeLine('id,price,qty,quote_qty,time,is_buyer_maker', 1)).toBeNull();
    expect(parseBinanceTradeLine('', 5)).toBeNull();
    expect(parseBinanceTradeLine('7,100.5,0.25,25.125,1751328000000,True,True\r', 1)).toEqual({
      id: '7',
      price: 100.5,
      qty: 0.25,
      tsNs: 1_751_328_000_000_000_000n,
      isBuyerMaker: true,
    });
    const s = new TradeDaySplitter();
    s.addCsv('1,10,1,10,1751328000000,true\n2,11,2,22,1751328000001,false\n');
    const [day] = s.days();
    expect(day?.trades.side).toEqual(new Int8Array([SIDE_SELL, SIDE_BUY]));
    expect(day?.trades.trade_id).toEqual(['1', '2']);
  });

  it('names the line of anything malformed', () => {
    const bad =
      (line: string, n = 3) =>
      () =>
        parseBinanceTradeLine(line, n, 'x.csv');
    expect(bad('1,2,3')).toThrow(/^x\.csv:3: expected 6 or 7 fields/);
    expect(bad('a,100,1,100,1751328000000,true')).toThrow(/x\.csv:3: id "a" is not an integer/);
    expect(bad('1,-100,1,100,1751328000000,true')).toThrow(/x\.csv:3: price "-100"/);
    expect(bad('1,100,0,0,1751328000000,true')).toThrow(/x\.csv:3: qty "0"/);
    expect(bad('1,100,1,100,1751328000000,maybe')).toThrow(/x\.csv:3: is_buyer_maker "maybe"/);
    expect(bad('1,100,1,100,17513280000x0,true')).toThrow(/x\.csv:3: time/);
    // A header is only accepted on line 1.
    expect(bad('id,price,qty,quote_qty,time,is_buyer_maker')).toThrow(/x\.csv:3: id "id"/);
    expect(bad('trade,px,amount,x,y,z', 1)).toThrow(/x\.csv:1: unexpected header/);
    expect(bad('1,2,3')).toThrow(BinanceCsvError);
  });

  it('splits a file by UTC day and sorts each day by time', async () => {
    const splitter = await readBinanceCsvFiles([path.join(FIXTURES, 'BTCUSDT-trades-us-header.csv')]);
    expect(splitter.count).toBe(8);
    const days = splitter.days();
    expect(days.map((d) => d.day)).toEqual(['2025-06-30', '2025-07-01']);
    const [d0, d1] = days;
    expect(d0?.trades.trade_id).toEqual(['5000000001', '5000000002', '5000000003']);
    expect(d0?.trades.ts[2]).toBe(1_751_327_999_999_999_000n);
    // Out-of-order id 6 (time .250) comes after id 5 (time .125); equal times keep id order.
    expect(d1?.trades.trade_id).toEqual([
      '5000000004',
      '5000000005',
      '5000000006',
      '5000000007',
      '5000000008',
    ]);
    expect(Array.from(d1?.trades.ts ?? [])).toEqual([
      1_751_328_000_000_000_000n,
      1_751_328_000_125_000_000n,
      1_751_328_000_250_000_000n,
      1_751_328_000_250_000_000n,
      1_751_328_061_000_001_000n,
    ]);
    expect(Array.from(d1?.trades.side ?? [])).toEqual([SIDE_SELL, SIDE_SELL, SIDE_BUY, SIDE_BUY, SIDE_SELL]);
    expect(d1?.trades.price[0]).toBe(107149.99);
    expect(d1?.trades.size[0]).toBe(0.00005);
  });

  it('reports the file and line of a malformed line', async () => {
    const file = path.join(FIXTURES, 'BTCUSDT-trades-malformed.csv');
    await expect(readBinanceCsvFiles([file])).rejects.toThrow(
      `${file}:4: qty "abc" is not a positive decimal`,
    );
  });
});

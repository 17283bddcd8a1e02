import { describe, expect, it } from 'vitest';
import { parseBlobLocation } from '../../../infra/ticks/blob-location.ts';
import {
  addDays,
  dayOfInstrumentsKey,
  dayStartNs,
  daysInWindow,
  instrumentsFileKey,
  isUtcDay,
  tickFileKey,
  tickPathParts,
  utcDayOf,
} from '../../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';

describe('tick layout', () => {
  it('builds the SPEC keys from canonical ids', () => {
    expect(tickFileKey('BINANCE-SPOT:SPOT_PAIR:BTC-USDT', '2025-07-01', 'trades')).toBe(
      'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet',
    );
    expect(tickFileKey('BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', '2025-07-01', 'quotes')).toBe(
      'market-data-tick/BINANCE-FUTURES/2025-07-01/BTC-USDT/quotes.parquet',
    );
    expect(tickFileKey('DERIBIT:OPTION:BTC-USD-50000-20241231-C', '2024-12-30', 'book')).toBe(
      'market-data-tick/DERIBIT/2024-12-30/BTC-USD-50000-20241231-C/book.parquet',
    );
    // With an asset class prefix the venue is still the VENUE part.
    expect(tickPathParts('CRYPTO:BINANCE-SPOT:SPOT_PAIR:ETH-USDT')).toEqual({
      venue: 'BINANCE-SPOT',
      payload: 'ETH-USDT',
    });
    expect(instrumentsFileKey('2025-07-01')).toBe('instruments/2025-07-01.json');
    expect(dayOfInstrumentsKey('instruments/2025-07-01.json')).toBe('2025-07-01');
    expect(dayOfInstrumentsKey('instruments/latest.json')).toBeNull();
  });

  it('rejects bad ids and bad days with a message naming the problem', () => {
    expect(() => tickFileKey('BINANCE-SPOT:SPOT:BTC-USDT', '2025-07-01', 'trades')).toThrow(
      /instrument type "SPOT"/,
    );
    expect(() => tickFileKey('BINANCE-SPOT:SPOT_PAIR:BTC-USDT', '2025-02-30', 'trades')).toThrow(
      /YYYY-MM-DD/,
    );
    expect(isUtcDay('2024-02-29')).toBe(true);
    expect(isUtcDay('2025-7-1')).toBe(false);
  });

  it('maps instants to UTC days and windows to the days they touch', () => {
    const midnight = isoToNanos('2025-07-02T00:00:00Z');
    expect(dayStartNs('2025-07-02')).toBe(midnight);
    expect(utcDayOf(midnight - 1n)).toBe('2025-07-01');
    expect(utcDayOf(midnight)).toBe('2025-07-02');
    expect(utcDayOf(-1n)).toBe('1969-12-31');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    // Half-open: a window ending exactly at midnight does not touch the next day.
    expect(daysInWindow(midnight - 300_000_000_000n, midnight)).toEqual(['2025-07-01']);
    expect(daysInWindow(midnight - 1n, midnight + 1n)).toEqual(['2025-07-01', '2025-07-02']);
    expect(daysInWindow(midnight, midnight)).toEqual([]);
    expect(
      daysInWindow(isoToNanos('2025-07-01T12:00:00Z'), isoToNanos('2025-07-04T00:00:00.000000001Z')),
    ).toEqual(['2025-07-01', '2025-07-02', '2025-07-03', '2025-07-04']);
  });
});

describe('data locations', () => {
  it('tells gs:// buckets from local folders', () => {
    expect(parseBlobLocation('gs://my-bucket/ticks/v1/')).toEqual({
      kind: 'gcs',
      bucket: 'my-bucket',
      prefix: 'ticks/v1',
    });
    expect(parseBlobLocation('gs://my-bucket')).toEqual({ kind: 'gcs', bucket: 'my-bucket', prefix: '' });
    expect(parseBlobLocation('data')).toEqual({ kind: 'local', path: 'data' });
    expect(() => parseBlobLocation('gs://')).toThrow(/no bucket/);
  });
});

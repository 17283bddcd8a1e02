/**
 * Rows routed to one buffer per UTC day by their `ts_event` (the importers' day split). Consecutive
 * rows of the same day skip the day computation.
 */
import { dayStartNs, NS_PER_DAY, utcDayOf } from './tick-layout.ts';

export class DayBuckets<B> {
  private readonly byDay = new Map<string, B>();
  private last: { start: bigint; end: bigint; buf: B } | null = null;

  constructor(private readonly make: () => B) {}

  /** The buffer of the UTC day of `tsNs` (created on first use). */
  bucketFor(tsNs: bigint): B {
    const last = this.last;
    if (last && tsNs >= last.start && tsNs < last.end) return last.buf;
    const day = utcDayOf(tsNs);
    let buf = this.byDay.get(day);
    if (buf === undefined) {
      buf = this.make();
      this.byDay.set(day, buf);
    }
    const start = dayStartNs(day);
    this.last = { start, end: start + NS_PER_DAY, buf };
    return buf;
  }

  /** The days seen, in order, with their buffers. */
  entries(): Array<[string, B]> {
    return [...this.byDay.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** A day's rows, collected one by one and read back as columns. */
export interface DayColumns<R, C> {
  push(row: R): void;
  columns(): C;
}

/**
 * Collects parsed CSV rows (trades, book tickers) and splits them by UTC day: `addCsv` parses
 * every line with `parse` (null skips a blank line or the header), `dayColumns` reads each day
 * back in order.
 */
export class DaySplitter<R extends { tsNs: bigint }, C> {
  private readonly buckets: DayBuckets<DayColumns<R, C>>;
  count = 0;

  constructor(
    make: () => DayColumns<R, C>,
    private readonly parse: (line: string, lineNo: number, source: string) => R | null,
  ) {
    this.buckets = new DayBuckets(make);
  }

  add(row: R): void {
    this.buckets.bucketFor(row.tsNs).push(row);
    this.count++;
  }

  /** Parse and add every line of a CSV text. */
  addCsv(text: string, source = '<csv>'): void {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const row = this.parse(lines[i] as string, i + 1, source);
      if (row) this.add(row);
    }
  }

  /** The days seen, in order, with their columns. */
  protected dayColumns(): Array<{ day: string; columns: C }> {
    return this.buckets.entries().map(([day, buf]) => ({ day, columns: buf.columns() }));
  }
}

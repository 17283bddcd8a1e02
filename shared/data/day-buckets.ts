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

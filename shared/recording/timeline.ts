/**
 * The order a replay feeds a recording to the core: every journal record and market event of a
 * session, by run and then by sequence number — the order the edge consumed them in, which is also
 * `ts_init` order within a run (the recorder assigns `seq` as events arrive). The replay's clock is
 * the step's `ts_init`. Plus the marks (mids from the recorded quotes, trades and book) that value
 * positions on both sides of a parity check. Pure.
 */
import type { Nanos } from '../domain/time.ts';
import type { MidSample } from './executions.ts';
import { compareRunSeq, type SequencedMarketEvent, type SequencedRecord } from './format.ts';

export type ReplayStep =
  | { kind: 'record'; run: number; seq: number; ts_init: Nanos; record: SequencedRecord }
  | { kind: 'market'; run: number; seq: number; ts_init: Nanos; event: SequencedMarketEvent };

/** A session's steps in consumption order. Both inputs must each be sorted by (run, seq). */
export function* replaySteps(
  records: readonly SequencedRecord[],
  market: Iterable<SequencedMarketEvent>,
): Generator<ReplayStep> {
  let i = 0;
  for (const event of market) {
    while (i < records.length && compareRunSeq(records[i]!, event) < 0) {
      const r = records[i++]!;
      yield { kind: 'record', run: r.run, seq: r.seq, ts_init: BigInt(r.ts_init), record: r };
    }
    yield { kind: 'market', run: event.run, seq: event.seq, ts_init: event.ts_init, event };
  }
  while (i < records.length) {
    const r = records[i++]!;
    yield { kind: 'record', run: r.run, seq: r.seq, ts_init: BigInt(r.ts_init), record: r };
  }
}

/** Mid of a market event: quote / book top of book when two-sided, else the trade price; else null. */
export function midOf(e: SequencedMarketEvent): number | null {
  if (e.kind === 'quote') return e.bid_px > 0 && e.ask_px > 0 ? (e.bid_px + e.ask_px) / 2 : null;
  if (e.kind === 'book') {
    const bid = e.bids[0]?.[0];
    const ask = e.asks[0]?.[0];
    return bid !== undefined && ask !== undefined ? (bid + ask) / 2 : null;
  }
  return e.price;
}

/**
 * Mark samples: the mid of each instrument at most once per `intervalNs` of `ts_init` (the first
 * mid of each interval), and always the last mid seen. Memory grows with the session's length
 * divided by the interval, not with its events.
 */
export class MarkSampler {
  private readonly last = new Map<string, { ts: Nanos; mid: number; sampledAt: Nanos | null }>();
  readonly samples: MidSample[] = [];

  constructor(private readonly intervalNs: Nanos) {
    if (intervalNs <= 0n) throw new RangeError('mark interval must be positive');
  }

  add(e: SequencedMarketEvent): void {
    const mid = midOf(e);
    if (mid === null || !Number.isFinite(mid)) return;
    const prev = this.last.get(e.instrument_key);
    const bucket = e.ts_init - (e.ts_init % this.intervalNs);
    if (prev === undefined || prev.sampledAt === null || prev.sampledAt < bucket) {
      this.samples.push({ instrument_key: e.instrument_key, ts: e.ts_init, mid });
      this.last.set(e.instrument_key, { ts: e.ts_init, mid, sampledAt: bucket });
    } else {
      this.last.set(e.instrument_key, { ts: e.ts_init, mid, sampledAt: prev.sampledAt });
    }
  }

  /** Samples including each instrument's last mid. */
  finish(): MidSample[] {
    const out = [...this.samples];
    for (const [key, l] of this.last) {
      const tail = out.findLast((s) => s.instrument_key === key);
      if (tail === undefined || tail.ts !== l.ts) out.push({ instrument_key: key, ts: l.ts, mid: l.mid });
    }
    return out;
  }
}

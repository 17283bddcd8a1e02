/**
 * The session recorder (docs/recording.md): the venue edge hands it every market event as received
 * and every journal record (routed parents, children sent, venue reports, trading-state changes);
 * it buffers them in memory and writes one journal part and one market part per flush through the
 * BlobStore, then the manifest. Nothing here decides anything about trading; a recorder failure
 * never stops the edge.
 *
 * - **Bounded memory.** At `max_buffered_events` buffered items a flush starts early; at twice that
 *   (a flush slower than the feed) new items are dropped, counted, and the next part carries a
 *   `gap` record — the recording then refuses to replay, naming the gap. Trading is never slowed.
 * - **Periodic flush** every `flush_interval_ms`; a crash loses at most what arrived since the last
 *   completed flush (plus the flush under way).
 * - **A restart appends.** `open` reads the manifest, adopts parts written after the last manifest
 *   update (a crash between the part and the manifest) when they decode, lists torn ones as
 *   discarded, and starts a new run: new file names, nothing overwritten.
 * - `close` writes the last part, marks the run closed and writes the session's market data in the
 *   tick layout (`market-data-tick/...`, minute row groups) plus `instruments/<day>.json`.
 */
import { createHash } from 'node:crypto';
import { type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import {
  type JournalInput,
  type JournalRecord,
  JournalRecordSchema,
  journalPartKey,
  type MarketEvent,
  manifestKey,
  marketPartKey,
  parsePartKey,
  RECORDING_FORMAT_VERSION,
  type RecordingManifest,
  RecordingManifestSchema,
  type RecordingMode,
  type RecordingSink,
  type Segment,
  type SequencedMarketEvent,
  SessionIdSchema,
  sessionPrefix,
} from '../../shared/recording/format.ts';
import { jsonSafe } from '../../shared/recording/tap.ts';
import { errorMessage } from '../parquet/reader.ts';
import { writeSessionTicks } from './compact.ts';
import { decodeJournalPart, encodeJournalPart } from './journal-parts.ts';
import { decodeMarketPart, encodeMarketPart } from './market-parts.ts';

export const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_BUFFERED_EVENTS = 50_000;

export interface RecorderOptions {
  blobs: BlobStore;
  session_id: string;
  mode: RecordingMode;
  venues: readonly string[];
  seed: number;
  /** The configuration in force, secrets already redacted. */
  config: Record<string, unknown>;
  instruments: readonly InstrumentSpec[];
  starting_cash: DecimalString;
  flush_interval_ms?: number | undefined;
  max_buffered_events?: number | undefined;
  /** Told about failed flushes and records that could not be kept (the recorder never throws at the edge). */
  onError?: ((err: unknown, context: string) => void) | undefined;
  /** Timer hooks (tests drive flushes by hand with `auto_flush: false`). */
  auto_flush?: boolean | undefined;
}

export interface RecorderStats {
  run: number;
  parts_written: number;
  buffered: number;
  dropped_market_events: number;
  dropped_records: number;
  bytes_written: number;
  last_flush_ts_ms: number | null;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Problem with a recording's files that the recorder cannot append to. */
export class RecorderOpenError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'RecorderOpenError';
  }
}

interface Gap {
  market: number;
  records: number;
  first: Nanos;
  last: Nanos;
}

export class Recorder implements RecordingSink {
  private records: JournalRecord[] = [];
  private market: SequencedMarketEvent[] = [];
  private seq = 0;
  private part = 0;
  private gap: Gap | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private flushInFlight = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly maxBuffered: number;
  private readonly stats_: RecorderStats;

  private constructor(
    private readonly opts: RecorderOptions,
    private manifest: RecordingManifest,
    readonly run: number,
  ) {
    this.maxBuffered = opts.max_buffered_events ?? DEFAULT_MAX_BUFFERED_EVENTS;
    this.stats_ = {
      run,
      parts_written: 0,
      buffered: 0,
      dropped_market_events: 0,
      dropped_records: 0,
      bytes_written: 0,
      last_flush_ts_ms: null,
    };
  }

  /**
   * Open (or continue) a session's recording and start a new run. Writes the manifest with the run
   * before returning, so a crash right after start leaves a readable recording.
   */
  static async open(opts: RecorderOptions, startedTsInit: Nanos): Promise<Recorder> {
    const sessionId = SessionIdSchema.parse(opts.session_id);
    const interval = opts.flush_interval_ms ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(interval > 0)) throw new RangeError(`flush_interval_ms must be positive, got ${interval}`);
    const max = opts.max_buffered_events ?? DEFAULT_MAX_BUFFERED_EVENTS;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`max_buffered_events must be ≥ 1, got ${max}`);
    const manifest = await recoverManifest(opts.blobs, sessionId, opts.mode, opts.venues);
    const lastRun = manifest.runs.reduce((m, r) => Math.max(m, r.run), 0);
    const run = lastRun + 1;
    manifest.runs.push({ run, started_ts_init: String(startedTsInit), closed_ts_init: null });
    for (const v of opts.venues) if (!manifest.venues.includes(v)) manifest.venues.push(v);
    await putManifest(opts.blobs, manifest);
    const rec = new Recorder(opts, manifest, run);
    rec.record({
      type: 'session_started',
      ts_init: startedTsInit,
      format_version: RECORDING_FORMAT_VERSION,
      session_id: sessionId,
      run,
      mode: opts.mode,
      venues: [...opts.venues],
      seed: opts.seed,
      config: jsonSafe(opts.config) as Record<string, unknown>,
      instruments: opts.instruments.map((s) => ({ ...s })),
      starting_cash: fmt(toDec(opts.starting_cash)),
    });
    if (opts.auto_flush ?? true) {
      rec.timer = setInterval(() => void rec.flush(), interval);
      rec.timer.unref?.();
    }
    return rec;
  }

  get sessionId(): string {
    return this.opts.session_id;
  }

  stats(): RecorderStats {
    return { ...this.stats_, buffered: this.records.length + this.market.length };
  }

  private buffered(): number {
    return this.records.length + this.market.length;
  }

  /** True when the item may be buffered; otherwise it is counted in the gap. */
  private admit(tsInit: Nanos, isRecord: boolean): boolean {
    if (this.closed) return false;
    const n = this.buffered();
    if (n >= this.maxBuffered && !this.flushInFlight) void this.flush();
    if (n < this.maxBuffered * 2) return true;
    const g = this.gap ?? { market: 0, records: 0, first: tsInit, last: tsInit };
    if (isRecord) {
      g.records++;
      this.stats_.dropped_records++;
    } else {
      g.market++;
      this.stats_.dropped_market_events++;
    }
    if (tsInit < g.first) g.first = tsInit;
    if (tsInit > g.last) g.last = tsInit;
    this.gap = g;
    return false;
  }

  /** Record one market event as received (cheap and synchronous). */
  marketEvent(e: MarketEvent): void {
    if (!this.admit(e.ts_init, false)) return;
    this.market.push({ ...e, run: this.run, seq: this.seq++ });
  }

  /** Record one journal entry; an entry that does not validate is dropped and counted as a gap. */
  record(entry: JournalInput): void {
    if (!this.admit(entry.ts_init, true)) return;
    const candidate = jsonSafe({ ...entry, seq: this.seq });
    const parsed = JournalRecordSchema.safeParse(candidate);
    if (!parsed.success) {
      const g = this.gap ?? { market: 0, records: 0, first: entry.ts_init, last: entry.ts_init };
      g.records++;
      this.gap = g;
      this.stats_.dropped_records++;
      this.opts.onError?.(
        new Error(
          `journal record ${entry.type} not recorded: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        ),
        'record',
      );
      return;
    }
    this.seq++;
    this.records.push(parsed.data);
  }

  /** Write what is buffered (one journal part + one market part), then the manifest. Serialised. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushOnce());
    this.flushing = next.catch((err: unknown) => this.opts.onError?.(err, 'flush'));
    return next;
  }

  private async flushOnce(): Promise<void> {
    if (this.gap !== null) {
      const g = this.gap;
      this.gap = null;
      // The gap record takes the next seq: it sits where the missing items would have been.
      this.records.push({
        type: 'gap',
        seq: this.seq++,
        ts_init: String(g.last),
        dropped_market_events: g.market,
        dropped_records: g.records,
        first_ts_init: String(g.first),
        last_ts_init: String(g.last),
      });
    }
    if (this.buffered() === 0) return;
    this.flushInFlight = true;
    const records = this.records;
    const market = this.market;
    this.records = [];
    this.market = [];
    const part = this.part + 1;
    const { blobs, session_id: sid } = this.opts;
    try {
      // Both buffers are in seq order; the segment's range spans both.
      let firstSeq = Number.MAX_SAFE_INTEGER;
      let lastSeq = -1;
      let firstTs: Nanos | null = null;
      let lastTs: Nanos | null = null;
      const see = (seq: number, ts: Nanos) => {
        if (seq < firstSeq) firstSeq = seq;
        if (seq > lastSeq) lastSeq = seq;
        if (firstTs === null || ts < firstTs) firstTs = ts;
        if (lastTs === null || ts > lastTs) lastTs = ts;
      };
      for (const r of records) see(r.seq, BigInt(r.ts_init));
      for (const m of market) see(m.seq, m.ts_init);
      const meta = { session_id: sid, run: String(this.run), part: String(part) };
      let journal: Segment['journal'] = null;
      let marketFile: Segment['market'] = null;
      if (records.length > 0) {
        const bytes = encodeJournalPart(records);
        const key = journalPartKey(sid, this.run, part);
        await blobs.put(key, bytes, { contentType: 'application/x-ndjson' });
        journal = { key, bytes: bytes.byteLength, sha256: sha256(bytes), rows: records.length };
      }
      if (market.length > 0) {
        const { bytes, rows } = encodeMarketPart(market, meta);
        const key = marketPartKey(sid, this.run, part);
        await blobs.put(key, bytes, { contentType: 'application/vnd.apache.parquet' });
        marketFile = { key, bytes: bytes.byteLength, sha256: sha256(bytes), rows };
      }
      const segment: Segment = {
        run: this.run,
        part,
        first_seq: firstSeq,
        last_seq: lastSeq,
        first_ts_init: String(firstTs),
        last_ts_init: String(lastTs),
        journal,
        market: marketFile,
        recovered: false,
      };
      this.manifest.segments.push(segment);
      await putManifest(blobs, this.manifest);
      this.part = part;
      this.stats_.parts_written++;
      this.stats_.bytes_written += (journal?.bytes ?? 0) + (marketFile?.bytes ?? 0);
      this.stats_.last_flush_ts_ms = Date.now();
    } catch (err) {
      // Not committed: put the items back in front (the same part number is written again).
      if (this.manifest.segments[this.manifest.segments.length - 1]?.part === part) {
        this.manifest.segments.pop();
      }
      this.records = [...records, ...this.records];
      this.market = [...market, ...this.market];
      throw err;
    } finally {
      this.flushInFlight = false;
    }
  }

  /**
   * Close the run: record `session_closed`, flush, mark the run closed, and write the session's
   * market data in the tick layout. Idempotent.
   */
  async close(tsInit: Nanos): Promise<void> {
    if (this.closed) return;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    // Room for the closing record when the buffer is full.
    if (this.buffered() >= this.maxBuffered * 2 || this.gap !== null) await this.flush();
    this.record({ type: 'session_closed', ts_init: tsInit });
    this.closed = true;
    await this.flush();
    const run = this.manifest.runs.find((r) => r.run === this.run);
    if (run) run.closed_ts_init = String(tsInit);
    this.manifest.tick_files = await writeSessionTicks(this.opts.blobs, this.manifest, this.opts.instruments);
    await putManifest(this.opts.blobs, this.manifest);
  }

  /** Stop the timer without closing (tests simulating a crash; the buffer is abandoned). */
  abandon(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.closed = true;
  }
}

async function putManifest(blobs: BlobStore, manifest: RecordingManifest): Promise<void> {
  await blobs.put(manifestKey(manifest.session_id), `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
}

/** Read a manifest, failing with the file and the problem. Null when there is none. */
export async function readManifest(blobs: BlobStore, sessionId: string): Promise<RecordingManifest | null> {
  const key = manifestKey(sessionId);
  let bytes: Uint8Array;
  try {
    bytes = await blobs.get(key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new RecorderOpenError(key, `not valid JSON (truncated?): ${errorMessage(err)}`);
  }
  const version = (json as { format_version?: unknown } | null)?.format_version;
  if (version !== RECORDING_FORMAT_VERSION) {
    throw new RecorderOpenError(
      key,
      `format_version ${JSON.stringify(version)} is not ${RECORDING_FORMAT_VERSION}, the version this build reads and writes`,
    );
  }
  const parsed = RecordingManifestSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new RecorderOpenError(key, `invalid manifest at ${i?.path.join('.') ?? ''}: ${i?.message ?? ''}`);
  }
  if (parsed.data.session_id !== sessionId) {
    throw new RecorderOpenError(key, `belongs to session ${parsed.data.session_id}, not ${sessionId}`);
  }
  return parsed.data;
}

/** Part files of a session present in the store but not in its manifest (written just before a crash). */
export async function unlistedParts(
  blobs: BlobStore,
  manifest: RecordingManifest,
): Promise<Array<{ key: string; kind: 'journal' | 'market'; run: number; part: number }>> {
  const known = new Set<string>();
  for (const s of manifest.segments) {
    if (s.journal) known.add(s.journal.key);
    if (s.market) known.add(s.market.key);
  }
  for (const d of manifest.discarded) known.add(d.key);
  const out: Array<{ key: string; kind: 'journal' | 'market'; run: number; part: number }> = [];
  for (const info of await blobs.list(sessionPrefix(manifest.session_id))) {
    if (known.has(info.key)) continue;
    const p = parsePartKey(manifest.session_id, info.key);
    if (p !== null) out.push({ key: info.key, ...p });
  }
  return out;
}

/**
 * The manifest to continue from: the stored one (or a new one), with parts written after its last
 * update adopted when they decode completely, and listed as discarded when they do not.
 */
async function recoverManifest(
  blobs: BlobStore,
  sessionId: string,
  mode: RecordingMode,
  venues: readonly string[],
): Promise<RecordingManifest> {
  const stored = await readManifest(blobs, sessionId);
  const manifest: RecordingManifest = stored ?? {
    format_version: RECORDING_FORMAT_VERSION,
    session_id: sessionId,
    mode,
    venues: [...venues],
    runs: [],
    segments: [],
    discarded: [],
    tick_files: [],
  };
  if (stored !== null && stored.mode !== mode) {
    throw new RecorderOpenError(
      manifestKey(sessionId),
      `session ${sessionId} was recorded in ${stored.mode} mode; a ${mode} session needs its own session id`,
    );
  }
  const orphans = await unlistedParts(blobs, manifest);
  const byPart = new Map<string, typeof orphans>();
  for (const o of orphans) {
    const id = `${o.run}/${o.part}`;
    byPart.set(id, [...(byPart.get(id) ?? []), o]);
  }
  for (const files of byPart.values()) {
    const { run, part } = files[0]!;
    const seg: Segment = {
      run,
      part,
      first_seq: Number.MAX_SAFE_INTEGER,
      last_seq: -1,
      first_ts_init: '0',
      last_ts_init: '0',
      journal: null,
      market: null,
      recovered: true,
    };
    let first: Nanos | null = null;
    let last: Nanos | null = null;
    const seen = (seq: number, ts: Nanos) => {
      seg.first_seq = Math.min(seg.first_seq, seq);
      seg.last_seq = Math.max(seg.last_seq, seq);
      if (first === null || ts < first) first = ts;
      if (last === null || ts > last) last = ts;
    };
    let ok = true;
    for (const f of files) {
      try {
        const bytes = await blobs.get(f.key);
        const entry = { key: f.key, bytes: bytes.byteLength, sha256: sha256(bytes), rows: 0 };
        if (f.kind === 'journal') {
          const recs = decodeJournalPart(bytes, f.key);
          for (const r of recs) seen(r.seq, BigInt(r.ts_init));
          seg.journal = { ...entry, rows: recs.length };
        } else {
          const events = await decodeMarketPart(bytes, f.key, run);
          for (const e of events) seen(e.seq, e.ts_init);
          seg.market = { ...entry, rows: countMarketRows(events) };
        }
      } catch (err) {
        ok = false;
        manifest.discarded.push({ key: f.key, reason: errorMessage(err) });
      }
    }
    if (!ok) {
      // Half a segment is not replayable: the readable half is discarded with it.
      for (const f of files) {
        if (!manifest.discarded.some((d) => d.key === f.key)) {
          manifest.discarded.push({ key: f.key, reason: 'the other file of its part could not be read' });
        }
      }
      continue;
    }
    if (seg.last_seq < 0 || first === null || last === null) continue;
    seg.first_ts_init = String(first);
    seg.last_ts_init = String(last);
    manifest.segments.push(seg);
    if (!manifest.runs.some((r) => r.run === run)) {
      manifest.runs.push({ run, started_ts_init: seg.first_ts_init, closed_ts_init: null });
    }
  }
  manifest.segments.sort((a, b) => a.run - b.run || a.part - b.part);
  manifest.runs.sort((a, b) => a.run - b.run);
  return manifest;
}

/** Rows a list of decoded events takes in a market part (a book snapshot is one row per level). */
export function countMarketRows(events: readonly SequencedMarketEvent[]): number {
  let n = 0;
  for (const e of events) n += e.kind === 'book' ? Math.max(1, e.bids.length + e.asks.length) : 1;
  return n;
}

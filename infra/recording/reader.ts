/**
 * Reading a recording for replay (docs/recording.md, "Reading and validation"). `openRecording`
 * checks the whole recording before anything is replayed — manifest present and of this format
 * version, every listed file present with its recorded size, no part file the manifest does not
 * account for, sequence numbers contiguous across parts, each run starting with `session_started`
 * — and `load` checks every file's SHA-256 and decodes it. Any problem is a RecordingError naming
 * the file and the problem: a recording is replayed whole or not at all.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import {
  type FileEntry,
  manifestKey,
  RECORDING_FORMAT_VERSION,
  RECORDINGS_ROOT,
  type RecordingManifest,
  type SequencedMarketEvent,
  type SequencedRecord,
  sessionIdsOf,
} from '../../shared/recording/format.ts';
import { errorMessage } from '../parquet/reader.ts';
import { decodeJournalPart } from './journal-parts.ts';
import { decodeMarketPart } from './market-parts.ts';
import { RecorderOpenError, readManifest, unlistedParts } from './recorder.ts';

export type RecordingProblem =
  | 'no_recording'
  | 'ambiguous_session'
  | 'missing'
  | 'truncated'
  | 'corrupt'
  | 'incompatible_version'
  | 'unlisted'
  | 'gap'
  | 'incomplete';

export class RecordingError extends Error {
  constructor(
    readonly file: string,
    readonly problem: RecordingProblem,
    detail: string,
  ) {
    super(`${file}: ${problem.replace(/_/g, ' ')}: ${detail}`);
    this.name = 'RecordingError';
  }
}

export interface OpenedRecording {
  blobs: BlobStore;
  manifest: RecordingManifest;
  /** Journal records of every run, by run and seq. */
  records: SequencedRecord[];
  /** Market events of every part, in run/seq order, one segment at a time. */
  market(): AsyncGenerator<SequencedMarketEvent[]>;
}

/** The session to replay: the one given, or the only one under `recordings/`. */
export async function findSession(blobs: BlobStore, sessionId?: string | undefined): Promise<string> {
  const ids = sessionIdsOf((await blobs.list(`${RECORDINGS_ROOT}/`)).map((b) => b.key));
  if (sessionId !== undefined) {
    if (!ids.includes(sessionId)) {
      throw new RecordingError(
        manifestKey(sessionId),
        'missing',
        `no such session (sessions here: ${ids.join(', ') || 'none'})`,
      );
    }
    return sessionId;
  }
  if (ids.length === 0) {
    throw new RecordingError(
      `${RECORDINGS_ROOT}/`,
      'no_recording',
      'no recordings/<session_id>/manifest.json here',
    );
  }
  if (ids.length > 1) {
    throw new RecordingError(
      `${RECORDINGS_ROOT}/`,
      'ambiguous_session',
      `${ids.length} sessions (${ids.join(', ')}): choose one with --session`,
    );
  }
  return ids[0]!;
}

async function checkFile(blobs: BlobStore, f: FileEntry): Promise<void> {
  const info = await blobs.stat(f.key);
  if (info === null) throw new RecordingError(f.key, 'missing', 'listed in the manifest but not found');
  if (info.size !== f.bytes) {
    throw new RecordingError(
      f.key,
      info.size < f.bytes ? 'truncated' : 'corrupt',
      `has ${info.size} bytes, the manifest says ${f.bytes}`,
    );
  }
}

async function getChecked(blobs: BlobStore, f: FileEntry): Promise<Uint8Array> {
  const bytes = await blobs.get(f.key);
  if (bytes.byteLength !== f.bytes) {
    throw new RecordingError(
      f.key,
      'truncated',
      `has ${bytes.byteLength} bytes, the manifest says ${f.bytes}`,
    );
  }
  const sum = createHash('sha256').update(bytes).digest('hex');
  if (sum !== f.sha256) throw new RecordingError(f.key, 'corrupt', 'SHA-256 differs from the manifest');
  return bytes;
}

/** Validate a recording's structure and load its journal; market parts are read lazily by `market()`. */
export async function openRecording(
  blobs: BlobStore,
  opts: { session_id?: string | undefined } = {},
): Promise<OpenedRecording> {
  const sessionId = await findSession(blobs, opts.session_id);
  let manifest: RecordingManifest | null;
  try {
    manifest = await readManifest(blobs, sessionId);
  } catch (err) {
    if (err instanceof RecorderOpenError) {
      const problem = /format_version/.test(err.message) ? 'incompatible_version' : 'corrupt';
      throw new RecordingError(err.file, problem, err.message.slice(err.file.length + 2));
    }
    throw err;
  }
  if (manifest === null) throw new RecordingError(manifestKey(sessionId), 'missing', 'no manifest');

  for (const u of await unlistedParts(blobs, manifest)) {
    throw new RecordingError(
      u.key,
      'unlisted',
      'written after the last manifest update (the recorder stopped before committing it); ' +
        'start the recorder on this session once to adopt it, or remove the file to replay without it',
    );
  }
  const lastSeq = new Map<number, number>();
  for (const s of manifest.segments) {
    const files = [s.journal, s.market].filter((f): f is FileEntry => f !== null);
    for (const f of files) await checkFile(blobs, f);
    const prev = lastSeq.get(s.run) ?? -1;
    if (s.first_seq !== prev + 1) {
      throw new RecordingError(
        files[0]?.key ?? manifestKey(sessionId),
        'incomplete',
        `run ${s.run} part ${s.part} starts at seq ${s.first_seq}, expected ${prev + 1}: a part is missing`,
      );
    }
    lastSeq.set(s.run, s.last_seq);
  }

  const records: SequencedRecord[] = [];
  for (const s of manifest.segments) {
    if (s.journal === null) continue;
    const key = s.journal.key;
    const bytes = await getChecked(blobs, s.journal);
    let decoded: ReturnType<typeof decodeJournalPart>;
    try {
      decoded = decodeJournalPart(bytes, key);
    } catch (err) {
      throw new RecordingError(key, 'corrupt', errorMessage(err).replace(`${key}: `, ''));
    }
    for (const r of decoded) {
      if (r.seq < s.first_seq || r.seq > s.last_seq) {
        throw new RecordingError(
          key,
          'corrupt',
          `seq ${r.seq} outside the part's ${s.first_seq}..${s.last_seq}`,
        );
      }
      if (r.type === 'gap') {
        throw new RecordingError(
          key,
          'gap',
          `${r.dropped_market_events} market events and ${r.dropped_records} records were not recorded between ts_init ${r.first_ts_init} and ${r.last_ts_init} (recorder buffer full)`,
        );
      }
      if (r.type === 'session_started' && r.format_version !== RECORDING_FORMAT_VERSION) {
        throw new RecordingError(
          key,
          'incompatible_version',
          `run ${s.run} was recorded with format_version ${r.format_version}, this build reads ${RECORDING_FORMAT_VERSION}`,
        );
      }
      records.push({ ...r, run: s.run });
    }
  }
  for (const run of manifest.runs) {
    const first = records.find((r) => r.run === run.run);
    const hasParts = manifest.segments.some((s) => s.run === run.run);
    if (hasParts && (first === undefined || first.type !== 'session_started' || first.seq !== 0)) {
      throw new RecordingError(
        manifestKey(sessionId),
        'incomplete',
        `run ${run.run} does not start with its session_started record`,
      );
    }
  }

  const segments = manifest.segments;
  async function* market(): AsyncGenerator<SequencedMarketEvent[]> {
    for (const s of segments) {
      if (s.market === null) {
        yield [];
        continue;
      }
      const bytes = await getChecked(blobs, s.market);
      let events: SequencedMarketEvent[];
      try {
        events = await decodeMarketPart(bytes, s.market.key, s.run);
      } catch (err) {
        throw new RecordingError(s.market.key, 'corrupt', errorMessage(err));
      }
      for (const e of events) {
        if (e.seq < s.first_seq || e.seq > s.last_seq) {
          throw new RecordingError(
            s.market.key,
            'corrupt',
            `seq ${e.seq} outside the part's ${s.first_seq}..${s.last_seq}`,
          );
        }
      }
      yield events;
    }
  }
  return { blobs, manifest, records, market };
}

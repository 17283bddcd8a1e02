/**
 * The instrument catalog over the BlobStore: `instruments/<YYYY-MM-DD>.json`, the latest file on or
 * before today (UTC, from the Clock) applies (SPEC "Tick data"). Loaded on first use, cached, and
 * reloaded when the day changes or `refreshMs` has passed, so a new file is picked up without a
 * restart. With no file at all the fallback applies — `config/instruments.json`, the embedded
 * default (`defaultInstrumentCatalog`). A file that does not validate is an error naming the file
 * and the entry; once a good file was loaded, a later bad one keeps the good one in service.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { utcDayOf } from '../../shared/data/tick-layout.ts';
import { type InstrumentIndex, indexInstruments } from '../../shared/domain/instrument.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import {
  type InstrumentCatalog,
  lookup,
  StaticInstrumentCatalog,
  sortedSpecs,
} from '../../shared/ports/instrument-catalog.ts';
import { InstrumentsMissingError, loadInstrumentSpecs, parseInstrumentsFile } from '../ticks/instruments.ts';

/** `config/instruments.json` in this checkout. */
export const DEFAULT_INSTRUMENTS_PATH = fileURLToPath(
  new URL('../../config/instruments.json', import.meta.url),
);

/** Read and validate an instruments file from the local disk (the embedded default by default). */
export async function loadInstrumentsFile(
  path: string = DEFAULT_INSTRUMENTS_PATH,
): Promise<InstrumentSpec[]> {
  return parseInstrumentsFile(path, await readFile(path, 'utf8'));
}

/** The embedded default catalog: `config/instruments.json`. */
export async function defaultInstrumentCatalog(
  path: string = DEFAULT_INSTRUMENTS_PATH,
): Promise<StaticInstrumentCatalog> {
  return new StaticInstrumentCatalog(await loadInstrumentsFile(path), path);
}

export interface BlobInstrumentCatalogOptions {
  blobs: BlobStore;
  clock: Clock;
  /** Used when the store holds no instruments file on or before today (default: none = empty). */
  fallback?: { specs: readonly InstrumentSpec[]; source: string } | null | undefined;
  /** Reload at least this often (default 5 minutes). */
  refreshMs?: number | undefined;
}

interface Loaded {
  index: InstrumentIndex;
  source: string;
  day: string;
  at: Nanos;
}

export class BlobInstrumentCatalog implements InstrumentCatalog {
  private readonly blobs: BlobStore;
  private readonly clock: Clock;
  private readonly fallback: { index: InstrumentIndex; source: string } | null;
  private readonly refreshNs: Nanos;
  private loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;

  constructor(opts: BlobInstrumentCatalogOptions) {
    this.blobs = opts.blobs;
    this.clock = opts.clock;
    this.fallback =
      opts.fallback === null || opts.fallback === undefined
        ? null
        : { index: indexInstruments(opts.fallback.specs), source: opts.fallback.source };
    this.refreshNs = BigInt(Math.max(0, Math.trunc(opts.refreshMs ?? 300_000))) * NANOS_PER_MILLI;
  }

  async get(instrumentKey: string): Promise<InstrumentSpec | null> {
    return lookup((await this.current()).index, instrumentKey);
  }

  async list(): Promise<InstrumentSpec[]> {
    return sortedSpecs((await this.current()).index);
  }

  source(): string {
    return this.loaded?.source ?? 'not loaded yet';
  }

  /** Load now (e.g. at start-up, to fail fast on a bad file). */
  async refresh(): Promise<void> {
    await this.load(this.clock.now());
  }

  private async current(): Promise<Loaded> {
    const now = this.clock.now();
    const l = this.loaded;
    if (l !== null && l.day === utcDayOf(now) && now - l.at < this.refreshNs) return l;
    try {
      return await this.load(now);
    } catch (err) {
      // Keep serving the last good catalog of the same day; a new day must load its own file.
      if (l !== null && l.day === utcDayOf(now)) return l;
      throw err;
    }
  }

  private load(now: Nanos): Promise<Loaded> {
    if (this.loading !== null) return this.loading;
    const day = utcDayOf(now);
    const p = (async (): Promise<Loaded> => {
      let loaded: Loaded;
      try {
        const r = await loadInstrumentSpecs(this.blobs, day);
        loaded = { index: indexInstruments(r.specs), source: r.key, day, at: now };
      } catch (err) {
        if (!(err instanceof InstrumentsMissingError)) throw err;
        loaded =
          this.fallback === null
            ? {
                index: new Map(),
                source: `none (no instruments/<date>.json on or before ${day})`,
                day,
                at: now,
              }
            : { index: this.fallback.index, source: this.fallback.source, day, at: now };
      }
      this.loaded = loaded;
      return loaded;
    })();
    this.loading = p;
    p.finally(() => {
      if (this.loading === p) this.loading = null;
    }).catch(() => undefined);
    return p;
  }
}

/**
 * The catalog a process uses: the BlobStore's files, falling back to `config/instruments.json`
 * when the store has none (the embedded default).
 */
export async function createInstrumentCatalog(opts: {
  blobs: BlobStore;
  clock: Clock;
  defaultsPath?: string | undefined;
  refreshMs?: number | undefined;
}): Promise<BlobInstrumentCatalog> {
  const path = opts.defaultsPath ?? DEFAULT_INSTRUMENTS_PATH;
  const specs = await loadInstrumentsFile(path);
  return new BlobInstrumentCatalog({
    blobs: opts.blobs,
    clock: opts.clock,
    fallback: { specs, source: path },
    refreshMs: opts.refreshMs,
  });
}

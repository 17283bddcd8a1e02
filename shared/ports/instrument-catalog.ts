/**
 * Instrument specifications by canonical instrument id (tick, step, min/max quantity, min notional,
 * fees). In the cloud they come from `instruments/<YYYY-MM-DD>.json` in the bucket (the latest file
 * on or before today, SPEC "Tick data"); embedded runs fall back to `config/instruments.json`.
 */
import { findInstrument, type InstrumentIndex, indexInstruments } from '../domain/instrument.ts';
import { isInstrumentId } from '../domain/instrument-id.ts';
import type { InstrumentSpec } from '../domain/types.ts';

export interface InstrumentCatalog {
  /** The spec of an instrument in either spelling of its id; null when unknown or not an id. */
  get(instrumentKey: string): Promise<InstrumentSpec | null>;
  /** Every spec, sorted by instrument key. */
  list(): Promise<InstrumentSpec[]>;
  /** Where the specs came from (e.g. `instruments/2025-07-01.json`), for messages and health. */
  source(): string;
}

/** A fixed set of specs (tests, backtests, the embedded default). */
export class StaticInstrumentCatalog implements InstrumentCatalog {
  private readonly index: InstrumentIndex;
  private readonly from: string;

  constructor(specs: readonly InstrumentSpec[], source = 'static') {
    this.index = indexInstruments(specs);
    this.from = source;
  }

  async get(instrumentKey: string): Promise<InstrumentSpec | null> {
    return lookup(this.index, instrumentKey);
  }

  async list(): Promise<InstrumentSpec[]> {
    return sortedSpecs(this.index);
  }

  source(): string {
    return this.from;
  }
}

/** Look a key up in an index; null for an unknown or malformed id (never throws). */
export function lookup(index: InstrumentIndex, instrumentKey: string): InstrumentSpec | null {
  if (typeof instrumentKey !== 'string' || !isInstrumentId(instrumentKey)) return null;
  return findInstrument(index, instrumentKey) ?? null;
}

export function sortedSpecs(index: InstrumentIndex): InstrumentSpec[] {
  return [...index.values()].sort((a, b) =>
    a.instrument_key < b.instrument_key ? -1 : a.instrument_key > b.instrument_key ? 1 : 0,
  );
}

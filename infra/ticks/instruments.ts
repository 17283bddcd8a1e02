/**
 * Instrument definitions next to the tick data: `instruments/<YYYY-MM-DD>.json`, the latest file on
 * or before a day applies (SPEC "Tick data").
 */
import { dayOfInstrumentsKey, INSTRUMENTS_ROOT, instrumentsFileKey } from '../../shared/data/tick-layout.ts';
import { fromZodIssues, ValidationError } from '../../shared/domain/errors.ts';
import { InstrumentFileSchema, selectInstrumentFile } from '../../shared/domain/instrument.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';

/** No instruments file applies on the day asked for. */
export class InstrumentsMissingError extends Error {
  constructor(readonly day: string) {
    super(`no ${INSTRUMENTS_ROOT}/<date>.json on or before ${day}`);
    this.name = 'InstrumentsMissingError';
  }
}

/** Parse and validate the text of an instruments file; errors name the file and the entry. */
export function parseInstrumentsFile(key: string, text: string): InstrumentSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('INVALID_INSTRUMENTS_FILE', [
      { path: key, message: `not JSON: ${err instanceof Error ? err.message : String(err)}` },
    ]);
  }
  const r = InstrumentFileSchema.safeParse(json);
  if (!r.success) {
    throw new ValidationError(
      'INVALID_INSTRUMENTS_FILE',
      fromZodIssues(r.error.issues).map((i) => ({
        path: i.path ? `${key}${i.path.startsWith('[') ? '' : '.'}${i.path}` : key,
        message: i.message,
      })),
    );
  }
  return r.data;
}

/** The instrument specs that apply on `day` and the file they came from. */
export async function loadInstrumentSpecs(
  blobs: BlobStore,
  day: string,
): Promise<{ key: string; day: string; specs: InstrumentSpec[] }> {
  const listed = await blobs.list(`${INSTRUMENTS_ROOT}/`);
  const days = listed.map((b) => dayOfInstrumentsKey(b.key)).filter((d): d is string => d !== null);
  const chosen = selectInstrumentFile(days, day);
  if (chosen === null) throw new InstrumentsMissingError(day);
  const key = instrumentsFileKey(chosen);
  const text = new TextDecoder().decode(await blobs.get(key));
  return { key, day: chosen, specs: parseInstrumentsFile(key, text) };
}

/**
 * Instrument spec reconciliation (pure): our instrument definitions (the catalog the risk engine
 * and the algorithms round with) against the trading rules the venue publishes, compared as exact
 * decimals ("0.01" equals "0.010"; "0.01" differs from "0.001").
 *
 * Severity says whether the difference can get an order refused:
 * - `error`: the venue is stricter than we are — a tick / step of ours that is not a whole multiple
 *   of the venue's, a venue min qty or min notional above ours, a venue max qty below ours, or an
 *   instrument the venue does not list. Orders that pass our checks may be rejected there.
 * - `warning`: we are stricter than the venue (coarser tick or step, higher minimums): orders stay
 *   valid, but the catalog is out of date.
 * - A different contract size is always an `error`: every quantity would be worth a different
 *   amount there (ours absent = 1; the venue's absent or null = not published, not compared).
 * A rule the venue does not publish (null) is not compared.
 */
import type { DecimalString } from '../domain/decimal.ts';
import { toDec } from '../domain/decimal.ts';
import { contractSizeOf, isMultipleOf } from '../domain/instrument.ts';
import type { InstrumentSpec } from '../domain/types.ts';
import type { VenueInstrumentRules } from '../ports/venue.ts';
import { canonicalKey } from './diff.ts';

export const SPEC_FIELDS = [
  'tick_size',
  'step_size',
  'min_qty',
  'max_qty',
  'min_notional',
  'contract_size',
  'listed',
] as const;
export type SpecField = (typeof SPEC_FIELDS)[number];

export interface SpecDifference {
  instrument_key: string;
  field: SpecField;
  /** Our value and the venue's (`listed`: "true" / null). */
  ours: DecimalString | null;
  venue: DecimalString | null;
  severity: 'error' | 'warning';
  message: string;
}

type ComparedField = Exclude<SpecField, 'listed' | 'contract_size'>;

/** Compare our specs with the venue's rules; instruments the venue lists and we do not are ignored. */
export function checkInstrumentSpecs(
  ours: readonly InstrumentSpec[],
  venue: readonly VenueInstrumentRules[],
): SpecDifference[] {
  const rules = new Map<string, VenueInstrumentRules>();
  for (const r of venue) rules.set(canonicalKey(r.instrument_key), r);
  const out: SpecDifference[] = [];
  for (const spec of ours) {
    const key = canonicalKey(spec.instrument_key);
    const r = rules.get(key);
    if (r === undefined) {
      out.push({
        instrument_key: spec.instrument_key,
        field: 'listed',
        ours: 'true',
        venue: null,
        severity: 'error',
        message: `${spec.instrument_key} is in our catalog but the venue does not list it`,
      });
      continue;
    }
    for (const field of ['tick_size', 'step_size', 'min_qty', 'max_qty', 'min_notional'] as const) {
      const d = compareField(spec, r, field);
      if (d !== null) out.push(d);
    }
    const cs = contractSizeDifference(spec, r);
    if (cs !== null) out.push(cs);
  }
  return out;
}

function contractSizeDifference(spec: InstrumentSpec, r: VenueInstrumentRules): SpecDifference | null {
  const theirs = r.contract_size;
  if (theirs === null || theirs === undefined) return null;
  const mine = contractSizeOf(spec);
  if (toDec(mine).eq(toDec(theirs))) return null;
  return {
    instrument_key: spec.instrument_key,
    field: 'contract_size',
    ours: mine,
    venue: theirs,
    severity: 'error',
    message: `${spec.instrument_key}: contract size is ${mine} in our catalog, ${theirs} at the venue (every quantity is valued wrongly)`,
  };
}

function compareField(
  spec: InstrumentSpec,
  r: VenueInstrumentRules,
  field: ComparedField,
): SpecDifference | null {
  const theirs = r[field];
  if (theirs === null) return null;
  const mine = spec[field];
  const a = toDec(mine);
  const b = toDec(theirs);
  if (a.eq(b)) return null;
  let error: boolean;
  switch (field) {
    case 'tick_size':
    case 'step_size':
      // Ours must be a whole multiple of the venue's for our rounded values to be valid there.
      error = !(b.gt(0) && isMultipleOf(a, b));
      break;
    case 'min_qty':
    case 'min_notional':
      error = b.gt(a);
      break;
    case 'max_qty':
      error = b.lt(a);
      break;
  }
  const what = field.replace('_', ' ');
  return {
    instrument_key: spec.instrument_key,
    field,
    ours: mine,
    venue: theirs,
    severity: error ? 'error' : 'warning',
    message: `${spec.instrument_key}: ${what} is ${mine} in our catalog, ${theirs} at the venue${
      error ? ' (orders that pass our checks may be rejected)' : ' (ours is stricter)'
    }`,
  };
}

/**
 * The instrument spec check at start (shell): our catalog's definitions of the venue's instruments
 * against the trading rules the venue publishes (shared/recon/specs.ts). Each difference is logged
 * (warning), recorded in the ReconciliationLog and published on `exec.orders` as a reconciler
 * `reconciliation` message with `kind: "spec_mismatch"`. Recorded once while it lasts; resolved
 * when a later check no longer finds it. A venue that cannot be queried is reported DEGRADED; the
 * check never blocks the start.
 */
import type { ExecutionLog } from '../../../shared/app/execution-recorder.ts';
import { ORDER_UPDATES_TOPIC } from '../../../shared/app/messages.ts';
import { parseInstrumentId } from '../../../shared/domain/instrument-id.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import type { EventBus } from '../../../shared/ports/event-bus.ts';
import type { Venue } from '../../../shared/ports/venue.ts';
import { differenceAttributes, differenceMessage } from '../../../shared/recon/messages.ts';
import { checkInstrumentSpecs, type SpecDifference } from '../../../shared/recon/specs.ts';
import type { ReconciliationLog, ReconciliationLogEntry } from './log.ts';

export interface SpecCheckDeps {
  venue: Pick<Venue, 'id' | 'fetchInstrumentRules'>;
  /** Our definitions; those of other venues are skipped. */
  instruments: readonly InstrumentSpec[];
  bus: Pick<EventBus, 'publish'>;
  clock: Clock;
  log: ExecutionLog;
  journal: ReconciliationLog;
}

export interface SpecCheckReport {
  venue: string;
  status: 'OK' | 'DIFFERENCES' | 'DEGRADED';
  checked: number;
  differences: SpecDifference[];
  error: string | null;
}

/** The venue's instruments among ours: those whose VENUE part is the venue id. */
export function venueInstruments(venue: string, instruments: readonly InstrumentSpec[]): InstrumentSpec[] {
  return instruments.filter((s) => {
    const p = parseInstrumentId(s.instrument_key);
    return p.success && p.data.venue === venue;
  });
}

export async function reportInstrumentSpecs(d: SpecCheckDeps): Promise<SpecCheckReport> {
  const venue = d.venue.id;
  const ours = venueInstruments(venue, d.instruments);
  if (ours.length === 0) return { venue, status: 'OK', checked: 0, differences: [], error: null };
  let rules: Awaited<ReturnType<Venue['fetchInstrumentRules']>>;
  try {
    rules = await d.venue.fetchInstrumentRules(ours.map((s) => s.instrument_key));
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    d.log.warn(`instrument spec check of ${venue}: the venue cannot be queried (DEGRADED): ${error}`, {
      venue,
    });
    return { venue, status: 'DEGRADED', checked: 0, differences: [], error };
  }
  const differences = checkInstrumentSpecs(ours, rules);
  const now = d.clock.now();
  const runId = `${venue}-specs-${now}`;
  const open = await d.journal.open(venue);
  const entries: ReconciliationLogEntry[] = [];
  const seen = new Set<string>();
  for (const s of differences) {
    const key = `spec_mismatch|${s.instrument_key}|${s.field}`;
    seen.add(key);
    const fingerprint = `${s.ours ?? ''}|${s.venue ?? ''}`;
    d.log.warn(`instrument spec difference at ${venue}: ${s.message}`, {
      venue,
      instrument_key: s.instrument_key,
      field: s.field,
      ours: s.ours,
      venue_value: s.venue,
      severity: s.severity,
    });
    if (open.get(key)?.fingerprint === fingerprint) continue;
    entries.push({
      venue,
      run_id: runId,
      kind: 'spec_mismatch',
      key,
      state: 'found',
      open: true,
      fingerprint,
      operation_id: null,
      instrument_key: s.instrument_key,
      ours: s.ours,
      theirs: s.venue,
      message: s.message,
      detail: { field: s.field, severity: s.severity },
      correction: null,
      ts_event: now,
    });
  }
  for (const [key, prev] of open) {
    if (prev.kind !== 'spec_mismatch' || seen.has(key)) continue;
    // Only instruments checked now can be resolved.
    if (!ours.some((s) => s.instrument_key === prev.instrument_key)) continue;
    entries.push({ ...prev, run_id: runId, state: 'resolved', open: false, ts_event: now });
  }
  await d.journal.append(entries);
  for (const e of entries) {
    const m = differenceMessage({ ...e, client_order_id: null }, runId, e.state, null, now);
    await d.bus.publish(ORDER_UPDATES_TOPIC, m, differenceAttributes(m));
  }
  if (differences.length === 0)
    d.log.info(`instrument specs of ${venue} match the venue (${ours.length} checked)`, { venue });
  return {
    venue,
    status: differences.length === 0 ? 'OK' : 'DIFFERENCES',
    checked: ours.length,
    differences,
    error: null,
  };
}

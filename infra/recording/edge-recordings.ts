/**
 * The venue edge's recordings (docs/recording.md): one Recorder per recorded venue session —
 * SHADOW and SIMULATED venues when `recording.shadow` (default on), LIVE venues when
 * `recording.live` (default off) — under `recording.location` or the platform's blob store. The session id is the venue id
 * and the UTC day (`binance-spot-2025-07-01`), so a restart the same day appends a run to the same
 * session. A recorder that cannot open is logged and the venue trades unrecorded.
 */
import type { ExecutionLog } from '../../shared/app/execution-recorder.ts';
import { redactConfig } from '../../shared/config/redact.ts';
import type { AppConfig, VenueConfig } from '../../shared/config/schema.ts';
import { utcDayOf } from '../../shared/data/tick-layout.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { riskLimitsFromConfig } from '../../shared/risk/config.ts';
import { openBlobLocation } from '../ticks/blob-location.ts';
import { Recorder } from './recorder.ts';

export interface EdgeRecordingsOptions {
  config: AppConfig;
  venues: readonly VenueConfig[];
  specsOf: ReadonlyMap<string, readonly InstrumentSpec[]>;
  /** The platform's blob store (used when `recording.location` is not set). */
  blobs: BlobStore | undefined;
  clock: Clock;
  /** The seed of the edge's algorithms. */
  seed: number;
  log?: ExecutionLog | undefined;
}

export interface EdgeRecordings {
  readonly sinks: ReadonlyMap<string, Recorder>;
  /** Close every run (last flush, tick files). */
  close(): Promise<void>;
}

/**
 * Whether a venue's sessions are recorded under this configuration: LIVE venues by `recording.live`;
 * SHADOW venues — and SIMULATED ones, which run behind the edge as shadows of the synthetic
 * market — by `recording.shadow`.
 */
export function recordsVenue(config: Pick<AppConfig, 'recording'>, vc: Pick<VenueConfig, 'mode'>): boolean {
  return vc.mode === 'LIVE' ? config.recording.live : config.recording.shadow;
}

export async function openEdgeRecordings(o: EdgeRecordingsOptions): Promise<EdgeRecordings> {
  const sinks = new Map<string, Recorder>();
  const wanted = o.venues.filter((v) => recordsVenue(o.config, v));
  if (wanted.length === 0) return { sinks, close: async () => {} };
  const blobs =
    o.config.recording.location !== undefined ? await openBlobLocation(o.config.recording.location) : o.blobs;
  if (blobs === undefined) {
    o.log?.warn('recording is on but there is no blob store to write to: sessions are not recorded', {});
    return { sinks, close: async () => {} };
  }
  const now = o.clock.now();
  const redacted = redactConfig(o.config) as unknown as Record<string, unknown>;
  for (const vc of wanted) {
    try {
      const rec = await Recorder.open(
        {
          blobs,
          session_id: `${vc.id.toLowerCase()}-${utcDayOf(now)}`,
          mode: vc.mode === 'LIVE' ? 'LIVE' : 'SHADOW',
          venues: [vc.id],
          seed: o.seed,
          // The replay reads the risk limits in the engine's shape next to the configuration.
          config: { ...redacted, risk_limits: riskLimitsFromConfig(o.config.risk) },
          instruments: o.specsOf.get(vc.id) ?? [],
          starting_cash: vc.shadow.starting_cash,
          flush_interval_ms: o.config.recording.flush_interval_ms,
          max_buffered_events: o.config.recording.max_buffered_events,
          onError: (err, context) =>
            o.log?.warn(
              `recording of ${vc.id} (${context}): ${err instanceof Error ? err.message : String(err)}`,
              {
                venue: vc.id,
              },
            ),
        },
        now,
      );
      sinks.set(vc.id, rec);
      o.log?.info(`recording ${vc.id} as session ${rec.sessionId} run ${rec.run}`, { venue: vc.id });
    } catch (err) {
      o.log?.warn(
        `recording of ${vc.id} could not start (the venue trades unrecorded): ${err instanceof Error ? err.message : String(err)}`,
        { venue: vc.id },
      );
    }
  }
  return {
    sinks,
    async close() {
      for (const [id, rec] of sinks) {
        try {
          await rec.close(o.clock.now());
        } catch (err) {
          o.log?.warn(
            `recording of ${id} did not close cleanly: ${err instanceof Error ? err.message : String(err)}`,
            {
              venue: id,
            },
          );
        }
      }
    },
  };
}

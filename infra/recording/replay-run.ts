/**
 * One replay, end to end (what `npm run replay` does): open and validate the recording, replay it
 * through the backtest shell, compare, and write the five result files of SPEC (`orders.parquet`,
 * `fills.parquet`, `positions.parquet`, `equity_curve.parquet`, `summary.json`) plus `parity.json`
 * into the output location — `summary.json` last, so a reader that sees it sees a complete replay.
 * Nothing is written when the recording is refused.
 */

import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { compareReplay, type ParityReport, type ParityTolerances } from '../../shared/recording/parity.ts';
import {
  encodeEquity,
  encodeFills,
  encodeOrders,
  encodePositions,
  summaryText,
} from '../backtest/results.ts';
import { openRecording } from './reader.ts';
import { replayRecording } from './replay.ts';

const PARQUET = 'application/vnd.apache.parquet';
export const REPLAY_RESULT_FILES = [
  'orders.parquet',
  'fills.parquet',
  'positions.parquet',
  'equity_curve.parquet',
  'parity.json',
  'summary.json',
] as const;

export interface ReplayRunOptions {
  recording: BlobStore;
  out: BlobStore;
  session_id?: string | undefined;
  tolerances: ParityTolerances;
  /** Wall clock for `wall_seconds` (injected so results stay testable). */
  nowMs?: (() => number) | undefined;
}

export interface ReplayRunResult {
  report: ParityReport;
  summary: Record<string, unknown>;
  keys: string[];
  market_events: number;
  wall_seconds: number;
}

export async function runReplay(opts: ReplayRunOptions): Promise<ReplayRunResult> {
  const now = opts.nowMs ?? (() => performance.now());
  const t0 = now();
  const rec = await openRecording(opts.recording, { session_id: opts.session_id });
  const outcome = await replayRecording(rec);
  const sessionId = rec.manifest.session_id;
  const runId = `replay-${sessionId}`;
  const { report, replayed } = compareReplay(
    {
      session_id: sessionId,
      mode: rec.manifest.mode,
      recorded: outcome.recorded,
      replayed: outcome.replayed,
      tolerances: opts.tolerances,
    },
    runId,
  );
  const wall = (now() - t0) / 1000;
  const summary: Record<string, unknown> = {
    ...replayed.summary,
    replay: {
      session_id: sessionId,
      mode: rec.manifest.mode,
      runs: rec.manifest.runs.length,
      market_events: outcome.market_events,
      parents: outcome.parents,
      verdict: report.verdict,
      mismatches: report.totals.mismatches,
      replay_warnings: outcome.warnings,
    },
    wall_seconds: Math.round(wall * 1000) / 1000,
  };
  const t = replayed.tables;
  const files: Array<[string, Uint8Array | string, string]> = [
    ['orders.parquet', encodeOrders(t.orders), PARQUET],
    ['fills.parquet', encodeFills(t.fills), PARQUET],
    ['positions.parquet', encodePositions(t.positions), PARQUET],
    ['equity_curve.parquet', encodeEquity(t.equity), PARQUET],
    ['parity.json', `${JSON.stringify(report, null, 2)}\n`, 'application/json'],
  ];
  await opts.out.delete('summary.json');
  const keys: string[] = [];
  for (const [key, data, contentType] of files) {
    await opts.out.put(key, data, { contentType });
    keys.push(key);
  }
  await opts.out.put('summary.json', summaryText(summary), { contentType: 'application/json' });
  keys.push('summary.json');
  return { report, summary, keys, market_events: outcome.market_events, wall_seconds: wall };
}

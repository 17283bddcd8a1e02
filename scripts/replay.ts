/**
 * Replay a recorded session through the backtester and compare (docs/recording.md):
 *
 *   npm run replay -- --recording <dir|gs://bucket/prefix> --out <dir|gs://bucket/prefix>
 *     [--session ID] [--config FILE] [--pnl-pct X] [--is-bps X] [--slippage-bps X] [--quiet]
 *
 * Writes orders.parquet, fills.parquet, positions.parquet, equity_curve.parquet, parity.json and
 * summary.json into `--out`, and prints a summary table. Exit code: 0 when a SHADOW recording
 * replays identically (0 mismatches) or a LIVE recording's differences are within the tolerances
 * (configuration `recording.parity`, or the flags); 1 otherwise, and when the recording is refused
 * (truncated, missing file, incompatible version: the error names the file); 2 for bad arguments.
 */
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../infra/config/load-config.ts';
import { RecordingError } from '../infra/recording/reader.ts';
import { type ReplayRunResult, runReplay } from '../infra/recording/replay-run.ts';
import { openBlobLocation } from '../infra/ticks/blob-location.ts';
import { formatParityTable } from '../shared/recording/parity.ts';

function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

interface CliOptions {
  recording: string;
  out: string;
  session?: string;
  config?: string;
  pnlPct?: number;
  isBps?: number;
  slippageBps?: number;
  quiet: boolean;
}

export async function main(argv: readonly string[] = process.argv): Promise<ReplayRunResult | null> {
  const o = new Command()
    .name('replay')
    .description('Replay a recorded SHADOW or LIVE session through the backtester and report parity')
    .requiredOption('--recording <dir>', 'recording root: local folder or gs://bucket/prefix')
    .requiredOption('--out <dir>', 'where the results and parity.json go: local folder or gs://bucket/prefix')
    .option('--session <id>', 'session under recordings/ (needed when there are several)')
    .option('--config <file>', 'configuration file for recording.parity (default EXEC_CONFIG or embedded)')
    .option('--pnl-pct <x>', 'tolerance: |PnL difference| in % of traded notional', nonNegative('--pnl-pct'))
    .option('--is-bps <x>', 'tolerance: implementation-shortfall difference in bps', nonNegative('--is-bps'))
    .option('--slippage-bps <x>', 'tolerance: slippage difference in bps', nonNegative('--slippage-bps'))
    .option('--quiet', 'no table', false)
    .parse(argv)
    .opts<CliOptions>();
  const cfg = loadConfig({ path: o.config });
  const tolerances = {
    pnl_pct: o.pnlPct ?? cfg.recording.parity.pnl_pct,
    implementation_shortfall_bps: o.isBps ?? cfg.recording.parity.implementation_shortfall_bps,
    slippage_bps: o.slippageBps ?? cfg.recording.parity.slippage_bps,
  };
  const recording = await openBlobLocation(o.recording, { durable: false });
  const out = await openBlobLocation(o.out);
  let result: ReplayRunResult;
  try {
    result = await runReplay({ recording, out, session_id: o.session, tolerances });
  } catch (err) {
    if (err instanceof RecordingError) {
      console.error(`recording refused: ${err.message}`);
      process.exitCode = 1;
      return null;
    }
    throw err;
  }
  if (!o.quiet) {
    console.log(formatParityTable(result.report));
    console.log(
      `replayed ${result.market_events.toLocaleString('en-US')} market events in ${result.wall_seconds.toFixed(2)} s`,
    );
    console.log(`results: ${o.out.replace(/\/+$/, '')}/ (${result.keys.join(', ')})`);
  }
  process.exitCode = result.report.exit_code;
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}

/**
 * Run a signal-driven backtest locally (docs/backtesting.md):
 *
 *   npm run backtest -- --signals FILE --data DIR --out DIR [--workers N] [--run-id ID]
 *     [--window-minutes 5] [--seed 42] [--starting-cash 100000] [--config FILE] [--inline] [--quiet]
 *
 * `--data` and `--out` take a local folder or `gs://bucket/prefix`; `--signals` a local file or a
 * `gs://bucket/path/file.jsonl`. Results go to `<out>/backtest_results/<run_id>/`. Exit code 0 when
 * the run completed, 1 when it failed (summary.failed.json says why), 2 for bad arguments.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { resultKey, SUMMARY_FILE } from '../infra/backtest/keys.ts';
import { type LocalRunResult, runLocalBacktest } from '../infra/backtest/runner.ts';
import { loadConfig } from '../infra/config/load-config.ts';
import { openBlobLocation, parseBlobLocation } from '../infra/ticks/blob-location.ts';
import { type BacktestSettings, DEFAULT_BACKTEST_SETTINGS, RunIdSchema } from '../shared/backtest/model.ts';
import { checkDecimal } from '../shared/domain/schemas.ts';
import { riskLimitsFromConfig } from '../shared/risk/config.ts';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/** Read a local file or a `gs://bucket/path` object. */
export async function readLocation(location: string): Promise<Uint8Array> {
  const loc = parseBlobLocation(location);
  if (loc.kind === 'local') return new Uint8Array(await readFile(loc.path));
  const slash = loc.prefix.lastIndexOf('/');
  const dir = `gs://${loc.bucket}${slash > 0 ? `/${loc.prefix.slice(0, slash)}` : ''}`;
  const store = await openBlobLocation(dir);
  return store.get(loc.prefix.slice(slash + 1));
}

function fmtNum(x: unknown, digits = 2): string {
  if (typeof x !== 'number') return x === null || x === undefined ? '—' : String(x);
  return Number.isInteger(x)
    ? x.toLocaleString('en-US')
    : x.toLocaleString('en-US', { maximumFractionDigits: digits });
}

function mb(x: unknown): string {
  return typeof x === 'number' ? `${(x / 1e6).toFixed(2)} MB` : '—';
}

/** The summary as a two-column table. */
export function summaryTable(s: Record<string, unknown>): string {
  const signals = (s.signals ?? {}) as Record<string, unknown>;
  const windows = (s.windows ?? {}) as Record<string, unknown>;
  const rows: Array<[string, string]> = [
    ['run_id', String(s.run_id)],
    [
      'period',
      s.period ? `${(s.period as { start: string }).start} → ${(s.period as { end: string }).end}` : '—',
    ],
    [
      'signals / windows',
      `${fmtNum(signals.total)} / ${fmtNum(windows.total)} (${fmtNum(signals.unchanged_skipped)} unchanged)`,
    ],
    [
      'orders (parents + children)',
      `${fmtNum(s.orders)} (${fmtNum(s.parent_orders)} + ${fmtNum(s.child_orders)})`,
    ],
    ['risk denials', fmtNum(s.risk_denials)],
    ['fills', fmtNum(s.fills)],
    ['fill ratio', fmtNum(s.fill_ratio, 4)],
    ['pnl (net of fees)', fmtNum(s.pnl)],
    ['fees', fmtNum(s.fees)],
    ['final equity', fmtNum(s.final_equity)],
    ['sharpe (1-min, annualised)', fmtNum(s.sharpe, 3)],
    ['max drawdown', typeof s.max_drawdown === 'number' ? `${(s.max_drawdown * 100).toFixed(3)} %` : '—'],
    ['turnover', fmtNum(s.turnover, 4)],
    ['implementation shortfall', `${fmtNum(s.implementation_shortfall_bps, 3)} bps`],
    ['slippage vs mid', `${fmtNum(s.slippage_bps, 3)} bps`],
    ['bytes read / total', `${mb(s.bytes_read)} / ${mb(s.bytes_total)}`],
    ['wall time', `${fmtNum(s.wall_seconds)} s`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export interface CliOptions {
  signals: string;
  data: string;
  out: string;
  workers?: number;
  runId?: string;
  windowMinutes?: number;
  seed?: number;
  startingCash?: string;
  config?: string;
  inline: boolean;
  quiet: boolean;
}

export async function main(argv: readonly string[] = process.argv): Promise<LocalRunResult> {
  const program = new Command()
    .name('backtest')
    .description(
      'Run a signal-driven backtest: one window per change of target, fanned out on worker threads',
    )
    .requiredOption('--signals <file>', 'signals, JSON Lines (local file or gs://bucket/path)')
    .requiredOption('--data <dir>', 'tick data root: local folder or gs://bucket/prefix')
    .requiredOption('--out <dir>', 'results root (backtest_results/<run_id>/ goes under it): folder or gs://')
    .option(
      '--workers <n>',
      'worker threads (default: config backtest.workers = cores)',
      positiveInt('--workers'),
    )
    .option('--run-id <id>', 'run id (default: bt- + a hash of the inputs)', (v) => {
      const r = RunIdSchema.safeParse(v);
      if (!r.success) throw new InvalidArgumentError(r.error.issues[0]?.message ?? 'invalid run id');
      return v;
    })
    .option('--window-minutes <n>', 'window length in minutes (default 5)', positiveInt('--window-minutes'))
    .option('--seed <n>', 'run seed (default 42)', nonNegativeInt('--seed'))
    .option('--starting-cash <x>', 'starting cash in the quote currency (default 100000)', (v) => {
      const r = checkDecimal(v, 'positive');
      if (!r.ok) throw new InvalidArgumentError(`--starting-cash ${r.message}`);
      return r.value;
    })
    .option(
      '--config <file>',
      'configuration file (risk limits, backtest defaults); default EXEC_CONFIG or embedded',
    )
    .option('--inline', 'run the windows in this thread instead of worker threads', false)
    .option('--quiet', 'no progress bar and no table', false)
    .parse(argv);
  const o = program.opts<CliOptions>();

  const cfg = loadConfig({ path: o.config });
  const settings: BacktestSettings = {
    ...DEFAULT_BACKTEST_SETTINGS,
    window_minutes: o.windowMinutes ?? cfg.backtest.window_minutes,
    seed: o.seed ?? cfg.backtest.seed,
    starting_cash: o.startingCash ?? DEFAULT_BACKTEST_SETTINGS.starting_cash,
    trading_state: cfg.risk.initial_trading_state,
  };
  const limits = riskLimitsFromConfig(cfg.risk);
  const signalsBytes = await readLocation(o.signals);
  const data = await openBlobLocation(o.data, { durable: false });
  const results = await openBlobLocation(o.out);

  const bar = o.quiet
    ? null
    : new cliProgress.SingleBar(
        {
          format: 'backtest [{bar}] {value}/{total} windows | {window} | {eta_formatted} left',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
  const result = await runLocalBacktest({
    signals: { text: new TextDecoder().decode(signalsBytes), source: path.basename(o.signals) },
    data,
    dataLocation: o.data,
    results,
    resultsLocation: o.out,
    runId: o.runId,
    settings,
    limits,
    workers: o.workers ?? cfg.backtest.workers,
    inline: o.inline,
    onPlanned: (m) => bar?.start(m.windows.length, 0, { window: '' }),
    onWindow: (done, _total, id, ok) => bar?.update(done, { window: `${id}${ok ? '' : ' FAILED'}` }),
  });
  bar?.stop();
  if (result.status === 'completed') {
    if (!o.quiet) {
      console.log(summaryTable(result.summary));
      console.log(
        `results: ${o.out.replace(/\/+$/, '')}/${resultKey(result.run_id, SUMMARY_FILE).replace(/summary\.json$/, '')}`,
      );
    }
  } else {
    console.error(`backtest ${result.run_id} FAILED (${result.key}):`);
    for (const e of result.failure.errors.slice(0, 50)) console.error(`  - ${e.message}`);
    if (result.failure.errors.length > 50) console.error(`  … and ${result.failure.errors.length - 50} more`);
    process.exitCode = 1;
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}

/**
 * Plan a rebalance from files (docs/rebalancing.md):
 *
 *   npm run rebalance -- plan --weights W.json --holdings H.json --prices P.json
 *     [--instruments I.json] [--cash-buffer 0.02] [--min-trade-weight 0] [--quote USDT] [--json]
 *
 *   npm run rebalance -- backtest --weights <folder|file|gs://…> --data <dir|gs://…> --out <dir|gs://…>
 *     [--run-id ID] [--starting-cash 100000] [--slippage-bps 5] [--max-divergence 0.001] [--config FILE]
 *     [--ticks [--window-minutes 5] [--seed 42]]
 *
 * `plan` prints the plan as a table, or with `--json` as `{equity, ..., orders: [{instrument_key, side,
 * quantity, ...}], skipped: [{instrument_key, reason, ...}]}`. Without `--instruments` the embedded
 * instrument definitions (config/instruments.json) apply. Exit code 0 with a plan, 1 when a file is
 * invalid or the plan cannot be made (every problem printed with its file and field), 2 for bad
 * arguments. `backtest` runs the weights series over daily bars (with `--ticks`: each order through
 * the execution algorithm and the matching engine on tick data where it exists) and writes the five result files
 * (docs/rebalancing.md); exit 1 when the annualized return divergence from the vectorized reference
 * is beyond `--max-divergence` or the run cannot be made.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../infra/config/load-config.ts';
import { DEFAULT_INSTRUMENTS_PATH, loadInstrumentsFile } from '../infra/instruments/catalog.ts';
import { RebalanceBacktestInputError, runRebalanceBacktestJob } from '../infra/rebalance/backtest-run.ts';
import { openBlobLocation, parseBlobLocation } from '../infra/ticks/blob-location.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../shared/backtest/model.ts';
import type { Result } from '../shared/domain/errors.ts';
import { ValidationError } from '../shared/domain/errors.ts';
import { indexInstruments } from '../shared/domain/instrument.ts';
import { checkDecimal } from '../shared/domain/schemas.ts';
import { DEFAULT_REBALANCE, settingsFor } from '../shared/rebalance/instructions.ts';
import { planRebalance, type RebalancePlan } from '../shared/rebalance/plan.ts';
import {
  INVALID_HOLDINGS,
  INVALID_PRICES,
  parseHoldings,
  parseJsonThen,
  parsePrices,
  parseWeightsText,
} from '../shared/rebalance/weights.ts';
import { riskLimitsFromConfig } from '../shared/risk/config.ts';

function fraction(name: string) {
  return (v: string): string => {
    const r = checkDecimal(v, 'nonnegative');
    if (!r.ok) throw new InvalidArgumentError(`${name} ${r.message}`);
    if (Number(r.value) >= 1) throw new InvalidArgumentError(`${name} must be less than 1`);
    return r.value;
  };
}

class InputError extends Error {}

async function readInput<T>(file: string, parse: (text: string) => Result<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = parse(text);
  if (r.success) return r.data;
  throw new InputError(
    r.error.issues.map((i) => `${file}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'),
  );
}

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The plan as text: totals, the orders, the instruments left alone with their reasons. */
export function planTable(plan: RebalancePlan): string {
  const lines = [
    `equity ${plan.equity} ${plan.quote_currency}   investable ${plan.investable}   cash ${plan.cash_before} → ${plan.cash_after}   fees ${plan.fees}   buy scale ${plan.buy_scale}`,
    '',
  ];
  if (plan.orders.length === 0) lines.push('no orders');
  else {
    lines.push(
      pad([
        ['side', 'quantity', 'instrument', 'price', 'notional', 'current', 'target', 'weight'],
        ...plan.orders.map((o) => [
          o.side,
          o.quantity,
          o.instrument_key,
          o.price,
          o.notional,
          o.current_qty,
          o.target_qty,
          `${o.target_weight}${o.scaled ? ' (scaled)' : ''}`,
        ]),
      ]),
    );
  }
  if (plan.skipped.length > 0) {
    lines.push('', 'left alone:');
    lines.push(pad(plan.skipped.map((s) => [`  ${s.instrument_key}`, s.reason, s.message])));
  }
  const other = Object.entries(plan.other_cash);
  if (other.length > 0) {
    lines.push(
      '',
      `cash in other currencies (not in equity): ${other.map(([c, v]) => `${v} ${c}`).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

interface PlanOptions {
  weights: string;
  holdings: string;
  prices: string;
  instruments?: string;
  cashBuffer?: string;
  minTradeWeight?: string;
  quote?: string;
  json?: boolean;
}

async function runPlan(opts: PlanOptions): Promise<number> {
  const weights = await readInput(opts.weights, parseWeightsText);
  const holdings = await readInput(opts.holdings, (t) => parseJsonThen(t, INVALID_HOLDINGS, parseHoldings));
  const prices = await readInput(opts.prices, (t) => parseJsonThen(t, INVALID_PRICES, parsePrices));
  const instrumentsPath = opts.instruments ?? DEFAULT_INSTRUMENTS_PATH;
  let specs: Awaited<ReturnType<typeof loadInstrumentsFile>>;
  try {
    specs = await loadInstrumentsFile(instrumentsPath);
  } catch (e) {
    if (e instanceof ValidationError) {
      throw new InputError(e.issues.map((i) => `${instrumentsPath}: ${i.path}: ${i.message}`).join('\n'));
    }
    throw new InputError(`${instrumentsPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const index = indexInstruments(specs);
  const settings = settingsFor(weights, {
    quote_currency: opts.quote ?? DEFAULT_REBALANCE.quote_currency,
    cash_buffer: opts.cashBuffer ?? DEFAULT_REBALANCE.cash_buffer,
    min_trade_weight: opts.minTradeWeight ?? DEFAULT_REBALANCE.min_trade_weight,
  });
  // The command line's buffer wins over the file's.
  if (opts.cashBuffer !== undefined) settings.cash_buffer = opts.cashBuffer;
  const r = planRebalance({
    weights: weights.weights,
    holdings,
    prices,
    instrument: (k) => index.get(k),
    settings,
  });
  if (!r.success) {
    throw new InputError(r.error.issues.map((i) => `cannot plan: ${i.path}: ${i.message}`).join('\n'));
  }
  if (opts.json) {
    const plan = r.data;
    process.stdout.write(
      `${JSON.stringify(
        {
          strategy_id: weights.strategy_id,
          as_of: weights.as_of,
          ...plan,
          orders: plan.orders,
          skipped: plan.skipped,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    process.stdout.write(`rebalance ${weights.strategy_id} as of ${weights.as_of}\n${planTable(r.data)}`);
  }
  return 0;
}

interface BacktestCliOptions {
  weights: string;
  data: string;
  out: string;
  runId?: string;
  startingCash: string;
  slippageBps?: number;
  maxDivergence?: number;
  config?: string;
  json?: boolean;
  ticks?: boolean;
  windowMinutes?: number;
  seed?: number;
}

/** A weights location: a folder (every *.json under it), one file, or a gs:// prefix or object. */
async function openWeights(location: string) {
  const loc = parseBlobLocation(location);
  if (loc.kind === 'local') {
    const isFile = (await stat(loc.path).catch(() => null))?.isFile() ?? false;
    if (isFile)
      return { store: await openBlobLocation(path.dirname(loc.path)), prefix: path.basename(loc.path) };
    return { store: await openBlobLocation(loc.path), prefix: '' };
  }
  if (loc.prefix.endsWith('.json')) {
    const slash = loc.prefix.lastIndexOf('/');
    const dir = `gs://${loc.bucket}${slash > 0 ? `/${loc.prefix.slice(0, slash)}` : ''}`;
    return { store: await openBlobLocation(dir), prefix: loc.prefix.slice(slash + 1) };
  }
  return { store: await openBlobLocation(location), prefix: '' };
}

async function runBacktest(o: BacktestCliOptions): Promise<number> {
  const cfg = loadConfig(o.config === undefined ? {} : { path: o.config });
  const weights = await openWeights(o.weights);
  const runId = o.runId ?? `rebalance-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const slippageBps = o.slippageBps ?? cfg.rebalance.backtest_slippage_bps;
  let outcome: Awaited<ReturnType<typeof runRebalanceBacktestJob>>;
  try {
    outcome = await runRebalanceBacktestJob({
      data: await openBlobLocation(o.data, { durable: false }),
      weights: weights.store,
      weightsPrefix: weights.prefix,
      out: await openBlobLocation(o.out),
      runId,
      startingCash: o.startingCash,
      slippageBps,
      defaults: {
        quote_currency: cfg.rebalance.quote_currency,
        cash_buffer: cfg.rebalance.cash_buffer,
        min_trade_weight: cfg.rebalance.min_trade_weight,
      },
      limits: riskLimitsFromConfig(cfg.risk),
      tradingState: cfg.risk.initial_trading_state,
      flatNavSnapshots: cfg.rebalance.flat_nav_snapshots,
      maxDivergence: o.maxDivergence ?? null,
      ticks: o.ticks
        ? {
            ...DEFAULT_BACKTEST_SETTINGS,
            window_minutes: o.windowMinutes ?? cfg.backtest.window_minutes,
            seed: o.seed ?? cfg.backtest.seed,
            starting_cash: o.startingCash,
            trading_state: cfg.risk.initial_trading_state,
          }
        : null,
      config: {
        ticks: o.ticks ?? false,
        ...(o.ticks
          ? {
              window_minutes: o.windowMinutes ?? cfg.backtest.window_minutes,
              seed: o.seed ?? cfg.backtest.seed,
            }
          : {}),
        weights: o.weights,
        data: o.data,
        starting_cash: o.startingCash,
        slippage_bps: slippageBps,
        cash_buffer: cfg.rebalance.cash_buffer,
        min_trade_weight: cfg.rebalance.min_trade_weight,
        quote_currency: cfg.rebalance.quote_currency,
      },
      nowMs: () => performance.now(),
    });
  } catch (e) {
    if (e instanceof RebalanceBacktestInputError) throw new InputError(e.message);
    throw e;
  }
  const s = outcome.summary;
  const d = s.divergence as Record<string, unknown>;
  if (o.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
  else {
    process.stdout.write(
      [
        `run ${runId}: ${String((s.signals as Record<string, unknown>).applied)} rebalances, ${String(s.orders)} orders, ${String(s.fills)} fills, ${String(s.risk_denials)} denied`,
        `pnl ${String(s.pnl)}  fees ${String(s.fees)}  sharpe ${String(s.sharpe)}  max drawdown ${String(s.max_drawdown)}`,
        `annualized return: event-driven ${String(d.event_driven_annualized_return)}, vectorized ${String(d.vectorized_annualized_return)}, divergence ${String(d.annualized_return_divergence)}${o.maxDivergence === undefined ? '' : ` (max ${o.maxDivergence})`}`,
        `wall ${String(s.wall_seconds)} s; results: ${outcome.files.join(', ')}`,
        '',
      ].join('\n'),
    );
  }
  if (!outcome.withinGate) {
    process.stderr.write(
      `divergence ${String(d.annualized_return_divergence)} is beyond --max-divergence ${String(o.maxDivergence)}\n`,
    );
    return 1;
  }
  return 0;
}

function integerAtLeast(min: number, name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return n;
  };
}

function nonNegNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('rebalance')
    .description('Plan rebalances from target weights (docs/rebalancing.md)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code = 0;
  program
    .command('plan')
    .description('print the orders that move the holdings to the target weights')
    .requiredOption('--weights <file>', 'weights file (schemas/weights-file.schema.json)')
    .requiredOption(
      '--holdings <file>',
      'holdings: {"cash": {"USDT": "100000"}, "positions": {"<instrument_key>": "0.5"}}',
    )
    .requiredOption('--prices <file>', 'prices: {"<instrument_key>": "50000"}')
    .option('--instruments <file>', 'instrument definitions (default: the embedded config/instruments.json)')
    .option(
      '--cash-buffer <fraction>',
      "fraction of equity kept in cash (default 0.02, or the file's)",
      fraction('--cash-buffer'),
    )
    .option(
      '--min-trade-weight <fraction>',
      'skip orders under this fraction of equity (default 0)',
      fraction('--min-trade-weight'),
    )
    .option('--quote <currency>', 'quote currency when the file names none (default USDT)')
    .option('--json', 'print the plan as JSON')
    .action(async (opts: PlanOptions) => {
      code = await runPlan(opts);
    });
  program
    .command('backtest')
    .description(
      'run a weights series over daily bars (or, with --ticks, tick data where it exists); write the five result files and the divergence',
    )
    .requiredOption('--weights <location>', 'folder of weights files, one file, or gs://bucket/prefix')
    .requiredOption(
      '--data <location>',
      'data folder or gs://bucket/prefix (market-data-daily/, instruments/)',
    )
    .requiredOption('--out <location>', 'results folder or gs://bucket/prefix')
    .option('--run-id <id>', 'run id (default rebalance-<time>)')
    .option('--starting-cash <amount>', 'starting cash in the quote currency', '100000')
    .option(
      '--slippage-bps <n>',
      'daily-bar fill slippage (default rebalance.backtest_slippage_bps)',
      nonNegNumber('--slippage-bps'),
    )
    .option(
      '--max-divergence <fraction>',
      'exit 1 when the annualized return divergence exceeds this',
      nonNegNumber('--max-divergence'),
    )
    .option(
      '--ticks',
      'execute each order on tick data where it exists (market-data-tick/…): its algorithm, the matching engine',
    )
    .option(
      '--window-minutes <n>',
      'with --ticks: window of each order (default backtest.window_minutes)',
      integerAtLeast(1, '--window-minutes'),
    )
    .option('--seed <n>', 'with --ticks: run seed (default backtest.seed)', integerAtLeast(0, '--seed'))
    .option('--config <file>', 'configuration file (risk limits, rebalance settings)')
    .option('--json', 'print summary.json')
    .action(async (opts: BacktestCliOptions) => {
      code = await runBacktest(opts);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e && typeof e === 'object' && 'exitCode' in e && typeof e.exitCode === 'number') {
      const c = e.exitCode;
      return c === 0 ? 0 : 2;
    }
    throw e;
  }
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

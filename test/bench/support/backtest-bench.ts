/** What the backtest benchmarks share (not a benchmark): limits, peak RSS, argument and table helpers. */
import { readFile } from 'node:fs/promises';
import { NO_LIMITS, type RiskLimits } from '../../../shared/risk/limits.ts';

/** The risk limits the backtest benchmarks run under. */
export const BENCH_LIMITS: RiskLimits = {
  ...NO_LIMITS,
  max_orders_per_second: 10,
  max_orders_per_minute: 100,
  max_notional_per_order: '1000000',
  max_total_notional: '10000000',
  price_tolerance_bps: 500,
};

/**
 * Peak RSS of this process in kB: VmHWM from /proc (getrusage's maxRSS would include what the
 * parent had resident when it forked us); maxRSS where /proc is not available.
 */
export async function peakRssKb(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

/** The value after `--name` on a command line, or undefined. */
export function argOf(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Print a titled two-column table. */
export function printTable(
  log: (line: string) => void,
  title: string,
  rows: ReadonlyArray<[string, string]>,
): void {
  const w = Math.max(...rows.map(([k]) => k.length));
  log('');
  log(title);
  for (const [k, v] of rows) log(`  ${k.padEnd(w)}  ${v}`);
}

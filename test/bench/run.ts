/**
 * `npm run bench [-- NAME ...]`: runs each benchmark in its own process, one after the other, so
 * that one benchmark's heap and JIT state never colour another's figures (and peak-memory figures
 * are per process). Every benchmark prints its own table; this runner prints what ran and how long.
 * Benchmarks print figures and never fail on timing; a benchmark that crashes makes the run exit 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES: Record<string, { file: string; what: string }> = {
  engine: { file: 'engine.bench.ts', what: 'matching engine: L1 trades, quotes, L2 book events per second' },
  'risk-routing': {
    file: 'risk-routing.bench.ts',
    what: 'pre-trade risk + routing per order (orders/s, p50/p99)',
  },
  pipeline: {
    file: 'pipeline.bench.ts',
    what: 'order intake in-process and on the emulators; writes per order; memory',
  },
  ticks: { file: 'ticks.bench.ts', what: 'Parquet tick files: write, full read, window read, bytes read' },
  backtest: {
    file: 'backtest.bench.ts',
    what: 'backtests end to end: ticks/s, bytes read, workers speed-up, memory',
  },
  scale: {
    file: 'scale.bench.ts',
    what: 'backtest at scale: 30 days × 3 instruments, 29 signals per instrument-day; wall, ticks/s, memory, bytes',
  },
  fanout: {
    file: 'fanout.bench.ts',
    what: 'backtest fan-out through the function handlers: cold start, per-window fixed cost, N instances',
  },
  rebalance: {
    file: 'rebalance.bench.ts',
    what: 'rebalance backtest, 20 assets × 300 days: wall time, orders/s, divergence from the vectorized reference',
  },
  edge: {
    file: 'edge.bench.ts',
    what: 'venue edge: order-to-ack through ccxt, fills persisted per second, memory',
  },
  deploy: {
    file: 'deploy-memory.bench.ts',
    what: 'memory of the venue-edge service and the order-intake function: tsx vs compiled',
  },
  replay: {
    file: 'replay.bench.ts',
    what: 'session recordings: recorder cost at 1,000 events/s, recorder ceiling, replay ticks/s',
  },
  venues: {
    file: 'venues.bench.ts',
    what: "order-to-ack p50/p99 through each venue adapter to its local protocol server, ccxt's throttle vs the venue budgets",
  },
};

const here = fileURLToPath(new URL('.', import.meta.url));
const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !(a in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const names = asked.length > 0 ? asked : Object.keys(BENCHES);

const summary: Array<{ name: string; status: string; seconds: string }> = [];
let failed = false;
for (const name of names) {
  const bench = BENCHES[name]!;
  const path = `${here}${bench.file}`;
  if (!existsSync(path)) {
    summary.push({ name, status: 'not present', seconds: '-' });
    continue;
  }
  console.log(`\n=== ${name}: ${bench.what}\n`);
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', path], {
    stdio: 'inherit',
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  const seconds = (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1);
  const ok = res.status === 0;
  failed ||= !ok;
  summary.push({ name, status: ok ? 'ok' : `failed (exit ${res.status ?? res.signal})`, seconds });
}

console.log('\n=== benchmarks run');
console.table(summary);
process.exit(failed ? 1 : 0);

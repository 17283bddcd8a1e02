/**
 * `npm run chaos`: failure behaviour measured on real processes (docs/reliability.md).
 *
 *   npm run chaos                 the full run (10,000 malformed instructions, ...)
 *   npm run chaos -- --reduced    the reduced run that `npm test` includes
 *   npm run chaos -- --only bad-input,secrets,limits,at-least-once [--seed 7] [--json]
 *     [--at-least-once-count N] [--pubsub-bad-count N]
 *
 * Prints the table of figures; exit code 0 when every goal held, 1 otherwise.
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { type ScenarioResult, table } from '../test/chaos/harness.ts';
import { FULL, REDUCED, runChaos, SCENARIOS, type Scenario } from '../test/chaos/run.ts';

async function main(argv: string[]): Promise<number> {
  const program = new Command('chaos')
    .option('--reduced', 'the reduced run (as in npm test)')
    .option('--only <names>', `comma-separated scenarios (${SCENARIOS.join(', ')})`)
    .option('--seed <n>', 'seed of the generated inputs', '42')
    .option('--at-least-once-count <n>', 'instructions of the at-least-once scenario (full run: 10,000)')
    .option('--pubsub-bad-count <n>', 'malformed instructions over Pub/Sub (full run: 10,000)')
    .option('--crash-kills <n>', 'kill -9 count of the crash scenario (full run: 20)')
    .option('--venue-fault-orders <n>', 'orders of the venue-fault scenario (full run: 1,000)')
    .option(
      '--venue-offline-ms <n>',
      'how long the venue is offline in the venue-fault scenario (full run: 30,000)',
    )
    .option('--dependency-orders <n>', 'orders per stage of the dependency-restart scenario (full run: 50)')
    .option('--json', 'print the results as JSON');
  program.parse(argv);
  const opts = program.opts<{
    reduced?: boolean;
    only?: string;
    seed: string;
    json?: boolean;
    atLeastOnceCount?: string;
    pubsubBadCount?: string;
    crashKills?: string;
    venueFaultOrders?: string;
    venueOfflineMs?: string;
    dependencyOrders?: string;
  }>();
  const only = opts.only?.split(',').map((s) => s.trim()) as Scenario[] | undefined;
  for (const s of only ?? []) {
    if (!SCENARIOS.includes(s)) {
      process.stderr.write(`unknown scenario ${s} (known: ${SCENARIOS.join(', ')})\n`);
      return 2;
    }
  }
  const started = performance.now();
  const results: ScenarioResult[] = await runChaos({
    sizes: {
      ...(opts.reduced ? REDUCED : FULL),
      ...(opts.atLeastOnceCount ? { atLeastOnce: Number(opts.atLeastOnceCount) } : {}),
      ...(opts.pubsubBadCount ? { pubsubBadInputs: Number(opts.pubsubBadCount) } : {}),
      ...(opts.crashKills ? { crashKills: Number(opts.crashKills) } : {}),
      ...(opts.venueFaultOrders ? { venueFaultOrders: Number(opts.venueFaultOrders) } : {}),
      ...(opts.venueOfflineMs ? { venueOfflineMs: Number(opts.venueOfflineMs) } : {}),
      ...(opts.dependencyOrders ? { dependencyOrders: Number(opts.dependencyOrders) } : {}),
    },
    seed: Number(opts.seed),
    only,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (opts.json) process.stdout.write(`${JSON.stringify({ seconds: Number(seconds), results }, null, 2)}\n`);
  else {
    process.stdout.write(
      `${table(results)}\n\n${opts.reduced ? 'reduced' : 'full'} run: ${seconds} s (node ${process.version})\n`,
    );
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then(
    (c) => process.exit(c),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}

/**
 * The audit trail's command line (docs/security.md#audit-trail):
 *
 *   npm run audit -- verify --day YYYY-MM-DD [--dir <folder> | --dir gs://bucket/audit] [--json]
 *
 * Checks every record of the day: its own hash, and per stream (an order, a trading-state scope)
 * an unbroken seq with each prev_hash equal to the previous record's hash; a stream continuing
 * from an earlier day is checked against that day's last record (and refused when the trail holds
 * earlier days but none of them has the stream: its first records are missing). Prints a summary
 * and the first broken record (file, line, stream, seq, reason). Exit code 0 when the chain holds,
 * 1 when a record is broken or the day has no records at all, 2 for bad arguments or an unreadable
 * location.
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { anchorsBefore, readAuditDay } from '../infra/audit/read-audit.ts';
import { openBlobLocation } from '../infra/ticks/blob-location.ts';
import { type VerifyReport, verifyChain } from '../shared/audit/chain.ts';

export async function verifyDay(location: string, day: string): Promise<VerifyReport> {
  const store = await openBlobLocation(location, { durable: false });
  const lines = await readAuditDay(store, day);
  const before = await anchorsBefore(store, day);
  // With earlier days in the trail, a stream that does not start at seq 0 must continue one of them.
  return verifyChain(lines, { anchors: before.heads, allowContinued: before.earlierDays === 0 });
}

export function formatReport(day: string, location: string, r: VerifyReport): string {
  const verdict = !r.ok
    ? 'BROKEN'
    : r.records === 0
      ? 'NO RECORDS (nothing to verify: wrong --dir or --day?)'
      : 'OK';
  const out = [
    `audit trail ${location} ${day}: ${verdict}`,
    `  records ${r.records}, streams ${r.streams}, continued from an earlier day ${r.continued}, exact duplicates ignored ${r.duplicates}`,
  ];
  if (r.first_broken !== null) {
    const b = r.first_broken;
    out.push(
      `  first broken record: ${b.file}:${b.line}${b.stream ? ` stream ${b.stream}` : ''}${b.seq !== null ? ` seq ${b.seq}` : ''} — ${b.reason}`,
    );
    if (r.broken.length > 1)
      out.push(`  broken records in all: ${r.broken.length}${r.broken.length >= 100 ? '+' : ''}`);
  }
  return out.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('audit').description(
    'the audit trail (hash chains of order events and trading-state changes)',
  );
  let code = 0;
  program
    .command('verify')
    .description("check one day's chain")
    .requiredOption('--day <YYYY-MM-DD>', 'the UTC day to check')
    .option(
      '--dir <location>',
      'folder or gs://bucket/prefix of the audit trail',
      `${process.env.EXEC_DATA_DIR ?? '.data'}/audit`,
    )
    .option('--json', 'print the report as JSON')
    .action(async (opts: { day: string; dir: string; json?: boolean }) => {
      try {
        const report = await verifyDay(opts.dir, opts.day);
        process.stdout.write(
          `${opts.json ? JSON.stringify(report, null, 2) : formatReport(opts.day, opts.dir, report)}\n`,
        );
        code = report.ok && report.records > 0 ? 0 : 1;
      } catch (err) {
        process.stderr.write(`audit verify: ${err instanceof Error ? err.message : String(err)}\n`);
        code = 2;
      }
    });
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const c = (err as { exitCode?: number }).exitCode;
    return c === 0 ? 0 : 2;
  }
  return code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).then(
    (c) => process.exit(c),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}

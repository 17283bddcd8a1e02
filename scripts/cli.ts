/**
 * The operator's command line over the HTTP API (docs/console.md, "CLI"):
 *
 *   npm run cli -- order submit --instrument BTC-USDT.BINANCE-SPOT --side BUY --type LIMIT \
 *                   --quantity 0.01 --price 60000 [--tif GTC] [--venue ID] [--strategy manual] \
 *                   [--algo TWAP --param duration_sec=300 --param max_slices=10] [--operation-id ID]
 *   npm run cli -- order cancel <operation_id> [--reason TEXT]
 *   npm run cli -- orders list [--status FILLED,CANCELED] [--venue ID] [--instrument KEY] [--strategy ID] [--limit N]
 *   npm run cli -- trading-state set HALTED --reason "exchange incident" [--strategy ID]
 *   npm run cli -- trading-state get
 *
 * `--url` (or EXEC_API_URL) names the API, default http://127.0.0.1:8080. Input is checked with the
 * API's own schemas before anything is sent (the same messages at the same fields as the API and
 * the console); the API's answer is printed as JSON. Exit codes: 0 done, 1 the API refused or
 * failed, 2 invalid input.
 */
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { checkTicket, newOperationId, type OrderTicket } from '../shared/app/order-ticket.ts';
import type { Issue } from '../shared/domain/errors.ts';
import { parseWith } from '../shared/domain/schemas.ts';
import { TradingStateRequestSchema } from '../shared/domain/trading-state-request.ts';
import {
  EXEC_ALGORITHMS,
  ORDER_TYPES,
  SIDES,
  TIME_IN_FORCE,
  TRADING_STATES,
} from '../shared/domain/types.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  fetch: typeof fetch;
  env: Readonly<Record<string, string | undefined>>;
}

/** Thrown to stop with an exit code after the message was printed. */
class CliExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

function printIssues(io: CliIo, what: string, issues: readonly Issue[]): never {
  io.err(`invalid ${what}:`);
  for (const i of issues) io.err(`  ${i.path || '(body)'}: ${i.message}`);
  throw new CliExit(2);
}

async function call(io: CliIo, base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = `${base.replace(/\/$/, '')}${path}`;
  let res: Response;
  try {
    res = await io.fetch(url, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    io.err(`cannot reach the API at ${base}: ${err instanceof Error ? err.message : String(err)}`);
    throw new CliExit(1);
  }
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: printed as it is.
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string; issues?: Issue[] } })?.error;
    if (res.status === 400 && Array.isArray(error?.issues))
      printIssues(io, `request (${error.code})`, error.issues);
    io.err(`${method} ${path}: ${res.status} ${error?.code ?? ''} ${error?.message ?? text}`.trim());
    throw new CliExit(1);
  }
  return json;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildCli(io: CliIo): Command {
  const program = new Command('cli')
    .description('Operate the execution platform over its HTTP API')
    .addOption(new Option('--url <url>', 'the API').default(io.env.EXEC_API_URL ?? DEFAULT_API_URL))
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const base = () => String(program.opts().url);
  const print = (v: unknown) => io.out(JSON.stringify(v, null, 2));

  const order = program.command('order').description('Submit or cancel one order');
  order
    .command('submit')
    .description('Submit an order instruction (POST /api/orders)')
    .requiredOption('--instrument <key>', 'instrument id, e.g. BTC-USDT.BINANCE-SPOT')
    .addOption(new Option('--side <side>', 'BUY or SELL').choices(SIDES).makeOptionMandatory())
    .addOption(new Option('--type <type>', 'order type').choices(ORDER_TYPES).default('MARKET'))
    .requiredOption('--quantity <qty>', 'quantity (decimal)')
    .option('--price <price>', 'limit price (LIMIT only)', '')
    .addOption(new Option('--tif <tif>', 'time in force').choices(TIME_IN_FORCE).default('GTC'))
    .option('--venue <id>', 'route to this venue (default: the smart router decides)', '')
    .option('--strategy <id>', 'strategy id', 'manual')
    .addOption(new Option('--algo <name>', 'execution algorithm').choices(EXEC_ALGORITHMS).default('NORMAL'))
    .option('--param <name=value>', 'an algorithm parameter (repeat)', collect, [] as string[])
    .option('--reference-price <price>', 'the price the decision was made at', '')
    .option('--operation-id <id>', 'idempotency key (default: a new one)')
    .action(async (o: Record<string, string | string[] | undefined>) => {
      const params: Record<string, string> = {};
      for (const p of (o.param as string[] | undefined) ?? []) {
        const eq = p.indexOf('=');
        if (eq <= 0)
          printIssues(io, 'order', [
            { path: 'exec_algorithm_params', message: `--param ${p}: expected name=value` },
          ]);
        params[p.slice(0, eq)] = p.slice(eq + 1);
      }
      const ticket: OrderTicket = {
        operation_id: String(o.operationId ?? newOperationId(Date.now(), Math.random)),
        venue: String(o.venue ?? ''),
        instrument_key: String(o.instrument),
        side: String(o.side),
        order_type: String(o.type),
        quantity: String(o.quantity),
        price: String(o.price ?? ''),
        time_in_force: String(o.tif),
        strategy_id: String(o.strategy),
        exec_algorithm: String(o.algo),
        params,
        reference_price: String(o.referencePrice ?? ''),
      };
      const checked = checkTicket(ticket);
      if (!checked.ok) printIssues(io, 'order', checked.issues);
      print(await call(io, base(), 'POST', '/api/orders', checked.body));
    });
  order
    .command('cancel <operation_id>')
    .description('Cancel an order (DELETE /api/orders/:operation_id)')
    .option('--reason <text>', 'why', 'canceled from the CLI')
    .action(async (operationId: string, o: { reason: string }) => {
      print(
        await call(io, base(), 'DELETE', `/api/orders/${encodeURIComponent(operationId)}`, {
          reason: o.reason,
        }),
      );
    });

  program
    .command('orders')
    .description('Read orders')
    .command('list')
    .description('List orders, newest first (GET /api/orders)')
    .option('--status <list>', 'statuses, comma-separated')
    .option('--venue <id>')
    .option('--instrument <key>')
    .option('--strategy <id>')
    .option('--from <time>', 'ISO-8601 or nanoseconds')
    .option('--to <time>')
    .option('--limit <n>', 'most orders', '50')
    .option('--json', 'print the JSON answer instead of a table')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const q = new URLSearchParams();
      const set = (k: string, v: unknown) => {
        if (typeof v === 'string' && v !== '') q.set(k, v);
      };
      set('status', o.status);
      set('venue', o.venue);
      set('instrument_key', o.instrument);
      set('strategy_id', o.strategy);
      set('from', o.from);
      set('to', o.to);
      set('limit', o.limit);
      const res = (await call(io, base(), 'GET', `/api/orders?${q}`)) as {
        orders: Array<Record<string, unknown>>;
      };
      if (o.json === true) return print(res);
      const cols = [
        'operation_id',
        'status',
        'side',
        'quantity',
        'filled_quantity',
        'instrument_key',
        'venue',
        'avg_fill_price',
      ];
      const rows = res.orders.map((r) =>
        cols.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))),
      );
      const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
      io.out(cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
      for (const r of rows) io.out(r.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  '));
    });

  const ts = program.command('trading-state').description('Read or set the trading state');
  ts.command('get')
    .description('The platform and strategy trading states (GET /api/trading-state)')
    .action(async () => print(await call(io, base(), 'GET', '/api/trading-state')));
  ts.command('set <state>')
    .description(`Set ${TRADING_STATES.join(' / ')} (PUT /api/trading-state)`)
    .requiredOption('--reason <text>', 'why (recorded with who and when)')
    .option('--strategy <id>', 'only this strategy (default: the whole platform)')
    .action(async (state: string, o: { reason: string; strategy?: string }) => {
      const body: Record<string, unknown> = { state: state.toUpperCase(), reason: o.reason };
      if (o.strategy !== undefined) body.strategy_id = o.strategy;
      const r = parseWith(TradingStateRequestSchema, body, 'invalid_trading_state');
      if (!r.success) printIssues(io, 'trading state change', r.error.issues);
      print(await call(io, base(), 'PUT', '/api/trading-state', r.data));
    });

  return program;
}

/** Run with `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await buildCli(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CliExit) return err.code;
    if (err !== null && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
      return err.exitCode === 0 ? 0 : 2; // commander: usage error (already printed) or --help
    }
    io.err(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    fetch,
    env: process.env,
  }).then((code) => process.exit(code));
}

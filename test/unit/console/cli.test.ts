/**
 * `npm run cli`: the order ticket checked with the API's schema before sending (same messages,
 * exit 2), the CLI command the console previews sends the same body as the console, and the
 * trading-state / cancel / list commands call the right endpoints.
 */
import { describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../../scripts/cli.ts';
import { cliCommand, type OrderTicket, ticketBody } from '../../../shared/app/order-ticket.ts';

interface Call {
  method: string;
  url: string;
  body: unknown;
}

function io(
  answer: (c: Call) => { status: number; body: unknown } = () => ({ status: 200, body: { ok: true } }),
) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: Call[] = [];
  const fake: CliIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
    fetch: (async (url: string, init?: RequestInit) => {
      const call = {
        method: init?.method ?? 'GET',
        url: String(url),
        body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
      };
      calls.push(call);
      const a = answer(call);
      return new Response(JSON.stringify(a.body), {
        status: a.status,
        headers: { 'Content-Type': 'application/json' },
      });
    }) as typeof fetch,
  };
  return { fake, out, err, calls };
}

/** Split a previewed command line (its quoting is POSIX single quotes) into argv after `--`. */
function argvOf(command: string): string[] {
  const words = command.match(/'(?:[^']|'\\'')*'|\S+/g) ?? [];
  const args = words.map((w) => (w.startsWith("'") ? w.slice(1, -1).replace(/'\\''/g, "'") : w));
  return args.slice(args.indexOf('--') + 1);
}

const TICKET: OrderTicket = {
  operation_id: 'op-cli-1',
  venue: 'BINANCE-SPOT',
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  side: 'SELL',
  order_type: 'LIMIT',
  quantity: '0.5',
  price: '61000.5',
  time_in_force: 'IOC',
  strategy_id: 'desk one',
  exec_algorithm: 'TWAP',
  params: { duration_sec: '60', max_slices: '4' },
  reference_price: '',
};

describe('npm run cli', () => {
  it('order submit: the previewed command sends exactly the console body', async () => {
    const { fake, calls } = io(() => ({
      status: 201,
      body: { operation_id: 'op-cli-1', status: 'PENDING' },
    }));
    const code = await runCli(argvOf(cliCommand(TICKET, 'http://api.test:9')), fake);
    expect(code).toBe(0);
    expect(calls).toEqual([
      { method: 'POST', url: 'http://api.test:9/api/orders', body: ticketBody(TICKET) },
    ]);
  });

  it('order submit: invalid input is refused with the API messages and exit 2, nothing sent', async () => {
    const { fake, calls, err } = io();
    const code = await runCli(
      [
        'order',
        'submit',
        '--instrument',
        'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        '--side',
        'BUY',
        '--type',
        'LIMIT',
        '--quantity',
        '0',
        '--algo',
        'TWAP',
        '--param',
        'duration_sec=abc',
      ],
      fake,
    );
    expect(code).toBe(2);
    expect(calls).toEqual([]);
    expect(err).toEqual([
      'invalid order:',
      '  quantity: must be greater than 0, got 0',
      '  price: price is required for LIMIT orders',
      '  exec_algorithm_params.duration_sec: must be an integer number of seconds',
    ]);
  });

  it('prints the issues of a 400 from the API and exits 2', async () => {
    const { fake, err } = io(() => ({
      status: 400,
      body: {
        error: {
          code: 'invalid_order',
          message: 'x',
          issues: [{ path: 'instrument_key', message: 'unknown instrument' }],
        },
      },
    }));
    const code = await runCli(
      [
        'order',
        'submit',
        '--instrument',
        'BINANCE-SPOT:SPOT_PAIR:XRP-USDT',
        '--side',
        'BUY',
        '--quantity',
        '1',
      ],
      fake,
    );
    expect(code).toBe(2);
    expect(err).toEqual(['invalid request (invalid_order):', '  instrument_key: unknown instrument']);
  });

  it('trading-state set: a reason is required; state and strategy go to PUT /api/trading-state', async () => {
    const missing = io();
    expect(await runCli(['trading-state', 'set', 'HALTED', '--reason', '  '], missing.fake)).toBe(2);
    expect(missing.err).toEqual(['invalid trading state change:', '  reason: a reason is required']);
    const bad = io();
    expect(await runCli(['trading-state', 'set', 'PAUSED', '--reason', 'x'], bad.fake)).toBe(2);
    expect(bad.err[1]).toBe('  state: must be one of ACTIVE, REDUCING, HALTED');

    const ok = io(() => ({ status: 200, body: { state: 'HALTED' } }));
    expect(
      await runCli(
        ['--url', 'http://h:1', 'trading-state', 'set', 'halted', '--reason', 'drill', '--strategy', 's1'],
        ok.fake,
      ),
    ).toBe(0);
    expect(ok.calls).toEqual([
      {
        method: 'PUT',
        url: 'http://h:1/api/trading-state',
        body: { state: 'HALTED', reason: 'drill', strategy_id: 's1' },
      },
    ]);
  });

  it('order cancel and orders list call their endpoints; an API error exits 1', async () => {
    const c = io(() => ({
      status: 409,
      body: { error: { code: 'not_cancelable', message: 'order is FILLED' } },
    }));
    expect(await runCli(['order', 'cancel', 'op/1', '--reason', 'fat finger'], c.fake)).toBe(1);
    expect(c.calls[0]).toEqual({
      method: 'DELETE',
      url: 'http://127.0.0.1:8080/api/orders/op%2F1',
      body: { reason: 'fat finger' },
    });
    expect(c.err).toEqual(['DELETE /api/orders/op%2F1: 409 not_cancelable order is FILLED']);

    const l = io(() => ({
      status: 200,
      body: {
        orders: [
          {
            operation_id: 'a',
            status: 'FILLED',
            side: 'BUY',
            quantity: '1',
            filled_quantity: '1',
            instrument_key: 'K',
            venue: 'SIM',
            avg_fill_price: '2',
          },
        ],
      },
    }));
    expect(
      await runCli(['orders', 'list', '--status', 'FILLED', '--venue', 'SIM', '--limit', '5'], l.fake),
    ).toBe(0);
    expect(l.calls[0]?.url).toBe('http://127.0.0.1:8080/api/orders?status=FILLED&venue=SIM&limit=5');
    expect(l.out[0]).toMatch(/^operation_id\s+status/);
    expect(l.out[1]).toMatch(/^a\s+FILLED\s+BUY/);
  });
});

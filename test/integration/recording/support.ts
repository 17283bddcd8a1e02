/** What the recorded `npm start` sessions trade: a TWAP parent and two direct orders (one on each side) on BINANCE-SPOT. */
import { expect } from 'vitest';
import type { ParityReport } from '../../../shared/recording/parity.ts';
import { eventually } from '../edge/support.ts';
import type { MainProcess } from '../support/main-process.ts';

/** Post the mix to the running service, wait until every order is FILLED, then stop it with SIGTERM. */
export async function tradeMixThenStop(service: MainProcess, prefix: string): Promise<void> {
  const post = (body: unknown) =>
    fetch(`${service.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const status = async (op: string) =>
    ((await (await fetch(`${service.url}/api/orders/${op}`)).json()) as { status: string }).status;
  // Market data first, so the parents have a mid at arrival: the venue's session is UP (the edge
  // publishes it with the books), then a second more for the first books to be published.
  await eventually(
    async () => {
      const res = await fetch(`${service.url}/api/venues`);
      const body = (await res.json()) as { venues?: Array<{ id: string; state: { status: string } | null }> };
      return body.venues?.find((v) => v.id === 'BINANCE-SPOT')?.state?.status === 'UP' ? true : undefined;
    },
    60_000,
    'BINANCE-SPOT session UP',
  );
  await new Promise((r) => setTimeout(r, 1_000));
  const orders = [
    {
      operation_id: `${prefix}-TWAP`,
      side: 'BUY',
      quantity: '0.03',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 3, max_slices: 3 },
    },
    { operation_id: `${prefix}-NORMAL`, side: 'SELL', quantity: '0.01' },
    // A second buyer while the TWAP works: the venue matches both in one engine per instrument.
    { operation_id: `${prefix}-NORMAL-BUY`, side: 'BUY', quantity: '0.02' },
  ];
  for (const o of orders) {
    const res = await post({
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      order_type: 'MARKET',
      strategy_id: 'demo',
      venue: 'BINANCE-SPOT',
      ...o,
    });
    expect(res.status).toBe(201);
    if (o.exec_algorithm === 'TWAP') {
      // The SELL spends what the TWAP's first slice bought (a SHADOW account starts with cash
      // only): it goes once that slice has filled, while the TWAP still works.
      await eventually(
        async () => {
          const body = (await (await fetch(`${service.url}/api/orders/${o.operation_id}`)).json()) as {
            order?: { filled_quantity?: string };
          };
          return Number(body.order?.filled_quantity ?? '0') > 0 ? true : undefined;
        },
        30_000,
        `${o.operation_id} first slice filled`,
      );
    }
  }
  for (const o of orders) {
    let last = '';
    await eventually(
      async () => {
        last = await status(o.operation_id);
        return last === 'FILLED' ? true : undefined;
      },
      60_000,
      `${o.operation_id} FILLED`,
    ).catch(async (err: unknown) => {
      const detail = await (await fetch(`${service.url}/api/orders/${o.operation_id}`)).text();
      throw new Error(
        `${err instanceof Error ? err.message : String(err)} (last status ${last}) ${detail.slice(0, 1000)}`,
      );
    });
  }
  await new Promise((r) => setTimeout(r, 500));
  service.child.kill('SIGTERM');
  expect(await service.exited).toBe(0);
}

/** Stop a service the test left running. */
export async function killService(service: MainProcess | undefined): Promise<void> {
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
}

/** The replay of a recorded mix: its 3 parents and 5 children, identical field by field, exit 0. */
export function expectIdenticalReplayOfMix(report: ParityReport): void {
  for (const p of report.parents)
    for (const m of p.mismatches)
      console.info(`  ${p.parent_order_id} ${m.path}: ${m.recorded} → ${m.replayed}`);
  expect(report.totals.parents).toBe(3);
  expect(report.totals.child_orders).toEqual({ recorded: 5, replayed: 5 });
  expect(report.totals.fills.recorded).toBeGreaterThanOrEqual(5);
  // A SHADOW session replays identically: every child and fill, field by field, and exit 0.
  expect(report.totals.fills.replayed).toBe(report.totals.fills.recorded);
  expect(report.parents.flatMap((p) => p.mismatches)).toEqual([]);
  expect(report.totals.mismatches).toBe(0);
  expect(report.verdict).toBe('identical');
  expect(report.exit_code).toBe(0);
}

/**
 * The kill switch: order-pipeline processes (test/chaos/workers/risk-worker.ts, on the Firestore
 * emulator) stream orders; midway the trading state is set to HALTED through the
 * TradingStateStore (what `PUT /api/trading-state` does). Measured per run: the time from the
 * HALT to the last order risk-approved after it (0 when none was). Goal: none after 1 s.
 */
import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '../../shared/domain/events.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { firestorePipeline } from '../support/firestore-pipeline.ts';
import { BTC, putBook, putVenue, SIM_BTC, testConfig } from '../unit/app/harness.ts';
import { check, result, type ScenarioResult } from './harness.ts';
import { fire, type Outcome } from './limits.ts';

export interface KillSwitchOptions {
  runs: number;
  processes: number;
  streamMs: number;
}

const RISK = { per_instrument: { [BTC]: { max_position: '1000000' } }, max_total_notional: '1000000000000' };

export async function runKillSwitchScenario(o: KillSwitchOptions): Promise<ScenarioResult> {
  const started = performance.now();
  const emulator = await startFirestoreEmulator();
  try {
    const firestore = emulator.client();
    const lagsMs: number[] = [];
    let routedBefore = 0;
    let afterHalt = 0;
    let errors = 0;
    for (let run = 0; run < o.runs; run++) {
      const prefix = `ks-${randomUUID().slice(0, 8)}-`;
      const config = testConfig({ risk: RISK });
      const p = await firestorePipeline(firestore, prefix, { config });
      const clock = { now: () => BigInt(Date.now() + 600_000) * 1_000_000n } as Parameters<typeof putBook>[1];
      await putBook(p.market, clock, 'BINANCE-SPOT', BTC, '60000', '100000');
      await putBook(p.market, clock, 'SIM', SIM_BTC, '60000', '100000');
      await putVenue(p.market, clock, 'BINANCE-SPOT', 'UP', { USDT: '1000000000000' });
      await putVenue(p.market, clock, 'SIM', 'UP', { USDT: '1000000000000' });
      let haltedAt = 0n;
      const outcomes: Outcome[] = await fire(
        emulator.host,
        emulator.projectId,
        prefix,
        o.processes,
        [],
        RISK,
        {
          ms: o.streamMs,
          onGo: async () => {
            await new Promise((r) => setTimeout(r, o.streamMs / 2));
            haltedAt = BigInt(Date.now()) * 1_000_000n;
            await p.trading.set(
              { kind: 'global' },
              { state: 'HALTED', reason: 'kill switch drill', updated_by: 'chaos' },
              haltedAt,
            );
          },
        },
      );
      errors += outcomes.filter((x) => x.kind === 'error').length;
      let last = 0n;
      for (const x of outcomes.filter((v) => v.kind === 'routed')) {
        const timeline: OrderEvent[] = await p.orders.timeline(x.op);
        const ts = timeline.find((e) => e.type === 'OrderRiskApproved')?.ts_event;
        if (ts === undefined) continue;
        if (ts > haltedAt) {
          afterHalt += 1;
          if (ts - haltedAt > last) last = ts - haltedAt;
        } else routedBefore += 1;
      }
      lagsMs.push(Number(last / 1_000_000n));
    }
    const sorted = [...lagsMs].sort((a, b) => a - b);
    const worst = sorted.at(-1) ?? 0;
    return result(
      'kill switch',
      `${o.runs} runs: ${o.processes} processes streaming orders on the Firestore emulator, HALTED set midway through the TradingStateStore (poll ${testConfig().risk.trading_state_poll_ms} ms)`,
      [
        ['time to the last new order after HALT, per run (ms)', sorted.join(', ')],
        ['worst', `${worst} ms`],
        ['orders approved before HALT', routedBefore],
        ['approved after HALT', afterHalt],
        ['errors', errors],
      ],
      [
        check(worst <= 1000, `an order was approved ${worst} ms after HALT`),
        check(routedBefore > 0, 'no order was approved before the HALT: the stream did not run'),
        check(errors === 0, `${errors} errors`),
      ],
      started,
    );
  } finally {
    await emulator.stop();
  }
}

/**
 * Concurrent orders against ONE position limit, through the whole order pipeline on the Firestore
 * emulator (orders, positions, the risk ledger, market state and trading state all on Firestore):
 * the approved total never exceeds the limit and exactly as many orders are approved as fit.
 * Prints how long it took and how hard the ledger's compare-and-set loop had to work.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { toDec } from '../../shared/domain/decimal.ts';
import type { OrderDenied } from '../../shared/domain/events.ts';
import { DEFAULT_LEDGER_SCOPE } from '../../shared/ports/risk-ledger-store.ts';
import { startOrSkip } from '../support/emulator-guard.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { firestorePipeline, wallClock } from '../support/firestore-pipeline.ts';
import { BTC, marketOrder, putBook, putVenue, SIM_BTC, testConfig } from '../unit/app/harness.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const emu = await startOrSkip('Firestore', () => startFirestoreEmulator());

describe.skipIf(!emu.ok)('risk under concurrency, on the Firestore emulator', () => {
  const emulator = emu.ok ? emu.value : null;

  afterAll(async () => {
    await emulator?.stop();
  });

  /**
   * One "process" of the platform: its own Firestore client and stores over the shared collections
   * (`prefix`), as one Cloud Function instance would have.
   */
  /** One "process" of the platform (test/support/firestore-pipeline.ts). */
  async function instance(prefix: string, opts: { groupCommit?: boolean } = {}) {
    if (!emulator) throw new Error('emulator not running');
    return firestorePipeline(emulator.client(), prefix, opts);
  }

  async function pipeline(opts: { groupCommit?: boolean } = {}) {
    const prefix = `rc-${randomUUID().slice(0, 8)}-`;
    const p = await instance(prefix, opts);
    await putBook(p.market, wallClockAsTest(), 'BINANCE-SPOT', BTC, '60000', '50');
    await putBook(p.market, wallClockAsTest(), 'SIM', SIM_BTC, '60000', '50');
    await putVenue(p.market, wallClockAsTest(), 'BINANCE-SPOT');
    await putVenue(p.market, wallClockAsTest(), 'SIM');
    return { ...p, prefix };
  }

  /** Fire `n` 0.1 BTC buys spread over `instances` processes at once; check and report. */
  async function fire(label: string, instances: number, n: number, opts: { groupCommit?: boolean } = {}) {
    const first = await pipeline(opts);
    const procs = [
      first,
      ...(await Promise.all(Array.from({ length: instances - 1 }, () => instance(first.prefix, opts)))),
    ];
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        (procs[i % instances] as (typeof procs)[number]).service.submit(marketOrder(`CC-${i}`), {
          via: 'pubsub',
          message_id: `m-${i}`,
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const stats = procs.map((q) => q.ledger.stats());
    const sum = (k: 'commits' | 'conflicts' | 'batches') => stats.reduce((a, x) => a + x[k], 0);
    console.info(
      `risk concurrency (${label}): ${n} orders from ${instances} processes at one position limit in ${seconds.toFixed(2)} s ` +
        `(${(n / seconds).toFixed(1)} orders/s); ledger: ${sum('batches')} batches, ${sum('commits')} commits, ` +
        `${sum('conflicts')} CAS conflicts, largest batch ${Math.max(...stats.map((x) => x.maxBatch))}, ` +
        `most attempts ${Math.max(...stats.map((x) => x.maxAttempts))}`,
    );

    const routed = outcomes.filter((o) => o.kind === 'routed');
    const denied = outcomes.filter((o) => o.kind === 'denied');
    expect(routed).toHaveLength(10);
    expect(denied).toHaveLength(n - 10);

    // The approved total is exactly the limit, in the ledger and in the order book.
    const ledger = await first.ledger.get(DEFAULT_LEDGER_SCOPE);
    expect(Object.keys(ledger.open)).toHaveLength(10);
    expect(ledger.instruments[BTC]?.working_buy).toBe('1');
    const approved = await first.service.list({ status: 'PENDING', limit: 1000 });
    expect(approved.reduce((s, o) => s.plus(toDec(o.quantity)), toDec(0)).toFixed()).toBe('1');
    expect(procs.reduce((a, q) => a + q.bus.on('orders.routed').length, 0)).toBe(10);

    for (const o of denied) {
      const d = (await first.orders.timeline(o.reply?.operation_id ?? ''))[1] as OrderDenied;
      expect(d).toMatchObject({
        type: 'OrderDenied',
        rule: 'position_instrument',
        limit: '1',
        observed: '1.1',
      });
    }
    expect(await first.service.list({ limit: 1000 })).toHaveLength(n);
  }

  it('60 concurrent 0.1 BTC buys from 4 processes at a 1.0 BTC limit: exactly 10 approved, 50 denied', async () => {
    await fire('group commit + CAS', 4, 60);
  });

  it('the same with every order in its own process (compare-and-set only, the worst case)', async () => {
    await fire('CAS only', 60, 60, { groupCommit: false });
  });

  it('trading state and market state stored in Firestore steer the pipeline (HALT, circuit open)', async () => {
    const p = await pipeline();
    expect((await p.service.submit(marketOrder('FS-1'), { via: 'http' })).kind).toBe('routed');

    await putVenue(p.market, wallClockAsTest(), 'BINANCE-SPOT', 'CIRCUIT_OPEN');
    await putVenue(p.market, wallClockAsTest(), 'SIM', 'CIRCUIT_OPEN');
    const unroutable = await p.service.submit(marketOrder('FS-2'), { via: 'http' });
    expect(unroutable).toMatchObject({
      kind: 'unroutable',
      reply: { rejection_reason: 'unroutable: no eligible venue' },
    });

    await p.trading.set(
      { kind: 'global' },
      { state: 'HALTED', reason: 'drill', updated_by: 'ops' },
      wallClock.now(),
    );
    await new Promise((r) => setTimeout(r, testConfig().risk.trading_state_poll_ms + 50));
    const halted = await p.service.submit(marketOrder('FS-3'), { via: 'http' });
    expect(halted.kind).toBe('denied');
    expect(((await p.orders.timeline('FS-3'))[1] as OrderDenied).rule).toBe('trading_state');

    // A cancel of the routed order releases its reservation in the Firestore ledger.
    expect((await p.service.cancel({ operation_id: 'FS-1' }, { via: 'http' })).kind).toBe('canceled');
    expect(Object.keys((await p.ledger.get(DEFAULT_LEDGER_SCOPE)).open)).toEqual([]);
  });
});

/** putBook/putVenue take a TestClock-shaped clock; the wall clock has the one method they use. */
function wallClockAsTest() {
  return { now: wallClock.now } as Parameters<typeof putBook>[1];
}

/**
 * At-least-once delivery: order instructions published to `orders.requests` on the Pub/Sub
 * emulator (a real process, started here), each published THREE times (duplicate publishes), and
 * a nack storm on top (every third message refused on its first delivery, so Pub/Sub redelivers
 * it). The consumer is the order intake as the function runs it — the order service over the
 * platform's composition with the Pub/Sub bus — and the routed orders go back out on Pub/Sub.
 *
 * The instructions go in batches of 1,000, each on a fresh emulator process (the emulator keeps every
 * message it has seen and slows down with them: beyond ~10,000 its publishes time out), with the
 * platform's order store carried across batches, so the final audit covers every instruction.
 *
 * Goals: every instruction becomes exactly one order (duplicate orders 0, lost 0) and no order's
 * timeline holds an event twice (duplicate events 0). A redelivered instruction of a still-PENDING
 * order re-publishes its route on purpose (the route may have been lost in a crash); the venue edge
 * takes one child per operation_id, so those re-publishes are counted, not failed.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intakeVerdict } from '../../functions/order-intake/handler.ts';
import { createPlatform, createPlatformOrderService } from '../../infra/compose.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../shared/config/schema.ts';
import type { HandlerOutcome } from '../../shared/ports/event-bus.ts';
import { startPubSubEmulator } from '../support/pubsub-emulator.ts';
import { BTC, putBook, putVenue } from '../unit/app/harness.ts';
import { badInputs } from './bad-input.ts';
import { check, fmtInt, pct, pool, result, type ScenarioResult } from './harness.ts';

export interface AtLeastOnceOptions {
  instructions: number;
  /** Malformed instructions published once each (test/chaos/bad-input.ts), expected dead-lettered with a reason. */
  badInputs: number;
  seed: number;
  progress?: ((line: string) => void) | undefined;
  /** Give up waiting after this long (the scenario is bounded). */
  timeoutMs: number;
}

const COPIES = 3;
const MAX_BACKLOG = 2_000;
const BATCH = 1_000;

function nackFirst(messageKey: string): boolean {
  return (createHash('sha1').update(messageKey).digest()[0] as number) % 3 === 0;
}

export async function runAtLeastOnceScenario(o: AtLeastOnceOptions): Promise<ScenarioResult[]> {
  const started = performance.now();
  const deadline = Date.now() + o.timeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'chaos-alo-'));
  const configFor = (bus: 'pubsub' | 'memory', project: string) =>
    parseConfig(
      {
        ...EMBEDDED_CONFIG,
        risk: {
          ...EMBEDDED_CONFIG.risk,
          max_orders_per_second: 100_000,
          max_orders_per_minute: 1_000_000,
          max_total_notional: '1000000000000',
        },
        storage: { order_store: 'local', bus, blob: 'local', data_dir: dir, gcp_project: project },
      },
      { env: {} },
    );
  const t: Totals = {
    deliveries: 0,
    nacks: 0,
    handled: 0,
    expected: 0,
    republished: 0,
    routed: new Set(),
    badAccepted: [],
    deadLetters: new Map(),
    badRouted: 0,
  };
  const bad = badInputs(o.badInputs, o.seed, 1024 * 1024 + 1);
  const batches = Math.max(1, Math.ceil(o.instructions / BATCH));
  try {
    for (let b = 0; b < batches; b++) {
      const from = b * BATCH;
      const ops = Array.from({ length: Math.min(BATCH, o.instructions - from) }, (_, i) => `ALO-${from + i}`);
      const badFrom = Math.floor((b * bad.length) / batches);
      const badTo = Math.floor(((b + 1) * bad.length) / batches);
      await runBatch(o, configFor, ops, bad, badFrom, badTo, t, deadline);
      o.progress?.(
        `  batch ${b + 1}/${batches}: handled ${t.handled}/${t.expected}, dead letters ${t.deadLetters.size}/${badTo}`,
      );
    }

    // The audit, over the order store every batch wrote.
    const platform = await createPlatform(configFor('memory', 'demo-test'), {
      env: { METADATA_SERVER_DETECTION: 'none' },
      warn: () => undefined,
    });
    try {
      const ops = Array.from({ length: o.instructions }, (_, i) => `ALO-${i}`);
      let lost = 0;
      let duplicateEvents = 0;
      let routedOrders = 0;
      for (const op of ops) {
        const order = await platform.orders.get(op);
        if (order === null) {
          lost += 1;
          continue;
        }
        if (order.venue !== null) routedOrders += 1;
        const types = (await platform.orders.timeline(op)).map((e) => e.type);
        if (new Set(types).size !== types.length) duplicateEvents += 1;
      }
      // Every order of the strategy, page by page (newest first, 1,000 at most per query): exactly
      // one per instruction, none extra.
      const all = new Map<string, string>();
      for (let to: bigint | undefined; ; ) {
        const page = await platform.orders.query({ strategy_id: 'chaos-alo', to, limit: 1000 });
        let added = 0;
        for (const x of page)
          if (!all.has(x.order_id)) {
            all.set(x.order_id, x.operation_id);
            added += 1;
          }
        if (page.length < 1000 || added === 0) break;
        let oldest = page[0]!.ts_created;
        for (const x of page) if (x.ts_created < oldest) oldest = x.ts_created;
        to = oldest + 1n;
      }
      const rows = all.size;
      const opsStored = new Set(all.values());
      const duplicateOrders =
        rows - opsStored.size + [...opsStored].filter((op) => !op.startsWith('ALO-')).length;
      const withReason = [...t.deadLetters.values()].filter((r) => r.length > 0).length;
      const badResult = result(
        'bad input (Pub/Sub)',
        `${fmtInt(bad.length)} malformed instructions (the same generator) on orders.requests, through the order intake`,
        [
          ['dead-lettered with a reason', pct(withReason, bad.length)],
          ['accepted', t.badAccepted.length],
          ['venue orders', t.badRouted],
        ],
        [
          check(withReason === bad.length, `${bad.length - withReason} not dead-lettered with a reason`),
          check(t.badAccepted.length === 0, `accepted: ${t.badAccepted.slice(0, 5).join(', ')}`),
          check(t.badRouted === 0, `${t.badRouted} routed`),
        ],
        started,
      );
      const aloResult = result(
        'at-least-once',
        `${fmtInt(ops.length)} instructions × ${COPIES} publishes on the Pub/Sub emulator (batches of ${fmtInt(BATCH)}, a fresh emulator each), every third delivery nacked first`,
        [
          ['deliveries', t.deliveries],
          ['nacks', t.nacks],
          ['orders', ops.length - lost],
          ['orders of the strategy in the store', rows],
          ['lost', lost],
          ['duplicate orders', duplicateOrders],
          ['duplicate events', duplicateEvents],
          ['routed orders', routedOrders],
          ['route re-publishes (the edge takes one per operation_id)', t.republished],
        ],
        [
          check(t.handled === t.expected, `${t.expected - t.handled} messages not handled in time`),
          check(lost === 0, `${lost} instructions lost`),
          check(duplicateOrders === 0, `${duplicateOrders} orders beyond one per instruction`),
          check(rows === ops.length, `${rows} orders in the store for ${ops.length} instructions`),
          check(duplicateEvents === 0, `${duplicateEvents} timelines with an event twice`),
        ],
        started,
      );
      return [aloResult, badResult];
    } finally {
      await platform.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Totals {
  deliveries: number;
  nacks: number;
  /** Distinct messages (copy × instruction, and malformed ones) handled, over every batch. */
  handled: number;
  expected: number;
  republished: number;
  routed: Set<string>;
  badAccepted: string[];
  deadLetters: Map<string, string>;
  badRouted: number;
}

/** One batch: a fresh emulator, the platform over it, its instructions × COPIES and its malformed share. */
async function runBatch(
  o: AtLeastOnceOptions,
  configFor: (bus: 'pubsub', project: string) => ReturnType<typeof parseConfig>,
  ops: string[],
  bad: ReturnType<typeof badInputs>,
  badFrom: number,
  badTo: number,
  t: Totals,
  deadline: number,
): Promise<void> {
  const emulator = await startPubSubEmulator();
  try {
    const platform = await createPlatform(configFor('pubsub', emulator.projectId), {
      env: { PUBSUB_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: 'none' },
      warn: () => undefined,
    });
    try {
      // Quotes an hour ahead, so the book stays fresh for the whole batch.
      const later = { now: () => BigInt(Date.now() + 3_600_000) * 1_000_000n } as Parameters<
        typeof putBook
      >[1];
      await putBook(platform.marketState, later, 'BINANCE-SPOT', BTC, '60000', '100000');
      await putVenue(platform.marketState, later, 'BINANCE-SPOT', 'UP', { USDT: '1000000000000' });
      const service = createPlatformOrderService(platform);
      const routes = new Map<string, number>();
      const handled = new Set<string>();
      const badDead = new Set<string>();
      const routedSub = await platform.bus.subscribe('orders.routed', 'chaos.orders.routed', async (m) => {
        const op =
          (JSON.parse(new TextDecoder().decode(m.data)) as { operation_id?: string }).operation_id ?? '?';
        routes.set(op, (routes.get(op) ?? 0) + 1);
        return { kind: 'ack' };
      });
      const intake = await platform.bus.subscribe(
        'orders.requests',
        'order-intake.orders.requests',
        async (m): Promise<HandlerOutcome> => {
          t.deliveries += 1;
          const key = `${m.attributes.copy ?? ''}:${m.attributes.op ?? ''}`;
          if (m.attributes.bad === undefined && m.deliveryAttempt === 1 && nackFirst(key)) {
            t.nacks += 1;
            return { kind: 'nack' };
          }
          const outcome = await service.submit(m.data, {
            via: 'pubsub',
            message_id: m.id,
            delivery_attempt: m.deliveryAttempt,
          });
          handled.add(key);
          if (m.attributes.bad !== undefined && outcome.kind !== 'invalid') t.badAccepted.push(key);
          const v = intakeVerdict(outcome);
          return v.kind === 'dead_letter' ? { kind: 'dead_letter', reason: v.reason } : { kind: 'ack' };
        },
        { maxDeliveryAttempts: 5, maxInFlight: 64 },
      );
      const dlq = await platform.bus.subscribe(
        'order-intake.orders.requests.dlq',
        'chaos.order-intake.dlq',
        async (m) => {
          if (m.attributes.bad !== undefined) {
            const op = m.attributes.op ?? '?';
            badDead.add(op);
            t.deadLetters.set(op, m.attributes.dead_letter_reason ?? '');
          }
          return { kind: 'ack' };
        },
      );

      // The publisher keeps at most MAX_BACKLOG messages ahead of the consumer (a strategy service
      // publishes at its own pace, not thousands in one burst).
      let published = 0;
      await pool(32, ops.length * COPIES, async (k) => {
        const op = ops[k % ops.length] as string;
        const copy = Math.floor(k / ops.length);
        while (published - handled.size >= MAX_BACKLOG) await new Promise((r) => setTimeout(r, 20));
        published += 1;
        await platform.bus.publish(
          'orders.requests',
          {
            operation_id: op,
            instrument_key: BTC,
            side: k % 2 === 0 ? 'BUY' : 'SELL',
            quantity: '0.001',
            price: null,
            order_type: 'MARKET',
            time_in_force: 'GTC',
            strategy_id: 'chaos-alo',
            exec_algorithm: 'NORMAL',
            exec_algorithm_params: {},
          },
          { op, copy: String(copy) },
        );
      });
      await pool(16, badTo - badFrom, async (j) => {
        const i = badFrom + j;
        await platform.bus.publish('orders.requests', (bad[i] as (typeof bad)[number]).body, {
          bad: '1',
          op: `BAD-${i}`,
          copy: 'bad',
        });
      });
      const expected = ops.length * COPIES + (badTo - badFrom);
      let shown = Date.now();
      while ((handled.size < expected || badDead.size < badTo - badFrom) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        if (Date.now() - shown > 15_000) {
          shown = Date.now();
          o.progress?.(
            `  handled ${handled.size}/${expected}, dead letters ${badDead.size}/${badTo - badFrom}`,
          );
        }
      }
      // Let the last routes arrive.
      const routesDeadline = Date.now() + 10_000;
      while (routes.size < ops.length && Date.now() < routesDeadline)
        await new Promise((r) => setTimeout(r, 250));
      await intake.close();
      await routedSub.close();
      await dlq.close();
      t.handled += handled.size;
      t.expected += expected;
      t.republished += [...routes.values()].reduce((a, n) => a + n, 0) - routes.size;
      t.badRouted += [...routes.keys()].filter((op) => !op.startsWith('ALO-')).length;
    } finally {
      await platform.close();
    }
  } finally {
    await emulator.stop();
  }
}

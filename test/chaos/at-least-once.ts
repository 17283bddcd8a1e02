/**
 * At-least-once delivery: order instructions published to `orders.requests` on the Pub/Sub
 * emulator (a real process, started here), each published THREE times (duplicate publishes), and
 * a nack storm on top (every third message refused on its first delivery, so Pub/Sub redelivers
 * it). The consumer is the order intake as the function runs it — the order service over the
 * platform's composition with the Pub/Sub bus — and the routed orders go back out on Pub/Sub.
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

function nackFirst(messageKey: string): boolean {
  return (createHash('sha1').update(messageKey).digest()[0] as number) % 3 === 0;
}

export async function runAtLeastOnceScenario(o: AtLeastOnceOptions): Promise<ScenarioResult[]> {
  const started = performance.now();
  const emulator = await startPubSubEmulator();
  const dir = await mkdtemp(join(tmpdir(), 'chaos-alo-'));
  try {
    const config = parseConfig(
      {
        ...EMBEDDED_CONFIG,
        risk: {
          ...EMBEDDED_CONFIG.risk,
          max_orders_per_second: 100_000,
          max_orders_per_minute: 1_000_000,
          max_total_notional: '1000000000000',
        },
        storage: {
          order_store: 'local',
          bus: 'pubsub',
          blob: 'local',
          data_dir: dir,
          gcp_project: emulator.projectId,
        },
      },
      { env: {} },
    );
    const platform = await createPlatform(config, {
      env: { PUBSUB_EMULATOR_HOST: emulator.host, METADATA_SERVER_DETECTION: 'none' },
      warn: () => undefined,
    });
    try {
      // Quotes an hour ahead, so the book stays fresh for the whole run.
      const later = { now: () => BigInt(Date.now() + 3_600_000) * 1_000_000n } as Parameters<
        typeof putBook
      >[1];
      await putBook(platform.marketState, later, 'BINANCE-SPOT', BTC, '60000', '100000');
      await putVenue(platform.marketState, later, 'BINANCE-SPOT', 'UP', { USDT: '1000000000000' });
      const service = createPlatformOrderService(platform);
      const routes = new Map<string, number>();
      let deliveries = 0;
      let nacks = 0;
      const handled = new Set<string>();
      const badAccepted: string[] = [];
      const deadLetters = new Map<string, string>();
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
          deliveries += 1;
          const key = `${m.attributes.copy ?? ''}:${m.attributes.op ?? ''}`;
          if (m.attributes.bad === undefined && m.deliveryAttempt === 1 && nackFirst(key)) {
            nacks += 1;
            return { kind: 'nack' };
          }
          const outcome = await service.submit(m.data, {
            via: 'pubsub',
            message_id: m.id,
            delivery_attempt: m.deliveryAttempt,
          });
          handled.add(key);
          if (m.attributes.bad !== undefined && outcome.kind !== 'invalid') badAccepted.push(key);
          const v = intakeVerdict(outcome);
          return v.kind === 'dead_letter' ? { kind: 'dead_letter', reason: v.reason } : { kind: 'ack' };
        },
        { maxDeliveryAttempts: 5, maxInFlight: 64 },
      );

      const dlq = await platform.bus.subscribe(
        'order-intake.orders.requests.dlq',
        'chaos.order-intake.dlq',
        async (m) => {
          if (m.attributes.bad !== undefined)
            deadLetters.set(m.attributes.op ?? '?', m.attributes.dead_letter_reason ?? '');
          return { kind: 'ack' };
        },
      );

      const ops = Array.from({ length: o.instructions }, (_, i) => `ALO-${i}`);
      await pool(32, ops.length * COPIES, async (k) => {
        const op = ops[k % ops.length] as string;
        const copy = Math.floor(k / ops.length);
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
      o.progress?.(`  published ${ops.length * COPIES} instructions`);
      const bad = badInputs(o.badInputs, o.seed, 1024 * 1024 + 1);
      await pool(16, bad.length, async (i) => {
        await platform.bus.publish('orders.requests', (bad[i] as (typeof bad)[number]).body, {
          bad: '1',
          op: `BAD-${i}`,
          copy: 'bad',
        });
      });
      const expected = ops.length * COPIES + bad.length;
      const deadline = Date.now() + o.timeoutMs;
      let shown = Date.now();
      while ((handled.size < expected || deadLetters.size < bad.length) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        if (Date.now() - shown > 10_000) {
          shown = Date.now();
          o.progress?.(
            `  handled ${handled.size}/${expected}, dead letters ${deadLetters.size}/${bad.length}`,
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
      const all = await platform.orders.query({ strategy_id: 'chaos-alo', limit: 1000 });
      const orderCount = ops.length - lost;
      const duplicateOrders = new Set(all.map((x) => x.operation_id)).size !== all.length ? 1 : 0;
      const republished = [...routes.values()].reduce((a, n) => a + n, 0) - routes.size;
      const withReason = [...deadLetters.values()].filter((r) => r.length > 0).length;
      const badRouted = [...routes.keys()].filter((op) => !op.startsWith('ALO-')).length;
      const badResult = result(
        'bad input (Pub/Sub)',
        `${fmtInt(bad.length)} malformed instructions (the same generator) on orders.requests, through the order intake`,
        [
          ['dead-lettered with a reason', pct(withReason, bad.length)],
          ['accepted', badAccepted.length],
          ['venue orders', badRouted],
        ],
        [
          check(withReason === bad.length, `${bad.length - withReason} not dead-lettered with a reason`),
          check(badAccepted.length === 0, `accepted: ${badAccepted.slice(0, 5).join(', ')}`),
          check(badRouted === 0, `${badRouted} routed`),
        ],
        started,
      );
      const aloResult = result(
        'at-least-once',
        `${fmtInt(ops.length)} instructions × ${COPIES} publishes on the Pub/Sub emulator, every third delivery nacked first`,
        [
          ['deliveries', deliveries],
          ['nacks', nacks],
          ['orders', orderCount],
          ['lost', lost],
          ['duplicate orders', duplicateOrders],
          ['duplicate events', duplicateEvents],
          ['routed orders', routedOrders],
          ['route re-publishes (the edge takes one per operation_id)', republished],
        ],
        [
          check(handled.size === expected, `${expected - handled.size} messages not handled in time`),
          check(lost === 0, `${lost} instructions lost`),
          check(duplicateOrders === 0, 'an operation_id stored twice'),
          check(duplicateEvents === 0, `${duplicateEvents} timelines with an event twice`),
        ],
        started,
      );
      return [aloResult, badResult];
    } finally {
      await platform.close();
    }
  } finally {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

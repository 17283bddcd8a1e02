/**
 * Rebalancing under `npm start` (docs/rebalancing.md): a watcher on the configured folder
 * (`rebalance.watch_dir`, relative to `storage.data_dir`) hands every new or changed `*.json` file
 * to the rebalance service — the same one the Cloud Function calls — which publishes the orders to
 * `orders.requests`. With the in-process bus (`storage.bus: memory`) nothing else consumes that
 * topic, so the watcher also runs the ordinary intake for it: each message goes to the
 * OrderService (validation, idempotent create, risk, routing) exactly as the `order-intake`
 * function does in the cloud. With Pub/Sub, the deployed `order-intake` function consumes it.
 *
 * A file is looked at again only when its size or modification time changed; re-saving identical
 * bytes is a DUPLICATE by content (no second order). Polling (not fs.watch) so it behaves the same
 * on every file system, container volume and network mount.
 */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { OrderService } from '../../shared/app/order-service.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import type { EventBus, Subscription } from '../../shared/ports/event-bus.ts';
import type { RebalanceRecord, RebalanceService } from '../../shared/rebalance/rebalance-service.ts';
import { ORDERS_REQUESTS_TOPIC } from '../../shared/rebalance/rebalance-service.ts';

export interface WatcherLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RebalanceWatcherOptions {
  config: AppConfig;
  service: RebalanceService;
  bus: EventBus;
  orders: Pick<OrderService, 'submit'>;
  log: WatcherLog;
  /** Called with every record (tests, metrics). */
  onRecord?: ((r: RebalanceRecord) => void) | undefined;
}

export interface RebalanceWatcher {
  readonly dir: string;
  /** Look at the folder now (the poll does this every `poll_ms`). */
  scan(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The in-process intake's subscription on the memory bus ("local-intake" + the topic). It never
 * exists on Pub/Sub (with Pub/Sub the `order-intake` function consumes the topic), so Terraform
 * declares no such subscription.
 */
export const LOCAL_INTAKE_SUBSCRIPTION = ['local-intake', ORDERS_REQUESTS_TOPIC].join('.');

export function watchDirOf(config: AppConfig): string {
  const dir = config.rebalance.watch_dir;
  return isAbsolute(dir) ? dir : join(config.storage.data_dir, dir);
}

export async function startRebalanceWatcher(o: RebalanceWatcherOptions): Promise<RebalanceWatcher | null> {
  if (!o.config.rebalance.enabled) return null;
  const dir = watchDirOf(o.config);
  await mkdir(dir, { recursive: true });
  let intake: Subscription | null = null;
  if (o.config.storage.bus === 'memory') {
    intake = await o.bus.subscribe(ORDERS_REQUESTS_TOPIC, LOCAL_INTAKE_SUBSCRIPTION, async (msg) => {
      try {
        const out = await o.orders.submit(msg.data, {
          via: 'pubsub',
          message_id: msg.id,
          delivery_attempt: msg.deliveryAttempt,
        });
        if (out.kind === 'invalid') return { kind: 'dead_letter', reason: out.code };
        return { kind: 'ack' };
      } catch (err) {
        o.log.warn({ err, operation_id: msg.attributes.operation_id }, 'order intake failed; redelivering');
        return { kind: 'nack' };
      }
    });
  }
  const seen = new Map<string, string>();
  let running: Promise<void> | null = null;
  let stopped = false;

  const scanOnce = async () => {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (err) {
      o.log.error({ err, dir }, 'cannot list the weights folder');
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const s = await stat(path).catch(() => null);
      if (s === null || !s.isFile()) continue;
      const mark = `${s.size}:${s.mtimeMs}`;
      if (seen.get(path) === mark) continue;
      try {
        const bytes = new Uint8Array(await readFile(path));
        const r = await o.service.onWeightsFile({ source: path, bytes });
        seen.set(path, mark);
        o.onRecord?.(r);
        const fields = {
          file: path,
          rebalance_id: r.rebalance_id,
          strategy_id: r.strategy_id,
          status: r.status,
          orders: r.instructions.length,
        };
        if (r.status === 'INVALID' || r.status === 'UNPLANNABLE') {
          o.log.warn(
            { ...fields, issues: r.issues },
            `weights file ${name} ${r.status === 'INVALID' ? 'rejected' : 'not plannable'}: no order`,
          );
        } else o.log.info(fields, `rebalance ${r.status.toLowerCase()}: ${name}`);
      } catch (err) {
        // Transient (a store or the bus): the next poll tries again.
        o.log.error({ err, file: path }, 'rebalance failed; will retry');
      }
    }
  };
  const scan = () => {
    running ??= scanOnce().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void scan();
  }, o.config.rebalance.poll_ms);
  timer.unref();
  void scan();
  o.log.info({ dir, poll_ms: o.config.rebalance.poll_ms }, `watching ${dir} for weights files`);
  return {
    dir,
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await intake?.close();
    },
  };
}

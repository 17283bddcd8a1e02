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
import { Counter, type Registry } from 'prom-client';
import type { OrderService } from '../../shared/app/order-service.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import type { EventBus, Subscription } from '../../shared/ports/event-bus.ts';
import type { NavAlert } from '../../shared/rebalance/nav.ts';
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
  /** Where `rebalance_nav_alerts_total` is registered (the service's /metrics registry). */
  registry?: Registry | undefined;
  /** Called last by stop() (closes what the watcher's service holds, e.g. the portfolio store). */
  onStop?: (() => Promise<void>) | undefined;
  /** Wall clock in ms, for the daily NAV snapshot (default Date.now). */
  nowMs?: (() => number) | undefined;
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
  const alerts = new Counter({
    name: 'rebalance_nav_alerts_total',
    help: 'NAV alerts of rebalanced portfolios: NAV_FLAT (unchanged while positions are held) or NAV_UNCOMPUTABLE',
    labelNames: ['kind', 'strategy_id'] as const,
    registers: o.registry ? [o.registry] : [],
  });
  const nowMs = o.nowMs ?? Date.now;
  /** Published rebalances whose orders are not all final yet. */
  const pending = new Map<string, RebalanceRecord>();
  /** Completed strategies: their quote, instruments and the UTC day of the last NAV snapshot. */
  const portfolios = new Map<string, { quote: string; keys: string[]; day: string }>();
  const alert = (strategyId: string, a: NavAlert | null) => {
    if (a === null) return;
    alerts.inc({ kind: a.kind, strategy_id: strategyId });
    o.log.warn({ event: 'PortfolioNavAlerted', strategy_id: strategyId, ...a }, a.message);
  };
  const settle = async () => {
    for (const [id, r] of pending) {
      try {
        const c = await o.service.complete(r);
        if (c.status === 'PENDING') continue;
        pending.delete(id);
        const strategyId = c.state.strategy_id;
        portfolios.set(strategyId, {
          quote: c.state.quote_currency,
          keys: c.state.instruments.map((x) => x.instrument_key),
          day: new Date(nowMs()).toISOString().slice(0, 10),
        });
        o.log.info(
          {
            event: 'PortfolioActualStateWritten',
            strategy_id: strategyId,
            rebalance_id: id,
            nav: c.state.nav,
          },
          `actual state of ${strategyId} written after rebalance ${id}`,
        );
        alert(strategyId, c.alert);
      } catch (err) {
        o.log.error({ err, rebalance_id: id }, 'completing the rebalance failed; will retry');
      }
    }
    const today = new Date(nowMs()).toISOString().slice(0, 10);
    for (const [strategyId, p] of portfolios) {
      if (p.day === today) continue;
      try {
        const r = await o.service.snapshotNav(strategyId, p.quote, p.keys, 'DAILY');
        p.day = today;
        alert(strategyId, r.alert);
      } catch (err) {
        o.log.error({ err, strategy_id: strategyId }, 'daily NAV snapshot failed; will retry');
      }
    }
  };
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
        if (r.status === 'PUBLISHED') pending.set(r.rebalance_id, r);
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
    running ??= scanOnce()
      .then(settle)
      .finally(() => {
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
      await o.onStop?.();
    },
  };
}

/**
 * Child processes of the edge benchmark's memory part (test/bench/edge.bench.ts, part 3), so that
 * each figure belongs to one thing:
 *
 *   node --import tsx --expose-gc edge-memory-host.ts exchanges   five local exchanges (the "venues")
 *   node --import tsx --expose-gc edge-memory-host.ts sessions    five ccxt venue sessions (the edge)
 *
 * The parent drives both over IPC: `sample` (a forced full GC, then `process.memoryUsage()`),
 * `open` (sessions: connect + watch), `stop`. Each host imports only what its role needs (dynamic
 * imports), so the sessions host's memory is the runtime + ccxt + the adapter + the sessions and
 * nothing of the exchanges or of the benchmark's other parts.
 */
import { guardLoopback } from './loopback-guard.ts';

export interface MemSample {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Peak RSS of the process so far (getrusage). */
  maxRssBytes: number;
  /** A full GC ran before the reading (false when --expose-gc is missing). */
  gc: boolean;
}

export interface ExchangeEndpoint {
  url: string;
  apiKey: string;
  secret: string;
}

export interface SessionCounters {
  /** Venue events received by kind, summed over the sessions. */
  events: Record<string, number>;
  submits: number;
  submitErrors: number;
  /** Sessions whose private and public streams are both up (from `diagnostics()`). */
  streamsUp: number;
  health: string[];
}

export type HostCommand = { type: 'sample' } | { type: 'open' } | { type: 'stop' };

export type HostReply =
  | {
      type: 'ready';
      role: 'exchanges';
      exchanges: ExchangeEndpoint[];
      /** Before anything of the role was imported: node + tsx. */
      bare: MemSample;
      mem: MemSample;
      startMs: number;
    }
  | { type: 'ready'; role: 'sessions'; bare: MemSample; mem: MemSample }
  | { type: 'sample'; mem: MemSample; counters?: SessionCounters | undefined; violations: string[] }
  | { type: 'opened'; ms: number; counters: SessionCounters }
  | { type: 'stopped'; counters?: SessionCounters | undefined; violations: string[] }
  | { type: 'error'; message: string };

export const SESSION_COUNT = 5;
export const MEMORY_KEYS = ['BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT'];

export function sampleMemory(): MemSample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  const m = process.memoryUsage();
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    gc: gc !== undefined,
  };
}

function send(reply: HostReply): void {
  process.send?.(reply);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function exchangesHost(bare: MemSample): Promise<void> {
  const { startLocalExchange } = await import('../../../dev/local-exchange/index.ts');
  const t0 = performance.now();
  const exchanges = await Promise.all(
    Array.from({ length: SESSION_COUNT }, (_, i) =>
      startLocalExchange({ seed: 101 + i, apiKey: `bench-key-${i}`, secret: `bench-secret-${i}` }),
    ),
  );
  const startMs = Math.round(performance.now() - t0);
  const guard = guardLoopback();
  process.on('message', (command: HostCommand) => {
    if (command.type === 'sample')
      send({ type: 'sample', mem: sampleMemory(), violations: guard.violations });
    else if (command.type === 'stop') {
      void Promise.allSettled(exchanges.map((ex) => ex.stop())).then(() => {
        send({ type: 'stopped', violations: guard.violations });
        process.disconnect?.();
      });
    }
  });
  send({
    type: 'ready',
    role: 'exchanges',
    exchanges: exchanges.map((ex) => ({ url: ex.url, apiKey: ex.apiKey, secret: ex.secret })),
    bare,
    mem: sampleMemory(),
    startMs,
  });
}

async function sessionsHost(bare: MemSample): Promise<void> {
  const endpoints = JSON.parse(process.env.EDGE_BENCH_EXCHANGES ?? '[]') as ExchangeEndpoint[];
  if (endpoints.length === 0) throw new Error('EDGE_BENCH_EXCHANGES is empty');
  const guard = guardLoopback();
  const { createCcxtVenue } = await import('../../../infra/ccxt/index.ts');
  const { orderIdFor } = await import('../../../shared/app/order-id.ts');
  type Venue = ReturnType<typeof createCcxtVenue>;
  const clock = { now: () => BigInt(Date.now()) * 1_000_000n };
  const venues: Venue[] = [];
  const timers: NodeJS.Timeout[] = [];
  const counters: SessionCounters = { events: {}, submits: 0, submitErrors: 0, streamsUp: 0, health: [] };
  const refresh = (): SessionCounters => {
    counters.streamsUp = venues.filter((v) => {
      const s = v.diagnostics().streams;
      return s.private === 'up' && s.public === 'up';
    }).length;
    counters.health = venues.map((v) => v.health().state);
    return { ...counters, events: { ...counters.events } };
  };

  const open = async (): Promise<void> => {
    endpoints.forEach((ep, i) => {
      venues.push(
        createCcxtVenue({
          venue: {
            id: 'BINANCE-SPOT',
            exchange: 'binance',
            mode: 'LIVE',
            sandbox: false,
            instrument_types: ['SPOT_PAIR'],
            rate_limit_per_second: 50,
            // The configuration's URL overrides, as a deployment points a session at a testnet.
            urls: { rest: ep.url, ws: ep.url.replace(/^http/, 'ws') },
          },
          account: { account_id: `bench-account-${i}`, api_key: ep.apiKey, api_secret: ep.secret },
          clock,
          instrumentKeys: MEMORY_KEYS,
        }),
      );
    });
    await Promise.all(
      venues.map(async (venue) => {
        await venue.connect();
        await venue.watch([...MEMORY_KEYS], (event) => {
          counters.events[event.kind] = (counters.events[event.kind] ?? 0) + 1;
        });
      }),
    );
    // Private activity: each session sends a small market order every 2 s (staggered), alternating sides.
    venues.forEach((venue, i) => {
      let n = 0;
      const order = () => {
        n += 1;
        counters.submits += 1;
        venue
          .submit({
            client_order_id: orderIdFor(`mem-${process.pid}-${i}-${n}`),
            instrument_key: MEMORY_KEYS[n % 2] ?? MEMORY_KEYS[0] ?? '',
            side: n % 4 < 2 ? 'BUY' : 'SELL',
            order_type: 'MARKET',
            quantity: n % 2 === 0 ? '0.001' : '0.01',
            price: null,
            time_in_force: 'GTC',
          })
          .catch(() => {
            counters.submitErrors += 1;
          });
      };
      timers.push(
        setTimeout(
          () => {
            order();
            timers.push(setInterval(order, 2_000));
          },
          (i * 2_000) / venues.length,
        ),
      );
    });
  };

  process.on('message', (command: HostCommand) => {
    if (command.type === 'sample') {
      send({ type: 'sample', mem: sampleMemory(), counters: refresh(), violations: guard.violations });
    } else if (command.type === 'open') {
      const t0 = performance.now();
      open().then(
        () => send({ type: 'opened', ms: Math.round(performance.now() - t0), counters: refresh() }),
        (err: unknown) => send({ type: 'error', message: `open: ${messageOf(err)}` }),
      );
    } else if (command.type === 'stop') {
      for (const t of timers) clearTimeout(t);
      const final = refresh();
      void Promise.allSettled(venues.map((v) => v.close())).then(() => {
        send({ type: 'stopped', counters: final, violations: guard.violations });
        process.disconnect?.();
      });
    }
  });
  send({ type: 'ready', role: 'sessions', bare, mem: sampleMemory() });
}

const role = process.argv[2];
if (role === 'exchanges' || role === 'sessions') {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  // The parent going away (a crash, Ctrl-C) takes this host with it.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 2_000).unref());
  const bare = sampleMemory();
  (role === 'exchanges' ? exchangesHost(bare) : sessionsHost(bare)).catch((err: unknown) => {
    send({ type: 'error', message: `${role} host: ${messageOf(err)}` });
    process.exit(1);
  });
}

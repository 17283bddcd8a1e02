/**
 * What the ops console adds to the service's HTTP API, wired from the platform's ports: the
 * trading-state control, the execution event stream, the catalog and venue states, service
 * detection, live TCA, backtest results and the built console itself (console/dist). The routes
 * live in stateful/api; this only connects them to the ports of one running service.
 *
 * Venue diagnostics reach the event stream through a subscription to `exec.orders` (diagnostic
 * messages only) when the bus is in-process; with Pub/Sub the stream shows orders and trading-state
 * changes (the diagnostics stay in Cloud Logging and on the topic).
 */
import { fileURLToPath } from 'node:url';
import type { Platform } from '../infra/compose.ts';
import { ORDER_UPDATES_TOPIC, venueInstrumentKey } from '../shared/app/messages.ts';
import { VenueDiagnosticMessageSchema } from '../shared/app/venue-edge-messages.ts';
import type { DecimalString } from '../shared/domain/decimal.ts';
import type { Position } from '../shared/domain/types.ts';
import type { Subscription } from '../shared/ports/event-bus.ts';
import type { ServiceMap } from './api/catalog/index.ts';
import type { LocalExchangeControl } from './api/dev/index.ts';
import { createEventFeed, DiagnosticJournal } from './api/events/feed.ts';
import type { ApiDeps } from './api/index.ts';
import type { VenueSessionSnapshot } from './edge/status.ts';

/** Where `npm run console:build` (and `npm start`'s prestart) writes the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../console/dist', import.meta.url));

/** Diagnostics that are routine (not warnings) in the event stream. */
const ROUTINE = new Set(['clock_offset', 'polling']);

export interface ConsoleWiring {
  deps: Pick<
    ApiDeps,
    'marks' | 'tradingState' | 'events' | 'catalog' | 'tca' | 'backtests' | 'consoleDir' | 'localExchange'
  >;
  close(): Promise<void>;
}

export interface ConsoleWiringOptions {
  platform: Platform;
  /** What runs in this process, for service detection (read on every request). */
  services: () => Omit<ServiceMap, 'api' | 'trading_state' | 'backtest_results'>;
  /** The venue edge's session snapshots (read on every request; empty while no edge runs). */
  sessions?: (() => readonly VenueSessionSnapshot[]) | undefined;
  /** Serve the console from here (default console/dist). */
  consoleDir?: string | undefined;
  /** The local exchange `npm start` runs in process, for `/api/dev/local-exchange`. */
  localExchange?: {
    url: string;
    faults: { offline(): void; online(): void; readonly offlineNow: boolean };
  } | null;
}

/** The latest mid of each instrument over the venues its positions are on. */
export function marksFrom(platform: Pick<Platform, 'marketState'>) {
  return async (positions: readonly Position[]): Promise<Record<string, DecimalString | null>> => {
    const keys: Array<{ instrument: string; venue: string; instrument_key: string }> = [];
    for (const p of positions) {
      for (const venue of Object.keys(p.venues)) {
        try {
          keys.push({
            instrument: p.instrument_key,
            venue,
            instrument_key: venueInstrumentKey(p.instrument_key, venue),
          });
        } catch {
          // Not a venue-qualified id: no mark from this venue.
        }
      }
    }
    const quotes = keys.length === 0 ? [] : await platform.marketState.getQuotes(keys);
    const out: Record<string, DecimalString | null> = {};
    for (const p of positions) out[p.instrument_key] ??= null;
    keys.forEach((k, i) => {
      const mid = quotes[i]?.mid ?? null;
      if (mid !== null && out[k.instrument] === null) out[k.instrument] = mid;
    });
    return out;
  };
}

function localExchangeControl(ex: NonNullable<ConsoleWiringOptions['localExchange']>): LocalExchangeControl {
  return {
    url: ex.url,
    isOffline: () => ex.faults.offlineNow,
    offline: () => ex.faults.offline(),
    online: () => ex.faults.online(),
  };
}

export async function wireConsole(opts: ConsoleWiringOptions): Promise<ConsoleWiring> {
  const { platform } = opts;
  const journal = new DiagnosticJournal();
  let subscription: Subscription | null = null;
  if (platform.adapters.bus === 'memory') {
    subscription = await platform.bus.subscribe(
      ORDER_UPDATES_TOPIC,
      'exec.orders.console-events',
      async (msg) => {
        try {
          const parsed = VenueDiagnosticMessageSchema.safeParse(
            JSON.parse(new TextDecoder().decode(msg.data)),
          );
          if (parsed.success) {
            const m = parsed.data;
            const d = m.detail;
            const routine =
              ROUTINE.has(m.diagnostic) ||
              (m.diagnostic === 'stream' && d.state === 'up') ||
              (m.diagnostic === 'gap_fill' && d.ok === true) ||
              (m.diagnostic === 'breaker' && d.state === 'closed');
            journal.record({
              venue: m.venue,
              diagnostic: m.diagnostic,
              message: m.message,
              ts_event: BigInt(m.ts_event),
              warning: !routine,
            });
          }
        } catch {
          // Not a diagnostic we can read: the event stream leaves it out.
        }
        return { kind: 'ack' };
      },
      { filter: { diagnostic_message: 'true' } },
    );
  }
  const config = platform.config;
  return {
    deps: {
      marks: marksFrom(platform),
      tradingState: {
        store: platform.tradingState,
        initial: config.risk.initial_trading_state,
        now: () => platform.clock.now(),
      },
      events: createEventFeed({
        orders: platform.orders,
        tradingState: platform.tradingState,
        diagnostics: journal,
      }),
      catalog: {
        instruments: platform.instruments,
        venues: config.venues.map((v) => ({
          id: v.id,
          exchange: v.exchange,
          mode: v.mode,
          enabled: v.enabled,
        })),
        market: platform.marketState,
        now: () => platform.clock.now(),
        sessions: opts.sessions,
        services: () => ({
          api: true,
          trading_state: true,
          backtest_results: true,
          ...opts.services(),
        }),
      },
      tca: platform.orders,
      backtests: platform.blobs,
      consoleDir: opts.consoleDir ?? CONSOLE_DIST,
      ...(opts.localExchange ? { localExchange: localExchangeControl(opts.localExchange) } : {}),
    },
    close: async () => {
      await subscription?.close();
    },
  };
}

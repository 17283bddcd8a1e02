/**
 * Venue edges of the stateful service. Today: the simulated venue, one per `venues[]` entry with
 * `mode: SIMULATED` and `enabled: true` (docs/simulated-venue.md). The ccxt edge (LIVE / SHADOW)
 * will sit beside it and share the ExecutionRecorder.
 *
 * `stateful/main.ts` calls {@link startSimulatedVenues} after the ports are open and BEFORE it
 * starts serving HTTP (an in-process bus only delivers messages published after a subscription
 * exists), and `stop()` before closing the ports.
 */
import type { Logger } from 'pino';
import { type ExecutionLog, ExecutionRecorder } from '../../shared/app/execution-recorder.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import type { InstrumentCatalog } from '../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../shared/ports/market-state.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';
import type { RiskLedgerStore } from '../../shared/ports/risk-ledger-store.ts';
import { SimulatedVenue, type SimulatedVenueOptions } from './simulated/index.ts';

export {
  defaultStartPrice,
  SimulatedVenue,
  type SimulatedVenueConfig,
  type SimulatedVenueDeps,
  type SimulatedVenueOptions,
  SyntheticMarketStream,
} from './simulated/index.ts';

export interface StartSimulatedVenuesDeps {
  config: Pick<AppConfig, 'venues' | 'backtest'>;
  orders: OrderStore;
  positions: PositionStore;
  bus: EventBus;
  clock: Clock;
  instruments: InstrumentCatalog;
  /** The store the order pipeline reads quotes and venue states from (the router needs depth). */
  market?: MarketStateStore | undefined;
  /** The pipeline's risk ledger: reservations are released when orders finish. */
  ledger?: Pick<RiskLedgerStore, 'releaseReservation' | 'recordFill'> | undefined;
  /** Must match the pipeline's `ledgerScope` (default: the one global scope). */
  ledgerScope?: ((order: { instrument_key: string; strategy_id: string }) => string) | undefined;
  /** A pino logger or anything with info/warn. */
  log?: Logger | ExecutionLog | undefined;
  /** Options for every simulated venue (seed defaults to `backtest.seed`). */
  options?: SimulatedVenueOptions | undefined;
}

export interface SimulatedVenues {
  readonly venues: readonly SimulatedVenue[];
  /** The recorder the venues use (the ccxt edge will take the same one). */
  readonly recorder: ExecutionRecorder;
  /** Health per venue id, for the API's `health.venues` (shown as `venue:<id>`). */
  health(): Promise<Record<string, { ok: boolean; detail?: string }>>;
  /** Advance every venue to the clock's now (tests with a TestClock; the timers do it otherwise). */
  tick(): Promise<void>;
  /** Stop every venue (timers, subscriptions); call before closing the ports. */
  stop(): Promise<void>;
}

/** Adapt a pino logger (fields first) to the recorder's log (message first). */
export function executionLog(log: Logger | ExecutionLog): ExecutionLog {
  if (isPino(log)) {
    return {
      info: (message, fields) => log.info(fields ?? {}, message),
      warn: (message, fields) => log.warn(fields ?? {}, message),
    };
  }
  return log;
}

function isPino(log: Logger | ExecutionLog): log is Logger {
  return 'child' in log && typeof log.child === 'function';
}

/** Start one simulated venue per enabled SIMULATED venue of the configuration. */
export async function startSimulatedVenues(deps: StartSimulatedVenuesDeps): Promise<SimulatedVenues> {
  const log = deps.log === undefined ? undefined : executionLog(deps.log);
  const recorder = new ExecutionRecorder({
    orders: deps.orders,
    positions: deps.positions,
    bus: deps.bus,
    clock: deps.clock,
    ledger: deps.ledger,
    ledgerScope: deps.ledgerScope,
    log,
  });
  const venues: SimulatedVenue[] = [];
  try {
    for (const v of deps.config.venues) {
      if (v.mode !== 'SIMULATED' || !v.enabled) continue;
      const venue = new SimulatedVenue(
        {
          venue: v,
          bus: deps.bus,
          recorder,
          instruments: deps.instruments,
          clock: deps.clock,
          market: deps.market,
          orders: deps.orders,
          positions: deps.positions,
          log,
        },
        { seed: deps.config.backtest.seed, ...deps.options },
      );
      await venue.start();
      venues.push(venue);
    }
  } catch (err) {
    for (const v of venues) await v.stop().catch(() => undefined);
    throw err;
  }
  return {
    venues,
    recorder,
    async health() {
      const out: Record<string, { ok: boolean; detail?: string }> = {};
      for (const v of venues) out[v.id] = v.health();
      return out;
    },
    async tick() {
      for (const v of venues) await v.tick();
    },
    async stop() {
      const errors: unknown[] = [];
      for (const v of venues) {
        try {
          await v.stop();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw errors[0];
    },
  };
}

/**
 * What the stateful service's venues share. Every venue — LIVE and SHADOW through ccxt, SIMULATED as
 * a `ShadowVenue` on the seeded moving market (./simulated/data-venue.ts) — runs behind the venue
 * edge (stateful/edge/runtime.ts); they all record through the one {@link ExecutionRecorder} that
 * `stateful/main.ts` builds here after the ports are open.
 */
import type { Logger } from 'pino';
import { type ExecutionLog, ExecutionRecorder } from '../../shared/app/execution-recorder.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import type { OrderStore } from '../../shared/ports/order-store.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';
import type { RiskLedgerStore } from '../../shared/ports/risk-ledger-store.ts';

export interface ExecutionRecorderDeps {
  orders: OrderStore;
  positions: PositionStore;
  bus: EventBus;
  clock: Clock;
  /** The pipeline's risk ledger: reservations are released when orders finish. */
  ledger?: Pick<RiskLedgerStore, 'releaseReservation' | 'recordFill'> | undefined;
  /** Must match the pipeline's `ledgerScope` (default: the one global scope). */
  ledgerScope?: ((order: { instrument_key: string; strategy_id: string }) => string) | undefined;
  /** A pino logger or anything with info/warn. */
  log?: Logger | ExecutionLog | undefined;
  /** Contract size of an instrument for position accounting (the catalog's `contract_size`; undefined: 1). */
  contractSize?: ((instrumentKey: string) => string | undefined) | undefined;
}

/** The one recorder of venue reports (order transitions, fills, positions, ledger) for every venue. */
export function createExecutionRecorder(deps: ExecutionRecorderDeps): ExecutionRecorder {
  return new ExecutionRecorder({
    orders: deps.orders,
    positions: deps.positions,
    bus: deps.bus,
    clock: deps.clock,
    ledger: deps.ledger,
    ledgerScope: deps.ledgerScope,
    log: deps.log === undefined ? undefined : executionLog(deps.log),
    contractSize: deps.contractSize,
  });
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

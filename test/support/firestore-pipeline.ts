/**
 * One "process" of the order pipeline on Firestore: its own client's stores over shared
 * collections (`prefix`), as one Cloud Function instance has — for the risk-under-concurrency
 * tests and the chaos workers that run it in separate OS processes.
 */
import type { Firestore } from '@google-cloud/firestore';
import { FirestoreMarketStateStore } from '../../infra/firestore/market-state.firestore.ts';
import { FirestoreOrderStore } from '../../infra/firestore/order-store.firestore.ts';
import { FirestorePositionStore } from '../../infra/firestore/position-store.firestore.ts';
import { FirestoreRiskLedgerStore } from '../../infra/firestore/risk-ledger.firestore.ts';
import { FirestoreTradingStateStore } from '../../infra/firestore/trading-state.firestore.ts';
import { createOrderService, pipelineSettingsFromConfig } from '../../shared/app/order-pipeline.ts';
import { CachedTradingStateReader } from '../../shared/app/trading-state-cache.ts';
import type { AppConfig } from '../../shared/config/schema.ts';
import { NANOS_PER_MILLI, type Nanos } from '../../shared/domain/time.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { StaticInstrumentCatalog } from '../../shared/ports/instrument-catalog.ts';
import { embeddedSpecs, RecordingBus, testConfig } from '../unit/app/harness.ts';

/** The wall clock (the shell's clock; shared/ code only ever sees the Clock port). */
export const wallClock: Clock = { now: (): Nanos => BigInt(Date.now()) * NANOS_PER_MILLI };

export async function firestorePipeline(
  firestore: Firestore,
  prefix: string,
  opts: { groupCommit?: boolean | undefined; config?: AppConfig | undefined } = {},
) {
  const config = opts.config ?? testConfig();
  const orders = new FirestoreOrderStore({ firestore, collectionPrefix: prefix });
  const ledger = new FirestoreRiskLedgerStore({
    firestore,
    collectionPrefix: prefix,
    groupCommit: opts.groupCommit ?? true,
  });
  const market = new FirestoreMarketStateStore({ firestore, collectionPrefix: prefix });
  const trading = new FirestoreTradingStateStore({ firestore, collectionPrefix: prefix });
  const bus = new RecordingBus();
  const service = createOrderService({
    orders,
    positions: new FirestorePositionStore({ firestore, collectionPrefix: prefix }),
    bus,
    ledger,
    market,
    tradingState: new CachedTradingStateReader(trading, {
      pollMs: config.risk.trading_state_poll_ms,
      clock: wallClock,
    }),
    instruments: new StaticInstrumentCatalog(await embeddedSpecs(), 'config/instruments.json'),
    clock: wallClock,
    ...pipelineSettingsFromConfig(config),
  });
  // Warm the client (connection set-up is not what we measure).
  await ledger.get('warm-up');
  return { service, orders, ledger, market, trading, bus };
}

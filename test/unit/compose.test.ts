import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlatform, Scope, SystemClock } from '../../infra/compose.ts';
import { FirestoreMarketStateStore } from '../../infra/firestore/market-state.firestore.ts';
import { FirestoreOrderStore } from '../../infra/firestore/order-store.firestore.ts';
import { FirestorePositionStore } from '../../infra/firestore/position-store.firestore.ts';
import { FirestoreRiskLedgerStore } from '../../infra/firestore/risk-ledger.firestore.ts';
import { FirestoreTradingStateStore } from '../../infra/firestore/trading-state.firestore.ts';
import { GcsBlobStore } from '../../infra/gcs/blob-store.gcs.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { LocalMarketStateStore } from '../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../infra/local/position-store.local.ts';
import { LocalRiskLedgerStore } from '../../infra/local/risk-ledger.local.ts';
import { LocalTradingStateStore } from '../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../infra/memory/event-bus.memory.ts';
import { PubSubEventBus } from '../../infra/pubsub/event-bus.pubsub.ts';
import { type AppConfig, parseConfig } from '../../shared/config/schema.ts';
import type { OrderRecord } from '../../shared/domain/types.ts';
import { TestClock } from '../../shared/ports/clock.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'compose-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function localConfig(dataDir: string): AppConfig {
  return parseConfig({ storage: { data_dir: dataDir } }, { env: {} });
}

function order(operationId: string): OrderRecord {
  return {
    order_id: `ord_${operationId}`,
    operation_id: operationId,
    parent_order_id: null,
    instrument_key: 'SIM:SPOT_PAIR:BTC-USDT',
    side: 'BUY',
    order_type: 'MARKET',
    time_in_force: 'GTC',
    quantity: '1',
    price: null,
    strategy_id: 's',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    status: 'PENDING',
    venue: null,
    account_id: null,
    client_order_id: null,
    venue_order_id: null,
    filled_quantity: '0',
    avg_fill_price: null,
    fees: '0',
    rejection_reason: null,
    version: 1,
    ts_created: 1n,
    ts_updated: 1n,
  };
}

describe('createPlatform with the embedded defaults', () => {
  it('opens journaled stores under data_dir, the in-process bus and a blob folder under data_dir/blobs', async () => {
    const dir = await tempDir();
    const platform = await createPlatform(localConfig(dir), { env: {} });
    try {
      expect(platform.orders).toBeInstanceOf(LocalOrderStore);
      expect(platform.positions).toBeInstanceOf(LocalPositionStore);
      expect(platform.bus).toBeInstanceOf(MemoryEventBus);
      expect(platform.blobs).toBeInstanceOf(LocalBlobStore);
      expect((platform.blobs as LocalBlobStore).root).toBe(join(dir, 'blobs'));
      expect(platform.riskLedger).toBeInstanceOf(LocalRiskLedgerStore);
      expect(platform.tradingState).toBeInstanceOf(LocalTradingStateStore);
      expect(platform.marketState).toBeInstanceOf(LocalMarketStateStore);
      expect(platform.adapters).toMatchObject({
        order_store: `local ${join(dir, 'orders.jsonl')}`,
        position_store: `local ${join(dir, 'positions.jsonl')}`,
        bus: 'memory',
        blob_store: `local ${join(dir, 'blobs')}`,
        risk_ledger: `local ${join(dir, 'risk-ledger.jsonl')}`,
        trading_state: `local ${join(dir, 'trading-state.jsonl')}`,
        market_state: 'memory',
      });
      expect(Object.keys(platform.health)).toEqual([
        'order_store',
        'position_store',
        'bus',
        'blob_store',
        'risk_ledger',
        'trading_state',
        'market_state',
        'instruments',
      ]);
      // the embedded instrument definitions (config/instruments.json) when the blob store has none
      expect(await platform.instruments.get('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).not.toBeNull();
      for (const [name, check] of Object.entries(platform.health))
        expect((await check()).ok, name).toBe(true);
      expect(platform.config.storage.data_dir).toBe(dir);
    } finally {
      await platform.close();
    }
  });

  it('keeps state across a restart (journals replayed) and closes idempotently', async () => {
    const dir = await tempDir();
    const first = await createPlatform(localConfig(dir), { env: {} });
    await first.orders.create(order('OP-1'), []);
    await first.blobs.put('signals/a.jsonl', '{}\n');
    await first.close();
    await first.close();
    expect((await first.health.order_store?.())?.ok).toBe(false);

    const second = await createPlatform(localConfig(dir), { env: {} });
    try {
      expect((await second.orders.get('OP-1'))?.order_id).toBe('ord_OP-1');
      expect(new TextDecoder().decode(await second.blobs.get('signals/a.jsonl'))).toBe('{}\n');
    } finally {
      await second.close();
    }
  });

  it('uses the clock it is given, else a nanosecond wall clock', async () => {
    const dir = await tempDir();
    const clock = new TestClock(42n);
    const p = await createPlatform(localConfig(dir), { env: {}, clock });
    await p.close();
    expect(p.clock).toBe(clock);
    const q = await createPlatform(localConfig(await tempDir()), { env: {} });
    await q.close();
    expect(q.clock).toBeInstanceOf(SystemClock);
  });

  it('closes what it already opened when a later port fails to open', async () => {
    const dir = await tempDir();
    // positions.jsonl is a folder: the position store cannot open its journal.
    await mkdir(join(dir, 'positions.jsonl'));
    await expect(createPlatform(localConfig(dir), { env: {} })).rejects.toThrow();
    // The order store was closed (its journal lock released): it opens again in this process.
    const again = await LocalOrderStore.open({ dataDir: dir });
    await again.close();
  });
});

describe('createPlatform with the Google adapters', () => {
  it('picks Firestore (one client, prefixed collections), Pub/Sub and Cloud Storage from storage.*', async () => {
    const config = parseConfig(
      {
        storage: {
          order_store: 'firestore',
          bus: 'pubsub',
          blob: 'gcs',
          gcp_project: 'demo-compose',
          collection_prefix: 'dev-',
          bucket: 'exec-bucket',
        },
      },
      { env: {} },
    );
    // Emulator hosts that nothing listens on: building the clients makes no request.
    const env = {
      FIRESTORE_EMULATOR_HOST: '127.0.0.1:9',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
      STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9',
    };
    const platform = await createPlatform(config, { env });
    try {
      expect(platform.orders).toBeInstanceOf(FirestoreOrderStore);
      expect((platform.orders as FirestoreOrderStore).collection).toBe('dev-orders');
      expect(platform.positions).toBeInstanceOf(FirestorePositionStore);
      expect((platform.positions as FirestorePositionStore).collection).toBe('dev-positions');
      expect(platform.bus).toBeInstanceOf(PubSubEventBus);
      expect(platform.blobs).toBeInstanceOf(GcsBlobStore);
      expect((platform.blobs as GcsBlobStore).url).toBe('gs://exec-bucket/');
      expect(platform.riskLedger).toBeInstanceOf(FirestoreRiskLedgerStore);
      expect(platform.tradingState).toBeInstanceOf(FirestoreTradingStateStore);
      expect(platform.marketState).toBeInstanceOf(FirestoreMarketStateStore);
      expect(platform.adapters).toMatchObject({
        order_store: 'firestore demo-compose collection dev-orders',
        position_store: 'firestore demo-compose collection dev-positions',
        bus: 'pubsub demo-compose',
        blob_store: 'gcs gs://exec-bucket/',
        risk_ledger: 'firestore demo-compose collection dev-risk_ledgers',
        trading_state: 'firestore demo-compose collection dev-trading_state',
        market_state: 'firestore demo-compose collection dev-market_quotes, dev-venue_states',
      });
    } finally {
      await platform.close();
    }
  });
});

describe('Scope', () => {
  it('closes in reverse order of opening, runs every close and reports failures', async () => {
    const scope = new Scope();
    const closed: string[] = [];
    await scope.open('a', () => 'A', { close: () => void closed.push('a') });
    scope.adopt('b', 'B', {
      close: () => {
        closed.push('b');
        throw new Error('b broke');
      },
    });
    await scope.open('c', async () => 'C', {
      close: async () => void closed.push('c'),
      health: async () => ({ ok: true }),
    });
    expect(Object.keys(scope.health)).toEqual(['c']);
    await expect(scope.close()).rejects.toThrow('closing b failed: b broke');
    expect(closed).toEqual(['c', 'b', 'a']);
    await expect(scope.open('d', () => 'D', { close: () => undefined })).rejects.toThrow('closing');
  });
});

describe('SystemClock', () => {
  it('is close to the wall clock, in nanoseconds, and never goes backwards', () => {
    const clock = new SystemClock();
    const a = clock.now();
    const b = clock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    const wallNs = BigInt(Date.now()) * 1_000_000n;
    const diff = a > wallNs ? a - wallNs : wallNs - a;
    expect(diff < 50_000_000n).toBe(true);
  });
});

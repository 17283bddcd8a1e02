/**
 * The venue edge on the Google adapters: `orders.routed` on the Pub/Sub emulator → the edge → the
 * real ccxt client → the local exchange → acks and fills recorded in Firestore (emulator: orders,
 * fills, positions, the algorithm state) → `exec.fills` / `exec.orders` on Pub/Sub. Also a TWAP
 * whose edge restarts mid-schedule with its scheduler state in Firestore.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalExchange } from '../../../dev/local-exchange/index.ts';
import { FirestoreAlgoStateStore } from '../../../infra/firestore/algo-state.firestore.ts';
import { FirestoreMarketStateStore } from '../../../infra/firestore/market-state.firestore.ts';
import { FirestoreOrderStore } from '../../../infra/firestore/order-store.firestore.ts';
import { FirestorePositionStore } from '../../../infra/firestore/position-store.firestore.ts';
import { FirestoreTradingStateStore } from '../../../infra/firestore/trading-state.firestore.ts';
import { PubSubEventBus } from '../../../infra/pubsub/event-bus.pubsub.ts';
import { type FirestoreEmulator, startFirestoreEmulator } from '../../support/firestore-emulator.ts';
import { type PubSubEmulator, startPubSubEmulator } from '../../support/pubsub-emulator.ts';
import {
  ACCOUNT,
  BTC,
  createRoutedOrder,
  EdgeOnExchange,
  type EdgePorts,
  eventually,
  localExchange,
  publishRoute,
  untilStatus,
} from './support.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'demo-venue-edge';

describe('the venue edge on Pub/Sub and Firestore (emulators) with the local exchange', () => {
  let firestore: FirestoreEmulator;
  let pubsub: PubSubEmulator;
  let ex: LocalExchange;
  let ports: EdgePorts;
  let bus: PubSubEventBus;
  let h: EdgeOnExchange;
  const fills: Array<Record<string, unknown>> = [];
  const updates: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    [firestore, pubsub, ex] = await Promise.all([
      startFirestoreEmulator({ projectId: PROJECT }),
      startPubSubEmulator({ projectId: PROJECT }),
      localExchange(),
    ]);
    const db = firestore.client();
    const prefix = `edge-${randomUUID().slice(0, 8)}-`;
    bus = new PubSubEventBus({ projectId: PROJECT, emulatorHost: pubsub.host, retryPolicy: null });
    ports = {
      orders: new FirestoreOrderStore({ firestore: db, collectionPrefix: prefix }),
      positions: new FirestorePositionStore({ firestore: db, collectionPrefix: prefix }),
      algoStates: new FirestoreAlgoStateStore({ firestore: db, collectionPrefix: prefix }),
      tradingState: new FirestoreTradingStateStore({ firestore: db, collectionPrefix: prefix }),
      market: new FirestoreMarketStateStore({ firestore: db, collectionPrefix: prefix }),
      bus,
    };
    // What a downstream consumer of the edge sees on Pub/Sub.
    await bus.subscribe('exec.fills', 'it-tap.exec.fills', async (m) => {
      fills.push(JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>);
      return { kind: 'ack' };
    });
    await bus.subscribe('exec.orders', 'it-tap.exec.orders', async (m) => {
      updates.push(JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>);
      return { kind: 'ack' };
    });
    h = await new EdgeOnExchange(ex, ports).start();
  });

  afterAll(async () => {
    await h?.stop().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await ex?.stop();
    await Promise.all([firestore?.stop(), pubsub?.stop()]);
  });

  it('orders.routed on Pub/Sub → FILLED in Firestore with the position → exec.fills on Pub/Sub', async () => {
    const order = await createRoutedOrder(ports.orders, 'OP-EMU-1', { quantity: '0.02' });
    await publishRoute(bus, order);
    const o = await untilStatus(ports.orders, 'OP-EMU-1', 'FILLED', 60_000);
    expect(o.venue_order_id).toMatch(/^\d+$/);
    const stored = await ports.orders.fills('OP-EMU-1');
    expect(stored.map((f) => f.fill_id).every((id) => id.startsWith(`${order.order_id}-T`))).toBe(true);
    expect((await ports.positions.get(ACCOUNT, BTC))?.quantity).toBe('0.02');
    const published = await eventually(
      async () => {
        const mine = fills.filter((f) => f.operation_id === 'OP-EMU-1');
        return mine.length >= stored.length ? mine : undefined;
      },
      30_000,
      'exec.fills on Pub/Sub',
    );
    expect(new Set(published.map((f) => (f.fill as { fill_id: string }).fill_id))).toEqual(
      new Set(stored.map((f) => f.fill_id)),
    );
    await eventually(
      async () =>
        updates.some(
          (u) => u.operation_id === 'OP-EMU-1' && u.type === 'order_update' && u.status === 'FILLED',
        )
          ? true
          : undefined,
      30_000,
      'the FILLED update on exec.orders',
    );
    // The venue state and the book the router reads are in Firestore too.
    const states = await ports.market.getVenueStates(['BINANCE-SPOT']);
    expect(states['BINANCE-SPOT']?.status).toBe('UP');
  });

  it('a TWAP whose edge restarts mid-schedule resumes from its state in Firestore', async () => {
    const order = await createRoutedOrder(ports.orders, 'OP-EMU-TWAP', {
      quantity: '0.03',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 6, max_slices: 3 },
    });
    await publishRoute(bus, order);
    await eventually(
      async () => ((await ports.orders.get('OP-EMU-TWAP'))?.filled_quantity === '0.01' ? true : undefined),
      60_000,
      'first slice filled',
    );
    const mid = await ports.algoStates.get('OP-EMU-TWAP');
    expect(mid?.active).toBe(true);
    await h.restart();
    const o = await untilStatus(ports.orders, 'OP-EMU-TWAP', 'FILLED', 60_000);
    expect(o.filled_quantity).toBe('0.03');
    // The parent is FILLED by its last fill; the scheduler's record goes inactive right after.
    const rec = await eventually(
      async () => {
        const r = await ports.algoStates.get('OP-EMU-TWAP');
        return r?.active === false ? r : undefined;
      },
      30_000,
      'algorithm state inactive',
    );
    expect(rec.state.done_reason).toBe('FILLED');
    expect(rec.state.children.map((c) => c.order_id)).toEqual(
      [1, 2, 3].map((i) => `${order.order_id}-S${i}`),
    );
  });
});

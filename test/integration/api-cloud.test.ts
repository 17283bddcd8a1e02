/**
 * The service on the Google adapters, against the real emulators: `start()` (stateful/main.ts)
 * with `storage` = Firestore + Pub/Sub + Cloud Storage and the emulator hosts in its environment,
 * serving HTTP with @hono/node-server on a free port. Checks that composition picks the Google
 * adapters, that health reaches each of them, and that an order goes through the real pipeline
 * into Firestore and out on Pub/Sub.
 */
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/schema.ts';
import { type RunningService, start } from '../../stateful/main.ts';
import { silentLogger } from '../../stateful/observability/logger/index.ts';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { type GcsEmulator, startGcsEmulator } from '../support/gcs-emulator.ts';
import { type PubSubEmulator, startPubSubEmulator } from '../support/pubsub-emulator.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'demo-api-cloud';

describe('the service on Firestore, Pub/Sub and Cloud Storage (emulators)', () => {
  let firestore: FirestoreEmulator;
  let pubsub: PubSubEmulator;
  let gcs: GcsEmulator;
  let service: RunningService;

  beforeAll(async () => {
    [firestore, pubsub, gcs] = await Promise.all([
      startFirestoreEmulator({ projectId: PROJECT }),
      startPubSubEmulator({ projectId: PROJECT }),
      startGcsEmulator({ projectId: PROJECT }),
    ]);
    const env = {
      FIRESTORE_EMULATOR_HOST: firestore.host,
      PUBSUB_EMULATOR_HOST: pubsub.host,
      STORAGE_EMULATOR_HOST: gcs.endpoint,
    };
    const config = parseConfig(
      {
        venues: [
          { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED' },
          { id: 'BINANCE-SPOT', exchange: 'binance', mode: 'SIMULATED', instrument_types: ['SPOT_PAIR'] },
        ],
        storage: {
          order_store: 'firestore',
          bus: 'pubsub',
          blob: 'gcs',
          gcp_project: PROJECT,
          bucket: gcs.bucket,
          collection_prefix: `it-${Date.now()}-`,
        },
      },
      { env: {} },
    );
    service = await start({ config, env, port: 0, host: '127.0.0.1', logger: silentLogger() });
  });

  afterAll(async () => {
    await service?.close();
    await Promise.all([firestore?.stop(), pubsub?.stop(), gcs?.stop()]);
  });

  it('composes the Google adapters and reports each healthy', async () => {
    expect(service.platform.adapters).toMatchObject({
      order_store: expect.stringMatching(/^firestore demo-api-cloud collection it-\d+-orders$/),
      bus: 'pubsub demo-api-cloud',
      blob_store: `gcs gs://${gcs.bucket}/`,
    });
    // The first Firestore reads open the gRPC channel (slow on a cold emulator): poll until healthy.
    let res = await fetch(`${service.url}/api/health`);
    for (let i = 0; i < 20 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      res = await fetch(`${service.url}/api/health`);
    }
    const body = (await res.json()) as {
      status: string;
      components: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(body.components.order_store?.ok, JSON.stringify(body.components)).toBe(true);
    expect(body.components.bus?.ok, JSON.stringify(body.components)).toBe(true);
    expect(body.components.blob_store?.ok, JSON.stringify(body.components)).toBe(true);
    expect(res.status).toBe(200);
  });

  it('takes an order into Firestore and publishes the route on Pub/Sub', async () => {
    const admin = new PubSub({ projectId: PROJECT, apiEndpoint: pubsub.host, emulatorMode: true });
    const [topic] = await admin.topic('orders.routed').get({ autoCreate: true });
    const [sub] = await topic.createSubscription(`it-routed-${Date.now()}`);
    const received = new Promise<Record<string, string>>((resolve) => {
      sub.on('message', (m: { attributes: Record<string, string>; ack: () => void }) => {
        m.ack();
        resolve(m.attributes);
      });
    });
    // What the venue edge writes: an UP venue with its balances, and a fresh book.
    const now = service.platform.clock.now();
    await service.platform.marketState.putVenueState({
      venue: 'BINANCE-SPOT',
      status: 'UP',
      latency_ms: 5,
      recent_orders: 0,
      recent_rejections: 0,
      balances: { USDT: '1000000' },
      ts_updated: now,
    });
    await service.platform.marketState.putQuote({
      venue: 'BINANCE-SPOT',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      bid: '59999.5',
      ask: '60000.5',
      mid: '60000',
      bids: [{ price: '59999.5', size: '5' }],
      asks: [{ price: '60000.5', size: '5' }],
      ts_event: now,
    });
    try {
      const res = await fetch(`${service.url}/api/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          operation_id: 'OP-CLOUD-1',
          instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
          side: 'BUY',
          quantity: '0.01',
          price: '60000',
          order_type: 'LIMIT',
          strategy_id: 'momentum-btc-v1',
          reference_price: '60000',
        }),
      });
      expect(res.status).toBe(201);
      const reply = (await res.json()) as { status: string; venue: string };
      expect(reply.status, JSON.stringify(reply)).toBe('PENDING');
      expect(await service.platform.orders.get('OP-CLOUD-1')).toMatchObject({ status: 'PENDING' });
      expect(await received).toMatchObject({
        operation_id: 'OP-CLOUD-1',
        action: 'submit',
        venue: reply.venue,
      });

      const again = await fetch(`${service.url}/api/orders/OP-CLOUD-1`);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { timeline: unknown[] }).timeline.length).toBeGreaterThanOrEqual(3);
    } finally {
      await sub.close();
      await admin.close();
    }
  });
});

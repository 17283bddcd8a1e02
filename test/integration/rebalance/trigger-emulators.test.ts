/**
 * The rebalance in the cloud end to end on the emulators: a weights file is uploaded to the Cloud
 * Storage emulator; the object-finalize CloudEvent (as Eventarc delivers it) reaches the
 * `rebalance-trigger` function served by functions-framework; it reads the object, plans on the
 * market state and positions in Firestore, and publishes the instructions to `orders.requests` on
 * the Pub/Sub emulator, which pushes them to `order-intake`: the orders land in Firestore with the
 * rebalance's operation ids. A redelivered event makes no second order; a bad file is recorded
 * with its reasons and makes no order. Then the venue side: the orders are submitted, accepted and
 * filled through the ExecutionRecorder (as the venue edge records a venue's reports), whose
 * `exec.orders` updates the Pub/Sub emulator pushes to `rebalance-complete`: on the last final
 * update the actual state is written once — `portfolio_actual_state.json` in the Cloud Storage
 * emulator, the Firestore document and one REBALANCE NAV snapshot — and a redelivered final update
 * writes nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionDeadLetterTopic } from '../../../functions/shared/dead-letter.ts';
import { shutdownFunctions } from '../../../functions/shared/runtime.ts';
import { FirestoreMarketStateStore } from '../../../infra/firestore/market-state.firestore.ts';
import { FirestoreOrderStore } from '../../../infra/firestore/order-store.firestore.ts';
import { FirestorePortfolioStateStore } from '../../../infra/firestore/portfolio-state.firestore.ts';
import { FirestorePositionStore } from '../../../infra/firestore/position-store.firestore.ts';
import { GcsBlobStore } from '../../../infra/gcs/blob-store.gcs.ts';
import { PubSubEventBus } from '../../../infra/pubsub/event-bus.pubsub.ts';
import { FirestoreRebalanceCompletionStore } from '../../../infra/rebalance/completion-store.firestore.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';
import { startOrSkip } from '../../support/emulator-guard.ts';
import { startFirestoreEmulator } from '../../support/firestore-emulator.ts';
import { startGcsEmulator } from '../../support/gcs-emulator.ts';
import { startPubSubEmulator } from '../../support/pubsub-emulator.ts';
import {
  ensureTopics,
  FUNCTION_TOPICS,
  prepareFunctionsEnv,
  subscribeFunction,
} from '../support/functions-env.ts';
import { emulatorClient, Tap } from '../support/pubsub-tap.ts';

const pubsubEmu = await startOrSkip('Pub/Sub', () => startPubSubEmulator());
const firestoreEmu = await startOrSkip('Firestore', () => startFirestoreEmulator());
const gcsEmu = await startOrSkip('Cloud Storage', () => startGcsEmulator());

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';

describe.skipIf(!pubsubEmu.ok || !firestoreEmu.ok || !gcsEmu.ok)('rebalance-trigger on the emulators', () => {
  let pubsub: PubSub;
  let orders: FirestoreOrderStore;
  let bucketStore: GcsBlobStore;
  let requests: Tap;
  let updates: Tap;
  let triggerUrl = '';
  let completeUrl = '';
  let collectionPrefix = '';
  let projectId = '';
  let seq = 0;
  const servers: Server[] = [];

  beforeAll(async () => {
    if (!pubsubEmu.ok || !firestoreEmu.ok || !gcsEmu.ok) return;
    projectId = pubsubEmu.value.projectId;
    const fenv = prepareFunctionsEnv({
      projectId,
      pubsubHost: pubsubEmu.value.host,
      firestoreHost: firestoreEmu.value.host,
      logLevel: 'error',
    });
    // The same deployment, with the BlobStore on the weights bucket (Cloud Storage).
    const config = JSON.parse(readFileSync(fenv.configPath, 'utf8'));
    config.storage = { ...config.storage, blob: 'gcs', bucket: gcsEmu.value.bucket };
    writeFileSync(fenv.configPath, JSON.stringify(config));
    Object.assign(process.env, fenv.env, { STORAGE_EMULATOR_HOST: gcsEmu.value.endpoint });

    pubsub = emulatorClient(pubsubEmu.value.host, projectId);
    await ensureTopics(pubsub, [
      ...FUNCTION_TOPICS,
      'exec.fills',
      functionDeadLetterTopic('rebalance-complete', 'exec.orders'),
    ]);
    requests = await Tap.open(pubsub, 'orders.requests', 'test.rebalance.orders.requests');
    updates = await Tap.open(pubsub, 'exec.orders', 'test.rebalance.exec.orders');
    collectionPrefix = fenv.collectionPrefix;

    // What the venue edge keeps in Firestore: the books and the account's free balance.
    const market = new FirestoreMarketStateStore({
      firestore: firestoreEmu.value.client(),
      collectionPrefix: fenv.collectionPrefix,
    });
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const [key, bid, ask] of [
      [BTC, '59990', '60010'],
      [ETH, '2999', '3001'],
    ] as const) {
      await market.putQuote({
        venue: 'BINANCE-SPOT',
        instrument_key: key,
        bid,
        ask,
        mid: String((Number(bid) + Number(ask)) / 2),
        bids: [{ price: bid, size: '100' }],
        asks: [{ price: ask, size: '100' }],
        ts_event: now,
      });
    }
    await market.putVenueState({
      venue: 'BINANCE-SPOT',
      status: 'UP',
      latency_ms: 5,
      recent_orders: 0,
      recent_rejections: 0,
      balances: { USDT: '100000' },
      ts_updated: now,
    });

    await import('../../../functions/index.ts');
    const intake = getTestServer('order-intake');
    const trigger = getTestServer('rebalance-trigger');
    const complete = getTestServer('rebalance-complete');
    for (const s of [intake, trigger, complete]) {
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      servers.push(s);
    }
    const port = (s: Server) => (s.address() as AddressInfo).port;
    await subscribeFunction(pubsub, 'order-intake', 'orders.requests', `http://127.0.0.1:${port(intake)}`);
    triggerUrl = `http://127.0.0.1:${port(trigger)}/`;
    completeUrl = `http://127.0.0.1:${port(complete)}`;
    await subscribeFunction(pubsub, 'rebalance-complete', 'exec.orders', completeUrl);
    orders = new FirestoreOrderStore({
      firestore: firestoreEmu.value.client(),
      collectionPrefix: fenv.collectionPrefix,
    });
    bucketStore = new GcsBlobStore({
      bucket: gcsEmu.value.bucket,
      projectId: gcsEmu.value.projectId,
      apiEndpoint: gcsEmu.value.endpoint,
    });
  });

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await requests?.close();
    await updates?.close();
    await shutdownFunctions();
    await pubsub?.close();
    await Promise.allSettled([
      pubsubEmu.ok ? pubsubEmu.value.stop() : undefined,
      firestoreEmu.ok ? firestoreEmu.value.stop() : undefined,
      gcsEmu.ok ? gcsEmu.value.stop() : undefined,
    ]);
  });

  /** Upload like the optimizer, then deliver the finalize event like Eventarc (binary mode). */
  async function drop(name: string, text: string): Promise<Record<string, unknown>> {
    await bucketStore.put(name, text, { contentType: 'application/json' });
    const info = await bucketStore.stat(name);
    const res = await fetch(triggerUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': `evt-${++seq}`,
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.storage.object.v1.finalized',
        'ce-source': `//storage.googleapis.com/projects/_/buckets/${gcsEmu.ok ? gcsEmu.value.bucket : ''}`,
        'ce-subject': `objects/${name}`,
      },
      body: JSON.stringify({
        bucket: gcsEmu.ok ? gcsEmu.value.bucket : '',
        name,
        generation: '1',
        size: String(info?.size ?? 0),
        contentType: 'application/json',
      }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function waitForOrder(operationId: string): Promise<OrderRecord> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const o = await orders.get(operationId);
      // Routed orders stay PENDING until the venue edge (not running here) acknowledges them.
      if (o !== null && o.venue !== null) return o;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`order ${operationId} not routed: ${(await orders.get(operationId))?.status ?? 'none'}`);
  }

  const weights = JSON.stringify({
    schema_version: 1,
    strategy_id: 'rb-cloud',
    as_of: '2026-12-07T00:00:00Z',
    weights: { [BTC]: '0.25', [ETH]: '0.25' },
  });

  it('object → function → instructions on orders.requests → orders in Firestore', async () => {
    const reply = await drop('weights/rb-cloud/2026-12-07.json', weights);
    expect(reply).toMatchObject({ outcome: 'published', orders: 2 });
    const rebalanceId = String(reply.rebalance_id);
    const msgs = await requests.waitForCount((m) => m.attributes.rebalance_id === rebalanceId, 2);
    const instructions = msgs.map((m) => m.json() as Record<string, string>);
    expect(instructions.map((i) => [i.instrument_key, i.side, i.strategy_id]).sort()).toEqual([
      [BTC, 'BUY', 'rb-cloud'],
      [ETH, 'BUY', 'rb-cloud'],
    ]);
    // equity 100000, investable 98000, BTC 24500 / 60000 = 0.408333… → 0.40833; ETH 24500 / 3000 → 8.1666
    expect(instructions.find((i) => i.instrument_key === BTC)?.quantity).toBe('0.40833');
    expect(instructions.find((i) => i.instrument_key === ETH)?.quantity).toBe('8.1666');
    for (const i of instructions) {
      const order = await waitForOrder(i.operation_id as string);
      expect(order.strategy_id).toBe('rb-cloud');
      expect(order.quantity).toBe(i.quantity);
      expect(order.risk_approved).toBe(true);
      expect(order.status).toBe('PENDING');
    }
    const record = JSON.parse(
      new TextDecoder().decode(await bucketStore.get(`portfolio/rb-cloud/rebalances/${rebalanceId}.json`)),
    );
    expect(record.status).toBe('PUBLISHED');
    expect(record.prices.map((p: { source: string }) => p.source)).toEqual(['live_mid', 'live_mid']);

    // Eventarc redelivers, or the optimizer saves the same bytes again: no second order.
    const again = await drop('weights/rb-cloud/2026-12-07-copy.json', weights);
    expect(again).toMatchObject({ outcome: 'duplicate', rebalance_id: rebalanceId });
    expect(requests.messages.filter((m) => m.attributes.rebalance_id === rebalanceId)).toHaveLength(2);
  });

  it('a bad file is recorded with its reasons and makes no order; other objects are ignored', async () => {
    const reply = await drop(
      'weights/rb-cloud/bad.json',
      JSON.stringify({
        schema_version: 1,
        strategy_id: 'rb-cloud',
        as_of: '2026-12-07T00:00:00Z',
        weights: { [BTC]: 'lots' },
      }),
    );
    expect(reply.outcome).toBe('invalid');
    expect(reply.issues).toEqual([
      { path: `weights.${BTC}`, message: 'must be a decimal number such as "1.25", got "lots"' },
    ]);
    const record = JSON.parse(
      new TextDecoder().decode(
        await bucketStore.get(`portfolio/_invalid/${String(reply.rebalance_id)}.json`),
      ),
    );
    expect(record.issues).toEqual(reply.issues);
    expect(requests.messages.filter((m) => m.attributes.rebalance_id === reply.rebalance_id)).toHaveLength(0);
    expect(await drop('reports/x.json', '{}')).toEqual({ outcome: 'ignored' });
  });

  it('the last final order update → rebalance-complete → actual state written once (GCS, Firestore, NAV snapshot)', async () => {
    if (!firestoreEmu.ok || !pubsubEmu.ok) return;
    const db = firestoreEmu.value.client();
    const positions = new FirestorePositionStore({ firestore: db, collectionPrefix });
    const bus = new PubSubEventBus({ projectId, emulatorHost: pubsubEmu.value.host, createMissing: false });
    const recorder = new ExecutionRecorder({
      orders,
      positions,
      bus,
      clock: { now: () => BigInt(Date.now()) * 1_000_000n },
    });
    const portfolio = new FirestorePortfolioStateStore({ firestore: db, collectionPrefix });
    const completions = new FirestoreRebalanceCompletionStore({ firestore: db, collectionPrefix });
    try {
      const reply = await drop(
        'weights/rb-done/2026-12-07.json',
        JSON.stringify({
          schema_version: 1,
          strategy_id: 'rb-done',
          as_of: '2026-12-07T00:00:00Z',
          weights: { [BTC]: '0.1', [ETH]: '0.1' },
        }),
      );
      expect(reply).toMatchObject({ outcome: 'published', orders: 2 });
      const rebalanceId = String(reply.rebalance_id);
      const msgs = await requests.waitForCount((m) => m.attributes.rebalance_id === rebalanceId, 2);
      const instructions = msgs.map((m) => m.json() as Record<string, string>);
      const stateKey = 'portfolio/rb-done/portfolio_actual_state.json';
      let expectedCash = toDec('100000');
      for (const [i, ins] of instructions.entries()) {
        const op = String(ins.operation_id);
        const order = await waitForOrder(op);
        // Not final yet: nothing written.
        expect(await bucketStore.stat(stateKey)).toBeNull();
        const price = ins.instrument_key === BTC ? '60010' : '3001';
        const fee = toDec(ins.quantity as string)
          .times(price)
          .times('0.001');
        expectedCash = expectedCash.minus(toDec(ins.quantity as string).times(price)).minus(fee);
        expect((await recorder.recordSubmitted(op, `c-${i}`)).kind).toBe('recorded');
        expect((await recorder.recordAccepted(op, `v-${i}`)).kind).toBe('recorded');
        const fill = await recorder.recordFill(op, {
          fill_id: `f-${op}`,
          order_id: order.order_id,
          operation_id: op,
          instrument_key: order.instrument_key,
          venue: 'BINANCE-SPOT',
          side: order.side,
          quantity: order.quantity,
          price,
          fee: fee.toFixed(),
          fee_currency: 'USDT',
          liquidity: 'TAKER',
          ts_event: BigInt(Date.now()) * 1_000_000n,
        });
        expect(fill.kind).toBe('recorded');
      }
      // The venue side's final updates on exec.orders, as pushed to the function.
      const finals = await updates.waitForCount(
        (m) =>
          m.attributes.status === 'FILLED' &&
          instructions.some((i) => i.operation_id === m.attributes.operation_id),
        2,
      );
      const deadline = Date.now() + 30_000;
      while ((await bucketStore.stat(stateKey)) === null && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const written = await bucketStore.stat(stateKey);
      expect(written).not.toBeNull();
      const state = JSON.parse(new TextDecoder().decode(await bucketStore.get(stateKey)));
      expect(state).toMatchObject({
        strategy_id: 'rb-done',
        rebalance_id: rebalanceId,
        quote_currency: 'USDT',
      });
      expect(state.orders.map((o: { status: string }) => o.status)).toEqual(['FILLED', 'FILLED']);
      expect(state.cash.USDT).toBe(expectedCash.toFixed());
      // The position book holds both fills; priced at the live mids (60000, 3000).
      expect(state.positions[BTC]).toBe(instructions.find((i) => i.instrument_key === BTC)?.quantity);
      expect(state.nav).not.toBeNull();
      expect(state.instruments.map((x: { price_source: string }) => x.price_source)).toEqual([
        'live_mid',
        'live_mid',
      ]);
      const doc = await portfolio.getActualState('rb-done');
      expect(doc).toEqual(state);
      const snapshots = await portfolio.listNavSnapshots('rb-done');
      expect(snapshots.map((x) => [x.reason, x.nav])).toEqual([['REBALANCE', state.nav]]);
      const completion = await completions.get(rebalanceId);
      expect(completion?.applied).toBe(true);

      // Pub/Sub redelivers the last final update (push, as the subscription does): nothing is written.
      const last = finals[finals.length - 1];
      if (last === undefined) throw new Error('no final update');
      const res = await fetch(`${completeUrl}/projects/${projectId}/topics/exec.orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            data: Buffer.from(last.text).toString('base64'),
            attributes: last.attributes,
            messageId: `redelivered-${last.id}`,
            publishTime: new Date().toISOString(),
          },
          subscription: `projects/${projectId}/subscriptions/rebalance-complete.exec.orders`,
        }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ outcome: 'already_completed', rebalance_id: rebalanceId });
      expect(await bucketStore.stat(stateKey)).toEqual(written);
      expect(await portfolio.listNavSnapshots('rb-done')).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });
});

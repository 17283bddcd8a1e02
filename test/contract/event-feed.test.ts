import { expect, it } from 'vitest';
import { FirestoreEventFeedStore } from '../../infra/firestore/event-feed.firestore.ts';
import { LocalEventFeedStore } from '../../infra/local/event-feed.local.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { entry, eventFeedContract } from './event-feed.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

localStoreContracts(eventFeedContract, LocalEventFeedStore, tempDirs('event-feed-'));

await firestoreSuite('event-feed', (fs) => {
  eventFeedContract('Firestore', () => fs.harness((o) => new FirestoreEventFeedStore(o)), { durable: true });

  it('stores readable documents, a page may stop short with a cursor, and a corrupt one is named', async () => {
    const p = fs.prefix();
    const store = new FirestoreEventFeedStore({
      firestore: fs.db,
      collectionPrefix: p,
      batchSize: 5,
      maxBatches: 2,
    });
    await store.append([
      entry('OP/1#0', 5n),
      ...Array.from({ length: 12 }, (_, i) => entry(`N-${i}#0`, BigInt(i + 10), { outcome: 'info' })),
    ]);
    const ref = fs.db.collection(`${p}execution_events`).doc('OP%2F1#0');
    expect((await ref.get()).data()).toMatchObject({
      id: 'OP/1#0',
      ts_event: '01751328300123456794',
      category: 'order',
      outcome: 'executed',
      venue: 'BINANCE-SPOT',
    });
    // Two batches of 5 read, none matching yet: an empty page that says where to go on.
    const first = await store.page({ limit: 1, outcome: ['executed', 'denied'] });
    expect(first.events).toEqual([]);
    expect(first.next_cursor).not.toBeNull();
    const second = await store.page({
      limit: 1,
      outcome: ['executed', 'denied'],
      cursor: first.next_cursor as string,
    });
    expect(second.events.map((e) => e.id)).toEqual(['OP/1#0']);
    await ref.update({ outcome: 'maybe' });
    await expect(store.page({ limit: 50 })).rejects.toThrow(
      /execution_events\/OP%2F1#0: corrupt event at outcome/,
    );
  });
});

import { expect, it } from 'vitest';
import { FirestoreLeaseStore } from '../../infra/firestore/lease-store.firestore.ts';
import { LocalLeaseStore } from '../../infra/local/lease-store.local.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { leaseStoreContract } from './lease-store.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

localStoreContracts(leaseStoreContract, LocalLeaseStore, tempDirs('leases-'));

await firestoreSuite(
  'lease-store',
  (fs) => {
    leaseStoreContract('Firestore', () => fs.harness((o) => new FirestoreLeaseStore(o)), { durable: true });

    it('stores a readable document and names a corrupt one', async () => {
      const p = fs.prefix();
      const store = new FirestoreLeaseStore({ firestore: fs.db, collectionPrefix: p });
      await store.acquire('venue/edge', 'edge-a', 1_000, 5n);
      const ref = fs.db.collection(`${p}leases`).doc('venue%2Fedge');
      expect((await ref.get()).data()).toEqual({
        name: 'venue/edge',
        holder: 'edge-a',
        token: 1,
        ts_expires: '00000000001000000005',
        ts_acquired: '00000000000000000005',
        ts_updated: '00000000000000000005',
      });
      await ref.update({ token: -1 });
      await expect(store.get('venue/edge')).rejects.toThrow(/leases\/venue%2Fedge: /);
    });
  },
  { prefixTag: 'l' },
);

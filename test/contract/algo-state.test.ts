import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FirestoreAlgoStateStore } from '../../infra/firestore/algo-state.firestore.ts';
import { LocalAlgoStateStore } from '../../infra/local/algo-state.local.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { algoStateContract, makeRecord, T0 } from './algo-state.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDir = tempDirs('algo-states-');
localStoreContracts(algoStateContract, LocalAlgoStateStore, tempDir);

describe('local algo state journal specifics', () => {
  it('a line that does not follow the stored version is an error naming the line', async () => {
    const dataDir = await tempDir();
    const s = await LocalAlgoStateStore.open({ dataDir });
    const r = makeRecord('OP-1');
    await s.put(r, 0);
    await s.put({ ...r, version: 2 }, 1);
    await s.close();
    const path = join(dataDir, 'algo-states.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, [lines[0], lines[0], lines[1], ''].join('\n'));
    await expect(LocalAlgoStateStore.open({ dataDir })).rejects.toThrow(
      /algo-states\.jsonl line 2: put of version 1/,
    );
  });

  it('a corrupt record is an error naming the line and the field', async () => {
    const dataDir = await tempDir();
    const s = await LocalAlgoStateStore.open({ dataDir });
    await s.put(makeRecord('OP-1'), 0);
    await s.close();
    const path = join(dataDir, 'algo-states.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"next_slice":1', '"next_slice":"one"'));
    await expect(LocalAlgoStateStore.open({ dataDir })).rejects.toThrow(
      /algo-states\.jsonl line 1: .*next_slice|state\.next_slice.*algo-states\.jsonl line 1/,
    );
  });

  it('compaction keeps every active parent and recent finished ones, drops old finished ones', async () => {
    const dataDir = await tempDir();
    const day = 86_400_000_000_000n;
    const opts = { dataDir, compactMinRecords: 5, maxInactiveAgeMs: 86_400_000, nowNs: () => T0 + 3n * day };
    const s = await LocalAlgoStateStore.open(opts);
    const puts: Array<[string, boolean, bigint]> = [
      ['OP-ACTIVE', true, T0],
      ['OP-OLD-DONE', false, T0],
      ['OP-NEW-DONE', false, T0 + 3n * day - 5n],
    ];
    for (const [op, active, ts] of puts) {
      const r = makeRecord(op);
      await s.put(r, 0);
      await s.put({ ...r, version: 2 }, 1);
      await s.put({ ...r, version: 3, active, ts_updated: ts }, 2);
    }
    await s.close();
    const path = join(dataDir, 'algo-states.jsonl');
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(9);
    const c = await LocalAlgoStateStore.open(opts);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(2);
    expect((await c.listActive()).map((r) => r.operation_id)).toEqual(['OP-ACTIVE']);
    expect(await c.get('OP-OLD-DONE')).toBeNull();
    expect((await c.get('OP-NEW-DONE'))?.version).toBe(3);
    await c.close();
  });
});

await firestoreSuite(
  'algo-state',
  (fs) => {
    algoStateContract('Firestore', () => fs.harness((o) => new FirestoreAlgoStateStore(o)), {
      durable: true,
    });

    it('stores queryable fields beside the exact body, and names a corrupt document', async () => {
      const db = fs.db;
      const p = fs.prefix();
      const store = new FirestoreAlgoStateStore({ firestore: db, collectionPrefix: p });
      await store.put(makeRecord('OP/1'), 0);
      const ref = db.collection(`${p}algo_states`).doc('OP%2F1');
      const data = (await ref.get()).data();
      expect(data).toMatchObject({
        operation_id: 'OP/1',
        venue: 'BINANCE-SPOT',
        algo: 'TWAP',
        status: 'RUNNING',
        active: true,
        version: 1,
        ts_created: T0.toString().padStart(20, '0'),
      });
      expect(typeof data?.body_json).toBe('string');
      await ref.update({ body_json: '{"state": 5}' });
      await expect(store.get('OP/1')).rejects.toThrow(/algo_states\/OP%2F1: .*/);
      await ref.update({ ts_updated: 12 });
      await expect(store.listActive()).rejects.toThrow(/ts_updated/);
    });
  },
  { prefixTag: 'a' },
);

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FirestorePositionStore } from '../../infra/firestore/position-store.firestore.ts';
import { LocalPositionStore } from '../../infra/local/position-store.local.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { makePosition, positionStoreContract } from './position-store.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDir = tempDirs('positions-');
localStoreContracts(positionStoreContract, LocalPositionStore, tempDir);

describe('local position journal specifics', () => {
  it('a line that does not follow the stored version is an error naming the line', async () => {
    const dataDir = await tempDir();
    const s = await LocalPositionStore.open({ dataDir });
    const p = makePosition('acct-1', 'X:SPOT_PAIR:A-B');
    await s.put(p, 0);
    await s.put({ ...p, version: 2 }, 1);
    await s.close();
    const path = join(dataDir, 'positions.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, [lines[0], lines[0], lines[1], ''].join('\n'));
    await expect(LocalPositionStore.open({ dataDir })).rejects.toThrow(
      /positions\.jsonl line 2: put of version 1/,
    );
  });

  it('compacts a long journal at start-up into one snapshot per position, state unchanged', async () => {
    const dataDir = await tempDir();
    const opts = { dataDir, compactMinRecords: 10 };
    const s = await LocalPositionStore.open(opts);
    for (const inst of ['X:SPOT_PAIR:A-B', 'X:SPOT_PAIR:C-D', 'X:SPOT_PAIR:E-F']) {
      for (let v = 1; v <= 6; v++) {
        const r = await s.put(makePosition('acct-1', inst, { version: v, quantity: String(v) }), v - 1);
        expect(r.ok).toBe(true);
      }
    }
    const before = await s.list();
    await s.close();
    const path = join(dataDir, 'positions.jsonl');
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(18);
    const compacted = await LocalPositionStore.open(opts);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(3);
    expect(await compacted.list()).toEqual(before);
    const next = makePosition('acct-1', 'X:SPOT_PAIR:A-B', { version: 7, quantity: '7' });
    expect(await compacted.put(next, 6)).toEqual({ ok: true, position: next });
    await compacted.close();
    const again = await LocalPositionStore.open(opts);
    expect(await again.get('acct-1', 'X:SPOT_PAIR:A-B')).toEqual(next);
    await again.close();
  });

  it('a torn last line is skipped with a warning', async () => {
    const dataDir = await tempDir();
    const s = await LocalPositionStore.open({ dataDir });
    const p = makePosition('acct-1', 'X:SPOT_PAIR:A-B');
    await s.put(p, 0);
    await s.close();
    const path = join(dataDir, 'positions.jsonl');
    await writeFile(path, `${await readFile(path, 'utf8')}{"op":"put","expec`);
    const warn = vi.fn<(m: string) => void>();
    const r = await LocalPositionStore.open({ dataDir, warn });
    expect(warn.mock.calls[0]?.[0]).toMatch(/positions\.jsonl line 2: skipped a torn last record/);
    expect(await r.get('acct-1', 'X:SPOT_PAIR:A-B')).toEqual(p);
    await r.close();
  });
});

await firestoreSuite('position-store', (fs) => {
  positionStoreContract('Firestore', () => fs.harness((o) => new FirestorePositionStore(o)), {
    durable: true,
  });

  it('stores one document per account and instrument, and names the bad field of a corrupt one', async () => {
    const p = fs.prefix();
    const store = new FirestorePositionStore({ firestore: fs.db, collectionPrefix: p });
    const pos = makePosition('acct/1', 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT', {
      ts_updated: 1751328300123456789n,
    });
    await store.put(pos, 0);
    const ref = fs.db.collection(`${p}positions`).doc('acct%2F1|BINANCE-SPOT:SPOT_PAIR:BTC-USDT');
    expect((await ref.get()).data()).toMatchObject({
      account_id: 'acct/1',
      quantity: '0.5',
      ts_updated: '01751328300123456789',
      version: 1,
    });
    await ref.update({ quantity: 0.5 });
    await expect(store.get('acct/1', 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).rejects.toThrow(/quantity/);
    await store.close();
  });
});

import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createFirestore,
  FirestoreOrderStore,
  ORDER_EQUALITY_FILTERS,
} from '../../infra/firestore/order-store.firestore.ts';
import { LocalOrderStore } from '../../infra/local/order-store.local.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { filled, makeFill, makeOrder, orderStoreContract, received, T0 } from './order-store.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDir = tempDirs('orders-');

// (a) the embedded store, memory only; (b) with a journal in a temp folder (restart = close and
// replay the folder)
localStoreContracts(orderStoreContract, LocalOrderStore, tempDir);

describe('local journal specifics', () => {
  let dataDir: string;
  const warn = vi.fn<(m: string) => void>();
  beforeEach(async () => {
    dataDir = await tempDir();
    warn.mockReset();
  });

  it('writes one JSON line per change, bigints exact', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    const o = makeOrder('OP-j', { ts_created: 1751328300123456789n });
    await s.create(o, [received(o)]);
    await s.close();
    const lines = (await readFile(join(dataDir, 'orders.jsonl'), 'utf8')).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      op: 'create',
      order: { ts_created: { $n: '1751328300123456789' } },
    });
  });

  it('refuses a malformed event before it reaches the journal (replay would refuse the line)', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    const o = makeOrder('OP-bad-ev');
    const bad: OrderEvent = { ...received(o), ts_event: -5n };
    await expect(s.create(o, [bad])).rejects.toThrow(/ts_event/);
    expect(await s.get('OP-bad-ev')).toBeNull();
    await s.create(o, [received(o)]);
    await expect(s.transition('OP-bad-ev', 1, { ...o, version: 2 }, [bad])).rejects.toThrow(/ts_event/);
    await s.close();
    const reopened = await LocalOrderStore.open({ dataDir, warn });
    expect(await reopened.timeline('OP-bad-ev')).toEqual([received(o)]);
    await reopened.close();
  });

  it('group-commits concurrent writes and replays them all', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    const orders = Array.from({ length: 500 }, (_, i) =>
      makeOrder(`OP-${i}`, { ts_created: T0 + BigInt(i) }),
    );
    await Promise.all(orders.map((o) => s.create(o, [received(o)])));
    await s.close();
    const reopened = await LocalOrderStore.open({ dataDir, warn });
    expect(await reopened.query({ limit: 1000 })).toHaveLength(500);
    expect(await reopened.get('OP-499')).toEqual(orders[499]);
    await reopened.close();
  });

  it('tolerates a torn last line (a crash mid-write): skipped with a warning and cut off', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    const o = makeOrder('OP-ok');
    await s.create(o, []);
    await s.close();
    const path = join(dataDir, 'orders.jsonl');
    const intact = await readFile(path, 'utf8');
    await appendFile(path, '{"op":"create","order":{"order_id":"ORD-torn","operat');

    const r = await LocalOrderStore.open({ dataDir, warn });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/orders\.jsonl line 2: skipped a torn last record/);
    expect(await r.get('OP-ok')).toEqual(o);
    expect(await readFile(path, 'utf8')).toBe(intact);
    await r.create(makeOrder('OP-after'), []);
    await r.close();
    const again = await LocalOrderStore.open({ dataDir, warn });
    expect((await again.query({})).map((x) => x.operation_id).sort()).toEqual(['OP-after', 'OP-ok']);
    await again.close();
  });

  it('accepts a complete last record that lost only its newline', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    await s.create(makeOrder('OP-1'), []);
    await s.close();
    const path = join(dataDir, 'orders.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, -1));
    const r = await LocalOrderStore.open({ dataDir, warn });
    expect(warn).not.toHaveBeenCalled();
    await r.create(makeOrder('OP-2'), []);
    await r.close();
    const again = await LocalOrderStore.open({ dataDir, warn });
    expect(await again.query({})).toHaveLength(2);
    await again.close();
  });

  it('a corrupt line before the end is an error naming the line', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    await s.create(makeOrder('OP-1'), []);
    await s.create(makeOrder('OP-2'), []);
    await s.create(makeOrder('OP-3'), []);
    await s.close();
    const path = join(dataDir, 'orders.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[1] = lines[1]!.slice(0, 40);
    await writeFile(path, lines.join('\n'));
    await expect(LocalOrderStore.open({ dataDir, warn })).rejects.toThrow(
      /orders\.jsonl line 2: corrupt record/,
    );
  });

  it('a well-formed line with a bad field is an error naming the line and the field', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    await s.create(makeOrder('OP-1'), []);
    await s.create(makeOrder('OP-2'), []);
    await s.close();
    const path = join(dataDir, 'orders.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"status":"PENDING"', '"status":"DONE"'));
    await expect(LocalOrderStore.open({ dataDir, warn })).rejects.toThrow(
      /orders\.jsonl line 1.*status|status.*orders\.jsonl line 1/s,
    );
  });

  it('refuses a second open of the same journal while the first is open', async () => {
    const s = await LocalOrderStore.open({ dataDir, warn });
    await expect(LocalOrderStore.open({ dataDir, warn })).rejects.toThrow(/already open/);
    await s.close();
    const again = await LocalOrderStore.open({ dataDir, warn });
    await again.close();
  });

  it('compacts a long journal at start-up into one snapshot record per order, state unchanged', async () => {
    const opts = { dataDir, warn, compactMinRecords: 10 };
    const s = await LocalOrderStore.open(opts);
    for (let i = 0; i < 4; i++) {
      let o = makeOrder(`OP-${i}`, { ts_created: T0 + BigInt(i) });
      await s.create(o, [received(o)]);
      for (let v = 1; v <= 5; v++) {
        const next = { ...o, version: v + 1, filled_quantity: String(v) };
        const fill = makeFill(o, `F-${i}-${v}`);
        expect((await s.transition(o.operation_id, v, next, [filled(fill)], [fill])).ok).toBe(true);
        o = next;
      }
    }
    const snapshot = async (st: LocalOrderStore) => ({
      orders: await st.query({}),
      timelines: await Promise.all([0, 1, 2, 3].map((i) => st.timeline(`OP-${i}`))),
      fills: await Promise.all([0, 1, 2, 3].map((i) => st.fills(`OP-${i}`))),
    });
    const before = await snapshot(s);
    await s.close();
    const path = join(dataDir, 'orders.jsonl');
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(24);

    const compacted = await LocalOrderStore.open(opts);
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.startsWith('{"op":"snapshot"'))).toBe(true);
    expect(await snapshot(compacted)).toEqual(before);
    // the rules still hold on compacted state: the fill ids are known, the versions go on
    const o0 = before.orders.find((o) => o.operation_id === 'OP-0')!;
    const dupe = makeFill(o0, 'F-0-3');
    expect(await compacted.transition('OP-0', 6, { ...o0, version: 7 }, [], [dupe])).toMatchObject({
      ok: false,
      reason: 'duplicate_fill',
    });
    expect((await compacted.transition('OP-0', 6, { ...o0, version: 7 }, [])).ok).toBe(true);
    await compacted.close();
    const again = await LocalOrderStore.open(opts);
    expect((await again.get('OP-0'))?.version).toBe(7);
    expect(await again.timeline('OP-0')).toEqual(before.timelines[0]);
    await again.close();
    expect(await readdir(dataDir)).toEqual(['orders.jsonl']);
  });

  it('takes over a stale lock, including one naming our own pid from a previous run (PID 1 in a container)', async () => {
    await writeFile(join(dataDir, 'orders.jsonl.lock'), `${process.pid}\n`);
    const s = await LocalOrderStore.open({ dataDir, warn });
    await s.create(makeOrder('OP-1'), []);
    await s.close();
    await writeFile(join(dataDir, 'orders.jsonl.lock'), '999999999\n');
    const again = await LocalOrderStore.open({ dataDir, warn });
    expect(await again.get('OP-1')).not.toBeNull();
    await again.close();
  });

  it('writes are durable once the promise resolves: a writer killed with SIGKILL loses nothing', async () => {
    const script = join(dataDir, 'writer.mts');
    const storeModule = resolve(import.meta.dirname, '../../infra/local/order-store.local.ts');
    const contract = resolve(import.meta.dirname, './order-store.contract.ts');
    await writeFile(
      script,
      `import { LocalOrderStore } from ${JSON.stringify(storeModule)};
import { makeOrder, received } from ${JSON.stringify(contract)};
const s = await LocalOrderStore.open({ dataDir: ${JSON.stringify(dataDir)} });
const orders = Array.from({ length: 300 }, (_, i) => makeOrder('OP-' + i));
await Promise.all(orders.map((o) => s.create(o, [received(o)])));
process.stdout.write('written\\n');
setInterval(() => s.create(makeOrder('OP-extra-' + Math.random()), []), 1);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    await new Promise<void>((done, fail) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('written')) {
          child.kill('SIGKILL');
          done();
        }
      });
      child.once('exit', (code) => fail(new Error(`writer exited early (${code}): ${err}`)));
    });
    await new Promise((r) => child.once('exit', r));
    // The killed writer left its lock behind; the pid is dead, so the lock is stale and taken over.
    const r = await LocalOrderStore.open({ dataDir, warn });
    for (let i = 0; i < 300; i++) expect(await r.get(`OP-${i}`)).not.toBeNull();
    expect(await r.timeline('OP-299')).toHaveLength(1);
    await r.close();
  });
});

describe('firestore.indexes.json', () => {
  interface IndexFile {
    indexes: Array<{
      collectionGroup: string;
      queryScope: string;
      fields: Array<{ fieldPath: string; order: string }>;
    }>;
    fieldOverrides: Array<{ collectionGroup: string; fieldPath: string; indexes: unknown[] }>;
  }
  const load = async (): Promise<IndexFile> =>
    JSON.parse(await readFile(resolve(import.meta.dirname, '../../firestore.indexes.json'), 'utf8'));

  it('has (filter, ts_created DESC) for every query filter, so index merging serves every combination', async () => {
    const { indexes } = await load();
    const declared = new Set(
      indexes
        .filter((i) => i.collectionGroup === 'orders' && i.queryScope === 'COLLECTION')
        .map((i) => i.fields.map((f) => `${f.fieldPath}:${f.order}`).join(',')),
    );
    for (const field of ['status', ...ORDER_EQUALITY_FILTERS]) {
      expect(declared, field).toContain(`${field}:ASCENDING,ts_created:DESCENDING`);
    }
    for (const field of ['strategy_id', 'venue', 'instrument_key', 'parent_order_id']) {
      expect(declared, field).toContain(`${field}:ASCENDING,status:ASCENDING,ts_created:DESCENDING`);
    }
  });

  it('keeps the JSON blobs out of the indexes', async () => {
    const { fieldOverrides } = await load();
    expect(fieldOverrides).toContainEqual({
      collectionGroup: 'orders',
      fieldPath: 'exec_algorithm_params_json',
      indexes: [],
    });
    expect(fieldOverrides).toContainEqual({
      collectionGroup: 'events',
      fieldPath: 'event_json',
      indexes: [],
    });
  });
});

// (c) Firestore on the real emulator
await firestoreSuite('order-store', (fs) => {
  // reopen() is a restart: a new client and a new store over the same collections.
  orderStoreContract('Firestore', () => fs.harness((o) => new FirestoreOrderStore(o)), { durable: true });

  describe('Firestore specifics', () => {
    let store: FirestoreOrderStore;
    let p: string;
    beforeEach(() => {
      p = fs.prefix();
      store = new FirestoreOrderStore({ firestore: fs.db, collectionPrefix: p });
    });
    afterEach(() => store.close());

    it('stores the documents the data model describes', async () => {
      const o = makeOrder('OP/doc', { ts_created: 1751328300123456789n });
      await store.create(o, [received(o)]);
      const doc = await fs.db.collection(`${p}orders`).doc('OP%2Fdoc').get();
      expect(doc.data()).toMatchObject({
        operation_id: 'OP/doc',
        status: 'PENDING',
        quantity: '1.5',
        ts_created: '01751328300123456789',
        exec_algorithm_params_json: '{"duration_sec":300,"max_slices":10}',
        version: 1,
        next_event_seq: 1,
        next_fill_seq: 0,
      });
      const ev = await fs.db
        .collection(`${p}orders`)
        .doc('OP%2Fdoc')
        .collection('events')
        .doc('0000000000')
        .get();
      expect(ev.data()).toMatchObject({ seq: 0, type: 'OrderReceived', ts_event: '01751328300123456789' });
    });

    it('a corrupt document is a clear error naming the field', async () => {
      const o = makeOrder('OP-corrupt');
      await store.create(o, []);
      const ref = fs.db.collection(`${p}orders`).doc('OP-corrupt');
      await ref.update({ status: 'DONE' });
      await expect(store.get('OP-corrupt')).rejects.toThrow(
        /orders\/OP-corrupt.*status|status.*orders\/OP-corrupt/s,
      );
      await ref.update({ status: 'PENDING', ts_created: 1751328300123 });
      await expect(store.get('OP-corrupt')).rejects.toThrow(/ts_created/);
      await ref.update({ ts_created: new Date() });
      await expect(store.get('OP-corrupt')).rejects.toThrow(/ts_created.*Timestamp|Timestamp.*ts_created/s);
    });

    it('health is not ok (and answers quickly) when Firestore is unreachable', async () => {
      const dead = createFirestore({ emulatorHost: '127.0.0.1:9', projectId: 'demo-test' });
      const s = new FirestoreOrderStore({ firestore: dead, ownsClient: true, healthTimeoutMs: 500 });
      const t = performance.now();
      const h = await s.health();
      expect(h.ok).toBe(false);
      expect(h.detail).toBeTruthy();
      expect(performance.now() - t).toBeLessThan(5_000);
      // terminate() waits for the client's own retries of the abandoned read; don't hold the suite.
      void s.close().catch(() => undefined);
    });
  });
});

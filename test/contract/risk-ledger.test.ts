import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FirestoreRiskLedgerStore,
  LedgerContentionError,
} from '../../infra/firestore/risk-ledger.firestore.ts';
import { LocalRiskLedgerStore } from '../../infra/local/risk-ledger.local.ts';
import { changeByOps } from '../../shared/ports/risk-ledger-store.ts';
import { applyReservation, type LedgerOp, type RiskLedger } from '../../shared/risk/ledger.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { reservation, riskLedgerContract } from './risk-ledger.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDir = tempDirs('risk-ledger-');
localStoreContracts(riskLedgerContract, LocalRiskLedgerStore, tempDir);

describe('local risk ledger journal specifics', () => {
  it('compacts to one line per scope at start-up, and names the line of a corrupt record', async () => {
    const dataDir = await tempDir();
    let s = await LocalRiskLedgerStore.open({ dataDir, compactMinRecords: 3 });
    for (let i = 0; i < 5; i++) {
      await s.update(['global'], (l) => ({
        result: 0,
        next: { global: applyReservation(l.global as RiskLedger, reservation(`OP-${i}`)) },
      }));
    }
    await s.close();
    s = await LocalRiskLedgerStore.open({ dataDir, compactMinRecords: 3 });
    expect(Object.keys((await s.get('global')).open)).toHaveLength(5);
    await s.close();
    const path = join(dataDir, 'risk-ledger.jsonl');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    await writeFile(path, `${lines[0]}\n{"op":"put","scope":"global","ledger":{"version":"x"}}\n`);
    await expect(LocalRiskLedgerStore.open({ dataDir })).rejects.toThrow(
      /risk-ledger\.jsonl line 2.*version/,
    );
  });
});

describe('local risk ledger journal: changes as ops', () => {
  const reserveOp = (id: string, version: number): LedgerOp[] => [
    { op: 'reserve', reservation: reservation(id, { ledger_version: version }), max_recent: null },
  ];

  it('journals one small line per change and replays it exactly', async () => {
    const dataDir = await tempDir();
    let s = await LocalRiskLedgerStore.open({ dataDir });
    for (let i = 0; i < 4; i++) {
      await s.update(['global'], (l) => changeByOps(l, 0, { global: reserveOp(`OP-${i}`, i) }));
    }
    await s.releaseReservation('OP-1', '0.05');
    await s.recordFill('OP-2', '0.01');
    expect(await s.recordFill('OP-2', '0')).toBe(false);
    const before = await s.get('global');
    await s.close();
    const lines = (await readFile(join(dataDir, 'risk-ledger.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ op: 'apply', scope: 'global', version: 1 });
    // A release after a partial fill is two transitions: the version moves by two.
    expect(JSON.parse(lines[4] as string)).toMatchObject({
      op: 'apply',
      version: 6,
      ops: [{ op: 'release', id: 'OP-1', filled: '0.05' }],
    });
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(600); // the change, not the ledger
    s = await LocalRiskLedgerStore.open({ dataDir });
    expect(await s.get('global')).toEqual(before);
    await s.close();
  });

  it('refuses a journal with a lost line, or a malformed op, naming the line', async () => {
    const dataDir = await tempDir();
    const s = await LocalRiskLedgerStore.open({ dataDir });
    for (let i = 0; i < 3; i++) {
      await s.update(['global'], (l) => changeByOps(l, 0, { global: reserveOp(`OP-${i}`, i) }));
    }
    await s.close();
    const path = join(dataDir, 'risk-ledger.jsonl');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    await writeFile(path, `${lines[0]}\n${lines[2]}\n`);
    await expect(LocalRiskLedgerStore.open({ dataDir })).rejects.toThrow(
      /risk-ledger\.jsonl line 2.*(version|lost)/,
    );
    const bad = JSON.parse(lines[1] as string);
    bad.ops[0].reservation.quantity = 'lots';
    await writeFile(path, `${lines[0]}\n${JSON.stringify(bad)}\n`);
    await expect(LocalRiskLedgerStore.open({ dataDir })).rejects.toThrow(
      /risk-ledger\.jsonl line 2.*quantity/,
    );
  });

  it('a change given as a whole ledger is checked where it differs from the current one', async () => {
    const s = LocalRiskLedgerStore.memory();
    await s.update(['global'], (l) => changeByOps(l, 0, { global: reserveOp('OP-1', 0) }));
    const brokenOpen = (l: RiskLedger): RiskLedger => {
      const next = applyReservation(l, reservation('OP-2', { ledger_version: 1 }));
      const entry = next.open['OP-2'];
      if (entry === undefined) throw new Error('no reservation');
      return { ...next, open: { ...next.open, 'OP-2': { ...entry, filled: 'x' } } };
    };
    const badRecent = (l: RiskLedger): RiskLedger => ({
      ...l,
      version: l.version + 1,
      recent: [...l.recent, 'soon'],
    });
    const write = (make: (l: RiskLedger) => RiskLedger) =>
      s.update(['global'], (l) => ({ result: 0, next: { global: make(l.global as RiskLedger) } }));
    await expect(write(brokenOpen)).rejects.toThrow(/malformed at open\.OP-2\.filled/);
    await expect(write(badRecent)).rejects.toThrow(/malformed at recent\.1/);
    expect((await s.get('global')).version).toBe(1);
    // A valid whole ledger is installed as an owned copy: the store changing it later in place
    // leaves the caller's object alone.
    const kept: RiskLedger[] = [];
    await write((l) => {
      const next = applyReservation(l, reservation('OP-3', { ledger_version: 1 }));
      kept.push(next);
      return next;
    });
    expect(Object.keys((await s.get('global')).open)).toEqual(['OP-1', 'OP-3']);
    await s.update(['global'], (l) =>
      changeByOps(l, 0, { global: [{ op: 'release', id: 'OP-3', filled: '0' }] }),
    );
    expect(Object.keys((await s.get('global')).open)).toEqual(['OP-1']);
    expect(Object.keys(kept[0]?.open ?? {})).toEqual(['OP-1', 'OP-3']);
  });
});

await firestoreSuite('risk-ledger', (fs) => {
  riskLedgerContract('Firestore', () => fs.harness((o) => new FirestoreRiskLedgerStore(o)), {
    durable: true,
  });

  riskLedgerContract(
    'Firestore, compare-and-set only (no group commit)',
    async () => {
      return {
        store: new FirestoreRiskLedgerStore({
          firestore: fs.db,
          collectionPrefix: fs.prefix(),
          groupCommit: false,
        }),
      };
    },
    { durable: false, concurrency: 15 },
  );

  it('stores one document per scope with the ledger as JSON text, and names a corrupt one', async () => {
    const db = fs.db;
    const p = fs.prefix();
    const store = new FirestoreRiskLedgerStore({ firestore: db, collectionPrefix: p });
    await store.update(['global'], (l) => ({
      result: 0,
      next: { global: applyReservation(l.global as RiskLedger, reservation('OP-1')) },
    }));
    const ref = db.collection(`${p}risk_ledgers`).doc('global');
    const data = (await ref.get()).data();
    expect(data).toMatchObject({ scope: 'global', version: 1, open_reservations: 1 });
    expect(JSON.parse(String(data?.ledger_json)).open['OP-1'].reservation.id).toBe('OP-1');
    await ref.update({ ledger_json: '{"version": -1}' });
    await expect(store.get('global')).rejects.toThrow(/risk_ledgers\/global: corrupt risk ledger at version/);
  });

  it('under contention with no time budget, losers fail with a transient error and winners are all kept', async () => {
    const db = fs.db;
    const p = fs.prefix();
    const store = new FirestoreRiskLedgerStore({
      firestore: db,
      collectionPrefix: p,
      maxWaitMs: 0,
      groupCommit: false,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        store.update(['global'], (l) => ({
          result: `OP-${i}`,
          next: { global: applyReservation(l.global as RiskLedger, reservation(`OP-${i}`)) },
        })),
      ),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(lost.length).toBeGreaterThan(0);
    for (const e of lost) expect(e).toBeInstanceOf(LedgerContentionError);
    expect(Object.keys((await store.get('global')).open).sort()).toEqual(won.sort());
    expect(store.stats()).toMatchObject({ updates: 10, batches: 10, commits: won.length });
  });

  it('group commit: a burst in one process is one read and one write; a throwing fn fails alone', async () => {
    const db = fs.db;
    const store = new FirestoreRiskLedgerStore({ firestore: db, collectionPrefix: fs.prefix() });
    await store.get('global'); // connect first, so the burst really is concurrent
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        store.update(['global'], (l) => {
          if (i === 7) throw new Error('bad fn');
          const g = l.global as RiskLedger;
          return { result: g.version, next: { global: applyReservation(g, reservation(`OP-${i}`)) } };
        }),
      ),
    );
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message),
    ).toEqual(['bad fn']);
    // Each fn saw the ledger the earlier ones left: the versions seen are all distinct.
    const seen = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(new Set(seen).size).toBe(29);
    expect(Object.keys((await store.get('global')).open)).toHaveLength(29);
    const stats = store.stats();
    expect(stats.commits).toBe(stats.batches);
    expect(stats.batches).toBeLessThanOrEqual(3);
    expect(stats.conflicts).toBe(0);
  });
});

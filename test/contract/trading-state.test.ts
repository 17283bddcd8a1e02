import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreTradingStateStore } from '../../infra/firestore/trading-state.firestore.ts';
import { LocalTradingStateStore } from '../../infra/local/trading-state.local.ts';
import { startOrSkip } from '../support/emulator-guard.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { tradingStateContract } from './trading-state.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trading-state-'));
  tempDirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

tradingStateContract('local, memory only', async () => ({ store: LocalTradingStateStore.memory() }), {
  durable: false,
});

tradingStateContract(
  'local, journal on disk',
  async () => {
    const dataDir = await tempDir();
    const h = {
      store: await LocalTradingStateStore.open({ dataDir }),
      reopen: async () => {
        await h.store.close();
        h.store = await LocalTradingStateStore.open({ dataDir });
        return h.store;
      },
    };
    return h;
  },
  { durable: true },
);

const emu = await startOrSkip('Firestore', () => startFirestoreEmulator());

describe.skipIf(!emu.ok)('Firestore emulator', () => {
  const emulator = emu.ok ? emu.value : null;
  const db = emulator?.client();
  const prefix = () => `t-${randomUUID().slice(0, 8)}-`;

  afterAll(async () => {
    if (emulator) {
      console.info(`Firestore emulator for trading-state tests started in ${emulator.startMs} ms`);
      await emulator.stop();
    }
  });

  tradingStateContract(
    'Firestore',
    async () => {
      if (!db || !emulator) throw new Error('emulator not running');
      const p = prefix();
      const h = {
        store: new FirestoreTradingStateStore({ firestore: db, collectionPrefix: p }),
        reopen: async () => {
          await h.store.close();
          h.store = new FirestoreTradingStateStore({
            firestore: emulator.client(),
            collectionPrefix: p,
            ownsClient: true,
          });
          return h.store;
        },
      };
      return h;
    },
    { durable: true },
  );

  it('stores readable documents and names a corrupt one', async () => {
    if (!db) throw new Error('emulator not running');
    const p = prefix();
    const store = new FirestoreTradingStateStore({ firestore: db, collectionPrefix: p });
    await store.set(
      { kind: 'strategy', strategy_id: 'a/b' },
      { state: 'HALTED', reason: 'r', updated_by: 'ops' },
      5n,
    );
    const ref = db.collection(`${p}trading_state`).doc('strategy|a%2Fb');
    expect((await ref.get()).data()).toEqual({
      scope_kind: 'strategy',
      strategy_id: 'a/b',
      state: 'HALTED',
      reason: 'r',
      updated_by: 'ops',
      ts_updated: '00000000000000000005',
      version: 1,
    });
    await ref.update({ state: 'PAUSED' });
    await expect(store.snapshot()).rejects.toThrow(
      /trading_state\/strategy\|a%2Fb: corrupt trading state at state/,
    );
  });
});

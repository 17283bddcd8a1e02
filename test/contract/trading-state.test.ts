import { expect, it } from 'vitest';
import { FirestoreTradingStateStore } from '../../infra/firestore/trading-state.firestore.ts';
import { LocalTradingStateStore } from '../../infra/local/trading-state.local.ts';
import { firestoreSuite, localStoreContracts, tempDirs } from '../support/store-suite.ts';
import { tradingStateContract } from './trading-state.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

localStoreContracts(tradingStateContract, LocalTradingStateStore, tempDirs('trading-state-'));

await firestoreSuite('trading-state', (fs) => {
  tradingStateContract('Firestore', () => fs.harness((o) => new FirestoreTradingStateStore(o)), {
    durable: true,
  });

  it('stores readable documents and names a corrupt one', async () => {
    const p = fs.prefix();
    const store = new FirestoreTradingStateStore({ firestore: fs.db, collectionPrefix: p });
    await store.set(
      { kind: 'strategy', strategy_id: 'a/b' },
      { state: 'HALTED', reason: 'r', updated_by: 'ops' },
      5n,
    );
    const ref = fs.db.collection(`${p}trading_state`).doc('strategy|a%2Fb');
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

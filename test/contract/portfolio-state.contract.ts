/**
 * The PortfolioStateStore contract: the memory adapter and the Firestore adapter (on the emulator)
 * pass the same behaviour tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  NavSnapshot,
  PortfolioActualState,
  PortfolioStateStore,
} from '../../shared/ports/portfolio-state-store.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const T0 = 1_796_601_600_000_000_000n;

export function makeActualState(over: Partial<PortfolioActualState> = {}): PortfolioActualState {
  return {
    schema_version: 1,
    strategy_id: 'rb/1',
    rebalance_id: 'rb-0123456789abcdef0123',
    source: 'gs://bucket/weights/a.json#1',
    as_of: '2026-12-07T00:00:00Z',
    ts_completed: '2026-12-07T00:00:05.000000000Z',
    quote_currency: 'USDT',
    nav: '100000.5',
    nav_issues: [],
    cash: { USDT: '50000.5' },
    positions: { [BTC]: '0.8' },
    instruments: [
      {
        instrument_key: BTC,
        quantity: '0.8',
        price: '62500',
        price_source: 'live_mid',
        value: '50000',
        actual_weight: '0.4999975',
        target_weight: '0.5',
      },
    ],
    orders: [
      {
        operation_id: 'RB-abc:BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        instrument_key: BTC,
        side: 'BUY',
        quantity: '0.8',
        status: 'FILLED',
        filled_quantity: '0.8',
        avg_fill_price: '62490',
        fees: '49.992',
        reason: null,
      },
    ],
    skipped: [],
    ...over,
  };
}

function snapshot(ts: bigint, nav: string | null, strategy = 'rb/1'): NavSnapshot {
  return {
    strategy_id: strategy,
    ts_event: ts,
    reason: 'DAILY',
    nav,
    cash: nav === null ? null : '1',
    exposure: nav === null ? null : '2',
    issues: nav === null ? [{ path: `prices.${BTC}`, message: 'no price' }] : [],
  };
}

export function portfolioStateContract(
  name: string,
  make: () => Promise<{ store: PortfolioStateStore }>,
): void {
  describe(`PortfolioStateStore contract: ${name}`, () => {
    let store: PortfolioStateStore;
    beforeEach(async () => {
      store = (await make()).store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores the latest actual state per strategy, exactly as given', async () => {
      expect(await store.getActualState('rb/1')).toBeNull();
      const a = makeActualState();
      await store.putActualState(a);
      expect(await store.getActualState('rb/1')).toEqual(a);
      const b = makeActualState({
        rebalance_id: 'rb-ffffffffffffffffffff',
        nav: null,
        nav_issues: [{ path: 'cash.USDT', message: 'no cash balance in USDT' }],
      });
      await store.putActualState(b);
      expect(await store.getActualState('rb/1')).toEqual(b);
      await store.putActualState(makeActualState({ strategy_id: 'other' }));
      expect((await store.getActualState('rb/1'))?.rebalance_id).toBe('rb-ffffffffffffffffffff');
    });

    it('refuses a state that does not validate', async () => {
      await expect(store.putActualState(makeActualState({ nav: '1e5' }))).rejects.toThrow();
      expect(await store.getActualState('rb/1')).toBeNull();
    });

    it('keeps NAV snapshots in time order per strategy, one per time, latest N on request', async () => {
      await store.putNavSnapshot(snapshot(T0 + 2n, '102'));
      await store.putNavSnapshot(snapshot(T0, '100'));
      await store.putNavSnapshot(snapshot(T0 + 1n, null));
      await store.putNavSnapshot(snapshot(T0 + 1n, '101'));
      await store.putNavSnapshot(snapshot(T0 + 5n, '999', 'rb/10'));
      const all = await store.listNavSnapshots('rb/1');
      expect(all.map((s) => [s.ts_event, s.nav])).toEqual([
        [T0, '100'],
        [T0 + 1n, '101'],
        [T0 + 2n, '102'],
      ]);
      expect((await store.listNavSnapshots('rb/1', 2)).map((s) => s.nav)).toEqual(['101', '102']);
      expect(await store.listNavSnapshots('nobody')).toEqual([]);
      await store.putNavSnapshot(snapshot(T0 + 3n, null));
      expect((await store.listNavSnapshots('rb/1', 1))[0]?.issues).toEqual([
        { path: `prices.${BTC}`, message: 'no price' },
      ]);
    });

    it('reports health', async () => {
      expect((await store.health()).ok).toBe(true);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { NANOS_PER_MILLI } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import {
  effectiveTradingState,
  type TradingStateReader,
  type TradingStateSnapshot,
} from '../../../shared/ports/trading-state-store.ts';

const ms = (n: number) => BigInt(n) * NANOS_PER_MILLI;

class CountingReader implements TradingStateReader {
  reads = 0;
  fail = false;
  constructor(readonly inner: TradingStateReader) {}
  async snapshot(): Promise<TradingStateSnapshot> {
    this.reads++;
    if (this.fail) throw new Error('store unavailable');
    return this.inner.snapshot();
  }
}

describe('CachedTradingStateReader', () => {
  it('reads the store at most once per poll interval and sees a change within it', async () => {
    const clock = new TestClock(ms(1_000_000));
    const store = LocalTradingStateStore.memory();
    const source = new CountingReader(store);
    const reader = new CachedTradingStateReader(source, { pollMs: 500, clock });

    expect((await reader.snapshot()).global).toBeNull();
    await store.set({ kind: 'global' }, { state: 'HALTED', reason: 'drill', updated_by: 'ops' }, clock.now());
    clock.advance(ms(499));
    expect((await reader.snapshot()).global).toBeNull(); // still cached
    expect(source.reads).toBe(1);
    clock.advance(ms(1));
    expect((await reader.snapshot()).global?.state).toBe('HALTED');
    expect(source.reads).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    const clock = new TestClock(0n);
    const source = new CountingReader(LocalTradingStateStore.memory());
    const reader = new CachedTradingStateReader(source, { pollMs: 1000, clock });
    await Promise.all(Array.from({ length: 20 }, () => reader.snapshot()));
    expect(source.reads).toBe(1);
  });

  it('throws when a refresh fails instead of serving a stale state, unless within the grace', async () => {
    const clock = new TestClock(0n);
    const source = new CountingReader(LocalTradingStateStore.memory());
    const strict = new CachedTradingStateReader(source, { pollMs: 100, clock });
    await strict.snapshot();
    source.fail = true;
    clock.advance(ms(100));
    await expect(strict.snapshot()).rejects.toThrow(/unavailable/);

    source.fail = false;
    const lenient = new CachedTradingStateReader(source, { pollMs: 100, clock, staleGraceMs: 1000 });
    await lenient.snapshot();
    source.fail = true;
    clock.advance(ms(500));
    expect((await lenient.snapshot()).global).toBeNull();
    clock.advance(ms(600));
    await expect(lenient.snapshot()).rejects.toThrow(/unavailable/);
  });

  it('refuses a poll interval over one second', () => {
    const clock = new TestClock(0n);
    expect(
      () => new CachedTradingStateReader(LocalTradingStateStore.memory(), { pollMs: 1001, clock }),
    ).toThrow(/1 s/);
    expect(
      () => new CachedTradingStateReader(LocalTradingStateStore.memory(), { pollMs: 0, clock }),
    ).toThrow();
  });
});

describe('effectiveTradingState', () => {
  it('uses the initial state when none is stored, and ACTIVE for strategies without their own', () => {
    const entry = { state: 'REDUCING' as const, reason: 'r', updated_by: 'u', ts_updated: 1n, version: 1 };
    expect(effectiveTradingState({ global: null, strategies: {} }, 's', 'HALTED')).toEqual({
      trading_state: 'HALTED',
      strategy_trading_state: 'ACTIVE',
    });
    expect(
      effectiveTradingState(
        { global: entry, strategies: { s: { ...entry, state: 'HALTED' } } },
        's',
        'ACTIVE',
      ),
    ).toEqual({
      trading_state: 'REDUCING',
      strategy_trading_state: 'HALTED',
    });
  });
});

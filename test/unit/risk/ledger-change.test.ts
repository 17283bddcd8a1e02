/** `checkLedgerChange`: the incremental guard the embedded store runs on a ledger given whole. */
import { describe, expect, it } from 'vitest';
import { checkLedgerChange, checkLedgerOps } from '../../../shared/ports/risk-ledger-store.ts';
import { applyReservation, emptyLedger, type RiskLedger } from '../../../shared/risk/ledger.ts';
import type { Reservation } from '../../../shared/risk/types.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const r = (id: string, over: Partial<Reservation> = {}): Reservation => ({
  id,
  instrument_key: BTC,
  strategy_id: 's',
  side: 'BUY',
  quantity: '0.1',
  mark: '60000',
  balance: { currency: 'USDT', amount: '6006' },
  ts_ns: '1751328300000000000',
  ledger_version: null,
  ...over,
});

describe('checkLedgerChange', () => {
  const prev = applyReservation(emptyLedger(), r('OP-1'));
  const next = applyReservation(prev, r('OP-2', { strategy_id: 't' }));
  const check = (l: RiskLedger) => () => checkLedgerChange(prev, l, 'global');

  it('accepts what the pure transitions make', () => {
    expect(checkLedgerChange(prev, next, 'global')).toBe(next);
    expect(checkLedgerChange(emptyLedger(), prev, 'global')).toBe(prev);
  });

  it('names the bad field of every kind of changed part', () => {
    expect(check({ ...next, version: -1 })).toThrow(/scope global is malformed at version/);
    expect(check({ ...next, total_exposure: '1e3' })).toThrow(/at total_exposure/);
    expect(
      check({
        ...next,
        instruments: { ...next.instruments, [BTC]: { ...next.instruments[BTC]!, mark: 'x' } },
      }),
    ).toThrow(new RegExp(`at instruments\\.${BTC}\\.mark`));
    const t = next.strategies.t!;
    expect(
      check({
        ...next,
        strategies: {
          ...next.strategies,
          t: { ...t, books: { [BTC]: { ...t.books[BTC]!, working_buy: '' } } },
        },
      }),
    ).toThrow(new RegExp(`at strategies\\.t\\.books\\.${BTC}\\.working_buy`));
    expect(check({ ...next, strategies: { ...next.strategies, t: { ...t, recent: ['-1'] } } })).toThrow(
      /at strategies\.t\.recent\.0/,
    );
    expect(check({ ...next, reserved_balance: { USDT: 'none' } })).toThrow(/at reserved_balance\.USDT/);
    expect(
      check({
        ...next,
        open: {
          ...next.open,
          'OP-2': { ...next.open['OP-2']!, reservation: r('OP-2', { side: 'SHORT' as 'BUY' }) },
        },
      }),
    ).toThrow(/at open\.OP-2\.reservation\.side/);
  });
});

describe('checkLedgerOps', () => {
  it('returns the ops, and names the op and field of a malformed one', () => {
    const ok = [{ op: 'release' as const, id: 'OP-1', filled: '0' }];
    expect(checkLedgerOps(ok, 'global')).toEqual(ok);
    expect(() => checkLedgerOps([...ok, { op: 'fill', id: 'OP-1', quantity: 'lots' }], 'global')).toThrow(
      /scope global are malformed at ops\.1\.quantity/,
    );
    expect(() => checkLedgerOps([{ op: 'explode' }], 'global')).toThrow(/at ops\.0/);
  });
});

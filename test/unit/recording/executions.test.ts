import { describe, expect, it } from 'vitest';
import { overlappingParents } from '../../../shared/recording/executions.ts';
import { child, parent } from './fixtures.ts';

describe('overlappingParents', () => {
  // P1 works from T0 to T0 + 10 s + 5 ms (children at 0 and 10 s).
  const p1 = parent([child(0), child(1)]);

  it('pairs parents of one instrument and side whose children worked at the same time', () => {
    const p2 = parent([child(1, { order_id: 'P2-c1' })], { parent_order_id: 'P2' });
    expect(overlappingParents([p1, p2])).toEqual([['P1', 'P2']]);
  });

  it('leaves out the other side, another instrument, parents one after the other and parents with no child', () => {
    const sell = parent([child(1, { order_id: 'P3-c1', side: 'SELL' })], {
      parent_order_id: 'P3',
      side: 'SELL',
    });
    const eth = parent([child(1, { order_id: 'P4-c1' })], {
      parent_order_id: 'P4',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
    });
    const later = parent([child(2, { order_id: 'P5-c2' })], { parent_order_id: 'P5' });
    const none = parent([], { parent_order_id: 'P6' });
    expect(overlappingParents([p1, sell, eth, later, none])).toEqual([]);
    // A child sent 1 ns after the other parent's last child ended does not overlap it.
    const justAfter = parent([child(1, { order_id: 'P7-c1', ts_submitted: p1.children[1]!.ts_last + 1n })], {
      parent_order_id: 'P7',
    });
    expect(overlappingParents([p1, justAfter])).toEqual([]);
  });
});

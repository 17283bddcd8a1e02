/** The one "engine events → order state" mapping (shared/sim/order-view.ts). */
import { describe, expect, it } from 'vitest';
import { fmt } from '../../../shared/domain/decimal.ts';
import { applySimEvent, newSimOrderView } from '../../../shared/sim/order-view.ts';
import type { SimEvent } from '../../../shared/sim/types.ts';

const base = { order_id: 'O1', ts_event: 10n } as const;
const fill = (q: string, px: string, fee: string, leaves: string, cum: string, t: bigint): SimEvent => ({
  ...base,
  ts_event: t,
  type: 'filled',
  fill_id: `O1-F${t}`,
  side: 'BUY',
  quantity: q,
  price: px,
  fee,
  fee_currency: 'USDT',
  liquidity: 'TAKER',
  cum_quantity: cum,
  leaves_quantity: leaves,
});

describe('applySimEvent', () => {
  it('accepted → WORKING with the mid; fills accumulate quantity, notional and fees; FILLED when none is left', () => {
    let v = applySimEvent(newSimOrderView(), { ...base, type: 'accepted', mid_at_arrival: '100.5' });
    expect(v).toMatchObject({ phase: 'WORKING', mid_at_arrival: '100.5', ts_event: 10n });
    v = applySimEvent(v, fill('0.3', '101', '0.0606', '0.7', '0.3', 11n));
    expect([v.phase, fmt(v.filled), fmt(v.notional), fmt(v.fees)]).toEqual([
      'PARTIALLY_FILLED',
      '0.3',
      '30.3',
      '0.0606',
    ]);
    v = applySimEvent(v, fill('0.7', '102', '0.1428', '0', '1', 12n));
    expect([v.phase, fmt(v.filled), fmt(v.notional), v.ts_event]).toEqual(['FILLED', '1', '101.7', 12n]);
  });

  it('a final order never changes; cancel / expiry / rejection carry their reason', () => {
    const canceled = applySimEvent(newSimOrderView(), {
      ...base,
      type: 'canceled',
      reason: 'USER_CANCEL',
      message: 'canceled by request',
      filled_quantity: '0',
    });
    expect(canceled).toMatchObject({ phase: 'CANCELED', reason: 'USER_CANCEL: canceled by request' });
    expect(applySimEvent(canceled, fill('1', '1', '0', '0', '1', 20n))).toBe(canceled);
    const rejected = applySimEvent(newSimOrderView(), {
      ...base,
      type: 'rejected',
      reason: 'POST_ONLY_WOULD_CROSS',
      message: 'x',
    } as SimEvent);
    expect(rejected.phase).toBe('REJECTED');
    const v = newSimOrderView();
    expect(
      applySimEvent(v, { ...base, type: 'cancel_rejected', reason: 'UNKNOWN_ORDER', message: 'x' }),
    ).toBe(v);
  });
});

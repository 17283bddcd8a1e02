import { describe, expect, it } from 'vitest';
import { fmt } from '../../../shared/domain/decimal.ts';
import { applyFill } from '../../../shared/domain/position.ts';
import type { Fill, Position } from '../../../shared/domain/types.ts';
import {
  assetsOf,
  type BalanceBaseline,
  expectedBalances,
  extendBaseline,
  positionFlow,
  positionFlows,
} from '../../../shared/recon/balances.ts';
import { fillFlows } from '../../../shared/recon/diff.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';
const INV = 'DERIBIT:PERPETUAL:BTC-USD@INV';

function fill(
  n: number,
  instrument: string,
  side: 'BUY' | 'SELL',
  quantity: string,
  price: string,
  fee = '0',
): Fill {
  return {
    fill_id: `F${n}`,
    order_id: 'o',
    operation_id: 'op',
    instrument_key: instrument,
    venue: 'V',
    side,
    quantity,
    price,
    fee,
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: BigInt(n),
  };
}

function fold(fills: Fill[]): Position {
  let p: Position | null = null;
  for (const f of fills) p = applyFill(p, f, 'A');
  if (p === null) throw new Error('no fills');
  return p;
}

const asRecord = (m: Map<string, { toFixed(): string }>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, fmt(v as Parameters<typeof fmt>[0])]));

describe('balance flows', () => {
  it('a spot position moves the base by its quantity and the quote by −Σ signed qty × price − fees (as its fills do)', () => {
    const fills = [
      fill(1, BTC, 'BUY', '1', '60000', '6'),
      fill(2, BTC, 'BUY', '0.5', '61000', '3.05'),
      fill(3, BTC, 'SELL', '0.7', '62000', '4.34'),
    ];
    const flow = positionFlow(fold(fills));
    expect(asRecord(flow)).toEqual({ BTC: '0.8', USDT: '-47113.39' });
    // The same as the fills' own cash flows.
    expect(asRecord(fillFlows(fills))).toEqual({ BTC: '0.8', USDT: '-47113.39' });
  });

  it('a linear derivative moves its settlement asset by realised PnL − fees; an inverse one its base', () => {
    const linear = fold([
      fill(1, PERP, 'BUY', '2', '60000', '12'),
      fill(2, PERP, 'SELL', '1', '61000', '6.1'),
    ]);
    expect(asRecord(positionFlow(linear))).toEqual({ USDT: '981.9' });
    const inverse = fold([fill(1, INV, 'BUY', '1000', '50000'), fill(2, INV, 'SELL', '1000', '40000')]);
    expect(asRecord(positionFlow(inverse))).toEqual({ BTC: '-0.005' });
    expect(asRecord(positionFlows([linear, linear]))).toEqual({ USDT: '1963.8' });
  });

  it('assets an instrument touches', () => {
    expect(assetsOf(BTC)).toEqual(['BTC', 'USDT']);
    expect(assetsOf(PERP)).toEqual(['USDT']);
    expect(assetsOf(INV)).toEqual(['BTC']);
    expect(assetsOf('not an id')).toEqual([]);
  });

  it('the baseline is what our fills do not explain; expected = baseline + flows', () => {
    const p = fold([fill(1, BTC, 'BUY', '1', '60000', '60')]);
    const flows = positionFlows([p]);
    const empty: BalanceBaseline = { venue: 'V', assets: {}, ts_updated: '0' };
    const venue = [
      { asset: 'BTC', free: '1.25', total: '1.25' },
      { asset: 'USDT', free: '39940', total: '39940' },
    ];
    const b = extendBaseline(empty, ['BTC', 'USDT', 'ETH'], venue, flows, 7n);
    expect(b).toEqual({ venue: 'V', assets: { BTC: '0.25', USDT: '100000', ETH: '0' }, ts_updated: '7' });
    expect(extendBaseline(b, ['BTC'], venue, flows, 8n)).toBe(b);
    expect(expectedBalances(b, flows)).toEqual([
      { asset: 'BTC', total: '1.25' },
      { asset: 'ETH', total: '0' },
      { asset: 'USDT', total: '39940' },
    ]);
  });
});

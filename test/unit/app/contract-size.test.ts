import { describe, expect, it } from 'vitest';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { unrealizedPnl } from '../../../shared/domain/position.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { createRoutedOrder, fillOf, MS, RecordingBus, T0 } from '../venues/fixtures.ts';

const OKX_SWAP = 'OKX:PERPETUAL:BTC-USDT@LIN';

describe('ExecutionRecorder: positions with the instrument contract size', () => {
  it('an OKX swap position realises contracts × 0.01 BTC × the price move; a rebuild agrees', async () => {
    const orders = LocalOrderStore.memory();
    const positions = LocalPositionStore.memory();
    const clock = new TestClock(T0);
    const recorder = new ExecutionRecorder({
      orders,
      positions,
      bus: new RecordingBus(),
      clock,
      contractSize: (key) => (key === OKX_SWAP ? '0.01' : undefined),
    });
    const buy = await createRoutedOrder(orders, 'OP-B', { instrument_key: OKX_SWAP, quantity: '10' });
    await recorder.recordSubmitted('OP-B', buy.order_id);
    await recorder.recordAccepted('OP-B', 'V-1', T0 + MS);
    await recorder.recordFill('OP-B', fillOf(buy, 1, '10', '30000', T0 + 2n * MS));
    const sell = await createRoutedOrder(orders, 'OP-S', {
      instrument_key: OKX_SWAP,
      quantity: '4',
      side: 'SELL',
    });
    await recorder.recordSubmitted('OP-S', sell.order_id);
    await recorder.recordAccepted('OP-S', 'V-2', T0 + 3n * MS);
    await recorder.recordFill('OP-S', fillOf(sell, 1, '4', '32000', T0 + 4n * MS));
    const p = await positions.get('SIM', OKX_SWAP);
    expect(p).toMatchObject({ quantity: '6', realized_pnl: '80', cost_basis: '1800' }); // 4 × 0.01 × 2000
    if (p === null) throw new Error('no position');
    expect(unrealizedPnl(p, '31000', { contract_size: '0.01' })).toBe('60'); // 6 × 0.01 × 1000
    // Rebuilt from the stored fills, with the same contract size: the same books.
    const rebuilt = await recorder.rebuildPosition('SIM', OKX_SWAP);
    expect(rebuilt).toMatchObject({ quantity: '6', realized_pnl: '80', cost_basis: '1800' });
  });
});

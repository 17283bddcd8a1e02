import { describe, expect, it } from 'vitest';
import type { Position } from '../../../shared/domain/types.ts';
import { fixture, issuePaths } from './app-fixture.ts';

function position(account: string, instrument: string, quantity: string): Position {
  return {
    account_id: account,
    instrument_key: instrument,
    quantity,
    avg_entry_price: '60000',
    cost_basis: '60000',
    realized_pnl: '0',
    fees: '0.06',
    venues: { [account]: quantity },
    last_fill_id: 'f1',
    version: 1,
    ts_updated: 1_751_328_000_123_456_789n,
  };
}

async function seeded() {
  const f = fixture();
  await f.positions.put(position('SIM', 'SIM:SPOT_PAIR:BTC-USDT', '1'), 0);
  await f.positions.put(position('SIM', 'SIM:PERPETUAL:ETH-USDT@LIN', '-2.5'), 0);
  await f.positions.put(position('BINANCE-SPOT', 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT', '0.5'), 0);
  return f;
}

describe('GET /api/positions', () => {
  it('lists every position with exact decimals and ns timestamps as digit strings', async () => {
    const { app } = await seeded();
    const res = await app.request('/api/positions');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { count: number; positions: Array<Record<string, unknown>> };
    expect(body.count).toBe(3);
    const eth = body.positions.find((p) => p.instrument_key === 'SIM:PERPETUAL:ETH-USDT@LIN');
    expect(eth).toMatchObject({ account_id: 'SIM', quantity: '-2.5', ts_updated: '1751328000123456789' });
  });

  it('filters by account_id and instrument_key', async () => {
    const { app } = await seeded();
    const keys = async (q: string) =>
      (
        (await (await app.request(`/api/positions?${q}`)).json()) as {
          positions: Array<{ instrument_key: string }>;
        }
      ).positions
        .map((p) => p.instrument_key)
        .sort();
    expect(await keys('account_id=SIM')).toEqual(['SIM:PERPETUAL:ETH-USDT@LIN', 'SIM:SPOT_PAIR:BTC-USDT']);
    expect(await keys(`instrument_key=${encodeURIComponent('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')}`)).toEqual([
      'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
    ]);
    expect(await keys('account_id=NOBODY')).toEqual([]);
  });

  it('400 naming the bad or unknown parameter', async () => {
    const { app } = fixture();
    const bad = await app.request('/api/positions?instrument_key=BTC');
    expect(bad.status).toBe(400);
    expect(issuePaths(await bad.json())).toEqual(['instrument_key']);
    const unknown = await app.request('/api/positions?account=SIM');
    expect(unknown.status).toBe(400);
    expect(issuePaths(await unknown.json())).toEqual(['account']);
  });
});

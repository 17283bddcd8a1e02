/**
 * A SHADOW venue gates by its data venue's trading sessions: it offers the data venue's schedule
 * for the instrument (an IBKR data session's contract hours), so the edge steps SHADOW parents with
 * the same schedule as LIVE ones. Without one (crypto data), or for an instrument it does not list,
 * there are no sessions (null).
 */
import { describe, expect, it } from 'vitest';
import { createShadowVenue } from '../../../infra/shadow/venue.ts';
import type { TradingSchedule } from '../../../shared/execution/session.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { SPEC } from '../backtest/fixtures.ts';
import { FakeDataVenue } from './fake-data-venue.ts';

const T0 = 1_751_371_200_000_000_000n;
const SCHEDULE: TradingSchedule = { sessions: [{ start: T0, end: T0 + 1n }], horizon: T0 + 2n };

function shadowOver(data: FakeDataVenue) {
  return createShadowVenue({
    id: 'SHADOW-X',
    account_id: 'a',
    data,
    instruments: [SPEC],
    clock: new TestClock(T0),
  });
}

describe('ShadowVenue.tradingSchedule', () => {
  it("is the data venue's schedule of the instrument, asked under the data venue's key", async () => {
    const data = new FakeDataVenue('BINANCE-SPOT');
    const asked: string[] = [];
    Object.assign(data, {
      tradingSchedule: async (key: string) => {
        asked.push(key);
        return SCHEDULE;
      },
    });
    const v = shadowOver(data);
    await v.connect();
    expect(await v.tradingSchedule(SPEC.instrument_key)).toEqual(SCHEDULE);
    expect(asked).toEqual([SPEC.instrument_key]);
    expect(await v.tradingSchedule('BINANCE-SPOT:SPOT_PAIR:DOGE-USDT')).toBeNull();
    expect(asked).toHaveLength(1);
  });

  it('a data venue without sessions (crypto): null, always open', async () => {
    const v = shadowOver(new FakeDataVenue('BINANCE-SPOT'));
    await v.connect();
    expect(await v.tradingSchedule(SPEC.instrument_key)).toBeNull();
  });
});

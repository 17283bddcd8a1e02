import { describe, expect, it } from 'vitest';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import type { VenueInstrumentRules } from '../../../shared/ports/venue.ts';
import { checkInstrumentSpecs } from '../../../shared/recon/specs.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';

const spec = (over: Partial<InstrumentSpec> = {}): InstrumentSpec => ({
  instrument_key: BTC,
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
  ...over,
});

const rules = (over: Partial<VenueInstrumentRules> = {}): VenueInstrumentRules => ({
  instrument_key: BTC,
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  ...over,
});

describe('checkInstrumentSpecs', () => {
  it('compares exact decimals: "0.01" equals "0.010", trailing zeros and exponents do not matter', () => {
    expect(
      checkInstrumentSpecs(
        [spec()],
        [
          rules({
            tick_size: '0.010',
            step_size: '1e-5',
            min_qty: '0.0000100',
            max_qty: '9000.00000000',
            min_notional: '5.0',
          }),
        ],
      ),
    ).toEqual([]);
  });

  it('"0.01" and "0.001" differ: a venue tick that ours is a multiple of is a warning, the reverse an error', () => {
    const coarserOurs = checkInstrumentSpecs([spec({ tick_size: '0.01' })], [rules({ tick_size: '0.001' })]);
    expect(coarserOurs).toEqual([
      {
        instrument_key: BTC,
        field: 'tick_size',
        ours: '0.01',
        venue: '0.001',
        severity: 'warning',
        message: `${BTC}: tick size is 0.01 in our catalog, 0.001 at the venue (ours is stricter)`,
      },
    ]);
    const finerOurs = checkInstrumentSpecs([spec({ tick_size: '0.001' })], [rules({ tick_size: '0.01' })]);
    expect(finerOurs).toMatchObject([
      { field: 'tick_size', ours: '0.001', venue: '0.01', severity: 'error' },
    ]);
    // Not a multiple either way (0.05 vs 0.02): an error.
    expect(checkInstrumentSpecs([spec({ step_size: '0.05' })], [rules({ step_size: '0.02' })])).toMatchObject(
      [{ field: 'step_size', severity: 'error' }],
    );
  });

  it('minimums and the maximum: an error when the venue is stricter, a warning when we are', () => {
    const d = checkInstrumentSpecs(
      [spec({ min_qty: '0.0001', min_notional: '10', max_qty: '100' })],
      [rules({ min_qty: '0.001', min_notional: '5', max_qty: '50' })],
    );
    expect(d.map((x) => [x.field, x.severity])).toEqual([
      ['min_qty', 'error'],
      ['max_qty', 'error'],
      ['min_notional', 'warning'],
    ]);
  });

  it('reports an instrument the venue does not list; ignores rules the venue does not publish and instruments we do not trade', () => {
    const d = checkInstrumentSpecs(
      [spec(), spec({ instrument_key: PERP })],
      [
        rules({ tick_size: null, step_size: null, min_notional: null }),
        rules({ instrument_key: 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT', tick_size: '1' }),
      ],
    );
    expect(d).toEqual([
      {
        instrument_key: PERP,
        field: 'listed',
        ours: 'true',
        venue: null,
        severity: 'error',
        message: `${PERP} is in our catalog but the venue does not list it`,
      },
    ]);
  });

  it('matches keys in their canonical spelling (a perpetual with or without @LIN)', () => {
    expect(
      checkInstrumentSpecs(
        [spec({ instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT' })],
        [rules({ instrument_key: PERP })],
      ),
    ).toEqual([]);
  });
});

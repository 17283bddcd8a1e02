import { describe, expect, it } from 'vitest';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { evaluate } from '../../../shared/risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  markInstrument,
  riskContextFromLedger,
} from '../../../shared/risk/ledger.ts';
import { ctx, limits, NOW, order } from './fixtures.ts';

const OKX_SWAP = 'OKX:PERPETUAL:BTC-USDT@LIN';
const OKX_SPEC: InstrumentSpec = {
  instrument_key: OKX_SWAP,
  tick_size: '0.1',
  step_size: '1',
  min_qty: '1',
  max_qty: '100000',
  min_notional: '0',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
  contract_size: '0.01',
};
const DERIBIT_PERP = 'DERIBIT:PERPETUAL:BTC-USD@INV';
const DERIBIT_SPEC: InstrumentSpec = {
  instrument_key: DERIBIT_PERP,
  tick_size: '0.5',
  step_size: '10',
  min_qty: '10',
  max_qty: '10000000',
  min_notional: '10',
  maker_fee: '0',
  taker_fee: '0.0005',
};

const check = (d: ReturnType<typeof evaluate>, rule: string) => d.checks.find((c) => c.rule === rule);

describe('risk engine: contract size and inverse notional', () => {
  it('values an OKX swap order as contracts × 0.01 BTC × price', () => {
    const o = order({ instrument_key: OKX_SWAP, quantity: '100', order_type: 'LIMIT', price: '50000' });
    const ok = evaluate(o, ctx({ instrument: OKX_SPEC }), limits({ max_notional_per_order: '50000' }), NOW);
    expect(ok.approved).toBe(true);
    expect(check(ok, 'max_notional_per_order')?.observed).toBe('50000'); // 100 × 0.01 × 50000
    if (ok.approved) expect(ok.reservation.contract_size).toBe('0.01');
    const big = order({ instrument_key: OKX_SWAP, quantity: '101', order_type: 'LIMIT', price: '50000' });
    const denied = evaluate(
      big,
      ctx({ instrument: OKX_SPEC }),
      limits({ max_notional_per_order: '50000' }),
      NOW,
    );
    expect(denied.approved).toBe(false);
    if (!denied.approved) expect(denied.rule).toBe('max_notional_per_order');
  });

  it('values a Deribit inverse perpetual order at its USD amount, whatever the price', () => {
    const o = order({ instrument_key: DERIBIT_PERP, quantity: '20000', order_type: 'LIMIT', price: '60000' });
    const d = evaluate(
      o,
      ctx({ instrument: DERIBIT_SPEC, reference_price: '60000' }),
      limits({ max_notional_per_order: '20000' }),
      NOW,
    );
    expect(d.approved).toBe(true);
    expect(check(d, 'max_notional_per_order')?.observed).toBe('20000');
    expect(check(d, 'total_exposure')?.observed).toBe('20000');
    if (d.approved) expect(d.reservation.contract_size).toBeUndefined();
  });

  it('the ledger keeps exposure in the same units as the engine', () => {
    let ledger = emptyLedger();
    const o = order({ instrument_key: OKX_SWAP, quantity: '100', order_type: 'LIMIT', price: '50000' });
    const market = {
      trading_state: 'ACTIVE' as const,
      strategy_trading_state: 'ACTIVE' as const,
      instrument: OKX_SPEC,
      reference_price: '50000',
      free_balance: null,
    };
    const d = evaluate(o, riskContextFromLedger(ledger, o, market), limits(), NOW);
    if (!d.approved) throw new Error(d.reason);
    ledger = applyReservation(ledger, d.reservation);
    expect(ledger.total_exposure).toBe('50000');
    ledger = markInstrument(ledger, OKX_SWAP, '60000');
    expect(ledger.total_exposure).toBe('60000'); // still × 0.01 after a re-mark

    let inv = emptyLedger();
    const io = order({
      instrument_key: DERIBIT_PERP,
      quantity: '20000',
      order_type: 'LIMIT',
      price: '60000',
    });
    const id = evaluate(
      io,
      riskContextFromLedger(inv, io, { ...market, instrument: DERIBIT_SPEC, reference_price: '60000' }),
      limits(),
      NOW,
    );
    if (!id.approved) throw new Error(id.reason);
    inv = applyReservation(inv, id.reservation);
    inv = markInstrument(inv, DERIBIT_PERP, '30000');
    expect(inv.total_exposure).toBe('20000');
  });
});

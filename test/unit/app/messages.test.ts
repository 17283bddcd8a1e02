import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  OrderUpdateMessageSchema,
  RoutedMessageSchema,
  routedSubmitMessage,
  venueInstrumentKey,
} from '../../../shared/app/messages.ts';
import { applyEvents } from '../../../shared/domain/order-machine.ts';
import type { OrderRecord } from '../../../shared/domain/types.ts';

const order: OrderRecord = applyEvents(null, [
  {
    type: 'OrderReceived',
    operation_id: 'OP-1',
    order_id: 'ord_1',
    parent_order_id: null,
    ts_event: 5n,
    ts_init: 5n,
    instruction: {
      operation_id: 'OP-1',
      instrument_key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN',
      side: 'SELL',
      quantity: '0.5',
      price: '61000.5',
      order_type: 'LIMIT',
      time_in_force: 'GTX',
      strategy_id: 's',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 300, max_slices: 10, jitter_pct: 0 },
    },
  },
]);

describe('pipeline messages', () => {
  it('venueInstrumentKey swaps the venue and keeps the canonical spelling', () => {
    expect(venueInstrumentKey('BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN', 'SIM')).toBe(
      'SIM:PERPETUAL:BTC-USDT@LIN',
    );
    expect(venueInstrumentKey('CRYPTO:BINANCE-SPOT:SPOT_PAIR:BTC-USDT', 'SIM')).toBe(
      'CRYPTO:SIM:SPOT_PAIR:BTC-USDT',
    );
  });

  it('a routed order message validates, and the schemas export as JSON Schema for other teams', () => {
    const routed = { ...order, venue: 'SIM', account_id: 'SIM', risk_approved: true };
    const msg = routedSubmitMessage(routed, '61000', 7n);
    expect(RoutedMessageSchema.parse(JSON.parse(JSON.stringify(msg)))).toEqual(msg);
    expect(msg).toMatchObject({
      venue_instrument_key: 'SIM:PERPETUAL:BTC-USDT@LIN',
      ts_created: '5',
      ts_routed: '7',
    });
    for (const schema of [RoutedMessageSchema, OrderUpdateMessageSchema]) {
      const json = z.toJSONSchema(schema) as { $schema?: string };
      expect(json.$schema).toMatch(/json-schema/);
    }
    expect(() => routedSubmitMessage(order, null, 7n)).toThrow(/no venue/);
  });
});

/**
 * From a weights file and its plan to order instructions (SPEC "Order instruction"), the same in
 * every shell: the backtest feeds them to the window's simulation, SHADOW and LIVE publish them to
 * `orders.requests`.
 *
 * Idempotency: a rebalance's identity is the weights file's identity — its content hash (SHA-256
 * of the bytes), so a redelivered event, a re-saved identical file or a second watcher pass names
 * the same rebalance. Each order's `operation_id` is derived from that identity and the instrument:
 * `RB-<first 20 hex of SHA-256(identity)>:<canonical instrument key, '@' written '.'>`, so the same
 * file can never make a second order for an instrument (order intake treats a repeated
 * operation_id as the same order).
 */
import { sha256Hex } from '../app/order-id.ts';
import type { DecimalString } from '../domain/decimal.ts';
import { venueOf } from '../domain/instrument-id.ts';
import type { OrderInstruction } from '../domain/types.ts';
import { DEFAULT_CASH_BUFFER, type RebalancePlan, type RebalanceSettings } from './plan.ts';
import type { WeightsFile } from './weights.ts';

/** The configuration a plan needs (the `rebalance` block of the platform configuration). */
export interface RebalanceDefaults {
  quote_currency: string;
  cash_buffer: DecimalString;
  min_trade_weight: DecimalString;
}

export const DEFAULT_REBALANCE: RebalanceDefaults = {
  quote_currency: 'USDT',
  cash_buffer: DEFAULT_CASH_BUFFER,
  min_trade_weight: '0',
};

/** Settings for one weights file: the file's own quote currency and buffer win over the defaults. */
export function settingsFor(weights: WeightsFile, defaults: RebalanceDefaults): RebalanceSettings {
  return {
    quote_currency: weights.quote_currency ?? defaults.quote_currency,
    cash_buffer: weights.cash_buffer ?? defaults.cash_buffer,
    min_trade_weight: defaults.min_trade_weight,
  };
}

const encoder = new TextEncoder();

/** A rebalance id from the weights file's bytes: `rb-` + 20 hex digits of their SHA-256. */
export function rebalanceIdOf(content: Uint8Array | string): string {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content;
  return `rb-${sha256Hex(bytes).slice(0, 20)}`;
}

/** The part of every operation_id of a rebalance before the instrument: `RB-<20 hex>`. */
export function rebalanceOperationPrefix(rebalanceId: string): string {
  return `RB-${sha256Hex(encoder.encode(rebalanceId)).slice(0, 20)}`;
}

/** The operation_id of a rebalance order: stable for one (rebalance, instrument). */
export function rebalanceOperationId(rebalanceId: string, instrumentKey: string): string {
  return `${rebalanceOperationPrefix(rebalanceId)}:${instrumentKey.replaceAll('@', '.')}`;
}

/** The `RB-<20 hex>` prefix of a rebalance order's operation_id; null for any other order. */
export function operationPrefixOf(operationId: string): string | null {
  const m = /^(RB-[0-9a-f]{20}):./.exec(operationId);
  return m === null ? null : (m[1] ?? null);
}

/**
 * The order instructions of a plan: MARKET orders, sells first, the file's algorithm, each sent to
 * its instrument's venue (`venue` names it: the cash the plan spent is that venue's balance, so the
 * router must not move the order elsewhere; the risk checks still apply).
 */
export function planInstructions(
  plan: RebalancePlan,
  weights: WeightsFile,
  rebalanceId: string,
): OrderInstruction[] {
  return plan.orders.map((o) => ({
    operation_id: rebalanceOperationId(rebalanceId, o.instrument_key),
    instrument_key: o.instrument_key,
    side: o.side,
    quantity: o.quantity,
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: weights.strategy_id,
    exec_algorithm: weights.exec_algorithm,
    exec_algorithm_params: weights.exec_algorithm_params,
    reference_price: o.price,
    venue: venueOf(o.instrument_key),
  }));
}

/**
 * The operator's request to change a trading state (`PUT /api/trading-state`, the console's
 * Trading state page, `npm run cli -- trading-state set`): ACTIVE / REDUCING / HALTED for the whole
 * platform, or for one strategy when `strategy_id` is given, with a reason that is required. Who
 * asked is not part of the request: the API records the verified caller.
 */
import { z } from 'zod';
import { StrategyIdSchema } from './schemas.ts';
import { TRADING_STATES } from './types.ts';

export const TradingStateRequestSchema = z.strictObject({
  state: z.enum(TRADING_STATES, { error: `must be one of ${TRADING_STATES.join(', ')}` }),
  reason: z
    .string({ error: 'a reason is required' })
    .trim()
    .min(1, { error: 'a reason is required' })
    .max(1024, { error: 'must be at most 1024 characters' }),
  strategy_id: StrategyIdSchema.optional().describe('Only this strategy; absent = the whole platform'),
});
export type TradingStateRequest = z.output<typeof TradingStateRequestSchema>;

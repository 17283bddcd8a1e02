/**
 * The trading state (SPEC "Pre-trade risk"): `GET /api/trading-state` shows the platform's and
 * every strategy's state with the recent changes; `PUT /api/trading-state` sets ACTIVE / REDUCING /
 * HALTED, platform-wide or for one strategy (`strategy_id`), with a required reason. The change is
 * stored with who made it (the verified caller, stateful/api/auth) and when, and is honoured by
 * every order intake within `risk.trading_state_poll_ms` (≤ 1 s).
 */
import { Hono } from 'hono';
import { parseWith } from '../../../shared/domain/schemas.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import { TradingStateRequestSchema } from '../../../shared/domain/trading-state-request.ts';
import type { TradingState } from '../../../shared/domain/types.ts';
import {
  GLOBAL_SCOPE,
  type TradingScope,
  type TradingStateStore,
} from '../../../shared/ports/trading-state-store.ts';
import { callDependency } from '../errors/index.ts';
import { readJsonBody, sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';

export interface TradingStateDeps {
  store: Pick<TradingStateStore, 'snapshot' | 'set' | 'history'>;
  /** The state that applies while none is stored (config `risk.initial_trading_state`). */
  initial: TradingState;
  now: () => Nanos;
}

export function tradingStateRoutes(deps: TradingStateDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get('/', async (c) => {
    const [snapshot, history] = await callDependency('trading state store', () =>
      Promise.all([deps.store.snapshot(), deps.store.history({ limit: 50 })]),
    );
    return sendJson(
      c,
      200,
      {
        state: snapshot.global?.state ?? deps.initial,
        global: snapshot.global,
        strategies: snapshot.strategies,
        history,
      },
      { 'Cache-Control': 'no-store' },
    );
  });

  app.put('/', async (c) => {
    const body = await readJsonBody(c, { required: true, what: 'a trading state change {state, reason}' });
    const parsed = parseWith(TradingStateRequestSchema, body, 'invalid_trading_state');
    if (!parsed.success) throw parsed.error;
    const req = parsed.data;
    const scope: TradingScope =
      req.strategy_id === undefined ? GLOBAL_SCOPE : { kind: 'strategy', strategy_id: req.strategy_id };
    const updatedBy = c.get('caller')?.id ?? 'unknown';
    const entry = await callDependency('trading state store', () =>
      deps.store.set(scope, { state: req.state, reason: req.reason, updated_by: updatedBy }, deps.now()),
    );
    return sendJson(c, 200, { scope, ...entry });
  });

  return app;
}

/**
 * The OpenAPI paths of the console's endpoints (stateful/api/index.ts): trading-state control,
 * the execution event stream, positions marked to the mid, TCA, backtest results, the catalog,
 * venue states and service detection. Request bodies and query parameters come from the zod
 * schemas the routes validate with.
 */
import type { z } from 'zod';
import { BacktestStartRequestSchema } from '../../../shared/backtest/start-request.ts';
import { TradingStateRequestSchema } from '../../../shared/domain/trading-state-request.ts';
import { EventQuerySchema } from '../events/index.ts';
import { OrderListQuerySchema, PositionQuerySchema } from '../schemas/index.ts';

type JsonObject = Record<string, unknown>;
type QueryParameters = (schema: z.ZodObject) => JsonObject[];

const errorRef = { $ref: '#/components/schemas/Error' };
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorRef } },
});
const ok = (description: string, schema: JsonObject = { type: 'object' }) => ({
  description,
  content: { 'application/json': { schema } },
});

const EventEntry: JsonObject = {
  type: 'object',
  required: ['id', 'ts_event', 'time', 'category', 'type', 'outcome', 'message'],
  properties: {
    id: { type: 'string' },
    ts_event: { type: 'string', pattern: '^\\d+$', description: 'Integer nanoseconds' },
    time: { type: 'string', description: 'ISO-8601 with nanoseconds' },
    category: { enum: ['order', 'trading_state', 'venue'] },
    type: {
      type: 'string',
      description:
        'OrderFilled, OrderDenied, TradingStateChanged, venue_diagnostic.stream, reconciliation.<kind>, drift_alert, ...',
    },
    outcome: { enum: ['executed', 'denied', 'rejected', 'canceled', 'info', 'warning'] },
    venue: { type: ['string', 'null'] },
    instrument_key: { type: ['string', 'null'] },
    operation_id: { type: ['string', 'null'] },
    strategy_id: { type: ['string', 'null'] },
    actor: {
      type: ['string', 'null'],
      description: 'Who asked (order submit / cancel, trading-state change)',
    },
    message: { type: 'string' },
  },
};

const nullableNs = { type: ['string', 'null'], pattern: '^\\d+$', description: 'Integer nanoseconds' };

/** `GET /api/venues` `session` (stateful/edge/status.ts `VenueSessionSnapshot`). */
const VenueSession: JsonObject = {
  type: ['object', 'null'],
  description: 'The venue edge session for this venue in this process (null: none runs here)',
  required: [
    'venue',
    'mode',
    'state',
    'reasons',
    'connected',
    'last_message_age_ms',
    'breaker',
    'rate_limits',
  ],
  properties: {
    venue: { type: 'string' },
    mode: { type: 'string' },
    state: {
      enum: ['GREEN', 'AMBER', 'RED'],
      description:
        'RED: not connected, private stream down, breaker open, venue down or the last message older than stale_limits_ms.red (default 60 s); AMBER: degraded, public stream down, breaker half open, last message older than stale_limits_ms.amber (default 15 s; or none yet), a budget at 80 % or more, reconciliation DIFFERENCES / DEGRADED / FAILED, persistent drift',
    },
    reasons: { type: 'array', items: { type: 'string' }, description: 'Why the state is not GREEN' },
    connected: { type: 'boolean' },
    private_stream: { enum: ['up', 'down', 'idle'] },
    public_stream: { enum: ['up', 'down', 'idle'] },
    health: { enum: ['up', 'degraded', 'down', 'circuit_open'] },
    health_detail: { type: ['string', 'null'] },
    breaker: { enum: ['closed', 'open', 'half_open'] },
    last_message_at: nullableNs,
    last_message_age_ms: {
      type: ['integer', 'null'],
      description: 'Since anything arrived on the venue streams',
    },
    stale_limits_ms: {
      type: 'object',
      description:
        "The staleness limits this session is judged by: the venue's `status` in the configuration, else the top-level `status`",
      required: ['amber', 'red'],
      properties: { amber: { type: 'integer' }, red: { type: 'integer' } },
    },
    working_orders: { type: 'integer' },
    active_algorithms: { type: 'integer' },
    last_error: { type: ['string', 'null'] },
    rate_limits: {
      type: ['array', 'null'],
      description:
        "The venue's request-weight and order budgets; a SHADOW session: its market-data session's (null: not paced by venue budgets, e.g. SIMULATED)",
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          kind: { enum: ['weight', 'orders'] },
          used: { type: 'number' },
          limit: { type: 'number' },
          window_ms: { type: 'integer' },
          refill_ms: { type: 'integer', description: 'Until the oldest usage in the window ages out' },
          used_fraction: { type: 'number' },
        },
      },
    },
    reconciliation: {
      type: ['object', 'null'],
      description: 'The last reconciliation (null: no reconciler for this venue)',
      properties: {
        status: { enum: ['OK', 'CORRECTED', 'DIFFERENCES', 'DEGRADED', 'FAILED', 'NOT_RUN'] },
        run_id: { type: ['string', 'null'] },
        finished_at: nullableNs,
        age_ms: { type: ['integer', 'null'] },
        differences: { type: 'integer' },
        open: { type: 'integer' },
        corrections: { type: 'integer' },
        errors: { type: 'array', items: { type: 'string' } },
      },
    },
    drift: {
      type: 'object',
      properties: {
        state: { enum: ['NONE', 'ALERTING', 'PERSISTENT'] },
        instruments: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              instrument_key: { type: 'string' },
              persistent: { type: 'boolean' },
              ewma_bps: { type: ['number', 'null'] },
              samples: { type: 'integer' },
              recent_alerts: { type: 'integer' },
            },
          },
        },
      },
    },
  },
};

export const CONSOLE_COMPONENTS: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['TradingStateRequest', TradingStateRequestSchema],
  ['BacktestStartRequest', BacktestStartRequestSchema],
];

export function consolePaths(queryParameters: QueryParameters): JsonObject {
  return {
    '/api/trading-state': {
      get: {
        tags: ['trading state'],
        operationId: 'getTradingState',
        summary: 'The platform and strategy trading states with the recent changes (who, when, why)',
        responses: { '200': ok('The states') },
      },
      put: {
        tags: ['trading state'],
        operationId: 'setTradingState',
        summary: 'Set ACTIVE / REDUCING / HALTED for the platform, or one strategy (`strategy_id`)',
        description:
          'A reason is required; the verified caller is recorded as `updated_by`. Every order intake honours the change within `risk.trading_state_poll_ms` (≤ 1 s).',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/TradingStateRequest' } } },
        },
        responses: {
          '200': ok('The stored state with its version'),
          '400': error('A bad state, a missing reason (issues name the field)'),
        },
      },
    },
    '/api/events': {
      get: {
        tags: ['operations'],
        operationId: 'listEvents',
        summary: 'The execution event feed, newest first, one page at a time',
        description:
          'An append-only feed written once per event: order events from the order book of record (received, risk decision, routing, acks, fills, cancels, rejections), trading-state changes (who, when, why), and the venue diagnostics (stream up/down, retries, circuit breaker, gap fills), reconciliation differences and drift alerts published on `exec.orders`. Pass `next_cursor` as `cursor` for the next (older) page.',
        parameters: queryParameters(EventQuerySchema),
        responses: {
          '200': ok('The events', {
            type: 'object',
            properties: {
              events: { type: 'array', items: EventEntry },
              count: { type: 'integer' },
              limit: { type: 'integer' },
              next_cursor: {
                type: ['string', 'null'],
                description: 'The next (older) page: pass as `cursor`; null when there is none',
              },
            },
          }),
          '400': error('A bad or unknown query parameter, or a cursor this API did not issue'),
        },
      },
    },
    '/api/positions/view': {
      get: {
        tags: ['positions'],
        operationId: 'positionView',
        summary: 'Positions per instrument with the breakdown by account and venue, marked to the latest mid',
        parameters: queryParameters(PositionQuerySchema),
        responses: { '200': ok('Rows per instrument and totals') },
      },
    },
    '/api/tca': {
      get: {
        tags: ['orders'],
        operationId: 'tca',
        summary:
          'Transaction-cost analysis of top-level orders: per order and per venue / algorithm / strategy',
        description:
          'Arrival mid, average fill, implementation shortfall and slippage vs mid (bps), fees and fill ratio, with the definitions of the backtest summary.',
        parameters: queryParameters(OrderListQuerySchema),
        responses: { '200': ok('Per order, groups and total'), '400': error('A bad query parameter') },
      },
    },
    '/api/backtests': {
      get: {
        tags: ['backtests'],
        operationId: 'listBacktests',
        summary: 'Backtest runs in the results store (completed, failed, running), newest first',
        description: 'A run started here shows `progress` (windows done of planned) while it runs.',
        responses: { '200': ok('The runs') },
      },
      post: {
        tags: ['backtests'],
        operationId: 'startBacktest',
        summary: "Start a backtest on this service's runner (signals from the store or uploaded)",
        description:
          'Selects the signals by instruments and UTC days, sets the algorithm when given, and runs them with the local runner of `npm run backtest` in the background; one run at a time.',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/BacktestStartRequest' } } },
        },
        responses: {
          '202': ok('Started: `{status, run_id, signals: {kept, total}}`'),
          '400': error(
            'A bad field, a missing signals file, or a selection that keeps no signal (issues name the field)',
          ),
          '409': error('A backtest is still running'),
          '503': error('No backtest runner in this deployment'),
        },
      },
    },
    '/api/backtests/_inputs': {
      get: {
        tags: ['backtests'],
        operationId: 'backtestInputs',
        summary: 'What a run can start from: signals files and tick data per venue (first and last day)',
        responses: { '200': ok('`{signals, data}`'), '503': error('No backtest runner in this deployment') },
      },
    },
    '/api/backtests/{run_id}': {
      get: {
        tags: ['backtests'],
        operationId: 'getBacktest',
        summary: "A run's summary.json (or summary.failed.json)",
        parameters: [{ name: 'run_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': ok('The summary'), '404': error('No such run') },
      },
    },
    '/api/backtests/{run_id}/equity': {
      get: {
        tags: ['backtests'],
        operationId: 'getBacktestEquity',
        summary: 'The equity curve and its drawdown as columns (at most 20,000 points)',
        parameters: [{ name: 'run_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': ok('ts_event, equity, drawdown'), '404': error('No such run') },
      },
    },
    '/api/instruments': {
      get: {
        tags: ['operations'],
        operationId: 'listInstruments',
        summary: 'The instrument catalog (`search` filters by id)',
        parameters: [{ name: 'search', in: 'query', required: false, schema: { type: 'string' } }],
        responses: { '200': ok('The instruments') },
      },
    },
    '/api/venues': {
      get: {
        tags: ['operations'],
        operationId: 'listVenues',
        summary: 'Configured venues with the state the venue edge last published and their sessions',
        description:
          'Each venue: its configuration, the state the venue edge last published (`state`), and its session in this process (`session`): GREEN / AMBER / RED with the reasons, the age of the last message, the circuit breaker, the rate-limit budgets, the last reconciliation and the drift state.',
        responses: {
          '200': ok('The venues', {
            type: 'object',
            properties: {
              venues: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    exchange: { type: 'string' },
                    mode: { type: 'string' },
                    enabled: { type: 'boolean' },
                    state: { type: ['object', 'null'] },
                    session: VenueSession,
                  },
                },
              },
            },
          }),
        },
      },
    },
    '/api/services': {
      get: {
        tags: ['operations'],
        operationId: 'services',
        summary: 'Service detection: which services run behind this API',
        responses: { '200': ok('One boolean per service') },
      },
    },
  };
}

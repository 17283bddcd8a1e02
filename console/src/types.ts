/** Shapes of the API's answers as the console reads them (decimals as strings, ns as digit strings). */

export interface FillView {
  fill_id: string;
  order_id: string;
  venue: string;
  side: string;
  quantity: string;
  price: string;
  fee: string;
  fee_currency: string;
  liquidity: string;
  ts_event: string;
}

export interface OrderRecordView {
  order_id: string;
  operation_id: string;
  parent_order_id: string | null;
  instrument_key: string;
  side: string;
  order_type: string;
  time_in_force: string;
  quantity: string;
  price: string | null;
  strategy_id: string;
  exec_algorithm: string;
  exec_algorithm_params: Record<string, unknown>;
  status: string;
  venue: string | null;
  account_id: string | null;
  client_order_id: string | null;
  venue_order_id: string | null;
  filled_quantity: string;
  avg_fill_price: string | null;
  fees: string;
  rejection_reason: string | null;
  ts_created: string;
  ts_updated: string;
}

export interface RiskCheckView {
  rule: string;
  passed: boolean;
  limit: string | null;
  observed: string | null;
  message?: string;
}

export interface VenueScoreView {
  venue: string;
  eligible: boolean;
  total_cost_bps: number | null;
  fee_bps: number | null;
  slippage_bps: number | null;
  latency_bps: number | null;
  rejection_bps: number | null;
  reason?: string;
}

export interface TimelineEventView {
  type: string;
  ts_event: string;
  [key: string]: unknown;
}

export interface OrderDetailView {
  operation_id: string;
  order_id: string;
  status: string;
  venue: string | null;
  order: OrderRecordView;
  timeline: TimelineEventView[];
  fill_records: FillView[];
}

export interface EventEntryView {
  id: string;
  ts_event: string;
  category: string;
  type: string;
  outcome: string;
  venue: string | null;
  instrument_key: string | null;
  operation_id: string | null;
  strategy_id: string | null;
  actor: string | null;
  message: string;
}

export interface ServicesView {
  api: boolean;
  order_intake: boolean;
  venue_edge: boolean;
  simulated_venues: boolean;
  backtest_results: boolean;
  backtest_runner: boolean;
  trading_state: boolean;
}

export interface VenueView {
  id: string;
  exchange: string;
  mode: string;
  enabled: boolean;
  state: {
    status: string;
    detail: string | null;
    latency_ms: number | null;
    recent_orders: number;
    recent_rejections: number;
    age_ms: number;
  } | null;
  /** The venue edge's session here (null: the edge does not run this venue in this process). */
  session?: VenueSessionView | null;
}

export interface RateBudgetView {
  name: string;
  kind: 'weight' | 'orders';
  used: number;
  limit: number;
  window_ms: number;
  refill_ms: number;
  used_fraction: number;
}

/** `GET /api/venues` `session` (stateful/edge/status.ts). */
export interface VenueSessionView {
  venue: string;
  mode: string;
  state: 'GREEN' | 'AMBER' | 'RED';
  reasons: string[];
  connected: boolean;
  private_stream: string;
  public_stream: string;
  health: string;
  health_detail: string | null;
  breaker: 'closed' | 'open' | 'half_open';
  last_message_at: string | null;
  last_message_age_ms: number | null;
  working_orders: number;
  active_algorithms: number;
  last_error: string | null;
  rate_limits: RateBudgetView[] | null;
  reconciliation: {
    status: string;
    run_id: string | null;
    finished_at: string | null;
    age_ms: number | null;
    differences: number;
    open: number;
    corrections: number;
    errors: string[];
  } | null;
  drift: {
    state: 'NONE' | 'ALERTING' | 'PERSISTENT';
    instruments: Array<{
      instrument_key: string;
      persistent: boolean;
      ewma_bps: number | null;
      samples: number;
      recent_alerts: number;
    }>;
  };
}

export interface HealthView {
  status: string;
  checked_at: string;
  components: Record<string, { ok: boolean; detail?: string; latency_ms: number }>;
}

export interface TradingStateEntryView {
  state: string;
  reason: string;
  updated_by: string;
  ts_updated: string;
  version: number;
}

export interface TradingStateView {
  state: string;
  global: TradingStateEntryView | null;
  strategies: Record<string, TradingStateEntryView>;
  history: Array<
    TradingStateEntryView & { scope: { kind: string; strategy_id?: string }; previous: string | null }
  >;
}

export interface TcaFiguresView {
  orders: number;
  fills: number;
  quantity: string;
  filled_quantity: string;
  fill_ratio: number | null;
  traded_notional: string;
  avg_fill_price: string | null;
  fees: string;
  implementation_shortfall_bps: number | null;
  slippage_bps: number | null;
}

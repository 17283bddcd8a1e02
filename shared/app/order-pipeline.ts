/**
 * The order pipeline: `createOrderService(deps)` implements the `OrderService` contract
 * (./order-service.ts) over the ports — intake, pre-trade risk, smart routing and cancels — for
 * every shell (the order-intake / order-cancel Cloud Functions, the HTTP API, the one-process
 * runner). Decisions are the pure cores' (shared/risk, shared/routing, the order machine); this
 * module only gathers their inputs, records their outputs and publishes.
 *
 * A new order costs two commits (docs/order-pipeline.md, "Writes"):
 *   1. the risk ledger's compare-and-set, holding the reservation (approved and routed orders only);
 *   2. ONE create of the order document with its whole first timeline — OrderReceived,
 *      OrderRiskApproved / OrderDenied, OrderRouted / OrderRejected — computed in memory, version 1.
 * A denied, unroutable or invalid order costs one commit (the create); a duplicate none.
 *
 * Resume rules (at-least-once delivery, crashes between steps): the order id is derived from the
 * operation id; the ledger reservation is keyed by the operation id (an open one is the approval,
 * re-used, never made twice); the order create is idempotent; a redelivered message whose order is
 * PENDING and routed re-publishes the route (the edge de-duplicates by operation id).
 */

import type { AppConfig, VenueConfig } from '../config/schema.ts';
import { fmt, toDec } from '../domain/decimal.ts';
import type { Issue } from '../domain/errors.ts';
import type { CallerRef, OrderEvent, OrderRejected, RiskCheckResult, VenueScore } from '../domain/events.ts';
import {
  canonicalInstrumentId,
  type InstrumentType,
  isInstrumentId,
  type ParsedInstrumentId,
  parseInstrumentId,
} from '../domain/instrument-id.ts';
import { applyEvents, decide, isTerminal, type OrderCommand } from '../domain/order-machine.ts';
import {
  checkDecimal,
  OperationIdSchema,
  parseCancelRequest,
  parseOrderInstruction,
  toOrderReply,
} from '../domain/schemas.ts';
import { NANOS_PER_MILLI, type Nanos } from '../domain/time.ts';
import {
  EXEC_ALGORITHMS,
  type InstrumentSpec,
  ORDER_TYPES,
  type OrderInstruction,
  type OrderRecord,
  SIDES,
  TIME_IN_FORCE,
  type TradingState,
} from '../domain/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { InstrumentCatalog } from '../ports/instrument-catalog.ts';
import {
  type MarketQuote,
  type MarketStateStore,
  type VenueState,
  venueRejectionRate,
} from '../ports/market-state.ts';
import type { OrderQuery, OrderStore } from '../ports/order-store.ts';
import type { PositionStore } from '../ports/position-store.ts';
import {
  changeByOps,
  DEFAULT_LEDGER_SCOPE,
  type LedgerChange,
  type RiskLedgerStore,
} from '../ports/risk-ledger-store.ts';
import { effectiveTradingState, type TradingStateReader } from '../ports/trading-state-store.ts';
import { riskLimitsFromConfig } from '../risk/config.ts';
import { evaluate } from '../risk/engine.ts';
import {
  applyLedgerOp,
  type LedgerOp,
  type MarketSnapshot,
  openReservation,
  ownEntry,
  type RiskLedger,
  recentRetention,
  riskContextFromLedger,
} from '../risk/ledger.ts';
import type { RiskLimits } from '../risk/limits.ts';
import type { Reservation, RiskApproved, RiskDenied } from '../risk/types.ts';
import { routerSettingsFromConfig } from '../routing/config.ts';
import { route } from '../routing/router.ts';
import type { RouterSettings, RoutingDecision, VenueCandidate, VisibleDepth } from '../routing/types.ts';
import {
  ORDER_UPDATES_TOPIC,
  orderUpdateAttributes,
  orderUpdateMessage,
  ROUTED_TOPIC,
  routedAttributes,
  routedSubmitMessage,
  venueCancelMessage,
  venueInstrumentKey,
} from './messages.ts';
import { orderIdFor } from './order-id.ts';
import type {
  CancelOutcome,
  OrderDetail,
  OrderService,
  SubmitOutcome,
  SubmitSource,
} from './order-service.ts';

// ---------------------------------------------------------------------------------------------
// Dependencies
// ---------------------------------------------------------------------------------------------

/** The venue facts the pipeline reads from `cfg.venues`. */
export type PipelineVenue = Pick<VenueConfig, 'id' | 'mode' | 'enabled' | 'latency_ms' | 'fees' | 'shadow'>;

export interface OrderPipelineDeps {
  orders: OrderStore;
  positions: PositionStore;
  bus: EventBus;
  ledger: RiskLedgerStore;
  market: MarketStateStore;
  /** Cached (≤ 1 s, `CachedTradingStateReader`) in production. */
  tradingState: TradingStateReader;
  instruments: InstrumentCatalog;
  clock: Clock;
  risk: {
    limits: RiskLimits;
    /** State assumed when none is stored (`risk.initial_trading_state`). */
    initial_trading_state: TradingState;
  };
  router: RouterSettings;
  venues: readonly PipelineVenue[];
  /** order_id from operation_id; default `orderIdFor` (`ord_` + 128 bits of SHA-256). Must be deterministic. */
  orderId?: ((operationId: string) => string) | undefined;
  /** The ledger scope an order is checked in (default: one global scope). */
  ledgerScope?: ((order: { instrument_key: string; strategy_id: string }) => string) | undefined;
  /** Quotes older than this are ignored (default 30 s). */
  quoteMaxAgeMs?: number | undefined;
  /** Venue states older than this count as UNKNOWN (default 60 s). */
  venueStateMaxAgeMs?: number | undefined;
  /**
   * A SIMULATED venue with no stored state counts as UP (default true): the simulated venue runs in
   * our own process and has no connection to lose. LIVE and SHADOW venues need a fresh state.
   */
  assumeSimulatedVenuesUp?: boolean | undefined;
  /**
   * A duplicate of an order still PENDING and routed this long after it was recorded re-publishes
   * its route (default 2000 ms): the edge normally moves a routed order to SUBMITTED within
   * milliseconds, so an older PENDING order's route was most likely lost (a crash between the create
   * and the publish). Younger duplicates — the usual redelivery — publish nothing.
   */
  republishAfterMs?: number | undefined;
  /** Attempts of a cancel transition that keeps losing races (default 10), then it throws (retry). */
  maxTransitionAttempts?: number | undefined;
}

/** The configuration pieces of the deps, from the app configuration. */
export function pipelineSettingsFromConfig(
  cfg: AppConfig,
): Pick<OrderPipelineDeps, 'risk' | 'router' | 'venues'> {
  return {
    risk: { limits: riskLimitsFromConfig(cfg.risk), initial_trading_state: cfg.risk.initial_trading_state },
    router: routerSettingsFromConfig(cfg.router, cfg.venues),
    venues: cfg.venues,
  };
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

/** The OrderService plus the maintenance the pipeline offers its host process. */
export interface OrderPipelineService extends OrderService {
  /** See docs/order-pipeline.md ("Resume rules"): returns the operation ids re-published. */
  republishStaleRoutes(olderThanMs: number, limit?: number): Promise<string[]>;
}

export function createOrderService(deps: OrderPipelineDeps): OrderPipelineService {
  const p = new OrderPipeline(deps);
  return {
    submit: (input, source) => p.submit(input, source),
    cancel: (input, source) => p.cancel(input, source),
    get: (operationId) => p.get(operationId),
    list: (query) => p.list(query),
    republishStaleRoutes: (olderThanMs, limit = 100) => p.republishStaleRoutes(olderThanMs, limit),
  };
}

/** The risk outcome decided inside the ledger update. */
type RiskOutcome =
  | { kind: 'approved'; decision: RiskApproved; reservation: Reservation }
  /** A reservation for this operation was already open: the approval recorded earlier stands. */
  | { kind: 'resumed'; reservation: Reservation; ledger_version: number }
  | { kind: 'denied'; decision: RiskDenied };

interface CandidateInfo {
  venue: string;
  venue_key: string;
  spec: InstrumentSpec | null;
  quote: MarketQuote | null;
  state: VenueState | null;
}

interface OrderContext {
  spec: InstrumentSpec;
  type: InstrumentType;
  /** Configured candidates for the type, in preference order. */
  candidates: CandidateInfo[];
  reference_price: string | null;
  free_balance: string | null;
  quote_currency: string;
  /** Platform-wide net position from the position store (seeds a ledger that has never seen the instrument). */
  platform_position: string;
  trading: { trading_state: TradingState; strategy_trading_state: TradingState };
}

const MAX_REASON_CHARS = 2_000;
const MAX_INPUT_CHARS = 4_096;
const MAX_RECORDED_ISSUES = 50;

class OrderPipeline {
  private readonly d: OrderPipelineDeps;
  private readonly orderId: (operationId: string) => string;
  private readonly scopeOf: (order: { instrument_key: string; strategy_id: string }) => string;
  private readonly venues: ReadonlyMap<string, PipelineVenue>;
  private readonly quoteMaxAgeNs: Nanos;
  private readonly venueMaxAgeNs: Nanos;
  private readonly maxRecent: number | null;
  private readonly republishAfterNs: Nanos;
  /** Instrument id work (canonical spelling, parts, venue-specific keys), memoised. */
  private readonly ids = new InstrumentIds();

  constructor(deps: OrderPipelineDeps) {
    this.d = deps;
    this.orderId = deps.orderId ?? orderIdFor;
    this.scopeOf = deps.ledgerScope ?? (() => DEFAULT_LEDGER_SCOPE);
    this.venues = new Map(deps.venues.map((v) => [v.id, v]));
    this.quoteMaxAgeNs = BigInt(Math.trunc(deps.quoteMaxAgeMs ?? 30_000)) * NANOS_PER_MILLI;
    this.venueMaxAgeNs = BigInt(Math.trunc(deps.venueStateMaxAgeMs ?? 60_000)) * NANOS_PER_MILLI;
    this.maxRecent = recentRetention(deps.risk.limits);
    this.republishAfterNs = BigInt(Math.trunc(deps.republishAfterMs ?? 2_000)) * NANOS_PER_MILLI;
  }

  // -------------------------------------------------------------------------------------------
  // submit
  // -------------------------------------------------------------------------------------------

  async submit(input: unknown, source: SubmitSource): Promise<SubmitOutcome> {
    const now = this.d.clock.now();
    const decoded = decodeJson(input);
    if (!decoded.ok) {
      return {
        kind: 'invalid',
        code: 'invalid_json',
        issues: [{ path: '', message: decoded.message }],
        reply: null,
      };
    }
    const parsed = parseOrderInstruction(decoded.value);
    if (!parsed.success) {
      return this.recordInvalid(decoded.value, parsed.error.code, parsed.error.issues, null, source, now);
    }
    const instruction: OrderInstruction = {
      ...parsed.data,
      instrument_key: this.ids.canonical(parsed.data.instrument_key),
    };
    const spec = await this.d.instruments.get(instruction.instrument_key);
    if (spec === null) {
      const issues = [
        {
          path: 'instrument_key',
          message: `unknown instrument ${instruction.instrument_key}: not in the instrument catalog (${this.d.instruments.source()})`,
        },
      ];
      return this.recordInvalid(decoded.value, 'invalid_order', issues, instruction, source, now);
    }

    const existing = await this.d.orders.get(instruction.operation_id);
    if (existing !== null) return this.duplicate(existing, now);

    const ctx = await this.gatherContext(instruction, spec, now);
    const routing = this.routeOrder(instruction, ctx);
    const scope = this.scopeOf(instruction);
    const risk = await this.d.ledger.update([scope], (ledgers) =>
      this.decideRisk(ledgers[scope] as RiskLedger, scope, instruction, ctx, routing, now),
    );

    const built = this.buildOrder(instruction, risk, routing, now);
    const order = built.order;
    const events = stampCaller(built.events, source.caller);
    const created = await this.d.orders.create(order, events);
    const reserved = risk.kind !== 'denied';
    if (!created.created) {
      // Someone recorded this operation first (a concurrent redelivery). If their order is not an
      // approved one, a reservation we made or re-used is nobody's: release it.
      if (reserved && (created.order.risk_approved !== true || isTerminal(created.order.status))) {
        await this.d.ledger.releaseReservation(
          instruction.operation_id,
          created.order.filled_quantity,
          scope,
        );
      }
      return this.duplicate(created.order, now);
    }
    if (!routing.routed) {
      // Approved but unroutable: only a re-used reservation can be open (a fresh one is never written).
      if (risk.kind === 'resumed')
        await this.d.ledger.releaseReservation(instruction.operation_id, '0', scope);
      await this.publishUpdate(order, events, now);
      return { kind: risk.kind === 'denied' ? 'denied' : 'unroutable', reply: toOrderReply(order, []) };
    }
    if (risk.kind === 'denied') {
      await this.publishUpdate(order, events, now);
      return { kind: 'denied', reply: toOrderReply(order, []) };
    }
    await this.publishRouted(order, risk.reservation.mark, now);
    await this.publishUpdate(order, events, now);
    return { kind: 'routed', reply: toOrderReply(order, []) };
  }

  /** Inside the ledger's atomic update: pure, may run several times. */
  private decideRisk(
    ledger: RiskLedger,
    scope: string,
    instruction: OrderInstruction,
    ctx: OrderContext,
    routing: RoutingDecision,
    now: Nanos,
  ): LedgerChange<RiskOutcome> {
    const open = openReservation(ledger, instruction.operation_id);
    if (open !== undefined) {
      return { result: { kind: 'resumed', reservation: open.reservation, ledger_version: ledger.version } };
    }
    // The change is given as ledger ops (`changeByOps`): the embedded store applies them in place,
    // O(the change) whatever the ledger holds; a Firestore store gets the pure `applyLedgerOps` result.
    const ops: LedgerOp[] = [];
    let l = ledger;
    if (
      ownEntry(l.instruments, instruction.instrument_key) === undefined &&
      !toDec(ctx.platform_position).isZero()
    ) {
      const seed: LedgerOp = {
        op: 'set_position',
        instrument_key: instruction.instrument_key,
        strategy_id: null,
        quantity: ctx.platform_position,
      };
      ops.push(seed);
      l = applyLedgerOp(l, seed); // shallow: only the instruments map is copied
    }
    const snapshot: MarketSnapshot = {
      trading_state: ctx.trading.trading_state,
      strategy_trading_state: ctx.trading.strategy_trading_state,
      instrument: ctx.spec,
      reference_price: ctx.reference_price,
      free_balance: ctx.free_balance,
      balance_currency: ctx.quote_currency,
    };
    const decision = evaluate(
      instruction,
      riskContextFromLedger(l, instruction, snapshot),
      this.d.risk.limits,
      now,
    );
    if (!decision.approved) return { result: { kind: 'denied', decision } };
    const result: RiskOutcome = { kind: 'approved', decision, reservation: decision.reservation };
    // An approved order that cannot be routed reserves nothing (the seed is not written either).
    if (!routing.routed) return { result };
    ops.push({ op: 'reserve', reservation: decision.reservation, max_recent: this.maxRecent });
    return changeByOps({ [scope]: ledger }, result, { [scope]: ops });
  }

  /** The first timeline (received → risk decision → routing decision), created as version 1. */
  private buildOrder(
    instruction: OrderInstruction,
    risk: RiskOutcome,
    routing: RoutingDecision,
    now: Nanos,
  ): { order: OrderRecord; events: OrderEvent[] } {
    const t = { ts_event: now, ts_init: now };
    const events: OrderEvent[] = [];
    let state: OrderRecord | null = null;
    const step = (command: OrderCommand) => {
      const r = decide(command, state, {});
      if (!r.success) throw new Error(`order machine refused ${command.type}: ${r.error.reason}`);
      state = applyEvents(state, r.data);
      events.push(...r.data);
    };
    step({
      type: 'ReceiveOrder',
      ...t,
      instruction,
      order_id: this.orderId(instruction.operation_id),
      parent_order_id: null,
    });
    if (risk.kind === 'denied') {
      const dd = risk.decision;
      step({
        type: 'DenyOrder',
        ...t,
        rule: dd.rule,
        limit: dd.limit,
        observed: dd.observed,
        reason: dd.reason,
        checks: dd.checks,
      });
    } else {
      step({
        type: 'ApproveRisk',
        ...t,
        checks: risk.kind === 'approved' ? risk.decision.checks : resumedChecks(risk),
      });
      if (routing.routed) {
        step({
          type: 'RouteOrder',
          ...t,
          venue: routing.venue,
          account_id: routing.account_id,
          scores: routing.scores,
          reason: routing.reason,
        });
      } else {
        // No command of the order machine takes a PENDING order to REJECTED: the router's "no venue"
        // is recorded as the venues' collective rejection, with every score (evolve applies it).
        const rejected: OrderRejected & { scores: VenueScore[] } = {
          type: 'OrderRejected',
          operation_id: instruction.operation_id,
          ...t,
          reason: `unroutable: ${routing.reason}`,
          scores: routing.scores,
        };
        events.push(rejected);
      }
    }
    return { order: applyEvents(null, events), events };
  }

  private async duplicate(order: OrderRecord, now: Nanos): Promise<SubmitOutcome> {
    if (isStaleRoute(order, now, this.republishAfterNs)) {
      // Routed long ago and still not taken by the edge: the route was most likely never
      // published (a crash between the create and the publish). Publish it again; the venue edge
      // de-duplicates by operation_id, so an extra copy is harmless.
      await this.republish(order, now);
    } else if (order.status === 'DENIED' || order.status === 'REJECTED') {
      // Repairs a crash between recording a terminal decision and releasing a reservation.
      await this.d.ledger.releaseReservation(order.operation_id, order.filled_quantity, this.scopeOf(order));
    }
    return { kind: 'duplicate', reply: toOrderReply(order, await this.fillsOf(order)) };
  }

  /** Poison input: record a REJECTED order when an operation_id is usable. */
  private async recordInvalid(
    raw: unknown,
    code: string,
    issues: Issue[],
    instruction: OrderInstruction | null,
    source: SubmitSource,
    now: Nanos,
  ): Promise<SubmitOutcome> {
    const operationId = instruction?.operation_id ?? usableOperationId(raw);
    if (operationId === null) return { kind: 'invalid', code, issues, reply: null };
    const reason = truncate(
      `${code}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      MAX_REASON_CHARS,
    );
    const received = instruction ?? salvageInstruction(raw, operationId);
    const t = { ts_event: now, ts_init: now };
    const rejected: OrderRejected & { issues: Issue[]; input: string; source: SubmitSource } = {
      type: 'OrderRejected',
      operation_id: operationId,
      ...t,
      reason,
      issues: issues.slice(0, MAX_RECORDED_ISSUES),
      input: inputText(raw),
      source: { ...source },
    };
    const events: OrderEvent[] = [
      {
        type: 'OrderReceived',
        operation_id: operationId,
        ...t,
        order_id: this.orderId(operationId),
        instruction: received,
        parent_order_id: null,
      },
      rejected,
    ];
    const stamped = stampCaller(events, source.caller);
    const order = applyEvents(null, stamped);
    const created = await this.d.orders.create(order, stamped);
    if (created.created) await this.publishUpdate(order, stamped, now);
    return {
      kind: 'invalid',
      code,
      issues,
      reply: toOrderReply(created.order, await this.fillsOf(created.order)),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Context and routing
  // -------------------------------------------------------------------------------------------

  private async gatherContext(
    instruction: OrderInstruction,
    spec: InstrumentSpec,
    now: Nanos,
  ): Promise<OrderContext> {
    const id = this.ids.parsed(instruction.instrument_key);
    const ownVenue = id.venue;
    const venueIds = [...(this.d.router.candidates[id.instrument_type] ?? [])];
    const quoteVenues = venueIds.includes(ownVenue) ? venueIds : [ownVenue, ...venueIds];
    const keys = quoteVenues.map((v) => ({
      venue: v,
      instrument_key: this.ids.onVenue(instruction.instrument_key, v),
    }));

    const [specs, quotes, states, trading, positions] = await Promise.all([
      // The instrument's own venue: the spec just looked up (one catalog lookup less, same answer).
      Promise.all(
        venueIds.map((v) => {
          const key = this.ids.onVenue(instruction.instrument_key, v);
          return key === instruction.instrument_key ? spec : this.d.instruments.get(key);
        }),
      ),
      this.d.market.getQuotes(keys),
      this.d.market.getVenueStates(quoteVenues),
      this.d.tradingState.snapshot(),
      this.d.positions.list({ instrument_key: instruction.instrument_key }),
    ]);
    const freshQuote = (i: number): MarketQuote | null => {
      const q = quotes[i] ?? null;
      return q !== null && now - q.ts_event <= this.quoteMaxAgeNs ? q : null;
    };
    const freshState = (v: string): VenueState | null => {
      const s = states[v];
      return s !== undefined && now - s.ts_updated <= this.venueMaxAgeNs ? s : null;
    };
    const candidates: CandidateInfo[] = venueIds.map((venue, i) => ({
      venue,
      venue_key: this.ids.onVenue(instruction.instrument_key, venue),
      spec: specs[i] ?? null,
      quote: freshQuote(quoteVenues.indexOf(venue)),
      state: freshState(venue),
    }));

    // Reference price: the instrument's own venue, else the first candidate with a fresh mid.
    let reference: string | null = midOf(freshQuote(quoteVenues.indexOf(ownVenue)));
    for (const c of candidates) reference ??= midOf(c.quote);

    // Free balance in the quote currency on the instrument's own venue.
    const quote = id.quote;
    let free: string | null = freshState(ownVenue)?.balances?.[quote] ?? null;
    const cfg = this.venues.get(ownVenue);
    if (free === null && cfg !== undefined && cfg.mode !== 'LIVE' && cfg.shadow.cash_currency === quote) {
      free = cfg.shadow.starting_cash;
    }

    let position = toDec(0);
    for (const p of positions) position = position.plus(toDec(p.quantity));

    return {
      spec,
      type: id.instrument_type,
      candidates,
      reference_price: reference,
      free_balance: free,
      quote_currency: quote,
      platform_position: fmt(position),
      trading: effectiveTradingState(trading, instruction.strategy_id, this.d.risk.initial_trading_state),
    };
  }

  private routeOrder(instruction: OrderInstruction, ctx: OrderContext): RoutingDecision {
    if (ctx.candidates.length === 0) {
      return { routed: false, reason: `no venue is configured for ${ctx.type}`, scores: [] };
    }
    const listed: VenueCandidate[] = [];
    const unlisted: VenueScore[] = [];
    for (const c of ctx.candidates) {
      if (c.spec === null) {
        unlisted.push({
          venue: c.venue,
          eligible: false,
          total_cost_bps: null,
          fee_bps: null,
          slippage_bps: null,
          latency_bps: null,
          rejection_bps: null,
          reason: `instrument ${c.venue_key} is not listed on this venue`,
        });
        continue;
      }
      const cfg = this.venues.get(c.venue);
      const settings = this.d.router.venues[c.venue];
      const status =
        c.state !== null
          ? c.state.status
          : cfg?.mode === 'SIMULATED' && this.d.assumeSimulatedVenuesUp !== false
            ? 'UP'
            : 'UNKNOWN';
      listed.push({
        venue: c.venue,
        account_id: settings?.account_id ?? null,
        status,
        maker_fee: settings?.maker_fee ?? Number(c.spec.maker_fee),
        taker_fee: settings?.taker_fee ?? Number(c.spec.taker_fee),
        depth: depthOf(c.quote),
        latency_ms: c.state?.latency_ms ?? settings?.latency_ms ?? cfg?.latency_ms ?? null,
        rejection_rate: c.state === null ? null : venueRejectionRate(c.state),
      });
    }
    const decision = route(instruction, listed, this.d.router);
    if (unlisted.length === 0) return decision;
    const eligible = decision.scores.filter((s) => s.eligible);
    const ineligible = [...decision.scores.filter((s) => !s.eligible), ...unlisted].sort((a, b) =>
      a.venue < b.venue ? -1 : a.venue > b.venue ? 1 : 0,
    );
    const scores = [...eligible, ...ineligible];
    if (decision.routed) return { ...decision, scores };
    const named =
      instruction.venue !== undefined ? unlisted.find((s) => s.venue === instruction.venue) : undefined;
    const reason =
      named !== undefined
        ? `venue ${named.venue} named by order is not eligible: ${named.reason ?? ''}`
        : decision.reason;
    return { routed: false, reason, scores };
  }

  // -------------------------------------------------------------------------------------------
  // cancel
  // -------------------------------------------------------------------------------------------

  async cancel(input: unknown, source: SubmitSource): Promise<CancelOutcome> {
    const decoded = decodeJson(input);
    if (!decoded.ok)
      return { kind: 'invalid', code: 'invalid_json', issues: [{ path: '', message: decoded.message }] };
    const parsed = parseCancelRequest(decoded.value);
    if (!parsed.success) return { kind: 'invalid', code: parsed.error.code, issues: parsed.error.issues };
    const { operation_id: operationId } = parsed.data;
    const reason = parsed.data.reason ?? 'cancel requested';
    const attempts = this.d.maxTransitionAttempts ?? 10;

    for (let attempt = 1; attempt <= attempts; attempt++) {
      const now = this.d.clock.now();
      const order = await this.d.orders.get(operationId);
      if (order === null) return { kind: 'not_found', operation_id: operationId };
      if (isTerminal(order.status)) {
        // Idempotent repair of a crash between a terminal transition and the ledger release.
        await this.d.ledger.releaseReservation(operationId, order.filled_quantity, this.scopeOf(order));
        return {
          kind: 'not_cancelable',
          reply: toOrderReply(order, await this.fillsOf(order)),
          reason: `order is ${order.status}`,
        };
      }
      if (order.status === 'PENDING_CANCEL') {
        // Already requested (a redelivery, or a crash before the venue was told): tell the venue again.
        await this.publishVenueCancel(order, reason, now);
        return { kind: 'cancel_requested', reply: toOrderReply(order, await this.fillsOf(order)) };
      }
      const decided = decide({ type: 'RequestCancel', ts_event: now, ts_init: now, reason }, order);
      const d = decided.success ? { ...decided, data: stampCaller(decided.data, source.caller) } : decided;
      if (!d.success) {
        return {
          kind: 'not_cancelable',
          reply: toOrderReply(order, await this.fillsOf(order)),
          reason: d.error.reason,
        };
      }
      const next = applyEvents(order, d.data);
      const events = d.data;
      const r = await this.d.orders.transition(operationId, order.version, next, events);
      if (!r.ok) {
        if (r.reason === 'not_found') return { kind: 'not_found', operation_id: operationId };
        continue; // someone moved the order first: look again
      }
      if (next.status === 'CANCELED') {
        // Never reached a venue: nothing to tell the edge; free the reservation.
        await this.d.ledger.releaseReservation(operationId, next.filled_quantity, this.scopeOf(next));
        await this.publishUpdate(next, events, now);
        return { kind: 'canceled', reply: toOrderReply(next, await this.fillsOf(next)) };
      }
      await this.publishVenueCancel(next, reason, now);
      await this.publishUpdate(next, events, now);
      return { kind: 'cancel_requested', reply: toOrderReply(next, await this.fillsOf(next)) };
    }
    throw new Error(`cancel of ${operationId}: the order kept changing under ${attempts} attempts; retry`);
  }

  // -------------------------------------------------------------------------------------------
  // get / list
  // -------------------------------------------------------------------------------------------

  async get(operationId: string): Promise<OrderDetail | null> {
    const order = await this.d.orders.get(operationId);
    if (order === null) return null;
    const [timeline, fills] = await Promise.all([
      this.d.orders.timeline(operationId),
      this.d.orders.fills(operationId),
    ]);
    return { order, reply: toOrderReply(order, fills), timeline, fills };
  }

  async list(query: OrderQuery): Promise<OrderRecord[]> {
    return this.d.orders.query(query);
  }

  /**
   * Re-publish the routes of PENDING routed orders recorded at least `olderThanMs` ago (oldest
   * first, at most `limit`): the safety net for a route lost by a crash when no redelivery comes
   * (an HTTP client that gave up). Run it periodically (the stateful service's scheduler).
   */
  async republishStaleRoutes(olderThanMs: number, limit: number): Promise<string[]> {
    const now = this.d.clock.now();
    const cutoff = now - BigInt(Math.trunc(olderThanMs)) * NANOS_PER_MILLI;
    const pending = await this.d.orders.query({ status: 'PENDING', to: cutoff + 1n, limit });
    const done: string[] = [];
    for (const order of pending.reverse()) {
      if (!isStaleRoute(order, now, now - cutoff)) continue;
      await this.republish(order, now);
      done.push(order.operation_id);
    }
    return done;
  }

  private async republish(order: OrderRecord, now: Nanos): Promise<void> {
    const timeline = await this.d.orders.timeline(order.operation_id);
    await this.publishRouted(order, referencePriceOf(timeline), now);
    await this.publishUpdate(order, timeline, now);
  }

  // -------------------------------------------------------------------------------------------
  // Publishing
  // -------------------------------------------------------------------------------------------

  private async publishRouted(order: OrderRecord, referencePrice: string | null, now: Nanos): Promise<void> {
    await this.d.bus.publish(
      ROUTED_TOPIC,
      routedSubmitMessage(order, referencePrice, now),
      routedAttributes(order, 'submit'),
    );
  }

  private async publishVenueCancel(order: OrderRecord, reason: string, now: Nanos): Promise<void> {
    await this.d.bus.publish(
      ROUTED_TOPIC,
      venueCancelMessage(order, reason, now),
      routedAttributes(order, 'cancel'),
    );
  }

  private async publishUpdate(order: OrderRecord, events: readonly OrderEvent[], now: Nanos): Promise<void> {
    await this.d.bus.publish(
      ORDER_UPDATES_TOPIC,
      orderUpdateMessage(
        order,
        events.map((e) => e.type),
        now,
      ),
      orderUpdateAttributes(order),
    );
  }

  private async fillsOf(order: OrderRecord): Promise<Awaited<ReturnType<OrderStore['fills']>>> {
    return toDec(order.filled_quantity).isZero() ? [] : this.d.orders.fills(order.operation_id);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (pure)
// ---------------------------------------------------------------------------------------------

/** Entries each memo of {@link InstrumentIds} holds before it starts over (ids come from input). */
const ID_MEMO_LIMIT = 4_096;

/**
 * The instrument id work of an intake, memoised: parsing an id costs microseconds (every part is
 * checked), and each order needs its canonical spelling, its parts and its key on every candidate
 * venue — the same few answers for the same few instruments, order after order. Only valid ids
 * reach here (the instruction was validated). Each memo is bounded: it starts over when full, so
 * input naming ever new instruments cannot grow it.
 */
class InstrumentIds {
  private readonly canonicalMemo = new Map<string, string>();
  private readonly parsedMemo = new Map<string, ParsedInstrumentId>();
  private readonly venueMemo = new Map<string, string>();

  /** `canonicalInstrumentId(key)`. */
  canonical(key: string): string {
    return memo(this.canonicalMemo, key, () => canonicalInstrumentId(key));
  }

  /** The parts of a valid id (shared: read only). */
  parsed(key: string): Readonly<ParsedInstrumentId> {
    return memo(this.parsedMemo, key, () => {
      const r = parseInstrumentId(key);
      if (!r.success) throw r.error; // unreachable: the instruction was validated
      return r.data;
    });
  }

  /** `venueInstrumentKey(key, venue)`: the instrument as listed on `venue`. */
  onVenue(key: string, venue: string): string {
    return memo(this.venueMemo, `${venue}\u0000${key}`, () => venueInstrumentKey(key, venue));
  }
}

function memo<V>(m: Map<string, V>, key: string, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    if (m.size >= ID_MEMO_LIMIT) m.clear();
    m.set(key, v);
  }
  return v;
}

type Decoded = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Shells may hand over the raw message (bytes or text) or already parsed JSON; raw input is parsed
 * here so malformed JSON is classified the same way everywhere.
 */
function decodeJson(input: unknown): Decoded {
  let text: string;
  if (input instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      return { ok: false, message: 'message data is not valid UTF-8' };
    }
  } else if (typeof input === 'string') {
    text = input;
  } else {
    return { ok: true, value: input };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** PENDING, approved and routed, and last changed at least `ageNs` before `now`. */
function isStaleRoute(order: OrderRecord, now: Nanos, ageNs: Nanos): boolean {
  return (
    order.status === 'PENDING' &&
    order.risk_approved === true &&
    order.venue !== null &&
    now - order.ts_updated >= ageNs
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The operation_id of a raw instruction when it is itself valid (so the record can be keyed by it). */
export function usableOperationId(raw: unknown): string | null {
  if (!isRecord(raw)) return null;
  const r = OperationIdSchema.safeParse(raw.operation_id);
  return r.success ? r.data : null;
}

/**
 * An OrderInstruction for the record of an invalid one: every field that is valid on its own is
 * kept, the others get neutral placeholders (BUY, 0, MARKET, GTC, '' …); the rejection reason and
 * the `input` kept on the OrderRejected event say what was actually sent.
 */
export function salvageInstruction(raw: unknown, operationId: string): OrderInstruction {
  const r = isRecord(raw) ? raw : {};
  const pick = <T extends string>(v: unknown, allowed: readonly T[], fallback: T): T =>
    allowed.find((a) => a === v) ?? fallback;
  const dec = (v: unknown, bound: 'positive'): string | null =>
    typeof v === 'string' || typeof v === 'number'
      ? ((c) => (c.ok ? c.value : null))(checkDecimal(v, bound))
      : null;
  const key = r.instrument_key;
  const out: OrderInstruction = {
    operation_id: operationId,
    instrument_key:
      typeof key === 'string' && isInstrumentId(key)
        ? canonicalInstrumentId(key)
        : typeof key === 'string' && key.length > 0
          ? truncate(key, 256)
          : 'UNKNOWN',
    side: pick(r.side, SIDES, 'BUY'),
    quantity: dec(r.quantity, 'positive') ?? '0',
    price: dec(r.price, 'positive'),
    order_type: pick(r.order_type, ORDER_TYPES, 'MARKET'),
    time_in_force: pick(r.time_in_force, TIME_IN_FORCE, 'GTC'),
    strategy_id: typeof r.strategy_id === 'string' && r.strategy_id.length <= 128 ? r.strategy_id : '',
    exec_algorithm: pick(r.exec_algorithm, EXEC_ALGORITHMS, 'NORMAL'),
    exec_algorithm_params: {},
  };
  return out;
}

function inputText(raw: unknown): string {
  try {
    return truncate(JSON.stringify(raw) ?? String(raw), MAX_INPUT_CHARS);
  } catch {
    return truncate(String(raw), MAX_INPUT_CHARS);
  }
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function midOf(q: MarketQuote | null): string | null {
  if (q === null) return null;
  if (q.mid !== null && toDec(q.mid).gt(0)) return q.mid;
  if (q.bid !== null && q.ask !== null) {
    const m = toDec(q.bid).plus(toDec(q.ask)).div(2);
    return m.gt(0) ? fmt(m) : null;
  }
  return null;
}

function depthOf(q: MarketQuote | null): VisibleDepth | null {
  if (q === null) return null;
  const levels = (ls: MarketQuote['bids']) =>
    ls.map((l) => ({ price: Number(l.price), size: Number(l.size) }));
  return { bids: levels(q.bids), asks: levels(q.asks) };
}

function resumedChecks(risk: { reservation: Reservation; ledger_version: number }): RiskCheckResult[] {
  return [
    {
      rule: 'reservation',
      passed: true,
      limit: null,
      observed: String(risk.ledger_version),
      message:
        'approved earlier: this operation already holds a reservation in the risk ledger (a redelivered message resumed the intake)',
    },
    {
      rule: 'reference_price',
      passed: true,
      limit: null,
      observed: risk.reservation.mark,
      message: 'from the reservation',
    },
  ];
}

/** The price risk valued the order at, from its OrderRiskApproved checks. */
function referencePriceOf(timeline: readonly OrderEvent[]): string | null {
  for (const e of timeline) {
    if (e.type === 'OrderRiskApproved') {
      return e.checks.find((c) => c.rule === 'reference_price')?.observed ?? null;
    }
  }
  return null;
}

/** Record who asked (an API caller) on the events that start an order or its cancel. */
function stampCaller(events: OrderEvent[], caller: CallerRef | undefined): OrderEvent[] {
  if (caller === undefined) return events;
  const by = { id: caller.id, source: caller.source };
  return events.map((e) =>
    e.type === 'OrderReceived' || e.type === 'OrderCancelRequested' || e.type === 'OrderCanceled'
      ? { ...e, by }
      : e,
  );
}

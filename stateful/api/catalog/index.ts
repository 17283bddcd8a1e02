/**
 * What the console needs to fill its forms and its status page, read from the existing surfaces:
 *
 *   GET /api/instruments?search=   the instrument catalog (tick, step, min/max, fees)
 *   GET /api/venues                the configured venues with the state the venue edge last
 *                                  published (UP / DEGRADED / CIRCUIT_OPEN / DOWN, latency,
 *                                  recent rejections, age of the state) and, where the edge
 *                                  runs the venue here, its session (stateful/edge/status.ts:
 *                                  GREEN / AMBER / RED, last message age, breaker, rate-limit
 *                                  budgets, last reconciliation, drift)
 *   GET /api/services              service detection: which parts run behind this API
 */
import { Hono } from 'hono';
import { NANOS_PER_MILLI, type Nanos } from '../../../shared/domain/time.ts';
import type { InstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { MarketStateStore } from '../../../shared/ports/market-state.ts';
import type { VenueSessionSnapshot } from '../../edge/status.ts';
import { callDependency } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';

export interface ConfiguredVenue {
  id: string;
  exchange: string;
  mode: string;
  enabled: boolean;
}

/** Which services answer behind this API (the console hides or marks pages of absent ones). */
export interface ServiceMap {
  /** This API (always true when it answers). */
  api: boolean;
  /** Orders can be submitted and canceled here (false: a read-only API). */
  order_intake: boolean;
  /** The venue edge (LIVE / SHADOW sessions) runs in this process: `/readyz` answers. */
  venue_edge: boolean;
  /** SIMULATED venues run in this process. */
  simulated_venues: boolean;
  /** Backtest results can be read (a results store is configured). */
  backtest_results: boolean;
  /** Backtests can be started from here (a backtest runner is configured). */
  backtest_runner: boolean;
  /** Trading state can be read and changed. */
  trading_state: boolean;
}

export interface CatalogDeps {
  instruments?: Pick<InstrumentCatalog, 'list' | 'source'> | undefined;
  venues?: readonly ConfiguredVenue[] | undefined;
  market?: Pick<MarketStateStore, 'getVenueStates'> | undefined;
  services?: (() => ServiceMap) | undefined;
  /** The venue edge's session snapshots (absent or empty: no edge in this process). */
  sessions?: (() => readonly VenueSessionSnapshot[]) | undefined;
  now: () => Nanos;
}

export function catalogRoutes(deps: CatalogDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get('/instruments', async (c) => {
    if (deps.instruments === undefined) return sendJson(c, 200, { instruments: [], count: 0, source: null });
    const catalog = deps.instruments;
    const search = (c.req.query('search') ?? '').trim().toUpperCase();
    const all = await callDependency('instrument catalog', () => catalog.list());
    const instruments =
      search === '' ? all : all.filter((i) => i.instrument_key.toUpperCase().includes(search));
    return sendJson(c, 200, { instruments, count: instruments.length, source: catalog.source() });
  });

  app.get('/venues', async (c) => {
    const venues = deps.venues ?? [];
    const market = deps.market;
    const states =
      market === undefined
        ? {}
        : await callDependency('market state', () => market.getVenueStates(venues.map((v) => v.id)));
    const now = deps.now();
    const sessions = new Map((deps.sessions?.() ?? []).map((s) => [s.venue, s]));
    return sendJson(
      c,
      200,
      {
        venues: venues.map((v) => {
          const s = states[v.id];
          return {
            ...v,
            state:
              s === undefined
                ? null
                : {
                    status: s.status,
                    detail: s.detail ?? null,
                    latency_ms: s.latency_ms,
                    recent_orders: s.recent_orders,
                    recent_rejections: s.recent_rejections,
                    ts_updated: s.ts_updated,
                    age_ms: Number((now - s.ts_updated) / NANOS_PER_MILLI),
                  },
            session: sessions.get(v.id) ?? null,
          };
        }),
      },
      { 'Cache-Control': 'no-store' },
    );
  });

  app.get('/services', (c) => {
    const services: ServiceMap = deps.services?.() ?? {
      api: true,
      order_intake: false,
      venue_edge: false,
      simulated_venues: false,
      backtest_results: false,
      backtest_runner: false,
      trading_state: false,
    };
    return sendJson(c, 200, services, { 'Cache-Control': 'no-store' });
  });

  return app;
}

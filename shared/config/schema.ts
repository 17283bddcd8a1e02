// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
/**
 * The platform's one configuration file: its zod schema, defaults and cross-field rules, and the
 * pure `parseConfig` that turns a parsed JSON document plus an environment into a frozen,
 * typed `AppConfig`.
 *
 * Shaped after the reference's "Configuration Schema" (§6) for our stack: venues are ccxt
 * exchanges (or the simulated venue) in LIVE / SHADOW / SIMULATED mode; risk, router and
 * algorithm settings feed the pure cores; storage picks the embedded adapters or the Google
 * ones. Every object is strict, so a misspelt key is an error at its path rather than a silently
 * ignored setting. Decimals are strings (numbers are accepted and normalised); numeric and
 * boolean fields also accept strings so that they can come from `${VAR}`.
 *
 * See docs/configuration.md for every field, its default and the environment variables.
 */
import { z } from 'zod';
import type { Dec, DecimalString } from '../domain/decimal.ts';
import { fmt, toDec } from '../domain/decimal.ts';
import type { Issue, Result } from '../domain/errors.ts';
import { formatPath, ValidationError } from '../domain/errors.ts';
import { INSTRUMENT_TYPES, type InstrumentType, parseInstrumentId } from '../domain/instrument-id.ts';
import { TRADING_STATES, VENUE_MODES } from '../domain/types.ts';
import { OUTSIDE_HOURS_POLICIES, type OutsideHoursPolicy } from '../execution/session.ts';
import { scrubSecrets } from './redact.ts';
import type { Env } from './substitute.ts';
import { substituteEnv } from './substitute.ts';

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/** Instrument types of the canonical instrument id (re-exported from the domain). */
export { INSTRUMENT_TYPES, type InstrumentType };

/** ccxt exchange ids we have adapters for, Interactive Brokers (`ibkr`, TWS API), and our own simulated venue. */
export const EXCHANGES = ['binance', 'binanceusdm', 'bybit', 'okx', 'deribit', 'ibkr', 'simulated'] as const;
export type Exchange = (typeof EXCHANGES)[number];

/** What each exchange can trade; also the default `instrument_types` of a venue. */
export const EXCHANGE_INSTRUMENT_TYPES: Readonly<Record<Exchange, readonly InstrumentType[]>> = {
  binance: ['SPOT_PAIR'],
  binanceusdm: ['PERPETUAL', 'FUTURE'],
  bybit: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
  okx: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
  deribit: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
  ibkr: ['STOCK', 'FUTURE'],
  simulated: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
};

/** Exchanges whose private API needs a passphrase (`password`) besides key and secret. */
export const EXCHANGES_NEEDING_PASSWORD: ReadonlySet<Exchange> = new Set<Exchange>(['okx']);

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** VWAP volume profiles every deployment has; more can be defined under `algorithms.vwap.profiles`. */
export const VWAP_BUILTIN_PROFILES = ['flat', 'u_shape'] as const;

export const ROUTER_TIE_BREAKS = ['venue_name'] as const;

// ---------------------------------------------------------------------------------------------
// Field helpers
// ---------------------------------------------------------------------------------------------

const NUMERIC_STRING_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A number field that also accepts a numeric string (so it can come from `${VAR}`). */
function num<T extends z.ZodType<number>>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && NUMERIC_STRING_RE.test(v) ? Number(v) : v), schema);
}

const posInt = () => num(z.number().int().positive());
const nonNegNumber = () => num(z.number().nonnegative());

/** A boolean field that also accepts "true" / "false" (any case). */
function bool() {
  return z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    return s === 'true' ? true : s === 'false' ? false : v;
  }, z.boolean());
}

type DecimalBound = 'positive' | 'nonnegative' | 'fee';

const DECIMAL_EXPECTED = 'expected a decimal string such as "1.5"';

/**
 * A decimal field: a decimal string or a finite number, normalised to the canonical decimal
 * string ("1.50" → "1.5", 0.1 → "0.1").
 */
function decimal(bound?: DecimalBound) {
  return z
    .union([z.string(), z.number()], {
      error: (iss) => (iss.input === undefined ? `required: ${DECIMAL_EXPECTED}` : DECIMAL_EXPECTED),
    })
    .transform((v, ctx): DecimalString => {
      let d: Dec;
      try {
        d = toDec(v);
      } catch {
        ctx.issues.push({ code: 'custom', message: DECIMAL_EXPECTED, input: v });
        return z.NEVER;
      }
      const problem =
        bound === 'positive' && !d.gt(0)
          ? 'must be greater than 0'
          : bound === 'nonnegative' && d.isNeg() && !d.isZero()
            ? 'must not be negative'
            : bound === 'fee' && d.abs().gte(1)
              ? 'must be a fraction of notional between -1 and 1 (0.001 = 10 bps)'
              : undefined;
      if (problem !== undefined) {
        ctx.issues.push({ code: 'custom', message: problem, input: v });
        return z.NEVER;
      }
      return fmt(d);
    });
}

const currency = () =>
  z.string().regex(/^[A-Z0-9]{2,12}$/, 'expected a currency code in capitals, e.g. "USDT"');

/** Canonical venue name as used in instrument ids (the rule of shared/domain/instrument-id.ts). */
const venueId = z
  .string()
  .max(32, 'must be at most 32 characters')
  .regex(
    /^[A-Z0-9](?:[A-Z0-9_-]*[A-Z0-9])?$/,
    'expected a venue name in capitals, digits, "-" or "_" as in instrument ids, e.g. "BINANCE-SPOT"',
  );

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s):// URL' });
const wsUrl = z.url({ protocol: /^wss?$/, error: 'expected a ws(s):// URL' });
const anyUrl = z.url({ protocol: /^(https?|wss?)$/, error: 'expected an http(s):// or ws(s):// URL' });

const pathPrefix = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'expected a path prefix such as "market-data-tick"');

/**
 * Run a cross-field refinement only when the fields it reads parsed cleanly (zod otherwise runs
 * object refinements on partially invalid data). With no prefixes: only when there is no issue.
 */
function whenClean(...topKeys: string[]) {
  return {
    when: (payload: z.core.ParsePayload): boolean =>
      !payload.issues.some((i) => topKeys.length === 0 || topKeys.includes(String(i.path?.[0]))),
  };
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const accountSchema = z.strictObject({
  account_id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, ".", "_" or "-" (at most 64)'),
  base_currency: currency(),
  api_key: z.string().optional(),
  api_secret: z.string().optional(),
  /** OKX passphrase. */
  password: z.string().optional(),
});

/** Market data IB sends through `reqMarketDataType`: real-time needs a subscription, delayed is free. */
export const IB_MARKET_DATA_TYPES = ['realtime', 'frozen', 'delayed', 'delayed_frozen'] as const;

/** An `ibkr` venue's TWS / IB Gateway session (docs/ib.md "The adapter"). */
const ibSchema = z.strictObject({
  /** TWS or IB Gateway host. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TWS API port: TWS 7497 paper / 7496 live, IB Gateway 4002 / 4001. */
  port: num(z.number().int().min(1).max(65_535)).default(7497),
  /** The API client id (unique per TWS); order ids are per client id. */
  client_id: num(z.number().int().min(0).max(2_147_483_647)).default(0),
  /** The IB account to trade (e.g. "DU1234567"); absent: the first account the login manages. */
  account: z
    .string()
    .regex(/^[A-Za-z0-9]{1,32}$/, 'expected an IB account code such as "DU1234567"')
    .optional(),
  market_data_type: z.enum(IB_MARKET_DATA_TYPES).default('realtime'),
  /**
   * An order outside the contract's trading hours: refused with the reason, or held until the session
   * opens. The execution core decides by it (shared/execution/session.ts); the venue-level
   * `outside_hours` replaces it.
   */
  outside_hours: z.enum(OUTSIDE_HOURS_POLICIES).default('refuse'),
  /** Zone of execution times TWS writes without one (default UTC). */
  time_zone: z.string().min(1).optional(),
});

/**
 * When a venue session's last message is old enough to turn its status AMBER, then RED (the
 * console's Status page, `GET /api/venues`; stateful/edge/status.ts). The platform default sits
 * under the top-level `status`; a venue's own `status` replaces either limit for that venue (an
 * IBKR venue outside trading hours or a quiet market is legitimately silent for longer).
 */
const staleLimitsFields = {
  /** The last message older than this turns the session AMBER. */
  stale_amber_ms: posInt(),
  /** The last message older than this turns the session RED (must exceed `stale_amber_ms`). */
  stale_red_ms: posInt(),
};

const venueStatusSchema = z.strictObject({
  stale_amber_ms: staleLimitsFields.stale_amber_ms.optional(),
  stale_red_ms: staleLimitsFields.stale_red_ms.optional(),
});

const statusSchema = z.strictObject({
  stale_amber_ms: staleLimitsFields.stale_amber_ms.default(15_000),
  stale_red_ms: staleLimitsFields.stale_red_ms.default(60_000),
});

const venueSchema = z
  .strictObject({
    id: venueId,
    exchange: z.enum(EXCHANGES),
    mode: z.enum(VENUE_MODES),
    enabled: bool().default(true),
    instrument_types: z.array(z.enum(INSTRUMENT_TYPES)).min(1).optional(),
    accounts: z.array(accountSchema).optional(),
    urls: z
      .strictObject({
        /** Replaces every REST base URL of the ccxt exchange (a local venue, a proxy). */
        rest: httpUrl.optional(),
        /** Replaces every WebSocket URL of the ccxt exchange. */
        ws: wsUrl.optional(),
        /** Fine-grained overrides of ccxt `urls.api` entries by key (e.g. `public`, `fapiPrivate`). */
        api: z.record(z.string().min(1), anyUrl).optional(),
      })
      .optional(),
    sandbox: bool().default(false),
    rate_limit_per_second: num(z.number().positive()).default(10),
    latency_ms: nonNegNumber().default(50),
    shadow: z
      .strictObject({
        starting_cash: decimal('positive').default('100000'),
        cash_currency: currency().default('USD'),
      })
      .prefault({}),
    fees: z.strictObject({ maker: decimal('fee'), taker: decimal('fee') }).optional(),
    /** `ibkr` venues: the TWS session (required for them, refused for any other exchange). */
    ib: ibSchema.optional(),
    /**
     * Orders outside the instrument's trading sessions (venues that publish a schedule): `refuse`
     * (the child is denied, rule `trading_hours`) or `queue` (held by the scheduler until the open).
     * Absent: `ib.outside_hours` for an ibkr venue, else `refuse`. See `outsideHoursPolicy`.
     */
    outside_hours: z.enum(OUTSIDE_HOURS_POLICIES).optional(),
    /** This venue's staleness limits (either omitted: the top-level `status` one). */
    status: venueStatusSchema.optional(),
    /**
     * The session's circuit breaker: it opens after `consecutive_failures` failed attempts in a row
     * (5xx, 429 past its retries, timeouts, refused connections; business answers do not count)
     * and lets one trial call through after `half_open_after_ms`. While open, orders for the venue
     * are refused at once (`CIRCUIT_OPEN`) and the router skips it.
     */
    breaker: z
      .strictObject({
        consecutive_failures: posInt().default(5),
        half_open_after_ms: posInt().default(10_000),
      })
      .prefault({}),
  })
  .superRefine((v, ctx) => {
    const issue = (path: PropertyKey[], message: string) =>
      ctx.issues.push({ code: 'custom', path, message, input: undefined });
    if (v.exchange === 'simulated' && v.mode !== 'SIMULATED') {
      issue(['mode'], 'the "simulated" exchange only runs in SIMULATED mode');
    }
    const supported = EXCHANGE_INSTRUMENT_TYPES[v.exchange];
    const seen = new Set<string>();
    v.instrument_types?.forEach((t, i) => {
      if (seen.has(t)) issue(['instrument_types', i], `${t} is listed twice`);
      seen.add(t);
      if (!supported.includes(t)) {
        issue(
          ['instrument_types', i],
          `exchange ${v.exchange} does not trade ${t} (it trades ${supported.join(', ')})`,
        );
      }
    });
    if (v.exchange === 'ibkr' && v.ib === undefined) {
      issue(['ib'], 'an ibkr venue needs its TWS session: "ib": { "host", "port", "client_id", "account" }');
    }
    if (v.exchange !== 'ibkr' && v.ib !== undefined) {
      issue(['ib'], `only an ibkr venue has a TWS session (this venue's exchange is ${v.exchange})`);
    }
    if (v.mode === 'LIVE' && v.exchange !== 'simulated' && v.exchange !== 'ibkr') {
      if (!v.accounts || v.accounts.length === 0) {
        issue(['accounts'], 'a LIVE venue needs at least one account with api_key and api_secret');
      }
      const fields: Array<'api_key' | 'api_secret' | 'password'> = EXCHANGES_NEEDING_PASSWORD.has(v.exchange)
        ? ['api_key', 'api_secret', 'password']
        : ['api_key', 'api_secret'];
      v.accounts?.forEach((a, i) => {
        for (const f of fields) {
          if (!a[f]) {
            issue(
              ['accounts', i, f],
              `required for a LIVE ${v.exchange} venue: write "\${VAR}" here and set VAR in the environment`,
            );
          }
        }
      });
    }
  }, whenClean())
  .transform((v) => ({
    ...v,
    instrument_types: v.instrument_types ?? [...EXCHANGE_INSTRUMENT_TYPES[v.exchange]],
    accounts: v.accounts ?? [{ account_id: v.id, base_currency: v.shadow.cash_currency }],
  }));

const strategyLimitsSchema = z.strictObject({
  max_orders_per_second: posInt().optional(),
  max_orders_per_minute: posInt().optional(),
  max_position: decimal('nonnegative').optional(),
  max_notional_per_order: decimal('positive').optional(),
});

const instrumentLimitsSchema = z
  .strictObject({
    max_position: decimal('nonnegative'),
    min_order_size: decimal('nonnegative').optional(),
    max_order_size: decimal('positive').optional(),
    max_notional_per_order: decimal('positive').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.min_order_size !== undefined && v.max_order_size !== undefined) {
      if (toDec(v.min_order_size).gt(toDec(v.max_order_size))) {
        ctx.issues.push({
          code: 'custom',
          path: ['min_order_size'],
          message: `must not exceed max_order_size (${v.max_order_size})`,
          input: v.min_order_size,
        });
      }
    }
  }, whenClean());

const riskSchema = z.strictObject({
  enabled: bool().default(true),
  max_orders_per_second: posInt().default(10),
  max_orders_per_minute: posInt().default(100),
  per_strategy: z.record(z.string().min(1), strategyLimitsSchema).default({}),
  per_instrument: z.record(z.string().min(1), instrumentLimitsSchema).default({}),
  max_notional_per_order: decimal('positive').default('1000000'),
  max_total_notional: decimal('positive').default('10000000'),
  max_position_global: decimal('nonnegative').optional(),
  price_tolerance_bps: num(z.number().positive().max(10_000)).default(500),
  min_free_balance: decimal('nonnegative').optional(),
  trading_state_poll_ms: num(
    z.number().int().positive().max(1000, 'must be at most 1000 (state is honoured within 1 s)'),
  ).default(500),
  initial_trading_state: z.enum(TRADING_STATES).default('ACTIVE'),
});

const routerSchema = z.strictObject({
  smart_execution_enabled: bool().default(true),
  /** Candidate venues per instrument type, in preference order; omitted types use every enabled venue serving them. */
  candidates: z.partialRecord(z.enum(INSTRUMENT_TYPES), z.array(venueId).min(1)).default({}),
  weights: z
    .strictObject({
      fee: nonNegNumber().default(1),
      slippage: nonNegNumber().default(1),
      latency: nonNegNumber().default(1),
      rejection: nonNegNumber().default(1),
    })
    .prefault({}),
  latency_cost_bps_per_ms: nonNegNumber().default(0.01),
  /** Cost in bps charged for a 100% recent rejection rate (scaled by the rate). */
  rejection_penalty_bps: nonNegNumber().default(50),
  /** How many recent orders per venue the rejection rate is computed over. */
  rejection_window: posInt().default(100),
  tie_break: z.enum(ROUTER_TIE_BREAKS).default('venue_name'),
});

const algorithmsSchema = z.strictObject({
  twap: z
    .strictObject({
      default_slice_interval_sec: num(z.number().positive()).default(30),
      default_jitter_pct: num(z.number().min(0).max(100)).default(0),
    })
    .prefault({}),
  vwap: z
    .strictObject({
      default_profile: z.string().min(1).default('u_shape'),
      /** Extra named profiles: relative volume per equal time bucket. */
      profiles: z
        .record(
          z.string().regex(/^[a-z0-9_]+$/, 'profile names use lower case, digits and "_"'),
          z
            .array(nonNegNumber())
            .min(1)
            .refine((w) => w.some((x) => x > 0), 'at least one bucket must have positive volume'),
        )
        .default({}),
    })
    .prefault({})
    .superRefine((v, ctx) => {
      const known: readonly string[] = VWAP_BUILTIN_PROFILES;
      if (!known.includes(v.default_profile) && !(v.default_profile in v.profiles)) {
        ctx.issues.push({
          code: 'custom',
          path: ['default_profile'],
          message: `unknown profile "${v.default_profile}": use ${known.join(', ')} or one defined under profiles`,
          input: v.default_profile,
        });
      }
    }, whenClean()),
  iceberg: z
    .strictObject({
      /** Visible part of the total quantity when the order does not say (0.1 = 10%). */
      default_display_fraction: decimal('positive')
        .refine((s) => toDec(s).lte(1), 'must be at most 1')
        .default('0.1'),
      refill_delay_ms: nonNegNumber().default(0),
    })
    .prefault({}),
  scheduler_tick_ms: num(z.number().int().positive().max(60_000)).default(250),
});

const STORAGE_MESSAGES = {
  firestore: 'required when storage.order_store is "firestore"',
  pubsub: 'required when storage.bus is "pubsub"',
  gcs: 'required when storage.blob is "gcs"',
} as const;

const storageSchema = z
  .strictObject({
    order_store: z.enum(['local', 'firestore']).default('local'),
    bus: z.enum(['memory', 'pubsub']).default('memory'),
    blob: z.enum(['local', 'gcs']).default('local'),
    data_dir: z.string().min(1).default('.data'),
    gcp_project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,29}$/, 'expected a Google Cloud project id (lower case, digits, "-")')
      .optional(),
    firestore_database: z.string().min(1).optional(),
    collection_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]*$/, 'expected letters, digits, "_" or "-"')
      .optional(),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'expected a Cloud Storage bucket name (no gs://)')
      .optional(),
    tick_data_prefix: pathPrefix.default('market-data-tick'),
    results_prefix: pathPrefix.default('backtest_results'),
  })
  .superRefine((v, ctx) => {
    if (!v.gcp_project) {
      const why =
        v.order_store === 'firestore'
          ? STORAGE_MESSAGES.firestore
          : v.bus === 'pubsub'
            ? STORAGE_MESSAGES.pubsub
            : v.blob === 'gcs'
              ? STORAGE_MESSAGES.gcs
              : undefined;
      if (why) ctx.issues.push({ code: 'custom', path: ['gcp_project'], message: why, input: undefined });
    }
    if (v.blob === 'gcs' && !v.bucket) {
      ctx.issues.push({ code: 'custom', path: ['bucket'], message: STORAGE_MESSAGES.gcs, input: undefined });
    }
  });

const loggingSchema = z.strictObject({
  level: z
    .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(LOG_LEVELS))
    .default('info'),
  log_orders: bool().default(true),
  log_fills: bool().default(true),
});

const serverSchema = z.strictObject({
  /** Loopback unless configured: a container sets `HOST=0.0.0.0` (stateful/Dockerfile). */
  host: z.string().min(1).default('127.0.0.1'),
  port: num(z.number().int().min(1).max(65_535)).default(8080),
});

/**
 * Session recordings (docs/recording.md): what the venue edge records for replay, and the
 * acceptance tolerances a LIVE recording's replay is checked against.
 */
const recordingSchema = z.strictObject({
  /** Record the sessions of SHADOW venues (default on). */
  shadow: bool().default(true),
  /** Record the sessions of LIVE venues (default off). */
  live: bool().default(false),
  /** Where recordings go: a folder or `gs://bucket/prefix`; default the blob store (`storage`). */
  location: z.string().min(1).optional(),
  /** A flush every this many ms: what a crash can lose. */
  flush_interval_ms: posInt().default(1000),
  /** Buffered events that start an early flush; twice this and new events are dropped (a gap). */
  max_buffered_events: posInt().default(50_000),
  /** Replay tolerances for LIVE recordings (reference: PnL ≤ 0.05%, IS ≤ 0.5 bps, slippage ≤ 1 bps). */
  parity: z
    .strictObject({
      pnl_pct: nonNegNumber().default(0.05),
      implementation_shortfall_bps: nonNegNumber().default(0.5),
      slippage_bps: nonNegNumber().default(1),
    })
    .prefault({}),
});

// ---------------------------------------------------------------------------------------------
// Rebalancing (target weights → orders; docs/rebalancing.md)
// ---------------------------------------------------------------------------------------------

const rebalanceSchema = z.strictObject({
  /** Watch for weights files (the local folder under `npm start`; the function in the cloud). */
  enabled: bool().default(true),
  /** The currency portfolios are valued and bought in. */
  quote_currency: currency().default('USDT'),
  /** Fraction of equity kept in cash (the reference's 2%). */
  cash_buffer: decimal('nonnegative')
    .refine((v) => toDec(v).lt(1), 'must be less than 1')
    .default('0.02'),
  /** No-trade band: skip an order whose notional is under this fraction of equity. */
  min_trade_weight: decimal('nonnegative').default('0'),
  /** Folder watched under `npm start`; relative paths are under storage.data_dir. */
  watch_dir: z.string().min(1).default('weights'),
  /** How often the local watcher looks at the folder. */
  poll_ms: num(z.number().int().min(50).max(60_000)).default(1000),
  /** BlobStore prefix of weights files (the Cloud Storage trigger filters on it). */
  weights_prefix: pathPrefix.default('weights'),
  /** BlobStore prefix under which `<strategy_id>/portfolio_actual_state.json` is written. */
  state_prefix: pathPrefix.default('portfolio'),
  /** NAV snapshots this many in a row unchanged while positions are held raise a flat-NAV alert. */
  flat_nav_snapshots: num(z.number().int().min(2).max(1000)).default(3),
  /** Rebalance backtests on daily bars: slippage against the close, in basis points. */
  backtest_slippage_bps: nonNegNumber().default(5),
});

// ---------------------------------------------------------------------------------------------
// auth: who may call the HTTP API (stateful/api/auth, docs/security.md)
// ---------------------------------------------------------------------------------------------

export const AUTH_MODES = ['none', 'google'] as const;
export const AUTH_ROLES = ['viewer', 'trader', 'operator', 'admin'] as const;
export type AuthRole = (typeof AUTH_ROLES)[number];

/** `user:alice@example.com`, `serviceAccount:bot@p.iam.gserviceaccount.com`, `domain:example.com`. */
const principal = z
  .string()
  .regex(
    /^(user:[^\s@]+@[^\s@]+|serviceAccount:[^\s@]+@[^\s@]+|domain:[a-z0-9.-]+\.[a-z]{2,})$/i,
    'expected user:<email>, serviceAccount:<email> or domain:<domain>',
  );

/** A key set: an https:// JWKS URL, or a file:// JSON Web Key Set (tests, air-gapped set-ups). */
const jwksUrl = z.url({ protocol: /^(https|file)$/, error: 'expected an https:// or file:// URL of a JWKS' });

const authGrantSchema = z.strictObject({
  principal,
  roles: z.array(z.enum(AUTH_ROLES)).min(1),
  /** Strategies a trader may submit and cancel for; `*` for all (default). */
  strategies: z.array(z.string().min(1)).min(1).default(['*']),
});

const authSchema = z
  .strictObject({
    /** `none`: no identity check, the caller is the local operator (loopback only). */
    mode: z.enum(AUTH_MODES).default('none'),
    /** Accepted `aud` of Google-signed ID tokens (`Authorization: Bearer`), e.g. the service URL. */
    audiences: z.array(z.string().min(1)).default([]),
    /** Accepted `aud` of IAP assertions (`x-goog-iap-jwt-assertion`): `/projects/<n>/global/backendServices/<id>`. */
    iap_audiences: z.array(z.string().min(1)).default([]),
    oidc_jwks_url: jwksUrl.default('https://www.googleapis.com/oauth2/v3/certs'),
    iap_jwks_url: jwksUrl.default('https://www.gstatic.com/iap/verify/public_key-jwk'),
    /** Tolerated clock difference when checking `exp` / `nbf` / `iat`. */
    clock_tolerance_sec: num(z.number().int().min(0).max(300)).default(30),
    grants: z.array(authGrantSchema).default([]),
    rate_limit: z
      .strictObject({
        enabled: bool().default(true),
        /** Sustained requests per second per caller, and the burst above it. */
        requests_per_second: num(z.number().positive()).default(20),
        burst: posInt().default(40),
        /** Mutating calls (submit, cancel, trading state) per second per caller, and their burst. */
        mutations_per_second: num(z.number().positive()).default(10),
        mutation_burst: posInt().default(20),
      })
      .prefault({}),
  })
  .superRefine((v, ctx) => {
    if (v.mode === 'google' && v.audiences.length === 0 && v.iap_audiences.length === 0) {
      ctx.issues.push({
        code: 'custom',
        path: ['audiences'],
        message: 'mode google needs at least one audience (audiences or iap_audiences)',
        input: undefined,
      });
    }
    if (v.mode === 'google' && v.grants.length === 0) {
      ctx.issues.push({
        code: 'custom',
        path: ['grants'],
        message: 'mode google needs at least one grant, or nobody can call the API',
        input: undefined,
      });
    }
  });

/** Interfaces that only this machine can reach: anything else needs `auth.mode` other than none. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** The venue a minimal file gets: the simulated venue serving every instrument type. */
export const DEFAULT_VENUE = { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED' } as const;

/** What the schema needs from the machine (pure: the caller measures it). */
export interface SchemaContext {
  /** CPU cores, the default number of backtest workers. */
  cores: number;
}

/** Build the configuration schema; `cores` sets the default `backtest.workers`. */
export function makeConfigSchema(context: SchemaContext) {
  const backtestSchema = z.strictObject({
    window_minutes: num(z.number().int().positive().max(1440)).default(5),
    workers: posInt().default(Math.max(1, Math.floor(context.cores))),
    seed: num(z.number().int().nonnegative()).default(42),
  });
  return z
    .strictObject({
      venues: z.array(venueSchema).min(1).prefault([DEFAULT_VENUE]),
      risk: riskSchema.prefault({}),
      router: routerSchema.prefault({}),
      algorithms: algorithmsSchema.prefault({}),
      storage: storageSchema.prefault({}),
      backtest: backtestSchema.prefault({}),
      logging: loggingSchema.prefault({}),
      server: serverSchema.prefault({}),
      recording: recordingSchema.prefault({}),
      rebalance: rebalanceSchema.prefault({}),
      auth: authSchema.prefault({}),
      status: statusSchema.prefault({}),
    })
    .superRefine(
      (cfg, ctx) => {
        const issue = (path: PropertyKey[], message: string) =>
          ctx.issues.push({ code: 'custom', path, message, input: undefined });
        const venues = new Map<string, (typeof cfg.venues)[number]>();
        const accounts = new Map<string, string>();
        cfg.venues.forEach((v, i) => {
          if (venues.has(v.id)) issue(['venues', i, 'id'], `duplicate venue id ${v.id}`);
          else venues.set(v.id, v);
          v.accounts.forEach((a, j) => {
            const other = accounts.get(a.account_id);
            if (other !== undefined) {
              issue(
                ['venues', i, 'accounts', j, 'account_id'],
                `duplicate account id ${a.account_id} (also on ${other})`,
              );
            } else {
              accounts.set(a.account_id, v.id);
            }
          });
        });
        if (cfg.status.stale_red_ms <= cfg.status.stale_amber_ms) {
          issue(
            ['status', 'stale_red_ms'],
            `must be greater than stale_amber_ms (${cfg.status.stale_amber_ms}): a session turns AMBER before RED`,
          );
        }
        cfg.venues.forEach((v, i) => {
          if (v.status === undefined) return;
          const amber = v.status.stale_amber_ms ?? cfg.status.stale_amber_ms;
          const red = v.status.stale_red_ms ?? cfg.status.stale_red_ms;
          if (red > amber) return;
          const inherited = ', the top-level status default';
          if (v.status.stale_red_ms === undefined)
            issue(
              ['venues', i, 'status', 'stale_amber_ms'],
              `must be less than stale_red_ms (${red}${inherited}): a session turns AMBER before RED`,
            );
          else
            issue(
              ['venues', i, 'status', 'stale_red_ms'],
              `must be greater than stale_amber_ms (${amber}${v.status.stale_amber_ms === undefined ? inherited : ''}): a session turns AMBER before RED`,
            );
        });
        if (cfg.auth.mode === 'none' && !isLoopbackHost(cfg.server.host)) {
          issue(
            ['server', 'host'],
            `binding ${cfg.server.host} opens the API beyond this machine: configure auth (auth.mode google) or bind 127.0.0.1`,
          );
        }
        for (const type of INSTRUMENT_TYPES) {
          cfg.router.candidates[type]?.forEach((id, k) => {
            const v = venues.get(id);
            if (!v) issue(['router', 'candidates', type, k], `venue ${id} is not configured under venues`);
            else if (!v.instrument_types.includes(type))
              issue(['router', 'candidates', type, k], `venue ${id} does not serve ${type}`);
          });
        }
        for (const key of Object.keys(cfg.risk.per_instrument)) {
          const parsed = parseInstrumentId(key);
          if (!parsed.success) {
            for (const wrong of parsed.error.issues) issue(['risk', 'per_instrument', key], wrong.message);
            continue;
          }
          const { venue, instrument_type: type } = parsed.data;
          const v = venues.get(venue);
          if (!v) issue(['risk', 'per_instrument', key], `venue ${venue} is not configured under venues`);
          else if (!v.instrument_types.includes(type)) {
            issue(['risk', 'per_instrument', key], `venue ${venue} does not serve ${type}`);
          }
        }
      },
      whenClean('venues', 'router', 'risk', 'server', 'auth', 'status'),
    )
    .transform((cfg) => {
      // Omitted router candidates: every enabled venue serving the type, in file order.
      const candidates = {} as Record<InstrumentType, string[]>;
      for (const type of INSTRUMENT_TYPES) {
        candidates[type] =
          cfg.router.candidates[type] ??
          cfg.venues.filter((v) => v.enabled && v.instrument_types.includes(type)).map((v) => v.id);
      }
      return { ...cfg, router: { ...cfg.router, candidates } };
    });
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type ConfigSchema = ReturnType<typeof makeConfigSchema>;
/** The validated configuration, deeply frozen. */
export type AppConfig = DeepReadonly<z.output<ConfigSchema>>;
/** The configuration file as written (before substitution and defaults). */
export type AppConfigInput = z.input<ConfigSchema>;
export type VenueConfig = AppConfig['venues'][number];

/** A venue's policy outside trading sessions: its own `outside_hours`, else its `ib` one, else refuse. */
export function outsideHoursPolicy(v: Pick<VenueConfig, 'outside_hours' | 'ib'>): OutsideHoursPolicy {
  return v.outside_hours ?? v.ib?.outside_hours ?? 'refuse';
}
export type AccountConfig = VenueConfig['accounts'][number];
export type RiskConfig = AppConfig['risk'];
export type RouterConfig = AppConfig['router'];
export type AlgorithmsConfig = AppConfig['algorithms'];
export type StorageConfig = AppConfig['storage'];
export type BacktestConfig = AppConfig['backtest'];
export type LoggingConfig = AppConfig['logging'];
export type ServerConfig = AppConfig['server'];
export type RecordingConfig = AppConfig['recording'];
export type RebalanceConfig = AppConfig['rebalance'];
export type AuthConfig = AppConfig['auth'];
export type StatusConfig = AppConfig['status'];

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

export const CONFIG_INVALID = 'CONFIG_INVALID';

export interface ParseConfigOptions {
  /** The environment `${VAR}` references read (`process.env` in the shell). */
  env: Env;
  /** CPU cores for the default number of backtest workers (default 1). */
  cores?: number;
}

/** Zod's message without its generic prefix, and "required" for a missing field. */
function zodMessage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code === 'invalid_type' && iss.input === undefined) return `required: expected ${iss.expected}`;
  if (iss.code === 'invalid_type' && iss.expected === 'int' && typeof iss.input === 'number') {
    return 'expected a whole number';
  }
  if (iss.code === 'too_small' && (iss.origin === 'number' || iss.origin === 'int')) {
    return iss.inclusive ? `must be at least ${iss.minimum}` : `must be greater than ${iss.minimum}`;
  }
  if (iss.code === 'too_big' && (iss.origin === 'number' || iss.origin === 'int')) {
    return iss.inclusive ? `must be at most ${iss.maximum}` : `must be less than ${iss.maximum}`;
  }
  if (iss.code === 'too_small' && iss.origin === 'array') {
    return `must have at least ${iss.minimum} item${iss.minimum === 1 ? '' : 's'}`;
  }
  return undefined;
}

function isUnder(path: string, parent: string): boolean {
  if (parent === '') return true;
  if (!path.startsWith(parent)) return false;
  const next = path.charAt(parent.length);
  return next === '' || next === '.' || next === '[';
}

/**
 * Substitute `${VAR}` references from `options.env`, validate, apply defaults and freeze.
 * Collects every problem: the error lists each issue at its field path (e.g.
 * `venues[0].accounts[0].api_key`), and never contains a secret value.
 */
export function safeParseConfig(raw: unknown, options: ParseConfigOptions): Result<AppConfig> {
  const sub = substituteEnv(raw, options.env);
  const schema = makeConfigSchema({ cores: options.cores ?? 1 });
  const parsed = schema.safeParse(sub.value, { error: zodMessage });

  const issues: Issue[] = [...sub.issues];
  if (!parsed.success) {
    const subPaths = sub.issues.map((i) => i.path);
    for (const zi of parsed.error.issues) {
      const expanded: Issue[] =
        zi.code === 'unrecognized_keys'
          ? zi.keys.map((k) => ({
              path: formatPath([...zi.path, k]),
              message: `unknown key "${k}" (check the spelling)`,
            }))
          : [{ path: formatPath(zi.path), message: zi.message.replace(/^Invalid input: /, '') }];
      // A field whose substitution already failed would only repeat the problem.
      for (const i of expanded) if (!subPaths.some((p) => isUnder(i.path, p))) issues.push(i);
    }
  }
  if (issues.length > 0 || !parsed.success) {
    const clean = issues.map((i) => ({ path: i.path, message: scrubSecrets(i.message, sub.secrets) }));
    return { success: false, error: new ValidationError(CONFIG_INVALID, clean) };
  }
  return { success: true, data: deepFreeze(parsed.data) };
}

/** Like {@link safeParseConfig} but throws the ValidationError (fail fast at start-up). */
export function parseConfig(raw: unknown, options: ParseConfigOptions): AppConfig {
  const r = safeParseConfig(raw, options);
  if (!r.success) throw r.error;
  return r.data;
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

// ---------------------------------------------------------------------------------------------
// The embedded default (what `npm start` runs with when no file is given)
// ---------------------------------------------------------------------------------------------

/**
 * The built-in configuration, identical to config/local.json: embedded order store, in-memory
 * bus and local blobs under .data, the simulated venue SIM serving every instrument type and a
 * SIMULATED venue under Binance's name so canonical BINANCE-SPOT ids work offline. Needs no
 * cloud account, no emulator and no network.
 */
export const EMBEDDED_CONFIG = {
  venues: [
    {
      id: 'SIM',
      exchange: 'simulated',
      mode: 'SIMULATED',
      instrument_types: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
      latency_ms: 1,
      shadow: { starting_cash: '100000', cash_currency: 'USD' },
    },
    {
      id: 'BINANCE-SPOT',
      exchange: 'binance',
      mode: 'SIMULATED',
      instrument_types: ['SPOT_PAIR'],
      latency_ms: 1,
      shadow: { starting_cash: '100000', cash_currency: 'USDT' },
      fees: { maker: '0.001', taker: '0.001' },
    },
  ],
  risk: {
    enabled: true,
    max_orders_per_second: 10,
    max_orders_per_minute: 100,
    max_notional_per_order: '1000000',
    max_total_notional: '10000000',
    price_tolerance_bps: 500,
    trading_state_poll_ms: 500,
    initial_trading_state: 'ACTIVE',
  },
  router: {
    smart_execution_enabled: true,
    candidates: { SPOT_PAIR: ['BINANCE-SPOT', 'SIM'] },
  },
  storage: { order_store: 'local', bus: 'memory', blob: 'local', data_dir: '${EXEC_DATA_DIR:-.data}' },
  logging: { level: '${LOG_LEVEL:-info}', log_orders: true, log_fills: true },
  server: { host: '${HOST:-127.0.0.1}', port: '${PORT:-8080}' },
  auth: { rate_limit: { enabled: '${EXEC_API_RATE_LIMIT:-true}' } },
} as const satisfies AppConfigInput;

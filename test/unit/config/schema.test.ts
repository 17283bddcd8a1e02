// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../../../shared/config/schema.ts';
import {
  CONFIG_INVALID,
  EMBEDDED_CONFIG,
  parseConfig,
  safeParseConfig,
} from '../../../shared/config/schema.ts';
import type { Issue } from '../../../shared/domain/errors.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';

/** The issues of a config that must fail. */
function issuesOf(raw: unknown, env: Record<string, string> = {}): Issue[] {
  const r = safeParseConfig(raw, { env });
  if (r.success) throw new Error('expected the config to be invalid');
  expect(r.error).toBeInstanceOf(ValidationError);
  expect(r.error.code).toBe(CONFIG_INVALID);
  return r.error.issues;
}

function issueAt(raw: unknown, path: string, env: Record<string, string> = {}): string {
  const issues = issuesOf(raw, env);
  const found = issues.find((i) => i.path === path);
  if (!found) throw new Error(`no issue at ${path}; got ${JSON.stringify(issues)}`);
  return found.message;
}

const LIVE_BINANCE = {
  id: 'BINANCE-SPOT',
  exchange: 'binance',
  mode: 'LIVE',
  accounts: [
    {
      account_id: 'main',
      base_currency: 'USDT',
      api_key: '${BINANCE_API_KEY}',
      api_secret: '${BINANCE_API_SECRET}',
    },
  ],
};
const BINANCE_ENV = { BINANCE_API_KEY: 'k-123456', BINANCE_API_SECRET: 's-abcdef' };

describe('defaults', () => {
  it('a minimal file {} is a complete local configuration', () => {
    const cfg = parseConfig({}, { env: {}, cores: 6 });
    expect(cfg.venues).toEqual([
      {
        id: 'SIM',
        exchange: 'simulated',
        mode: 'SIMULATED',
        enabled: true,
        instrument_types: ['SPOT_PAIR', 'PERPETUAL', 'FUTURE', 'OPTION'],
        accounts: [{ account_id: 'SIM', base_currency: 'USD' }],
        sandbox: false,
        rate_limit_per_second: 10,
        latency_ms: 50,
        shadow: { starting_cash: '100000', cash_currency: 'USD' },
        breaker: { consecutive_failures: 5, half_open_after_ms: 10_000 },
      },
    ]);
    expect(cfg.risk).toEqual({
      enabled: true,
      max_orders_per_second: 10,
      max_orders_per_minute: 100,
      per_strategy: {},
      per_instrument: {},
      max_notional_per_order: '1000000',
      max_total_notional: '10000000',
      price_tolerance_bps: 500,
      trading_state_poll_ms: 500,
      initial_trading_state: 'ACTIVE',
    });
    expect(cfg.router).toEqual({
      smart_execution_enabled: true,
      // STOCK (IBKR) has no venue here.
      candidates: { SPOT_PAIR: ['SIM'], PERPETUAL: ['SIM'], FUTURE: ['SIM'], OPTION: ['SIM'], STOCK: [] },
      weights: { fee: 1, slippage: 1, latency: 1, rejection: 1 },
      latency_cost_bps_per_ms: 0.01,
      rejection_penalty_bps: 50,
      rejection_window: 100,
      tie_break: 'venue_name',
    });
    expect(cfg.algorithms).toEqual({
      twap: { default_slice_interval_sec: 30, default_jitter_pct: 0 },
      vwap: { default_profile: 'u_shape', profiles: {} },
      iceberg: { default_display_fraction: '0.1', refill_delay_ms: 0 },
      scheduler_tick_ms: 250,
    });
    expect(cfg.storage).toEqual({
      order_store: 'local',
      bus: 'memory',
      blob: 'local',
      data_dir: '.data',
      tick_data_prefix: 'market-data-tick',
      results_prefix: 'backtest_results',
    });
    expect(cfg.backtest).toEqual({ window_minutes: 5, workers: 6, seed: 42 });
    expect(cfg.logging).toEqual({ level: 'info', log_orders: true, log_fills: true });
    expect(cfg.server).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(cfg.status).toEqual({ stale_amber_ms: 15_000, stale_red_ms: 60_000 });
    expect(cfg.venues[0]?.status).toBeUndefined();
  });

  it('backtest workers default to one when cores are not given', () => {
    expect(parseConfig({}, { env: {} }).backtest.workers).toBe(1);
  });

  it('the embedded default validates and honours PORT, LOG_LEVEL and EXEC_DATA_DIR', () => {
    const cfg = parseConfig(EMBEDDED_CONFIG, {
      env: { PORT: '9090', LOG_LEVEL: 'DEBUG', EXEC_DATA_DIR: '/tmp/x' },
    });
    expect(cfg.server.port).toBe(9090);
    expect(cfg.logging.level).toBe('debug');
    expect(cfg.storage.data_dir).toBe('/tmp/x');
    expect(cfg.venues.map((v) => [v.id, v.mode])).toEqual([
      ['SIM', 'SIMULATED'],
      ['BINANCE-SPOT', 'SIMULATED'],
    ]);
    expect(cfg.router.candidates.SPOT_PAIR).toEqual(['BINANCE-SPOT', 'SIM']);
    expect(parseConfig(EMBEDDED_CONFIG, { env: {} }).server.port).toBe(8080);
  });

  it('router candidates default to the enabled venues serving each type, in file order', () => {
    const cfg = parseConfig(
      {
        venues: [
          { id: 'BYBIT', exchange: 'bybit', mode: 'SHADOW', instrument_types: ['PERPETUAL'] },
          { id: 'OKX', exchange: 'okx', mode: 'SHADOW', enabled: false },
          { id: 'BINANCE-FUTURES', exchange: 'binanceusdm', mode: 'SHADOW' },
        ],
        router: { candidates: { OPTION: ['OKX'] } },
      },
      { env: {} },
    );
    expect(cfg.venues[2]?.instrument_types).toEqual(['PERPETUAL', 'FUTURE']);
    expect(cfg.router.candidates).toEqual({
      SPOT_PAIR: [],
      PERPETUAL: ['BYBIT', 'BINANCE-FUTURES'],
      FUTURE: ['BINANCE-FUTURES'],
      OPTION: ['OKX'],
      STOCK: [],
    });
  });

  it('a non-LIVE venue without accounts gets one account named after it in its cash currency', () => {
    const cfg = parseConfig(
      { venues: [{ id: 'BYBIT', exchange: 'bybit', mode: 'SHADOW', shadow: { cash_currency: 'USDT' } }] },
      { env: {} },
    );
    expect(cfg.venues[0]?.accounts).toEqual([{ account_id: 'BYBIT', base_currency: 'USDT' }]);
    expect(cfg.venues[0]?.shadow).toEqual({ starting_cash: '100000', cash_currency: 'USDT' });
  });
});

describe('normalisation', () => {
  it('normalises decimals given as strings or numbers', () => {
    const cfg = parseConfig(
      {
        risk: {
          max_notional_per_order: 250000.5,
          max_total_notional: '1.50e6',
          per_instrument: { 'SIM:SPOT_PAIR:BTC-USDT': { max_position: '1.0', min_order_size: 0.0001 } },
          per_strategy: { 'momentum-btc-v1': { max_position: '2.500' } },
        },
        venues: [
          { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED', fees: { maker: -0.0001, taker: '0.00050' } },
        ],
      },
      { env: {} },
    );
    expect(cfg.risk.max_notional_per_order).toBe('250000.5');
    expect(cfg.risk.max_total_notional).toBe('1500000');
    expect(cfg.risk.per_instrument['SIM:SPOT_PAIR:BTC-USDT']).toEqual({
      max_position: '1',
      min_order_size: '0.0001',
    });
    expect(cfg.risk.per_strategy['momentum-btc-v1']).toEqual({ max_position: '2.5' });
    expect(cfg.venues[0]?.fees).toEqual({ maker: '-0.0001', taker: '0.0005' });
  });

  it('numbers and booleans may be strings, so they can come from ${VAR}', () => {
    const cfg = parseConfig(
      {
        risk: { enabled: '${RISK_ON}', max_orders_per_second: '${MAX_OPS}' },
        backtest: { workers: '${WORKERS:-3}' },
        logging: { log_fills: 'FALSE' },
      },
      { env: { RISK_ON: 'false', MAX_OPS: '25' } },
    );
    expect(cfg.risk.enabled).toBe(false);
    expect(cfg.risk.max_orders_per_second).toBe(25);
    expect(cfg.backtest.workers).toBe(3);
    expect(cfg.logging.log_fills).toBe(false);
  });

  it('accepts log levels in any case (the reference writes "INFO")', () => {
    expect(parseConfig({ logging: { level: 'WARN' } }, { env: {} }).logging.level).toBe('warn');
  });

  it('returns a deeply frozen config', () => {
    const cfg: AppConfig = parseConfig({}, { env: {} });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.venues)).toBe(true);
    expect(Object.isFrozen(cfg.venues[0]?.accounts[0])).toBe(true);
    expect(Object.isFrozen(cfg.router.candidates.SPOT_PAIR)).toBe(true);
    expect(() => {
      (cfg.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('every error names the field path', () => {
  it('wrong type', () => {
    expect(issueAt({ risk: { max_orders_per_second: 'ten' } }, 'risk.max_orders_per_second')).toBe(
      'expected number, received string',
    );
    expect(issueAt({ risk: { enabled: 'yes' } }, 'risk.enabled')).toBe('expected boolean, received string');
    expect(issueAt({ venues: {} }, 'venues')).toBe('expected array, received object');
    expect(issueAt({ risk: { max_total_notional: true } }, 'risk.max_total_notional')).toBe(
      'expected a decimal string such as "1.5"',
    );
    expect(issueAt({ risk: { max_total_notional: '1,000' } }, 'risk.max_total_notional')).toBe(
      'expected a decimal string such as "1.5"',
    );
    expect(issueAt({ server: { port: 8080.5 } }, 'server.port')).toBe('expected a whole number');
  });

  it('unknown enum value', () => {
    const venue = { id: 'BYBIT', exchange: 'bybit', mode: 'PAPER' };
    expect(issueAt({ venues: [venue] }, 'venues[0].mode')).toBe(
      'Invalid option: expected one of "LIVE"|"SHADOW"|"SIMULATED"',
    );
    expect(
      issueAt({ venues: [{ ...venue, mode: 'SHADOW', exchange: 'kraken' }] }, 'venues[0].exchange'),
    ).toMatch(/expected one of "binance"\|"binanceusdm"\|"bybit"\|"okx"\|"deribit"\|"ibkr"\|"simulated"/);
    expect(issueAt({ storage: { bus: 'kafka' } }, 'storage.bus')).toMatch(
      /expected one of "memory"\|"pubsub"/,
    );
    expect(issueAt({ risk: { initial_trading_state: 'PAUSED' } }, 'risk.initial_trading_state')).toMatch(
      /"ACTIVE"\|"REDUCING"\|"HALTED"/,
    );
    expect(issueAt({ logging: { level: 'verbose' } }, 'logging.level')).toMatch(/expected one of/);
    expect(
      issueAt(
        { venues: [{ ...venue, mode: 'SHADOW', instrument_types: ['SPOT'] }] },
        'venues[0].instrument_types[0]',
      ),
    ).toMatch(/expected one of "SPOT_PAIR"/);
  });

  it('missing required fields', () => {
    expect(issueAt({ venues: [{ exchange: 'bybit', mode: 'SHADOW' }] }, 'venues[0].id')).toBe(
      'required: expected string',
    );
    expect(
      issueAt(
        { risk: { per_instrument: { 'SIM:SPOT_PAIR:BTC-USDT': { max_order_size: '1' } } } },
        'risk.per_instrument.SIM:SPOT_PAIR:BTC-USDT.max_position',
      ),
    ).toBe('required: expected a decimal string such as "1.5"');
  });

  it('negative and zero limits', () => {
    expect(issueAt({ risk: { max_orders_per_second: -1 } }, 'risk.max_orders_per_second')).toBe(
      'must be greater than 0',
    );
    expect(issueAt({ risk: { max_orders_per_minute: 0 } }, 'risk.max_orders_per_minute')).toBe(
      'must be greater than 0',
    );
    expect(issueAt({ risk: { max_notional_per_order: '-5' } }, 'risk.max_notional_per_order')).toBe(
      'must be greater than 0',
    );
    expect(issueAt({ risk: { max_total_notional: 0 } }, 'risk.max_total_notional')).toBe(
      'must be greater than 0',
    );
    expect(issueAt({ risk: { min_free_balance: '-0.01' } }, 'risk.min_free_balance')).toBe(
      'must not be negative',
    );
    expect(issueAt({ risk: { price_tolerance_bps: -3 } }, 'risk.price_tolerance_bps')).toBe(
      'must be greater than 0',
    );
    expect(
      issueAt(
        { risk: { per_strategy: { s1: { max_orders_per_second: -2 } } } },
        'risk.per_strategy.s1.max_orders_per_second',
      ),
    ).toBe('must be greater than 0');
    expect(
      issueAt(
        { venues: [{ id: 'SIM', exchange: 'simulated', mode: 'SIMULATED', latency_ms: -1 }] },
        'venues[0].latency_ms',
      ),
    ).toBe('must be at least 0');
    expect(issueAt({ router: { weights: { fee: -1 } } }, 'router.weights.fee')).toBe('must be at least 0');
    expect(issueAt({ venues: [] }, 'venues')).toBe('must have at least 1 item');
  });

  it('limits with a ceiling', () => {
    expect(issueAt({ risk: { trading_state_poll_ms: 1500 } }, 'risk.trading_state_poll_ms')).toMatch(
      /at most 1000/,
    );
    expect(issueAt({ server: { port: 70000 } }, 'server.port')).toBe('must be at most 65535');
    expect(
      issueAt(
        {
          venues: [
            { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED', fees: { maker: '0', taker: '1.5' } },
          ],
        },
        'venues[0].fees.taker',
      ),
    ).toMatch(/fraction of notional/);
  });

  it('unknown keys are rejected at their path (typos never pass silently)', () => {
    expect(issueAt({ risk: { max_order_per_second: 5 } }, 'risk.max_order_per_second')).toBe(
      'unknown key "max_order_per_second" (check the spelling)',
    );
    expect(issueAt({ databse: {} }, 'databse')).toMatch(/unknown key/);
    expect(
      issueAt(
        { venues: [{ id: 'SIM', exchange: 'simulated', mode: 'SIMULATED', sandbx: true }] },
        'venues[0].sandbx',
      ),
    ).toMatch(/unknown key/);
    expect(
      issueAt(
        { risk: { per_instrument: { 'SIM:SPOT_PAIR:BTC-USDT': { max_position: '1', max_pos: '2' } } } },
        'risk.per_instrument.SIM:SPOT_PAIR:BTC-USDT.max_pos',
      ),
    ).toMatch(/unknown key/);
    expect(issueAt({ router: { candidates: { SPOT: ['SIM'] } } }, 'router.candidates.SPOT')).toMatch(
      /unknown key/,
    );
    expect(issueAt({ storage: { buckets: 'x' } }, 'storage.buckets')).toMatch(/unknown key/);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf({
      risk: { max_orders_per_second: 'ten', max_orders_per_minute: -1 },
      server: { port: 'x' },
      logging: { colour: true },
    });
    expect(issues.map((i) => i.path).sort()).toEqual([
      'logging.colour',
      'risk.max_orders_per_minute',
      'risk.max_orders_per_second',
      'server.port',
    ]);
  });

  it('the error message lists path: message pairs', () => {
    const r = safeParseConfig({ risk: { max_orders_per_second: 'ten' } }, { env: {} });
    expect(r.success).toBe(false);
    if (!r.success)
      expect(r.error.message).toBe('risk.max_orders_per_second: expected number, received string');
  });
});

describe('environment variables', () => {
  it('a missing ${VAR} names the field and the variable', () => {
    const issues = issuesOf({ venues: [LIVE_BINANCE] }, { BINANCE_API_SECRET: 'x-secret' });
    expect(issues).toEqual([
      { path: 'venues[0].accounts[0].api_key', message: 'environment variable BINANCE_API_KEY is not set' },
    ]);
  });

  it('a field whose variable is missing is reported once, not again by the schema', () => {
    const issues = issuesOf({ storage: { blob: 'gcs', bucket: '${EXEC_BUCKET}', gcp_project: 'acme' } });
    expect(issues).toEqual([
      { path: 'storage.bucket', message: 'environment variable EXEC_BUCKET is not set' },
    ]);
  });

  it('a literal secret is rejected at its path', () => {
    const venue = {
      ...LIVE_BINANCE,
      accounts: [{ ...LIVE_BINANCE.accounts[0], api_secret: 'hunter2-literal' }],
    };
    const issues = issuesOf({ venues: [venue] }, BINANCE_ENV);
    expect(issues).toContainEqual({
      path: 'venues[0].accounts[0].api_secret',
      message: 'secrets must come from the environment: use ${VAR}',
    });
    expect(JSON.stringify(issues)).not.toContain('hunter2-literal');
  });

  it('a LIVE venue resolves its keys from the environment', () => {
    const cfg = parseConfig({ venues: [LIVE_BINANCE] }, { env: BINANCE_ENV });
    expect(cfg.venues[0]?.accounts[0]).toEqual({
      account_id: 'main',
      base_currency: 'USDT',
      api_key: 'k-123456',
      api_secret: 's-abcdef',
    });
  });
});

describe('cross-field rules', () => {
  it('staleness limits: a platform default, per venue either limit, AMBER strictly before RED', () => {
    const sim = (status: unknown) => ({
      venues: [{ id: 'SIM', exchange: 'simulated', mode: 'SIMULATED', status }],
    });
    const cfg = parseConfig(
      { status: { stale_amber_ms: '30000', stale_red_ms: 120_000 }, ...sim({ stale_red_ms: 600_000 }) },
      { env: {} },
    );
    expect(cfg.status).toEqual({ stale_amber_ms: 30_000, stale_red_ms: 120_000 });
    expect(cfg.venues[0]?.status).toEqual({ stale_red_ms: 600_000 });

    expect(issueAt({ status: { stale_amber_ms: 60_000 } }, 'status.stale_red_ms')).toBe(
      'must be greater than stale_amber_ms (60000): a session turns AMBER before RED',
    );
    expect(issueAt(sim({ stale_amber_ms: 90_000 }), 'venues[0].status.stale_amber_ms')).toBe(
      'must be less than stale_red_ms (60000, the top-level status default): a session turns AMBER before RED',
    );
    expect(issueAt(sim({ stale_red_ms: 10_000 }), 'venues[0].status.stale_red_ms')).toBe(
      'must be greater than stale_amber_ms (15000, the top-level status default): a session turns AMBER before RED',
    );
    expect(
      issueAt(sim({ stale_amber_ms: 5_000, stale_red_ms: 5_000 }), 'venues[0].status.stale_red_ms'),
    ).toBe('must be greater than stale_amber_ms (5000): a session turns AMBER before RED');
    expect(issueAt(sim({ stale_red_ms: 0 }), 'venues[0].status.stale_red_ms')).toMatch(
      /greater than 0|too small/,
    );
    expect(issueAt(sim({ stale_ms: 1 }), 'venues[0].status.stale_ms')).toBe(
      'unknown key "stale_ms" (check the spelling)',
    );
    expect(issueAt({ status: { stale_amber_ms: 1.5 } }, 'status.stale_amber_ms')).toBe(
      'expected a whole number',
    );
  });

  it('cloud storage needs a project and GCS needs a bucket', () => {
    expect(issuesOf({ storage: { blob: 'gcs' } })).toEqual([
      { path: 'storage.gcp_project', message: 'required when storage.blob is "gcs"' },
      { path: 'storage.bucket', message: 'required when storage.blob is "gcs"' },
    ]);
    expect(issuesOf({ storage: { blob: 'gcs', gcp_project: 'acme-prod' } })).toEqual([
      { path: 'storage.bucket', message: 'required when storage.blob is "gcs"' },
    ]);
    expect(issueAt({ storage: { order_store: 'firestore' } }, 'storage.gcp_project')).toBe(
      'required when storage.order_store is "firestore"',
    );
    expect(issueAt({ storage: { bus: 'pubsub' } }, 'storage.gcp_project')).toBe(
      'required when storage.bus is "pubsub"',
    );
    expect(
      issueAt({ storage: { blob: 'gcs', gcp_project: 'p', bucket: 'gs://x' } }, 'storage.bucket'),
    ).toMatch(/bucket name/);
    const cfg = parseConfig(
      {
        storage: {
          order_store: 'firestore',
          bus: 'pubsub',
          blob: 'gcs',
          gcp_project: 'demo',
          bucket: 'ticks-1',
        },
      },
      { env: {} },
    );
    expect(cfg.storage.gcp_project).toBe('demo');
  });

  it('a LIVE venue needs accounts with key and secret (and a passphrase on OKX)', () => {
    expect(
      issueAt({ venues: [{ id: 'BINANCE-SPOT', exchange: 'binance', mode: 'LIVE' }] }, 'venues[0].accounts'),
    ).toMatch(/LIVE venue needs at least one account/);
    const noKey = {
      ...LIVE_BINANCE,
      accounts: [{ account_id: 'a', base_currency: 'USDT', api_secret: '${S}' }],
    };
    expect(issueAt({ venues: [noKey] }, 'venues[0].accounts[0].api_key', { S: 'sss' })).toMatch(
      /required for a LIVE binance venue/,
    );
    const emptyKey = { ...LIVE_BINANCE };
    expect(
      issueAt({ venues: [emptyKey] }, 'venues[0].accounts[0].api_key', {
        ...BINANCE_ENV,
        BINANCE_API_KEY: '',
      }),
    ).toMatch(/required for a LIVE binance venue/);
    const okx = {
      id: 'OKX',
      exchange: 'okx',
      mode: 'LIVE',
      accounts: [{ account_id: 'o', base_currency: 'USDT', api_key: '${K}', api_secret: '${S}' }],
    };
    expect(issueAt({ venues: [okx] }, 'venues[0].accounts[0].password', { K: 'kkk', S: 'sss' })).toMatch(
      /required for a LIVE okx venue/,
    );
  });

  it('the simulated exchange only runs SIMULATED, and exchanges only serve what they trade', () => {
    expect(
      issueAt({ venues: [{ id: 'SIM', exchange: 'simulated', mode: 'SHADOW' }] }, 'venues[0].mode'),
    ).toMatch(/only runs in SIMULATED mode/);
    expect(
      issueAt(
        {
          venues: [
            { id: 'BINANCE-SPOT', exchange: 'binance', mode: 'SHADOW', instrument_types: ['PERPETUAL'] },
          ],
        },
        'venues[0].instrument_types[0]',
      ),
    ).toBe('exchange binance does not trade PERPETUAL (it trades SPOT_PAIR)');
  });

  it('venue ids and account ids are unique', () => {
    const v = { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED' };
    expect(issueAt({ venues: [v, v] }, 'venues[1].id')).toBe('duplicate venue id SIM');
    const a = { account_id: 'shared', base_currency: 'USD' };
    expect(
      issueAt(
        {
          venues: [
            { ...v, accounts: [a] },
            { ...v, id: 'SIM2', accounts: [a] },
          ],
        },
        'venues[1].accounts[0].account_id',
      ),
    ).toBe('duplicate account id shared (also on SIM)');
  });

  it('venue ids look like the venue part of instrument ids', () => {
    expect(
      issueAt({ venues: [{ id: 'binance spot', exchange: 'binance', mode: 'SHADOW' }] }, 'venues[0].id'),
    ).toMatch(/venue name in capitals/);
  });

  it('router candidates must be configured venues that serve the type', () => {
    expect(
      issueAt({ router: { candidates: { SPOT_PAIR: ['SIM', 'NOPE'] } } }, 'router.candidates.SPOT_PAIR[1]'),
    ).toBe('venue NOPE is not configured under venues');
    const venues = [
      { id: 'SIM', exchange: 'simulated', mode: 'SIMULATED' },
      { id: 'BINANCE-SPOT', exchange: 'binance', mode: 'SHADOW' },
    ];
    expect(
      issueAt(
        { venues, router: { candidates: { OPTION: ['BINANCE-SPOT'] } } },
        'router.candidates.OPTION[0]',
      ),
    ).toBe('venue BINANCE-SPOT does not serve OPTION');
  });

  it('per-instrument limits name a configured venue and a valid key', () => {
    expect(
      issueAt(
        { risk: { per_instrument: { 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT': { max_position: '1' } } } },
        'risk.per_instrument.BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      ),
    ).toBe('venue BINANCE-SPOT is not configured under venues');
    expect(
      issueAt(
        { risk: { per_instrument: { 'SIM:SPOT:BTC-USDT': { max_position: '1' } } } },
        'risk.per_instrument.SIM:SPOT:BTC-USDT',
      ),
    ).toMatch(/instrument type "SPOT" is not one of/);
    expect(
      issueAt({ risk: { per_instrument: { BTC: { max_position: '1' } } } }, 'risk.per_instrument.BTC'),
    ).toMatch(/must be \[ASSET_CLASS:\]VENUE:INSTRUMENT_TYPE:PAYLOAD/);
    expect(
      issueAt(
        { risk: { per_instrument: { 'SIM:OPTION:BTC-USD-50000-20241331-C': { max_position: '1' } } } },
        'risk.per_instrument.SIM:OPTION:BTC-USD-50000-20241331-C',
      ),
    ).toMatch(/20241331/);
    const ok = parseConfig(
      { risk: { per_instrument: { 'CRYPTO:SIM:PERPETUAL:BTC-USDT@LIN': { max_position: '3' } } } },
      { env: {} },
    );
    expect(ok.risk.per_instrument['CRYPTO:SIM:PERPETUAL:BTC-USDT@LIN']?.max_position).toBe('3');
  });

  it('min order size may not exceed max order size', () => {
    expect(
      issueAt(
        {
          risk: {
            per_instrument: {
              'SIM:SPOT_PAIR:X-Y': { max_position: '1', min_order_size: '2', max_order_size: '1' },
            },
          },
        },
        'risk.per_instrument.SIM:SPOT_PAIR:X-Y.min_order_size',
      ),
    ).toBe('must not exceed max_order_size (1)');
  });

  it('the VWAP default profile is built in or defined', () => {
    expect(
      issueAt({ algorithms: { vwap: { default_profile: 'nope' } } }, 'algorithms.vwap.default_profile'),
    ).toMatch(/unknown profile "nope"/);
    const cfg = parseConfig(
      { algorithms: { vwap: { default_profile: 'mine', profiles: { mine: [1, 2, 1] } } } },
      { env: {} },
    );
    expect(cfg.algorithms.vwap.profiles.mine).toEqual([1, 2, 1]);
    expect(
      issueAt({ algorithms: { vwap: { profiles: { zero: [0, 0] } } } }, 'algorithms.vwap.profiles.zero'),
    ).toMatch(/positive volume/);
  });

  it('urls must be URLs of the right kind', () => {
    const v = { id: 'BINANCE-SPOT', exchange: 'binance', mode: 'SHADOW' };
    expect(issueAt({ venues: [{ ...v, urls: { rest: 'ws://127.0.0.1:1' } }] }, 'venues[0].urls.rest')).toBe(
      'expected an http(s):// URL',
    );
    const cfg = parseConfig(
      { venues: [{ ...v, urls: { rest: 'http://127.0.0.1:${VENUE_PORT}', ws: 'ws://127.0.0.1:9001/ws' } }] },
      { env: { VENUE_PORT: '9000' } },
    );
    expect(cfg.venues[0]?.urls).toEqual({ rest: 'http://127.0.0.1:9000', ws: 'ws://127.0.0.1:9001/ws' });
  });
});

/**
 * The weights file (SPEC "Weights files"): a versioned JSON document a portfolio optimizer writes,
 * holding one strategy's target weights by canonical instrument id. Plus the two other planning
 * inputs read from files: holdings (the shape of `portfolio_actual_state.json`'s holdings) and
 * prices. Every problem names its field: `weights["BINANCE-SPOT:SPOT_PAIR:BTC-USDT"]`,
 * `exec_algorithm_params.duration_sec`, `schema_version`.
 *
 * ```json
 * { "schema_version": 1, "strategy_id": "rebalance-core-v3", "as_of": "2026-12-07T00:00:00Z",
 *   "quote_currency": "USDT",
 *   "weights": { "BINANCE-SPOT:SPOT_PAIR:BTC-USDT": "0.5", "BINANCE-SPOT:SPOT_PAIR:ETH-USDT": "0.3" },
 *   "exec_algorithm": "TWAP", "exec_algorithm_params": { "duration_sec": 300 } }
 * ```
 */
import { z } from 'zod';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { type Issue, type Result, ValidationError } from '../domain/errors.ts';
import { canonicalInstrumentId, parseInstrumentId } from '../domain/instrument-id.ts';
import {
  NonNegativeDecimal,
  PositiveDecimal,
  parseExecAlgorithmParams,
  parseWith,
  StrategyIdSchema,
} from '../domain/schemas.ts';
import { isoToNanos, type Nanos } from '../domain/time.ts';
import { EXEC_ALGORITHMS, type ExecAlgorithm } from '../domain/types.ts';

export const WEIGHTS_SCHEMA_VERSION = 1;
export const INVALID_WEIGHTS = 'invalid_weights_file';
export const INVALID_HOLDINGS = 'invalid_holdings';
export const INVALID_PRICES = 'invalid_prices';

const CurrencySchema = z.string().regex(/^[A-Z0-9]{2,16}$/, {
  error: 'must be a currency code of 2-16 capital letters or digits, e.g. USDT',
});

const IsoTimeSchema = z
  .string()
  .refine(
    (s) => {
      try {
        isoToNanos(s);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'must be an ISO-8601 time with a zone, e.g. "2026-12-07T00:00:00Z"' },
  )
  .describe('ISO-8601 time with a zone');

/** A record keyed by instrument id: each key must parse; two spellings of one instrument clash. */
function byInstrument<V extends z.ZodType>(value: V) {
  return z.record(z.string(), value).superRefine((rec, ctx) => {
    const seen = new Map<string, string>();
    for (const key of Object.keys(rec)) {
      const r = parseInstrumentId(key);
      if (!r.success) {
        for (const i of r.error.issues) {
          ctx.addIssue({ code: 'custom', path: [key], message: `instrument id: ${i.message}` });
        }
        continue;
      }
      const canon = canonicalInstrumentId(r.data);
      const first = seen.get(canon);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `names the same instrument as "${first}"` });
      } else seen.set(canon, key);
    }
  });
}

const WeightSchema = NonNegativeDecimal.refine((v) => toDec(v).lte(1), {
  error: 'a weight must be between 0 and 1',
});

const WeightsFields = z.strictObject({
  schema_version: z.literal(WEIGHTS_SCHEMA_VERSION, {
    error: (iss) =>
      `must be ${WEIGHTS_SCHEMA_VERSION} (the version this platform reads), got ${JSON.stringify(iss.input)}`,
  }),
  strategy_id: StrategyIdSchema,
  as_of: IsoTimeSchema.describe('When the optimizer computed these weights (ISO-8601 with a zone)'),
  quote_currency: CurrencySchema.optional().describe(
    "The currency the portfolio is valued and bought in; default: the rebalance configuration's quote_currency",
  ),
  weights: byInstrument(WeightSchema).describe(
    'Target weight of equity per canonical instrument id, each between 0 and 1, summing to at most 1 (the rest is cash). An instrument held but not listed has weight 0 (its position is closed).',
  ),
  cash_buffer: NonNegativeDecimal.optional().describe(
    'Overrides the configured cash buffer (a fraction < 1)',
  ),
  exec_algorithm: z.enum(EXEC_ALGORITHMS).default('NORMAL'),
  exec_algorithm_params: z.record(z.string(), z.unknown()).default({}),
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasIssue(issues: ReadonlyArray<{ path?: PropertyKey[] | undefined }>, key: string): boolean {
  return issues.some((i) => i.path?.[0] === key);
}

/**
 * The weights file (version 1). The cross-field rules (sum of weights, algorithm parameters) also
 * run when other fields are wrong, on the fields that parsed, so one answer lists every problem.
 */
export const WeightsFileSchema = WeightsFields.superRefine(
  (parsed, ctx) => {
    const v: unknown = parsed;
    if (!isRecord(v)) return;
    if (!hasIssue(ctx.issues, 'weights') && isRecord(v.weights)) {
      let sum = new Dec(0);
      for (const w of Object.values(v.weights)) if (typeof w === 'string') sum = sum.plus(w);
      if (sum.gt(1)) {
        ctx.addIssue({
          code: 'custom',
          path: ['weights'],
          message: `weights sum to ${fmt(sum)}, more than 1`,
        });
      }
    }
    if (
      !hasIssue(ctx.issues, 'cash_buffer') &&
      typeof v.cash_buffer === 'string' &&
      toDec(v.cash_buffer).gte(1)
    ) {
      ctx.addIssue({ code: 'custom', path: ['cash_buffer'], message: 'must be less than 1' });
    }
    const algo = v.exec_algorithm;
    if (
      !hasIssue(ctx.issues, 'exec_algorithm') &&
      !hasIssue(ctx.issues, 'exec_algorithm_params') &&
      typeof algo === 'string' &&
      (EXEC_ALGORITHMS as readonly string[]).includes(algo)
    ) {
      const params = parseExecAlgorithmParams(algo as ExecAlgorithm, v.exec_algorithm_params ?? {});
      if (!params.success) {
        for (const i of params.error.issues) {
          ctx.addIssue({ code: 'custom', path: i.path.split('.'), message: i.message });
        }
      }
    }
  },
  { when: (payload) => isRecord(payload.value) },
).describe('Target weights of one strategy (a rebalance), version 1');

export interface WeightsFile {
  schema_version: 1;
  strategy_id: string;
  as_of: string;
  as_of_ns: Nanos;
  quote_currency?: string | undefined;
  /** Keys canonical, values canonical decimal strings. */
  weights: Record<string, DecimalString>;
  cash_buffer?: DecimalString | undefined;
  exec_algorithm: ExecAlgorithm;
  exec_algorithm_params: Record<string, unknown>;
}

function canonicalKeys(rec: Record<string, DecimalString>): Record<string, DecimalString> {
  const out: Record<string, DecimalString> = {};
  for (const [k, v] of Object.entries(rec)) out[canonicalInstrumentId(k)] = v;
  return out;
}

/** Validate a parsed weights document. Code `invalid_weights_file`, one issue per problem. */
export function parseWeightsFile(input: unknown): Result<WeightsFile> {
  const r = parseWith(WeightsFileSchema, input, INVALID_WEIGHTS);
  if (!r.success) return r;
  const d = r.data;
  return {
    success: true,
    data: {
      schema_version: d.schema_version,
      strategy_id: d.strategy_id,
      as_of: d.as_of,
      as_of_ns: isoToNanos(d.as_of),
      quote_currency: d.quote_currency,
      weights: canonicalKeys(d.weights),
      cash_buffer: d.cash_buffer,
      exec_algorithm: d.exec_algorithm,
      exec_algorithm_params: d.exec_algorithm_params,
    },
  };
}

/** Parse the text of a weights file: bad JSON is one issue at the root, naming the position. */
export function parseWeightsText(text: string): Result<WeightsFile> {
  return parseJsonThen(text, INVALID_WEIGHTS, parseWeightsFile);
}

export function parseJsonThen<T>(text: string, code: string, then: (v: unknown) => Result<T>): Result<T> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const issue: Issue = {
      path: '',
      message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
    };
    return { success: false, error: new ValidationError(code, [issue]) };
  }
  return then(doc);
}

// ---------------------------------------------------------------------------------------------
// Holdings and prices
// ---------------------------------------------------------------------------------------------

/** Holdings as in `portfolio_actual_state.json`: `{cash: {USDT: "100000"}, positions: {key: "0.5"}}`. */
export const HoldingsSchema = z
  .object({
    cash: z.record(CurrencySchema, NonNegativeDecimal),
    positions: byInstrument(NonNegativeDecimal).default({}),
  })
  .describe('Holdings: cash per currency and position quantity per canonical instrument id');

/** Prices by instrument id: `{"BINANCE-SPOT:SPOT_PAIR:BTC-USDT": "50000"}`. */
export const PricesSchema = byInstrument(PositiveDecimal).describe('Price per canonical instrument id');

export interface HoldingsInput {
  cash: Record<string, DecimalString>;
  positions: Record<string, DecimalString>;
}

export function parseHoldings(input: unknown): Result<HoldingsInput> {
  const r = parseWith(HoldingsSchema, input, INVALID_HOLDINGS);
  if (!r.success) return r;
  return { success: true, data: { cash: r.data.cash, positions: canonicalKeys(r.data.positions) } };
}

export function parsePrices(input: unknown): Result<Record<string, DecimalString>> {
  const r = parseWith(PricesSchema, input, INVALID_PRICES);
  return r.success ? { success: true, data: canonicalKeys(r.data) } : r;
}

/**
 * Export the platform's message contracts as JSON Schema (2020-12) for other teams:
 *
 *   npm run schemas:export        # write schemas/<name>.schema.json
 *   npm run schemas:check         # exit 1 listing every stale, missing or leftover file (CI)
 *
 * Each file is generated from the zod schema the platform itself validates with
 * (`z.toJSONSchema`), so the published contract cannot drift from the code. Inputs (what a sender
 * may send) are exported with `io: 'input'` — decimals as strings or numbers, defaulted fields
 * optional; outputs (what we send) with `io: 'output'`. bigint nanoseconds appear as strings of
 * digits, as they travel. Formatting is stable (2-space JSON, keys in schema order, final newline),
 * so a regenerated file differs only when a contract changed.
 *
 * The list: the explicit contracts below, plus every `*MessageSchema` exported by the message
 * modules in MESSAGE_MODULES (topic payloads such as `orders.routed` and `exec.orders`) — add a
 * module there, or a line to CONTRACTS, to publish more.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import * as executionMessages from '../shared/app/execution-messages.ts';
import * as pipelineMessages from '../shared/app/messages.ts';
import * as venueEdgeMessages from '../shared/app/venue-edge-messages.ts';
import * as backtestModel from '../shared/backtest/model.ts';
import { InstrumentFileSchema } from '../shared/domain/instrument.ts';
import {
  CancelRequestSchema,
  IcebergParamsSchema,
  OrderInstructionSchema,
  OrderReplySchema,
  TwapParamsSchema,
  VwapParamsSchema,
} from '../shared/domain/schemas.ts';
import * as driftMessages from '../shared/drift/messages.ts';
import { HoldingsSchema, PricesSchema, WeightsFileSchema } from '../shared/rebalance/weights.ts';
import * as reconMessages from '../shared/recon/messages.ts';
import { jsonSchemaOptions } from '../stateful/api/openapi/index.ts';

export interface Contract {
  /** File name stem: `schemas/<name>.schema.json`. */
  name: string;
  title: string;
  /** Where it is used (topics, endpoints, files). */
  description: string;
  schema: z.ZodType;
  /** `input` for what others send us (and we parse), `output` for what we send. */
  io: 'input' | 'output';
}

export const CONTRACTS: readonly Contract[] = [
  {
    name: 'order-instruction',
    title: 'Order instruction',
    description:
      'An order instruction: Pub/Sub topic orders.requests (message data) and the body of POST /api/orders. operation_id is the idempotency key.',
    schema: OrderInstructionSchema,
    io: 'input',
  },
  {
    name: 'cancel-request',
    title: 'Cancel request',
    description:
      'A cancel request: Pub/Sub topic orders.cancels (message data); DELETE /api/orders/{operation_id} takes {reason}.',
    schema: CancelRequestSchema,
    io: 'input',
  },
  {
    name: 'order-reply',
    title: 'Order reply',
    description: 'The reply / status of an order: POST, GET and DELETE /api/orders responses.',
    schema: OrderReplySchema,
    io: 'output',
  },
  {
    name: 'twap-params',
    title: 'TWAP parameters',
    description: 'exec_algorithm_params of an order instruction with exec_algorithm TWAP.',
    schema: TwapParamsSchema,
    io: 'input',
  },
  {
    name: 'vwap-params',
    title: 'VWAP parameters',
    description: 'exec_algorithm_params of an order instruction with exec_algorithm VWAP.',
    schema: VwapParamsSchema,
    io: 'input',
  },
  {
    name: 'iceberg-params',
    title: 'Iceberg parameters',
    description: 'exec_algorithm_params of an order instruction with exec_algorithm ICEBERG.',
    schema: IcebergParamsSchema,
    io: 'input',
  },
  {
    name: 'instruments-file',
    title: 'Instrument definitions file',
    description:
      'instruments/<YYYY-MM-DD>.json in the tick-data bucket or folder: one object per instrument, decimals as strings.',
    schema: InstrumentFileSchema,
    io: 'input',
  },
  {
    name: 'weights-file',
    title: 'Weights file',
    description:
      "A rebalance: one strategy's target weights by canonical instrument id, written by a portfolio optimizer to the watched folder or the weights prefix of the bucket (docs/rebalancing.md).",
    schema: WeightsFileSchema,
    io: 'input',
  },
  {
    name: 'rebalance-holdings',
    title: 'Rebalance holdings',
    description:
      'Holdings given to `npm run rebalance -- plan --holdings`: cash per currency and positions, the holdings part of portfolio_actual_state.json.',
    schema: HoldingsSchema,
    io: 'input',
  },
  {
    name: 'rebalance-prices',
    title: 'Rebalance prices',
    description:
      'Prices given to `npm run rebalance -- plan --prices`: a decimal price per canonical instrument id.',
    schema: PricesSchema,
    io: 'input',
  },
];

/** Modules whose exported `*MessageSchema`s are topic payload contracts. */
export const MESSAGE_MODULES: ReadonlyArray<{ path: string; exports: Record<string, unknown> }> = [
  { path: 'shared/app/messages.ts', exports: pipelineMessages },
  { path: 'shared/app/execution-messages.ts', exports: executionMessages },
  { path: 'shared/app/venue-edge-messages.ts', exports: venueEdgeMessages },
  { path: 'shared/recon/messages.ts', exports: reconMessages },
  { path: 'shared/drift/messages.ts', exports: driftMessages },
  { path: 'shared/backtest/model.ts', exports: backtestModel },
];

function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Contracts discovered in MESSAGE_MODULES, sorted by name. */
export function messageContracts(): Contract[] {
  const out: Contract[] = [];
  for (const mod of MESSAGE_MODULES) {
    for (const [key, value] of Object.entries(mod.exports)) {
      if (!key.endsWith('MessageSchema') || !(value instanceof z.ZodType)) continue;
      const stem = key.slice(0, -'Schema'.length);
      out.push({
        name: kebab(stem),
        title: stem.replace(/([a-z0-9])([A-Z])/g, '$1 $2'),
        description: `Pub/Sub message payload ${stem} (${mod.path}).`,
        schema: value,
        io: 'input',
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function allContracts(): Contract[] {
  const all = [...CONTRACTS, ...messageContracts()];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.name)) throw new Error(`two contracts are named ${c.name}`);
    seen.add(c.name);
  }
  return all;
}

/** The file text of one contract. */
export function renderContract(contract: Contract): string {
  const generated = z.toJSONSchema(contract.schema, jsonSchemaOptions(contract.io)) as Record<
    string,
    unknown
  >;
  const { $schema, description, ...rest } = generated;
  const doc = {
    $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
    $id: `${contract.name}.schema.json`,
    title: contract.title,
    description:
      typeof description === 'string' ? `${contract.description} ${description}` : contract.description,
    ...rest,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Every file that should be in the schemas folder: file name → text. */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const c of allContracts()) files.set(`${c.name}.schema.json`, renderContract(c));
  return files;
}

export const DEFAULT_SCHEMAS_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));

export interface SchemaCheck {
  /** Generated file names whose committed text differs. */
  stale: string[];
  /** Generated file names not present. */
  missing: string[];
  /** `*.schema.json` files present that no contract generates any more. */
  leftover: string[];
}

async function existing(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names.filter((n) => n.endsWith('.schema.json')).sort()) {
    out.set(name, await readFile(join(dir, name), 'utf8'));
  }
  return out;
}

/** Compare the folder with what would be generated. */
export async function checkSchemas(dir: string = DEFAULT_SCHEMAS_DIR): Promise<SchemaCheck> {
  const want = renderAll();
  const have = await existing(dir);
  const result: SchemaCheck = { stale: [], missing: [], leftover: [] };
  for (const [name, text] of want) {
    const current = have.get(name);
    if (current === undefined) result.missing.push(name);
    else if (current !== text) result.stale.push(name);
  }
  for (const name of have.keys()) if (!want.has(name)) result.leftover.push(name);
  return result;
}

/** Write every generated file (only those that changed) and remove leftovers. */
export async function writeSchemas(
  dir: string = DEFAULT_SCHEMAS_DIR,
): Promise<{ written: string[]; removed: string[] }> {
  const check = await checkSchemas(dir);
  await mkdir(dir, { recursive: true });
  const want = renderAll();
  const written: string[] = [];
  for (const name of [...check.missing, ...check.stale]) {
    const text = want.get(name);
    if (text === undefined) continue;
    await writeFile(join(dir, name), text);
    written.push(name);
  }
  for (const name of check.leftover) await rm(join(dir, name));
  return { written: written.sort(), removed: check.leftover };
}

async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const outIndex = argv.indexOf('--out');
  const dir = outIndex >= 0 && argv[outIndex + 1] ? resolve(argv[outIndex + 1] ?? '') : DEFAULT_SCHEMAS_DIR;
  const unknown = argv.filter(
    (a, i) => a !== '--check' && a !== '--out' && !(i > 0 && argv[i - 1] === '--out'),
  );
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown arguments: ${unknown.join(' ')}\nusage: export-schemas [--check] [--out <dir>]\n`,
    );
    return 2;
  }
  if (check) {
    const r = await checkSchemas(dir);
    const problems = [
      ...r.stale.map((n) => `stale:    ${n}`),
      ...r.missing.map((n) => `missing:  ${n}`),
      ...r.leftover.map((n) => `leftover: ${n} (no contract generates it)`),
    ];
    if (problems.length > 0) {
      process.stderr.write(
        `JSON Schemas in ${dir} are out of date:\n${problems.map((p) => `  ${p}`).join('\n')}\nrun: npm run schemas:export\n`,
      );
      return 1;
    }
    process.stdout.write(`JSON Schemas in ${dir} are up to date (${renderAll().size} files)\n`);
    return 0;
  }
  const { written, removed } = await writeSchemas(dir);
  process.stdout.write(
    `${renderAll().size} JSON Schemas in ${dir}: ${written.length} written${written.length ? ` (${written.join(', ')})` : ''}, ${removed.length} removed${removed.length ? ` (${removed.join(', ')})` : ''}\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

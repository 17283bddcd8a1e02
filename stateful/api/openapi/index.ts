/**
 * The OpenAPI 3.1 document of the HTTP API (`GET /api/openapi.json`) and a small self-contained
 * reference page (`GET /api/docs`, no CDN). Component schemas are generated from the same zod
 * schemas the routes and the service validate with (zod v4 `z.toJSONSchema`, JSON Schema
 * 2020-12 = the OpenAPI 3.1 dialect), so the document cannot drift from the code: request bodies
 * are described as a sender may write them (`io: 'input'`: numbers accepted for decimals, defaults
 * optional), bigint nanoseconds as strings of digits (as the JSON replacer writes them).
 */
import { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import { OrderInstructionSchema } from '../../../shared/domain/schemas.ts';
import { sendJson } from '../json/index.ts';
import {
  CancelBodySchema,
  ErrorBodySchema,
  FillSchema,
  HealthSchema,
  IssueSchema,
  OrderDetailSchema,
  OrderEventSchema,
  OrderListQuerySchema,
  OrderListSchema,
  OrderRecordSchema,
  OrderReplySchema,
  PositionListSchema,
  PositionQuerySchema,
  PositionSchema,
} from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';
import { CONSOLE_COMPONENTS, consolePaths } from './console-paths.ts';

type JsonObject = Record<string, unknown>;

/** JSON Schema of bigint values: our nanosecond timestamps travel as strings of digits. */
const NANOS_JSON_SCHEMA: z.core.JSONSchema.BaseSchema = {
  type: 'string',
  pattern: '^\\d+$',
  description: 'Integer nanoseconds since the Unix epoch, as a string of digits',
};

const bigintAsDigits: z.core.UnrepresentableHandler = (ctx) =>
  ctx.zodSchema._zod.def.type === 'bigint' ? { ...NANOS_JSON_SCHEMA } : 'throw';

/**
 * Options for `z.toJSONSchema` shared by the OpenAPI document and `scripts/export-schemas.ts`:
 * JSON Schema 2020-12; bigint → digit string; anything else without a JSON equivalent is an error.
 */
export function jsonSchemaOptions(io: 'input' | 'output'): z.core.ToJSONSchemaParams {
  return { target: 'draft-2020-12', io, unrepresentable: bigintAsDigits };
}

/** Components of the document, by name. */
const COMPONENTS: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['OrderInstruction', OrderInstructionSchema],
  ['CancelRequest', CancelBodySchema],
  ['OrderReply', OrderReplySchema],
  ['OrderDetail', OrderDetailSchema],
  ['OrderList', OrderListSchema],
  ['OrderRecord', OrderRecordSchema],
  ['OrderEvent', OrderEventSchema],
  ['Fill', FillSchema],
  ['PositionList', PositionListSchema],
  ['Position', PositionSchema],
  ['Health', HealthSchema],
  ['Issue', IssueSchema],
  ['Error', ErrorBodySchema],
  ...CONSOLE_COMPONENTS,
];

function componentSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of COMPONENTS) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    ...jsonSchemaOptions('input'),
    uri: (id) => `#/components/schemas/${id}`,
  });
  const schemas: Record<string, JsonObject> = {};
  for (const [id, schema] of Object.entries(out.schemas)) {
    const { $schema: _drop, $id: _id, ...rest } = schema as JsonObject;
    schemas[id] = rest;
  }
  return schemas;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: jsonContent('Error') });

function queryParameters(schema: z.ZodObject): JsonObject[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const s = z.toJSONSchema(field as z.ZodType, jsonSchemaOptions('input')) as JsonObject;
    const { $schema: _drop, description, ...rest } = s;
    return {
      name,
      in: 'query',
      required: false,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

const OPERATION_ID_PARAM = {
  name: 'operation_id',
  in: 'path',
  required: true,
  description: 'The idempotency key the order was submitted with',
  schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
};

const COMMON_ERRORS = {
  '500': errorResponse('Internal error (a bug): the body carries a request_id; the error is logged'),
  '503': errorResponse('A dependency (store, bus) is temporarily unavailable: retry (Retry-After)'),
};

export interface OpenApiInfo {
  title?: string | undefined;
  version?: string | undefined;
  /** `servers[0].url` (default: none, i.e. relative to where the document was served). */
  serverUrl?: string | undefined;
}

/** Build the OpenAPI 3.1 document. */
export function buildOpenApiDocument(info: OpenApiInfo = {}): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Execution platform API',
      version: info.version ?? '0.1.0',
      description:
        'Order intake, order book of record, positions and health of the live-trading execution platform. Decimals are strings; timestamps are ISO-8601 strings or integer nanoseconds as strings of digits. Errors: `{error:{code, message, issues?}}`.',
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    tags: [
      { name: 'orders', description: 'Submit, read, list and cancel orders' },
      { name: 'positions', description: 'The position book' },
      { name: 'operations', description: 'Health, metrics, events, catalog, venues and this document' },
      { name: 'trading state', description: 'ACTIVE / REDUCING / HALTED, platform-wide and per strategy' },
      { name: 'backtests', description: 'Backtest runs from the results store' },
    ],
    paths: {
      ...consolePaths(queryParameters),
      '/api/orders': {
        post: {
          tags: ['orders'],
          operationId: 'submitOrder',
          summary: 'Submit an order instruction',
          description:
            'Validated, risk-checked and routed at once. `operation_id` is the idempotency key: sending it again returns the existing order (200) and does nothing new. A risk denial or an unroutable order is still a new order (201) with status DENIED / REJECTED and the reason.',
          requestBody: { required: true, content: jsonContent('OrderInstruction') },
          responses: {
            '201': {
              description: 'A new order, whatever its decision (status PENDING, DENIED, REJECTED, ...)',
              headers: {
                Location: {
                  schema: { type: 'string' },
                  description: 'The order: /api/orders/{operation_id}',
                },
              },
              content: jsonContent('OrderReply'),
            },
            '200': {
              description: 'Duplicate operation_id: the existing order',
              content: jsonContent('OrderReply'),
            },
            '400': errorResponse(
              'Malformed JSON (invalid_json) or an invalid instruction (issues name each field)',
            ),
            '413': errorResponse('Body larger than the limit'),
            '415': errorResponse('Body not sent as application/json'),
            ...COMMON_ERRORS,
          },
        },
        get: {
          tags: ['orders'],
          operationId: 'listOrders',
          summary: 'List orders, newest first',
          parameters: queryParameters(OrderListQuerySchema),
          responses: {
            '200': {
              description: 'The orders matching every filter given',
              content: jsonContent('OrderList'),
            },
            '400': errorResponse('A bad or unknown query parameter (issues name it)'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/api/orders/{operation_id}': {
        parameters: [OPERATION_ID_PARAM],
        get: {
          tags: ['orders'],
          operationId: 'getOrder',
          summary: 'One order: its reply, the full record, its timeline and fills',
          responses: {
            '200': { description: 'The order', content: jsonContent('OrderDetail') },
            '400': errorResponse('Malformed operation_id'),
            '404': errorResponse('No order with this operation_id (code not_found)'),
            ...COMMON_ERRORS,
          },
        },
        delete: {
          tags: ['orders'],
          operationId: 'cancelOrder',
          summary: 'Cancel an order',
          requestBody: { required: false, content: jsonContent('CancelRequest') },
          responses: {
            '202': {
              description: 'A cancel request went to the venue (status PENDING_CANCEL)',
              content: jsonContent('OrderReply'),
            },
            '200': {
              description: 'Canceled at once (never reached a venue)',
              content: jsonContent('OrderReply'),
            },
            '400': errorResponse('Malformed operation_id or body'),
            '404': errorResponse('No order with this operation_id (code not_found)'),
            '409': errorResponse(
              'Not cancelable (code not_cancelable): `reason` and the order are in the body',
            ),
            '415': errorResponse('Body not sent as application/json'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/api/positions': {
        get: {
          tags: ['positions'],
          operationId: 'listPositions',
          summary: 'Net positions per account and instrument',
          parameters: queryParameters(PositionQuerySchema),
          responses: {
            '200': { description: 'The positions', content: jsonContent('PositionList') },
            '400': errorResponse('A bad or unknown query parameter'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/api/health': {
        get: {
          tags: ['operations'],
          operationId: 'health',
          summary: 'Health of every component (stores, bus, blob store, venues)',
          responses: {
            '200': { description: 'Every component is ok', content: jsonContent('Health') },
            '503': { description: 'At least one component is not ok', content: jsonContent('Health') },
          },
        },
      },
      '/metrics': {
        get: {
          tags: ['operations'],
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format)',
          responses: {
            '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/api/openapi.json': {
        get: {
          tags: ['operations'],
          operationId: 'openapi',
          summary: 'This document',
          responses: {
            '200': {
              description: 'OpenAPI 3.1',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
      '/api/docs': {
        get: {
          tags: ['operations'],
          operationId: 'docs',
          summary: 'A readable reference of this API',
          responses: {
            '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        },
      },
    },
    components: { schemas: componentSchemas() },
  };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function asObject(v: unknown): JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {};
}

function renderDocs(doc: JsonObject) {
  const info = asObject(doc.info);
  const paths = asObject(doc.paths);
  const rows = Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => m in asObject(item)).map((m) => {
      const op = asObject(asObject(item)[m]);
      const responses = Object.entries(asObject(op.responses)).map(
        ([code, r]) => html`<li><code>${code}</code> ${String(asObject(r).description ?? '')}</li>`,
      );
      return html`<section>
  <h2><span class="m ${m}">${m.toUpperCase()}</span> <code>${path}</code></h2>
  <p>${String(op.summary ?? '')}</p>
  ${op.description ? html`<p class="d">${String(op.description)}</p>` : ''}
  <ul>${responses}</ul>
</section>`;
    }),
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${String(info.title ?? 'API')}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2430}
code{font:13px ui-monospace,monospace;background:#f1f3f6;padding:0 .25rem;border-radius:3px}
section{border-top:1px solid #dde2ea;padding:.5rem 0}
h2{font-size:1.05rem;margin:.5rem 0}
.m{display:inline-block;min-width:4.2rem;font-size:.8rem;color:#fff;border-radius:3px;padding:.1rem .4rem;text-align:center}
.get{background:#2f6fd1}.post{background:#1d8a4c}.delete{background:#c2372f}.put,.patch{background:#a26b00}
.d{color:#4a5568}
</style>
</head>
<body>
<h1>${String(info.title ?? 'API')} <small>${String(info.version ?? '')}</small></h1>
<p>${String(info.description ?? '')}</p>
<p>Machine-readable: <a href="/api/openapi.json"><code>/api/openapi.json</code></a> (OpenAPI 3.1). Request and response schemas are in its <code>components.schemas</code>.</p>
${rows}
</body>
</html>`;
}

export function openApiRoutes(info: OpenApiInfo = {}): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  let cached: JsonObject | null = null;
  const doc = () => {
    cached ??= buildOpenApiDocument(info);
    return cached;
  };
  app.get('/openapi.json', (c) => sendJson(c, 200, doc()));
  app.get('/docs', async (c) => c.html(await renderDocs(doc())));
  return app;
}

import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../../stateful/api/openapi/index.ts';
import { fixture } from './app-fixture.ts';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null ? (v as Obj) : {});

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document with every endpoint and its status codes', async () => {
    const { app } = fixture();
    const res = await app.request('/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = obj(await res.json());
    expect(doc.openapi).toBe('3.1.0');
    const paths = obj(doc.paths);
    expect(Object.keys(paths).sort()).toEqual([
      '/api/backtests',
      '/api/backtests/_inputs',
      '/api/backtests/{run_id}',
      '/api/backtests/{run_id}/equity',
      '/api/docs',
      '/api/events',
      '/api/health',
      '/api/instruments',
      '/api/openapi.json',
      '/api/orders',
      '/api/orders/{operation_id}',
      '/api/positions',
      '/api/positions/view',
      '/api/services',
      '/api/tca',
      '/api/trading-state',
      '/api/venues',
      '/metrics',
    ]);
    expect(obj(obj(paths['/api/events']).get).parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'outcome', in: 'query' }),
        expect.objectContaining({ name: 'cursor', in: 'query' }),
      ]),
    );
    const codes = (path: string, method: string) =>
      Object.keys(obj(obj(obj(paths[path])[method]).responses)).sort();
    expect(codes('/api/orders', 'post')).toEqual(['200', '201', '400', '413', '415', '500', '503']);
    expect(codes('/api/orders', 'get')).toEqual(['200', '400', '500', '503']);
    expect(codes('/api/orders/{operation_id}', 'get')).toEqual(['200', '400', '404', '500', '503']);
    expect(codes('/api/orders/{operation_id}', 'delete')).toEqual([
      '200',
      '202',
      '400',
      '404',
      '409',
      '415',
      '500',
      '503',
    ]);
    expect(codes('/api/positions', 'get')).toEqual(['200', '400', '500', '503']);
    expect(codes('/api/health', 'get')).toEqual(['200', '503']);
  });

  it('documents the list filters as query parameters', () => {
    const doc = buildOpenApiDocument();
    const params = obj(obj(obj(doc.paths)['/api/orders']).get).parameters as Obj[];
    expect(params.map((p) => p.name)).toEqual([
      'status',
      'venue',
      'strategy_id',
      'instrument_key',
      'parent_order_id',
      'from',
      'to',
      'limit',
    ]);
    for (const p of params) expect(p.in).toBe('query');
  });

  it('generates component schemas from the zod contracts, and every $ref resolves', () => {
    const doc = buildOpenApiDocument();
    const schemas = obj(obj(doc.components).schemas);
    for (const name of [
      'OrderInstruction',
      'CancelRequest',
      'OrderReply',
      'OrderDetail',
      'OrderRecord',
      'OrderEvent',
      'Error',
      'Health',
    ]) {
      expect(schemas[name], name).toBeDefined();
    }
    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(schemas[name], ref).toBeDefined();
    }
    const instruction = obj(schemas.OrderInstruction);
    // input view: what a sender may write (decimals as strings or numbers, defaults optional)
    expect(instruction.required).toEqual([
      'operation_id',
      'instrument_key',
      'side',
      'quantity',
      'order_type',
      'strategy_id',
    ]);
    expect(instruction.additionalProperties).toBe(false);
    expect(JSON.stringify(obj(obj(instruction.properties).quantity))).toContain('"number"');
    // bigint nanoseconds are documented as digit strings
    expect(obj(obj(obj(schemas.OrderRecord).properties).ts_created)).toMatchObject({
      type: 'string',
      pattern: '^\\d+$',
    });
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it('serves a readable reference page at /api/docs', async () => {
    const { app } = fixture();
    const res = await app.request('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    for (const text of ['/api/orders/{operation_id}', 'DELETE', '409', '/api/openapi.json'])
      expect(html).toContain(text);
    expect(html).not.toMatch(/<script/);
  });
});

import { describe, expect, it } from 'vitest';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { OrderReplySchema } from '../../../shared/domain/schemas.ts';
import { ORDER_STATUSES } from '../../../shared/domain/types.ts';
import { createApp, storeOrderReader } from '../../../stateful/api/index.ts';
import { fixture, issuePaths, JSON_HEADERS, post } from './app-fixture.ts';
import { instruction, T0 } from './fake-order-service.ts';

interface ErrorJson {
  error: {
    code: string;
    message: string;
    issues?: Array<{ path: string; message: string }>;
    [k: string]: unknown;
  };
}

async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe('POST /api/orders', () => {
  it('creates a new order: 201 with the SPEC reply and a Location header', async () => {
    const { app, service } = fixture();
    const res = await post(app, instruction());
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('location')).toBe('/api/orders/OP-12345');
    const body = await json(res);
    expect(OrderReplySchema.parse(body)).toEqual({
      operation_id: 'OP-12345',
      order_id: 'ord_OP-12345',
      status: 'PENDING',
      rejection_reason: null,
      venue: 'SIM',
      fills: [],
    });
    expect(Object.keys(body).sort()).toEqual([
      'fills',
      'operation_id',
      'order_id',
      'rejection_reason',
      'status',
      'venue',
    ]);
    expect(service.sources).toEqual([{ via: 'http', caller: { id: 'local', source: 'local' } }]);
  });

  it('answers 201 for a new order whatever its decision (DENIED, REJECTED with the reason)', async () => {
    const { app, service } = fixture();
    service.decide = (i) =>
      i.operation_id === 'OP-D'
        ? { kind: 'denied', rule: 'max_order_qty', reason: 'quantity 1 exceeds the limit 0.5' }
        : { kind: 'unroutable', reason: 'no venue serves OPTION' };
    const denied = await post(app, instruction({ operation_id: 'OP-D' }));
    expect(denied.status).toBe(201);
    expect(await json(denied)).toMatchObject({
      status: 'DENIED',
      rejection_reason: 'quantity 1 exceeds the limit 0.5',
    });
    const unroutable = await post(app, instruction({ operation_id: 'OP-U' }));
    expect(unroutable.status).toBe(201);
    expect(await json(unroutable)).toMatchObject({
      status: 'REJECTED',
      rejection_reason: 'no venue serves OPTION',
    });
  });

  it('answers 200 with the existing reply for a duplicate operation_id, creating nothing new', async () => {
    const { app, service } = fixture();
    const first = await json(await post(app, instruction()));
    const again = await post(app, instruction({ quantity: '2' }));
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe('/api/orders/OP-12345');
    expect(await json(again)).toEqual(first);
    expect(await service.store.query({})).toHaveLength(1);
  });

  it.each([
    ['quantity', { quantity: '-1' }],
    ['quantity', { quantity: 'abc' }],
    ['price', { order_type: 'LIMIT', price: null }],
    ['price', { price: '100' }],
    ['side', { side: 'HOLD' }],
    ['exec_algorithm_params.duration_sec', { exec_algorithm_params: { duration_sec: 0 } }],
    ['exec_algorithm_params.duration_sec', { exec_algorithm_params: { duration_sec: 'soon' } }],
    ['instrument_key', { instrument_key: 'BINANCE-SPOT:PERP:BTC-USDT' }],
    ['quantiy', { quantiy: '1' }],
  ])('400 naming the field %s', async (path, overrides) => {
    const { app } = fixture();
    const res = await post(app, instruction(overrides));
    expect(res.status).toBe(400);
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('invalid_order');
    expect(issuePaths(body)).toContain(path);
    for (const issue of body.error.issues ?? []) expect(issue.message.length).toBeGreaterThan(0);
  });

  it('400 lists every problem at once', async () => {
    const { app } = fixture();
    const res = await post(
      app,
      instruction({ quantity: '0', side: 'UP', exec_algorithm_params: { duration_sec: -5 } }),
    );
    expect(res.status).toBe(400);
    expect(issuePaths(await json(res))).toEqual(
      expect.arrayContaining(['quantity', 'side', 'exec_algorithm_params.duration_sec']),
    );
  });

  it('400 carries the recorded order when the service recorded the invalid instruction', async () => {
    const { app, service } = fixture();
    const reply = {
      operation_id: 'OP-BAD',
      order_id: 'ord_OP-BAD',
      status: 'REJECTED' as const,
      rejection_reason: 'invalid_order: side: invalid',
      venue: null,
      fills: [],
    };
    service.submit = async () => ({
      kind: 'invalid',
      code: 'invalid_order',
      issues: [{ path: 'side', message: 'invalid' }],
      reply,
    });
    const res = await post(app, instruction({ operation_id: 'OP-BAD', side: 'HOLD' }));
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: {
        code: 'invalid_order',
        message: 'side: invalid',
        issues: [{ path: 'side', message: 'invalid' }],
        order: reply,
      },
    });
  });

  it('400 invalid_json for malformed JSON, an empty body or a JSON value that is not an object', async () => {
    const { app } = fixture();
    const malformed = await post(app, '{"operation_id": "OP-1",');
    expect(malformed.status).toBe(400);
    const m = await json<ErrorJson>(malformed);
    expect(m.error.code).toBe('invalid_json');
    expect(m.error.issues?.[0]?.message).toMatch(/^malformed JSON/);

    const empty = await post(app, '');
    expect(empty.status).toBe(400);
    expect((await json<ErrorJson>(empty)).error.code).toBe('invalid_json');

    const array = await post(app, '[1,2]');
    expect(array.status).toBe(400);
    expect((await json<ErrorJson>(array)).error.code).toBe('invalid_order');
  });

  it('415 when the body is not sent as JSON; +json media types and charset are accepted', async () => {
    const { app } = fixture();
    const text = await post(app, JSON.stringify(instruction()), { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((await json<ErrorJson>(text)).error.code).toBe('unsupported_media_type');
    const none = await app.request('/api/orders', { method: 'POST', body: new TextEncoder().encode('{}') });
    expect(none.status).toBe(415);
    const vendor = await post(app, instruction({ operation_id: 'OP-V' }), {
      'Content-Type': 'application/vnd.exec+json; charset=utf-8',
    });
    expect(vendor.status).toBe(201);
  });

  it('413 for a body over the limit', async () => {
    const { app } = fixture({ maxBodyBytes: 1024 });
    const res = await post(app, instruction({ strategy_id: 'x'.repeat(4096) }));
    expect(res.status).toBe(413);
    expect((await json<ErrorJson>(res)).error.code).toBe('payload_too_large');
  });

  it('503 unavailable (with Retry-After) when the service throws a transient failure', async () => {
    const { app, service, logs } = fixture();
    service.failNext = Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
    const res = await post(app, instruction());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('unavailable');
    expect(logs.some((l) => l.message === 'dependency unavailable' && l.severity === 'WARNING')).toBe(true);
  });

  it('500 with a request id, logged with the stack, for a bug', async () => {
    const { app, service, logs } = fixture();
    service.failNext = new TypeError("Cannot read properties of undefined (reading 'venue')");
    const res = await post(app, instruction());
    expect(res.status).toBe(500);
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('internal');
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    expect(body.error.request_id).toBe(requestId);
    expect(JSON.stringify(body)).not.toContain('venue');
    const line = logs.find((l) => l.message === 'unhandled error');
    expect(line?.request_id).toBe(requestId);
    expect(line?.severity).toBe('ERROR');
    expect(JSON.stringify(line?.err)).toContain('TypeError');
  });

  it('logs one line per order outcome, with the request id', async () => {
    const { app, logs } = fixture();
    const res = await post(app, instruction());
    const line = logs.find((l) => l.message === 'order submitted');
    expect(line).toMatchObject({
      request_id: res.headers.get('x-request-id'),
      outcome: 'routed',
      operation_id: 'OP-12345',
      status: 'PENDING',
      venue: 'SIM',
      severity: 'INFO',
    });
  });

  it('keeps a request id sent by the caller', async () => {
    const { app } = fixture();
    const res = await app.request('/api/orders', {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'X-Request-Id': 'strategy-req-42' },
      body: JSON.stringify(instruction()),
    });
    expect(res.headers.get('x-request-id')).toBe('strategy-req-42');
  });
});

describe('GET /api/orders/:operation_id', () => {
  it('returns the reply, the order record, its timeline and fills, nanoseconds as digit strings', async () => {
    const { app, service } = fixture();
    await post(app, instruction({ operation_id: 'OP-F', order_type: 'LIMIT', price: '60000' }));
    await service.venueSubmits('OP-F', [{ fill_id: 'f1', quantity: '0.4', price: '59990.5' }]);
    const res = await app.request('/api/orders/OP-F');
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown> & {
      order: Record<string, unknown>;
      timeline: Array<Record<string, unknown>>;
      fills: Array<Record<string, unknown>>;
      fill_records: Array<Record<string, unknown>>;
    };
    expect(body).toMatchObject({ operation_id: 'OP-F', status: 'PARTIALLY_FILLED', venue: 'SIM' });
    const { order: _o, timeline: _t, fill_records: _f, ...reply } = body;
    expect(OrderReplySchema.safeParse(reply).success).toBe(true);
    expect(body.fills).toEqual([
      expect.objectContaining({
        fill_id: 'f1',
        quantity: '0.4',
        price: '59990.5',
        fee: '0.01',
        fee_currency: 'USDT',
      }),
    ]);
    expect(body.order).toMatchObject({
      operation_id: 'OP-F',
      filled_quantity: '0.4',
      status: 'PARTIALLY_FILLED',
    });
    expect(body.order.ts_created).toBe(String(T0 + 1_000n));
    expect(body.timeline.map((e) => e.type)).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
      'OrderFilled',
    ]);
    for (const e of body.timeline) {
      expect(e.ts_event).toMatch(/^\d+$/);
      expect(e.ts_init).toMatch(/^\d+$/);
    }
    // exact beyond 2^53: the digits of the bigint, not a rounded number
    expect(body.timeline[0]?.ts_event).toBe((T0 + 1_000n).toString());
    expect(text).not.toMatch(/"ts_event":\d/);
    expect(body.fill_records[0]).toMatchObject({
      fill_id: 'f1',
      liquidity: 'TAKER',
      ts_event: expect.stringMatching(/^\d+$/),
    });
  });

  it('404 not_found for an unknown operation_id', async () => {
    const { app } = fixture();
    const res = await app.request('/api/orders/OP-NOPE');
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      error: { code: 'not_found', message: 'no order with operation_id OP-NOPE', operation_id: 'OP-NOPE' },
    });
  });

  it('400 naming operation_id when the id cannot be one', async () => {
    const { app } = fixture();
    const res = await app.request(`/api/orders/${encodeURIComponent('bad id!')}`);
    expect(res.status).toBe(400);
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('invalid_operation_id');
    expect(issuePaths(body)).toEqual(['operation_id']);
  });
});

describe('GET /api/orders', () => {
  async function seeded() {
    const f = fixture();
    f.service.decide = (i) =>
      i.strategy_id === 'mean-rev'
        ? { kind: 'denied', rule: 'max_notional', reason: 'too big' }
        : { kind: 'routed', venue: i.instrument_key.startsWith('BINANCE') ? 'BINANCE-SPOT' : 'SIM' };
    await post(f.app, instruction({ operation_id: 'A' }));
    await post(f.app, instruction({ operation_id: 'B', strategy_id: 'mean-rev' }));
    await post(f.app, instruction({ operation_id: 'C', instrument_key: 'SIM:PERPETUAL:ETH-USDT@LIN' }));
    return f;
  }

  const ids = async (res: Response) =>
    ((await res.json()) as { orders: Array<{ operation_id: string }> }).orders.map((o) => o.operation_id);

  it('lists newest first with count and limit', async () => {
    const { app } = await seeded();
    const res = await app.request('/api/orders');
    expect(res.status).toBe(200);
    const body = (await res.clone().json()) as {
      count: number;
      limit: number;
      orders: Array<Record<string, unknown>>;
    };
    expect(body.count).toBe(3);
    expect(body.limit).toBe(100);
    expect(await ids(res)).toEqual(['C', 'B', 'A']);
    expect(body.orders[0]?.ts_created).toMatch(/^\d+$/);
  });

  it('filters by status (one, several, case-insensitive), venue, strategy_id and instrument_key', async () => {
    const { app } = await seeded();
    expect(await ids(await app.request('/api/orders?status=DENIED'))).toEqual(['B']);
    expect(await ids(await app.request('/api/orders?status=denied,pending'))).toEqual(['C', 'B', 'A']);
    expect(await ids(await app.request('/api/orders?status=DENIED&status=PENDING'))).toEqual(['C', 'B', 'A']);
    expect(await ids(await app.request('/api/orders?venue=SIM'))).toEqual(['C']);
    expect(await ids(await app.request('/api/orders?strategy_id=mean-rev'))).toEqual(['B']);
    expect(
      await ids(
        await app.request(`/api/orders?instrument_key=${encodeURIComponent('SIM:PERPETUAL:ETH-USDT@LIN')}`),
      ),
    ).toEqual(['C']);
    expect(await ids(await app.request('/api/orders?limit=2'))).toEqual(['C', 'B']);
  });

  it('filters by time: from (inclusive) / to (exclusive), as ISO-8601 or nanoseconds', async () => {
    const { app } = await seeded();
    // A at T0+1µs, B at T0+2µs, C at T0+3µs
    const b = (T0 + 2_000n).toString();
    expect(await ids(await app.request(`/api/orders?from=${b}`))).toEqual(['C', 'B']);
    expect(await ids(await app.request(`/api/orders?to=${b}`))).toEqual(['A']);
    expect(
      await ids(await app.request('/api/orders?from=2025-07-01T00:00:00Z&to=2025-07-01T00:00:01Z')),
    ).toEqual(['C', 'B', 'A']);
    expect(await ids(await app.request('/api/orders?from=2025-07-02T00:00:00Z'))).toEqual([]);
  });

  it.each([
    ['status=BOGUS', 'status', /unknown status "BOGUS"/],
    ['status=FILLED,NOPE', 'status', /unknown status "NOPE"/],
    ['limit=0', 'limit', /between 1 and 1000/],
    ['limit=5000', 'limit', /between 1 and 1000/],
    ['limit=ten', 'limit', /between 1 and 1000/],
    ['from=yesterday', 'from', /ISO-8601/],
    ['from=2025-07-02T00:00:00Z&to=2025-07-01T00:00:00Z', 'to', /later than from/],
    ['instrument_key=BTCUSDT', 'instrument_key', /./],
    ['venue=', 'venue', /must not be empty/],
    ['venue=SIM&venue=OKX', 'venue', /more than once/],
    ['stauts=FILLED', 'stauts', /unknown query parameter; expected one of status, venue/],
  ])('400 invalid_query for ?%s naming %s', async (query, path, message) => {
    const { app } = fixture();
    const res = await app.request(`/api/orders?${query}`);
    expect(res.status).toBe(400);
    const body = await json<ErrorJson>(res);
    expect(body.error.code).toBe('invalid_query');
    const issue = body.error.issues?.find((i) => i.path === path);
    expect(issue?.message).toMatch(message);
  });

  it('names every status in the unknown-status message', async () => {
    const { app } = fixture();
    const body = await json<ErrorJson>(await app.request('/api/orders?status=X'));
    for (const s of ORDER_STATUSES) expect(body.error.issues?.[0]?.message).toContain(s);
  });
});

describe('DELETE /api/orders/:operation_id', () => {
  it('200 when canceled at once (never reached a venue)', async () => {
    const { app } = fixture();
    await post(app, instruction());
    const res = await app.request('/api/orders/OP-12345', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ operation_id: 'OP-12345', status: 'CANCELED' });
  });

  it('202 when a cancel request goes to the venue; the reason from the body is recorded', async () => {
    const { app, service } = fixture();
    await post(app, instruction());
    await service.venueSubmits('OP-12345');
    const res = await app.request('/api/orders/OP-12345', {
      method: 'DELETE',
      headers: JSON_HEADERS,
      body: JSON.stringify({ reason: 'strategy flattened' }),
    });
    expect(res.status).toBe(202);
    expect(await json(res)).toMatchObject({ status: 'PENDING_CANCEL' });
    const timeline = await service.store.timeline('OP-12345');
    expect(timeline.at(-1)).toMatchObject({ type: 'OrderCancelRequested', reason: 'strategy flattened' });
    expect(service.sources.at(-1)).toEqual({ via: 'http', caller: { id: 'local', source: 'local' } });
  });

  it('accepts a body repeating the same operation_id; refuses a different one at operation_id', async () => {
    const { app, service } = fixture();
    await post(app, instruction());
    await service.venueSubmits('OP-12345');
    const other = await app.request('/api/orders/OP-12345', {
      method: 'DELETE',
      headers: JSON_HEADERS,
      body: JSON.stringify({ operation_id: 'OP-OTHER' }),
    });
    expect(other.status).toBe(400);
    expect(issuePaths(await json(other))).toEqual(['operation_id']);
    const same = await app.request('/api/orders/OP-12345', {
      method: 'DELETE',
      headers: JSON_HEADERS,
      body: JSON.stringify({ operation_id: 'OP-12345', reason: 'x' }),
    });
    expect(same.status).toBe(202);
  });

  it('404 for an unknown order', async () => {
    const { app } = fixture();
    const res = await app.request('/api/orders/OP-NOPE', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
  });

  it('409 not_cancelable with the reason and the order', async () => {
    const { app, service } = fixture();
    service.decide = () => ({ kind: 'denied', rule: 'max_order_qty', reason: 'too big' });
    await post(app, instruction());
    const res = await app.request('/api/orders/OP-12345', { method: 'DELETE' });
    expect(res.status).toBe(409);
    const body = await json<ErrorJson>(res);
    expect(body.error).toMatchObject({
      code: 'not_cancelable',
      reason: 'order is DENIED',
      order: { operation_id: 'OP-12345', status: 'DENIED' },
    });
    expect(body.error.message).toContain('order is DENIED');
  });

  it('400 for a bad body: unknown field, wrong type, malformed JSON; 415 for a non-JSON body', async () => {
    const { app } = fixture();
    await post(app, instruction());
    const del = (body: string, headers: Record<string, string> = JSON_HEADERS) =>
      app.request('/api/orders/OP-12345', { method: 'DELETE', headers, body });
    const unknown = await del(JSON.stringify({ reasn: 'x' }));
    expect(unknown.status).toBe(400);
    expect(issuePaths(await json(unknown))).toEqual(['reasn']);
    const wrong = await del(JSON.stringify({ reason: 42 }));
    expect(wrong.status).toBe(400);
    expect(issuePaths(await json(wrong))).toEqual(['reason']);
    const malformed = await del('{reason:');
    expect((await json<ErrorJson>(malformed)).error.code).toBe('invalid_json');
    const text = await del('reason', { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);
  });
});

describe('an API without order intake (read-only over the store)', () => {
  it('reads orders and answers POST / DELETE with 503 intake_unavailable', async () => {
    const { service } = fixture();
    const app = createApp({
      orders: storeOrderReader(service.store),
      positions: LocalPositionStore.memory(),
      health: { checks: {} },
    });
    await service.submit(instruction(), { via: 'internal' });
    const read = await app.request('/api/orders/OP-12345');
    expect(read.status).toBe(200);
    expect(await json(read)).toMatchObject({ status: 'PENDING', timeline: expect.any(Array) });
    expect((await app.request('/api/orders')).status).toBe(200);
    const submit = await post(app, instruction({ operation_id: 'OP-2' }));
    expect(submit.status).toBe(503);
    expect((await json<ErrorJson>(submit)).error.code).toBe('intake_unavailable');
    const cancel = await app.request('/api/orders/OP-12345', { method: 'DELETE' });
    expect(cancel.status).toBe(503);
  });
});

describe('unknown routes', () => {
  it('404 with the error shape', async () => {
    const { app } = fixture();
    const res = await app.request('/api/nothing-here');
    expect(res.status).toBe(404);
    expect((await json<ErrorJson>(res)).error.code).toBe('not_found');
  });
});

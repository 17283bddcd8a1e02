/**
 * The local Deribit's wire protocol: Deribit API v2 JSON-RPC over HTTP (`GET /api/v2/<scope>/<method>?<params>`,
 * or a JSON-RPC `POST /api/v2`) and over WebSocket (`/ws/api/v2`), with Deribit's authentication
 * (the `deri-hmac-sha256` header, `public/auth` with `client_signature` or `client_credentials`,
 * bearer tokens) and subscriptions (`book.<instrument>.<interval>`, `trades.<instrument>.<interval>`,
 * `user.orders.*`, `user.trades.*`), over {@link DeribitExchange}. Faults come from the local
 * exchange's `FaultController` (HTTP faults match `/api/v2/<scope>/<method>`, WebSocket calls too).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import type { FaultController } from '../local-exchange/faults.ts';
import {
  type FaultReplies,
  rawToString,
  readBody,
  sendReply,
  VenueServerCore,
  type WireReply,
} from '../local-exchange/net.ts';
import {
  DeribitError,
  type DeribitExchange,
  Errors,
  instrumentJson,
  orderJson,
  tradeJson,
} from './exchange.ts';

type Params = Record<string, unknown>;

interface Conn {
  ws: WebSocket;
  authed: boolean;
  channels: Set<string>;
  queue: string[];
}

/** `ack` marks an order reply (buy/sell/cancel): `delayAcks` holds it. */
type Reply = WireReply;

export interface DeribitServerOptions {
  exchange: DeribitExchange;
  faults: FaultController;
  clientId: string;
  clientSecret: string;
  host: string;
  port: number;
}

const ORDER_METHODS = new Set(['private/buy', 'private/sell', 'private/cancel']);

export class DeribitServer {
  private readonly core: VenueServerCore<Conn>;
  private readonly conns: Set<Conn>;
  private readonly tokens = new Set<string>();
  private readonly unhandledList: string[] = [];
  private held: { kind: 'orders' | 'trades'; data: unknown } | null = null;
  private readonly ex: DeribitExchange;
  private readonly faults: FaultController;
  /** Calls per method (HTTP and WebSocket), for tests and the bench. */
  readonly calls = new Map<string, number>();

  constructor(private readonly o: DeribitServerOptions) {
    this.ex = o.exchange;
    this.faults = o.faults;
    this.core = new VenueServerCore<Conn>({
      name: 'local Deribit',
      host: o.host,
      port: o.port,
      faults: o.faults,
      onRequest: (req, res) => this.onRequest(req, res),
      onUpgrade: (req, socket, head) => this.onUpgrade(req, socket, head),
      flushHeldEvents: () => this.flushHeld(),
    });
    this.conns = this.core.conns;
    this.ex.attach({
      wants: (ch) => this.wants(ch),
      publish: (ch, data) => this.publish(ch, data),
      privateEvent: (kind, data) => this.privateEvent(kind, data),
    });
  }

  get port(): number {
    return this.core.port;
  }

  listen(): Promise<void> {
    return this.core.listen();
  }

  close(): Promise<void> {
    return this.core.close();
  }

  get unhandled(): readonly string[] {
    return this.unhandledList;
  }

  /** Open WebSocket connections, and how many hold a private (`user.*`) subscription. */
  connections(): { ws: number; privateSubscriptions: number } {
    let p = 0;
    for (const c of this.conns) for (const ch of c.channels) if (ch.startsWith('user.')) p++;
    return { ws: this.conns.size, privateSubscriptions: p };
  }

  /** After each market tick: release a reordered event that found no partner. */
  afterTick(): void {
    this.flushHeld();
  }

  private later(ms: number, fn: () => void): void {
    this.core.later(ms, fn);
  }

  // ===========================================================================================
  // HTTP
  // ===========================================================================================

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    if (this.core.refuseOffline(req.socket)) return;
    const httpMethod = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    let rpcMethod: string;
    let params: Params;
    let id: unknown = null;
    if (httpMethod === 'POST' && (path === '/api/v2' || path === '/api/v2/')) {
      let msg: { method?: unknown; params?: unknown; id?: unknown };
      try {
        msg = JSON.parse(rawBody) as typeof msg;
      } catch {
        send(res, { status: 400, body: rpcError(null, Errors.invalidParams('body', 'not JSON')) });
        return;
      }
      rpcMethod = typeof msg.method === 'string' ? msg.method : '';
      params = isRecord(msg.params) ? msg.params : {};
      id = msg.id ?? null;
    } else if (path.startsWith('/api/v2/')) {
      rpcMethod = path.slice('/api/v2/'.length);
      params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)));
    } else if (path === '/') {
      send(res, {
        status: 200,
        body: {
          name: 'local-deribit',
          api: 'deribit-v2',
          instruments: this.ex.instruments().map((i) => i.name),
        },
      });
      return;
    } else {
      this.unhandledList.push(`${httpMethod} ${path}`);
      send(res, { status: 404, body: rpcError(null, Errors.methodNotFound()) });
      return;
    }
    const run = (): Reply => {
      try {
        if (rpcMethod.startsWith('private/')) this.checkHttpAuth(req, httpMethod, rawUrl);
        const result = this.call(rpcMethod, params, null);
        return {
          status: 200,
          body: rpcResult(id, result, this.ex.nowMs()),
          ack: ORDER_METHODS.has(rpcMethod),
        };
      } catch (err) {
        return { status: err instanceof DeribitError ? 400 : 500, body: rpcError(id, asDeribitError(err)) };
      }
    };
    this.withFault(httpMethod, `/api/v2/${rpcMethod}`, run, (reply) => send(res, reply));
  }

  /** Apply an armed fault to a call, or run it. */
  private withFault(method: string, path: string, run: () => Reply, answer: (r: Reply) => void): void {
    this.core.withFault(this.faults.take(method, path), FAULT_REPLIES, run, answer);
  }

  /** The `deri-hmac-sha256` signature (or a bearer token from `public/auth`). */
  private checkHttpAuth(req: IncomingMessage, method: string, rawUrl: string): void {
    const h = String(req.headers.authorization ?? '');
    if (h.startsWith('Bearer ')) {
      if (!this.tokens.has(h.slice(7))) throw Errors.unauthorized('invalid_token');
      return;
    }
    const m = /^deri-hmac-sha256 (.*)$/.exec(h);
    if (m === null) throw Errors.unauthorized('missing or unsupported Authorization header');
    const fields = new Map(
      (m[1] ?? '').split(',').map((kv) => {
        const i = kv.indexOf('=');
        return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const;
      }),
    );
    if (fields.get('id') !== this.o.clientId) throw new DeribitError(13004, 'invalid_credentials');
    const ts = fields.get('ts') ?? '';
    const nonce = fields.get('nonce') ?? '';
    const expected = hmac(this.o.clientSecret, `${ts}\n${nonce}\n${method}\n${rawUrl}\n\n`);
    if (!safeEqual(expected, fields.get('sig') ?? '')) throw Errors.unauthorized('bad signature');
  }

  // ===========================================================================================
  // Methods (shared by HTTP and WebSocket)
  // ===========================================================================================

  private call(method: string, p: Params, conn: Conn | null): unknown {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    this.ex.sync();
    const ex = this.ex;
    const str = (name: string): string | undefined => {
      const v = p[name];
      return v === undefined || v === null || v === '' ? undefined : String(v);
    };
    const bool = (name: string): boolean => p[name] === true || p[name] === 'true';
    const int = (name: string, dflt: number): number => {
      const v = str(name);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw Errors.invalidParams(name, `${v} is not a whole number`);
      return n;
    };
    const currency = (): string => {
      const c = str('currency');
      if (c === undefined) throw Errors.invalidParams('currency', 'missing');
      if (c !== 'any' && !ex.currencies().includes(c))
        throw Errors.invalidParams('currency', `unknown currency ${c}`);
      return c;
    };
    switch (method) {
      case 'public/get_time':
        return ex.nowMs();
      case 'public/test':
        return { version: '2.1.1' };
      case 'public/status':
        return { locked: 'false', locked_indices: [] };
      case 'public/hello':
        return { version: '2.1.1' };
      case 'public/set_heartbeat':
      case 'public/disable_heartbeat':
        return 'ok';
      case 'public/get_currencies':
        return ex.currencies().map((c) => ({
          currency: c,
          currency_long: c,
          fee_precision: 4,
          min_confirmations: 1,
          coin_type: c,
        }));
      case 'public/get_instruments': {
        const c = str('currency');
        const kind = str('kind');
        return ex.instruments(c === undefined || c === 'any' ? undefined : c, kind).map(instrumentJson);
      }
      case 'public/get_order_book':
        return ex.orderBook(str('instrument_name'), Math.max(1, int('depth', 20)));
      case 'public/auth':
        return this.auth(p, conn);
      case 'public/subscribe':
      case 'private/subscribe':
        return this.subscribe(method, p, conn);
      case 'public/unsubscribe':
      case 'private/unsubscribe': {
        const chans = Array.isArray(p.channels) ? p.channels.map(String) : [];
        for (const ch of chans) conn?.channels.delete(ch);
        return chans;
      }
      case 'public/unsubscribe_all':
      case 'private/unsubscribe_all':
        conn?.channels.clear();
        return 'ok';
    }
    if (!method.startsWith('private/')) throw Errors.methodNotFound();
    if (conn !== null && !conn.authed) throw Errors.unauthorized('authenticate with public/auth first');
    switch (method) {
      case 'private/buy':
      case 'private/sell': {
        const r = ex.place({
          direction: method === 'private/buy' ? 'buy' : 'sell',
          instrument_name: str('instrument_name'),
          amount: str('amount'),
          type: str('type'),
          price: str('price'),
          label: str('label'),
          time_in_force: str('time_in_force'),
          post_only: bool('post_only'),
          reduce_only: bool('reduce_only'),
        });
        return { order: orderJson(r.order), trades: r.trades.map(tradeJson) };
      }
      case 'private/cancel':
        return orderJson(ex.cancel(str('order_id')));
      case 'private/get_order_state':
        return orderJson(ex.find(str('order_id')));
      case 'private/get_order_state_by_label':
        return ex.byLabel(currency(), str('label') ?? '').map(orderJson);
      case 'private/get_open_orders_by_currency':
        return ex.openOrders({ currency: currency() }).map(orderJson);
      case 'private/get_open_orders_by_instrument':
        return ex.openOrders({ instrument: ex.instrument(str('instrument_name')).name }).map(orderJson);
      case 'private/get_open_orders':
        return ex.openOrders({}).map(orderJson);
      case 'private/get_user_trades_by_instrument':
      case 'private/get_user_trades_by_instrument_and_time': {
        const r = ex.userTrades({
          instrument: ex.instrument(str('instrument_name')).name,
          startMs: str('start_timestamp') === undefined ? undefined : int('start_timestamp', 0),
          count: Math.min(1000, Math.max(1, int('count', 10))),
        });
        return { trades: r.trades.map(tradeJson), has_more: r.has_more };
      }
      case 'private/get_user_trades_by_currency':
      case 'private/get_user_trades_by_currency_and_time': {
        const c = currency();
        const r = ex.userTrades({
          currency: c === 'any' ? undefined : c,
          startMs: str('start_timestamp') === undefined ? undefined : int('start_timestamp', 0),
          count: Math.min(1000, Math.max(1, int('count', 10))),
        });
        return { trades: r.trades.map(tradeJson), has_more: r.has_more };
      }
      case 'private/get_positions': {
        const c = str('currency');
        return ex.positionList(c === undefined || c === 'any' ? undefined : c, str('kind'));
      }
      case 'private/get_account_summary':
        return ex.accountSummary(currency());
      case 'private/get_account_summaries':
        return { id: 1, summaries: ex.currencies().map((c) => ex.accountSummary(c)) };
    }
    this.unhandledList.push(`RPC ${method}`);
    throw Errors.methodNotFound();
  }

  private auth(p: Params, conn: Conn | null): unknown {
    const grant = String(p.grant_type ?? '');
    if (String(p.client_id ?? '') !== this.o.clientId) throw new DeribitError(13004, 'invalid_credentials');
    if (grant === 'client_credentials') {
      if (String(p.client_secret ?? '') !== this.o.clientSecret)
        throw new DeribitError(13004, 'invalid_credentials');
    } else if (grant === 'client_signature') {
      const expected = hmac(
        this.o.clientSecret,
        `${String(p.timestamp ?? '')}\n${String(p.nonce ?? '')}\n${String(p.data ?? '')}`,
      );
      if (!safeEqual(expected, String(p.signature ?? '')))
        throw new DeribitError(13004, 'invalid_credentials');
    } else if (grant === 'refresh_token') {
      if (!this.tokens.has(String(p.refresh_token ?? ''))) throw Errors.unauthorized('invalid refresh token');
    } else {
      throw Errors.invalidParams('grant_type', `${grant} is not supported`);
    }
    const access = randomBytes(16).toString('hex');
    const refresh = randomBytes(16).toString('hex');
    this.tokens.add(access);
    this.tokens.add(refresh);
    if (conn !== null) conn.authed = true;
    return {
      access_token: access,
      refresh_token: refresh,
      expires_in: 31_536_000,
      scope: 'trade:read_write',
      token_type: 'bearer',
    };
  }

  private subscribe(method: string, p: Params, conn: Conn | null): string[] {
    if (conn === null) throw Errors.invalidParams('channels', 'subscriptions need a WebSocket connection');
    const chans = Array.isArray(p.channels) ? p.channels.map(String) : [];
    const ok: string[] = [];
    for (const ch of chans) {
      // Private channels need an authenticated connection and private/subscribe.
      if (ch.startsWith('user.') && (method !== 'private/subscribe' || !conn.authed)) continue;
      conn.channels.add(ch);
      ok.push(ch);
      // A book subscription starts with a snapshot, as at Deribit.
      const m = /^book\.([^.]+)\./.exec(ch);
      if (m !== null) {
        const name = m[1] ?? '';
        try {
          const snapshot = this.ex.bookSnapshotMessage(name);
          setImmediate(() => this.send(conn, JSON.stringify(subscription(ch, snapshot))));
        } catch {
          // unknown instrument: no snapshot
        }
      }
    }
    return ok;
  }

  // ===========================================================================================
  // WebSocket
  // ===========================================================================================

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.core.refuseOffline(socket)) return;
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/+$/, '');
    if (path !== '/ws/api/v2') {
      this.unhandledList.push(`WS ${path}`);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.core.accept(
      req,
      socket,
      head,
      (ws) => ({ ws, authed: false, channels: new Set(), queue: [] }),
      (conn, data) => this.onWsMessage(conn, data),
    );
  }

  private onWsMessage(conn: Conn, data: RawData): void {
    let msg: { method?: unknown; params?: unknown; id?: unknown };
    try {
      msg = JSON.parse(rawToString(data)) as typeof msg;
    } catch {
      this.sendNow(conn, JSON.stringify(rpcError(null, Errors.invalidParams('message', 'not JSON'))));
      return;
    }
    const method = typeof msg.method === 'string' ? msg.method : '';
    const params = isRecord(msg.params) ? msg.params : {};
    const id = msg.id ?? null;
    const run = (): Reply => {
      try {
        return {
          status: 200,
          body: rpcResult(id, this.call(method, params, conn), this.ex.nowMs()),
          ack: ORDER_METHODS.has(method),
        };
      } catch (err) {
        return { status: 400, body: rpcError(id, asDeribitError(err)) };
      }
    };
    this.withFault('WS', `/api/v2/${method}`, run, (reply) => {
      if (reply.status === 200 || typeof reply.body !== 'string') this.send(conn, JSON.stringify(reply.body));
      else
        this.send(
          conn,
          JSON.stringify(rpcError(id, new DeribitError(10001, 'error', { reason: `HTTP ${reply.status}` }))),
        );
    });
  }

  private wants(channel: string): boolean {
    for (const c of this.conns) if (c.channels.has(channel)) return true;
    return false;
  }

  private publish(channel: string, data: unknown): void {
    let raw: string | null = null;
    for (const c of this.conns) {
      if (!c.channels.has(channel)) continue;
      raw ??= JSON.stringify(subscription(channel, data));
      this.send(c, raw);
    }
  }

  private privateEvent(kind: 'orders' | 'trades', data: unknown): void {
    if (this.faults.reordering) {
      if (this.held === null) {
        this.held = { kind, data };
        return;
      }
      const first = this.held;
      this.held = null;
      this.faults.count('reorderedEvents');
      this.deliverPrivate(kind, data);
      this.deliverPrivate(first.kind, first.data);
      return;
    }
    this.flushHeld();
    this.deliverPrivate(kind, data);
  }

  private flushHeld(): void {
    if (this.held === null) return;
    const h = this.held;
    this.held = null;
    this.deliverPrivate(h.kind, h.data);
  }

  private deliverPrivate(kind: 'orders' | 'trades', data: unknown): void {
    const sample = Array.isArray(data) ? data[0] : data;
    const inst = isRecord(sample) ? String(sample.instrument_name ?? '') : '';
    let instKind = '';
    let currency = '';
    try {
      const i = this.ex.instrument(inst);
      instKind = i.kind;
      currency = i.id.base;
    } catch {
      return;
    }
    const times = this.faults.duplicating ? 2 : 1;
    let delivered = false;
    for (const c of this.conns) {
      if (!c.authed) continue;
      for (const ch of c.channels) {
        const parts = ch.split('.');
        if (parts[0] !== 'user' || parts[1] !== kind) continue;
        const match =
          parts.length === 4
            ? parts[2] === inst
            : parts.length === 5 &&
              (parts[2] === 'any' || parts[2] === instKind) &&
              (parts[3] === 'any' || parts[3] === currency);
        if (!match) continue;
        const raw = JSON.stringify(subscription(ch, data));
        for (let i = 0; i < times; i++) this.send(c, raw);
        delivered = true;
      }
    }
    if (delivered && times === 2) this.faults.count('duplicatedEvents');
  }

  private send(conn: Conn, raw: string): void {
    this.core.send(conn, raw);
  }

  private sendNow(conn: Conn, raw: string): void {
    this.core.sendNow(conn, raw);
  }
}

const FAULT_REPLIES: FaultReplies = {
  fail: (status) => ({
    status,
    body: `<html><body><h1>${status} Service Unavailable</h1></body></html>`,
    headers: { 'content-type': 'text/html' },
  }),
  rateLimit: (retryAfterSec) => ({
    status: 429,
    body: rpcError(null, Errors.tooManyRequests()),
    headers: { 'retry-after': String(retryAfterSec) },
  }),
};

// ---------------------------------------------------------------------------------------------

function subscription(channel: string, data: unknown): unknown {
  return { jsonrpc: '2.0', method: 'subscription', params: { channel, data } };
}

function rpcResult(id: unknown, result: unknown, nowMs: number): unknown {
  const us = nowMs * 1000;
  return { jsonrpc: '2.0', id, result, usIn: us, usOut: us, usDiff: 0, testnet: true };
}

function rpcError(id: unknown, e: DeribitError): unknown {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: e.code, message: e.message, ...(e.data === undefined ? {} : { data: e.data }) },
    testnet: true,
  };
}

function asDeribitError(err: unknown): DeribitError {
  if (err instanceof DeribitError) return err;
  return new DeribitError(10001, 'error', { reason: err instanceof Error ? err.message : String(err) });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function send(res: ServerResponse, reply: Reply): void {
  sendReply(res, reply, 'application/json');
}

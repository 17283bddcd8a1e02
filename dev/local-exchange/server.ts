/**
 * The local exchange's network edge: Binance spot REST on plain `node:http` (the signature covers
 * the raw query and body bytes, and the fault injection needs to hold, delay or reset a request,
 * which a framework would hide), and WebSockets on `ws`:
 *
 * - `/ws`, `/ws/<anything>`, `/stream?streams=…`: market streams (`SUBSCRIBE` / `UNSUBSCRIBE` /
 *   `LIST_SUBSCRIPTIONS`; `/ws/<stream>/<stream>` subscribes at connect; `/stream` wraps each
 *   message as `{stream, data}`);
 * - `/ws/<listenKey>`: the legacy user data stream of a listen key (POST /api/v3/userDataStream);
 * - `/ws-api/v3`: the WebSocket API, `userDataStream.subscribe.signature` (what ccxt 4.5.84 uses
 *   for spot `watchOrders` / `watchMyTrades` / `watchBalance`), `userDataStream.unsubscribe`,
 *   `session.status`, `ping`, `time`. Events arrive as `{subscriptionId, event}`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { BinanceError, Errors } from './errors.ts';
import type { FaultController } from './faults.ts';
import { d8 } from './format.ts';
import {
  type FaultReplies,
  rawToString,
  readBody,
  sendReply,
  VenueServerCore,
  type WireReply,
} from './net.ts';
import type { LocalVenue } from './venue.ts';
import { cancelReply, myTrade, newOrderReply, orderQuery, RATE_LIMITS, symbolEntry } from './wire.ts';

type Reply = WireReply;

type Params = URLSearchParams;

interface MarketConn {
  kind: 'market';
  ws: WebSocket;
  /** lower-case stream name → the name as subscribed (echoed in combined messages). */
  streams: Map<string, string>;
  combined: boolean;
  queue: string[];
}

interface ApiConn {
  kind: 'api';
  ws: WebSocket;
  subscriptions: Set<number>;
  nextSubscriptionId: number;
  queue: string[];
}

interface UserConn {
  kind: 'user';
  ws: WebSocket;
  listenKey: string;
  queue: string[];
}

type Conn = MarketConn | ApiConn | UserConn;

const LISTEN_KEY_TTL_MS = 60 * 60 * 1000;
const KLINE_INTERVALS: Record<string, number> = {
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '4h': 14_400_000,
  '6h': 21_600_000,
  '8h': 28_800_000,
  '12h': 43_200_000,
  '1d': 86_400_000,
};
const STREAM_KINDS = new Set([
  'trade',
  'aggtrade',
  'depth',
  'depth@100ms',
  'depth@1000ms',
  'depth5',
  'depth10',
  'depth20',
  'depth5@100ms',
  'depth10@100ms',
  'depth20@100ms',
  'depth5@1000ms',
  'depth10@1000ms',
  'depth20@1000ms',
  'bookticker',
  'ticker',
  'miniticker',
]);

export interface ConnectionCounts {
  /** Market-stream connections (`/ws`, `/ws/…`, `/stream`). */
  market: number;
  /** WebSocket API connections (`/ws-api/v3`). */
  api: number;
  /** Listen-key user data streams (`/ws/<listenKey>`). */
  user: number;
  /** User-data subscriptions that receive private events. */
  userDataSubscriptions: number;
}

export interface ServerOptions {
  venue: LocalVenue;
  faults: FaultController;
  apiKey: string;
  secret: string;
  host: string;
  port: number;
}

export class ExchangeServer {
  private readonly core: VenueServerCore<Conn>;
  private readonly conns: Set<Conn>;
  private readonly listenKeys = new Map<string, number>();
  private readonly unhandledList: string[] = [];
  private listenKeySeq = 0;
  /** A private event held back by `reorderEvents`, and the tick it was held at. */
  private held: { payload: object; tick: number } | null = null;
  private tickSeq = 0;
  private readonly venue: LocalVenue;
  private readonly faults: FaultController;

  constructor(private readonly o: ServerOptions) {
    this.venue = o.venue;
    this.faults = o.faults;
    this.core = new VenueServerCore<Conn>({
      name: 'local exchange',
      host: o.host,
      port: o.port,
      faults: o.faults,
      onRequest: (req, res) => this.onRequest(req, res),
      onUpgrade: (req, socket, head) => this.onUpgrade(req, socket, head),
      flushHeldEvents: () => this.flushHeld(true),
    });
    this.conns = this.core.conns;
    this.venue.attach({
      wants: (stream) => this.wants(stream),
      publish: (stream, payload) => this.publish(stream, payload),
      privateEvent: (payload) => this.privateEvent(payload),
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

  /** Requests and WebSocket API methods this exchange does not implement ("GET /api/v3/foo"). */
  get unhandled(): readonly string[] {
    return this.unhandledList;
  }

  /** Open WebSocket connections by kind, and live user-data subscriptions (WS API + listen keys). */
  connections(): ConnectionCounts {
    const out: ConnectionCounts = { market: 0, api: 0, user: 0, userDataSubscriptions: 0 };
    for (const c of this.conns) {
      out[c.kind]++;
      if (c.kind === 'api') out.userDataSubscriptions += c.subscriptions.size;
      else if (c.kind === 'user') out.userDataSubscriptions++;
    }
    return out;
  }

  /** After each market tick: release a reordered event that found no partner; expire listen keys. */
  afterTick(): void {
    this.tickSeq++;
    this.flushHeld(false);
    const now = this.venue.nowMs();
    for (const [lk, exp] of this.listenKeys) {
      if (exp >= now) continue;
      this.listenKeys.delete(lk);
      for (const c of this.conns) {
        if (c.kind !== 'user' || c.listenKey !== lk) continue;
        this.sendNow(c, JSON.stringify({ e: 'listenKeyExpired', E: now, listenKey: lk }));
        c.ws.close();
      }
    }
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
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const qIdx = rawUrl.indexOf('?');
    const path = qIdx < 0 ? rawUrl : rawUrl.slice(0, qIdx);
    const rawQuery = qIdx < 0 ? '' : rawUrl.slice(qIdx + 1);
    const run = (): Reply => this.execute(method, path, rawQuery, rawBody, req);
    const fault = path === '/' ? null : this.faults.take(method, path);
    this.core.withFault(fault, FAULT_REPLIES, run, (reply) => send(res, reply));
  }

  private execute(
    method: string,
    path: string,
    rawQuery: string,
    rawBody: string,
    req: IncomingMessage,
  ): Reply {
    try {
      this.venue.sync();
      return this.route(method, path, rawQuery, rawBody, req);
    } catch (err) {
      if (err instanceof BinanceError) return { status: err.httpStatus, body: err.body() };
      const msg = err instanceof Error ? err.message : String(err);
      return { status: 500, body: Errors.unknown(`Internal error: ${msg}`).body() };
    }
  }

  private route(
    method: string,
    path: string,
    rawQuery: string,
    rawBody: string,
    req: IncomingMessage,
  ): Reply {
    const params = new URLSearchParams(rawQuery);
    const contentType = String(req.headers['content-type'] ?? '');
    if (rawBody !== '' && (contentType === '' || contentType.includes('application/x-www-form-urlencoded'))) {
      for (const [k, v] of new URLSearchParams(rawBody)) params.append(k, v);
    }
    const ok = (body: unknown, ack = false): Reply => ({ status: 200, body, ack });
    const v = this.venue;
    const key = `${method} ${path}`;
    switch (key) {
      case 'GET /':
        return ok({ name: 'local-exchange', api: 'binance-spot', symbols: v.symbols().map((s) => s.symbol) });
      case 'GET /api/v3/ping':
      case 'GET /api/v1/ping':
        return ok({});
      case 'GET /api/v3/time':
      case 'GET /api/v1/time':
        return ok({ serverTime: v.nowMs() });
      case 'GET /sapi/v1/system/status':
        return ok({ status: 0, msg: 'normal' });
      case 'GET /api/v3/exchangeInfo':
        return ok(this.exchangeInfo(params));
      case 'GET /api/v3/depth': {
        const limit = intParam(params, 'limit', 100, 1, 5000);
        return ok(v.depth(required(params, 'symbol'), limit));
      }
      case 'GET /api/v3/trades':
      case 'GET /api/v3/historicalTrades': {
        if (path.endsWith('historicalTrades')) this.requireApiKey(req);
        const symbol = required(params, 'symbol');
        const limit = intParam(params, 'limit', 500, 1, 1000);
        const fromId = optInt(params, 'fromId');
        const trades =
          fromId === undefined ? v.recentTrades(symbol, limit) : v.tradesFrom(symbol, { fromId, limit });
        return ok(
          trades.map((t) => ({
            id: t.id,
            price: d8(t.price),
            qty: d8(t.qty),
            quoteQty: d8(t.price.times(t.qty)),
            time: t.timeMs,
            isBuyerMaker: t.isBuyerMaker,
            isBestMatch: true,
          })),
        );
      }
      case 'GET /api/v3/aggTrades': {
        const trades = v.tradesFrom(required(params, 'symbol'), {
          fromId: optInt(params, 'fromId'),
          startTime: optInt(params, 'startTime'),
          endTime: optInt(params, 'endTime'),
          limit: intParam(params, 'limit', 500, 1, 1000),
        });
        return ok(
          trades.map((t) => ({
            a: t.id,
            p: d8(t.price),
            q: d8(t.qty),
            f: t.id,
            l: t.id,
            T: t.timeMs,
            m: t.isBuyerMaker,
            M: true,
          })),
        );
      }
      case 'GET /api/v3/klines':
      case 'GET /api/v3/uiKlines': {
        const interval = required(params, 'interval');
        const ms = KLINE_INTERVALS[interval];
        if (ms === undefined) throw Errors.illegalValue('interval');
        return ok(
          v.klines(required(params, 'symbol'), ms, {
            startTime: optInt(params, 'startTime'),
            endTime: optInt(params, 'endTime'),
            limit: intParam(params, 'limit', 500, 1, 1000),
          }),
        );
      }
      case 'GET /api/v3/avgPrice': {
        const mid = v.mid(required(params, 'symbol'));
        return ok({ mins: 5, price: d8(mid ?? 0), closeTime: v.nowMs() });
      }
      case 'GET /api/v3/ticker/24hr':
        return ok(this.perSymbol(params, (s) => v.ticker24(s)));
      case 'GET /api/v3/ticker/price':
        return ok(this.perSymbol(params, (s) => ({ symbol: s, price: v.ticker24(s).lastPrice })));
      case 'GET /api/v3/ticker/bookTicker':
        return ok(this.perSymbol(params, (s) => v.bookTicker(s)));

      case 'POST /api/v3/userDataStream': {
        this.requireApiKey(req);
        const listenKey = createHash('sha512')
          .update(`${v.seed}:listenKey:${++this.listenKeySeq}:${this.o.apiKey}`)
          .digest('base64')
          .replace(/[^A-Za-z0-9]/g, '')
          .slice(0, 60);
        this.listenKeys.set(listenKey, v.nowMs() + LISTEN_KEY_TTL_MS);
        return ok({ listenKey });
      }
      case 'PUT /api/v3/userDataStream': {
        this.requireApiKey(req);
        const lk = required(params, 'listenKey');
        if (!this.listenKeyValid(lk)) throw Errors.invalidListenKey();
        this.listenKeys.set(lk, v.nowMs() + LISTEN_KEY_TTL_MS);
        return ok({});
      }
      case 'DELETE /api/v3/userDataStream': {
        this.requireApiKey(req);
        const lk = required(params, 'listenKey');
        this.listenKeys.delete(lk);
        for (const c of this.conns) if (c.kind === 'user' && c.listenKey === lk) c.ws.close();
        return ok({});
      }
      default:
        break;
    }

    // Signed endpoints.
    const signed: Record<string, true> = {
      'POST /api/v3/order': true,
      'POST /api/v3/order/test': true,
      'GET /api/v3/order': true,
      'DELETE /api/v3/order': true,
      'GET /api/v3/openOrders': true,
      'DELETE /api/v3/openOrders': true,
      'GET /api/v3/allOrders': true,
      'GET /api/v3/myTrades': true,
      'GET /api/v3/account': true,
      'GET /api/v3/account/commission': true,
      'GET /api/v3/rateLimit/order': true,
      'GET /sapi/v1/asset/tradeFee': true,
    };
    if (signed[key] !== true) {
      this.unhandledList.push(key);
      throw Errors.unknownRoute(method, path);
    }
    this.authenticate(req, rawQuery, rawBody, params);
    switch (key) {
      case 'POST /api/v3/order': {
        const { order, respType, transactTime } = v.newOrder({
          symbol: required(params, 'symbol'),
          side: opt(params, 'side'),
          type: opt(params, 'type'),
          timeInForce: opt(params, 'timeInForce'),
          quantity: opt(params, 'quantity'),
          quoteOrderQty: opt(params, 'quoteOrderQty'),
          price: opt(params, 'price'),
          newClientOrderId: opt(params, 'newClientOrderId'),
          newOrderRespType: opt(params, 'newOrderRespType'),
        });
        return ok(newOrderReply(order, respType, transactTime), true);
      }
      case 'POST /api/v3/order/test':
        v.symbolInfo(required(params, 'symbol'));
        return ok({});
      case 'GET /api/v3/order':
        return ok(
          orderQuery(
            v.findOrder(required(params, 'symbol'), opt(params, 'orderId'), opt(params, 'origClientOrderId')),
          ),
        );
      case 'DELETE /api/v3/order': {
        const order = v.cancelOrder(
          required(params, 'symbol'),
          opt(params, 'orderId'),
          opt(params, 'origClientOrderId'),
          opt(params, 'newClientOrderId'),
        );
        return ok(cancelReply(order, v.nowMs()), true);
      }
      case 'GET /api/v3/openOrders':
        return ok(v.openOrders(opt(params, 'symbol')).map(orderQuery));
      case 'DELETE /api/v3/openOrders': {
        const now = v.nowMs();
        return ok(
          v.cancelAll(required(params, 'symbol')).map((o) => cancelReply(o, now)),
          true,
        );
      }
      case 'GET /api/v3/allOrders':
        return ok(
          v
            .allOrders(required(params, 'symbol'), {
              orderId: optInt(params, 'orderId'),
              startTime: optInt(params, 'startTime'),
              endTime: optInt(params, 'endTime'),
              limit: intParam(params, 'limit', 500, 1, 1000),
            })
            .map(orderQuery),
        );
      case 'GET /api/v3/myTrades':
        return ok(
          v
            .trades(required(params, 'symbol'), {
              orderId: optInt(params, 'orderId'),
              fromId: optInt(params, 'fromId'),
              startTime: optInt(params, 'startTime'),
              endTime: optInt(params, 'endTime'),
              limit: intParam(params, 'limit', 500, 1, 1000),
            })
            .map(myTrade),
        );
      case 'GET /api/v3/account':
        return ok(this.account(params.get('omitZeroBalances') === 'true'));
      case 'GET /api/v3/account/commission': {
        const info = v.symbolInfo(required(params, 'symbol'));
        return ok({
          symbol: info.symbol,
          standardCommission: {
            maker: d8(info.spec.maker_fee),
            taker: d8(info.spec.taker_fee),
            buyer: d8(0),
            seller: d8(0),
          },
          taxCommission: { maker: d8(0), taker: d8(0), buyer: d8(0), seller: d8(0) },
          discount: {
            enabledForAccount: false,
            enabledForSymbol: false,
            discountAsset: 'BNB',
            discount: d8(0),
          },
        });
      }
      case 'GET /api/v3/rateLimit/order':
        return ok([
          { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100, count: 0 },
          { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000, count: 0 },
        ]);
      case 'GET /sapi/v1/asset/tradeFee': {
        const sym = opt(params, 'symbol');
        const infos = sym === undefined ? v.symbols() : [v.symbolInfo(sym)];
        return ok(
          infos.map((i) => ({
            symbol: i.symbol,
            makerCommission: i.spec.maker_fee,
            takerCommission: i.spec.taker_fee,
          })),
        );
      }
      default:
        this.unhandledList.push(key);
        throw Errors.unknownRoute(method, path);
    }
  }

  private exchangeInfo(params: Params): Record<string, unknown> {
    let infos = this.venue.symbols();
    const one = params.get('symbol');
    const many = params.get('symbols');
    if (one !== null) infos = [this.venue.symbolInfo(one)];
    else if (many !== null) {
      let list: unknown;
      try {
        list = JSON.parse(many);
      } catch {
        throw Errors.illegalValue('symbols');
      }
      if (!Array.isArray(list)) throw Errors.illegalValue('symbols');
      infos = list.map((s) => this.venue.symbolInfo(String(s)));
    }
    return {
      timezone: 'UTC',
      serverTime: this.venue.nowMs(),
      rateLimits: RATE_LIMITS,
      exchangeFilters: [],
      symbols: infos.map(symbolEntry),
    };
  }

  private perSymbol<T>(params: Params, f: (symbol: string) => T): T | T[] {
    const one = params.get('symbol');
    if (one !== null) return f(this.venue.symbolInfo(one).symbol);
    const many = params.get('symbols');
    if (many !== null) {
      let list: unknown;
      try {
        list = JSON.parse(many);
      } catch {
        throw Errors.illegalValue('symbols');
      }
      if (!Array.isArray(list)) throw Errors.illegalValue('symbols');
      return list.map((s) => f(this.venue.symbolInfo(String(s)).symbol));
    }
    return this.venue.symbols().map((s) => f(s.symbol));
  }

  private account(omitZero: boolean): Record<string, unknown> {
    return {
      makerCommission: 10,
      takerCommission: 10,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: { maker: d8('0.001'), taker: d8('0.001'), buyer: d8(0), seller: d8(0) },
      canTrade: true,
      canWithdraw: false,
      canDeposit: false,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: this.venue.accountUpdateTime(),
      accountType: 'SPOT',
      balances: this.venue.accountBalances(omitZero),
      permissions: ['SPOT'],
      uid: 1,
    };
  }

  private requireApiKey(req: IncomingMessage): void {
    const key = req.headers['x-mbx-apikey'];
    if (typeof key !== 'string' || key === '') throw Errors.apiKeyFormat();
    if (key !== this.o.apiKey) throw Errors.invalidApiKey();
  }

  /** X-MBX-APIKEY, then HMAC-SHA256 over query + body without `signature`, then the recvWindow. */
  private authenticate(req: IncomingMessage, rawQuery: string, rawBody: string, params: Params): void {
    this.requireApiKey(req);
    const signature = params.get('signature');
    if (signature === null || signature === '') throw Errors.mandatory('signature');
    const payload = withoutSignature(rawQuery) + withoutSignature(rawBody);
    this.checkSignature(payload, signature);
    this.checkTimestamp(params.get('timestamp'), params.get('recvWindow'));
  }

  private checkSignature(payload: string, signature: string): void {
    const expected = createHmac('sha256', this.o.secret).update(payload).digest('hex');
    const a = Buffer.from(expected);
    const b = Buffer.from(signature.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw Errors.badSignature();
  }

  private checkTimestamp(timestamp: string | null | undefined, recvWindow: string | null | undefined): void {
    if (timestamp === null || timestamp === undefined || timestamp === '')
      throw Errors.mandatory('timestamp');
    const ts = Number(timestamp);
    if (!Number.isFinite(ts)) throw Errors.illegalValue('timestamp');
    const window = recvWindow === null || recvWindow === undefined ? 5000 : Number(recvWindow);
    if (!Number.isFinite(window) || window <= 0) throw Errors.illegalValue('recvWindow');
    if (window > 60_000) throw Errors.recvWindowTooLarge();
    const server = this.venue.nowMs();
    if (ts > server + 1000) throw Errors.timestampAhead();
    if (server - ts > window) throw Errors.timestampOutside();
  }

  private listenKeyValid(lk: string): boolean {
    const exp = this.listenKeys.get(lk);
    if (exp === undefined) return false;
    if (exp < this.venue.nowMs()) {
      this.listenKeys.delete(lk);
      return false;
    }
    return true;
  }

  // ===========================================================================================
  // WebSocket
  // ===========================================================================================

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.core.refuseOffline(socket)) return;
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname.replace(/\/+$/, '');
    let make: ((ws: WebSocket) => Conn) | null = null;
    if (path === '/ws-api/v3') {
      make = (ws) => ({ kind: 'api', ws, subscriptions: new Set(), nextSubscriptionId: 0, queue: [] });
    } else if (path === '/stream') {
      const streams = (url.searchParams.get('streams') ?? '').split('/').filter((s) => s !== '');
      make = (ws) => ({ kind: 'market', ws, streams: this.streamMap(streams), combined: true, queue: [] });
    } else if (path === '/ws' || path.startsWith('/ws/')) {
      const rest = path.slice(4);
      this.venue.sync();
      if (rest !== '' && this.listenKeyValid(rest)) {
        make = (ws) => ({ kind: 'user', ws, listenKey: rest, queue: [] });
      } else {
        // `/ws/<stream>[/<stream>...]` subscribes at connect; ccxt's `/ws/<n>` names no stream.
        const streams = rest.split('/').filter((s) => this.validStream(s));
        make = (ws) => ({ kind: 'market', ws, streams: this.streamMap(streams), combined: false, queue: [] });
      }
    }
    if (make === null) {
      this.unhandledList.push(`WS ${path}`);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.core.accept(req, socket, head, make, (conn, data) => this.onWsMessage(conn, data));
  }

  private streamMap(streams: string[]): Map<string, string> {
    return new Map(streams.filter((s) => this.validStream(s)).map((s) => [s.toLowerCase(), s]));
  }

  private validStream(name: string): boolean {
    const at = name.indexOf('@');
    if (at <= 0) return false;
    const symbol = name.slice(0, at).toUpperCase();
    const kind = name.slice(at + 1).toLowerCase();
    return this.venue.symbols().some((s) => s.symbol === symbol) && STREAM_KINDS.has(kind);
  }

  private onWsMessage(conn: Conn, data: RawData): void {
    let msg: unknown;
    try {
      msg = JSON.parse(rawToString(data));
    } catch {
      this.sendNow(conn, JSON.stringify({ code: 3, msg: 'Invalid JSON: expected a JSON object' }));
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.sendNow(conn, JSON.stringify({ code: 3, msg: 'Invalid request: expected a JSON object' }));
      return;
    }
    const m = msg as Record<string, unknown>;
    if (conn.kind === 'api') {
      this.onApiMessage(conn, m);
      return;
    }
    const id = m.id ?? null;
    const method = m.method;
    const params = Array.isArray(m.params) ? m.params.map(String) : [];
    if (conn.kind === 'user') {
      this.sendNow(conn, JSON.stringify({ result: null, id }));
      return;
    }
    this.venue.sync();
    switch (method) {
      case 'SUBSCRIBE': {
        const bad = params.find((s) => !this.validStream(s));
        if (bad !== undefined) {
          this.sendNow(
            conn,
            JSON.stringify({ error: { code: 2, msg: `Invalid request: unknown stream '${bad}'` }, id }),
          );
          return;
        }
        for (const s of params) conn.streams.set(s.toLowerCase(), s);
        this.sendNow(conn, JSON.stringify({ result: null, id }));
        return;
      }
      case 'UNSUBSCRIBE':
        for (const s of params) conn.streams.delete(s.toLowerCase());
        this.sendNow(conn, JSON.stringify({ result: null, id }));
        return;
      case 'LIST_SUBSCRIPTIONS':
        this.sendNow(conn, JSON.stringify({ result: [...conn.streams.values()], id }));
        return;
      case 'SET_PROPERTY':
        this.sendNow(conn, JSON.stringify({ result: null, id }));
        return;
      case 'GET_PROPERTY':
        this.sendNow(conn, JSON.stringify({ result: conn.combined, id }));
        return;
      default:
        this.unhandledList.push(`WS method ${String(method)}`);
        this.sendNow(
          conn,
          JSON.stringify({ error: { code: 1, msg: `Unknown method ${String(method)}` }, id }),
        );
    }
  }

  private onApiMessage(conn: ApiConn, m: Record<string, unknown>): void {
    const id = m.id ?? null;
    const method = typeof m.method === 'string' ? m.method : '';
    const params =
      typeof m.params === 'object' && m.params !== null && !Array.isArray(m.params)
        ? (m.params as Record<string, unknown>)
        : {};
    const reply = (result: unknown) =>
      this.sendNow(conn, JSON.stringify({ id, status: 200, result, rateLimits: [] }));
    const fail = (err: BinanceError) =>
      this.sendNow(conn, JSON.stringify({ id, status: err.httpStatus, error: err.body(), rateLimits: [] }));
    try {
      this.venue.sync();
      switch (method) {
        case 'ping':
          reply({});
          return;
        case 'time':
          reply({ serverTime: this.venue.nowMs() });
          return;
        case 'userDataStream.subscribe.signature': {
          this.authenticateWsApi(params);
          const subscriptionId = conn.nextSubscriptionId++;
          conn.subscriptions.add(subscriptionId);
          reply({ subscriptionId });
          return;
        }
        case 'userDataStream.unsubscribe': {
          const sid = params.subscriptionId;
          if (sid === undefined) conn.subscriptions.clear();
          else conn.subscriptions.delete(Number(sid));
          reply({});
          return;
        }
        case 'session.status':
          reply({
            apiKey: null,
            authorizedSince: null,
            connectedSince: null,
            returnRateLimits: false,
            serverTime: this.venue.nowMs(),
            userDataStream: conn.subscriptions.size > 0,
          });
          return;
        default:
          this.unhandledList.push(`WS-API ${method}`);
          fail(
            new BinanceError(
              400,
              -1000,
              `The local exchange does not implement the WebSocket API method '${method}'.`,
            ),
          );
      }
    } catch (err) {
      if (err instanceof BinanceError) fail(err);
      else fail(Errors.unknown(err instanceof Error ? err.message : String(err)));
    }
  }

  /** WebSocket API signature: HMAC over the params except `signature`, sorted by name, `k=v&…`. */
  private authenticateWsApi(params: Record<string, unknown>): void {
    const apiKey = params.apiKey;
    if (typeof apiKey !== 'string' || apiKey === '') throw Errors.mandatory('apiKey');
    if (apiKey !== this.o.apiKey) throw Errors.invalidApiKey();
    const signature = params.signature;
    if (typeof signature !== 'string' || signature === '') throw Errors.mandatory('signature');
    const payload = Object.keys(params)
      .filter((k) => k !== 'signature')
      .sort()
      .map((k) => `${k}=${String(params[k])}`)
      .join('&');
    this.checkSignature(payload, signature);
    const ts = params.timestamp;
    const rw = params.recvWindow;
    this.checkTimestamp(ts === undefined ? undefined : String(ts), rw === undefined ? undefined : String(rw));
  }

  private wants(stream: string): boolean {
    for (const c of this.conns) if (c.kind === 'market' && c.streams.has(stream)) return true;
    return false;
  }

  private publish(stream: string, payload: object): void {
    let raw: string | null = null;
    for (const c of this.conns) {
      if (c.kind !== 'market') continue;
      const name = c.streams.get(stream);
      if (name === undefined) continue;
      if (c.combined) this.send(c, JSON.stringify({ stream: name, data: payload }));
      else {
        raw ??= JSON.stringify(payload);
        this.send(c, raw);
      }
    }
  }

  private privateEvent(payload: object): void {
    if (this.faults.reordering) {
      if (this.held === null) {
        this.held = { payload, tick: this.tickSeq };
        return;
      }
      const first = this.held.payload;
      this.held = null;
      this.faults.count('reorderedEvents');
      this.deliverPrivate(payload);
      this.deliverPrivate(first);
      return;
    }
    this.flushHeld(true);
    this.deliverPrivate(payload);
  }

  private flushHeld(force: boolean): void {
    if (this.held === null) return;
    if (!force && this.held.tick === this.tickSeq) return;
    const p = this.held.payload;
    this.held = null;
    this.deliverPrivate(p);
  }

  private deliverPrivate(payload: object): void {
    const times = this.faults.duplicating ? 2 : 1;
    let delivered = false;
    for (const c of this.conns) {
      if (c.kind === 'api') {
        for (const sid of c.subscriptions) {
          const raw = JSON.stringify({ subscriptionId: sid, event: payload });
          for (let i = 0; i < times; i++) this.send(c, raw);
          delivered = true;
        }
      } else if (c.kind === 'user' && this.listenKeyValid(c.listenKey)) {
        const raw = JSON.stringify(payload);
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
    body: `<html><body><h1>${status} ${statusText(status)}</h1></body></html>`,
    headers: { 'content-type': 'text/html' },
  }),
  rateLimit: (retryAfterSec) => ({
    status: 429,
    body: Errors.tooManyRequests().body(),
    headers: { 'retry-after': String(retryAfterSec) },
  }),
};

function withoutSignature(raw: string): string {
  if (raw === '') return '';
  return raw
    .split('&')
    .filter((p) => !p.startsWith('signature='))
    .join('&');
}

function send(res: ServerResponse, reply: Reply): void {
  sendReply(res, reply, 'application/json;charset=UTF-8');
}

function statusText(status: number): string {
  switch (status) {
    case 500:
      return 'Internal Server Error';
    case 502:
      return 'Bad Gateway';
    case 503:
      return 'Service Unavailable';
    case 504:
      return 'Gateway Timeout';
    default:
      return 'Error';
  }
}

function opt(params: Params, name: string): string | undefined {
  const v = params.get(name);
  return v === null || v === '' ? undefined : v;
}

function required(params: Params, name: string): string {
  const v = opt(params, name);
  if (v === undefined) throw Errors.mandatory(name);
  return v;
}

function optInt(params: Params, name: string): number | undefined {
  const v = opt(params, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw Errors.illegalValue(name);
  return n;
}

function intParam(params: Params, name: string, dflt: number, min: number, max: number): number {
  const n = optInt(params, name) ?? dflt;
  if (n < min) throw Errors.illegalValue(name);
  return Math.min(n, max);
}

/** Plumbing shared by the local venues (dev/local-exchange, dev/local-deribit). */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hrtime } from 'node:process';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { FaultController, HttpFault } from './faults.ts';

/** Wall clock with ns resolution that never goes backwards. */
export class WallClock implements Clock {
  private readonly epoch = BigInt(Date.now()) * 1_000_000n;
  private readonly hr = hrtime.bigint();
  now(): Nanos {
    return this.epoch + (hrtime.bigint() - this.hr);
  }
}

/** A WebSocket message as text. */
export function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** An HTTP request's whole body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** A reply on the HTTP wire (or, for the local Deribit, a WebSocket call's answer). */
export interface WireReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** An order mutation: `delayAcks` holds it. */
  ack?: boolean;
}

/** A WebSocket connection with the queue `pauseWebSockets` holds its messages in. */
export interface WsConn {
  ws: WebSocket;
  queue: string[];
}

export interface VenueServerOptions {
  /** Named in errors ("local exchange"). */
  name: string;
  host: string;
  port: number;
  faults: FaultController;
  onRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  flushHeldEvents(): void;
}

/** The replies a venue gives to an armed `fail` or `rateLimit` fault, in its own dialect. */
export interface FaultReplies {
  fail(status: number): WireReply;
  rateLimit(retryAfterSec: number): WireReply;
}

/**
 * The HTTP and WebSocket plumbing of a local venue: the server, its sockets and connections,
 * timers, listen/close, the `FaultController` hooks (offline, dropped connections, paused
 * messages) and the armed HTTP faults. The venue's server owns the protocol.
 */
export class VenueServerCore<C extends WsConn> {
  readonly http: Server;
  readonly wss: WebSocketServer;
  readonly sockets = new Set<Socket>();
  readonly conns = new Set<C>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faults: FaultController;
  port = 0;

  constructor(private readonly o: VenueServerOptions) {
    this.faults = o.faults;
    this.http = createServer((req, res) => {
      void o.onRequest(req, res);
    });
    this.http.keepAliveTimeout = 5_000;
    this.http.on('connection', (socket: Socket) => {
      if (this.refuseOffline(socket)) return;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      o.onUpgrade(req, socket, head),
    );
    this.faults.attach({
      dropWebSockets: () => this.dropWebSockets(),
      dropHttpConnections: () => {
        for (const s of this.sockets) s.destroy();
      },
      flushPaused: () => this.flushPaused(),
      flushHeldEvents: () => o.flushHeldEvents(),
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.o.port, this.o.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const addr = this.http.address();
    if (addr === null || typeof addr === 'string') throw new Error(`${this.o.name}: no TCP address`);
    this.port = addr.port;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** While the venue is offline: count and destroy the socket. True when it did. */
  refuseOffline(socket: { destroy(): void }): boolean {
    if (!this.faults.offlineNow) return false;
    this.faults.count('refusedOffline');
    socket.destroy();
    return true;
  }

  /** Accept a WebSocket upgrade as `conn`, routing its messages to `onMessage`. */
  accept(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    make: (ws: WebSocket) => C,
    onMessage: (conn: C, data: RawData) => void,
  ): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = make(ws);
      this.conns.add(conn);
      ws.on('message', (data: RawData) => onMessage(conn, data));
      ws.on('close', () => this.conns.delete(conn));
      ws.on('error', () => this.conns.delete(conn));
    });
  }

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Apply the fault armed for `method path` to a call, or run it (holding an ack for `delayAcks`). */
  withFault(
    fault: HttpFault | null,
    replies: FaultReplies,
    run: () => WireReply,
    answer: (r: WireReply) => void,
  ): void {
    if (fault === null) {
      const reply = run();
      const delay = reply.ack === true ? this.faults.ackDelay : 0;
      if (delay > 0) {
        this.faults.count('delayedAcks');
        this.later(delay, () => answer(reply));
      } else {
        answer(reply);
      }
      return;
    }
    switch (fault.kind) {
      case 'fail':
        this.faults.count('failed');
        answer(replies.fail(fault.status));
        return;
      case 'rateLimit':
        this.faults.count('rateLimited');
        answer(replies.rateLimit(fault.retryAfterSec));
        return;
      case 'timeout': {
        this.faults.count('timedOut');
        if (fault.execute) {
          this.faults.count('timedOutExecuted');
          const reply = run();
          if (fault.delayMs !== null) this.later(fault.delayMs, () => answer(reply));
          // else: never answered; the socket is destroyed at close() or when the client gives up.
          return;
        }
        if (fault.delayMs !== null) {
          this.later(fault.delayMs, () => {
            this.faults.count('timedOutExecuted');
            answer(run());
          });
        }
        return;
      }
    }
  }

  /** Send now, or queue while WebSockets are paused. */
  send(conn: C, raw: string): void {
    if (this.faults.paused) {
      conn.queue.push(raw);
      this.faults.count('pausedMessages');
      return;
    }
    this.sendNow(conn, raw);
  }

  sendNow(conn: C, raw: string): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(raw);
  }

  private flushPaused(): void {
    for (const c of this.conns) for (const raw of c.queue.splice(0)) this.sendNow(c, raw);
  }

  private dropWebSockets(): number {
    const n = this.conns.size;
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    return n;
  }
}

/** Write a reply: text as `text/plain`, anything else as JSON with `jsonType`. */
export function sendReply(res: ServerResponse, reply: WireReply, jsonType: string): void {
  if (res.writableEnded || res.destroyed) return;
  const isText = typeof reply.body === 'string';
  const body = isText ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': isText ? 'text/plain' : jsonType,
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

/** What {@link runVenue} drives: a venue's server and its market. */
export interface VenueParts {
  server: { listen(): Promise<void>; close(): Promise<void>; afterTick(): void; readonly port: number };
  /** Disarmed at stop (any venue's fault controller). */
  faults: Pick<FaultController, 'reset'>;
  /** Bring the market to the clock's now. */
  sync(): void;
}

/** A started local venue: its origin's host part, port, tick and (idempotent) stop. */
export interface RunningVenue {
  /** The host as it stands in a URL (`[::1]` for IPv6). */
  urlHost: string;
  port: number;
  /** Bring the market to `clock.now()` and publish (what the timer does when `autoTick`). */
  tick(): void;
  stop(): Promise<void>;
}

/** Listen, tick once, and (when `autoTick`, the default) tick every `tickMs` (default 50 ms). */
export async function runVenue(
  parts: VenueParts,
  opts: { host: string; autoTick?: boolean | undefined; tickMs?: number | undefined },
): Promise<RunningVenue> {
  const { server, faults } = parts;
  await server.listen();
  const tick = (): void => {
    parts.sync();
    server.afterTick();
  };
  tick();
  const timer = (opts.autoTick ?? true) ? setInterval(tick, Math.max(1, opts.tickMs ?? 50)) : null;
  let stopped = false;
  return {
    urlHost: opts.host.includes(':') ? `[${opts.host}]` : opts.host,
    port: server.port,
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) clearInterval(timer);
      faults.reset();
      await server.close();
    },
  };
}

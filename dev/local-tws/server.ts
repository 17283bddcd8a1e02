/**
 * The local TWS's socket server: one TCP connection per API client, the handshake and START_API,
 * every request the IBKR adapter makes, and the broker's events as TWS API messages (docs/local-tws.md).
 * Bad input never crashes the server: an undecodable field is answered with error 321 naming it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { fmt } from '../../shared/domain/decimal.ts';
import { NANOS_PER_SECOND, type Nanos } from '../../shared/domain/time.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import {
  type IbError,
  IbErrors,
  type TwsBroker,
  type TwsExecution,
  type TwsOrder,
  UNSET_DOUBLE,
} from './broker.ts';
import type { TwsFaults } from './faults.ts';
import type { ContractQuery, ListedContract } from './instruments.ts';
import { hoursString } from './session.ts';
import {
  encodeFrame,
  type Field,
  FieldError,
  FieldReader,
  FrameReader,
  IN,
  MIN_CLIENT_VERSION,
  OUT,
  outName,
  TWS_SERVER_VERSION,
} from './wire.ts';

/** IB tick types: real-time and delayed bid, ask, last and their sizes. */
const TICKS = {
  live: { bid: 1, ask: 2, last: 4, bidSize: 0, askSize: 3, lastSize: 5 },
  delayed: { bid: 66, ask: 67, last: 68, bidSize: 69, askSize: 70, lastSize: 71 },
} as const;

const NO_ID = -1;

interface MktSub {
  listed: ListedContract;
  delayed: boolean;
  sent: Record<'bid' | 'ask' | 'last', { price: string; size: string } | null>;
}

interface Conn {
  socket: Socket;
  reader: FrameReader;
  clientId: number | null;
  alive: boolean;
  /** Requested market data type (1 live, 2 frozen, 3 delayed, 4 delayed frozen). */
  marketDataType: number;
  mkt: Map<number, MktSub>;
  positions: boolean;
  summaries: Map<number, string[]>;
  /** Arrival times of the last second's messages (pacing). */
  recent: Nanos[];
}

export interface TwsServerOptions {
  broker: TwsBroker;
  faults: TwsFaults;
  clock: Clock;
  host: string;
  port: number;
  maxMessagesPerSecond: number;
  /** The login has real-time market data permissions (else only delayed data, error 354). */
  realtimeMarketData: boolean;
}

/** Account summary tags the server reports (the TWS API's `AccountSummaryTags`). */
const ALL_TAGS =
  'AccountType,NetLiquidation,TotalCashValue,SettledCash,AccruedCash,BuyingPower,EquityWithLoanValue,PreviousDayEquityWithLoanValue,GrossPositionValue,RegTEquity,RegTMargin,SMA,InitMarginReq,MaintMarginReq,AvailableFunds,ExcessLiquidity,Cushion,FullInitMarginReq,FullMaintMarginReq,FullAvailableFunds,FullExcessLiquidity,LookAheadInitMarginReq,LookAheadMaintMarginReq,LookAheadAvailableFunds,LookAheadExcessLiquidity,Leverage';

const pad = (n: number): string => String(n).padStart(2, '0');

/** `20261207 16:30:05 UTC`: TWS's time format (connection time, execution time). */
export function twsTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** An execution filter's time (`yyyymmdd-hh:mm:ss` or `yyyymmdd hh:mm:ss`, UTC) as Unix ms. */
export function parseFilterTime(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})[- ]+(\d{2}):(\d{2})(?::(\d{2}))?/.exec(s.trim());
  if (m === null) return null;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
  );
}

export class TwsServer {
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  /** Fills whose commissionReport the `withholdCommissionReports` fault holds back, by execId. */
  private readonly withheld = new Map<string, TwsExecution>();
  readonly calls = new Map<string, number>();
  readonly unhandled: string[] = [];
  port = 0;

  constructor(private readonly o: TwsServerOptions) {
    this.server = createServer((socket) => this.onConnection(socket));
    o.broker.attach({
      orderChanged: (order) => this.onOrderChanged(order),
      executed: (exec) => this.onExecuted(exec),
      positionChanged: (listed) => this.onPositionChanged(listed),
      marketChanged: (listed) => this.onMarketChanged(listed),
      warned: (order, code, message) => {
        const owner = this.ownerOf(order);
        if (owner !== null) this.error(owner, order.orderId, { code, message });
      },
    });
    o.faults.attach({
      disconnectAll: () => {
        const n = this.conns.size;
        for (const c of [...this.conns]) this.drop(c);
        return n;
      },
      broadcastError: (code, message) => {
        let n = 0;
        for (const c of this.conns) {
          if (c.clientId === null) continue;
          this.error(c, NO_ID, { code, message });
          n++;
        }
        return n;
      },
      releaseCommissions: () => {
        const held = [...this.withheld.values()];
        this.withheld.clear();
        for (const e of held) {
          const owner = this.ownerOf(e.order);
          if (owner !== null) this.send(owner, this.commissionFields(e));
        }
        return held.length;
      },
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('local TWS: no TCP address');
    this.port = addr.port;
  }

  async close(): Promise<void> {
    for (const c of [...this.conns]) this.drop(c);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  connectionCount(): number {
    return [...this.conns].filter((c) => c.clientId !== null).length;
  }

  /** After a market tick: nothing to do (the broker's sink already pushed ticks and fills). */
  afterTick(): void {}

  // ------------------------------------------------------------------------------------------
  // Connections and framing
  // ------------------------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = {
      socket,
      reader: new FrameReader(),
      clientId: null,
      alive: true,
      marketDataType: 1,
      mkt: new Map(),
      positions: false,
      summaries: new Map(),
      recent: [],
    };
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('close', () => this.forget(conn));
    socket.on('error', () => this.forget(conn));
  }

  private forget(conn: Conn): void {
    conn.alive = false;
    this.conns.delete(conn);
  }

  private drop(conn: Conn): void {
    this.forget(conn);
    conn.socket.destroy();
  }

  private send(conn: Conn, fields: readonly Field[]): void {
    if (!conn.alive || conn.socket.destroyed) return;
    conn.socket.write(encodeFrame(fields));
  }

  private error(conn: Conn, id: number, e: IbError): void {
    this.send(conn, [IN.ERR_MSG, 2, id, e.code, e.message, '']);
  }

  private onData(conn: Conn, chunk: Buffer): void {
    for (const item of conn.reader.push(chunk)) {
      if (!conn.alive) return;
      if (item.kind === 'invalid') {
        this.drop(conn);
        return;
      }
      if (item.kind === 'hello') {
        this.onHello(conn, item.minVersion, item.maxVersion);
        continue;
      }
      this.onMessage(conn, item.fields);
    }
  }

  private onHello(conn: Conn, min: number, max: number): void {
    if (max < MIN_CLIENT_VERSION || min > TWS_SERVER_VERSION) {
      // TWS answers an unsupported range with its own version and closes.
      this.send(conn, [TWS_SERVER_VERSION, twsTime(this.o.broker.nowMs())]);
      conn.socket.end();
      return;
    }
    this.send(conn, [Math.min(max, TWS_SERVER_VERSION), twsTime(this.o.broker.nowMs())]);
  }

  private paced(conn: Conn): boolean {
    const now = this.o.clock.now();
    while (conn.recent.length > 0 && now - (conn.recent[0] ?? now) >= NANOS_PER_SECOND) conn.recent.shift();
    conn.recent.push(now);
    const forced = this.o.faults.takePacing();
    if (!forced && conn.recent.length <= this.o.maxMessagesPerSecond) return false;
    this.o.faults.count('pacingViolations');
    this.error(conn, NO_ID, {
      code: 100,
      message: `Max rate of messages per second has been exceeded:max=${this.o.maxMessagesPerSecond} rec=${conn.recent.length} (1)`,
    });
    return true;
  }

  private onMessage(conn: Conn, fields: string[]): void {
    const r = new FieldReader(fields);
    let id: number;
    try {
      id = r.int('msgId');
    } catch (e) {
      this.error(conn, NO_ID, IbErrors.validation('msgId', e instanceof FieldError ? e.problem : String(e)));
      return;
    }
    const name = outName(id);
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    if (id === OUT.START_API) {
      this.guard(conn, NO_ID, () => this.onStartApi(conn, r));
      return;
    }
    if (conn.clientId === null) {
      this.drop(conn);
      return;
    }
    if (this.paced(conn)) return;
    this.o.broker.sync();
    this.guard(conn, NO_ID, () => this.dispatch(conn, id, name, r));
  }

  /** Run a handler; a field it cannot decode becomes error 321 naming the field. */
  private guard(conn: Conn, id: number, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof FieldError) {
        this.error(conn, id, IbErrors.validation(e.field, e.problem));
        return;
      }
      this.error(conn, id, IbErrors.validation('message', e instanceof Error ? e.message : String(e)));
    }
  }

  private onStartApi(conn: Conn, r: FieldReader): void {
    r.int('version');
    const clientId = r.int('clientId');
    const inUse = [...this.conns].some((c) => c !== conn && c.clientId === clientId);
    if (inUse) {
      this.error(conn, NO_ID, {
        code: 326,
        message: 'Unable to connect as the client id is already in use. Retry with a unique client id.',
      });
      conn.socket.end();
      this.forget(conn);
      return;
    }
    conn.clientId = clientId;
    const b = this.o.broker;
    this.send(conn, [IN.MANAGED_ACCTS, 1, b.account]);
    this.send(conn, [IN.NEXT_VALID_ID, 1, b.nextValidId()]);
    this.error(conn, NO_ID, { code: 2104, message: 'Market data farm connection is OK:usfarm' });
    this.error(conn, NO_ID, { code: 2106, message: 'HMDS data farm connection is OK:ushmds' });
    this.error(conn, NO_ID, { code: 2158, message: 'Sec-def data farm connection is OK:secdefnj' });
    if (this.o.faults.connectivityLostNow) {
      this.error(conn, NO_ID, {
        code: 1100,
        message: 'Connectivity between IB and Trader Workstation has been lost.',
      });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Requests
  // ------------------------------------------------------------------------------------------

  private dispatch(conn: Conn, id: number, name: string, r: FieldReader): void {
    const b = this.o.broker;
    const clientId = conn.clientId ?? 0;
    switch (id) {
      case OUT.REQ_IDS:
        this.send(conn, [IN.NEXT_VALID_ID, 1, b.nextValidId()]);
        return;
      case OUT.REQ_CURRENT_TIME:
        this.send(conn, [IN.CURRENT_TIME, 1, Math.floor(b.nowMs() / 1000)]);
        return;
      case OUT.REQ_MANAGED_ACCTS:
        this.send(conn, [IN.MANAGED_ACCTS, 1, b.account]);
        return;
      case OUT.REQ_CONTRACT_DATA:
        this.onContractDetails(conn, r);
        return;
      case OUT.REQ_MARKET_DATA_TYPE: {
        r.int('version');
        const t = r.int('marketDataType');
        if (t < 1 || t > 4) throw new FieldError('marketDataType', `${t} is not 1, 2, 3 or 4`);
        conn.marketDataType = t;
        return;
      }
      case OUT.REQ_MKT_DATA:
        this.onMktData(conn, r);
        return;
      case OUT.CANCEL_MKT_DATA:
        r.int('version');
        conn.mkt.delete(r.int('reqId'));
        return;
      case OUT.PLACE_ORDER:
        this.onPlaceOrder(conn, r);
        return;
      case OUT.CANCEL_ORDER: {
        r.int('version');
        const orderId = r.int('orderId');
        this.guard(conn, orderId, () => {
          const res = b.cancel(clientId, orderId);
          if ('code' in res) this.error(conn, orderId, res);
          else this.error(conn, orderId, IbErrors.cancelled());
        });
        return;
      }
      case OUT.REQ_GLOBAL_CANCEL:
        for (const o of b.cancelAll()) {
          const owner = this.ownerOf(o);
          if (owner !== null) this.error(owner, o.orderId, IbErrors.cancelled());
        }
        return;
      case OUT.REQ_OPEN_ORDERS:
      case OUT.REQ_ALL_OPEN_ORDERS: {
        const orders = b.openOrders(id === OUT.REQ_OPEN_ORDERS && clientId !== 0 ? clientId : null);
        for (const o of orders) {
          this.send(conn, this.openOrderFields(o));
          this.send(conn, this.orderStatusFields(o));
        }
        this.send(conn, [IN.OPEN_ORDER_END, 1]);
        return;
      }
      case OUT.REQ_COMPLETED_ORDERS:
        // apiOnly (the one field) changes nothing: every order here came through the API.
        for (const o of b.completedOrders()) this.send(conn, this.completedOrderFields(o));
        this.send(conn, [IN.COMPLETED_ORDERS_END]);
        return;
      case OUT.REQ_AUTO_OPEN_ORDERS:
        // Binding TWS's manual orders: there are none here.
        return;
      case OUT.REQ_EXECUTIONS:
        this.onExecutions(conn, r);
        return;
      case OUT.REQ_POSITIONS:
        conn.positions = true;
        for (const l of b.listed) if (b.positionOf(l) !== null) this.send(conn, this.positionFields(l));
        this.send(conn, [IN.POSITION_END, 1]);
        return;
      case OUT.CANCEL_POSITIONS:
        conn.positions = false;
        return;
      case OUT.REQ_ACCOUNT_SUMMARY:
        this.onAccountSummary(conn, r);
        return;
      case OUT.CANCEL_ACCOUNT_SUMMARY:
        r.int('version');
        conn.summaries.delete(r.int('reqId'));
        return;
      default:
        this.unhandled.push(name);
        return;
    }
  }

  private readContract(r: FieldReader, withConId = true): ContractQuery {
    const conId = withConId ? r.int('conId', 0) : 0;
    const symbol = r.str('symbol');
    const secType = r.str('secType');
    const lastTradeDateOrContractMonth = r.str('lastTradeDateOrContractMonth');
    r.str('strike');
    r.str('right');
    const multiplier = r.str('multiplier');
    const exchange = r.str('exchange');
    const primaryExch = r.str('primaryExch');
    const currency = r.str('currency');
    const localSymbol = r.str('localSymbol');
    const tradingClass = r.str('tradingClass');
    return {
      conId,
      symbol,
      secType,
      lastTradeDateOrContractMonth,
      multiplier,
      exchange,
      primaryExch,
      currency,
      localSymbol,
      tradingClass,
    };
  }

  private onContractDetails(conn: Conn, r: FieldReader): void {
    r.int('version');
    const reqId = r.int('reqId');
    this.guard(conn, reqId, () => {
      const q = this.readContract(r);
      const found = this.o.broker.find(q);
      if (found.length === 0) {
        this.error(conn, reqId, IbErrors.noSecurityDefinition());
        return;
      }
      for (const l of found) this.send(conn, this.contractDataFields(reqId, l));
      this.send(conn, [IN.CONTRACT_DATA_END, 1, reqId]);
    });
  }

  private contractDataFields(reqId: number, l: ListedContract): Field[] {
    const k = l.contract;
    const stock = k.secType === 'STK';
    const session = this.o.broker.sessionOf(l);
    const now = this.o.broker.nowMs();
    const expiry = k.lastTradeDateOrContractMonth ?? '';
    const industry =
      l.inst.stockType === 'ETF'
        ? ['Funds', 'Equity Fund', 'Growth&Income-Large Cap']
        : stock
          ? ['Technology', 'Computers', 'Computers']
          : ['', '', ''];
    return [
      IN.CONTRACT_DATA,
      reqId,
      k.symbol,
      k.secType,
      expiry,
      0,
      '',
      k.exchange,
      k.currency,
      l.localSymbol,
      l.tradingClass,
      l.tradingClass,
      l.inst.conId,
      l.inst.spec.tick_size,
      stock ? '' : l.multiplier,
      'ACTIVETIM,AD,ADJUST,ALERT,ALLOC,DAY,GTC,IOC,LMT,MKT',
      l.inst.validExchanges,
      1,
      0,
      l.inst.longName,
      stock ? (k.primaryExch ?? '') : '',
      stock ? '' : expiry.slice(0, 6),
      ...industry,
      session.timeZoneId,
      hoursString(session, 'trading', now),
      hoursString(session, 'liquid', now),
      '',
      '',
      0,
      1,
      '',
      '',
      '26',
      stock ? '' : expiry,
      l.inst.stockType,
      l.inst.spec.min_qty,
      l.inst.spec.step_size,
      l.inst.spec.step_size,
    ];
  }

  private onMktData(conn: Conn, r: FieldReader): void {
    r.int('version');
    const reqId = r.int('reqId');
    this.guard(conn, reqId, () => {
      const q = this.readContract(r);
      if (q.secType.toUpperCase() === 'BAG')
        throw new FieldError('secType', 'combo market data is not supported');
      if (r.bool('deltaNeutralContract')) r.skip(3);
      r.str('genericTickList');
      const snapshot = r.bool('snapshot');
      const found = this.o.broker.find(q);
      const listed = found[0];
      if (listed === undefined || found.length > 1) {
        this.error(conn, reqId, IbErrors.noSecurityDefinition());
        return;
      }
      const wantsDelayed = conn.marketDataType >= 3;
      if (!this.o.realtimeMarketData && !wantsDelayed) {
        this.error(conn, reqId, {
          code: 354,
          message: 'Requested market data is not subscribed. Delayed market data is available.',
        });
        return;
      }
      const delayed = !this.o.realtimeMarketData;
      if (delayed) {
        this.error(conn, reqId, {
          code: 10167,
          message: 'Requested market data is not subscribed. Displaying delayed market data.',
        });
      }
      this.send(conn, [
        IN.MARKET_DATA_TYPE,
        1,
        reqId,
        delayed ? (conn.marketDataType === 4 ? 4 : 3) : conn.marketDataType === 2 ? 2 : 1,
      ]);
      const sub: MktSub = { listed, delayed, sent: { bid: null, ask: null, last: null } };
      this.sendTicks(conn, reqId, sub);
      if (snapshot) this.send(conn, [IN.TICK_SNAPSHOT_END, 1, reqId]);
      else conn.mkt.set(reqId, sub);
    });
  }

  private sendTicks(conn: Conn, reqId: number, sub: MktSub): void {
    const q = this.o.broker.quote(sub.listed);
    const t = sub.delayed ? TICKS.delayed : TICKS.live;
    for (const side of ['bid', 'ask', 'last'] as const) {
      const now = q[side];
      const before = sub.sent[side];
      if (now === null || (before !== null && before.price === now.price && before.size === now.size))
        continue;
      sub.sent[side] = now;
      const sizeType = side === 'bid' ? t.bidSize : side === 'ask' ? t.askSize : t.lastSize;
      // As TWS does: a new price comes as tickPrice (carrying the size) followed by tickSize.
      if (before === null || before.price !== now.price) {
        this.send(conn, [IN.TICK_PRICE, 3, reqId, t[side], now.price, now.size, side === 'last' ? 0 : 1]);
      }
      this.send(conn, [IN.TICK_SIZE, 6, reqId, sizeType, now.size]);
    }
  }

  private onPlaceOrder(conn: Conn, r: FieldReader): void {
    const orderId = r.int('orderId');
    const drop = this.o.faults.takeDropOnPlace();
    if (drop !== null) {
      this.o.faults.count('disconnected');
      this.drop(conn);
      if (!drop.execute) return;
    }
    this.guard(conn, orderId, () => {
      const contract = this.readContract(r);
      r.str('secIdType');
      r.str('secId');
      const action = r.str('action');
      const totalQuantity = r.decimal('totalQuantity');
      const orderType = r.str('orderType');
      const lmtPrice = r.decimal('lmtPrice');
      r.decimal('auxPrice');
      const tif = r.str('tif');
      r.str('ocaGroup');
      const account = r.str('account');
      r.str('openClose');
      r.str('origin');
      const orderRef = r.str('orderRef');
      r.str('transmit');
      r.str('parentId');
      r.str('blockOrder');
      r.str('sweepToFill');
      r.str('displaySize');
      r.str('triggerMethod');
      const outsideRth = r.bool('outsideRth');
      if (this.o.faults.connectivityLostNow) {
        this.error(
          conn,
          orderId,
          IbErrors.rejected('Connectivity between IB and Trader Workstation has been lost.'),
        );
        return;
      }
      const res = this.o.broker.place(
        {
          clientId: conn.clientId ?? 0,
          orderId,
          contract,
          action: action.toUpperCase(),
          totalQuantity,
          orderType: orderType.toUpperCase(),
          lmtPrice,
          tif: tif.toUpperCase(),
          account,
          orderRef,
          outsideRth,
        },
        this.o.faults.takeReject(),
      );
      if (!('code' in res)) {
        if (drop?.cancel === true) this.o.broker.cancel(res.clientId, res.orderId);
        return;
      }
      this.error(conn, orderId, res);
      if (res.inactive !== undefined) {
        this.send(conn, this.openOrderFields(res.inactive));
        this.send(conn, this.orderStatusFields(res.inactive));
      }
    });
  }

  private onExecutions(conn: Conn, r: FieldReader): void {
    r.int('version');
    const reqId = r.int('reqId');
    this.guard(conn, reqId, () => {
      const filterClient = r.int('clientId', 0);
      const acct = r.str('acctCode');
      const time = r.str('time');
      const symbol = r.str('symbol');
      const secType = r.str('secType');
      const exchange = r.str('exchange');
      const side = r.str('side').toUpperCase();
      const since = time === '' ? null : parseFilterTime(time);
      if (time !== '' && since === null) throw new FieldError('time', `"${time}" is not yyyymmdd-hh:mm:ss`);
      const own = conn.clientId ?? 0;
      const picked = this.o.broker.executions.filter((e) => {
        const o = e.order;
        return (
          (own === 0 || o.clientId === own) &&
          (filterClient === 0 || o.clientId === filterClient) &&
          (acct === '' || acct === o.account) &&
          (since === null || e.timeMs >= since) &&
          (symbol === '' || symbol.toUpperCase() === o.listed.contract.symbol) &&
          (secType === '' || secType.toUpperCase() === o.listed.contract.secType) &&
          (exchange === '' ||
            exchange.toUpperCase() === this.execExchange(o.listed) ||
            exchange.toUpperCase() === o.listed.contract.exchange) &&
          (side === '' ||
            side === o.action ||
            (side === 'BOT' && o.action === 'BUY') ||
            (side === 'SLD' && o.action === 'SELL'))
        );
      });
      for (const e of picked) this.send(conn, this.execFields(reqId, e));
      this.send(conn, [IN.EXECUTION_DATA_END, 1, reqId]);
      for (const e of picked) if (!this.withheld.has(e.execId)) this.send(conn, this.commissionFields(e));
    });
  }

  private onAccountSummary(conn: Conn, r: FieldReader): void {
    r.int('version');
    const reqId = r.int('reqId');
    this.guard(conn, reqId, () => {
      r.str('group');
      const tags = r
        .str('tags')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      conn.summaries.set(reqId, tags);
      const values = this.o.broker.summary();
      const want = tags.length === 0 ? ALL_TAGS.split(',') : tags;
      for (const tag of want) {
        const v = values[tag];
        if (v === undefined) continue;
        this.send(conn, [
          IN.ACCOUNT_SUMMARY,
          1,
          reqId,
          this.o.broker.account,
          tag,
          v,
          tag === 'AccountType' ? '' : 'USD',
        ]);
      }
      this.send(conn, [IN.ACCOUNT_SUMMARY_END, 1, reqId]);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Broker events
  // ------------------------------------------------------------------------------------------

  private ownerOf(o: TwsOrder): Conn | null {
    for (const c of this.conns) if (c.clientId === o.clientId) return c;
    return null;
  }

  private onOrderChanged(o: TwsOrder): void {
    const c = this.ownerOf(o);
    if (c === null) return;
    if (o.status !== 'Cancelled') this.send(c, this.openOrderFields(o));
    this.send(c, this.orderStatusFields(o));
  }

  private onExecuted(e: TwsExecution): void {
    const c = this.ownerOf(e.order);
    const f = this.o.faults.takeFillFault();
    if (this.o.faults.takeWithhold()) this.withheld.set(e.execId, e);
    if (c === null) return;
    if (this.withheld.has(e.execId)) {
      this.send(c, this.execFields(NO_ID, e));
      return;
    }
    const exec = this.execFields(NO_ID, e);
    const commission = this.commissionFields(e);
    const first = f.reorder ? commission : exec;
    const second = f.reorder ? exec : commission;
    this.send(c, first);
    if (f.reorder ? f.dupCommission : f.dupExec) this.send(c, first);
    this.send(c, second);
    if (f.reorder ? f.dupExec : f.dupCommission) this.send(c, second);
  }

  private onPositionChanged(l: ListedContract): void {
    for (const c of this.conns) if (c.positions) this.send(c, this.positionFields(l));
  }

  private onMarketChanged(l: ListedContract): void {
    for (const c of this.conns) {
      for (const [reqId, sub] of c.mkt) if (sub.listed === l) this.sendTicks(c, reqId, sub);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Message bodies
  // ------------------------------------------------------------------------------------------

  /** Where an execution happened: the primary exchange of a stock, the listing exchange of a future. */
  private execExchange(l: ListedContract): string {
    return l.contract.secType === 'STK'
      ? (l.contract.primaryExch ?? l.contract.exchange)
      : l.contract.exchange;
  }

  private contractHead(l: ListedContract): Field[] {
    const k = l.contract;
    return [
      l.inst.conId,
      k.symbol,
      k.secType,
      k.lastTradeDateOrContractMonth ?? '',
      0,
      '',
      k.secType === 'STK' ? '' : l.multiplier,
    ];
  }

  private orderStatusFields(o: TwsOrder): Field[] {
    const avg = o.filled.isZero() ? '0' : fmt(o.filledValue.div(o.filled));
    return [
      IN.ORDER_STATUS,
      o.orderId,
      o.status,
      fmt(o.filled),
      fmt(o.totalQuantity.minus(o.filled)),
      avg,
      o.permId,
      0,
      o.lastFillPrice === null ? '0' : fmt(o.lastFillPrice),
      o.clientId,
      '',
      0,
    ];
  }

  /** The contract and order fields openOrder and completedOrder begin with, up to `orderRef`. */
  private orderHead(o: TwsOrder): Field[] {
    const l = o.listed;
    const k = l.contract;
    return [
      ...this.contractHead(l),
      k.exchange,
      k.currency,
      l.localSymbol,
      l.tradingClass,
      o.action,
      fmt(o.totalQuantity),
      o.orderType,
      o.lmtPrice === null ? '' : fmt(o.lmtPrice),
      '', // auxPrice
      o.tif,
      '', // ocaGroup
      o.account,
      'O', // openClose
      0, // origin: customer
      o.orderRef,
    ];
  }

  /** openOrder at server version 176, field by field as the TWS API's EOrderDecoder reads it. */
  private openOrderFields(o: TwsOrder): Field[] {
    return [
      IN.OPEN_ORDER,
      o.orderId,
      ...this.orderHead(o),
      o.clientId,
      o.permId,
      o.outsideRth,
      0, // hidden
      0, // discretionaryAmt
      '', // goodAfterTime
      '', // sharesAllocation
      '', // faGroup
      '', // faMethod
      '', // faPercentage
      '', // faProfile
      '', // modelCode
      '', // goodTillDate
      '', // rule80A
      '', // percentOffset
      '', // settlingFirm
      0, // shortSaleSlot
      '', // designatedLocation
      -1, // exemptCode
      0, // auctionStrategy
      '', // startingPrice
      '', // stockRefPrice
      '', // delta
      '', // stockRangeLower
      '', // stockRangeUpper
      '', // displaySize
      0, // blockOrder
      0, // sweepToFill
      0, // allOrNone
      '', // minQty
      3, // ocaType
      0, // eTradeOnly
      0, // firmQuoteOnly
      '', // nbboPriceCap
      0, // parentId
      0, // triggerMethod
      '', // volatility
      0, // volatilityType
      'None', // deltaNeutralOrderType ("None": nothing of delta neutral follows but the aux price)
      '', // deltaNeutralAuxPrice
      0, // deltaNeutralConId
      '', // deltaNeutralSettlingFirm
      '', // deltaNeutralClearingAccount
      '', // deltaNeutralClearingIntent
      '', // deltaNeutralOpenClose
      0, // deltaNeutralShortSale
      0, // deltaNeutralShortSaleSlot
      '', // deltaNeutralDesignatedLocation
      0, // continuousUpdate
      0, // referencePriceType
      '', // trailStopPrice
      '', // trailingPercent
      '', // basisPoints
      '', // basisPointsType
      '', // comboLegsDescription
      0, // comboLegs
      0, // orderComboLegs
      0, // smartComboRoutingParams
      '', // scaleInitLevelSize
      '', // scaleSubsLevelSize
      '', // scalePriceIncrement
      '', // hedgeType
      0, // optOutSmartRouting
      '', // clearingAccount
      '', // clearingIntent
      0, // notHeld
      0, // deltaNeutralContract
      '', // algoStrategy
      0, // solicited
      0, // whatIf
      o.status,
      '', // initMarginBefore
      '', // maintMarginBefore
      '', // equityWithLoanBefore
      '', // initMarginChange
      '', // maintMarginChange
      '', // equityWithLoanChange
      '', // initMarginAfter
      '', // maintMarginAfter
      '', // equityWithLoanAfter
      '', // commission
      '', // minCommission
      '', // maxCommission
      '', // commissionCurrency
      '', // warningText
      0, // randomizeSize
      0, // randomizePrice
      0, // conditions
      '', // adjustedOrderType
      '', // triggerPrice
      '', // trailStopPrice
      '', // lmtPriceOffset
      '', // adjustedStopPrice
      '', // adjustedStopLimitPrice
      '', // adjustedTrailingAmount
      0, // adjustableTrailingUnit
      '', // softDollarTier name
      '', // softDollarTier value
      '', // softDollarTier displayName
      '', // cashQty
      0, // dontUseAutoPriceForHedge
      0, // isOmsContainer
      0, // discretionaryUpToLimitPrice
      0, // usePriceMgmtAlgo
      '', // duration
      '', // postToAts
      0, // autoCancelParent
      '', // minTradeQty
      '', // minCompeteSize
      '', // competeAgainstBestOffset
      '', // midOffsetAtWhole
      '', // midOffsetAtHalf
    ];
  }

  /**
   * completedOrder at server version 176, field by field as the TWS API's decoder reads it: no
   * version, no order id and no client id (an order is named by `permId` and `orderRef`), the
   * filled quantity, when it was done and why.
   */
  private completedOrderFields(o: TwsOrder): Field[] {
    const why =
      o.status === 'Filled'
        ? `Filled Size: ${fmt(o.filled)}`
        : o.status === 'Cancelled'
          ? 'Cancelled by Trader'
          : 'Rejected';
    return [
      IN.COMPLETED_ORDER,
      ...this.orderHead(o),
      o.permId,
      o.outsideRth,
      0, // hidden
      0, // discretionaryAmt
      '', // goodAfterTime
      '', // faGroup
      '', // faMethod
      '', // faPercentage (no faProfile: the decoder reads completed orders at the newest version)
      '', // modelCode
      '', // goodTillDate
      '', // rule80A
      '', // percentOffset
      '', // settlingFirm
      0, // shortSaleSlot
      '', // designatedLocation
      -1, // exemptCode
      '', // startingPrice
      '', // stockRefPrice
      '', // delta
      '', // stockRangeLower
      '', // stockRangeUpper
      '', // displaySize
      0, // sweepToFill
      0, // allOrNone
      '', // minQty
      3, // ocaType
      0, // triggerMethod
      '', // volatility
      0, // volatilityType
      'None', // deltaNeutralOrderType
      '', // deltaNeutralAuxPrice
      0, // deltaNeutralConId
      0, // deltaNeutralShortSale
      0, // deltaNeutralShortSaleSlot
      '', // deltaNeutralDesignatedLocation
      0, // continuousUpdate
      0, // referencePriceType
      '', // trailStopPrice
      '', // trailingPercent
      '', // comboLegsDescription
      0, // comboLegs
      0, // orderComboLegs
      0, // smartComboRoutingParams
      '', // scaleInitLevelSize
      '', // scaleSubsLevelSize
      '', // scalePriceIncrement
      '', // hedgeType
      '', // clearingAccount
      '', // clearingIntent
      0, // notHeld
      0, // deltaNeutralContract
      '', // algoStrategy
      0, // solicited
      o.status,
      0, // randomizeSize
      0, // randomizePrice
      0, // conditions
      '', // trailStopPrice
      '', // lmtPriceOffset
      '', // cashQty
      0, // dontUseAutoPriceForHedge
      0, // isOmsContainer
      '', // autoCancelDate
      fmt(o.filled),
      0, // refFuturesConId
      0, // autoCancelParent
      '', // shareholder
      0, // imbalanceOnly
      0, // routeMarketableToBbo
      0, // parentPermId
      o.doneMs === null ? '' : twsTime(o.doneMs),
      why,
      '', // minTradeQty
      '', // minCompeteSize
      '', // competeAgainstBestOffset
      '', // midOffsetAtWhole
      '', // midOffsetAtHalf
    ];
  }

  private execFields(reqId: number, e: TwsExecution): Field[] {
    const o = e.order;
    const l = o.listed;
    return [
      IN.EXECUTION_DATA,
      reqId,
      o.orderId,
      ...this.contractHead(l),
      this.execExchange(l),
      l.contract.currency,
      l.localSymbol,
      l.tradingClass,
      e.execId,
      twsTime(e.timeMs),
      o.account,
      this.execExchange(l),
      o.action === 'BUY' ? 'BOT' : 'SLD',
      fmt(e.shares),
      fmt(e.price),
      o.permId,
      o.clientId,
      0,
      fmt(e.cumQty),
      fmt(e.avgPrice),
      o.orderRef,
      '',
      '',
      '',
      e.liquidity,
    ];
  }

  private commissionFields(e: TwsExecution): Field[] {
    return [
      IN.COMMISSION_REPORT,
      1,
      e.execId,
      fmt(e.commission),
      e.order.listed.contract.currency,
      e.realizedPnl === null ? UNSET_DOUBLE : fmt(e.realizedPnl),
      UNSET_DOUBLE,
      '',
    ];
  }

  private positionFields(l: ListedContract): Field[] {
    const b = this.o.broker;
    const p = b.positionOf(l);
    return [
      IN.POSITION,
      3,
      b.account,
      ...this.contractHead(l),
      this.execExchange(l),
      l.contract.currency,
      l.localSymbol,
      l.tradingClass,
      p === null ? '0' : p.quantity,
      p === null ? '0' : b.avgCost(l, p),
    ];
  }
}

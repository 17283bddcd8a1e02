/**
 * The real `@stoqey/ib` client against the local TWS, recording every event it emits, with waits
 * for what a test expects. No mock of the socket: the client speaks TCP to the server.
 */
import {
  type Contract,
  EventName,
  IBApi,
  type Order,
  OrderAction,
  OrderType,
  SecType,
  type TimeInForce,
} from '@stoqey/ib';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type LocalTws, type LocalTwsOptions, startLocalTws } from '../../../dev/local-tws/index.ts';

export interface Recorded {
  name: string;
  args: unknown[];
}

export interface IbErrorEvent {
  message: string;
  code: number;
  reqId: number;
}

export const SPY: Contract = {
  symbol: 'SPY',
  secType: SecType.STK,
  exchange: 'SMART',
  primaryExch: 'ARCA',
  currency: 'USD',
};
export const AAPL: Contract = {
  symbol: 'AAPL',
  secType: SecType.STK,
  exchange: 'SMART',
  primaryExch: 'NASDAQ',
  currency: 'USD',
};
export const ES: Contract = {
  symbol: 'ES',
  secType: SecType.FUT,
  exchange: 'CME',
  currency: 'USD',
  lastTradeDateOrContractMonth: '20270319',
};

export function marketOrder(action: 'BUY' | 'SELL', qty: number, orderRef: string): Order {
  return {
    action: action === 'BUY' ? OrderAction.BUY : OrderAction.SELL,
    orderType: OrderType.MKT,
    totalQuantity: qty,
    tif: 'IOC' as TimeInForce,
    orderRef,
    transmit: true,
  };
}

export function limitOrder(
  action: 'BUY' | 'SELL',
  qty: number,
  price: number,
  orderRef: string,
  tif: 'DAY' | 'GTC' | 'IOC' = 'GTC',
): Order {
  return {
    action: action === 'BUY' ? OrderAction.BUY : OrderAction.SELL,
    orderType: OrderType.LMT,
    totalQuantity: qty,
    lmtPrice: price,
    tif: tif as TimeInForce,
    orderRef,
    transmit: true,
  };
}

export class TestIbClient {
  readonly ib: IBApi;
  readonly events: Recorded[] = [];
  nextId = 0;
  accounts = '';
  private waiters: Array<() => void> = [];

  constructor(
    tws: LocalTws,
    readonly clientId: number,
  ) {
    this.ib = new IBApi({ host: tws.host, port: tws.port });
    this.ib.on(EventName.all, (name: string, args: unknown[]) => {
      this.events.push({ name, args });
      if (name === EventName.nextValidId) this.nextId = args[0] as number;
      if (name === EventName.managedAccounts) this.accounts = args[0] as string;
      for (const w of this.waiters.splice(0)) w();
    });
    // Errors are recorded through `all`; a listener keeps EventEmitter from throwing them.
    this.ib.on(EventName.error, () => {});
  }

  /** Connect and wait for nextValidId and managedAccounts. */
  static async connect(tws: LocalTws, clientId: number): Promise<TestIbClient> {
    const c = new TestIbClient(tws, clientId);
    c.ib.connect(clientId);
    await c.until(() => c.nextId > 0 && c.accounts !== '', 'nextValidId and managedAccounts');
    return c;
  }

  /** Resolves when `pred` holds (re-checked on every event), or fails after `ms`. */
  async until(pred: () => boolean, what: string, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.summary()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  of(name: string): unknown[][] {
    return this.events.filter((e) => e.name === name).map((e) => e.args);
  }

  /** `error` events, and `info` events (TWS's messages with id -1: client-wide errors) as reqId -1. */
  errors(): IbErrorEvent[] {
    return this.events.flatMap((e): IbErrorEvent[] => {
      if (e.name === EventName.error) {
        return [
          { message: (e.args[0] as Error).message, code: e.args[1] as number, reqId: e.args[2] as number },
        ];
      }
      if (e.name === EventName.info)
        return [{ message: e.args[0] as string, code: e.args[1] as number, reqId: -1 }];
      return [];
    });
  }

  /** Decoding problems the client reports (a field too many or too few): must stay empty. */
  decodingProblems(): IbErrorEvent[] {
    return this.errors().filter((e) => /Decoding error|Underrun error|unprocessed data/i.test(e.message));
  }

  /** The statuses `orderStatus` reported for an order, in order. */
  statuses(orderId: number): string[] {
    return this.of(EventName.orderStatus)
      .filter((a) => a[0] === orderId)
      .map((a) => a[1] as string);
  }

  /** Place an order with the next id; returns the id. */
  place(contract: Contract, order: Order): number {
    const id = this.nextId++;
    this.ib.placeOrder(id, contract, order);
    return id;
  }

  summary(): string {
    return this.events
      .slice(-30)
      .map(
        (e) =>
          `${e.name}(${e.args.map((a) => (a instanceof Error ? a.message : JSON.stringify(a))).join(', ')})`,
      )
      .join('\n  ');
  }

  disconnect(): void {
    this.ib.disconnect();
  }
}

/** Argument `i` of a recorded event; fails the test when the event is missing. */
export function arg<T>(row: unknown[] | undefined, i: number): T {
  if (row === undefined) throw new Error('expected event is missing');
  return row[i] as T;
}

/**
 * A local TWS for a describe block (started before, stopped after), the clients a test connects
 * (checked for decoding problems and disconnected after each test, the faults disarmed), and
 * `withServer` for a test that needs a server of its own.
 */
export function useLocalTws(opts: LocalTwsOptions) {
  let shared: LocalTws | null = null;
  const clients: TestIbClient[] = [];
  const closeClients = (): void => {
    for (const c of clients.splice(0)) {
      expect(c.decodingProblems()).toEqual([]);
      c.disconnect();
    }
  };
  beforeAll(async () => {
    shared = await startLocalTws(opts);
  });
  afterEach(() => {
    shared?.faults.reset();
    closeClients();
  });
  afterAll(async () => {
    await shared?.stop();
  });
  return {
    get tws(): LocalTws {
      if (shared === null) throw new Error('the local TWS is not started');
      return shared;
    },
    async connect(clientId: number, tws?: LocalTws): Promise<TestIbClient> {
      const c = await TestIbClient.connect(tws ?? this.tws, clientId);
      clients.push(c);
      return c;
    },
    async withServer(o: LocalTwsOptions, fn: (tws: LocalTws) => Promise<void>): Promise<void> {
      const own = await startLocalTws(o);
      try {
        await fn(own);
      } finally {
        closeClients();
        await own.stop();
      }
    },
  };
}

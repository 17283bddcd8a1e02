/**
 * The local TWS against the real @stoqey/ib client: handshake, START_API, contract details of every
 * default contract, market data (live, delayed, snapshot), and bad input answered with IB's codes.
 */
import { EventName } from '@stoqey/ib';
import { describe, expect, it } from 'vitest';
import { type LocalTws, TWS_SERVER_VERSION } from '../../../dev/local-tws/index.ts';
import { rulesFromContractDetails } from '../../../infra/ib/contracts.ts';
import { AAPL, ES, SPY, TestIbClient, useLocalTws } from './ib-client.ts';

describe('local TWS: connection, contracts and market data', () => {
  const suite = useLocalTws({ seed: 3, tickMs: 20, quoteIntervalMs: 20 });
  const connect = (id: number, t?: LocalTws): Promise<TestIbClient> => suite.connect(id, t);

  it('answers the handshake with its version, then nextValidId, managedAccounts and the farm status', async () => {
    const c = await connect(1);
    expect(c.ib.serverVersion).toBe(TWS_SERVER_VERSION);
    expect(c.accounts).toBe('DU1234567');
    expect(c.nextId).toBe(1);
    const infos = c.of(EventName.info).map((a) => a[1]);
    expect(infos).toEqual(expect.arrayContaining([2104, 2106, 2158]));
    expect(suite.tws.connections()).toBe(1);

    c.ib.reqCurrentTime();
    await c.until(() => c.of(EventName.currentTime).length === 1, 'currentTime');
    const t = c.of(EventName.currentTime)[0]?.[0] as number;
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(60);

    c.ib.reqIds();
    await c.until(() => c.of(EventName.nextValidId).length === 2, 'a second nextValidId');
    expect(c.of(EventName.nextValidId)[1]).toEqual([1]);
  });

  it('refuses a second connection with a client id in use (326)', async () => {
    await connect(2);
    const dup = new TestIbClient(suite.tws, 2);
    dup.ib.connect(2);
    await dup.until(() => dup.errors().some((e) => e.code === 326), 'error 326');
    expect(dup.errors().find((e) => e.code === 326)?.message).toMatch(/client id is already in use/);
    dup.disconnect();
  });

  it('gives contract details with tick, size rules, multiplier, hours and time zone for each contract', async () => {
    const c = await connect(3);
    const details = async (reqId: number, contract: typeof SPY) => {
      c.ib.reqContractDetails(reqId, contract);
      await c.until(
        () => c.of(EventName.contractDetailsEnd).some((a) => a[0] === reqId),
        `contractDetailsEnd ${reqId}`,
      );
      return c
        .of(EventName.contractDetails)
        .filter((a) => a[0] === reqId)
        .map((a) => a[1] as Record<string, unknown> & { contract: Record<string, unknown> });
    };
    const [spy] = await details(10, SPY);
    expect(spy?.contract).toMatchObject({
      symbol: 'SPY',
      secType: 'STK',
      exchange: 'SMART',
      primaryExch: 'ARCA',
      conId: 756733,
    });
    expect(spy).toMatchObject({
      minTick: 0.01,
      minSize: 1,
      sizeIncrement: 1,
      stockType: 'ETF',
      timeZoneId: 'UTC',
    });
    expect(String(spy?.tradingHours)).toMatch(/^\d{8}:0000-\d{8}:0000$/);

    const [aapl] = await details(11, AAPL);
    expect(aapl?.contract).toMatchObject({ symbol: 'AAPL', primaryExch: 'NASDAQ', conId: 265598 });
    expect(aapl?.longName).toBe('APPLE INC');

    const [es] = await details(12, ES);
    expect(es?.contract).toMatchObject({
      symbol: 'ES',
      secType: 'FUT',
      exchange: 'CME',
      multiplier: 50,
      localSymbol: 'ESH7',
    });
    expect(es?.contract.lastTradeDateOrContractMonth).toBe('20270319');
    expect(es).toMatchObject({ minTick: 0.25, contractMonth: '202703', realExpirationDate: '20270319' });
    // The adapter's own rules mapping reads them as intended.
    const rules = rulesFromContractDetails('IBKR:FUTURE:ES-USD-20270319@CME', {
      minTick: es?.minTick as number,
      minSize: es?.minSize as number,
      sizeIncrement: es?.sizeIncrement as number,
      multiplier: (es?.contract.multiplier as number) ?? '',
    });
    expect(rules).toMatchObject({ tick_size: '0.25', step_size: '1', min_qty: '1', contract_size: '50' });

    // By conId alone, and a futures month instead of the date.
    expect(await details(13, { conId: 756733 })).toHaveLength(1);
    expect(
      await details(14, {
        symbol: 'ES',
        secType: 'FUT' as never,
        exchange: 'CME',
        lastTradeDateOrContractMonth: '202703',
      }),
    ).toHaveLength(1);
  });

  it('answers an unknown contract with error 200', async () => {
    const c = await connect(4);
    c.ib.reqContractDetails(20, {
      symbol: 'NOPE',
      secType: 'STK' as never,
      exchange: 'SMART',
      currency: 'USD',
    });
    await c.until(() => c.errors().some((e) => e.reqId === 20), 'error for reqId 20');
    expect(c.errors().find((e) => e.reqId === 20)).toMatchObject({
      code: 200,
      message: 'No security definition has been found for the request',
    });
    expect(c.of(EventName.contractDetailsEnd)).toEqual([]);
  });

  it('shows real hours and time zones with the instrument session option', async () => {
    await suite.withServer({ session: 'instrument', autoTick: false }, async (real) => {
      const c = await connect(1, real);
      c.ib.reqContractDetails(1, SPY);
      c.ib.reqContractDetails(2, ES);
      await c.until(() => c.of(EventName.contractDetailsEnd).length === 2, 'both details');
      const [spy, es] = c.of(EventName.contractDetails).map((a) => a[1] as Record<string, string>);
      expect(spy?.timeZoneId).toBe('US/Eastern');
      expect(spy?.liquidHours).toMatch(/\d{8}:0930-\d{8}:1600/);
      expect(spy?.tradingHours).toMatch(/\d{8}:0400-\d{8}:2000/);
      expect(spy?.tradingHours).toMatch(/\d{8}:CLOSED/);
      expect(es?.timeZoneId).toBe('US/Central');
      // Globex runs through midnight: one span from 17:00 to 16:00 the next day.
      expect(es?.tradingHours).toMatch(/(\d{8}):1700-(\d{8}):1600/);
    });
  });

  it('streams bid, ask and last ticks on the tick grid, and a snapshot ends with tickSnapshotEnd', async () => {
    const c = await connect(5);
    c.ib.reqMktData(30, ES, '', false, false);
    await c.until(
      () => [1, 2].every((t) => c.of(EventName.tickPrice).some((a) => a[0] === 30 && a[1] === t)),
      'bid and ask ticks',
    );
    expect(c.of(EventName.marketDataType)).toContainEqual([30, 1]);
    const prices = c.of(EventName.tickPrice).filter((a) => a[0] === 30);
    for (const [, , price] of prices) expect(((price as number) * 4) % 1).toBe(0);
    const bid = prices.filter((a) => a[1] === 1).at(-1)?.[2] as number;
    const ask = prices.filter((a) => a[1] === 2).at(-1)?.[2] as number;
    expect(bid).toBeLessThan(ask);
    expect(c.of(EventName.tickSize).some((a) => a[0] === 30 && a[1] === 0 && (a[2] as number) > 0)).toBe(
      true,
    );
    // The stream moves: more ticks arrive without asking.
    const n = prices.length;
    await c.until(() => c.of(EventName.tickPrice).filter((a) => a[0] === 30).length > n + 2, 'more ticks');
    c.ib.cancelMktData(30);

    c.ib.reqMktData(31, SPY, '', true, false);
    await c.until(() => c.of(EventName.tickSnapshotEnd).some((a) => a[0] === 31), 'tickSnapshotEnd');
    expect(c.of(EventName.tickPrice).some((a) => a[0] === 31 && a[1] === 1)).toBe(true);
  });

  it('without real-time permissions: error 354, then delayed ticks after reqMarketDataType(3)', async () => {
    await suite.withServer(
      { realtimeMarketData: false, tickMs: 20, quoteIntervalMs: 20 },
      async (delayed) => {
        const c = await connect(1, delayed);
        c.ib.reqMktData(1, SPY, '', false, false);
        await c.until(() => c.errors().some((e) => e.reqId === 1), 'error 354');
        expect(c.errors().find((e) => e.reqId === 1)?.code).toBe(354);
        c.ib.reqMarketDataType(3);
        c.ib.reqMktData(2, SPY, '', false, false);
        await c.until(() => c.of(EventName.tickPrice).some((a) => a[0] === 2 && a[1] === 66), 'delayed bid');
        expect(c.of(EventName.marketDataType)).toContainEqual([2, 3]);
        expect(c.errors().some((e) => e.reqId === 2 && e.code === 10167)).toBe(true);
        expect(c.of(EventName.tickPrice).some((a) => a[0] === 2 && a[1] === 1)).toBe(false);
      },
    );
  });

  it('answers a field it cannot use with error 321 naming the field, and keeps serving', async () => {
    const c = await connect(6);
    c.ib.reqMarketDataType(9 as never);
    await c.until(() => c.errors().some((e) => e.code === 321), 'error 321');
    expect(c.errors().find((e) => e.code === 321)?.message).toMatch(
      /'marketDataType' : cause - 9 is not 1, 2, 3 or 4/,
    );
    c.ib.reqCurrentTime();
    await c.until(() => c.of(EventName.currentTime).length === 1, 'currentTime after the error');
  });
});

import { describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG, outsideHoursPolicy, parseConfig } from '../../../shared/config/schema.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { localTwsMode, withLocalTwsVenue } from '../../../stateful/edge/local-tws.ts';
import { defaultVenueFactory } from '../../../stateful/edge/runtime.ts';

describe('ibkr venues in the configuration', () => {
  const venue = (extra: Record<string, unknown>) => ({
    id: 'IBKR',
    exchange: 'ibkr',
    mode: 'LIVE',
    ...extra,
  });

  it('the ib section with its defaults; a LIVE ibkr venue needs no api key', () => {
    const cfg = parseConfig({ venues: [venue({ ib: { port: '4002', account: 'DU1234567' } })] }, { env: {} });
    expect(cfg.venues[0]).toMatchObject({
      exchange: 'ibkr',
      instrument_types: ['STOCK', 'FUTURE'],
      ib: {
        host: '127.0.0.1',
        port: 4002,
        client_id: 0,
        account: 'DU1234567',
        market_data_type: 'realtime',
        outside_hours: 'refuse',
      },
    });
  });

  it('names the field: no ib section, an ib section elsewhere, a bad value', () => {
    expect(() => parseConfig({ venues: [venue({})] }, { env: {} })).toThrow(/venues\[0\]\.ib.*TWS session/s);
    expect(() =>
      parseConfig({ venues: [{ id: 'B', exchange: 'binance', mode: 'SHADOW', ib: {} }] }, { env: {} }),
    ).toThrow(/only an ibkr venue/);
    expect(() => parseConfig({ venues: [venue({ ib: { outside_hours: 'wait' } })] }, { env: {} })).toThrow(
      /outside_hours/,
    );
    expect(() => parseConfig({ venues: [venue({ ib: { port: 70000 } })] }, { env: {} })).toThrow(/port/);
    expect(() =>
      parseConfig({ venues: [venue({ ib: {}, instrument_types: ['SPOT_PAIR'] })] }, { env: {} }),
    ).toThrow(/ibkr does not trade SPOT_PAIR/);
  });

  it('outside_hours: the venue-level setting (any venue) replaces ib.outside_hours; old configs keep theirs', () => {
    const old = parseConfig({ venues: [venue({ ib: { outside_hours: 'queue' } })] }, { env: {} }).venues[0];
    expect(old && outsideHoursPolicy(old)).toBe('queue');
    const both = parseConfig(
      { venues: [venue({ ib: { outside_hours: 'queue' }, outside_hours: 'refuse' })] },
      { env: {} },
    ).venues[0];
    expect(both && outsideHoursPolicy(both)).toBe('refuse');
    const crypto = parseConfig(
      { venues: [{ id: 'B', exchange: 'binance', mode: 'SHADOW', outside_hours: 'queue' }] },
      { env: {} },
    ).venues[0];
    expect(crypto && outsideHoursPolicy(crypto)).toBe('queue');
    expect(() => parseConfig({ venues: [venue({ ib: {}, outside_hours: 'later' })] }, { env: {} })).toThrow(
      /venues\[0\]\.outside_hours/,
    );
  });
});

describe('EXEC_LOCAL_TWS', () => {
  it('live or shadow with the embedded default; off by default; refused in production or with EXEC_CONFIG', () => {
    expect(localTwsMode({})).toBeNull();
    expect(localTwsMode({ EXEC_LOCAL_TWS: 'off' })).toBeNull();
    expect(localTwsMode({ EXEC_LOCAL_TWS: 'live' })).toBe('LIVE');
    expect(localTwsMode({ EXEC_LOCAL_TWS: 'SHADOW' })).toBe('SHADOW');
    expect(() => localTwsMode({ EXEC_LOCAL_TWS: 'yes' })).toThrow(/"live", "shadow" or "off"/);
    expect(() => localTwsMode({ EXEC_LOCAL_TWS: 'live', K_SERVICE: 'svc' })).toThrow(
      /never runs in production/,
    );
    expect(() => localTwsMode({ EXEC_LOCAL_TWS: 'live', EXEC_CONFIG: 'config/prod.json' })).toThrow(
      /EXEC_CONFIG/,
    );
  });

  it('adds an IBKR venue on the local TWS that parses, in either mode', () => {
    for (const mode of ['LIVE', 'SHADOW'] as const) {
      const cfg = parseConfig(withLocalTwsVenue(EMBEDDED_CONFIG, mode), {
        env: { LOCAL_TWS_PORT: '7500', LOCAL_TWS_ACCOUNT: 'DU1234567' },
      });
      const ib = cfg.venues.find((v) => v.id === 'IBKR');
      expect(ib).toMatchObject({ exchange: 'ibkr', mode, ib: { port: 7500, account: 'DU1234567' } });
      expect(cfg.router.candidates.STOCK).toEqual(['IBKR']);
      expect(cfg.venues.map((v) => v.id)).toEqual(['SIM', 'BINANCE-SPOT', 'IBKR']);
    }
  });
});

describe("the edge's venue factory for ibkr", () => {
  it('LIVE is the IBKR session, SHADOW our engine on its market data (nothing connects until connect)', () => {
    for (const mode of ['LIVE', 'SHADOW'] as const) {
      const cfg = parseConfig(withLocalTwsVenue(EMBEDDED_CONFIG, mode), {
        env: { LOCAL_TWS_PORT: '7500', LOCAL_TWS_ACCOUNT: 'DU1234567' },
      });
      const vc = cfg.venues.find((v) => v.id === 'IBKR');
      if (vc === undefined) throw new Error('no IBKR venue');
      const venue = defaultVenueFactory(vc, {
        instrumentKeys: ['IBKR:STOCK:SPY-USD@ARCA'],
        specs: [],
        clock: new TestClock(1n),
        log: undefined,
        onEvent: () => undefined,
      });
      expect({ id: venue.id, mode: venue.mode, account: venue.account_id }).toEqual({
        id: 'IBKR',
        mode,
        account: 'IBKR',
      });
      expect(venue.health().state).toBe('down');
    }
  });
});

/** The local TWS's framing and session rules, without a socket. */
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_OPEN,
  CME_EQUITY_FUTURE_HOURS,
  hoursString,
  isLiquid,
  isTrading,
  US_EQUITY_HOURS,
} from '../../../dev/local-tws/session.ts';
import { encodeFrame, FieldError, FieldReader, FrameReader } from '../../../dev/local-tws/wire.ts';

const hello = (text: string): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(text.length, 0);
  return Buffer.concat([Buffer.from('API\0', 'latin1'), len, Buffer.from(text)]);
};

describe('local TWS wire', () => {
  it('reads the handshake and frames split anywhere in the byte stream', () => {
    const bytes = Buffer.concat([hello('v100..193'), encodeFrame([71, 2, 5, '']), encodeFrame([49, 1])]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = new FrameReader();
      const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(got).toEqual([
        { kind: 'hello', minVersion: 100, maxVersion: 193 },
        { kind: 'message', fields: ['71', '2', '5', ''] },
        { kind: 'message', fields: ['49', '1'] },
      ]);
    }
  });

  it('refuses a stream that does not start with API\\0, and an oversized frame', () => {
    expect(new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual([
      { kind: 'invalid', reason: 'the connection does not start with API\\0' },
    ]);
    const r = new FrameReader();
    r.push(hello('v176'));
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0x1000000, 0);
    expect(r.push(huge)[0]).toMatchObject({ kind: 'invalid' });
  });

  it('writes booleans as 1/0 and absent fields as empty', () => {
    expect(encodeFrame([1, true, false, null, undefined, 'x']).subarray(4).toString()).toBe(
      '1\x001\x000\x00\x00\x00x\x00',
    );
  });

  it('names the field it cannot read', () => {
    const r = new FieldReader(['3', 'abc']);
    expect(r.int('orderId')).toBe(3);
    expect(() => r.int('clientId')).toThrow(new FieldError('clientId', '"abc" is not an integer'));
    expect(() => new FieldReader([]).str('symbol')).toThrow(/symbol: missing/);
    expect(new FieldReader(['1,000.5']).decimal('totalQuantity')).toBe('1000.5');
    expect(new FieldReader(['1.7976931348623157E308']).decimal('lmtPrice')).toBeNull();
  });
});

describe('local TWS sessions', () => {
  // Monday 2026-12-07.
  const at = (iso: string): number => Date.parse(iso);

  it('US equities: extended 04:00–20:00, regular 09:30–16:00 New York, closed on weekends', () => {
    expect(isTrading(US_EQUITY_HOURS, at('2026-12-07T08:59:00Z'))).toBe(false); // 03:59 EST
    expect(isTrading(US_EQUITY_HOURS, at('2026-12-07T09:00:00Z'))).toBe(true); // 04:00
    expect(isLiquid(US_EQUITY_HOURS, at('2026-12-07T09:00:00Z'))).toBe(false);
    expect(isLiquid(US_EQUITY_HOURS, at('2026-12-07T14:30:00Z'))).toBe(true); // 09:30
    expect(isTrading(US_EQUITY_HOURS, at('2026-12-08T01:00:00Z'))).toBe(false); // 20:00
    expect(isTrading(US_EQUITY_HOURS, at('2026-12-05T17:00:00Z'))).toBe(false); // Saturday
    // Summer time moves the UTC hours.
    expect(isLiquid(US_EQUITY_HOURS, at('2026-07-06T13:30:00Z'))).toBe(true);
  });

  it('CME: Sunday 17:00 to Friday 16:00 Chicago with the daily halt', () => {
    expect(isTrading(CME_EQUITY_FUTURE_HOURS, at('2026-12-06T22:59:00Z'))).toBe(false); // Sun 16:59 CST
    expect(isTrading(CME_EQUITY_FUTURE_HOURS, at('2026-12-06T23:00:00Z'))).toBe(true); // Sun 17:00
    expect(isTrading(CME_EQUITY_FUTURE_HOURS, at('2026-12-07T22:30:00Z'))).toBe(false); // Mon 16:30 halt
    expect(isTrading(CME_EQUITY_FUTURE_HOURS, at('2026-12-11T22:30:00Z'))).toBe(false); // Fri 16:30
    expect(isTrading(ALWAYS_OPEN, at('2026-12-05T17:00:00Z'))).toBe(true);
  });

  it("writes IB's hours strings", () => {
    const mon = at('2026-12-07T15:00:00Z');
    expect(hoursString(US_EQUITY_HOURS, 'liquid', mon, 7)).toBe(
      '20261207:0930-20261207:1600;20261208:0930-20261208:1600;20261209:0930-20261209:1600;' +
        '20261210:0930-20261210:1600;20261211:0930-20261211:1600;20261212:CLOSED;20261213:CLOSED',
    );
    expect(hoursString(CME_EQUITY_FUTURE_HOURS, 'trading', at('2026-12-06T15:00:00Z'), 7)).toBe(
      '20261206:1700-20261207:1600;20261207:1700-20261208:1600;20261208:1700-20261209:1600;' +
        '20261209:1700-20261210:1600;20261210:1700-20261211:1600;20261212:CLOSED',
    );
    expect(hoursString(ALWAYS_OPEN, 'trading', mon, 2)).toBe('20261207:0000-20261209:0000');
  });
});

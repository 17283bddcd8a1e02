/** Terminal logs (pretty on a TTY, each stream event once) and the caller's identity. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, shouldPrettyPrint } from '../../../stateful/observability/logger/index.ts';
import { eventOnceLog, streamEventKey } from '../../../stateful/observability/logger/once.ts';

const headers = (h: Record<string, string>) => ({ header: (name: string) => h[name.toLowerCase()] });

describe('terminal logs', () => {
  it('pretty on a TTY, JSON otherwise; LOG_FORMAT decides when set', () => {
    expect(shouldPrettyPrint({}, true)).toBe(true);
    expect(shouldPrettyPrint({}, false)).toBe(false);
    expect(shouldPrettyPrint({}, undefined)).toBe(false);
    expect(shouldPrettyPrint({ LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(shouldPrettyPrint({ LOG_FORMAT: 'pretty' }, false)).toBe(true);
  });

  it('a pretty line has the time, level, message and fields, without the Cloud Logging envelope', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _e, cb) {
        text += chunk.toString('utf8');
        cb();
      },
    });
    createLogger({ pretty: true, destination }).info({ venue: 'SIM' }, 'venue SIM started');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: venue SIM started \{"venue":"SIM"\}\n$/);
    expect(text).not.toContain('severity');
  });

  it('one venue stream event reported three ways is logged once; other lines pass', () => {
    const lines: string[] = [];
    let now = 0;
    const log = eventOnceLog(
      { info: (m) => lines.push(m), warn: (m) => lines.push(`WARN ${m}`) },
      { windowMs: 5_000, now: () => now },
    );
    log.info('venue BINANCE-SPOT: private stream up', {
      venue: 'BINANCE-SPOT',
      diagnostic: 'stream',
      stream: 'private',
      state: 'up',
    });
    log.info('BINANCE-SPOT: private stream up');
    log.info('venue BINANCE-SPOT private stream up', { venue: 'BINANCE-SPOT', stream: 'private' });
    log.info('venue BINANCE-SPOT: public stream up');
    log.info('venue edge started for BINANCE-SPOT');
    now = 10_000;
    log.warn('BINANCE-SPOT: private stream down', { reason: 'closed' });
    log.warn('venue BINANCE-SPOT private stream down: closed');
    expect(lines).toEqual([
      'venue BINANCE-SPOT: private stream up',
      'venue BINANCE-SPOT: public stream up',
      'venue edge started for BINANCE-SPOT',
      'WARN BINANCE-SPOT: private stream down',
    ]);
    expect(streamEventKey('order filled')).toBeNull();
  });
});

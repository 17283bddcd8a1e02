/** Terminal logs: pretty on a TTY, JSON otherwise. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, shouldPrettyPrint } from '../../../stateful/observability/logger/index.ts';

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
});

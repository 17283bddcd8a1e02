import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactConfig } from '../../../shared/config/redact.ts';
import { createLogger } from '../../../stateful/observability/logger/index.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, destination };
}

describe('the service logger', () => {
  it('writes JSON lines with Cloud Logging severity, message and time', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'debug', destination });
    log.debug('d');
    log.info({ order: 'OP-1' }, 'hello');
    log.warn('w');
    log.error({ err: new Error('boom') }, 'failed');
    expect(lines.map((l) => l.severity)).toEqual(['DEBUG', 'INFO', 'WARNING', 'ERROR']);
    expect(lines[1]).toMatchObject({ message: 'hello', order: 'OP-1', name: 'execution-platform' });
    expect(Date.parse(String(lines[1]?.time))).not.toBeNaN();
    expect(lines[3]?.err).toMatchObject({ type: 'Error', message: 'boom' });
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => l.message)).toEqual(['shown']);
  });

  it('never writes secret values, even when a caller forgets redactConfig', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const account = {
      account_id: 'binance-spot-main',
      api_key: 'AKIA-SECRET-1',
      api_secret: 'S3CR3T',
      password: 'pw',
    };
    log.info(
      { venue: { accounts: [account] }, headers: { authorization: 'Bearer t0k3n' }, token: 'tok' },
      'raw',
    );
    log.info({ config: redactConfig({ venues: [{ accounts: [account] }] }) }, 'redacted');
    const text = JSON.stringify(lines);
    for (const secret of ['AKIA-SECRET-1', 'S3CR3T', '"pw"', 't0k3n', '"tok"'])
      expect(text).not.toContain(secret);
    expect(text).toContain('binance-spot-main');
  });
});

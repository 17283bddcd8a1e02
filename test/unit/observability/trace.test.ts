/**
 * Cloud Logging correlation (stateful/observability/trace.ts through the service logger): a
 * request's lines carry its trace, error lines carry the stack where Error Reporting reads it.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../stateful/observability/logger/index.ts';
import { parseTraceHeaders, withRequestTrace } from '../../../stateful/observability/trace.ts';

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

const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace headers', () => {
  it('reads W3C traceparent first, then X-Cloud-Trace-Context (span id as hex)', () => {
    expect(parseTraceHeaders(headers({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }))).toEqual({
      traceId: TRACE,
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(parseTraceHeaders(headers({ 'x-cloud-trace-context': `${TRACE}/1234;o=0` }))).toEqual({
      traceId: TRACE,
      spanId: (1234).toString(16).padStart(16, '0'),
      sampled: false,
    });
  });

  it('ignores malformed or all-zero trace ids', () => {
    expect(parseTraceHeaders(headers({ traceparent: 'garbage' }))).toBeNull();
    expect(
      parseTraceHeaders(headers({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` })),
    ).toBeNull();
    expect(parseTraceHeaders(headers({}))).toBeNull();
  });
});

describe('the service logger in Cloud Logging', () => {
  it('puts the request trace on every line logged while handling it, and only there', async () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, project: 'acme-exec' });
    await withRequestTrace(headers({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }), async () => {
      log.info('inside');
      await new Promise((r) => setTimeout(r, 1));
      log.info('still inside, after an await');
    });
    log.info('outside');
    expect(lines[0]).toMatchObject({
      'logging.googleapis.com/trace': `projects/acme-exec/traces/${TRACE}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(lines[1]?.['logging.googleapis.com/trace']).toBe(`projects/acme-exec/traces/${TRACE}`);
    expect(lines[2]).not.toHaveProperty('logging.googleapis.com/trace');
  });

  it('puts the stack of a logged error in stack_trace, where Error Reporting reads it', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const err = new Error('boom');
    log.error({ err }, 'failed');
    log.warn('no error here');
    expect(lines[0]?.stack_trace).toBe(err.stack);
    expect(lines[0]?.severity).toBe('ERROR');
    expect(lines[1]).not.toHaveProperty('stack_trace');
  });
});

/**
 * Log ↔ trace correlation and Error Reporting fields for Cloud Logging.
 *
 * - Trace: Cloud Run passes the caller's trace in `traceparent` (W3C) or `X-Cloud-Trace-Context`.
 *   `withRequestTrace(headers, fn)` runs a request's handling in an AsyncLocalStorage scope, and
 *   `logCorrelation()` (a pino mixin, see logger/index.ts) adds `logging.googleapis.com/trace` =
 *   `projects/<project>/traces/<trace id>`, `logging.googleapis.com/spanId` and
 *   `logging.googleapis.com/trace_sampled` to every line logged inside it, so the Logs Explorer
 *   groups a request's lines under its trace.
 * - Errors: Error Reporting reads a JSON entry's stack from the top-level `stack_trace` field (or
 *   from `message`). `errorReportingFields(obj)` lifts the stack of an `err` into `stack_trace`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface TraceContext {
  traceId: string;
  spanId: string | null;
  sampled: boolean;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;
const CLOUD_TRACE = /^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?$/i;

/** The trace of a request from its headers (W3C traceparent first), or null. */
export function parseTraceHeaders(get: (name: string) => string | null | undefined): TraceContext | null {
  const tp = get('traceparent')?.trim().toLowerCase();
  const w3c = tp ? TRACEPARENT.exec(tp) : null;
  if (w3c?.[1] && /[^0]/.test(w3c[1])) {
    return {
      traceId: w3c[1],
      spanId: w3c[2] ?? null,
      sampled: (Number.parseInt(w3c[3] ?? '0', 16) & 1) === 1,
    };
  }
  const gc = get('x-cloud-trace-context')?.trim();
  const cloud = gc ? CLOUD_TRACE.exec(gc) : null;
  if (cloud?.[1]) {
    const span = cloud[2] === undefined ? null : BigInt(cloud[2]).toString(16).padStart(16, '0');
    return { traceId: cloud[1].toLowerCase(), spanId: span, sampled: cloud[3] === '1' };
  }
  return null;
}

const current = new AsyncLocalStorage<TraceContext>();

/** Run `fn` with the request's trace as the current one (no trace header: as is). */
export function withRequestTrace<T>(get: (name: string) => string | null | undefined, fn: () => T): T {
  const trace = parseTraceHeaders(get);
  return trace === null ? fn() : current.run(trace, fn);
}

/** The Cloud Logging correlation fields of the current trace ({} outside a traced request). */
export function logCorrelation(project: string | undefined): Record<string, unknown> {
  const t = current.getStore();
  if (t === undefined) return {};
  return {
    'logging.googleapis.com/trace': project ? `projects/${project}/traces/${t.traceId}` : t.traceId,
    ...(t.spanId === null ? {} : { 'logging.googleapis.com/spanId': t.spanId }),
    'logging.googleapis.com/trace_sampled': t.sampled,
  };
}

/** `stack_trace` (read by Error Reporting) from the line's `err`, when it has a stack. */
export function errorReportingFields(obj: Record<string, unknown>): Record<string, unknown> {
  const err = obj.err;
  if (err === null || typeof err !== 'object') return obj;
  const stack = (err as { stack?: unknown }).stack;
  if (typeof stack !== 'string' || stack === '' || 'stack_trace' in obj) return obj;
  return { ...obj, stack_trace: stack };
}

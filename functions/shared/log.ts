/**
 * Structured JSON logs for the functions, in the shape Cloud Logging reads from stdout: one JSON
 * object per line with `severity` and `message` (pino, configured for it). Handlers take a
 * {@link FunctionLogger} so tests can collect what is logged.
 */
import { pino } from 'pino';

export type LogFields = Record<string, unknown>;

export interface FunctionLogger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** A pino logger writing Cloud Logging JSON lines to stdout. */
export function createFunctionLogger(functionName: string, level = 'info'): FunctionLogger {
  const log = pino({
    level,
    messageKey: 'message',
    base: { function: functionName },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
  });
  return {
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}

export interface LogEntry {
  severity: 'INFO' | 'WARNING' | 'ERROR';
  message: string;
  fields: LogFields;
}

/** A logger that keeps entries in memory (tests, benches). */
export function memoryLogger(): FunctionLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (message, fields = {}) => entries.push({ severity: 'INFO', message, fields }),
    warn: (message, fields = {}) => entries.push({ severity: 'WARNING', message, fields }),
    error: (message, fields = {}) => entries.push({ severity: 'ERROR', message, fields }),
  };
}

/** A logger that drops everything (benches). */
export const silentLogger: FunctionLogger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The error as log fields (name, message, code and, unless `stack: false`, the stack) without
 * vendor objects. functions-framework already prints the stack of an error a handler throws.
 */
export function errorFields(err: unknown, opts: { stack?: boolean } = {}): LogFields {
  if (err instanceof Error) {
    const code = 'code' in err ? err.code : undefined;
    return {
      error: {
        name: err.name,
        message: err.message,
        ...(code !== undefined ? { code } : {}),
        ...(opts.stack !== false ? { stack: err.stack } : {}),
      },
      // Error Reporting reads the stack from this top-level field.
      ...(opts.stack !== false && err.stack ? { stack_trace: err.stack } : {}),
    };
  }
  return { error: { message: String(err) } };
}

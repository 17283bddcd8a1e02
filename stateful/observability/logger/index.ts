/**
 * Structured JSON logs (pino), shaped for Cloud Logging: every line carries `severity` (DEBUG,
 * INFO, WARNING, ERROR, CRITICAL) and `message`, which Cloud Run's log agent reads as the entry's
 * severity and text, plus `time` (RFC 3339). Locally the same lines go to stdout.
 *
 * On a terminal (`npm start` in a shell) the same lines are printed readable instead, one per event,
 * by pino-pretty (`shouldPrettyPrint`): time, level, message and the event's own fields, without
 * the Cloud Logging envelope. `LOG_FORMAT=json` or `LOG_FORMAT=pretty` forces either.
 *
 * Secrets: configuration is logged only through `redactConfig` (shared/config/redact.ts); as a
 * second line of defence every value under a key that looks secret (api_key, api_secret, password,
 * passphrase, token, authorization, cookie) is replaced by "***" up to four levels deep.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { errorReportingFields, logCorrelation } from '../trace.ts';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line. */
export const REDACTED_KEYS = [
  'api_key',
  'api_secret',
  'apiKey',
  'secret',
  'password',
  'passphrase',
  'token',
  'access_token',
  'authorization',
  'cookie',
] as const;

/** pino redact paths: each secret key at the top level and up to three objects deep. */
export function redactPaths(keys: readonly string[] = REDACTED_KEYS): string[] {
  const out: string[] = [];
  for (const key of keys) {
    out.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  return out;
}

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface CreateLoggerOptions {
  /** pino level: trace, debug, info, warn, error, fatal or silent (default info). */
  level?: string | undefined;
  /** Service name put on every line (default `execution-platform`). */
  name?: string | undefined;
  /** Where lines go (default stdout). Tests pass a stream to read them. */
  destination?: DestinationStream | undefined;
  /** Fields added to every line. */
  base?: Record<string, unknown> | undefined;
  /** Project of the trace ids in `logging.googleapis.com/trace` (default GOOGLE_CLOUD_PROJECT / GCP_PROJECT). */
  project?: string | undefined;
  /** Readable lines for a terminal instead of JSON (see `shouldPrettyPrint`). */
  pretty?: boolean | undefined;
}

/** Pretty on a TTY unless LOG_FORMAT says otherwise (`json` / `pretty`). */
export function shouldPrettyPrint(
  env: Readonly<Record<string, string | undefined>>,
  isTty: boolean | undefined,
): boolean {
  const format = env.LOG_FORMAT?.trim().toLowerCase();
  if (format === 'json') return false;
  if (format === 'pretty') return true;
  return isTty === true;
}

/** Fields of the JSON envelope a reader at a terminal does not need. */
const PRETTY_HIDDEN = 'pid,hostname,name,severity';

function prettyStream(destination?: DestinationStream): DestinationStream {
  return pretty({
    colorize: destination === undefined,
    messageKey: 'message',
    ignore: PRETTY_HIDDEN,
    translateTime: 'SYS:HH:MM:ss.l',
    singleLine: true,
    sync: true,
    ...(destination !== undefined ? { destination } : {}),
  });
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const project = options.project ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCP_PROJECT;
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    name: options.name ?? 'execution-platform',
    messageKey: 'message',
    errorKey: 'err',
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid, ...options.base },
    formatters: {
      level: (label, number) => ({ severity: SEVERITY[label] ?? 'DEFAULT', level: number }),
      // Error Reporting reads the stack from `stack_trace` (trace.ts).
      log: errorReportingFields,
    },
    // The current request's trace (trace.ts): its lines group under it in the Logs Explorer.
    mixin: () => logCorrelation(project),
    redact: { paths: redactPaths(), censor: '***' },
    serializers: { err: pino.stdSerializers.err },
  };
  if (options.pretty === true) return pino(config, prettyStream(options.destination));
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that writes nothing (tests, tools). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

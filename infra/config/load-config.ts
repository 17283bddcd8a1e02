/**
 * Reading the configuration at start-up: the file named by the argument or `EXEC_CONFIG`, or the
 * embedded default (config/local.json semantics) when neither is given. Everything is checked at
 * once and any problem throws a ValidationError naming the file and each field, so a process
 * with a bad configuration never starts. Call it once, at cold start, and pass the frozen result
 * down.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { AppConfig } from '../../shared/config/schema.ts';
import { CONFIG_INVALID, EMBEDDED_CONFIG, safeParseConfig } from '../../shared/config/schema.ts';
import type { Env } from '../../shared/config/substitute.ts';
import type { Issue } from '../../shared/domain/errors.ts';
import { formatPath, ValidationError } from '../../shared/domain/errors.ts';

/** Environment variable naming the configuration file. */
export const CONFIG_PATH_ENV = 'EXEC_CONFIG';

export const CONFIG_NOT_FOUND = 'CONFIG_NOT_FOUND';
export const CONFIG_UNREADABLE = 'CONFIG_UNREADABLE';
export const CONFIG_INVALID_JSON = 'CONFIG_INVALID_JSON';

export interface LoadConfigOptions {
  /** The configuration file; default `EXEC_CONFIG` from `env`; neither → the embedded default. */
  path?: string | undefined;
  /** The environment for `${VAR}` references and `EXEC_CONFIG` (default `process.env`). */
  env?: Env | undefined;
  /** CPU cores for the default `backtest.workers` (default: this machine's). */
  cores?: number | undefined;
}

/** The file `loadConfig` would read (absolute), or undefined for the embedded default. */
export function resolveConfigPath(options: LoadConfigOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const path = options.path ?? env[CONFIG_PATH_ENV];
  return path ? resolve(path) : undefined;
}

/**
 * Load, substitute, validate and freeze the configuration. Throws a ValidationError
 * (`CONFIG_NOT_FOUND`, `CONFIG_UNREADABLE`, `CONFIG_INVALID_JSON` or `CONFIG_INVALID`) whose
 * message starts with the file and whose issues name each field; secrets never appear in it.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const cores = options.cores ?? availableParallelism();
  const file = resolveConfigPath({ path: options.path, env });
  if (file === undefined) return parseOrThrow(EMBEDDED_CONFIG, env, cores, 'embedded default configuration');

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : 'unknown';
    if (code === 'ENOENT') {
      throw withSource(
        new ValidationError(CONFIG_NOT_FOUND, [{ path: '', message: `config file not found: ${file}` }]),
        file,
      );
    }
    throw withSource(
      new ValidationError(CONFIG_UNREADABLE, [
        { path: '', message: `cannot read config file ${file} (${code})` },
      ]),
      file,
    );
  }
  return parseOrThrow(parseConfigText(text, file), env, cores, file);
}

/**
 * JSON.parse with a useful error: the line and column and what was expected there, and every
 * duplicated key (JSON.parse would silently keep the last one) at its field path.
 */
export function parseConfigText(text: string, file = 'config'): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const scan = scanJson(body);
  if (scan.error) {
    const { line, column, message } = scan.error;
    throw withSource(
      new ValidationError(CONFIG_INVALID_JSON, [
        { path: '', message: `invalid JSON in ${file} at line ${line}, column ${column}: ${message}` },
      ]),
      file,
    );
  }
  if (scan.duplicates.length > 0) {
    throw withSource(new ValidationError(CONFIG_INVALID, scan.duplicates), file);
  }
  return JSON.parse(body);
}

function parseOrThrow(raw: unknown, env: Env, cores: number, source: string): AppConfig {
  const r = safeParseConfig(raw, { env, cores });
  if (!r.success) throw withSource(r.error, source);
  return r.data;
}

/** Prefix the error's message with where the configuration came from. */
function withSource(err: ValidationError, source: string): ValidationError {
  if (!err.message.startsWith(source)) err.message = `${source}: ${err.message}`;
  return err;
}

// ---------------------------------------------------------------------------------------------
// A JSON syntax scanner (only locates errors and duplicate keys; JSON.parse builds the value)
// ---------------------------------------------------------------------------------------------

export interface JsonSyntaxError {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  message: string;
}

export interface JsonScan {
  error?: JsonSyntaxError;
  duplicates: Issue[];
}

class JsonScanFailure extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}

/** Check JSON syntax (RFC 8259) and find duplicate keys; never throws. */
export function scanJson(text: string): JsonScan {
  const duplicates: Issue[] = [];
  let i = 0;

  const fail = (message: string, at = i): never => {
    throw new JsonScanFailure(at, message);
  };
  const describe = (at: number): string => {
    if (at >= text.length) return 'end of input';
    const ch = text.charAt(at);
    return ch === '\n' ? 'end of line' : `'${ch}'`;
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else if (c === 0x2f && (text.charAt(i + 1) === '/' || text.charAt(i + 1) === '*')) {
        fail('comments are not allowed in JSON (document settings in docs/configuration.md)');
      } else break;
    }
  };
  const string = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    while (true) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string (write \\n, \\t, ...)');
      if (c === 0x5c) {
        const e = text.charAt(i + 1);
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape (expected 4 hex digits)');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') {
          out += e;
          i += 2;
        } else {
          fail(`invalid escape \\${e}`);
        }
      } else {
        out += text.charAt(i);
        i++;
      }
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-') fail(`invalid number`);
    else i += m[0].length;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe(i)} (strings need double quotes)`);
  };
  const value = (path: PropertyKey[]): void => {
    ws();
    const ch = text.charAt(i);
    if (ch === '{') object(path);
    else if (ch === '[') array(path);
    else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch >= '0' && ch <= '9')) number();
    else if (ch === "'") fail('strings need double quotes, not single quotes');
    else fail(`expected a value, found ${describe(i)}`);
  };
  const object = (path: PropertyKey[]): void => {
    i++; // {
    const seen = new Set<string>();
    ws();
    if (text.charAt(i) === '}') {
      i++;
      return;
    }
    while (true) {
      ws();
      if (text.charAt(i) === '}') fail('trailing comma before } is not allowed');
      if (text.charAt(i) !== '"') fail(`expected a property name in double quotes, found ${describe(i)}`);
      const key = string();
      if (seen.has(key)) duplicates.push({ path: formatPath([...path, key]), message: 'duplicate key' });
      seen.add(key);
      ws();
      if (text.charAt(i) !== ':') fail(`expected ':' after property name "${key}", found ${describe(i)}`);
      i++;
      value([...path, key]);
      ws();
      const sep = text.charAt(i);
      if (sep === ',') {
        i++;
        continue;
      }
      if (sep === '}') {
        i++;
        return;
      }
      fail(`expected ',' or '}' after a property value, found ${describe(i)}`);
    }
  };
  const array = (path: PropertyKey[]): void => {
    i++; // [
    ws();
    if (text.charAt(i) === ']') {
      i++;
      return;
    }
    let index = 0;
    while (true) {
      ws();
      if (text.charAt(i) === ']') fail('trailing comma before ] is not allowed');
      value([...path, index]);
      index++;
      ws();
      const sep = text.charAt(i);
      if (sep === ',') {
        i++;
        continue;
      }
      if (sep === ']') {
        i++;
        return;
      }
      fail(`expected ',' or ']' after an array element, found ${describe(i)}`);
    }
  };

  try {
    ws();
    if (i >= text.length) fail('the file is empty');
    value([]);
    ws();
    if (i < text.length) fail(`unexpected ${describe(i)} after the end of the JSON document`);
  } catch (e) {
    if (!(e instanceof JsonScanFailure)) throw e;
    return { error: { ...lineColumn(text, e.at), message: e.message }, duplicates };
  }
  return { duplicates };
}

function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(at, text.length);
  for (let k = 0; k < end; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

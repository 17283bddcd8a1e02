/**
 * Keeping secret values out of logs and error messages.
 *
 * `redactConfig` is what every log line, health page or debug dump of the configuration must go
 * through; `scrubSecrets` is the belt-and-braces pass over error text.
 */
import { isSecretKey } from './substitute.ts';

export const REDACTED = '***';

/**
 * A deep copy of `cfg` in which every non-empty scalar under a secret key (api_key, api_secret,
 * password, anything matching /secret|password|passphrase|token|api_key/i) is replaced by "***".
 * Empty strings stay empty so a dump still shows which secrets are unset. Works on any JSON-like
 * value, frozen or not; the input is not modified.
 */
export function redactConfig<T>(cfg: T): T {
  return redactNode(cfg, false) as T;
}

function redactNode(node: unknown, secret: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => redactNode(item, secret));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      Object.defineProperty(out, k, {
        value: redactNode(v, isSecretKey(k)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (!secret || node === undefined || node === null || node === '') return node;
  return REDACTED;
}

/** Every non-empty scalar value under a secret key of `cfg` (as strings). */
export function collectSecrets(cfg: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown, secret: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, secret);
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, isSecretKey(k));
    } else if (secret && node !== undefined && node !== null && node !== '') {
      found.add(String(node));
    }
  };
  walk(cfg, false);
  return [...found];
}

/**
 * Replace every occurrence of each secret value in `text` by "***" (longest first, so a secret
 * that contains another is removed whole).
 */
export function scrubSecrets(text: string, secrets: Iterable<string>): string {
  const sorted = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of sorted) out = out.split(s).join(REDACTED);
  return out;
}

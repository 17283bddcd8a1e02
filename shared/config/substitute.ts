// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the configuration file's substitution syntax, not a mistaken template literal
/**
 * Environment-variable substitution for the configuration file (pure: the environment is a
 * parameter, never `process.env`).
 *
 * Every string VALUE in the parsed JSON may contain references:
 *
 * - `${NAME}`            the value of NAME; an unset NAME is an error naming the config field.
 * - `${NAME:-default}`   the value of NAME, or `default` when NAME is unset or empty.
 * - `$${`                a literal `${` (so `$${HOME}` stays the text `${HOME}`).
 *
 * NAME is `[A-Za-z_][A-Za-z0-9_]*`; a default runs to the first `}` and is taken literally.
 * Object keys are never substituted. Numbers and booleans pass through untouched; numeric and
 * boolean fields of the schema accept strings, so `"port": "${PORT:-8080}"` works.
 *
 * Secrets (any key matching {@link SECRET_KEY_RE}) must come from the environment: their value
 * must be exactly one reference, `"${VAR}"` (or `"${VAR:-}"` for an optional secret). A literal
 * value in the file is rejected without echoing it.
 */
import type { Issue } from '../domain/errors.ts';
import { formatPath } from '../domain/errors.ts';

/** The environment as a plain map (`process.env` fits). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Keys whose values are secrets: they must come from the environment and are redacted. */
export const SECRET_KEY_RE = /secret|password|passphrase|token|api_key/i;

/** True when a config key names a secret (api_key, api_secret, password, ...). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_RE.test(key);
}

export const SECRET_FROM_ENV_MESSAGE = 'secrets must come from the environment: use ${VAR}';

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A whole-string reference with no default or an empty one: the only allowed secret form. */
const SECRET_REF_RE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(:-)?\}$/;

/** The result of expanding one string. */
export interface Interpolation {
  value: string;
  /** Variables referenced without a default that are not set (in order of appearance). */
  missing: string[];
  /** Every variable whose value was substituted (set variables only). */
  used: string[];
  /** Set when a `${` has no closing `}` or an invalid name; describes the problem. */
  malformed?: string;
}

/**
 * Expand the references in one string. Never throws: problems are reported in the result, and a
 * missing variable expands to the empty string so the caller can keep collecting issues.
 */
export function interpolate(template: string, env: Env): Interpolation {
  const missing: string[] = [];
  const used: string[] = [];
  let malformed: string | undefined;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    if (template.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!template.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = template.indexOf('}', dollar + 2);
    if (close < 0) {
      malformed ??= `unterminated \${ at character ${dollar + 1} (write $\${ for a literal \${)`;
      out += template.slice(dollar);
      break;
    }
    const body = template.slice(dollar + 2, close);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    const fallback = sep < 0 ? undefined : body.slice(sep + 2);
    if (!NAME_RE.test(name)) {
      malformed ??= `invalid variable name in \${...} at character ${dollar + 1}: names are letters, digits and _ (write $\${ for a literal \${)`;
      out += template.slice(dollar, close + 1);
      i = close + 1;
      continue;
    }
    const value = env[name];
    if (fallback !== undefined) {
      if (value === undefined || value === '') {
        out += fallback;
      } else {
        out += value;
        used.push(name);
      }
    } else if (value === undefined) {
      missing.push(name);
    } else {
      out += value;
      used.push(name);
    }
    i = close + 1;
  }
  const result: Interpolation = { value: out, missing, used };
  if (malformed !== undefined) result.malformed = malformed;
  return result;
}

/** The result of substituting a whole parsed config document. */
export interface SubstitutionResult {
  /** A deep copy of the input with every string expanded. */
  value: unknown;
  /** Missing variables, malformed references and literal secrets, each at its field path. */
  issues: Issue[];
  /** Substituted secret values (at secret keys, or from variables whose name looks secret). */
  secrets: string[];
}

/**
 * Substitute environment references in every string value of a parsed JSON document and check
 * that secret fields come from the environment. Collects every problem rather than stopping at
 * the first. Never puts a secret value in an issue.
 */
export function substituteEnv(raw: unknown, env: Env): SubstitutionResult {
  const issues: Issue[] = [];
  const secrets = new Set<string>();

  const expand = (s: string, path: PropertyKey[], secretField: boolean): string => {
    const r = interpolate(s, env);
    const at = formatPath(path);
    if (r.malformed !== undefined) {
      issues.push({ path: at, message: `malformed variable reference: ${r.malformed}` });
    }
    for (const name of r.missing) {
      issues.push({ path: at, message: `environment variable ${name} is not set` });
    }
    for (const name of r.used) {
      const v = env[name];
      if (v && isSecretKey(name)) secrets.add(v);
    }
    if (secretField && r.value !== '') secrets.add(r.value);
    return r.value;
  };

  const walk = (node: unknown, path: PropertyKey[], key: string | undefined): unknown => {
    const secretField = key !== undefined && isSecretKey(key);
    if (typeof node === 'string') {
      if (secretField && node !== '' && !SECRET_REF_RE.test(node)) {
        issues.push({ path: formatPath(path), message: SECRET_FROM_ENV_MESSAGE });
        return '';
      }
      return expand(node, path, secretField);
    }
    if (secretField && (typeof node === 'number' || typeof node === 'boolean')) {
      issues.push({ path: formatPath(path), message: SECRET_FROM_ENV_MESSAGE });
      return '';
    }
    if (Array.isArray(node)) {
      // An array under a secret key is a list of secrets: each element follows the secret rule.
      return node.map((item, i) => walk(item, [...path, i], key));
    }
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        // defineProperty so that a "__proto__" key stays data, exactly as JSON.parse made it.
        Object.defineProperty(out, k, {
          value: walk(v, [...path, k], k),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return node;
  };

  const value = walk(raw, [], undefined);
  return { value, issues, secrets: [...secrets] };
}

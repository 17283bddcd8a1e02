/**
 * Reads Terraform configurations for tests, without Terraform or its providers: every `.tf` file
 * of a folder is turned into JSON by `@cdktf/hcl2json` (the HCL parser Terraform uses, compiled to
 * WebAssembly) and the files of one folder are merged into one module. Values are what the HCL
 * says: literals as JSON, expressions as `"${...}"` strings (nothing is evaluated).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface TfModule {
  dir: string;
  /** File names (`main.tf`, ...). */
  files: string[];
  /** The text of every `.tf` file, joined, with comments removed. */
  code: string;
  variables: Record<string, JsonObject>;
  outputs: Record<string, JsonObject>;
  /** resource type → resource name → body. */
  resources: Record<string, Record<string, JsonObject>>;
  /** module call name → body. */
  modules: Record<string, JsonObject>;
  /** provider name → configuration (`provider "google" { ... }`). */
  providers: Record<string, JsonObject>;
  /** All `locals` blocks merged. */
  locals: JsonObject;
  /** `terraform` blocks. */
  terraform: JsonObject[];
  /** `moved` blocks (`from`, `to` as `"${address}"`). */
  moved: JsonObject[];
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, unwrapping hcl2json's one-element block arrays; throws otherwise. */
export function obj(value: Json | undefined, what = 'value'): JsonObject {
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (!isObject(v)) throw new Error(`${what} is not an object: ${JSON.stringify(value)?.slice(0, 200)}`);
  return v;
}

/** Blocks of one kind (hcl2json keeps repeated blocks as arrays). */
export function blocks(value: Json | undefined): JsonObject[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter(isObject);
}

export function str(value: Json | undefined, what = 'value'): string {
  if (typeof value !== 'string') throw new Error(`${what} is not a string: ${JSON.stringify(value)}`);
  return value;
}

/** Strips `#` and `//` comments (outside strings) and `/* *\/` comments. */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
    } else if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === '#' || (c === '/' && next === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function named(section: Json | undefined, what: string): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  if (section === undefined) return out;
  for (const [name, body] of Object.entries(obj(section, what))) out[name] = obj(body, `${what} ${name}`);
  return out;
}

/** Parses one `.tf` or `.tfvars` text. */
export async function parseHcl(fileName: string, text: string): Promise<JsonObject> {
  const parsed: unknown = await parse(fileName, text);
  return obj(parsed as Json, fileName);
}

/** Loads every `.tf` file of `dir` as one module. */
export async function loadModule(dir: string): Promise<TfModule> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  const mod: TfModule = {
    dir,
    files,
    code: '',
    variables: {},
    outputs: {},
    resources: {},
    modules: {},
    providers: {},
    locals: {},
    terraform: [],
    moved: [],
  };
  const texts: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    texts.push(stripComments(text));
    const json = await parseHcl(file, text);
    Object.assign(mod.variables, named(json.variable, `${file}: variable`));
    Object.assign(mod.outputs, named(json.output, `${file}: output`));
    Object.assign(mod.modules, named(json.module, `${file}: module`));
    Object.assign(mod.providers, named(json.provider, `${file}: provider`));
    for (const locals of blocks(json.locals)) Object.assign(mod.locals, locals);
    mod.terraform.push(...blocks(json.terraform));
    mod.moved.push(...blocks(json.moved));
    if (json.resource !== undefined) {
      for (const [type, byName] of Object.entries(obj(json.resource, `${file}: resource`))) {
        mod.resources[type] = { ...mod.resources[type], ...named(byName, `${file}: resource ${type}`) };
      }
    }
  }
  mod.code = texts.join('\n');
  return mod;
}

/** Names referenced as `<prefix>.<name>` in code (e.g. `var`, `local`). */
export function references(code: string, prefix: string): Set<string> {
  const re = new RegExp(`(?<![\\w.])${prefix}\\.([A-Za-z_][\\w-]*)`, 'g');
  return new Set([...code.matchAll(re)].map((m) => m[1] ?? ''));
}

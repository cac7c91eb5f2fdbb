// Offline JSON schemas for kubeconform, generated from pinned sources that come through the Go module proxy
// (kubeconform cannot download its schemas here):
// - Kubernetes: api/openapi-spec/swagger.json of the k8s.io/kubernetes module (pinned in tools.env), one file
//   per kind that the spec marks with a single x-kubernetes-group-version-kind;
// - CRDs: ServiceMonitor, PodMonitor, PrometheusRule... from the prometheus-operator module
//   (example/prometheus-operator-crd/), HTTPRoute, Gateway... from the sigs.k8s.io/gateway-api module
//   (config/crd/standard/).
// Written in kubeconform's own layout, strict variant only:
//   <root>/v<k8s version>-standalone-strict/<kind>-<first label of the group>-<version>.json
// (core kinds: <kind>-<version>.json), each file standalone (the definitions it reaches ride along under
// "definitions"). Strict means what kubeconform's strict schemas mean: every object schema that lists its
// properties refuses others (additionalProperties: false) unless the source says it keeps unknown fields.
// Like kubernetes-json-schema: IntOrString is a string or an integer, a Quantity a string or a number, an
// optional primitive may be null (the API server reads null as absent).
// Run alone: `node k8s-tests/lib/schemas.ts [dir]` prints the -schema-location for kubeconform.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { findTool, goModuleDir, pinned } from './tools.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

const DEF_PREFIX = '#/definitions/';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
/** Definitions replaced outright, as kubernetes-json-schema does. */
const REPLACED: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

/** kubeconform's KindSuffix: "-" + first label of the group (if any) + "-" + version, lowercased. */
export function schemaFileName(kind: string, apiVersion: string): string {
  const [groupOrVersion, version] = apiVersion.split('/');
  const suffix = `-${groupOrVersion.split('.')[0].toLowerCase()}${version ? `-${version.toLowerCase()}` : ''}`;
  return `${kind.toLowerCase()}${suffix}.json`;
}

function isObject(v: Json | undefined): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One schema node converted: vendor keys dropped, strictness added, int-or-string and nullable mapped. */
function convert(node: Json, optional: boolean): Json {
  if (Array.isArray(node)) return node.map((n) => convert(n, false));
  if (!isObject(node)) return node;
  const out: Schema = {};
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || key === 'nullable') continue;
    if (key === 'format' && value === 'int-or-string') continue;
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, prop]) => [name, convert(prop, !required.has(name))]),
      );
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = convert(value, false);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = convert(value, false);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string') {
    delete out.type;
    out.anyOf = [{ type: 'string' }, { type: 'integer' }];
  }
  const keepsUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(node.properties) && out.additionalProperties === undefined && !keepsUnknown)
    out.additionalProperties = false;
  if (typeof out.type === 'string' && (node.nullable === true || (optional && out.type !== 'object')))
    out.type = [out.type, 'null'];
  return out;
}

/** The names of the definitions a schema reaches through "$ref": "#/definitions/<name>". */
function refsOf(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, into));
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(DEF_PREFIX))
        into.add(value.slice(DEF_PREFIX.length));
      else refsOf(value, into);
    }
  }
}

/** The schema with the definitions it reaches (transitively) under "definitions". */
function standalone(root: Schema, defs: Record<string, Schema>): Schema {
  const closure = new Set<string>();
  const queue = new Set<string>();
  refsOf(root, queue);
  while (queue.size) {
    const [name] = queue;
    queue.delete(name);
    if (closure.has(name)) continue;
    if (!defs[name]) throw new Error(`schema refers to an unknown definition ${name}`);
    closure.add(name);
    const more = new Set<string>();
    refsOf(defs[name], more);
    for (const m of more) if (!closure.has(m)) queue.add(m);
  }
  const definitions = Object.fromEntries([...closure].sort().map((n) => [n, defs[n]]));
  return closure.size ? { ...root, definitions } : root;
}

function pinKindAndVersion(schema: Schema, kind: string, apiVersion: string): Schema {
  const properties = isObject(schema.properties) ? { ...schema.properties } : {};
  properties.kind = { type: 'string', enum: [kind] };
  properties.apiVersion = { type: 'string', enum: [apiVersion] };
  const required = new Set([...(Array.isArray(schema.required) ? (schema.required as string[]) : []), 'kind']);
  required.add('apiVersion');
  return { ...schema, properties, required: [...required] };
}

interface Generated {
  /** file name -> schema */
  files: Map<string, Schema>;
  /** "apiVersion kind" of every schema written */
  kinds: string[];
}

function add(gen: Generated, kind: string, apiVersion: string, schema: Schema): void {
  const file = schemaFileName(kind, apiVersion);
  const id = `${apiVersion} ${kind}`;
  if (gen.files.has(file)) throw new Error(`two kinds map to the schema file ${file} (the second is ${id})`);
  gen.files.set(file, schema);
  gen.kinds.push(id);
}

/** The Kubernetes kinds of a swagger.json (OpenAPI v2) in kubeconform's strict layout. */
export function kubernetesSchemas(
  swagger: { definitions: Record<string, Schema> },
  gen: Generated,
): Record<string, Schema> {
  const defs: Record<string, Schema> = {};
  for (const [name, def] of Object.entries(swagger.definitions))
    defs[name] = REPLACED[name] ?? (convert(def, false) as Schema);
  for (const [name, def] of Object.entries(swagger.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    // several kinds on one definition: the shared meta types (DeleteOptions, WatchEvent), never a manifest
    if (!Array.isArray(gvks) || gvks.length !== 1) continue;
    const { group, version, kind } = gvks[0] as { group: string; version: string; kind: string };
    const apiVersion = group ? `${group}/${version}` : version;
    add(gen, kind, apiVersion, standalone(pinKindAndVersion(defs[name], kind, apiVersion), defs));
  }
  return defs;
}

interface Crd {
  kind?: string;
  spec?: {
    group: string;
    names: { kind: string };
    versions: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Schema } }[];
  };
}

/** Every served version of every CRD in these YAML files; metadata checked as the Kubernetes ObjectMeta. */
export function crdSchemas(files: string[], k8sDefs: Record<string, Schema>, gen: Generated): void {
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (!crd || crd.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
      for (const v of crd.spec.versions) {
        if (v.served === false) continue;
        const source = v.schema?.openAPIV3Schema;
        if (!source) throw new Error(`${file}: ${crd.spec.names.kind} ${v.name} has no openAPIV3Schema`);
        const apiVersion = `${crd.spec.group}/${v.name}`;
        const schema = convert(source, false) as Schema;
        const properties = isObject(schema.properties) ? { ...schema.properties } : {};
        properties.metadata = { $ref: `${DEF_PREFIX}${OBJECT_META}` };
        const root = pinKindAndVersion({ ...schema, properties }, crd.spec.names.kind, apiVersion);
        add(gen, crd.spec.names.kind, apiVersion, standalone(root, k8sDefs));
      }
    }
  }
}

export interface SchemaSet {
  /** The directory holding v<version>-standalone-strict/ */
  root: string;
  /** kubeconform -schema-location (strict only: without -strict it names a directory that does not exist) */
  location: string;
  /** "apiVersion kind" of every schema */
  kinds: string[];
}

const SELF = fileURLToPath(import.meta.url);
const versionDir = () => `${pinned.kubernetes}-standalone-strict`;

/** Writes the whole set into root (which must not exist yet). */
async function generateInto(root: string, go: string): Promise<string[]> {
  const [k8s, promOp, gwApi] = await Promise.all([
    goModuleDir(go, 'k8s.io/kubernetes', pinned.kubernetes),
    goModuleDir(go, 'github.com/prometheus-operator/prometheus-operator', pinned.prometheusOperator),
    goModuleDir(go, 'sigs.k8s.io/gateway-api', pinned.gatewayApi),
  ]);
  const gen: Generated = { files: new Map(), kinds: [] };
  const swagger = JSON.parse(readFileSync(join(k8s, 'api', 'openapi-spec', 'swagger.json'), 'utf8'));
  const defs = kubernetesSchemas(swagger, gen);
  const yamlIn = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort()
      .map((f) => join(dir, f));
  crdSchemas(
    [
      ...yamlIn(join(promOp, 'example', 'prometheus-operator-crd')),
      ...yamlIn(join(gwApi, 'config', 'crd', 'standard')),
    ],
    defs,
    gen,
  );
  const out = join(root, versionDir());
  mkdirSync(out, { recursive: true });
  for (const [file, schema] of gen.files) writeFileSync(join(out, file), JSON.stringify(schema));
  writeFileSync(join(root, 'kinds.json'), JSON.stringify(gen.kinds.sort(), null, 1));
  return gen.kinds;
}

/**
 * The schema set for the pinned versions, generated once per machine into a temporary directory keyed by the
 * versions and this file's content (so a change here regenerates). Parallel callers race safely: each writes
 * its own directory and renames it into place; the loser drops its copy.
 */
export async function ensureSchemas(go: string, cacheRoot = join(tmpdir(), 'et-k8s-schemas')): Promise<SchemaSet> {
  const key = createHash('sha256').update(readFileSync(SELF)).update(JSON.stringify(pinned)).digest('hex').slice(0, 16);
  const root = join(cacheRoot, `${pinned.kubernetes}-${key}`);
  if (!existsSync(join(root, 'kinds.json'))) {
    mkdirSync(cacheRoot, { recursive: true });
    const work = mkdtempSync(join(cacheRoot, '.work-'));
    try {
      await generateInto(join(work, 'set'), go);
      try {
        renameSync(join(work, 'set'), root);
      } catch (err) {
        if (!existsSync(join(root, 'kinds.json'))) throw err;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return {
    root,
    location: join(
      root,
      '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json',
    ),
    kinds: JSON.parse(readFileSync(join(root, 'kinds.json'), 'utf8')) as string[],
  };
}

if (process.argv[1] === SELF) {
  const go = findTool('go');
  if (!go) {
    console.error('go not found: the schemas come from Go modules (go mod download); install Go 1.26 or newer');
    process.exit(1);
  }
  const target = process.argv[2];
  const set = target ? await ensureSchemas(go, dirname(join(target, 'x'))) : await ensureSchemas(go);
  console.log(`${set.kinds.length} kinds in ${set.root}`);
  console.log(
    `kubeconform -strict -kubernetes-version ${pinned.kubernetes.slice(1)} -schema-location '${set.location}'`,
  );
}

// The merged contract is OpenAPI 3.0.3: every service contract is written in 3.0, and 3.0 is what the
// validators and Swagger UI handle best. A contract written in 3.1 (the gateway's own says 3.1.0) is
// brought down to 3.0 here, so one 3.1-only keyword can never make the merged document invalid.
//
// Only schema objects change between the two versions in the ways handled here:
//   type: [T, 'null']        → type: T, nullable: true      (several non-null types → oneOf)
//   anyOf/oneOf with {type: 'null'} → the other branches, nullable: true
//   const: v                 → enum: [v]
//   exclusiveMinimum: n      → minimum: n, exclusiveMinimum: true (same for maximum)
//   examples: [a, ...]       → example: a
// Everything else a 3.0 schema does not know ($schema, $id, $comment, contentMediaType...) is dropped.
// Example values, defaults and extensions are data, never walked.

const DROPPED_31_KEYWORDS = [
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'contentMediaType',
  'contentEncoding',
  'unevaluatedProperties',
  'unevaluatedItems',
  'dependentRequired',
  'dependentSchemas',
  'prefixItems',
  'if',
  'then',
  'else',
];

/** Keys whose value is a schema (or an array / name map of schemas) inside a schema object. */
const SUBSCHEMA = ['items', 'additionalProperties', 'not'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties'];

function isObject(v: unknown): v is Record<string, any> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function isNullSchema(s: unknown): boolean {
  return isObject(s) && s.type === 'null' && Object.keys(s).length === 1;
}

/** One schema object (and its subschemas), returned as a new 3.0 schema. */
export function schemaTo30(input: unknown): unknown {
  if (!isObject(input)) return input;
  const s: Record<string, any> = { ...input };
  if ('$ref' in s) return { $ref: s.$ref }; // 3.0 ignores a $ref's siblings; keep it a pure reference

  for (const key of DROPPED_31_KEYWORDS) delete s[key];
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t: unknown) => t !== 'null');
    if (types.length < s.type.length) s.nullable = true;
    if (types.length === 1) s.type = types[0];
    else {
      delete s.type;
      if (types.length > 1) s.oneOf = types.map((t: string) => ({ type: t }));
    }
  }
  for (const key of ['anyOf', 'oneOf']) {
    if (!Array.isArray(s[key]) || !s[key].some(isNullSchema)) continue;
    s.nullable = true;
    const rest = s[key].filter((b: unknown) => !isNullSchema(b));
    if (rest.length === 1 && !('allOf' in s)) {
      delete s[key];
      s.allOf = rest; // a single branch left: "this schema, or null"
    } else s[key] = rest;
  }
  if ('const' in s) {
    s.enum = [s.const];
    delete s.const;
  }
  if (s.nullable && Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null];
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof s[exclusive] === 'number') {
      s[bound] = s[exclusive];
      s[exclusive] = true;
    }
  }
  if (Array.isArray(s.examples)) {
    if (s.examples.length > 0 && !('example' in s)) s.example = s.examples[0];
    delete s.examples;
  }

  for (const key of SUBSCHEMA) if (isObject(s[key])) s[key] = schemaTo30(s[key]);
  for (const key of SUBSCHEMA_LISTS) if (Array.isArray(s[key])) s[key] = s[key].map(schemaTo30);
  for (const key of SUBSCHEMA_MAPS) {
    if (isObject(s[key]))
      s[key] = Object.fromEntries(Object.entries(s[key]).map(([name, sub]) => [name, schemaTo30(sub)]));
  }
  return s;
}

/** Keys of non-schema objects whose values are data, not OpenAPI structure. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const']);

/** Walks a document's non-schema structure and converts every schema found (component schemas and every
 *  `schema` of a parameter, header or media type). */
function walk(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(walk);
  if (!isObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || DATA_KEYS.has(key)) out[key] = value;
    else if (key === 'schema') out[key] = schemaTo30(value);
    else out[key] = walk(value);
  }
  return out;
}

/** A contract as OpenAPI 3.0 (a 3.0 document is returned as it is). */
export function documentTo30(document: any): any {
  if (typeof document?.openapi === 'string' && document.openapi.startsWith('3.0.')) return document;
  const { components, webhooks: _webhooks, jsonSchemaDialect: _dialect, ...rest } = document ?? {};
  const converted: any = walk(rest);
  if (isObject(components)) {
    const { schemas, pathItems: _pathItems, ...others } = components;
    converted.components = walk(others);
    if (isObject(schemas))
      converted.components.schemas = Object.fromEntries(
        Object.entries(schemas).map(([name, s]) => [name, schemaTo30(s)]),
      );
  }
  // 3.1 lets info carry a summary and a licence identifier; 3.0 does not.
  if (isObject(converted.info)) {
    const { summary: _summary, ...info } = converted.info;
    if (isObject(info.license)) {
      const { identifier: _identifier, ...license } = info.license;
      info.license = license;
    }
    converted.info = info;
  }
  converted.openapi = '3.0.3';
  return converted;
}

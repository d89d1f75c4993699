import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { StrandError } from '../core/index.js';
import { canonicalJson, type JsonValue } from './jcs.js';

/*
 * Event payload schemas: the JSON Schema subset the registry accepts, the compatibility rules
 * between two versions, and validation with the failing field's JSON Pointer. The subset is
 * closed on purpose: compatibility is only decidable for keywords we reason about, so a schema
 * using any other keyword is refused instead of being checked half-way (docs/EVENTS.md).
 */

export const JSON_TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
export type JsonType = (typeof JSON_TYPES)[number];
export const COMPATIBILITY_MODES = ['backward', 'forward', 'full', 'none'] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

export interface EventSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly enum?: readonly JsonValue[];
  readonly properties?: Readonly<Record<string, EventSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: EventSchema;
  readonly default?: JsonValue;
  readonly title?: string;
  readonly description?: string;
}

const ANNOTATIONS = new Set(['title', 'description', '$comment', '$schema', '$id', 'examples']);
const KEYWORDS = new Set(['type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'default']);
const MAX_DEPTH = 32;
export const MAX_SCHEMA_BYTES = 64 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const bad = (path: string, why: string): StrandError => new StrandError('INVALID_REQUEST', `schema${path}: ${why}`, { path: `schema${path}` });
const ptr = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks that `raw` is in the supported subset and returns it normalised (annotations other
 * than title/description dropped). Throws INVALID_REQUEST naming the offending schema path.
 */
export function parseEventSchema(raw: unknown): EventSchema {
  if (!isRecord(raw)) throw bad('', 'must be a JSON object');
  const text = canonicalJson(raw, 'schema');
  if (Buffer.byteLength(text, 'utf8') > MAX_SCHEMA_BYTES) throw bad('', `over ${MAX_SCHEMA_BYTES} bytes`);
  const root = node(raw, '', 0);
  checkDefaults(root, '');
  return root;
}

function node(raw: unknown, path: string, depth: number): EventSchema {
  if (!isRecord(raw)) throw bad(path, 'must be a JSON object');
  if (depth > MAX_DEPTH) throw bad(path, `nested deeper than ${MAX_DEPTH}`);
  const out: { -readonly [K in keyof EventSchema]: EventSchema[K] } = {};
  for (const [k, v] of Object.entries(raw)) {
    if (ANNOTATIONS.has(k)) {
      if ((k === 'title' || k === 'description') && typeof v === 'string') out[k] = v;
      continue;
    }
    if (!KEYWORDS.has(k)) throw bad(path, `keyword "${k}" is not supported (supported: ${[...KEYWORDS].join(', ')})`);
  }
  if (raw.type !== undefined) {
    const list = Array.isArray(raw.type) ? raw.type : [raw.type];
    if (list.length === 0 || list.some((t) => !(JSON_TYPES as readonly unknown[]).includes(t)) || new Set(list).size !== list.length) {
      throw bad(`${path}/type`, `must be one of ${JSON_TYPES.join(', ')} or a non-empty array of distinct ones`);
    }
    out.type = Array.isArray(raw.type) ? (list as JsonType[]) : (raw.type as JsonType);
  }
  if (raw.enum !== undefined) {
    if (!Array.isArray(raw.enum) || raw.enum.length === 0) throw bad(`${path}/enum`, 'must be a non-empty array');
    const seen = new Set(raw.enum.map((e, i) => canonicalJson(e, `schema${path}/enum/${i}`)));
    if (seen.size !== raw.enum.length) throw bad(`${path}/enum`, 'values must be distinct');
    out.enum = raw.enum as JsonValue[];
  }
  if (raw.properties !== undefined) {
    if (!isRecord(raw.properties)) throw bad(`${path}/properties`, 'must be an object');
    const props: Record<string, EventSchema> = {};
    for (const [k, v] of Object.entries(raw.properties)) props[k] = node(v, `${path}/properties/${ptr(k)}`, depth + 1);
    out.properties = props;
  }
  if (raw.required !== undefined) {
    if (!Array.isArray(raw.required) || raw.required.some((r) => typeof r !== 'string') || new Set(raw.required).size !== raw.required.length) {
      throw bad(`${path}/required`, 'must be an array of distinct strings');
    }
    out.required = raw.required as string[];
  }
  if (raw.additionalProperties !== undefined) {
    if (typeof raw.additionalProperties !== 'boolean') throw bad(`${path}/additionalProperties`, 'only true or false is supported');
    out.additionalProperties = raw.additionalProperties;
  }
  if (raw.items !== undefined) out.items = node(raw.items, `${path}/items`, depth + 1);
  if (raw.default !== undefined) out.default = raw.default as JsonValue;
  return out;
}

// A default that its own field's schema refuses would make "filled by the reader" a lie.
function checkDefaults(s: EventSchema, path: string): void {
  if (s.default !== undefined) {
    const err = compile(s).validate(s.default);
    if (err) throw bad(`${path}/default`, `does not match its own schema (${err.path || '/'}: ${err.message})`);
  }
  for (const [k, p] of Object.entries(s.properties ?? {})) checkDefaults(p, `${path}/properties/${ptr(k)}`);
  if (s.items) checkDefaults(s.items, `${path}/items`);
}

// ---- validation ------------------------------------------------------------------------

export interface SchemaViolation {
  /** JSON Pointer (RFC 6901) of the failing field in the payload; "" is the payload itself. */
  readonly path: string;
  readonly keyword: string;
  readonly message: string;
}

export interface EventSchemaValidator {
  /** The first violation, or null when the payload matches. */
  validate(payload: unknown): SchemaViolation | null;
}

// Strict checks are redundant: parseEventSchema already refused every keyword outside the
// subset. An Ajv instance keeps every schema it ever compiled (a few KB each, measured), so it
// is replaced every 500 compiles; validators already made keep only their own instance alive.
const newAjv = (): Ajv => new Ajv({ strict: false, allErrors: false, validateSchema: false });
let ajv = newAjv();
let compiles = 0;

function toAjv(s: EventSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.type !== undefined) out.type = s.type;
  if (s.enum !== undefined) out.enum = s.enum;
  if (s.properties !== undefined) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, toAjv(v)]));
  if (s.required !== undefined) out.required = s.required;
  if (s.additionalProperties !== undefined) out.additionalProperties = s.additionalProperties;
  if (s.items !== undefined) out.items = toAjv(s.items);
  return out;
}

function violation(e: ErrorObject): SchemaViolation {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: `${e.instancePath}/${ptr(String(params.missingProperty))}`, keyword: e.keyword, message: 'is required' };
    case 'additionalProperties':
      return { path: `${e.instancePath}/${ptr(String(params.additionalProperty))}`, keyword: e.keyword, message: 'is not allowed (additionalProperties is false)' };
    case 'enum':
      return { path: e.instancePath, keyword: e.keyword, message: `must be one of ${JSON.stringify(params.allowedValues)}` };
    default:
      return { path: e.instancePath, keyword: e.keyword, message: e.message ?? `fails ${e.keyword}` };
  }
}

export function compile(s: EventSchema): EventSchemaValidator {
  if (++compiles % 500 === 0) ajv = newAjv();
  const fn: ValidateFunction = ajv.compile(toAjv(s));
  return {
    validate(payload) {
      if (fn(payload)) return null;
      const first = fn.errors?.[0];
      return first ? violation(first) : { path: '', keyword: 'unknown', message: 'does not match the schema' };
    },
  };
}

// ---- compatibility ---------------------------------------------------------------------

/** One reason a reader schema cannot read every payload a writer schema admits. */
export interface Incompatibility {
  /** Where in the payload: a JSON Pointer with `*` for any array element. */
  readonly path: string;
  readonly message: string;
}

function typesOf(s: EventSchema): ReadonlySet<JsonType> | null {
  if (s.type === undefined) return null;
  return new Set(typeof s.type === 'string' ? [s.type] : s.type);
}

function admits(s: EventSchema, t: JsonType): boolean {
  const ts = typesOf(s);
  return ts === null || ts.has(t) || (t === 'integer' && ts.has('number'));
}

const show = (v: JsonValue): string => canonicalJson(v);

/**
 * Why `reader` cannot read everything `writer` admits (empty: it can). The reader fills a
 * missing field from its `default`. Properties the writer does not declare but an open writer
 * could still send are assumed absent: the registry judges declared fields only.
 */
export function readerIncompatibilities(reader: EventSchema, writer: EventSchema, path = ''): Incompatibility[] {
  const out: Incompatibility[] = [];
  const at = path || '/';
  const rt = typesOf(reader);
  const wt = typesOf(writer);
  if (rt !== null) {
    if (wt === null) out.push({ path: at, message: `type narrowed from any to ${[...rt].join('|')}` });
    else for (const t of wt) if (!admits(reader, t)) out.push({ path: at, message: `type ${t} is no longer accepted (now ${[...rt].join('|')})` });
  }
  if (reader.enum !== undefined) {
    if (writer.enum === undefined) out.push({ path: at, message: 'enum introduced: values outside it were valid' });
    else {
      const allowed = new Set(reader.enum.map(show));
      for (const v of writer.enum) if (!allowed.has(show(v))) out.push({ path: at, message: `enum value ${show(v)} removed` });
    }
  }
  if (admits(reader, 'object') && admits(writer, 'object')) {
    const rp = reader.properties ?? {};
    const wp = writer.properties ?? {};
    const wreq = new Set(writer.required ?? []);
    for (const name of reader.required ?? []) {
      if (!wreq.has(name) && rp[name]?.default === undefined) out.push({ path: `${path}/${ptr(name)}`, message: 'required without a default, but the other version may omit it' });
    }
    for (const [name, r] of Object.entries(rp)) {
      const w = wp[name];
      if (w !== undefined) out.push(...readerIncompatibilities(r, w, `${path}/${ptr(name)}`));
    }
    if (reader.additionalProperties === false) {
      for (const name of Object.keys(wp)) if (!(name in rp)) out.push({ path: `${path}/${ptr(name)}`, message: 'not declared while additionalProperties is false' });
      if (writer.additionalProperties !== false) out.push({ path: at, message: 'additionalProperties closed: undeclared fields were allowed' });
    }
  }
  // Both without items: any elements on both sides, nothing to compare (and no fixpoint to chase).
  if (admits(reader, 'array') && admits(writer, 'array') && (reader.items || writer.items)) {
    out.push(...readerIncompatibilities(reader.items ?? {}, writer.items ?? {}, `${path}/*`));
  }
  return out;
}

/**
 * What breaks `mode` when `next` follows `previous`. backward: next reads previous's data;
 * forward: previous reads next's data; full: both; none: nothing checked.
 */
export function compatibilityBreaks(previous: EventSchema, next: EventSchema, mode: CompatibilityMode): string[] {
  const out: string[] = [];
  if (mode === 'backward' || mode === 'full') for (const i of readerIncompatibilities(next, previous)) out.push(`backward: ${i.path}: ${i.message}`);
  if (mode === 'forward' || mode === 'full') for (const i of readerIncompatibilities(previous, next)) out.push(`forward: ${i.path}: ${i.message}`);
  return out;
}

/** A copy of `value` with the reader's defaults filled in where a field is missing. */
export function applyDefaults(s: EventSchema, value: JsonValue): JsonValue {
  if (Array.isArray(value)) return s.items ? value.map((v) => applyDefaults(s.items!, v)) : value;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, JsonValue> = { ...value };
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (out[k] === undefined) {
      if (p.default !== undefined) out[k] = p.default;
    } else out[k] = applyDefaults(p, out[k]);
  }
  return out;
}

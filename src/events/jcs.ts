import { StrandError } from '../core/index.js';

/*
 * RFC 8785 JSON Canonicalization Scheme, written here rather than taken from npm: it is forty
 * lines over what JavaScript already guarantees (Number.prototype.toString IS the ECMAScript
 * number serialisation the RFC mandates; JSON.stringify of a string IS its escaping; the default
 * string sort compares UTF-16 code units as §3.2.3 requires), and owning it lets us refuse what
 * the RFC refuses (lone surrogates, non-finite numbers) with our own error code.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function str(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new StrandError('INVALID_REQUEST', `${path} holds a lone UTF-16 surrogate`);
  return JSON.stringify(s);
}

function write(v: unknown, path: string, depth: number, out: string[]): void {
  if (depth > 64) throw new StrandError('INVALID_REQUEST', `${path} nests deeper than 64 levels`);
  if (v === null) out.push('null');
  else if (v === true) out.push('true');
  else if (v === false) out.push('false');
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new StrandError('INVALID_REQUEST', `${path} is not a finite number`);
    // -0 prints as "0" through toString already (RFC 8785 §3.2.2.3).
    out.push(String(v));
  } else if (typeof v === 'string') out.push(str(v, path));
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, `${path}[${i}]`, depth + 1, out);
    });
    out.push(']');
  } else if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(str(k, path), ':');
      write((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, out);
    });
    out.push('}');
  } else {
    throw new StrandError('INVALID_REQUEST', `${path} is not a JSON value`);
  }
}

/** The canonical text of a JSON value (what JSON.parse produced); throws INVALID_REQUEST on
 * values JSON cannot carry. */
export function canonicalJson(value: unknown, path = '$'): string {
  const out: string[] = [];
  write(value, path, 0, out);
  return out.join('');
}

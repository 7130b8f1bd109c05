/**
 * opa-wasm loads an ArrayBuffer result as JSON text verbatim, so numbers the
 * wasm keeps exactly (nanosecond timestamps, big serial numbers, claims) do
 * not pass through a JS double.
 */

const encoder = new TextEncoder();

/** Wraps JSON text so opa-wasm loads it verbatim. The caller guarantees it is valid JSON. */
export function rawJson(text: string): ArrayBuffer {
  const bytes = encoder.encode(text);
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with lone surrogates replaced by U+FFFD, as Go's JSON decoder does. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** A string as a JSON string literal the wasm can load. */
export function jsonString(s: string): string {
  return JSON.stringify(wellFormed(s));
}

// OPA's wasm JSON parser aborts on escaped lone surrogates, which Go's decoder turns into U+FFFD.
// Alternatives in order: a valid pair, a lone surrogate, any other escape (so an escaped backslash before "u" is not misread).
const ESCAPES = /\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[^u]/g;
const LONE_ESCAPE = /^\\u[dD][89a-fA-F]/;

/**
 * JSON text the wasm can load, from the text of a JWT part (valid JSON):
 * the text itself, numbers kept exact, with escaped lone surrogates
 * replaced as Go replaces them.
 */
export function passthroughJson(text: string): string {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return text;
  return text.replace(ESCAPES, (e) => (e.length === 6 && LONE_ESCAPE.test(e) ? '\\ufffd' : e));
}

/** An integer written to JSON with all its digits (Go's `*big.Int`). */
export class ExactInt {
  constructor(readonly value: bigint) {}
}

/** JSON text of `v`: ExactInt digit for digit, Buffers as base64 (Go's `[]byte`), undefined as null. */
export function toJsonText(v: unknown): string {
  if (v instanceof ExactInt) return v.value.toString();
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return jsonString(v.toString('base64'));
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${jsonString(k)}:${toJsonText(x)}`).join(',')}}`;
}

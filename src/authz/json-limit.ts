/** JSON body validation with a nesting limit, shared by every body parser. */
import { RawJson } from '../json/raw-json.js';

/**
 * Returns the deepest nesting of arrays and objects in JSON text. Strings are
 * skipped so brackets inside them do not count.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const ESCAPE = /\\(?:u([0-9a-fA-F]{4})|.)/g;

/**
 * Replaces escaped lone surrogates by \ufffd, as Go's decoder does; OPA's
 * wasm JSON parser would refuse the whole input otherwise. Escapes are
 * read left to right, so `\\` never starts a false match.
 */
function wellFormedEscapes(text: string): string {
  const escapes = [...text.matchAll(ESCAPE)];
  const lone = new Set<number>();
  for (let i = 0; i < escapes.length; i++) {
    const code = escapes[i]![1] ? parseInt(escapes[i]![1]!, 16) : -1;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = escapes[i + 1];
      const nextCode = next?.[1] ? parseInt(next[1], 16) : -1;
      if (next && next.index === escapes[i]!.index + 6 && nextCode >= 0xdc00 && nextCode <= 0xdfff) i++;
      else lone.add(escapes[i]!.index);
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      lone.add(escapes[i]!.index);
    }
  }
  if (lone.size === 0) return text;
  let out = '';
  let at = 0;
  for (const index of lone) {
    out += `${text.slice(at, index)}\\ufffd`;
    at = index + 6;
  }
  return out + text.slice(at);
}

/**
 * Validates JSON text (syntax and nesting) and returns it for the input
 * verbatim, so numbers keep the exact text OPA-Envoy's json.Number keeps.
 */
export function parseJsonLimited(text: string, maxDepth: number): RawJson {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new Error(`JSON nesting exceeds limits.max_json_depth (${maxDepth})`);
  }
  JSON.parse(text);
  return new RawJson(SURROGATE_ESCAPE.test(text) ? wellFormedEscapes(text) : text);
}

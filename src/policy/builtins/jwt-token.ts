/**
 * Splitting and decoding compact JWS tokens the way OPA's topdown/tokens.go
 * does: the same checks, in the same order, with the same outcomes.
 */
import { BuiltinError, messageOf, stringArg } from './args.js';
import { decodeBase64Url } from './encoding.js';

/** The three base64url parts of a compact token. */
export interface TokenParts {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
}

/** A JSON object decoded from a token part, with its text (to hand back verbatim). */
export interface JsonPart {
  readonly text: string;
  readonly value: Record<string, unknown>;
}

/** Header fields OPA interprets. */
export interface TokenHeader {
  alg: string;
  kid: string;
  typ: string;
  cty: string;
  crit: Set<string> | undefined;
  unknown: string[];
}

/** Splits operand 1 of `builtin` into its three parts. */
export function splitToken(builtin: string, token: unknown): TokenParts {
  const s = stringArg(builtin, 1, token);
  if (!s.includes('.')) throw new BuiltinError(builtin, 'encoded JWT had no period separators');
  const parts = s.split('.');
  if (parts.length !== 3) throw new BuiltinError(builtin, `encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

const utf8 = new TextDecoder(); // replaces invalid UTF-8 with U+FFFD, as Go's JSON decoder does

/** Parses `text` as a JSON object, or throws `what` + the reason. */
export function jsonObject(builtin: string, text: string, what: string): JsonPart {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BuiltinError(builtin, `${what}invalid JSON: ${messageOf(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BuiltinError(builtin, `${what}decoded JSON type was not an Object`);
  }
  return { text, value: value as Record<string, unknown> };
}

/** Decodes one base64url part to text. */
export function decodePartText(builtin: string, part: string, what: string): string {
  try {
    return utf8.decode(decodeBase64Url(part));
  } catch (err) {
    throw new BuiltinError(builtin, `JWT ${what} had invalid encoding: ${messageOf(err)}`);
  }
}

/** Decodes the signature part to bytes. */
export function decodeSignature(builtin: string, parts: TokenParts): Buffer {
  try {
    return decodeBase64Url(parts.signature);
  } catch (err) {
    throw new BuiltinError(builtin, messageOf(err));
  }
}

/** Decodes and checks the header: a JSON object that is not a JWE. */
export function decodeHeader(builtin: string, parts: TokenParts): JsonPart {
  const header = jsonObject(builtin, decodePartText(builtin, parts.header, 'header'), 'bad JWT header: ');
  if ('enc' in header.value) throw new BuiltinError(builtin, 'JWT is a JWE object, which is not supported');
  return header;
}

/** Reads the header fields OPA knows; a non-string known field is an error. */
export function parseTokenHeader(builtin: string, header: Record<string, unknown>): TokenHeader {
  const out: TokenHeader = { alg: '', kid: '', typ: '', cty: '', crit: undefined, unknown: [] };
  for (const [key, value] of Object.entries(header)) {
    if (key === 'alg' || key === 'kid' || key === 'typ' || key === 'cty') {
      if (typeof value !== 'string') throw new BuiltinError(builtin, `${key}: must be a string`);
      out[key] = value;
    } else if (key === 'crit') {
      if (!Array.isArray(value)) throw new BuiltinError(builtin, 'crit: must be a list');
      // OPA ignores non-string entries here.
      out.crit = new Set(value.filter((v): v is string => typeof v === 'string'));
      if (out.crit.size === 0) throw new BuiltinError(builtin, 'crit: must be a nonempty list');
    } else {
      out.unknown.push(key);
    }
  }
  return out;
}

/** RFC 7515: `alg` is required, and a critical header we do not understand invalidates the token. */
export function headerIsValid(header: TokenHeader): boolean {
  if (header.alg === '') return false;
  return !header.unknown.some((name) => header.crit?.has(name));
}

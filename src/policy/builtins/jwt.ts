/**
 * `io.jwt.decode`, `io.jwt.verify_*` and `io.jwt.decode_verify`, following
 * OPA's topdown/tokens.go (v1.22). Malformed tokens and bad keys are
 * errors; a token that decodes but fails a check gives `false`
 * (`[false, {}, {}]` for decode_verify).
 * https://www.openpolicyagent.org/docs/policy-reference/builtins/tokens
 */
import { BuiltinError, objectArg, stringArg, typeName } from './args.js';
import type { NowNs } from './clock.js';
import {
  anyKeyMatches, cachedKeys, hmacMatches, schemeOf, signatureMatches, type KeyMaterial, type Scheme, type VerificationKey,
} from './jwt-keys.js';
import {
  decodeHeader, decodePartText, decodeSignature, headerIsValid, jsonObject, parseTokenHeader, splitToken, type JsonPart,
} from './jwt-token.js';
import { jsonString, passthroughJson, rawJson } from './raw-json.js';
import { VerifiedTokens } from './verified-tokens.js';

type Builtin = (...args: unknown[]) => unknown;

function decode(builtin: string, token: unknown): { header: JsonPart; payload: JsonPart; signatureHex: string } {
  const parts = splitToken(builtin, token);
  const header = decodeHeader(builtin, parts);
  const payloadText = decodePartText(builtin, parts.payload, 'payload');
  const cty = header.value['cty'];
  if (cty !== undefined && typeof cty !== 'string') throw new BuiltinError(builtin, 'cty: must be a string');
  if (cty === 'JWT') {
    // A nested token; jwt.io-style encoders quote it, so OPA strips quotes.
    return decode(builtin, payloadText.replace(/^["']+|["']+$/g, ''));
  }
  const payload = jsonObject(builtin, payloadText, '');
  const signatureHex = decodeSignature(builtin, parts).toString('hex');
  return { header, payload, signatureHex };
}

function jwtDecode(token: unknown): ArrayBuffer {
  const { header, payload, signatureHex } = decode('io.jwt.decode', token);
  const h = passthroughJson(header.text);
  const p = passthroughJson(payload.text);
  return rawJson(`[${h},${p},${jsonString(signatureHex)}]`);
}

function verifyAsymmetric(builtin: string, scheme: Scheme): Builtin {
  return (token, key) => {
    const parts = splitToken(builtin, token);
    const keys = cachedKeys(builtin, stringArg(builtin, 2, key));
    const signature = decodeSignature(builtin, parts);
    const header = parseTokenHeader(builtin, decodeHeader(builtin, parts).value);
    const input = `${parts.header}.${parts.payload}`;
    // OPA checks the builtin's own algorithm, whatever the header's alg says.
    return anyKeyMatches(keys, header.kid, header.alg, (k) => signatureMatches(k, scheme, input, signature, 'opa'));
  };
}

function verifyHmac(builtin: string, hash: Scheme['hash']): Builtin {
  return (token, secret) => {
    stringArg(builtin, 1, token);
    const secretText = stringArg(builtin, 2, secret);
    const parts = splitToken(builtin, token);
    const signature = decodeSignature(builtin, parts);
    return hmacMatches(hash, Buffer.from(secretText), `${parts.header}.${parts.payload}`, signature);
  };
}

interface Constraints {
  keys: readonly VerificationKey[] | undefined;
  /** The key constraint as given (`cert` or `secret`), naming the key for the cache. */
  keySource: string;
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  timeNs: number;
}

const DV = 'io.jwt.decode_verify';

function constraintString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new BuiltinError(DV, `${name} constraint: must be a string`);
  return value;
}

function parseConstraints(raw: Record<string, unknown>, now: NowNs): Constraints {
  const c: Constraints = { keys: undefined, keySource: '', secret: '', alg: '', iss: '', aud: '', timeNs: -1 };
  for (const [name, value] of Object.entries(raw)) {
    switch (name) {
      case 'cert':
        c.keys = cachedKeys(DV, constraintString('cert', value));
        c.keySource = JSON.stringify(['cert', value]);
        break;
      case 'secret':
      case 'alg':
      case 'iss':
      case 'aud':
        c[name] = constraintString(name, value);
        break;
      case 'time':
        if (typeof value !== 'number') throw new BuiltinError(DV, 'token time constraint: must be a number');
        if (value < 0) throw new BuiltinError(DV, 'token time constraint: must not be negative');
        c.timeNs = value;
        break;
      default:
        throw new BuiltinError(DV, `unknown token validation constraint: ${name}`);
    }
  }
  if (c.timeNs === -1) c.timeNs = Number(now());
  const keySources = (c.keys !== undefined ? 1 : 0) + (c.secret !== '' ? 1 : 0);
  if (keySources > 1) throw new BuiltinError(DV, 'duplicate key constraints');
  if (keySources < 1) throw new BuiltinError(DV, 'no key constraint');
  if (c.secret !== '') c.keySource = JSON.stringify(['secret', c.secret]);
  return c;
}

function keyMatches(c: Constraints, kid: string, alg: string, input: string, signature: Buffer): boolean {
  const scheme = schemeOf(alg);
  if (!scheme) return false;
  const check = (k: KeyMaterial): boolean => signatureMatches(k, scheme, input, signature, 'jws');
  if (c.keys !== undefined) return anyKeyMatches(c.keys, kid, alg, check);
  return check({ kind: 'secret', bytes: Buffer.from(c.secret) });
}

function audienceMatches(aud: unknown, wanted: string): boolean {
  if (typeof aud === 'string') return aud === wanted;
  return Array.isArray(aud) && aud.some((a) => typeof a === 'string' && a === wanted);
}

const unverified = (): ArrayBuffer => rawJson('[false,{},{}]');

/** A token whose signatures (nested ones included) verified: the innermost header and payload. */
interface VerifiedToken {
  readonly header: JsonPart;
  readonly payload: JsonPart;
}

/** Decodes `token` and checks its signatures; null when a check fails. Throws on malformed tokens. */
function verifySignatures(c: Constraints, token: unknown): VerifiedToken | null {
  let current: unknown = token;
  let header: JsonPart;
  let payloadText: string;
  for (;;) {
    const parts = splitToken(DV, current);
    header = decodeHeader(DV, parts);
    const fields = parseTokenHeader(DV, header.value);
    if (!headerIsValid(fields)) return null;
    if (c.alg !== '' && c.alg !== fields.alg) return null;
    const signature = decodeSignature(DV, parts);
    if (!keyMatches(c, fields.kid, fields.alg, `${parts.header}.${parts.payload}`, signature)) return null;
    payloadText = decodePartText(DV, parts.payload, 'payload');
    if (fields.cty.toLowerCase() !== 'jwt') break;
    current = payloadText; // nested token, verified with the same constraints
  }
  return { header, payload: jsonObject(DV, payloadText, '') };
}

function decodeVerify(now: NowNs): Builtin {
  // Per engine: a new bundle starts empty. Errors are not remembered; they throw each time.
  const verified = new VerifiedTokens<VerifiedToken | null>();
  return (token, constraints) => {
    const c = parseConstraints(objectArg(DV, 2, constraints), now);
    // JSON, not a separator: alg and the key may hold any character, NUL included.
    const cacheKey = JSON.stringify([c.alg, c.keySource]);
    let outcome = typeof token === 'string' ? verified.get(cacheKey, token) : undefined;
    if (outcome === undefined) {
      outcome = verifySignatures(c, token);
      verified.set(cacheKey, token as string, outcome);
    }
    if (outcome === null) return unverified();
    const { header, payload } = outcome;
    const claims = payload.value;
    // OPA 1.22 panics on a non-string iss here; we call that a mismatch.
    if (c.iss !== '' && claims['iss'] !== c.iss) return unverified();
    if ('aud' in claims ? !audienceMatches(claims['aud'], c.aud) : c.aud !== '') return unverified();
    const nowSeconds = c.timeNs / 1e9;
    for (const claim of ['exp', 'nbf'] as const) {
      if (!(claim in claims)) continue;
      const v = claims[claim];
      if (typeof v !== 'number') throw new BuiltinError(DV, `${claim} value must be a number, got ${typeName(v)}`);
      if (claim === 'exp' ? nowSeconds >= v : nowSeconds < v) return unverified();
    }
    const h = passthroughJson(header.text);
    const p = passthroughJson(payload.text);
    return rawJson(`[true,${h},${p}]`);
  };
}

/** The `io.jwt.*` host builtins. */
export function jwtBuiltins(now: NowNs): Record<string, Builtin> {
  const out: Record<string, Builtin> = {
    'io.jwt.decode': jwtDecode,
    'io.jwt.decode_verify': decodeVerify(now),
  };
  for (const bits of ['256', '384', '512'] as const) {
    const hash = `sha${bits}` as const;
    out[`io.jwt.verify_rs${bits}`] = verifyAsymmetric(`io.jwt.verify_rs${bits}`, { family: 'RS', hash });
    out[`io.jwt.verify_ps${bits}`] = verifyAsymmetric(`io.jwt.verify_ps${bits}`, { family: 'PS', hash });
    out[`io.jwt.verify_es${bits}`] = verifyAsymmetric(`io.jwt.verify_es${bits}`, { family: 'ES', hash });
    out[`io.jwt.verify_hs${bits}`] = verifyHmac(`io.jwt.verify_hs${bits}`, hash);
  }
  return out;
}

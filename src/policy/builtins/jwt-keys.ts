/**
 * Verification keys and signature checks for the `io.jwt.*` builtins.
 *
 * We use node:crypto rather than `jose`: opa-wasm calls builtins
 * synchronously, and jose's key import and verify are async (WebCrypto).
 * OPA has two verifiers with slightly different rules, both mirrored here:
 * its own (`io.jwt.verify_*`) and lestrrat-go/jwx's `jwsbb.Verify`
 * (`io.jwt.decode_verify`).
 */
import {
  X509Certificate, constants, createHmac, createPublicKey, timingSafeEqual, verify, type JsonWebKey, type KeyObject,
} from 'node:crypto';
import { BuiltinError, messageOf } from './args.js';
import { decodeBase64Url, decodePem } from './encoding.js';

/** Algorithms OPA accepts in a JWK's `alg` (other keys of a set are skipped). */
export const TOKEN_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA',
]);

/** Key material: an asymmetric key, or HMAC secret bytes. */
export type KeyMaterial =
  | { readonly kind: 'asymmetric'; readonly key: KeyObject; readonly isPrivate: boolean }
  | { readonly kind: 'secret'; readonly bytes: Buffer };

/** A key with the `alg` and `kid` its JWK declared ("" when none). */
export interface VerificationKey {
  readonly alg: string;
  readonly kid: string;
  readonly material: KeyMaterial;
}

/** How a signature is checked. */
export interface Scheme {
  readonly family: 'RS' | 'PS' | 'ES' | 'HS' | 'EdDSA';
  readonly hash: 'sha256' | 'sha384' | 'sha512';
}

/** The scheme a JWS `alg` names, if OPA's jwx knows it. */
export function schemeOf(alg: string): Scheme | undefined {
  if (alg === 'EdDSA') return { family: 'EdDSA', hash: 'sha512' };
  const m = /^(RS|PS|ES|HS)(256|384|512)$/.exec(alg);
  if (!m) return undefined;
  return { family: m[1] as Scheme['family'], hash: `sha${m[2]}` as Scheme['hash'] };
}

// Go's x509 parses only these key types; node parses more, so we refuse the rest.
const CURVE_BYTES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

function checkSupported(key: KeyObject): KeyObject {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    if (!(curve in CURVE_BYTES)) throw new Error(`unsupported elliptic curve ${curve}`);
  } else if (type !== 'rsa' && type !== 'ed25519' && type !== 'x25519') {
    throw new Error(`unknown public key algorithm ${type ?? ''}`);
  }
  return key;
}

function asymmetric(key: KeyObject, isPrivate = false): KeyMaterial {
  return { kind: 'asymmetric', key: checkSupported(key), isPrivate };
}

function parsePemKey(builtin: string, text: string): VerificationKey[] | undefined {
  const block = decodePem(text);
  if (!block) return undefined;
  if (block.rest.length > 0) throw new BuiltinError(builtin, 'extra data after a PEM certificate block');
  if (block.type === 'CERTIFICATE') {
    try {
      return [{ alg: '', kid: '', material: asymmetric(new X509Certificate(block.bytes).publicKey) }];
    } catch (err) {
      throw new BuiltinError(builtin, `failed to parse a PEM certificate: ${messageOf(err)}`);
    }
  }
  if (block.type === 'PUBLIC KEY') {
    try {
      return [{ alg: '', kid: '', material: asymmetric(createPublicKey({ key: block.bytes, format: 'der', type: 'spki' })) }];
    } catch (err) {
      throw new BuiltinError(builtin, `failed to parse a PEM public key: ${messageOf(err)}`);
    }
  }
  throw new BuiltinError(builtin, 'failed to extract a Key from the PEM certificate');
}

function importJwk(jwk: unknown): KeyMaterial {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new Error('key is not an object');
  const k = jwk as Record<string, unknown>;
  switch (k['kty']) {
    case 'oct':
      if (typeof k['k'] !== 'string') throw new Error('oct key without "k"');
      return { kind: 'secret', bytes: decodeBase64Url(k['k']) };
    case 'RSA':
    case 'EC':
    case 'OKP':
      // createPublicKey derives the public half of a private JWK.
      return asymmetric(createPublicKey({ key: k as JsonWebKey, format: 'jwk' }), 'd' in k);
    default:
      throw new Error(`invalid key type from JSON (${String(k['kty'])})`);
  }
}

const KEY_CACHE_ENTRIES = 100;
const KEY_CACHE_MAX_TEXT = 64 * 1024;
const keyCache = new Map<string, readonly VerificationKey[]>();

/**
 * {@link parseKeys}, remembering the last 100 results: policies verify many
 * tokens against the same few keys, and OPA caches parsed keys the same way.
 */
export function cachedKeys(builtin: string, text: string): readonly VerificationKey[] {
  const hit = keyCache.get(text);
  if (hit) {
    keyCache.delete(text); // most recently used goes last
    keyCache.set(text, hit);
    return hit;
  }
  const keys = parseKeys(builtin, text);
  if (text.length <= KEY_CACHE_MAX_TEXT) {
    if (keyCache.size >= KEY_CACHE_ENTRIES) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(text, keys);
  }
  return keys;
}

/** The keys in a `cert` constraint or verify_* key: a PEM certificate or public key, a JWK, or a JWKS. */
export function parseKeys(builtin: string, text: string): readonly VerificationKey[] {
  const pem = parsePemKey(builtin, text);
  if (pem) return pem;
  const fail = (why: string): BuiltinError => new BuiltinError(builtin, `failed to parse a JWK key (set): ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail(messageOf(err));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail('not a JSON object');
  const set = 'keys' in doc ? (doc as { keys: unknown }).keys : [doc];
  if (!Array.isArray(set)) throw fail('"keys" is not an array');
  const keys: VerificationKey[] = [];
  set.forEach((jwk: unknown, i) => {
    let material: KeyMaterial;
    try {
      material = importJwk(jwk);
    } catch (err) {
      throw fail(`key #${i}: ${messageOf(err)}`);
    }
    const { alg, kid } = jwk as { alg?: unknown; kid?: unknown };
    const algName = typeof alg === 'string' ? alg : '';
    if (algName !== '' && !TOKEN_ALGORITHMS.has(algName)) return; // OPA skips keys for other algorithms
    keys.push({ alg: algName, kid: typeof kid === 'string' ? kid : '', material });
  });
  return keys;
}

/** HMAC check with a constant-time compare. */
export function hmacMatches(hash: Scheme['hash'], secret: Buffer, input: string, signature: Buffer): boolean {
  const mac = createHmac(hash, secret).update(input).digest();
  return mac.length === signature.length && timingSafeEqual(mac, signature);
}

// Go's verify_es* splits the signature in half whatever its length; node wants fixed-size r||s.
function halvesToP1363(signature: Buffer, size: number): Buffer | undefined {
  const n = Math.floor(signature.length / 2);
  const out = Buffer.alloc(size * 2);
  for (const [i, part] of [signature.subarray(0, n), signature.subarray(n)].entries()) {
    let start = 0;
    while (start < part.length && part[start] === 0) start++;
    const digits = part.subarray(start);
    if (digits.length > size) return undefined;
    digits.copy(out, (i + 1) * size - digits.length);
  }
  return out;
}

/**
 * Checks `signature` over `input` with one key. `flavour` picks OPA's rules:
 * 'opa' for io.jwt.verify_* (public keys only; PSS salt auto-detected; ECDSA
 * signature halves of any length), 'jws' for io.jwt.decode_verify (jwx:
 * private JWKs act as public keys; PSS salt = hash length; ECDSA signature
 * exactly twice the curve size).
 */
export function signatureMatches(key: KeyMaterial, scheme: Scheme, input: string, signature: Buffer, flavour: 'opa' | 'jws'): boolean {
  if (scheme.family === 'HS') {
    return key.kind === 'secret' && key.bytes.length > 0 && hmacMatches(scheme.hash, key.bytes, input, signature);
  }
  if (key.kind !== 'asymmetric' || (flavour === 'opa' && key.isPrivate)) return false;
  const type = key.key.asymmetricKeyType;
  const data = Buffer.from(input);
  try {
    switch (scheme.family) {
      case 'RS':
        return type === 'rsa' && verify(scheme.hash, data, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'PS': {
        const saltLength = flavour === 'opa' ? constants.RSA_PSS_SALTLEN_AUTO : constants.RSA_PSS_SALTLEN_DIGEST;
        return type === 'rsa' && verify(scheme.hash, data, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
      }
      case 'ES': {
        if (type !== 'ec') return false;
        const size = CURVE_BYTES[key.key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 0;
        const sig = flavour === 'opa' ? halvesToP1363(signature, size) : signature.length === 2 * size ? signature : undefined;
        return sig !== undefined && verify(scheme.hash, data, { key: key.key, dsaEncoding: 'ieee-p1363' }, sig);
      }
      case 'EdDSA':
        return type === 'ed25519' && verify(null, data, key.key, signature);
    }
  } catch {
    return false; // malformed signature for this key
  }
}

/**
 * OPA's key selection: if the token's `kid` names a key, only that key is
 * tried; otherwise every key whose JWK `alg` is unset or equals the
 * token's `alg`.
 */
export function anyKeyMatches(
  keys: readonly VerificationKey[],
  kid: string,
  alg: string,
  check: (key: KeyMaterial) => boolean,
): boolean {
  if (kid !== '') {
    const named = keys.find((k) => k.kid === kid);
    if (named) return check(named.material);
  }
  return keys.some((k) => (k.alg === '' || k.alg === alg) && check(k.material));
}

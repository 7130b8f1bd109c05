// HS256 JSON Web Tokens (RFC 7519, RFC 7515), verified with our own
// HMAC-SHA256: the proxy-wasm ABI has no crypto host call. Every failure is a
// reason string for the 401, never a trap.
import {
  JsonValue,
  base64UrlDecode,
  base64UrlEncode,
  bytesOf,
  constantTimeEqual,
  fromUtf8,
  parseJson,
} from "../../sdk";
import { JwtConfig } from "./config";

/** A verified token's identity, or the reason it was refused. */
export class JwtResult {
  subject: string = "";
  scopes: string[] = [];
  claims: JsonValue | null = null;
  error: string = "";
  get ok(): bool {
    return this.error.length == 0;
  }
}

function fail(reason: string): JwtResult {
  const r = new JwtResult();
  r.error = reason;
  return r;
}

function decodeJsonSegment(segment: string): JsonValue | null {
  const bytes = base64UrlDecode(segment);
  if (bytes === null) return null;
  const parsed = parseJson(fromUtf8(bytes.buffer));
  const value = parsed.value;
  if (value === null || !value.isObject()) return null;
  return value;
}

function audienceMatches(aud: JsonValue | null, wanted: string): bool {
  if (aud === null) return false;
  if (aud.isString()) return aud.str == wanted;
  if (!aud.isArray()) return false;
  for (let i = 0; i < aud.items.length; i++) {
    const item = aud.items[i];
    if (item.isString() && item.str == wanted) return true;
  }
  return false;
}

function scopesOf(value: JsonValue | null): string[] {
  const out = new Array<string>();
  if (value === null) return out;
  if (value.isString()) {
    const parts = value.str.split(" ");
    for (let i = 0; i < parts.length; i++) if (parts[i].length > 0) out.push(parts[i]);
  } else if (value.isArray()) {
    for (let i = 0; i < value.items.length; i++) if (value.items[i].isString()) out.push(value.items[i].str);
  }
  return out;
}

/** Verifies `token` against `config` at `nowSeconds`. */
export function verifyJwt(token: string, config: JwtConfig, nowSeconds: f64): JwtResult {
  const parts = token.split(".");
  if (parts.length != 3 || parts[0].length == 0 || parts[1].length == 0 || parts[2].length == 0) {
    return fail("malformed token");
  }
  const header = decodeJsonSegment(parts[0]);
  if (header === null) return fail("malformed token header");
  const alg = header.get("alg");
  if (alg === null || !alg.isString() || alg.str != "HS256") return fail("unsupported token algorithm");
  if (header.get("crit") !== null) return fail("unsupported critical token header");

  // Compare encodings, not decoded bytes: a re-encoded signature cannot pass.
  const signed = bytesOf(parts[0] + "." + parts[1]);
  const expected = bytesOf(base64UrlEncode(config.key.mac(signed)));
  if (!constantTimeEqual(expected, bytesOf(parts[2]))) return fail("bad token signature");

  const claims = decodeJsonSegment(parts[1]);
  if (claims === null) return fail("malformed token claims");

  const exp = claims.get("exp");
  if (exp !== null) {
    if (!exp.isNumber()) return fail("token exp is not a number");
    if (nowSeconds >= exp.num + config.leewaySeconds) return fail("token expired");
  } else if (config.requireExpiration) {
    return fail("token has no exp");
  }
  const nbf = claims.get("nbf");
  if (nbf !== null) {
    if (!nbf.isNumber()) return fail("token nbf is not a number");
    if (nowSeconds + config.leewaySeconds < nbf.num) return fail("token not yet valid");
  }
  if (config.issuer.length > 0) {
    const iss = claims.get("iss");
    if (iss === null || !iss.isString() || iss.str != config.issuer) return fail("token issuer mismatch");
  }
  if (config.audience.length > 0 && !audienceMatches(claims.get("aud"), config.audience)) {
    return fail("token audience mismatch");
  }
  const sub = claims.get(config.subjectClaim);
  if (sub === null || !sub.isString() || sub.str.length == 0) return fail("token has no subject");

  const result = new JwtResult();
  result.subject = sub.str;
  result.scopes = scopesOf(claims.get(config.scopesClaim));
  result.claims = claims;
  return result;
}

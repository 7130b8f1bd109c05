// custom-auth configuration (Istio `pluginConfig`), validated against an
// allow-list of keys. See wasm-filters/README.md for the reference.
import { ConfigErrors, ConfigObject, HmacSha256Key, JsonValue, base64UrlDecode, bytesOf } from "../../sdk";

/** One API key and the identity it stands for. */
export class ApiKey {
  constructor(public key: Uint8Array, public subject: string, public scopes: string[]) {}
}

/** HS256 JWT settings. */
export class JwtConfig {
  secret: Uint8Array = new Uint8Array(0);
  /** The secret's HMAC key schedule, computed once at configure time. */
  key: HmacSha256Key = new HmacSha256Key(new Uint8Array(0));
  issuer: string = "";
  audience: string = "";
  header: string = "authorization";
  leewaySeconds: f64 = 0;
  requireExpiration: bool = true;
  subjectClaim: string = "sub";
  scopesClaim: string = "scope";
}

/** A claim a rule requires, compared as JSON scalars. */
export class ClaimRequirement {
  constructor(public name: string, public value: JsonValue) {}
}

/** Which requests a rule covers and what it requires of them. */
export class Rule {
  prefix: string = "/";
  methods: string[] = [];
  anonymous: bool = false;
  deny: bool = false;
  scopes: string[] = [];
  subjects: string[] = [];
  claims: ClaimRequirement[] = [];
}

/** The whole configuration. */
export class AuthConfig {
  apiKeyHeader: string = "x-api-key";
  apiKeys: ApiKey[] = [];
  jwt: JwtConfig | null = null;
  rules: Rule[] = [];
  /** When no rule matches: "authenticated" (default), "allow" or "deny". */
  defaultPolicy: string = "authenticated";
  subjectHeader: string = "x-auth-subject";
  methodHeader: string = "x-auth-method";
  scopesHeader: string = "x-auth-scopes";
  stripCredentials: bool = false;
}

const TOP = ["apiKeys", "jwt", "rules", "defaultPolicy", "identityHeaders", "stripCredentials"];
const API_KEYS = ["header", "keys"];
const API_KEY = ["key", "subject", "scopes"];
const JWT = ["secret", "secretBase64", "issuer", "audience", "header", "leewaySeconds", "requireExpiration", "subjectClaim", "scopesClaim"];
const RULE = ["prefix", "methods", "anonymous", "deny", "scopes", "subjects", "claims"];
const IDENTITY = ["subject", "method", "scopes"];

function lowerHeader(c: ConfigObject, key: string, fallback: string): string {
  const name = c.string(key, fallback).toLowerCase();
  if (name.length == 0) c.errors.add(c.child(key), "must not be empty");
  return name;
}

/** Parses and checks the configuration; on error, `errors.message` says where and what. */
export function parseConfig(text: string, errors: ConfigErrors): AuthConfig {
  const config = new AuthConfig();
  const top = ConfigObject.parse(text, TOP, errors);
  if (!errors.ok) return config;

  const keys = top.object("apiKeys", API_KEYS);
  if (keys !== null) {
    config.apiKeyHeader = lowerHeader(keys, "header", config.apiKeyHeader);
    const list = keys.objects("keys", API_KEY);
    for (let i = 0; i < list.length; i++) {
      const k = list[i];
      const key = k.string("key", "");
      const subject = k.string("subject", "");
      if (key.length == 0) errors.add(k.child("key"), "must be a non-empty string");
      if (subject.length == 0) errors.add(k.child("subject"), "must be a non-empty string");
      config.apiKeys.push(new ApiKey(bytesOf(key), subject, k.strings("scopes", [])));
    }
  }

  const jwt = top.object("jwt", JWT);
  if (jwt !== null) {
    const j = new JwtConfig();
    const secret = jwt.string("secret", "");
    const secret64 = jwt.string("secretBase64", "");
    if (secret.length > 0 && secret64.length > 0) errors.add(jwt.path, "set only one of secret and secretBase64");
    if (secret64.length > 0) {
      const decoded = base64UrlDecode(secret64.replaceAll("+", "-").replaceAll("/", "_"));
      if (decoded === null) errors.add(jwt.child("secretBase64"), "is not base64");
      else j.secret = decoded;
    } else {
      j.secret = bytesOf(secret);
    }
    // RFC 7518 3.2: an HS256 key must be at least as long as the hash.
    if (j.secret.length < 32) errors.add(jwt.path, "the HS256 secret must be at least 32 bytes");
    j.key = new HmacSha256Key(j.secret);
    j.issuer = jwt.string("issuer", "");
    j.audience = jwt.string("audience", "");
    j.header = lowerHeader(jwt, "header", j.header);
    j.leewaySeconds = jwt.number("leewaySeconds", 0, 0, 3600);
    j.requireExpiration = jwt.bool("requireExpiration", true);
    j.subjectClaim = jwt.string("subjectClaim", j.subjectClaim);
    j.scopesClaim = jwt.string("scopesClaim", j.scopesClaim);
    config.jwt = j;
  }

  const rules = top.objects("rules", RULE);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const rule = new Rule();
    rule.prefix = r.string("prefix", "/");
    if (!rule.prefix.startsWith("/")) errors.add(r.child("prefix"), "must start with /");
    const methods = r.strings("methods", []);
    for (let m = 0; m < methods.length; m++) rule.methods.push(methods[m].toUpperCase());
    rule.anonymous = r.bool("anonymous", false);
    rule.deny = r.bool("deny", false);
    rule.scopes = r.strings("scopes", []);
    rule.subjects = r.strings("subjects", []);
    const claims = r.raw("claims");
    if (claims !== null) {
      if (!claims.isObject()) errors.add(r.child("claims"), "expected an object of claim values");
      else {
        for (let c = 0; c < claims.keys.length; c++) {
          const v = claims.items[c];
          if (v.isObject() || v.isArray() || v.isNull()) errors.add(r.child("claims") + "." + claims.keys[c], "expected a string, number or boolean");
          rule.claims.push(new ClaimRequirement(claims.keys[c], v));
        }
      }
    }
    if (rule.anonymous && rule.deny) errors.add(r.path, "a rule cannot be both anonymous and deny");
    if ((rule.anonymous || rule.deny) && (rule.scopes.length > 0 || rule.subjects.length > 0 || rule.claims.length > 0)) {
      errors.add(r.path, "scopes, subjects and claims need an authenticated rule");
    }
    config.rules.push(rule);
  }

  config.defaultPolicy = top.string("defaultPolicy", "authenticated");
  if (config.defaultPolicy != "authenticated" && config.defaultPolicy != "allow" && config.defaultPolicy != "deny") {
    errors.add("defaultPolicy", "must be \"authenticated\", \"allow\" or \"deny\"");
  }

  const identity = top.object("identityHeaders", IDENTITY);
  if (identity !== null) {
    config.subjectHeader = lowerHeader(identity, "subject", config.subjectHeader);
    config.methodHeader = lowerHeader(identity, "method", config.methodHeader);
    config.scopesHeader = lowerHeader(identity, "scopes", config.scopesHeader);
  }
  config.stripCredentials = top.bool("stripCredentials", false);

  if (errors.ok && config.apiKeys.length == 0 && config.jwt === null) {
    errors.add("", "configure apiKeys, jwt or both");
  }
  return config;
}

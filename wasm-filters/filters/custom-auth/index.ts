// custom-auth: authenticates each request by API key or HS256 JWT, checks the
// first matching rule, and either answers 401/403 with a JSON body or sends
// the request upstream with identity headers. Client-sent identity headers
// are always removed, so the upstream can trust them.
import {
  Action,
  ConfigErrors,
  Counter,
  HeaderPair,
  HeaderSnapshot,
  HttpContext,
  JsonValue,
  LogLevel,
  RootContext,
  bytesOf,
  constantTimeEqual,
  currentTimeNanos,
  jsonString,
  logEnabled,
  logError,
  logInfo,
  pluginConfiguration,
  registerRootContext,
  requestHeaders,
} from "../../sdk";
import { AuthConfig, Rule, parseConfig } from "./config";
import { verifyJwt } from "./jwt";
// Only the callbacks this filter uses: Envoy skips a callback the module does
// not export, which saves a host-to-VM call per request for each one.
export {
  proxy_abi_version_0_2_1,
  proxy_on_memory_allocate,
  malloc,
  proxy_on_context_create,
  proxy_on_vm_start,
  proxy_on_configure,
  proxy_on_request_headers,
  proxy_on_delete,
} from "../../sdk/exports";

/** Who the request is, once authenticated. */
class Identity {
  constructor(public subject: string, public method: string, public scopes: string[], public claims: JsonValue | null) {}
}

class AuthRoot extends RootContext {
  config: AuthConfig = new AuthConfig();
  allowed: Counter | null = null;
  unauthenticated: Counter | null = null;
  forbidden: Counter | null = null;

  onConfigure(size: usize): bool {
    const errors = new ConfigErrors();
    const config = parseConfig(pluginConfiguration.text(), errors);
    if (!errors.ok) {
      logError("custom-auth: invalid configuration: " + errors.message);
      return false;
    }
    this.config = config;
    this.allowed = new Counter("custom_auth.allowed");
    this.unauthenticated = new Counter("custom_auth.unauthenticated");
    this.forbidden = new Counter("custom_auth.forbidden");
    logInfo(
      "custom-auth: configured " + config.apiKeys.length.toString() + " api keys, jwt " +
        (config.jwt !== null ? "on" : "off") + ", " + config.rules.length.toString() + " rules",
    );
    return true;
  }

  createHttpContext(id: u32): HttpContext {
    return new AuthHttp(id, this);
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.substring(0, q);
}

function ruleFor(config: AuthConfig, path: string, method: string): Rule | null {
  for (let i = 0; i < config.rules.length; i++) {
    const rule = config.rules[i];
    if (!path.startsWith(rule.prefix)) continue;
    if (rule.methods.length > 0 && !rule.methods.includes(method)) continue;
    return rule;
  }
  return null;
}

function claimMatches(claims: JsonValue | null, name: string, wanted: JsonValue): bool {
  if (claims === null) return false;
  const actual = claims.get(name);
  if (actual === null || actual.type != wanted.type) return false;
  if (wanted.isString()) return actual.str == wanted.str;
  if (wanted.isNumber()) return actual.num == wanted.num;
  return actual.bool == wanted.bool;
}

/** A request header as this filter sees it: identity headers were removed before any read. */
function read(headers: HeaderSnapshot, config: AuthConfig, name: string): string | null {
  if (name == config.subjectHeader || name == config.methodHeader || name == config.scopesHeader) return null;
  return headers.get(name);
}

/** Removes a client-sent identity header; one host call only when the client sent it. */
function strip(headers: HeaderSnapshot, name: string): void {
  if (headers.get(name) !== null) requestHeaders.remove(name);
}

class AuthHttp extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = changetype<AuthRoot>(this.root);
    const config = root.config;
    // Every read comes from one copy of the headers: one host call, not one per header.
    const headers = requestHeaders.snapshot();
    // Identity headers come only from this filter.
    strip(headers, config.subjectHeader);
    strip(headers, config.methodHeader);
    strip(headers, config.scopesHeader);

    const m = read(headers, config, ":method");
    const p = read(headers, config, ":path");
    const method = m !== null ? m : "";
    const path = pathOnly(p !== null ? p : "/");
    const rule = ruleFor(config, path, method);

    if (rule !== null && rule.anonymous) return this.allow(null, path, config);
    if (rule !== null && rule.deny) return this.deny(403, "forbidden", "denied by rule " + rule.prefix, path, false);
    if (rule === null && config.defaultPolicy == "allow") return this.allow(null, path, config);
    if (rule === null && config.defaultPolicy == "deny") return this.deny(403, "forbidden", "no rule matches", path, false);

    // Authenticate: an API key first, then a bearer token.
    let identity: Identity | null = null;
    const apiKey = config.apiKeys.length > 0 ? read(headers, config, config.apiKeyHeader) : null;
    if (apiKey !== null) {
      const presented = bytesOf(apiKey);
      for (let i = 0; i < config.apiKeys.length; i++) {
        const k = config.apiKeys[i];
        if (constantTimeEqual(k.key, presented)) identity = new Identity(k.subject, "api-key", k.scopes, null);
      }
      if (identity === null) return this.deny(401, "unauthenticated", "invalid api key", path, false);
    } else {
      const jwt = config.jwt;
      const auth = jwt !== null ? read(headers, config, jwt.header) : null;
      if (jwt === null || auth === null) return this.deny(401, "unauthenticated", "missing credentials", path, false);
      if (auth.length < 7 || auth.substring(0, 7).toLowerCase() != "bearer ") {
        return this.deny(401, "unauthenticated", "authorization is not a bearer token", path, false);
      }
      const now = <f64>currentTimeNanos() / 1e9;
      const verified = verifyJwt(auth.substring(7).trim(), jwt, now);
      if (!verified.ok) return this.deny(401, "unauthenticated", verified.error, path, true);
      identity = new Identity(verified.subject, "jwt", verified.scopes, verified.claims);
    }
    const who = identity!;

    // Authorize against the rule.
    if (rule !== null) {
      for (let i = 0; i < rule.scopes.length; i++) {
        if (!who.scopes.includes(rule.scopes[i])) return this.deny(403, "forbidden", "missing scope " + rule.scopes[i], path, false);
      }
      if (rule.subjects.length > 0 && !rule.subjects.includes(who.subject)) {
        return this.deny(403, "forbidden", "subject not allowed", path, false);
      }
      for (let i = 0; i < rule.claims.length; i++) {
        const c = rule.claims[i];
        if (!claimMatches(who.claims, c.name, c.value)) return this.deny(403, "forbidden", "claim " + c.name + " does not match", path, false);
      }
    }
    return this.allow(who, path, config);
  }

  allow(who: Identity | null, path: string, config: AuthConfig): Action {
    const root = changetype<AuthRoot>(this.root);
    if (root.allowed !== null) root.allowed!.increment(1);
    if (who === null) {
      if (logEnabled(LogLevel.Info)) logInfo("custom-auth: allow anonymous path=" + path);
      return Action.Continue;
    }
    requestHeaders.replace(config.subjectHeader, who.subject);
    requestHeaders.replace(config.methodHeader, who.method);
    if (who.scopes.length > 0) requestHeaders.replace(config.scopesHeader, who.scopes.join(" "));
    if (config.stripCredentials) {
      if (who.method == "api-key") requestHeaders.remove(config.apiKeyHeader);
      else if (config.jwt !== null) requestHeaders.remove(config.jwt!.header);
    }
    if (logEnabled(LogLevel.Info)) logInfo("custom-auth: allow subject=" + who.subject + " method=" + who.method + " path=" + path);
    return Action.Continue;
  }

  deny(status: u32, error: string, reason: string, path: string, tokenPresented: bool): Action {
    const root = changetype<AuthRoot>(this.root);
    const counter = status == 401 ? root.unauthenticated : root.forbidden;
    if (counter !== null) counter.increment(1);
    const headers = [new HeaderPair("content-type", "application/json")];
    if (status == 401) {
      // RFC 6750 section 3: say why a presented token was refused.
      headers.push(new HeaderPair("www-authenticate", tokenPresented ? "Bearer realm=\"iacdash\", error=\"invalid_token\"" : "Bearer realm=\"iacdash\""));
    }
    const body = "{\"error\":" + jsonString(error) + ",\"reason\":" + jsonString(reason) + "}";
    if (logEnabled(LogLevel.Info)) logInfo("custom-auth: deny status=" + status.toString() + " reason=" + jsonString(reason) + " path=" + path);
    this.sendLocalResponse(status, body, headers, "custom_auth_" + error);
    return Action.Pause;
  }
}

registerRootContext((id: u32, rootId: string): RootContext => new AuthRoot(id, rootId));

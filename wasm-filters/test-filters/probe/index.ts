// Test-only filter that exercises the SDK and the host, driven by the
// `x-probe` request header (comma-separated actions). It logs every callback
// so tests can compare the host's lifecycle with Envoy's. It traps on
// purpose when asked: never ship it.
import {
  Action,
  Counter,
  Gauge,
  HeaderPair,
  Histogram,
  HttpCallHandler,
  HttpContext,
  RootContext,
  currentTimeNanos,
  getPropertyInt64,
  getPropertyString,
  getSharedData,
  httpCallResponseBody,
  httpCallResponseHeaders,
  logInfo,
  logWarn,
  parseJson,
  pluginConfiguration,
  registerRootContext,
  base64UrlDecode,
  bytesOf,
  hmacSha256,
  sha256,
  requestBody,
  requestHeaders,
  responseBody,
  responseHeaders,
  setSharedData,
  utf8,
  fromUtf8,
} from "../../sdk";
export * from "../../sdk/exports";

class ProbeRoot extends RootContext {
  requests: Counter | null = null;
  inflight: Gauge | null = null;
  sizes: Histogram | null = null;
  ticks: i32 = 0;

  onVmStart(size: usize): bool {
    logInfo("probe: on_vm_start root=" + this.rootId);
    return true;
  }

  onConfigure(size: usize): bool {
    const text = pluginConfiguration.text();
    logInfo("probe: on_configure size=" + size.toString() + " config=" + text);
    const parsed = parseJson(text.length == 0 ? "{}" : text);
    const config = parsed.value;
    if (config === null) {
      logWarn("probe: bad configuration: " + parsed.error);
      return false;
    }
    const fail = config.get("failConfigure");
    if (fail !== null && fail.bool) {
      logWarn("probe: configured to fail");
      return false;
    }
    const tick = config.get("tickMs");
    if (tick !== null && tick.isNumber()) this.setTickPeriod(<u32>tick.num);
    this.requests = new Counter("probe.requests");
    this.inflight = new Gauge("probe.inflight");
    this.sizes = new Histogram("probe.sizes");
    return true;
  }

  onTick(): void {
    this.ticks++;
    logInfo("probe: on_tick " + this.ticks.toString());
    if (this.ticks >= 2) this.setTickPeriod(0);
  }

  createHttpContext(id: u32): HttpContext {
    return new ProbeHttp(id, this);
  }
}

class CallDone extends HttpCallHandler {
  constructor(public stream: ProbeHttp) {
    super();
  }
  onResponse(token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
    const status = httpCallResponseHeaders.get(":status");
    const body = httpCallResponseBody.get();
    // Only what both hosts agree on: the headers Envoy adds to the call vary.
    logInfo(
      "probe: http_call_response status=" + (status !== null ? status : "none") +
        " body=" + (bodySize > 0 ? "yes" : "no") + " read=" + (body !== null && <usize>body.byteLength == bodySize ? "all" : "partial"),
    );
    this.stream.setEffective();
    requestHeaders.add("x-probe-call-status", status !== null ? status : "failed");
    this.stream.continueRequest();
  }
}

const HEX = "0123456789abcdef";
function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX.charAt(bytes[i] >> 4) + HEX.charAt(bytes[i] & 15);
  return out;
}

const KINDS = ["null", "bool", "number", "string", "array", "object"];

class ProbeHttp extends HttpContext {
  actions: string = "";

  has(action: string): bool {
    return this.actions.split(",").includes(action);
  }

  get probeRoot(): ProbeRoot {
    return changetype<ProbeRoot>(this.root);
  }

  onRequestHeaders(n: u32, eos: bool): Action {
    const a = requestHeaders.get("x-probe");
    this.actions = a !== null ? a : "";
    logInfo("probe: on_request_headers ctx=" + this.id.toString() + " n=" + n.toString() + " eos=" + (eos ? "1" : "0"));
    const root = this.probeRoot;
    if (root.requests !== null) root.requests!.increment(1);
    if (this.has("trap-request")) {
      const empty = new Array<i32>(0);
      logInfo("probe: unreachable " + empty[3].toString());
    }
    if (this.has("multi")) {
      const first = requestHeaders.get("x-multi");
      logInfo("probe: multi get=" + (first !== null ? first : "null") + " all=" + requestHeaders.getAll("x-multi").join("|"));
    }
    if (this.has("pairs")) {
      const pairs = requestHeaders.pairs();
      const keys = new Array<string>();
      for (let i = 0; i < pairs.length; i++) keys.push(pairs[i].key);
      logInfo("probe: pairs " + keys.join(","));
    }
    if (this.has("props")) {
      const names = ["request.path", "request.url_path", "request.host", "request.method", "request.scheme", "request.protocol", "request.query", "request.id", "request.useragent", "source.address", "destination.address", "plugin_root_id", "plugin_name", "plugin_vm_id", "request.headers.x-probe"];
      for (let i = 0; i < names.length; i++) {
        const v = getPropertyString(names[i]);
        logInfo("probe: prop " + names[i] + "=" + (v !== null ? v : "<missing>"));
      }
      logInfo("probe: prop source.port=" + getPropertyInt64("source.port").toString());
      logInfo("probe: prop request.time>0=" + (getPropertyInt64("request.time") > 0 ? "yes" : "no"));
      logInfo("probe: now>0=" + (currentTimeNanos() > 0 ? "yes" : "no"));
    }
    if (this.has("json")) {
      const text = requestHeaders.get("x-json");
      const parsed = parseJson(text !== null ? text : "");
      const v = parsed.value;
      if (v === null) logInfo("probe: json error=" + parsed.error);
      else logInfo("probe: json ok kind=" + KINDS[<i32>v.type] + " length=" + v.length.toString() + (v.isString() ? " str=" + v.str : "") + (v.isNumber() ? " num=" + v.num.toString() : ""));
    }
    if (this.has("sha")) {
      const data = requestHeaders.get("x-data");
      const key = requestHeaders.get("x-key");
      const d = bytesOf(data !== null ? data : "");
      logInfo("probe: sha256=" + hex(sha256(d)) + " hmac=" + hex(hmacSha256(bytesOf(key !== null ? key : ""), d)));
    }
    if (this.has("b64")) {
      const text = requestHeaders.get("x-b64");
      const decoded = base64UrlDecode(text !== null ? text : "");
      logInfo("probe: b64=" + (decoded !== null ? hex(decoded) : "invalid"));
    }
    if (this.has("headers")) {
      requestHeaders.add("x-probe-added", "a");
      requestHeaders.add("x-probe-added", "b");
      requestHeaders.replace("x-probe-replaced", "new");
      requestHeaders.remove("x-probe-removed");
    }
    if (this.has("shared")) {
      const before = getSharedData("probe-key");
      const cas = before !== null ? before.cas : 0;
      const next = before !== null ? fromUtf8(before.value) + "+" : "v";
      const r = setSharedData("probe-key", utf8(next), cas);
      const after = getSharedData("probe-key");
      logInfo("probe: shared set=" + r.toString() + " value=" + (after !== null ? fromUtf8(after.value) : "null"));
    }
    if (this.has("metrics")) {
      if (root.inflight !== null) root.inflight!.add(1);
      if (root.sizes !== null) root.sizes!.record(42);
    }
    if (this.has("local")) {
      const headers = [new HeaderPair("content-type", "application/json"), new HeaderPair("x-probe-local", "yes")];
      const r = this.sendLocalResponse(418, "{\"probe\":true}", headers, "probe local reply");
      logInfo("probe: local response result=" + r.toString());
      return Action.Pause;
    }
    if (this.has("local-plain")) {
      // No content-type: what does the host add?
      this.sendLocalResponse(429, "slow down", [new HeaderPair("x-probe-local", "plain")], "probe plain reply");
      return Action.Pause;
    }
    if (this.has("call")) {
      const headers = [
        new HeaderPair(":method", "GET"),
        new HeaderPair(":path", "/__status/201/probe-call"),
        new HeaderPair(":authority", "echo"),
      ];
      const t = requestHeaders.get("x-probe-timeout");
      const timeout = t !== null ? U32.parseInt(t) : 5000;
      const token = this.root.httpCall("echo", headers, null, [], timeout, new CallDone(this));
      logInfo("probe: http_call token>0=" + (token > 0 ? "yes" : "no") + " result=" + this.root.lastHttpCallResult.toString());
      if (token > 0) return Action.Pause;
    }
    if (this.has("body")) requestHeaders.remove("content-length");
    if (this.has("pause")) return Action.Pause;
    return Action.Continue;
  }

  onRequestTrailers(n: u32): Action {
    logInfo("probe: on_request_trailers ctx=" + this.id.toString() + " n=" + n.toString());
    return Action.Continue;
  }

  onRequestBody(size: usize, eos: bool): Action {
    logInfo("probe: on_request_body ctx=" + this.id.toString() + " size=" + size.toString() + " eos=" + (eos ? "1" : "0"));
    if (this.has("body")) {
      if (!eos) return Action.Pause;
      const text = requestBody.text();
      requestBody.setText(text.toUpperCase());
    }
    return Action.Continue;
  }

  onResponseHeaders(n: u32, eos: bool): Action {
    const status = responseHeaders.get(":status");
    logInfo("probe: on_response_headers ctx=" + this.id.toString() + " status=" + (status !== null ? status : "null") + " eos=" + (eos ? "1" : "0"));
    if (this.has("trap-response")) {
      const empty = new Array<i32>(0);
      logInfo("probe: unreachable " + empty[3].toString());
    }
    if (this.has("headers")) responseHeaders.add("x-probe-response", "yes");
    if (this.has("body")) responseHeaders.remove("content-length");
    return Action.Continue;
  }

  onResponseBody(size: usize, eos: bool): Action {
    logInfo("probe: on_response_body ctx=" + this.id.toString() + " size=" + size.toString() + " eos=" + (eos ? "1" : "0"));
    if (this.has("body")) {
      if (!eos) return Action.Pause;
      responseBody.setText("[" + responseBody.text() + "]");
    }
    return Action.Continue;
  }

  onLog(): void {
    const code = getPropertyInt64("response.code");
    const path = requestHeaders.get(":path");
    logInfo("probe: on_log ctx=" + this.id.toString() + " code=" + code.toString() + " path=" + (path !== null ? path : "null"));
    if (this.has("metrics")) {
      const root = this.probeRoot;
      if (root.inflight !== null) root.inflight!.add(-1);
    }
  }

  onDone(): bool {
    logInfo("probe: on_done ctx=" + this.id.toString());
    return true;
  }

  onDelete(): void {
    logInfo("probe: on_delete ctx=" + this.id.toString());
  }
}

registerRootContext((id: u32, rootId: string): RootContext => new ProbeRoot(id, rootId));

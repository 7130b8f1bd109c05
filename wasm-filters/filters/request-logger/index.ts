// request-logger: one structured (JSON) log line per request with method,
// path, status, duration and body sizes, plus a request counter, a counter
// per status class and histograms of duration and response size.
import {
  Action,
  ConfigErrors,
  ConfigObject,
  Counter,
  Histogram,
  HttpContext,
  LogLevel,
  Property,
  RootContext,
  currentTimeNanos,
  jsonString,
  log,
  logEnabled,
  logError,
  logInfo,
  pluginConfiguration,
  registerRootContext,
  requestHeaders,
  responseHeaders,
} from "../../sdk";
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
  proxy_on_request_body,
  proxy_on_response_body,
  proxy_on_log,
  proxy_on_delete,
} from "../../sdk/exports";

const RESPONSE_CODE = new Property("response.code");

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];
const KEYS = ["logLevel", "headers", "metricPrefix", "excludePaths"];

class LoggerRoot extends RootContext {
  level: LogLevel = LogLevel.Info;
  headers: string[] = [];
  excludePaths: string[] = [];
  requests: Counter | null = null;
  byClass: Counter[] = [];
  duration: Histogram | null = null;
  responseBytes: Histogram | null = null;

  onConfigure(size: usize): bool {
    const errors = new ConfigErrors();
    const config = ConfigObject.parse(pluginConfiguration.text(), KEYS, errors);
    const level = config.string("logLevel", "info");
    const index = LEVELS.indexOf(level);
    if (index < 0) errors.add("logLevel", "must be one of " + LEVELS.join(", "));
    const headers = config.strings("headers", []);
    const prefix = config.string("metricPrefix", "request_logger");
    if (prefix.length == 0) errors.add("metricPrefix", "must not be empty");
    const exclude = config.strings("excludePaths", []);
    for (let i = 0; i < exclude.length; i++) {
      if (!exclude[i].startsWith("/")) errors.add("excludePaths[" + i.toString() + "]", "must start with /");
    }
    if (!errors.ok) {
      logError("request-logger: invalid configuration: " + errors.message);
      return false;
    }
    this.level = <LogLevel>index;
    this.headers = new Array<string>();
    for (let i = 0; i < headers.length; i++) this.headers.push(headers[i].toLowerCase());
    this.excludePaths = exclude;
    this.requests = new Counter(prefix + ".requests");
    this.byClass = new Array<Counter>();
    for (let c = 1; c <= 5; c++) this.byClass.push(new Counter(prefix + ".responses_" + c.toString() + "xx"));
    this.duration = new Histogram(prefix + ".duration_ms");
    this.responseBytes = new Histogram(prefix + ".response_bytes");
    logInfo("request-logger: configured, metrics under " + prefix + ".*");
    return true;
  }

  createHttpContext(id: u32): HttpContext {
    return new LoggerHttp(id, this);
  }
}

class LoggerHttp extends HttpContext {
  start: u64 = 0;
  requestBytes: u64 = 0;
  responseBytes: u64 = 0;
  method: string = "";
  path: string = "";
  headerValues: string[] = [];
  skip: bool = false;
  seen: bool = false;
  /** Whether the host keeps this request's line: asked once, when the request is first seen. */
  logging: bool = false;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    this.capture();
    this.start = currentTimeNanos();
    return Action.Continue;
  }

  /**
   * Reads method, path and the configured headers: at request time, or in
   * onLog when an earlier filter answered first. All in one host call, and
   * only what is used: when the host would drop the line (Envoy at warn),
   * only the path, for excludePaths.
   */
  capture(): void {
    const root = changetype<LoggerRoot>(this.root);
    this.seen = true;
    this.logging = logEnabled(root.level);
    if (!this.logging && root.excludePaths.length == 0) return;
    const headers = requestHeaders.snapshot();
    const p = headers.get(":path");
    this.path = p !== null ? p : "";
    for (let i = 0; i < root.excludePaths.length; i++) {
      if (this.path.startsWith(root.excludePaths[i])) this.skip = true;
    }
    if (!this.logging || this.skip) return;
    const m = headers.get(":method");
    this.method = m !== null ? m : "";
    // Captured now: a later filter may change them before onLog.
    for (let i = 0; i < root.headers.length; i++) {
      const v = headers.get(root.headers[i]);
      this.headerValues.push(v !== null ? jsonString(v) : "null");
    }
  }

  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    this.requestBytes += <u64>bodySize; // each call carries only the new chunk while we never pause
    return Action.Continue;
  }

  onResponseBody(bodySize: usize, endOfStream: bool): Action {
    this.responseBytes += <u64>bodySize;
    return Action.Continue;
  }

  onLog(): void {
    // An earlier filter's local reply skips onRequestHeaders, but Envoy still calls onLog.
    if (!this.seen) this.capture();
    if (this.skip) return;
    const root = changetype<LoggerRoot>(this.root);
    let status = RESPONSE_CODE.int64(0);
    if (status == 0) {
      const s = responseHeaders.get(":status");
      if (s !== null) status = I64.parseInt(s);
    }
    const now = currentTimeNanos();
    const elapsed = this.start > 0 && now > this.start ? now - this.start : 0;
    const durationMs = elapsed / 1_000_000;
    if (this.logging) this.writeLine(root, status, durationMs);

    if (root.requests !== null) root.requests!.increment(1);
    const klass = <i32>(status / 100);
    if (klass >= 1 && klass <= 5) root.byClass[klass - 1].increment(1);
    if (root.duration !== null) root.duration!.record(durationMs);
    if (root.responseBytes !== null) root.responseBytes!.record(this.responseBytes);
  }

  writeLine(root: LoggerRoot, status: i64, durationMs: u64): void {
    let line =
      "{\"method\":" + jsonString(this.method) +
      ",\"path\":" + jsonString(this.path) +
      ",\"status\":" + status.toString() +
      ",\"duration_ms\":" + durationMs.toString() +
      ",\"request_bytes\":" + this.requestBytes.toString() +
      ",\"response_bytes\":" + this.responseBytes.toString();
    if (root.headers.length > 0) {
      line += ",\"headers\":{";
      for (let i = 0; i < root.headers.length; i++) {
        if (i > 0) line += ",";
        line += jsonString(root.headers[i]) + ":" + (i < this.headerValues.length ? this.headerValues[i] : "null");
      }
      line += "}";
    }
    log(root.level, line + "}");
  }
}

registerRootContext((id: u32, rootId: string): RootContext => new LoggerRoot(id, rootId));

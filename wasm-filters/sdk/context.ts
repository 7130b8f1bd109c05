// Contexts: one root context per plugin (configuration, ticks, http_call
// responses) and one HTTP context per request/response pair. Subclass them and
// override the callbacks you need; the defaults let traffic through.
import { Action, NO_GRPC_STATUS, StreamType, WasmResult } from "./abi";
import { HeaderPair, serializeHeaders } from "./headers";
import {
  proxy_close_stream,
  proxy_continue_stream,
  proxy_done,
  proxy_http_call,
  proxy_send_local_response,
  proxy_set_effective_context,
} from "./imports";
import { ptrOf, RET_U32, utf8 } from "./memory";
import { setTickPeriod } from "./time";

/** Base of every context: the id the host knows it by. */
export class Context {
  constructor(public readonly id: u32) {}

  /** Makes later host calls act on this context (e.g. an HTTP stream, from an http_call response on the root). */
  setEffective(): WasmResult {
    return <WasmResult>proxy_set_effective_context(this.id);
  }
}

/** Receives the response to one http_call. Keep per-call state in fields (AssemblyScript has no closures). */
export class HttpCallHandler {
  /** `numHeaders == 0` means the call failed or timed out. Read the response through httpCallResponseHeaders/Body. */
  onResponse(token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {}
}

/** The plugin's root context. */
export class RootContext extends Context {
  private readonly calls: Map<u32, HttpCallHandler> = new Map<u32, HttpCallHandler>();
  /** Result of the last {@link httpCall}. */
  lastHttpCallResult: WasmResult = WasmResult.Ok;

  constructor(id: u32, public readonly rootId: string) {
    super(id);
  }

  /** The VM started; read its configuration from `vmConfiguration`. Return false to fail the VM. */
  onVmStart(vmConfigurationSize: usize): bool {
    return true;
  }

  /** The plugin (re)starts; read `pluginConfiguration`. Return false, after logging why, to reject the configuration. */
  onConfigure(configurationSize: usize): bool {
    return true;
  }

  /** Called every tick period (see {@link setTickPeriod}). */
  onTick(): void {}

  /** An item arrived on a queue this root registered. */
  onQueueReady(queueId: u32): void {}

  /** An http_call response with no handler registered. */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {}

  /** The host is shutting the plugin down. */
  onDone(): bool {
    return true;
  }

  onDelete(): void {}

  /** Creates the context of one HTTP stream; override to return your HttpContext subclass. */
  createHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }

  /** Calls onTick every `periodMs` milliseconds (0 stops). */
  setTickPeriod(periodMs: u32): WasmResult {
    return <WasmResult>setTickPeriod(periodMs);
  }

  /**
   * Sends an HTTP request to the cluster `upstream` (headers must hold
   * `:method`, `:path` and `:authority`). Returns the call's token, or 0 with
   * {@link lastHttpCallResult} set when the host refused it. The response
   * goes to `handler`, or to onHttpCallResponse when `handler` is null.
   */
  httpCall(
    upstream: string,
    headers: HeaderPair[],
    body: ArrayBuffer | null,
    trailers: HeaderPair[],
    timeoutMs: u32,
    handler: HttpCallHandler | null,
  ): u32 {
    const name = utf8(upstream);
    const h = serializeHeaders(headers);
    const t = serializeHeaders(trailers);
    const b = body !== null ? body : new ArrayBuffer(0);
    store<u32>(RET_U32, 0);
    const result = <WasmResult>proxy_http_call(
      ptrOf(name), <usize>name.byteLength,
      ptrOf(h), <usize>h.byteLength,
      ptrOf(b), <usize>b.byteLength,
      ptrOf(t), <usize>t.byteLength,
      timeoutMs, RET_U32,
    );
    this.lastHttpCallResult = result;
    if (result != WasmResult.Ok) return 0;
    const token = load<u32>(RET_U32);
    if (handler !== null) this.calls.set(token, handler);
    return token;
  }

  /** Routes an http_call response to its handler (called by the SDK's exports). */
  dispatchHttpCallResponse(token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
    if (this.calls.has(token)) {
      const handler = this.calls.get(token);
      this.calls.delete(token);
      handler.onResponse(token, numHeaders, bodySize, numTrailers);
      return;
    }
    this.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
  }
}

/** One HTTP request/response pair. */
export class HttpContext extends Context {
  constructor(id: u32, public readonly root: RootContext) {
    super(id);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }

  /** `bodySize` is what is buffered so far: returning Pause keeps buffering (Envoy: StopIterationAndBuffer). */
  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }

  onRequestTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }

  onResponseBody(bodySize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }

  onResponseTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }

  /** The stream is complete (Envoy: access-log time); request and response headers are readable. */
  onLog(): void {}

  /** Return false to keep the context alive until {@link done}. */
  onDone(): bool {
    return true;
  }

  onDelete(): void {}

  /** Resumes a request paused by returning Pause. */
  continueRequest(): WasmResult {
    return <WasmResult>proxy_continue_stream(StreamType.Request);
  }

  /** Resumes a response paused by returning Pause. */
  continueResponse(): WasmResult {
    return <WasmResult>proxy_continue_stream(StreamType.Response);
  }

  /** Resets the request stream. */
  closeRequest(): WasmResult {
    return <WasmResult>proxy_close_stream(StreamType.Request);
  }

  /** Tells the host a context that returned false from onDone is finished. */
  done(): WasmResult {
    return <WasmResult>proxy_done();
  }

  /**
   * Answers the client directly; the request never reaches the upstream.
   * Return Pause from the callback that calls it. `details` becomes Envoy's
   * response code details (`%RESPONSE_CODE_DETAILS%`).
   */
  sendLocalResponse(
    status: u32,
    body: string,
    headers: HeaderPair[],
    details: string = "",
    grpcStatus: i32 = NO_GRPC_STATUS,
  ): WasmResult {
    return sendLocalResponse(status, utf8(body), headers, details, grpcStatus);
  }
}

/** `proxy_send_local_response` with bytes for the body. */
export function sendLocalResponse(
  status: u32,
  body: ArrayBuffer,
  headers: HeaderPair[],
  details: string = "",
  grpcStatus: i32 = NO_GRPC_STATUS,
): WasmResult {
  const d = utf8(details);
  const h = serializeHeaders(headers);
  return <WasmResult>proxy_send_local_response(
    status,
    ptrOf(d), <usize>d.byteLength,
    ptrOf(body), <usize>body.byteLength,
    ptrOf(h), <usize>h.byteLength,
    grpcStatus,
  );
}

// The module's side of the ABI: every callback the host calls. A filter
// re-exports these from its entry file (`export * from "../../sdk/exports"`).
// Callbacks for unknown context ids do the harmless thing instead of trapping.
import "./abort";
import { Action } from "./abi";
import { HttpContext, RootContext } from "./context";
import { logError } from "./log";
import { allocate } from "./memory";
import { getPropertyString } from "./properties";
import { factoryFor } from "./registry";

const roots = new Map<u32, RootContext>();
const streams = new Map<u32, HttpContext>();

/** Top-level callbacks between two collections: a few requests' garbage at most. */
const COLLECT_EVERY: u32 = 32;
let sinceCollect: u32 = 0;

/**
 * The build uses AssemblyScript's `minimal` runtime: no collector work on
 * each allocation and no write barriers, but garbage is freed only by
 * `__collect`. That is safe where no managed reference lives on the stack:
 * at the end of a callback the host called at top level (never inside
 * proxy_on_memory_allocate, which runs within a host call).
 */
function maybeCollect(): void {
  if (++sinceCollect < COLLECT_EVERY) return;
  sinceCollect = 0;
  __collect();
}

/** Marks the module as speaking proxy-wasm ABI 0.2.1; never called. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocate(size);
}

/** Deprecated name of proxy_on_memory_allocate, still looked up by older hosts. */
export function malloc(size: usize): usize {
  return allocate(size);
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  if (parentContextId == 0) {
    const named = getPropertyString("plugin_root_id");
    const rootId = named !== null ? named : "";
    const factory = factoryFor(rootId);
    if (factory === null) {
      logError("no root context registered for root_id \"" + rootId + "\"; requests pass through");
      roots.set(contextId, new RootContext(contextId, rootId));
      return;
    }
    roots.set(contextId, factory(contextId, rootId));
    return;
  }
  const root = roots.has(parentContextId)
    ? roots.get(parentContextId)
    : new RootContext(parentContextId, "");
  streams.set(contextId, root.createHttpContext(contextId));
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: usize): bool {
  if (!roots.has(rootContextId)) return true;
  return roots.get(rootContextId).onVmStart(vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, configurationSize: usize): bool {
  if (!roots.has(rootContextId)) return true;
  const ok = roots.get(rootContextId).onConfigure(configurationSize);
  __collect(); // parsing garbage; configuration is rare
  return ok;
}

export function proxy_on_tick(rootContextId: u32): void {
  if (roots.has(rootContextId)) roots.get(rootContextId).onTick();
  maybeCollect();
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  if (roots.has(rootContextId)) roots.get(rootContextId).onQueueReady(queueId);
  maybeCollect();
}

export function proxy_on_http_call_response(
  rootContextId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: usize,
  numTrailers: u32,
): void {
  if (roots.has(rootContextId)) roots.get(rootContextId).dispatchHttpCallResponse(token, numHeaders, bodySize, numTrailers);
  maybeCollect();
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onRequestHeaders(numHeaders, endOfStream);
}

export function proxy_on_request_body(contextId: u32, bodySize: usize, endOfStream: bool): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onRequestBody(bodySize, endOfStream);
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onRequestTrailers(numTrailers);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onResponseHeaders(numHeaders, endOfStream);
}

export function proxy_on_response_body(contextId: u32, bodySize: usize, endOfStream: bool): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onResponseBody(bodySize, endOfStream);
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): Action {
  if (!streams.has(contextId)) return Action.Continue;
  return streams.get(contextId).onResponseTrailers(numTrailers);
}

export function proxy_on_log(contextId: u32): void {
  if (streams.has(contextId)) streams.get(contextId).onLog();
}

export function proxy_on_done(contextId: u32): bool {
  if (streams.has(contextId)) return streams.get(contextId).onDone();
  if (roots.has(contextId)) return roots.get(contextId).onDone();
  return true;
}

export function proxy_on_delete(contextId: u32): void {
  if (streams.has(contextId)) {
    streams.get(contextId).onDelete();
    streams.delete(contextId);
  } else if (roots.has(contextId)) {
    roots.get(contextId).onDelete();
    roots.delete(contextId);
  }
  maybeCollect();
}

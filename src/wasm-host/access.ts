/**
 * Which header maps and buffers a callback may reach, following Envoy's
 * Context: a map is writable only in its own callback (or while that phase is
 * paused) and read-only in onLog; a body is reachable only in its body
 * callback; the plugin configuration only in proxy_on_configure.
 */
import { BufferType, MapType } from './abi.js';
import { HeaderMap } from './header-map.js';
import type { HttpStream } from './stream-state.js';
import type { ContextState, Vm } from './vm.js';

/** A buffer as a callback sees it; `set` is there only for the stream's current body. */
export interface BufferView {
  data: Buffer;
  set?: (data: Buffer) => void;
}

const EMPTY: BufferView = { data: Buffer.alloc(0) };

/** The HTTP stream of a context, if it is a stream context. */
export function streamOf(context: ContextState | undefined): HttpStream | undefined {
  return context?.kind === 'stream' ? context.stream : undefined;
}

/** The map a callback may read, or undefined (Envoy: nullptr). */
export function readableMap(vm: Vm, context: ContextState | undefined, type: number): HeaderMap | undefined {
  if (type === MapType.HttpCallResponseHeaders) return vm.httpCallResponse?.headers;
  if (type === MapType.HttpCallResponseTrailers) return vm.httpCallResponse?.trailers;
  const stream = streamOf(context);
  if (!stream) return undefined;
  if (stream.accessLogPhase) {
    if (type === MapType.RequestHeaders) return stream.requestHeaders;
    if (type === MapType.ResponseHeaders) return stream.responseHeaders;
    if (type === MapType.ResponseTrailers) return stream.responseTrailers;
    return undefined;
  }
  return writableMap(context, type);
}

/** The map a callback may change, or undefined. Trailers can be added from the last body callback, as in Envoy. */
export function writableMap(context: ContextState | undefined, type: number): HeaderMap | undefined {
  const stream = streamOf(context);
  if (!stream || stream.accessLogPhase) return undefined;
  switch (type) {
    case MapType.RequestHeaders:
      return stream.requestHeadersOpen ? stream.requestHeaders : undefined;
    case MapType.ResponseHeaders:
      return stream.responseHeadersOpen ? stream.responseHeaders : undefined;
    case MapType.RequestTrailers:
      if (!stream.requestTrailers && stream.body?.direction === 'request' && stream.endOfStream) {
        stream.requestTrailers = new HeaderMap();
        stream.requestTrailersOpen = true;
      }
      return stream.requestTrailersOpen ? stream.requestTrailers : undefined;
    case MapType.ResponseTrailers:
      if (!stream.responseTrailers && stream.body?.direction === 'response' && stream.endOfStream) {
        stream.responseTrailers = new HeaderMap();
        stream.responseTrailersOpen = true;
      }
      return stream.responseTrailersOpen ? stream.responseTrailers : undefined;
    default:
      return undefined;
  }
}

/** The buffer of `type` in this callback, or undefined (NOT_FOUND). */
export function bufferOf(vm: Vm, context: ContextState | undefined, type: number): BufferView | undefined {
  const plugin = vm.services.plugin;
  switch (type) {
    case BufferType.VmConfiguration:
      return { data: Buffer.from(plugin.vmConfiguration) };
    case BufferType.PluginConfiguration:
      return vm.configuring ? { data: Buffer.from(plugin.configuration) } : undefined;
    case BufferType.HttpCallResponseBody:
      return vm.httpCallResponse ? { data: vm.httpCallResponse.body } : undefined;
    case BufferType.HttpRequestBody:
    case BufferType.HttpResponseBody: {
      const stream = streamOf(context);
      const direction = type === BufferType.HttpRequestBody ? 'request' : 'response';
      const window = stream?.body;
      if (!window || window.direction !== direction) return EMPTY; // Envoy: an empty buffer, not NOT_FOUND
      return { data: window.data, set: (data) => (window.data = data) };
    }
    default:
      return EMPTY; // network, gRPC and call-data buffers: nothing in an HTTP filter
  }
}

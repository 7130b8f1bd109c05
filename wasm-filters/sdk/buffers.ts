// Bodies and configuration buffers.
import { BufferType, WasmResult } from "./abi";
import { proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes } from "./imports";
import { fromUtf8, ptrOf, resetReturned, RET_PTR, RET_SIZE, RET_U32, takeReturnedBytes, utf8 } from "./memory";

/** A host buffer: a body, an http_call response body or a configuration. */
export class Buffer {
  constructor(public readonly type: BufferType) {}

  /** Bytes currently available (the whole buffered body while the stream is paused). 0 when unavailable. */
  size(): usize {
    store<usize>(RET_SIZE, 0);
    if (proxy_get_buffer_status(this.type, RET_SIZE, RET_U32) != WasmResult.Ok) return 0;
    return load<usize>(RET_SIZE);
  }

  /** Up to `maxSize` bytes from `start`, or null when the buffer is not available here. */
  get(start: usize = 0, maxSize: usize = <usize>u32.MAX_VALUE): ArrayBuffer | null {
    // Envoy computes `size - start` unchecked; never ask past the end.
    if (start > this.size()) return new ArrayBuffer(0);
    resetReturned();
    if (proxy_get_buffer_bytes(this.type, start, maxSize, RET_PTR, RET_SIZE) != WasmResult.Ok) return null;
    return takeReturnedBytes();
  }

  /** The whole buffer as UTF-8 text ("" when unavailable). */
  text(): string {
    const bytes = this.get();
    return bytes === null ? "" : fromUtf8(bytes);
  }

  /** Replaces the whole buffer. */
  set(bytes: ArrayBuffer): WasmResult {
    return <WasmResult>proxy_set_buffer_bytes(this.type, 0, this.size(), ptrOf(bytes), <usize>bytes.byteLength);
  }

  /** Replaces the whole buffer with UTF-8 text. */
  setText(text: string): WasmResult {
    return this.set(utf8(text));
  }

  /** Adds bytes at the end. */
  append(bytes: ArrayBuffer): WasmResult {
    return <WasmResult>proxy_set_buffer_bytes(this.type, this.size(), 0, ptrOf(bytes), <usize>bytes.byteLength);
  }

  /** Adds bytes at the start. */
  prepend(bytes: ArrayBuffer): WasmResult {
    return <WasmResult>proxy_set_buffer_bytes(this.type, 0, 0, ptrOf(bytes), <usize>bytes.byteLength);
  }
}

/** The request body, in onRequestBody. */
export const requestBody = new Buffer(BufferType.HttpRequestBody);
/** The response body, in onResponseBody. */
export const responseBody = new Buffer(BufferType.HttpResponseBody);
/** The body of an http_call response, in onHttpCallResponse. */
export const httpCallResponseBody = new Buffer(BufferType.HttpCallResponseBody);
/** The VM configuration, in onVmStart. */
export const vmConfiguration = new Buffer(BufferType.VmConfiguration);
/** The plugin configuration (Istio's `pluginConfig` as JSON), in onConfigure. */
export const pluginConfiguration = new Buffer(BufferType.PluginConfiguration);

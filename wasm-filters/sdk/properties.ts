// Properties: the host's attributes (Envoy: https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes).
// A path such as `request.path` is sent as its segments joined by NUL bytes.
// Strings come back as UTF-8, integers and timestamps as 8-byte little-endian
// values, booleans as one byte.
import { WasmResult } from "./abi";
import { proxy_get_property, proxy_set_property } from "./imports";
import { fromUtf8, ptrOf, resetReturned, RET_PTR, RET_SIZE, takeReturnedBytes, utf8 } from "./memory";

function encodePath(segments: string[]): ArrayBuffer {
  return utf8(segments.join("\0"));
}

/** Raw bytes of a property given as segments, e.g. `["request", "headers", "x-id"]`; null when missing. */
export function getPropertyBytes(segments: string[]): ArrayBuffer | null {
  const path = encodePath(segments);
  resetReturned();
  if (proxy_get_property(ptrOf(path), <usize>path.byteLength, RET_PTR, RET_SIZE) != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

/** Raw bytes of a dotted property path such as `source.address`; null when missing. */
export function getProperty(path: string): ArrayBuffer | null {
  return getPropertyBytes(path.split("."));
}

/** A string property (e.g. `request.path`, `source.address`, `plugin_root_id`); null when missing. */
export function getPropertyString(path: string): string | null {
  const bytes = getProperty(path);
  return bytes === null ? null : fromUtf8(bytes);
}

/** An integer, duration or timestamp property (e.g. `response.code`, `request.duration`); `fallback` when missing or not 8 bytes. */
export function getPropertyInt64(path: string, fallback: i64 = -1): i64 {
  const bytes = getProperty(path);
  if (bytes === null || bytes.byteLength != 8) return fallback;
  return load<i64>(ptrOf(bytes));
}

/** A boolean property (e.g. `connection.mtls`); `fallback` when missing. */
export function getPropertyBool(path: string, fallback: bool = false): bool {
  const bytes = getProperty(path);
  if (bytes === null || bytes.byteLength < 1) return fallback;
  return load<u8>(ptrOf(bytes)) != 0;
}

/**
 * A property path encoded once: for a property read on every request, create
 * it at configure time (or at module level) instead of re-encoding the path.
 */
export class Property {
  private readonly encoded: ArrayBuffer;
  constructor(public readonly path: string) {
    this.encoded = encodePath(path.split("."));
  }

  /** Raw bytes, or null when missing. */
  bytes(): ArrayBuffer | null {
    resetReturned();
    if (proxy_get_property(ptrOf(this.encoded), <usize>this.encoded.byteLength, RET_PTR, RET_SIZE) != WasmResult.Ok) return null;
    return takeReturnedBytes();
  }

  /** As {@link getPropertyInt64}. */
  int64(fallback: i64 = -1): i64 {
    const bytes = this.bytes();
    if (bytes === null || bytes.byteLength != 8) return fallback;
    return load<i64>(ptrOf(bytes));
  }
}

/** Sets a filter-state property (Envoy stores it under `wasm.<path>`). */
export function setProperty(path: string, value: string): WasmResult {
  const p = encodePath(path.split("."));
  const v = utf8(value);
  return <WasmResult>proxy_set_property(ptrOf(p), <usize>p.byteLength, ptrOf(v), <usize>v.byteLength);
}

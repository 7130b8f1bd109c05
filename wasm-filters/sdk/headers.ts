// Header maps: the ABI's serialized pairs and the host calls on them.
// Encoding: u32 count, then (key_len, value_len) u32 pairs, then `key\0value\0`.
import { MapType, WasmResult } from "./abi";
import {
  proxy_add_header_map_value,
  proxy_get_header_map_pairs,
  proxy_get_header_map_value,
  proxy_remove_header_map_value,
  proxy_replace_header_map_value,
  proxy_set_header_map_pairs,
} from "./imports";
import { fromUtf8, ptrOf, resetReturned, RET_PTR, RET_SIZE, takeReturnedBytes, utf8 } from "./memory";

/** One header (or trailer, or metadata entry). Keys are lowercase in Envoy. */
export class HeaderPair {
  constructor(public key: string, public value: string) {}
}

/** Serializes pairs the way the ABI expects them. */
export function serializeHeaders(pairs: HeaderPair[]): ArrayBuffer {
  const n = pairs.length;
  const keys = new Array<ArrayBuffer>(n);
  const values = new Array<ArrayBuffer>(n);
  let size = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const pair = unchecked(pairs[i]);
    const key = utf8(pair.key);
    const value = utf8(pair.value);
    unchecked((keys[i] = key));
    unchecked((values[i] = value));
    size += key.byteLength + value.byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = ptrOf(out);
  store<u32>(base, <u32>n);
  let lens = base + 4;
  let data = base + 4 + 8 * <usize>n;
  for (let i = 0; i < n; i++) {
    const key = unchecked(keys[i]);
    const value = unchecked(values[i]);
    store<u32>(lens, <u32>key.byteLength);
    store<u32>(lens + 4, <u32>value.byteLength);
    lens += 8;
    memory.copy(data, ptrOf(key), <usize>key.byteLength);
    data += <usize>key.byteLength;
    store<u8>(data, 0);
    data += 1;
    memory.copy(data, ptrOf(value), <usize>value.byteLength);
    data += <usize>value.byteLength;
    store<u8>(data, 0);
    data += 1;
  }
  return out;
}

/**
 * Walks serialized pairs in place, without copying. Malformed input ends the
 * walk at the first pair that does not fit, never a trap. One per module:
 * a filter reads headers on every request, so the walk allocates nothing.
 */
class PairWalker {
  private base: usize = 0;
  private size: u64 = 0;
  private left: u64 = 0;
  private lens: usize = 0;
  private data: u64 = 0;
  keyPtr: usize = 0;
  keyLen: usize = 0;
  valuePtr: usize = 0;
  valueLen: usize = 0;

  start(bytes: ArrayBuffer): PairWalker {
    this.base = ptrOf(bytes);
    this.size = <u64>bytes.byteLength;
    const n: u64 = this.size < 4 ? <u64>0 : <u64>load<u32>(this.base);
    this.left = 4 + 8 * n > this.size ? 0 : n;
    this.lens = this.base + 4;
    this.data = 4 + 8 * n;
    return this;
  }

  /** Moves to the next pair; false when there is none that fits. */
  next(): bool {
    if (this.left == 0) return false;
    this.left--;
    const keyLen = <u64>load<u32>(this.lens);
    const valueLen = <u64>load<u32>(this.lens + 4);
    this.lens += 8;
    if (this.data + keyLen + valueLen + 2 > this.size) {
      this.left = 0;
      return false;
    }
    this.keyPtr = this.base + <usize>this.data;
    this.keyLen = <usize>keyLen;
    this.valuePtr = this.keyPtr + <usize>keyLen + 1;
    this.valueLen = <usize>valueLen;
    this.data += keyLen + valueLen + 2;
    return true;
  }
}

const walker = new PairWalker();

/** Parses serialized pairs. Malformed input yields the pairs that fit, never a trap. */
export function deserializeHeaders(bytes: ArrayBuffer): HeaderPair[] {
  const out = new Array<HeaderPair>();
  const w = walker.start(bytes);
  while (w.next()) {
    out.push(new HeaderPair(String.UTF8.decodeUnsafe(w.keyPtr, w.keyLen), String.UTF8.decodeUnsafe(w.valuePtr, w.valueLen)));
  }
  return out;
}

/**
 * A copy of a header map taken with one host call ({@link HeaderMap.snapshot}).
 * Reading several headers from it costs one host round trip instead of one
 * (plus the host's allocation callback) per header; values are decoded only
 * when asked for. It does not see changes made after it was taken.
 */
export class HeaderSnapshot {
  constructor(private readonly bytes: ArrayBuffer) {}

  /** The first value of `key` (compared in ASCII lowercase, as Envoy's lookup), or null: what {@link HeaderMap.get} returned when the snapshot was taken. */
  get(key: string): string | null {
    const wanted = utf8(key);
    const wantedLen = <usize>wanted.byteLength;
    const w = walker.start(this.bytes);
    while (w.next()) {
      if (w.keyLen == wantedLen && asciiLowerEqual(w.keyPtr, ptrOf(wanted), wantedLen)) {
        return String.UTF8.decodeUnsafe(w.valuePtr, w.valueLen);
      }
    }
    return null;
  }
}

function asciiLowerEqual(a: usize, b: usize, len: usize): bool {
  for (let i: usize = 0; i < len; i++) {
    let x = <u32>load<u8>(a + i);
    let y = <u32>load<u8>(b + i);
    if (x - 0x41 < 26) x |= 0x20;
    if (y - 0x41 < 26) y |= 0x20;
    if (x != y) return false;
  }
  return true;
}

/** A header map of the current stream, reached through the host. */
export class HeaderMap {
  constructor(public readonly type: MapType) {}

  /** The first value of `key`, or null. Envoy returns only the first of repeated headers: use {@link getAll}. */
  get(key: string): string | null {
    const k = utf8(key);
    resetReturned();
    const result = proxy_get_header_map_value(this.type, ptrOf(k), <usize>k.byteLength, RET_PTR, RET_SIZE);
    if (result != WasmResult.Ok) return null;
    return fromUtf8(takeReturnedBytes());
  }

  /** Every value of `key` (compared in lowercase), in order. */
  getAll(key: string): string[] {
    const wanted = key.toLowerCase();
    const all = this.pairs();
    const out = new Array<string>();
    for (let i = 0; i < all.length; i++) {
      const pair = unchecked(all[i]);
      if (pair.key.toLowerCase() == wanted) out.push(pair.value);
    }
    return out;
  }

  has(key: string): bool {
    return this.get(key) !== null;
  }

  /** Appends a value (a repeated header when the key exists). */
  add(key: string, value: string): WasmResult {
    const k = utf8(key);
    const v = utf8(value);
    return <WasmResult>proxy_add_header_map_value(this.type, ptrOf(k), <usize>k.byteLength, ptrOf(v), <usize>v.byteLength);
  }

  /** Sets the only value of `key`, replacing every existing one. */
  replace(key: string, value: string): WasmResult {
    const k = utf8(key);
    const v = utf8(value);
    return <WasmResult>proxy_replace_header_map_value(this.type, ptrOf(k), <usize>k.byteLength, ptrOf(v), <usize>v.byteLength);
  }

  /** Removes every value of `key`; removing a missing key is Ok. */
  remove(key: string): WasmResult {
    const k = utf8(key);
    return <WasmResult>proxy_remove_header_map_value(this.type, ptrOf(k), <usize>k.byteLength);
  }

  /** Every pair, in the host's order (pseudo-headers such as `:path` first). */
  pairs(): HeaderPair[] {
    resetReturned();
    if (proxy_get_header_map_pairs(this.type, RET_PTR, RET_SIZE) != WasmResult.Ok) return new Array<HeaderPair>();
    return deserializeHeaders(takeReturnedBytes());
  }

  /** Every pair in one host call, decoded lazily: cheaper than several {@link get} calls. Empty when the map is unavailable. */
  snapshot(): HeaderSnapshot {
    resetReturned();
    if (proxy_get_header_map_pairs(this.type, RET_PTR, RET_SIZE) != WasmResult.Ok) return new HeaderSnapshot(new ArrayBuffer(0));
    return new HeaderSnapshot(takeReturnedBytes());
  }

  /** Replaces the whole map. */
  setPairs(pairs: HeaderPair[]): WasmResult {
    const bytes = serializeHeaders(pairs);
    return <WasmResult>proxy_set_header_map_pairs(this.type, ptrOf(bytes), <usize>bytes.byteLength);
  }
}

/** Request headers: readable and writable in onRequestHeaders, readable in onLog. */
export const requestHeaders = new HeaderMap(MapType.RequestHeaders);
/** Request trailers. */
export const requestTrailers = new HeaderMap(MapType.RequestTrailers);
/** Response headers: readable and writable in onResponseHeaders, readable in onLog. */
export const responseHeaders = new HeaderMap(MapType.ResponseHeaders);
/** Response trailers. */
export const responseTrailers = new HeaderMap(MapType.ResponseTrailers);
/** Headers of an `http_call` response, in onHttpCallResponse. */
export const httpCallResponseHeaders = new HeaderMap(MapType.HttpCallResponseHeaders);
/** Trailers of an `http_call` response. */
export const httpCallResponseTrailers = new HeaderMap(MapType.HttpCallResponseTrailers);

/**
 * Header maps as Envoy keeps them (ordered, keys lowercased, repeated keys
 * allowed) and the ABI's serialized form: a u32 count, (key_len, value_len)
 * u32 pairs, then `key\0value\0` for each pair.
 */

/** Ordered header pairs; keys lowercase. */
export type HeaderList = Array<[string, string]>;

/** Headers as a fixture or caller writes them. */
export type HeaderInput = HeaderList | Record<string, string | readonly string[]>;

/** Normalizes {@link HeaderInput} to ordered pairs with lowercase keys. */
export function toHeaderList(input: HeaderInput | undefined): HeaderList {
  if (input === undefined) return [];
  if (Array.isArray(input)) return input.map(([k, v]) => [k.toLowerCase(), v]);
  const out: HeaderList = [];
  for (const [k, v] of Object.entries(input as Record<string, string | readonly string[]>)) {
    if (typeof v === 'string') out.push([k.toLowerCase(), v]);
    else for (const one of v) out.push([k.toLowerCase(), one]);
  }
  return out;
}

/** A mutable header map with Envoy's semantics for the proxy-wasm calls. */
export class HeaderMap {
  private entries: HeaderList;

  constructor(initial: HeaderList = []) {
    this.entries = initial.map(([k, v]) => [k.toLowerCase(), v]);
  }

  /** First value of `key` (Envoy returns only the first of repeated headers). */
  get(key: string): string | undefined {
    const k = key.toLowerCase();
    return this.entries.find(([name]) => name === k)?.[1];
  }

  /** Every value of `key`, in order. */
  getAll(key: string): string[] {
    const k = key.toLowerCase();
    return this.entries.filter(([name]) => name === k).map(([, v]) => v);
  }

  /** Appends (Envoy addCopy). */
  add(key: string, value: string): void {
    this.entries.push([key.toLowerCase(), value]);
  }

  /** Removes every value, then appends one (Envoy setCopy with http_set_copy_replace_all_headers). */
  replace(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  remove(key: string): void {
    const k = key.toLowerCase();
    this.entries = this.entries.filter(([name]) => name !== k);
  }

  /** Replaces every pair (Envoy removes each existing key, then adds the new pairs). */
  setPairs(pairs: HeaderList): void {
    this.entries = pairs.map(([k, v]) => [k.toLowerCase(), v]);
  }

  /** A copy of the pairs in order. */
  pairs(): HeaderList {
    return this.entries.map(([k, v]) => [k, v]);
  }

  /** Number of pairs (what Envoy passes as num_headers). */
  get size(): number {
    return this.entries.length;
  }

  /** Sum of key and value lengths in bytes (Envoy's byteSize, for proxy_get_header_map_size). */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.entries) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }
}

/** Serializes pairs in the ABI's form. */
export function serializePairs(pairs: HeaderList): Uint8Array {
  const encoded = pairs.map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  let size = 4 + 8 * encoded.length;
  for (const [k, v] of encoded) size += k.length + v.length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(encoded.length, 0);
  let lens = 4;
  let data = 4 + 8 * encoded.length;
  for (const [k, v] of encoded) {
    out.writeUInt32LE(k.length, lens);
    out.writeUInt32LE(v.length, lens + 4);
    lens += 8;
    k.copy(out, data);
    data += k.length + 1;
    v.copy(out, data);
    data += v.length + 1;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Parses serialized pairs. Like Envoy, fewer than 4 bytes or a count whose
 * length table does not fit is an empty map. Unlike Envoy, which reads past
 * the end, a key or value that overruns the data returns undefined.
 */
export function deserializePairs(bytes: Uint8Array): HeaderList | undefined {
  if (bytes.length < 4) return [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = buf.readUInt32LE(0);
  if (4 + count * 8 > buf.length) return [];
  const out: HeaderList = [];
  let lens = 4;
  let data = 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const kl = buf.readUInt32LE(lens);
    const vl = buf.readUInt32LE(lens + 4);
    lens += 8;
    if (data + kl + vl + 2 > buf.length) return undefined;
    const key = buf.toString('utf8', data, data + kl);
    data += kl + 1;
    const value = buf.toString('utf8', data, data + vl);
    data += vl + 1;
    out.push([key, value]);
  }
  return out;
}

// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain AssemblyScript:
// the proxy-wasm ABI has no crypto host calls.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// @ts-ignore: decorator
@inline
function rotr(x: u32, n: u32): u32 {
  return (x >>> n) | (x << (32 - n));
}

function compress(state: StaticArray<u32>, w: StaticArray<u32>, block: usize): void {
  for (let i = 0; i < 16; i++) {
    unchecked((w[i] = bswap<u32>(load<u32>(block + (<usize>i << 2)))));
  }
  for (let i = 16; i < 64; i++) {
    const w15 = unchecked(w[i - 15]);
    const w2 = unchecked(w[i - 2]);
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    unchecked((w[i] = unchecked(w[i - 16]) + s0 + unchecked(w[i - 7]) + s1));
  }
  let a = unchecked(state[0]);
  let b = unchecked(state[1]);
  let c = unchecked(state[2]);
  let d = unchecked(state[3]);
  let e = unchecked(state[4]);
  let f = unchecked(state[5]);
  let g = unchecked(state[6]);
  let h = unchecked(state[7]);
  for (let i = 0; i < 64; i++) {
    const s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + s1 + ch + unchecked(K[i]) + unchecked(w[i]);
    const s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = s0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  unchecked((state[0] += a));
  unchecked((state[1] += b));
  unchecked((state[2] += c));
  unchecked((state[3] += d));
  unchecked((state[4] += e));
  unchecked((state[5] += f));
  unchecked((state[6] += g));
  unchecked((state[7] += h));
}

const IV: StaticArray<u32> = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** Hashes `data` as the rest of a message whose first `prefixBytes` (whole blocks) left the state `from`. */
function finish(from: StaticArray<u32>, prefixBytes: u64, data: Uint8Array): Uint8Array {
  const state = new StaticArray<u32>(8);
  memory.copy(changetype<usize>(state), changetype<usize>(from), 32);
  const w = new StaticArray<u32>(64);
  const len = data.length;
  // Message, 0x80, zero padding, then the bit length as a big-endian u64.
  const padded = ((len + 9 + 63) >> 6) << 6;
  const buf = new Uint8Array(padded);
  memory.copy(buf.dataStart, data.dataStart, <usize>len);
  unchecked((buf[len] = 0x80));
  const bits = (prefixBytes + <u64>len) << 3;
  store<u64>(buf.dataStart + <usize>padded - 8, bswap<u64>(bits));
  for (let off = 0; off < padded; off += 64) compress(state, w, buf.dataStart + <usize>off);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) store<u32>(out.dataStart + (<usize>i << 2), bswap<u32>(unchecked(state[i])));
  return out;
}

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  return finish(IV, 0, data);
}

/**
 * An HMAC-SHA256 key with its padded blocks already hashed (RFC 2104): make
 * it once per configured secret, and each {@link mac} costs two compressions
 * fewer than {@link hmacSha256}.
 */
export class HmacSha256Key {
  private readonly inner: StaticArray<u32> = new StaticArray<u32>(8);
  private readonly outer: StaticArray<u32> = new StaticArray<u32>(8);

  constructor(key: Uint8Array) {
    const k = key.length > 64 ? sha256(key) : key;
    const ipad = new Uint8Array(64);
    const opad = new Uint8Array(64);
    for (let i = 0; i < 64; i++) {
      const b: u8 = i < k.length ? unchecked(k[i]) : 0;
      unchecked((ipad[i] = b ^ 0x36));
      unchecked((opad[i] = b ^ 0x5c));
    }
    const w = new StaticArray<u32>(64);
    memory.copy(changetype<usize>(this.inner), changetype<usize>(IV), 32);
    memory.copy(changetype<usize>(this.outer), changetype<usize>(IV), 32);
    compress(this.inner, w, ipad.dataStart);
    compress(this.outer, w, opad.dataStart);
  }

  /** HMAC-SHA256 of `message` (32 bytes). */
  mac(message: Uint8Array): Uint8Array {
    return finish(this.outer, 64, finish(this.inner, 64, message));
  }
}

/** HMAC-SHA256 of `message` under `key` (32 bytes). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return new HmacSha256Key(key).mac(message);
}

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  let diff: u32 = 0;
  for (let i = 0; i < a.length; i++) diff |= <u32>(unchecked(a[i]) ^ unchecked(b[i]));
  return diff == 0;
}

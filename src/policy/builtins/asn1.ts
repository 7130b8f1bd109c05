/** A small DER reader, enough for X.509 certificates (low tag numbers, definite lengths). */

/** Identifier bytes we use. */
export const TAG = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  UTF8String: 0x0c, NumericString: 0x12, PrintableString: 0x13, T61String: 0x14, IA5String: 0x16,
  UTCTime: 0x17, GeneralizedTime: 0x18, BMPString: 0x1e, SEQUENCE: 0x30, SET: 0x31,
} as const;

/** Context-specific tag `n`, primitive or constructed. */
export const ctx = (n: number, constructed = false): number => (constructed ? 0xa0 : 0x80) | n;

/** One element: its identifier byte, content, and full encoding. */
export interface Element {
  readonly tag: number;
  readonly content: Buffer;
  readonly raw: Buffer;
}

/** Error for malformed DER; `what` says where. */
export class Asn1Error extends Error {}

/** Reads consecutive elements from a buffer. */
export class DerReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** True when every byte has been read. */
  get empty(): boolean {
    return this.pos >= this.buf.length;
  }

  /** The next element's identifier byte, if any. */
  peek(): number | undefined {
    return this.empty ? undefined : this.buf[this.pos];
  }

  /** Reads the next element; with `tag`, it must have that identifier. */
  read(what: string, tag?: number): Element {
    const b = this.buf;
    const start = this.pos;
    if (start + 2 > b.length) throw new Asn1Error(what);
    const id = b[start]!;
    if ((id & 0x1f) === 0x1f || (tag !== undefined && id !== tag)) throw new Asn1Error(what);
    let len = b[start + 1]!;
    let at = start + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || at + n > b.length) throw new Asn1Error(what);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[at + i]!;
      at += n;
    }
    if (at + len > b.length) throw new Asn1Error(what);
    this.pos = at + len;
    return { tag: id, content: b.subarray(at, at + len), raw: b.subarray(start, at + len) };
  }

  /** Reads the next element only if it has identifier `tag`. */
  readOptional(what: string, tag: number): Element | undefined {
    return this.peek() === tag ? this.read(what, tag) : undefined;
  }

  /** A reader over the content of the next element (which must have identifier `tag`). */
  enter(what: string, tag: number): DerReader {
    return new DerReader(this.read(what, tag).content);
  }
}

/** OID arcs as numbers (bigint-free; components above 2^53 lose precision, as none occur in practice). */
export function oidArcs(content: Buffer): number[] {
  const arcs: number[] = [];
  let v = 0;
  for (const [i, byte] of content.entries()) {
    v = v * 128 + (byte & 0x7f);
    if (byte & 0x80) {
      if (i === content.length - 1) throw new Asn1Error('malformed OID');
      continue;
    }
    if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
    else arcs.push(v);
    v = 0;
  }
  if (arcs.length === 0) throw new Asn1Error('malformed OID');
  return arcs;
}

/** Two's-complement INTEGER content as a bigint. */
export function integer(content: Buffer): bigint {
  if (content.length === 0) throw new Asn1Error('malformed INTEGER');
  let v = BigInt(`0x${content.toString('hex')}`);
  if (content[0]! & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

/** BIT STRING content without its unused-bits byte. */
export function bitString(content: Buffer): { bytes: Buffer; unused: number } {
  const unused = content[0];
  if (unused === undefined || unused > 7 || (content.length === 1 && unused !== 0)) throw new Asn1Error('malformed BIT STRING');
  return { bytes: content.subarray(1), unused };
}

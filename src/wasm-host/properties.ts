/**
 * Properties (proxy_get_property): Envoy's attributes, a tree walked one
 * path segment at a time (segments arrive joined by NUL). Leaves serialize
 * as Envoy's serializeValue does: strings as UTF-8, integers, durations and
 * timestamps as 8-byte little-endian, booleans as one byte, maps as
 * serialized pairs.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes
 */
import { serializePairs, type HeaderList } from './header-map.js';

/** A property map (an attribute group or a header map). */
export interface PropertyTree {
  [key: string]: PropertyValue | undefined;
}
/** A property value: numbers and bigints are int64 (non-integers float64). */
export type PropertyValue = string | number | bigint | boolean | Uint8Array | PropertyTree;

function isTree(v: PropertyValue): v is PropertyTree {
  return typeof v === 'object' && !(v instanceof Uint8Array);
}

/** The value at `segments`, or undefined (NOT_FOUND). */
export function lookupProperty(tree: PropertyTree, segments: readonly string[]): PropertyValue | undefined {
  let value: PropertyValue | undefined = tree;
  for (const segment of segments) {
    if (value === undefined || !isTree(value)) return undefined;
    value = Object.prototype.hasOwnProperty.call(value, segment) ? value[segment] : undefined;
  }
  return value;
}

/** Splits the NUL-joined path the module sent. */
export function splitPath(path: Uint8Array): string[] {
  return Buffer.from(path).toString('utf8').split('\0').filter((s, i, all) => s.length > 0 || i < all.length - 1);
}

/** Envoy's byte encoding of one value. */
export function serializeProperty(value: PropertyValue): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'boolean') return Uint8Array.of(value ? 1 : 0);
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
    const out = Buffer.alloc(8);
    out.writeBigInt64LE(BigInt.asIntN(64, BigInt(value)));
    return out;
  }
  if (typeof value === 'number') {
    const out = Buffer.alloc(8);
    out.writeDoubleLE(value);
    return out;
  }
  const pairs: HeaderList = [];
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) pairs.push([k, Buffer.from(serializeProperty(v)).toString('utf8')]);
  }
  return serializePairs(pairs);
}

/** Sets `value` at a dotted path, creating groups on the way (fixture overrides). */
export function setProperty(tree: PropertyTree, dotted: string, value: PropertyValue): void {
  const segments = dotted.split('.');
  let node: PropertyTree = tree;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined || !isTree(next)) {
      const created: PropertyTree = {};
      node[segment] = created;
      node = created;
    } else {
      node = next;
    }
  }
  node[segments[segments.length - 1] ?? ''] = value;
}

/** Headers as Envoy's CEL map: lowercase names, repeated values joined with ",". */
export function headerTree(pairs: HeaderList): PropertyTree {
  const out: PropertyTree = {};
  for (const [k, v] of pairs) {
    const seen = out[k];
    out[k] = typeof seen === 'string' ? `${seen},${v}` : v;
  }
  return out;
}

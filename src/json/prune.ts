/**
 * Keeps only given paths of a JSON object tree. The policy input is pruned
 * to what the policy can read (see policy/input-paths.ts) before it is
 * serialised for the wasm.
 */

/** Keys to keep; `true` keeps the whole value under that key. */
export type PathTree = ReadonlyMap<string, PathTree | true>;

/** The tree of `paths` (each non-empty). */
export function pathTree(paths: readonly (readonly string[])[]): PathTree {
  const root = new Map<string, Map<string, unknown> | true>();
  for (const path of paths) {
    let node = root;
    for (let n = 0; n < path.length; n++) {
      const key = path[n]!;
      if (n === path.length - 1) {
        node.set(key, true);
        break;
      }
      const next = node.get(key);
      if (next === true) break; // a shorter path keeps all of it already
      node = (next ?? node.set(key, new Map()).get(key)) as typeof root;
    }
  }
  return root as PathTree;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** A copy of `value` with only the keys in `tree`; anything that is not a plain object is kept whole. */
export function prune(value: Record<string, unknown>, tree: PathTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    if (!Object.hasOwn(value, key)) continue;
    const v = value[key];
    out[key] = sub === true || !isPlainObject(v) ? v : prune(v, sub);
  }
  return out;
}

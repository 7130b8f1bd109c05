/** JSON parsing with a nesting limit, shared by every body parser. */

/**
 * Returns the deepest nesting of arrays and objects in JSON text. Strings are
 * skipped so brackets inside them do not count.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** JSON.parse with a nesting limit, so a hostile body cannot exhaust the policy's wasm stack. */
export function parseJsonLimited(text: string, maxDepth: number): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new Error(`JSON nesting exceeds limits.max_json_depth (${maxDepth})`);
  }
  return JSON.parse(text);
}

/**
 * Which parts of `input` a policy can read, from its Rego sources at build
 * time (a wasm bundle keeps only stubs of the compiled modules): every
 * `input.a.b["c"]` ref, cut at the first part that is not a constant name.
 * The sidecar then hands the policy only those parts, so the wasm parses
 * less JSON per request.
 *
 * This is a lexical scan, not a parser, and it errs towards "all of input":
 * `input` used whole, a template string (which may hold refs), or any
 * spacing it does not expect gives undefined. Tests hold it against the
 * refs in `opa parse --format json` output.
 */

/** Paths into `input`, each a list of keys; undefined means the policy may read all of it. */
export type InputPaths = readonly (readonly string[])[] | undefined;

const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdent = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** Index just past the string literal opening at `i` (`"..."` with escapes, or a raw `` `...` ``); -1 if unterminated. */
function skipString(src: string, i: number): number {
  const quote = src[i];
  for (let j = i + 1; j < src.length; j++) {
    if (quote === '"' && src[j] === '\\') j++;
    else if (src[j] === quote) return j + 1;
    else if (quote === '"' && src[j] === '\n') return -1;
  }
  return -1;
}

/** The constant keys after `input` (at `i`): `.name` and `["literal"]`; where they end. */
function readKeys(src: string, i: number): { keys: string[]; end: number } {
  const keys: string[] = [];
  for (;;) {
    if (src[i] === '.' && isIdentStart(src[i + 1])) {
      let j = i + 1;
      while (isIdent(src[j])) j++;
      keys.push(src.slice(i + 1, j));
      i = j;
    } else if (src[i] === '[' && src[i + 1] === '"') {
      const end = skipString(src, i + 1);
      if (end < 0 || src[end] !== ']') break;
      keys.push(JSON.parse(src.slice(i + 1, end)) as string);
      i = end + 1;
    } else {
      break;
    }
  }
  return { keys, end: i };
}

/** Adds the paths one module reads to `out`; false when it may read all of input. */
function scanModule(src: string, out: string[][]): boolean {
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl + 1;
    } else if (c === '"' || c === '`') {
      i = skipString(src, i);
      if (i < 0) return false; // not valid Rego; OPA would not have built it
    } else if (c === '$' && (src[i + 1] === '"' || src[i + 1] === '`')) {
      return false; // template strings embed expressions
    } else if (isIdentStart(c) && !isIdent(src[i - 1])) {
      let j = i + 1;
      while (isIdent(src[j])) j++;
      // `x.input` is a key named input, not the document.
      if (src.slice(i, j) === 'input' && src[i - 1] !== '.') {
        const { keys, end } = readKeys(src, j);
        if (keys.length === 0) return false;
        out.push(keys);
        j = end;
      }
      i = j;
    } else {
      i++;
    }
  }
  return true;
}

/** Drops paths that another path contains (a prefix keeps the whole value under it), and duplicates. */
function minimal(paths: string[][]): string[][] {
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  const kept: string[][] = [];
  for (const p of sorted) {
    if (!kept.some((k) => k.every((key, n) => p[n] === key))) kept.push(p);
  }
  return kept;
}

/** The input paths the given Rego modules read; undefined (all of input) if any module may read it whole or there are none. */
export function inputPathsOf(modules: readonly string[]): InputPaths {
  if (modules.length === 0) return undefined;
  const paths: string[][] = [];
  for (const src of modules) if (!scanModule(src, paths)) return undefined;
  return minimal(paths);
}

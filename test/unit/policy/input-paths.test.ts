// The lexical input-ref scan, held against real OPA's parser: for every fixture the paths must be
// the ones `opa parse --format json` shows (or "all of input" where the scan is deliberately coarse).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { inputPathsOf, type InputPaths } from '../../../src/policy/input-paths.js';
import { toolPath } from '../../../src/tools/locate.js';
import { FIXTURES, REPO } from '../../helpers/bundles.js';

const DIR = join(FIXTURES, 'input-paths');

interface Term {
  type: string;
  value: unknown;
}
const isTerm = (v: unknown): v is Term => typeof v === 'object' && v !== null && 'type' in v && 'value' in v;
const isInputVar = (v: unknown): boolean => isTerm(v) && v.type === 'var' && v.value === 'input';

/** The input paths in OPA's AST of `file`; undefined when input is used whole. */
function oraclePaths(file: string): InputPaths {
  const ast: unknown = JSON.parse(execFileSync(toolPath('opa'), ['parse', '--format', 'json', file], { encoding: 'utf8' }));
  const paths: string[][] = [];
  let whole = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    if (isTerm(node) && node.type === 'ref' && Array.isArray(node.value) && isInputVar(node.value[0])) {
      const keys: string[] = [];
      for (const part of node.value.slice(1) as Term[]) {
        if (part.type !== 'string') break;
        keys.push(part.value as string);
      }
      if (keys.length === 0) whole = true;
      else paths.push(keys);
      node.value.slice(1).forEach(walk);
      return;
    }
    if (isInputVar(node)) whole = true;
    Object.values(node).forEach(walk);
  };
  walk(ast);
  return whole ? undefined : paths;
}

const key = (p: readonly string[]): string => JSON.stringify(p);
const covers = (scan: readonly (readonly string[])[], p: readonly string[]): boolean => scan.some((s) => s.every((k, i) => p[i] === k));

/** Drops paths under another, as the scan does. */
function minimal(paths: readonly (readonly string[])[]): string[] {
  return [...new Set(paths.filter((p) => !paths.some((q) => q.length < p.length && q.every((k, i) => p[i] === k))).map(key))].sort();
}

const COARSE = new Set(['template-string.rego']);

for (const name of readdirSync(DIR).filter((f) => f.endsWith('.rego'))) {
  t.test(name, async (t) => {
    const file = join(DIR, name);
    const scanned = inputPathsOf([readFileSync(file, 'utf8')]);
    const oracle = oraclePaths(file);
    if (COARSE.has(name)) {
      t.ok(oracle, 'OPA sees individual refs');
      t.equal(scanned, undefined, 'the scan answers "all of input"');
      return;
    }
    if (oracle === undefined) {
      t.equal(scanned, undefined, 'input used whole, as OPA parses it');
      return;
    }
    t.ok(scanned, 'the scan finds paths');
    t.same([...scanned!].map(key).sort(), minimal(oracle), 'the same paths as OPA parses');
  });
}

t.test('the example bundle: every module together, as OPA parses them', async (t) => {
  const files = ['authn/jwt.rego', 'envoy/authz.rego', 'rbac/rbac.rego', 'validation/data-validation.rego'].map((f) => join(REPO, 'policies', f));
  const scanned = inputPathsOf(files.map((f) => readFileSync(f, 'utf8')));
  const oracle = files.flatMap((f) => oraclePaths(f) ?? [[]]);
  t.ok(scanned, 'the example policies can be pruned');
  t.same([...scanned!].map(key).sort(), minimal(oracle));
  for (const p of oracle) t.ok(covers(scanned!, p), `covers ${key(p)}`);
});

t.test('one module using input whole makes the whole bundle unprunable; no modules means unknown', async (t) => {
  const narrow = readFileSync(join(DIR, 'narrow.rego'), 'utf8');
  const whole = readFileSync(join(DIR, 'whole-bind.rego'), 'utf8');
  t.ok(inputPathsOf([narrow]));
  t.equal(inputPathsOf([narrow, whole]), undefined);
  t.equal(inputPathsOf([]), undefined, 'a bundle without sources sends everything');
  t.same(inputPathsOf([readFileSync(join(DIR, 'no-input.rego'), 'utf8')]), [], 'a policy that reads no input gets none');
});

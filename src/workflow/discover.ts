/**
 * Finds the test cases of a policy project by its layout (the one
 * `iacdash init` writes):
 *
 * ```text
 * policies/                       Rego, its *_test.rego (opa test) and data; the bundle's source
 * lua/<script>.lua                a Lua transform
 * lua/fixtures/<script>/*.yaml    its fixtures (also .yml, .json)
 * filters/<name>/filter.yaml      which proxy-wasm module, and defaults for its fixtures
 * filters/<name>/fixtures/*.json  its fixtures (also .yaml, .yml)
 * requests/**\/*.yaml              request-level fixtures: a CheckRequest and the expected answer
 * iacdash.yaml                    optional sidecar config (authz.path, limits) for request fixtures
 * ```
 *
 * Pure file-system reading; nothing runs here.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { isDataFile } from './read-data.js';
import type { CaseKind } from './types.js';

/** A Lua fixture and the script it tests. */
export interface LuaCase {
  readonly fixture: string;
  readonly script: string;
}

/** A wasm filter fixture and its filter folder (which holds filter.yaml). */
export interface WasmCase {
  readonly fixture: string;
  readonly filterDir: string;
}

/** A file that is in a fixture folder but is no fixture we know. */
export interface Problem {
  readonly kind: CaseKind;
  readonly file: string;
  readonly message: string;
}

/** Everything `iacdash test` found in one project folder (absolute paths, sorted). */
export interface ProjectPlan {
  readonly root: string;
  /** `policies/`, when it exists. */
  readonly regoRoot: string | undefined;
  /** True when `policies/` holds at least one `*_test.rego`. */
  readonly hasRegoTests: boolean;
  readonly lua: readonly LuaCase[];
  readonly wasm: readonly WasmCase[];
  readonly requests: readonly string[];
  /** `iacdash.yaml` at the project root, when present. */
  readonly config: string | undefined;
  readonly problems: readonly Problem[];
}

/** A project folder that is missing or holds nothing to test. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function sortedEntries(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Notes and hidden files may sit beside fixtures. */
function ignored(name: string): boolean {
  return name.startsWith('.') || extname(name).toLowerCase() === '.md';
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of sortedEntries(dir)) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const p = join(dir, name);
    if (isDir(p)) walk(p, out);
    else out.push(p);
  }
  return out;
}

const UNKNOWN = 'unknown fixture kind: expected a .yaml, .yml or .json file';

function findLua(root: string, problems: Problem[]): LuaCase[] {
  const fixtures = join(root, 'lua', 'fixtures');
  if (!isDir(fixtures)) return [];
  const out: LuaCase[] = [];
  for (const name of sortedEntries(fixtures)) {
    const p = join(fixtures, name);
    if (ignored(name)) continue;
    if (!isDir(p)) {
      problems.push({ kind: 'lua', file: p, message: `a Lua fixture belongs in lua/fixtures/<script>/, next to lua/<script>.lua` });
      continue;
    }
    for (const file of sortedEntries(p)) {
      const f = join(p, file);
      if (ignored(file) || isDir(f)) continue;
      if (!isDataFile(file)) problems.push({ kind: 'lua', file: f, message: UNKNOWN });
      else out.push({ fixture: f, script: join(root, 'lua', `${name}.lua`) });
    }
  }
  return out;
}

function findWasm(root: string, problems: Problem[]): WasmCase[] {
  const filters = join(root, 'filters');
  if (!isDir(filters)) return [];
  const out: WasmCase[] = [];
  for (const name of sortedEntries(filters)) {
    const filterDir = join(filters, name);
    if (ignored(name) || !isDir(filterDir)) continue;
    const fixtures = join(filterDir, 'fixtures');
    if (!isDir(fixtures)) continue;
    for (const file of sortedEntries(fixtures)) {
      const f = join(fixtures, file);
      if (ignored(file) || isDir(f)) continue;
      if (!isDataFile(file)) problems.push({ kind: 'wasm', file: f, message: UNKNOWN });
      else out.push({ fixture: f, filterDir });
    }
  }
  return out;
}

function findRequests(root: string, problems: Problem[]): string[] {
  const dir = join(root, 'requests');
  if (!isDir(dir)) return [];
  const out: string[] = [];
  for (const f of walk(dir)) {
    if (ignored(basename(f))) continue;
    if (!isDataFile(f)) problems.push({ kind: 'request', file: f, message: UNKNOWN });
    else out.push(f);
  }
  return out;
}

/** Reads one project folder's layout. Throws DiscoveryError when it is missing or has nothing to test. */
export function discover(path: string): ProjectPlan {
  const root = resolve(path);
  if (!existsSync(root)) throw new DiscoveryError(`${path}: no such folder`);
  if (!isDir(root)) throw new DiscoveryError(`${path}: not a folder (pass a project folder)`);
  const problems: Problem[] = [];
  const policies = join(root, 'policies');
  const regoRoot = isDir(policies) ? policies : undefined;
  const hasRegoTests = regoRoot !== undefined && walk(regoRoot).some((f) => f.endsWith('_test.rego'));
  const plan: ProjectPlan = {
    root,
    regoRoot,
    hasRegoTests,
    lua: findLua(root, problems),
    wasm: findWasm(root, problems),
    requests: findRequests(root, problems),
    config: existsSync(join(root, 'iacdash.yaml')) ? join(root, 'iacdash.yaml') : undefined,
    problems,
  };
  if (!hasRegoTests && plan.lua.length + plan.wasm.length + plan.requests.length + problems.length === 0) {
    throw new DiscoveryError(
      `${path}: nothing to test: expected policies/**/*_test.rego, lua/fixtures/<script>/*, filters/<name>/fixtures/* or requests/* ` +
        '(`iacdash init DIR` writes a project with one of each)',
    );
  }
  return plan;
}

#!/usr/bin/env node
// Builds every proxy-wasm filter under wasm-filters/filters/<name>/index.ts
// into the git-ignored build/wasm/<name>.wasm with the pinned AssemblyScript
// compiler, and prints each module's size.
//
//   node wasm-filters/build.mjs               build every filter
//   node wasm-filters/build.mjs NAME...       build only these
//   node wasm-filters/build.mjs --with-tests  also build the test-only modules and the README example
//
// Tests import buildFilter/ensureFilter so a test file can run on a fresh clone.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the shipped filters live, one folder each. */
export const FILTERS_DIR = join(REPO_ROOT, 'wasm-filters', 'filters');
/** Test-only modules (e.g. one that traps on purpose); built on demand by tests, never shipped. */
export const TEST_FILTERS_DIR = join(REPO_ROOT, 'wasm-filters', 'test-filters');
/** The README's example filter(s). */
export const EXAMPLES_DIR = join(REPO_ROOT, 'wasm-filters', 'examples');
/** The SDK every filter compiles against. */
export const SDK_DIR = join(REPO_ROOT, 'wasm-filters', 'sdk');
/** Output folder (git-ignored). */
export const OUT_DIR = join(REPO_ROOT, 'build', 'wasm');

/**
 * asc flags for a proxy-wasm module:
 * - `-O3`: binaryen's speed-focused optimisation. Every request runs the
 *   filters' code, and -O3 inlines the runtime's small helpers that `-Os`
 *   keeps as calls; it builds as fast as `-Os` (`--converge` would double
 *   the build time for a few bytes).
 * - `--runtime minimal`: a real GC without per-allocation collector work or
 *   write barriers; the SDK's exports call `__collect` at the end of top-level
 *   callbacks (every 32 of them, see sdk/exports.ts). The stub runtime never
 *   frees, so a long-lived VM would grow with every request until it runs out
 *   of memory; `incremental` frees on its own but costs more per request.
 * - `--use abort=…`: AssemblyScript's abort logs through `proxy_log` at
 *   critical level, then traps. Envoy provides no `env.abort`.
 * - `--exportStart _initialize`: top-level code (registering the root
 *   context) runs when the host calls `_initialize`, after instantiation,
 *   as the ABI prescribes, not inside the wasm start section.
 */
export const ASC_FLAGS = Object.freeze([
  '-O3',
  '--runtime',
  'minimal',
  '--use',
  'abort=wasm-filters/sdk/abort/sdkAbort',
  '--exportStart',
  '_initialize',
]);

/** Names of the shipped filters (folders under wasm-filters/filters holding an index.ts). */
export async function listFilters(dir = FILTERS_DIR) {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await stat(join(dir, e.name, 'index.ts')).catch(() => null);
    if (found) names.push(e.name);
  }
  return names.sort();
}

/** Source folder of a filter: filters/, test-filters/ (`test`) or examples/ (`example`). */
function sourceDir({ test = false, example = false } = {}) {
  return example ? EXAMPLES_DIR : test ? TEST_FILTERS_DIR : FILTERS_DIR;
}

/** Output path: build/wasm/<name>.wasm, build/wasm/test/<name>.wasm or build/wasm/examples/<name>.wasm. */
export function outputPath(name, { test = false, example = false } = {}) {
  if (example) return join(OUT_DIR, 'examples', `${name}.wasm`);
  return test ? join(OUT_DIR, 'test', `${name}.wasm`) : join(OUT_DIR, `${name}.wasm`);
}

let ascModule;
async function loadAsc() {
  ascModule ??= (await import('assemblyscript/asc')).default;
  return ascModule;
}

// One compile at a time per process: asc keeps global state between runs.
let queue = Promise.resolve();

/**
 * Compiles one filter. Writes to a temp name and renames, so parallel test
 * files building the same module never load a half-written file. Rejects with
 * asc's diagnostics on compile errors.
 */
export async function buildFilter(name, kind = {}) {
  const entry = join(sourceDir(kind), name, 'index.ts');
  const outFile = outputPath(name, kind);
  const tmp = `${outFile}.${process.pid}.${Date.now()}.tmp`;
  const args = [relative(REPO_ROOT, entry), '-o', relative(REPO_ROOT, tmp), '--baseDir', REPO_ROOT, ...ASC_FLAGS];
  const command = ['asc', relative(REPO_ROOT, entry), '-o', relative(REPO_ROOT, outFile), ...ASC_FLAGS].join(' ');
  const job = queue.then(async () => {
    await mkdir(dirname(outFile), { recursive: true });
    const asc = await loadAsc();
    // --baseDir: paths (and `--use abort=wasm-filters/...`) resolve from the repo root.
    const result = await asc.main(args, {});
    if (result.error) {
      await rm(tmp, { force: true });
      throw new Error(`${command} failed:\n${result.stderr.toString()}`);
    }
    await rename(tmp, outFile);
    const { size } = await stat(outFile);
    return { name, path: outFile, size, command };
  });
  queue = job.catch(() => undefined);
  return job;
}

async function newestMtime(dir) {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Builds a filter unless its .wasm is newer than every source (the SDK and the filter's folder). */
export async function ensureFilter(name, kind = {}) {
  const outFile = outputPath(name, kind);
  const built = await stat(outFile).catch(() => null);
  if (built) {
    const sources = Math.max(
      await newestMtime(SDK_DIR),
      await newestMtime(join(sourceDir(kind), name)),
      (await stat(fileURLToPath(import.meta.url))).mtimeMs,
    );
    if (built.mtimeMs >= sources) {
      return { name, path: outFile, size: built.size, command: '(up to date)' };
    }
  }
  return buildFilter(name, kind);
}

/** Builds every shipped filter (or the named ones), plus the test-only modules if asked, and returns their sizes. */
export async function buildAll(names, { withTests = false } = {}) {
  const shipped = await listFilters();
  const tests = await listFilters(TEST_FILTERS_DIR);
  const results = [];
  if (names && names.length > 0) {
    for (const name of names) {
      if (!shipped.includes(name) && !tests.includes(name)) {
        throw new Error(`no filter "${name}": expected wasm-filters/filters/${name}/index.ts (filters: ${shipped.join(', ')}; test filters: ${tests.join(', ')})`);
      }
      results.push(await buildFilter(name, { test: !shipped.includes(name) }));
    }
    return results;
  }
  for (const name of shipped) results.push(await buildFilter(name));
  if (withTests) {
    for (const name of tests) results.push(await buildFilter(name, { test: true }));
    for (const name of await listFilters(EXAMPLES_DIR)) results.push(await buildFilter(name, { example: true }));
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const args = process.argv.slice(2);
    const results = await buildAll(args.filter((a) => !a.startsWith('--')), { withTests: args.includes('--with-tests') });
    for (const r of results) {
      console.log(`${r.name.padEnd(16)} ${String(r.size).padStart(8)} bytes  ${relative(REPO_ROOT, r.path)}`);
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}

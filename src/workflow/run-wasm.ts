/**
 * proxy-wasm filter fixtures (the format of src/wasm-host/fixture.ts) in the
 * local host. Each filter folder names its module in `filter.yaml`:
 *
 * ```yaml
 * module: iacdash:custom-auth   # a filter shipped with iacdash (its build/wasm/custom-auth.wasm), or
 * # module: ./my-filter.wasm    # a path relative to this file
 * rootId: custom-auth           # optional: the fixtures' default root_id
 * configuration: {...}          # optional: the fixtures' default plugin configuration
 * ```
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { REPO_ROOT } from '../tools/locate.js';
import { parseFixture, runFixture } from '../wasm-host/index.js';
import { display } from './display.js';
import { expectObject, FixtureError, readData } from './read-data.js';
import { detailOf, type CaseResult } from './types.js';
import type { WasmCase } from './discover.js';

/** The prefix that names a filter shipped with iacdash. */
export const SHIPPED_PREFIX = 'iacdash:';

const manifestSchema = z.strictObject({
  module: z.string().min(1),
  rootId: z.string().optional(),
  configuration: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});

/** A filter folder's `filter.yaml`. */
export type FilterManifest = z.infer<typeof manifestSchema>;

/** Reads and checks `filter.yaml`; errors name the file and the key. */
export function readManifest(filterDir: string): FilterManifest {
  const path = join(filterDir, 'filter.yaml');
  const label = display(path);
  if (!existsSync(path)) throw new FixtureError(`${label}: no such file; it names the filter's module (module: iacdash:NAME or a .wasm path)`);
  const r = manifestSchema.safeParse(readData(path, label));
  if (!r.success) throw new FixtureError(r.error.issues.map((i) => `${label}: ${i.path.join('.') || '(top level)'}: ${i.message}`).join('\n'));
  return r.data;
}

function shippedFilters(): string[] {
  try {
    return readdirSync(join(REPO_ROOT, 'wasm-filters', 'filters')).sort();
  } catch {
    return [];
  }
}

/** Path of a shipped filter's module, built (or rebuilt when stale) when the build script is at hand. */
async function shippedModule(name: string, label: string): Promise<string> {
  const known = shippedFilters();
  const built = join(REPO_ROOT, 'build', 'wasm', `${name}.wasm`);
  if (!known.includes(name) && !existsSync(built)) {
    throw new FixtureError(`${label}: module: unknown filter ${SHIPPED_PREFIX}${name} (shipped: ${known.map((k) => SHIPPED_PREFIX + k).join(', ') || 'none'})`);
  }
  const script = join(REPO_ROOT, 'wasm-filters', 'build.mjs');
  if (existsSync(script) && known.includes(name)) {
    try {
      const build = (await import(pathToFileURL(script).href)) as { ensureFilter(n: string): Promise<{ path: string }> };
      return (await build.ensureFilter(name)).path;
    } catch (err) {
      if (!existsSync(built)) throw new FixtureError(`${label}: module: ${display(built)} is not built and the build failed: ${(err as Error).message}`);
    }
  }
  if (!existsSync(built)) throw new FixtureError(`${label}: module: ${display(built)} is not built; run \`npm run build:filters\` in ${REPO_ROOT}`);
  return built;
}

/** Resolves `module:` to a file: `iacdash:NAME`, or a path relative to filter.yaml. */
async function modulePath(filterDir: string, module: string): Promise<string> {
  const label = display(join(filterDir, 'filter.yaml'));
  if (module.startsWith(SHIPPED_PREFIX)) return shippedModule(module.slice(SHIPPED_PREFIX.length), label);
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) {
    throw new FixtureError(`${label}: module: unknown scheme in ${JSON.stringify(module)} (use ${SHIPPED_PREFIX}NAME or a .wasm path)`);
  }
  const path = resolve(filterDir, module);
  if (!existsSync(path)) throw new FixtureError(`${label}: module: ${display(path)}: no such file`);
  return path;
}

/** Compiled modules of one run, by filter folder: each is compiled once per run, afresh on the next. */
export type ModuleCache = Map<string, Promise<{ module: WebAssembly.Module; manifest: FilterManifest }>>;

function loadFilter(filterDir: string, cache: ModuleCache): Promise<{ module: WebAssembly.Module; manifest: FilterManifest }> {
  let entry = cache.get(filterDir);
  if (!entry) {
    entry = (async () => {
      const manifest = readManifest(filterDir);
      const path = await modulePath(filterDir, manifest.module);
      try {
        return { module: await WebAssembly.compile(readFileSync(path)), manifest };
      } catch (err) {
        throw new FixtureError(`${display(path)}: not a WebAssembly module: ${(err as Error).message}`);
      }
    })();
    cache.set(filterDir, entry);
  }
  return entry;
}

/** Runs one wasm fixture; a broken fixture, manifest or module is an error case. */
export async function runWasm(c: WasmCase, cache: ModuleCache): Promise<CaseResult> {
  const file = display(c.fixture);
  const start = performance.now();
  let name = '';
  const done = (status: CaseResult['status'], details: CaseResult['details']): CaseResult => ({
    kind: 'wasm',
    file,
    name,
    status,
    details,
    durationMs: performance.now() - start,
  });
  try {
    const data = expectObject(readData(c.fixture, file), file);
    name = typeof data['name'] === 'string' ? data['name'] : '';
    const fixture = parseFixture(data, file);
    const { module, manifest } = await loadFilter(c.filterDir, cache);
    const withDefaults = {
      ...fixture,
      ...(fixture.rootId === undefined && manifest.rootId !== undefined ? { rootId: manifest.rootId } : {}),
      ...(fixture.configuration === undefined && manifest.configuration !== undefined ? { configuration: manifest.configuration } : {}),
    };
    const result = await runFixture(withDefaults, module);
    result.host?.close();
    const failures = [...result.failures];
    const trap = result.exchange?.failure;
    if (trap && fixture.expect.trap !== true) failures.push(`the filter trapped in ${trap.callback}: ${trap.message}`);
    return failures.length === 0 ? done('pass', []) : done('fail', failures.map(detailOf));
  } catch (err) {
    // The host's own code prefix says nothing more than "error" here; the message names the file.
    const message = (err as Error).message.replace(/^options_invalid: /, '');
    return done('error', message.split('\n').map((text) => ({ kind: 'note' as const, text })));
  }
}


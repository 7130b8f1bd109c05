/**
 * `iacdash build`: compiles Rego to a wasm bundle with real `opa build -t
 * wasm`, then records in its manifest which input paths the policy reads,
 * so the sidecar can hand it only those (see policy/bundle-metadata.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { recordInputPaths } from '../policy/bundle-metadata.js';
import { inputPathsOf } from '../policy/input-paths.js';
import { toolPath } from '../tools/locate.js';

export const DEFAULT_ENTRYPOINT = 'envoy/authz/allow';
const TEST_FILES = '*_test.rego';

/** Options of one build. */
export interface BuildOptions {
  dirs: string[];
  output: string;
  entrypoints: string[];
  /** Extra `--ignore` patterns; Rego tests are always left out of the bundle. */
  ignore?: string[];
  /** `opa build --revision`. */
  revision?: string;
  /** Where OPA's messages go; our stderr by default (`iacdash test` keeps them for its report). */
  diagnostics?: (text: string) => void;
}

/** A shell glob on one name (`*`, `?`), as OPA's `--ignore` matches file and folder names. */
function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
  return new RegExp(`^${body}$`);
}

/**
 * The Rego files `opa build` reads from `roots`. Scanning a file OPA left
 * out only widens the paths, so the patterns may skip less than OPA's, never
 * more. As in OPA, they apply below the roots, never to a root itself
 * (`iacdash build . --ignore '.*'` builds `.`).
 */
function regoFiles(roots: readonly string[], ignore: readonly string[]): string[] {
  const skip = [TEST_FILES, ...ignore].map(globToRegExp);
  const out: string[] = [];
  const visit = (path: string, root: boolean): void => {
    if (!root && skip.some((re) => re.test(basename(path)))) return;
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name), false);
    else if (path.endsWith('.rego')) out.push(path);
  };
  for (const root of roots) visit(root, true);
  return out;
}

/** Runs `opa build`; OPA's own messages (with file:line) go to our stderr unchanged. Returns its exit code. */
export function buildBundle(opts: BuildOptions): number {
  const opa = toolPath('opa');
  mkdirSync(dirname(opts.output), { recursive: true });
  const roots = opts.dirs.length ? opts.dirs : ['.'];
  const args = ['build', '-t', 'wasm', '-o', opts.output, '--ignore', TEST_FILES];
  for (const pattern of opts.ignore ?? []) args.push('--ignore', pattern);
  for (const e of opts.entrypoints.length ? opts.entrypoints : [DEFAULT_ENTRYPOINT]) args.push('-e', e);
  if (opts.revision !== undefined) args.push('--revision', opts.revision);
  args.push(...roots);
  // OPA prints its errors on stdout; they are diagnostics, so they go to our stderr.
  const r = spawnSync(opa, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.error) throw r.error;
  (opts.diagnostics ?? ((text: string) => process.stderr.write(text)))(r.stdout + r.stderr);
  if (r.status !== 0) return r.status ?? 1;
  const paths = inputPathsOf(regoFiles(roots, opts.ignore ?? []).map((f) => readFileSync(f, 'utf8')));
  writeFileSync(opts.output, recordInputPaths(readFileSync(opts.output), paths));
  return 0;
}

/** `iacdash build`: compiles Rego to a wasm bundle with real `opa build -t wasm`. */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { toolPath } from '../tools/locate.js';

export const DEFAULT_ENTRYPOINT = 'envoy/authz/allow';

/** Options of one build. */
export interface BuildOptions {
  dirs: string[];
  output: string;
  entrypoints: string[];
  /** Extra `--ignore` patterns; Rego tests are always left out of the bundle. */
  ignore?: string[];
  /** Where OPA's messages go; our stderr by default (`iacdash test` keeps them for its report). */
  diagnostics?: (text: string) => void;
}

/** Runs `opa build`; OPA's own messages (with file:line) go to our stderr unchanged. Returns its exit code. */
export function buildBundle(opts: BuildOptions): number {
  const opa = toolPath('opa');
  mkdirSync(dirname(opts.output), { recursive: true });
  const args = ['build', '-t', 'wasm', '-o', opts.output, '--ignore', '*_test.rego'];
  for (const pattern of opts.ignore ?? []) args.push('--ignore', pattern);
  for (const e of opts.entrypoints.length ? opts.entrypoints : [DEFAULT_ENTRYPOINT]) args.push('-e', e);
  args.push(...(opts.dirs.length ? opts.dirs : ['.']));
  // OPA prints its errors on stdout; they are diagnostics, so they go to our stderr.
  const r = spawnSync(opa, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.error) throw r.error;
  (opts.diagnostics ?? ((text: string) => process.stderr.write(text)))(r.stdout + r.stderr);
  return r.status ?? 1;
}

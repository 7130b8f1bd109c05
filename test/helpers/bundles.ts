/** Builds bundles from test/fixtures/policies with real OPA, into a temp folder. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '../../src/tools/locate.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
export const REPO = join(import.meta.dirname, '..', '..');

/** A fresh temp folder for one test. */
export function tempDir(prefix = 'iacdash-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `opa build` of a fixture policy folder (or any folder) into `out`. */
export function buildBundle(
  dir: string,
  out: string,
  opts: { entrypoint?: string; target?: 'wasm' | 'rego'; revision?: string } = {},
): string {
  const src = dir.startsWith('/') ? dir : join(FIXTURES, 'policies', dir);
  const args = ['build', '-t', opts.target ?? 'wasm', '-e', opts.entrypoint ?? 'envoy/authz/allow', '-o', out, '--ignore', '*_test.rego'];
  if (opts.revision) args.push('--revision', opts.revision);
  execFileSync(toolPath('opa'), [...args, src], { stdio: ['ignore', 'ignore', 'pipe'] });
  return out;
}

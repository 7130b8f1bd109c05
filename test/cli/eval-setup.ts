/** What the `iacdash eval` test files share: the CLI runner, fixture folders, a real bundle and a built filter. */
import { join } from 'node:path';
import { ensureFilter } from '../../wasm-filters/build.mjs';
import { buildBundle, FIXTURES, REPO, tempDir } from '../helpers/bundles.js';
import { iacdashAsync, type Run } from './helpers.js';

export const EVAL = join(FIXTURES, 'eval');
export const EXAMPLES = join(REPO, 'policies', 'examples');
export const WASM_FIXTURES = join(REPO, 'test', 'unit', 'wasm-host', 'fixtures', 'custom-auth');

/** `iacdash eval ARGS` at the repository root. */
export const iacdash = (...args: string[]): Promise<Run> => iacdashAsync(['eval', ...args]);

export const dir = tempDir('iacdash-eval-');
/** `policies/` built by real OPA. */
export const bundle = buildBundle(join(REPO, 'policies'), join(dir, 'policies.tar.gz'));
/** custom-auth.wasm, built by AssemblyScript when stale. */
export const customAuth = (await ensureFilter('custom-auth')).path;

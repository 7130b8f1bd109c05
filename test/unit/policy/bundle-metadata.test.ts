// `iacdash build` records the input paths in the manifest; real OPA still reads the bundle, and a
// malformed record is refused with the key named.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBundle as iacdashBuild } from '../../../src/cli/build.js';
import { rewriteManifest } from '../../../src/policy/bundle-metadata.js';
import { readBundle } from '../../../src/policy/bundle.js';
import { inputPathsOf } from '../../../src/policy/input-paths.js';
import { toolPath } from '../../../src/tools/locate.js';
import { buildBundle, FIXTURES, REPO, tempDir } from '../../helpers/bundles.js';

const dir = tempDir();
const ENTRY = 'envoy/authz/allow';
const quiet = { diagnostics: () => {} };

t.test('the example bundle carries the paths its sources read, and OPA reads it as before', async (t) => {
  const out = join(dir, 'examples.tar.gz');
  t.equal(iacdashBuild({ dirs: [join(REPO, 'policies')], output: out, entrypoints: [], revision: 'rev-7', ...quiet }), 0);
  const sources = ['authn/jwt.rego', 'envoy/authz.rego', 'rbac/rbac.rego', 'validation/data-validation.rego'].map((f) => readFileSync(join(REPO, 'policies', f), 'utf8'));
  const bundle = readBundle(readFileSync(out), ENTRY);
  t.same(bundle.inputPaths, inputPathsOf(sources));
  t.equal(bundle.revision, 'rev-7', '--revision reaches opa build');
  const inspect = JSON.parse(execFileSync(toolPath('opa'), ['inspect', '--format', 'json', out], { encoding: 'utf8' })) as { manifest: Record<string, any> };
  t.equal(inspect.manifest['revision'], 'rev-7');
  t.same(inspect.manifest['metadata'].iacdash.input_paths, bundle.inputPaths, 'OPA sees the same metadata');
});

t.test('a policy that reads input whole records null: no pruning', async (t) => {
  const out = join(dir, 'whole.tar.gz');
  t.equal(iacdashBuild({ dirs: [join(FIXTURES, 'diff-policy')], output: out, entrypoints: [], ...quiet }), 0);
  t.equal(readBundle(readFileSync(out), ENTRY).inputPaths, undefined);
});

t.test('a bundle from plain opa build has no record: the whole input', async (t) => {
  const out = buildBundle('basic', join(dir, 'plain.tar.gz'));
  t.equal(readBundle(readFileSync(out), ENTRY).inputPaths, undefined);
});

t.test('a malformed record is refused, naming the key', async (t) => {
  const plain = readFileSync(buildBundle('basic', join(dir, 'plain2.tar.gz')));
  for (const [name, paths] of [['a string', 'x'], ['an empty path', [[]]], ['a number key', [['a', 1]]]] as const) {
    const bad = rewriteManifest(plain, (m) => ({ ...m, metadata: { iacdash: { input_paths: paths } } }));
    const file = join(dir, 'bad.tar.gz');
    writeFileSync(file, bad);
    t.throws(() => readBundle(readFileSync(file), ENTRY), { name: 'BundleError', message: /metadata\.iacdash\.input_paths/ }, name);
  }
});

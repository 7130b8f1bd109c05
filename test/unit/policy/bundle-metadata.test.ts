// `iacdash build` records the input paths in the manifest; real OPA still reads the bundle, and a
// malformed record is refused with the key named.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBundle as iacdashBuild } from '../../../src/cli/build.js';
import { rewriteManifest } from '../../../src/policy/bundle-metadata.js';
import { policySha256, readBundle } from '../../../src/policy/bundle.js';
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

t.test('--ignore applies below the dirs given, never to one of them, as in OPA (regression: lib/ went unscanned)', async (t) => {
  const root = join(dir, 'ignore-roots');
  const main = join(root, 'main');
  const lib = join(root, 'lib');
  mkdirSync(main, { recursive: true });
  mkdirSync(lib, { recursive: true });
  const mainRego = 'package envoy.authz\n\nimport data.lib\n\nallow if {\n\tinput.a == 1\n\tlib.ok\n}\n';
  const libRego = 'package lib\n\nok if input.b == 2\n';
  writeFileSync(join(main, 'p.rego'), mainRego);
  writeFileSync(join(lib, 'l.rego'), libRego);
  const out = join(dir, 'ignore-roots.tar.gz');
  t.equal(iacdashBuild({ dirs: [main, lib], output: out, entrypoints: [], ignore: ['lib'], ...quiet }), 0);
  // OPA built lib/ into the bundle, so its input.b must be recorded too.
  t.same(readBundle(readFileSync(out), ENTRY).inputPaths, inputPathsOf([mainRego, libRego]));
});

t.test('a record made for another policy.wasm is not trusted: the whole input', async (t) => {
  const plain = readFileSync(buildBundle('basic', join(dir, 'plain3.tar.gz')));
  const wasm = readBundle(plain, ENTRY).wasm;
  const withHash = (hash: string): Buffer => rewriteManifest(plain, (m) => ({ ...m, metadata: { iacdash: { input_paths: [['attributes']], policy_sha256: hash } } }));
  t.same(readBundle(withHash(policySha256(wasm)), ENTRY).inputPaths, [['attributes']], 'the hash of this wasm: the paths hold');
  t.equal(readBundle(withHash('0'.repeat(64)), ENTRY).inputPaths, undefined, 'rebuilt without iacdash: ignored');
  const noHash = rewriteManifest(plain, (m) => ({ ...m, metadata: { iacdash: { input_paths: [['attributes']] } } }));
  t.equal(readBundle(noHash, ENTRY).inputPaths, undefined, 'no hash: ignored');
});

// Discovery reads a project's layout; nothing runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { discover, DiscoveryError } from '../../../src/workflow/index.js';
import { tempDir } from '../../helpers/bundles.js';

function layout(files: string[]): string {
  const root = tempDir();
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

t.test('finds each kind by its place in the layout, sorted', async (t) => {
  const root = layout([
    'policies/authz.rego',
    'policies/sub/rbac_test.rego',
    'lua/a.lua',
    'lua/fixtures/a/2.yaml',
    'lua/fixtures/a/1.json',
    'lua/fixtures/a/notes.md',
    'lua/fixtures/b/x.yml',
    'filters/f/filter.yaml',
    'filters/f/fixtures/one.json',
    'filters/f/fixtures/.swp',
    'filters/g/filter.yaml',
    'requests/z.yaml',
    'requests/group/a.json',
    'requests/README.md',
    'iacdash.yaml',
  ]);
  const p = discover(root);
  t.equal(p.root, root);
  t.equal(p.regoRoot, join(root, 'policies'));
  t.ok(p.hasRegoTests, 'a *_test.rego in a subfolder counts');
  t.same(p.lua, [
    { fixture: join(root, 'lua/fixtures/a/1.json'), script: join(root, 'lua/a.lua') },
    { fixture: join(root, 'lua/fixtures/a/2.yaml'), script: join(root, 'lua/a.lua') },
    { fixture: join(root, 'lua/fixtures/b/x.yml'), script: join(root, 'lua/b.lua') },
  ]);
  t.same(p.wasm, [{ fixture: join(root, 'filters/f/fixtures/one.json'), filterDir: join(root, 'filters/f') }], 'a filter without fixtures/ has no cases');
  t.same(p.requests, [join(root, 'requests/group/a.json'), join(root, 'requests/z.yaml')]);
  t.equal(p.config, join(root, 'iacdash.yaml'));
  t.same(p.problems, []);
});

t.test('unknown files in fixture folders are problems, not silently skipped', async (t) => {
  const root = layout(['lua/fixtures/stray.yaml', 'lua/fixtures/a/b.lua', 'filters/f/fixtures/c.wasm', 'requests/d.http']);
  const p = discover(root);
  t.same(
    p.problems.map((x) => [x.kind, x.file.slice(root.length + 1), x.message.split(':')[0]]),
    [
      ['lua', 'lua/fixtures/a/b.lua', 'unknown fixture kind'],
      ['lua', 'lua/fixtures/stray.yaml', 'a Lua fixture belongs in lua/fixtures/<script>/, next to lua/<script>.lua'],
      ['wasm', 'filters/f/fixtures/c.wasm', 'unknown fixture kind'],
      ['request', 'requests/d.http', 'unknown fixture kind'],
    ],
  );
});

t.test('Rego without tests is no case; a missing or empty project is an error', async (t) => {
  const onlyPolicy = layout(['policies/authz.rego', 'requests/a.yaml']);
  const p = discover(onlyPolicy);
  t.equal(p.hasRegoTests, false);
  t.equal(p.regoRoot, join(onlyPolicy, 'policies'), 'the bundle source is still known');
  t.throws(() => discover(join(onlyPolicy, 'nope')), DiscoveryError);
  t.throws(() => discover(join(onlyPolicy, 'policies', 'authz.rego')), { message: /not a folder/ });
  t.throws(() => discover(layout(['policies/authz.rego', 'README.md'])), { message: /nothing to test/ });
});

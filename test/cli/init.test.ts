// `iacdash init DIR` as a user runs it: a subprocess on real folders.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/bundles.js';
import { iacdash, lastLine } from './helpers.js';

t.test('init writes a project that passes iacdash test out of the box', async (t) => {
  const dir = join(tempDir(), 'my-policies');
  const init = iacdash(tempDir(), ['init', dir]);
  t.equal(init.code, 0, init.stderr);
  t.match(init.stdout, /wrote 13 files to .*my-policies/);
  for (const f of ['README.md', 'policies/authz.rego', 'policies/authz_test.rego', 'lua/add-tenant.lua', 'filters/custom-auth/filter.yaml', 'requests/no-key-401.yaml']) {
    t.ok(existsSync(join(dir, f)), f);
  }
  t.match(readFileSync(join(dir, 'filters/custom-auth/filter.yaml'), 'utf8'), /^module: iacdash:custom-auth$/m, 'the filter is referenced by name, not by a path into iacdash');
  const run = iacdash(dir, ['test']);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.equal(lastLine(run.stdout), '10 passed, 0 failed');
  for (const kind of ['rego', 'lua', 'wasm', 'request']) t.match(run.stdout, new RegExp(`^PASS  ${kind}\\s`, 'm'), `a ${kind} case passes`);
  t.notMatch(run.stdout, /FAIL|ERROR/);
});

t.test('init into an empty existing folder works; a non-empty one is refused', async (t) => {
  const empty = tempDir();
  t.equal(iacdash(empty, ['init', '.']).code, 0);
  const full = tempDir();
  writeFileSync(join(full, 'keep.txt'), 'mine');
  const r = iacdash(full, ['init', full]);
  t.equal(r.code, 1);
  t.match(r.stderr, /iacdash init: .*: not empty \(1 entry, e\.g\. keep\.txt\)/);
  t.equal(readFileSync(join(full, 'keep.txt'), 'utf8'), 'mine', 'nothing was overwritten');
  t.notOk(existsSync(join(full, 'policies')), 'nothing was written');
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, '');
  t.match(iacdash(tempDir(), ['init', file]).stderr, /exists and is not a folder/);
  const sub = tempDir();
  mkdirSync(join(sub, 'x'));
  t.equal(iacdash(sub, ['init']).code, 2, 'DIR is required');
});

import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readBundle } from '../../../src/policy/bundle.js';
import { FileBundleSource, PolicyStore } from '../../../src/policy/store.js';
import { buildBundle, FIXTURES, tempDir } from '../../helpers/bundles.js';

const ENGINE = { entrypoint: 'envoy/authz/allow', maxMemoryBytes: 64 * 1024 * 1024, strictBuiltinErrors: false };
const evalPath = (store: PolicyStore, path: string): unknown =>
  store.engine?.evaluate(JSON.stringify({ parsed_path: [path] }))[0]?.result;

t.test('bad bundles are refused with a reason that names the problem', async (t) => {
  const dir = tempDir();
  const cases: [string, Buffer, RegExp][] = [
    ['not gzip', readFileSync(join(FIXTURES, 'bundles', 'not-gzip.bin')), /not a gzip file/],
    ['bad deflate', readFileSync(join(FIXTURES, 'bundles', 'bad-deflate.bin')), /not a gzip file/],
    ['truncated', readFileSync(buildBundle('basic', join(dir, 'b.tar.gz'))).subarray(0, 2000), /not a gzip file|not a valid tar/],
    ['rego target', readFileSync(buildBundle('basic', join(dir, 'r.tar.gz'), { target: 'rego' })), /has no \/policy\.wasm; build it with `opa build -t wasm`/],
    ['other entrypoint', readFileSync(buildBundle('other-entrypoint', join(dir, 'o.tar.gz'), { entrypoint: 'other/allow' })), /has no entrypoint envoy\/authz\/allow \(it has: other\/allow\)/],
  ];
  for (const [name, bytes, message] of cases) t.throws(() => readBundle(bytes, 'envoy/authz/allow'), { name: 'BundleError', message }, name);
});

t.test('a bundle needing a builtin we do not provide is refused at load', async (t) => {
  const dir = tempDir();
  const store = new PolicyStore(new FileBundleSource(buildBundle('http-send', join(dir, 'h.tar.gz'))), ENGINE);
  let reason = '';
  store.on('load_error', ({ error }) => (reason = (error as Error).message));
  t.equal(await store.reload(), false);
  t.match(reason, /needs builtins iacdash does not provide: http\.send/);
  t.equal(store.engine, undefined);
});

t.test('hot swap: a good bundle replaces the old one, a bad one keeps the last good', async (t) => {
  const dir = tempDir();
  const live = join(dir, 'live.tar.gz');
  buildBundle('basic', live, { revision: 'r1' });
  const store = new PolicyStore(new FileBundleSource(live), ENGINE);
  const errors: string[] = [];
  store.on('load_error', ({ error }) => errors.push((error as Error).message));
  t.equal(await store.reload(), true);
  t.equal(store.engine?.revision, 'r1');
  t.same(evalPath(store, 'x'), { allowed: true, headers: { 'x-revision': 'one' } });

  t.equal(await store.reload(), false, 'unchanged file: no reload');

  // Corrupt replacement (written in place): refused, r1 keeps serving.
  writeFileSync(live, 'garbage');
  t.equal(await store.reload(), false);
  t.equal(store.engine?.revision, 'r1');
  t.same(evalPath(store, 'deny'), { allowed: false, http_status: 429 });
  t.equal(store.counts.loadErrors, 1);
  t.match(errors[0], /not a gzip file/);

  // Good replacement via atomic rename: swapped.
  const policyDir = join(dir, 'p2');
  mkdirSync(policyDir);
  copyFileSync(join(FIXTURES, 'policies', 'basic', 'policy.rego'), join(policyDir, 'policy.rego'));
  writeFileSync(join(policyDir, 'data.json'), '{"settings": {"revision": "two"}}');
  buildBundle(policyDir, join(dir, 'next.tar.gz'), { revision: 'r2' });
  renameSync(join(dir, 'next.tar.gz'), live);
  t.equal(await store.reload(), true);
  t.equal(store.engine?.revision, 'r2');
  t.same(evalPath(store, 'x'), { allowed: true, headers: { 'x-revision': 'two' } });
  t.equal(store.counts.loads, 2);
});

t.test('a missing file is a load error, not a crash', async (t) => {
  const store = new PolicyStore(new FileBundleSource('/nonexistent/b.tar.gz'), ENGINE);
  let reason = '';
  store.on('load_error', ({ error }) => (reason = (error as Error).message));
  t.equal(await store.reload(), false);
  t.match(reason, /ENOENT/);
});

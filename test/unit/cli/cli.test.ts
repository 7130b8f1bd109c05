// The CLI as a user runs it: a subprocess, real files, real OPA; output and exit code checked.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildBundle, FIXTURES, REPO, tempDir } from '../../helpers/bundles.js';

function iacdash(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'iacdash.js'), ...args], { encoding: 'utf8', cwd: REPO });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = tempDir();

t.test('build compiles Rego to a wasm bundle, leaving tests out', async (t) => {
  const out = join(dir, 'policies.tar.gz');
  const r = iacdash('build', 'policies', '-o', out);
  t.equal(r.code, 0, r.stderr);
  const check = iacdash('check-config', '--bundle', out);
  t.equal(check.code, 0, check.stderr);
  t.match(check.stdout, /bundle .*policies\.tar\.gz: ok \(entrypoint envoy\/authz\/allow/);
});

t.test("build shows OPA's own error with file and line", async (t) => {
  const r = iacdash('build', join(FIXTURES, 'policies', 'syntax-error'), '-o', join(dir, 'bad.tar.gz'));
  t.not(r.code, 0);
  t.match(r.stderr, /syntax-error\/policy\.rego:\d+: rego_parse_error/);
});

t.test('build without -o is a usage error', async (t) => {
  const r = iacdash('build', 'policies');
  t.equal(r.code, 2);
  t.match(r.stderr, /-o BUNDLE\.tar\.gz is required/);
});

t.test('eval prints the CheckResponse, and the input with --explain-input', async (t) => {
  const out = join(dir, 'ex.tar.gz');
  t.equal(iacdash('build', 'policies', '-o', out).code, 0);
  const cases: [string, number, number | undefined][] = [
    ['alice-get-allowed.jsonc', 0, undefined],
    ['bob-delete-forbidden.jsonc', 7, 403],
    ['carol-post-invalid-body.jsonc', 7, 400],
    ['unauthenticated.jsonc', 7, 401],
  ];
  for (const [file, grpc, http] of cases) {
    const r = iacdash('eval', '--bundle', out, '--request', join(REPO, 'policies', 'examples', file));
    t.equal(r.code, 0, r.stderr);
    const { response } = JSON.parse(r.stdout);
    t.equal(response.status.code, grpc, file);
    t.equal(response.deniedResponse?.status?.code, http, file);
    t.match(response.dynamicMetadata.decision_id, /^[0-9a-f-]{36}$/);
  }
  const explained = JSON.parse(iacdash('eval', '--bundle', out, '--explain-input', '--request', join(REPO, 'policies', 'examples', 'alice-get-allowed.jsonc')).stdout);
  t.same(explained.input.parsed_path, ['api', 'orders']);
  t.same(explained.input.parsed_query, { limit: ['10'] });
  t.same(explained.input.version, { ext_authz: 'v3', encoding: 'protojson' });
  t.same(explained.input.attributes.request.time, { seconds: 1767225600 }, 'protojson RFC 3339 time read as a Timestamp');
});

t.test('check-config names the file and key of a bad config', async (t) => {
  const r = iacdash('check-config', '--config', join(FIXTURES, 'config', 'bad', 'unknown-key.yaml'));
  t.equal(r.code, 1);
  t.match(r.stderr, /unknown-key\.yaml: server: Unrecognized key: "adr"/);
  const bad = join(dir, 'corrupt.tar.gz');
  writeFileSync(bad, 'nope');
  const b = iacdash('check-config', '--bundle', bad);
  t.equal(b.code, 1);
  t.match(b.stderr, /not a gzip file/);
});

t.test('unknown commands and flags are usage errors', async (t) => {
  t.equal(iacdash('frobnicate').code, 2);
  const r = iacdash('serve', '--no-such-flag');
  t.equal(r.code, 2);
  t.match(r.stderr, /no-such-flag/);
});

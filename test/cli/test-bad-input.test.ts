// `iacdash test` on bad input, as a user runs it: each broken fixture, config,
// policy or missing tool is an ERROR naming the file (and line), never a pass.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { caseBlock, CLI_FIXTURES, iacdash, lastLine, project } from './helpers.js';

const BAD = join(CLI_FIXTURES, 'bad');

t.test('bad input: each broken fixture is an ERROR naming the file (and line), the rest still run', async (t) => {
  const dir = project();
  const put = (from: string, to: string): void => {
    mkdirSync(join(dir, to, '..'), { recursive: true });
    copyFileSync(join(BAD, from), join(dir, to));
  };
  put('lua-not-yaml.yaml', 'lua/fixtures/add-tenant/lua-not-yaml.yaml');
  put('lua-unknown-key.yaml', 'lua/fixtures/add-tenant/lua-unknown-key.yaml');
  put('lua-unknown-key.yaml', 'lua/fixtures/no-such-script/fixture.yaml');
  put('lua-syntax-error.lua', 'lua/broken.lua');
  // A good fixture for the script that does not compile.
  mkdirSync(join(dir, 'lua', 'fixtures', 'broken'));
  copyFileSync(join(dir, 'lua', 'fixtures', 'add-tenant', 'keeps-client-tenant.yaml'), join(dir, 'lua', 'fixtures', 'broken', 'good-fixture.yaml'));
  put('wasm-not-json.json', 'filters/custom-auth/fixtures/wasm-not-json.json');
  put('wasm-unknown-key.json', 'filters/custom-auth/fixtures/wasm-unknown-key.json');
  put('request-not-yaml.yaml', 'requests/request-not-yaml.yaml');
  put('request-unknown-key.yaml', 'requests/request-unknown-key.yaml');
  put('request-empty-expect.yaml', 'requests/request-empty-expect.yaml');
  put('request-missing-file.yaml', 'requests/request-missing-file.yaml');
  put('request-unknown-kind.http', 'requests/request-unknown-kind.http');
  for (const [name, manifest] of [
    ['scheme', 'filter-unknown-scheme.yaml'],
    ['unknown', 'filter-unknown-module.yaml'],
    ['missing', 'filter-missing-module.yaml'],
  ] as const) {
    put(manifest, `filters/${name}/filter.yaml`);
  }
  // A good fixture in each of those filter folders, so the manifest is what fails.
  for (const name of ['scheme', 'unknown', 'missing', 'no-manifest']) {
    mkdirSync(join(dir, 'filters', name, 'fixtures'), { recursive: true });
    copyFileSync(join(dir, 'filters', 'custom-auth', 'fixtures', 'no-key-401.json'), join(dir, 'filters', name, 'fixtures', 'a.json'));
  }

  const r = iacdash(dir, ['test']);
  t.equal(r.code, 1);
  t.equal(lastLine(r.stdout), '10 passed, 0 failed, 15 errors', 'every good case still passes; no bad one passes');
  const expectations: Array<[string, RegExp]> = [
    ['lua/fixtures/add-tenant/lua-not-yaml.yaml', /lua\/fixtures\/add-tenant\/lua-not-yaml\.yaml:5:1: Flow sequence in block collection must be sufficiently indented/],
    ['lua/fixtures/add-tenant/lua-unknown-key.yaml', /lua-unknown-key\.yaml: request\.expect: Unrecognized key: "hedaers"/],
    ['lua/fixtures/no-such-script/fixture.yaml', /lua\/no-such-script\.lua: no such script/],
    ['lua/fixtures/broken/good-fixture.yaml', /lua\/broken\.lua:3: unexpected symbol near '='/],
    ['filters/custom-auth/fixtures/wasm-not-json.json', /wasm-not-json\.json:3:30: /],
    ['filters/custom-auth/fixtures/wasm-unknown-key.json', /wasm-unknown-key\.json: expect: Unrecognized key: "stauts"/],
    ['requests/request-not-yaml.yaml', /requests\/request-not-yaml\.yaml:4:12: Nested mappings are not allowed in compact mappings/],
    ['requests/request-unknown-key.yaml', /request-unknown-key\.yaml: expect: Unrecognized key: "allow"/],
    ['requests/request-empty-expect.yaml', /request-empty-expect\.yaml: expect: nothing to check/],
    ['requests/request-missing-file.yaml', /request-missing-file\.yaml: request: requests\/no-such-check-request\.json: no such file/],
    ['requests/request-unknown-kind.http', /request-unknown-kind\.http: unknown fixture kind: expected a \.yaml, \.yml or \.json file/],
    ['filters/scheme/fixtures/a.json', /filters\/scheme\/filter\.yaml: module: unknown scheme in "s3:\/\/bucket\/filter\.wasm"/],
    ['filters/unknown/fixtures/a.json', /filters\/unknown\/filter\.yaml: module: unknown filter iacdash:no-such-filter \(shipped: iacdash:custom-auth/],
    ['filters/missing/fixtures/a.json', /filters\/missing\/filter\.yaml: module: filters\/missing\/missing\.wasm: no such file/],
    ['filters/no-manifest/fixtures/a.json', /filters\/no-manifest\/filter\.yaml: no such file; it names the filter's module/],
  ];
  for (const [file, message] of expectations) {
    const block = caseBlock(r.stdout, `${file}`);
    t.match(block, /^ERROR /, `${file} is an error`);
    t.match(block, message, `${file}: the message`);
  }
});

t.test("request fixtures: a CheckRequest by path, and the project's iacdash.yaml", async (t) => {
  const dir = project();
  mkdirSync(join(dir, 'checks'));
  writeFileSync(
    join(dir, 'checks', 'no-key.json'),
    JSON.stringify({ attributes: { request: { time: '2026-01-01T00:00:00Z', http: { method: 'GET', path: '/orders', headers: { ':path': '/orders' } } } } }),
  );
  writeFileSync(join(dir, 'requests', 'by-path.yaml'), 'description: dry run lets the denial through\nrequest: ../checks/no-key.json\nexpect:\n  allowed: true\n');
  // Without the config the denial stands.
  const without = iacdash(dir, ['test']);
  t.equal(without.code, 1);
  t.match(caseBlock(without.stdout, 'requests/by-path.yaml'), /^FAIL  request requests\/by-path\.yaml  dry run lets the denial through\n\s+allowed\n\s+- expected true\n\s+\+ actual   false/);
  writeFileSync(join(dir, 'iacdash.yaml'), 'authz:\n  dry_run: true\n');
  const dry = iacdash(dir, ['test']);
  t.match(dry.stdout, /^PASS  request requests\/by-path\.yaml/m, 'authz.dry_run from iacdash.yaml applies');
  t.match(dry.stdout, /^FAIL  request requests\/no-key-401\.yaml/m, 'and turns the 401 fixture into a failure');
  writeFileSync(join(dir, 'iacdash.yaml'), 'authz:\n  dry_rn: true\n');
  const bad = iacdash(dir, ['test']);
  t.equal(bad.code, 1);
  t.match(caseBlock(bad.stdout, 'requests/by-path.yaml'), /^ERROR request requests\/by-path\.yaml\n\s+.*iacdash\.yaml: authz: Unrecognized key: "dry_rn"/);
});

t.test('a Rego syntax error is an error case with file and line; request fixtures error too', async (t) => {
  const dir = project();
  writeFileSync(join(dir, 'policies', 'authz.rego'), readFileSync(join(dir, 'policies', 'authz.rego'), 'utf8').replace('public if {', 'public if {{'));
  const r = iacdash(dir, ['test']);
  t.equal(r.code, 1);
  t.match(r.stdout, /^ERROR rego    policies\/authz\.rego:\d+  opa test\n\s+.*rego_parse_error/m);
  t.equal((r.stdout.match(/^ERROR request /gm) ?? []).length, 3);
  t.match(caseBlock(r.stdout, 'requests/no-key-401.yaml'), /opa build -t wasm policies failed/);
  t.notMatch(r.stdout, /^PASS  (rego|request)/m, 'nothing that needs the policy passes');
});

t.test('a missing tool is an error, never a pass', async (t) => {
  const r = iacdash(project(), ['test'], { OPA_BIN: '/nonexistent/opa' });
  t.equal(r.code, 1);
  t.match(r.stdout, /^ERROR rego    policies  opa test\n\s+OPA_BIN=\/nonexistent\/opa: no such file/m);
  t.equal(lastLine(r.stdout), '4 passed, 0 failed, 4 errors', 'Lua and wasm still run');
});

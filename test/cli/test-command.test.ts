// `iacdash test` as a user runs it: a subprocess on real project folders
// (written by `iacdash init`), real OPA, the Lua VM and the proxy-wasm host;
// stdout and the exit code checked. Failures and the three reporters.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { caseBlock, CLI_FIXTURES, failingProject, iacdash, lastLine } from './helpers.js';

const BAD = join(CLI_FIXTURES, 'bad');

t.test('one failing case of each kind: FAIL lines, expected against actual, exit 1', async (t) => {
  const dir = failingProject();
  const r = iacdash(dir, ['test']);
  t.equal(r.code, 1);
  t.equal(lastLine(r.stdout), '10 passed, 4 failed');
  t.notMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');

  const rego = caseBlock(r.stdout, 'test_unknown_key_is_403');
  t.match(rego, /^FAIL  rego    policies\/wrong_status_test\.rego:6  data\.envoy\.wrong_status_test\.test_unknown_key_is_403/);
  t.match(rego, /policies\/wrong_status_test\.rego:11: failed: decision\.http_status == 403/, 'the expression that failed');
  t.match(rego, /decision = \{"allowed":false,.*"http_status":401\}/, "the test's variable, as OPA saw it");

  const lua = caseBlock(r.stdout, 'wrong-tenant.yaml');
  t.match(lua, /^FAIL  lua     lua\/fixtures\/add-tenant\/wrong-tenant\.yaml  Fails on purpose/);
  t.match(lua, /request\.headers\.set\.x-tenant\n\s+- expected \["internal"\]\n\s+\+ actual   \["public"\]/);

  const wasm = caseBlock(r.stdout, 'wrong-status.json');
  t.match(wasm, /^FAIL  wasm    filters\/custom-auth\/fixtures\/wrong-status\.json  fails on purpose/);
  t.match(wasm, /status\n\s+- expected 403\n\s+\+ actual   401/);

  const request = caseBlock(r.stdout, 'wrong-decision.yaml');
  t.match(request, /^FAIL  request requests\/wrong-decision\.yaml/);
  t.match(request, /allowed\n\s+- expected true\n\s+\+ actual   false/);
  t.match(request, /headers\.x-user\n\s+- expected "alice"\n\s+\+ actual   absent/);
  t.match(request, /answer: \{"allowed":false,"status":401/, 'the whole answer, for context');
});

t.test('FORCE_COLOR colours the status and the diff', async (t) => {
  const r = iacdash(failingProject(), ['test'], { FORCE_COLOR: '1' });
  t.equal(r.code, 1);
  t.match(r.stdout, /\x1b\[31mFAIL \x1b\[0m/);
  t.match(r.stdout, /\x1b\[31m- expected 403\x1b\[0m/);
  t.match(r.stdout, /\x1b\[32m\+ actual   401\x1b\[0m/);
  t.match(r.stdout, /\x1b\[32mPASS \x1b\[0m/);
  const none = iacdash(failingProject(), ['test'], { FORCE_COLOR: '0' });
  t.notMatch(none.stdout, /\x1b\[/, 'FORCE_COLOR=0 is off');
});

t.test('tap reporter: TAP 14, one test point per case', async (t) => {
  const r = iacdash(failingProject(), ['test', '--reporter', 'tap']);
  t.equal(r.code, 1);
  const lines = r.stdout.split('\n');
  t.equal(lines[0], 'TAP version 14');
  t.equal(lines.filter((l) => /^ok \d+ - /.test(l)).length, 10);
  t.equal(lines.filter((l) => /^not ok \d+ - /.test(l)).length, 4);
  t.ok(lines.includes('1..14'), 'the plan');
  t.match(r.stdout, /^not ok \d+ - wasm filters\/custom-auth\/fixtures\/wrong-status\.json .*\n  ---\n  kind: wasm\n  severity: fail\n  details: \|\n    status\n      - expected 403\n      \+ actual   401\n  \.\.\.$/m);
  t.match(lastLine(r.stdout), '# 10 passed, 4 failed');
});

t.test('junit reporter: XML with a testcase per case and a failure per failing one', async (t) => {
  const dir = failingProject();
  // A broken fixture too, so <error> shows up.
  copyFileSync(join(BAD, 'wasm-not-json.json'), join(dir, 'filters', 'custom-auth', 'fixtures', 'wasm-not-json.json'));
  const r = iacdash(dir, ['test', '--reporter', 'junit']);
  t.equal(r.code, 1);
  const xml = r.stdout;
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="iacdash test" tests="15" failures="4" errors="1" skipped="0"/);
  t.equal(xml.match(/<testcase /g)?.length, 15);
  t.equal(xml.match(/<failure /g)?.length, 4);
  t.equal(xml.match(/<error /g)?.length, 1);
  t.equal(xml.match(/<testsuite /g)?.length, 4, 'one suite per kind');
  t.equal(xml.match(/<testsuite /g)?.length, xml.match(/<\/testsuite>/g)?.length, 'suites are closed');
  t.match(xml, /<testsuite name="wasm" tests="4" failures="1" errors="1"/);
  t.match(xml, /<error message="filters\/custom-auth\/fixtures\/wasm-not-json\.json:3:30: [^"]*">/);
  t.match(xml, /&quot;/, 'quotes escaped');
  t.notMatch(xml.replace(/<[^>]*>/g, ''), /[<>]/, 'no stray angle brackets in text');
  t.equal(lastLine(r.stderr), '10 passed, 4 failed, 1 errors', 'the summary goes to stderr, keeping stdout XML');
});

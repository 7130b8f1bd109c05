// Reporters are pure formatting: table-driven checks of each format.
import t from 'tap';
import { humanCase, junitReport, summarize, summaryLine, tapCase, tapEnd, wantsColor } from '../../../src/workflow/index.js';
import type { CaseResult } from '../../../src/workflow/index.js';

const pass: CaseResult = { kind: 'rego', file: 'policies/a_test.rego:3', name: 'data.a_test.test_ok', status: 'pass', details: [], durationMs: 1.5 };
const fail: CaseResult = {
  kind: 'request',
  file: 'requests/x.yaml',
  name: 'a <denial> & "quote" # hash',
  status: 'fail',
  details: [
    { kind: 'mismatch', where: 'status', expected: '401', actual: '403' },
    { kind: 'note', text: 'answer: {"allowed":false}' },
  ],
  durationMs: 2,
};
const error: CaseResult = { kind: 'wasm', file: 'filters/f/fixtures/b.json', name: '', status: 'error', details: [{ kind: 'note', text: 'b.json:2:3: bad' }], durationMs: 0 };
const skip: CaseResult = { kind: 'rego', file: 'policies/a_test.rego:9', name: 'data.a_test.todo_test_x', status: 'skip', details: [], durationMs: 0 };

t.test('summary line', async (t) => {
  const cases: Array<[CaseResult[], string]> = [
    [[], '0 passed, 0 failed'],
    [[pass, pass, fail], '2 passed, 1 failed'],
    [[pass, error], '1 passed, 0 failed, 1 errors'],
    [[pass, fail, error, skip], '1 passed, 1 failed, 1 errors, 1 skipped'],
  ];
  for (const [results, line] of cases) t.equal(summaryLine(summarize(results)), line);
});

t.test('colour: a terminal or FORCE_COLOR; NO_COLOR turns a terminal plain', async (t) => {
  const cases: Array<[boolean | undefined, Record<string, string>, boolean]> = [
    [undefined, {}, false],
    [true, {}, true],
    [false, { FORCE_COLOR: '1' }, true],
    [false, { FORCE_COLOR: '0' }, false],
    [false, { FORCE_COLOR: '' }, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '1', FORCE_COLOR: '1' }, true],
  ];
  for (const [tty, env, want] of cases) t.equal(wantsColor(tty, env), want, `${tty} ${JSON.stringify(env)}`);
});

t.test('human: one line per case; details only for failures and errors', async (t) => {
  t.equal(humanCase(pass, false), 'PASS  rego    policies/a_test.rego:3  data.a_test.test_ok\n');
  t.equal(humanCase(skip, false), 'SKIP  rego    policies/a_test.rego:9  data.a_test.todo_test_x\n');
  t.equal(
    humanCase(fail, false),
    'FAIL  request requests/x.yaml  a <denial> & "quote" # hash\n' +
      '      status\n' +
      '        - expected 401\n' +
      '        + actual   403\n' +
      '      answer: {"allowed":false}\n',
  );
  t.equal(humanCase(error, false), 'ERROR wasm    filters/f/fixtures/b.json\n      b.json:2:3: bad\n');
  const coloured = humanCase(fail, true);
  t.match(coloured, '\x1b[31mFAIL \x1b[0m');
  t.match(coloured, '\x1b[31m- expected 401\x1b[0m');
  t.match(coloured, '\x1b[32m+ actual   403\x1b[0m');
  t.equal(coloured.replace(/\x1b\[\d+m/g, ''), humanCase(fail, false), 'colour adds nothing but escapes');
});

t.test('tap: escaped descriptions, a YAML block for failures, the plan at the end', async (t) => {
  t.equal(tapCase(pass, 1), 'ok 1 - rego policies/a_test.rego:3  data.a_test.test_ok\n');
  t.equal(tapCase(skip, 2), 'ok 2 - rego policies/a_test.rego:9  data.a_test.todo_test_x # SKIP\n');
  t.equal(
    tapCase(fail, 3),
    'not ok 3 - request requests/x.yaml  a <denial> & "quote" \\# hash\n' +
      '  ---\n  kind: request\n  severity: fail\n  details: |\n' +
      '    status\n      - expected 401\n      + actual   403\n    answer: {"allowed":false}\n' +
      '  ...\n',
  );
  t.match(tapCase(error, 4), /^not ok 4 - wasm filters\/f\/fixtures\/b\.json\n  ---\n  kind: wasm\n  severity: error\n/);
  t.equal(tapEnd([pass, fail]), '1..2\n# 1 passed, 1 failed\n');
});

t.test('junit: suites per kind, counts, escaping', async (t) => {
  const xml = junitReport([pass, fail, error, skip]);
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="iacdash test" tests="4" failures="1" errors="1" skipped="1" time="0\.004">\n/);
  t.match(xml, '<testsuite name="rego" tests="2" failures="0" errors="0" skipped="1"');
  t.match(xml, '<testcase classname="rego.policies/a_test.rego:3" name="data.a_test.test_ok" time="0.002"/>');
  t.match(xml, '<testcase classname="request.requests/x.yaml" name="a &lt;denial&gt; &amp; &quot;quote&quot; # hash" time="0.002">');
  t.match(xml, '<failure message="status: expected 401, got 403">status\n  - expected 401\n  + actual   403\nanswer: {&quot;allowed&quot;:false}\n</failure>');
  t.match(xml, '<testcase classname="wasm.filters/f/fixtures/b.json" name="filters/f/fixtures/b.json"', 'a nameless case is named by its file');
  t.match(xml, '<error message="b.json:2:3: bad">');
  t.match(xml, '<skipped/>');
  t.notMatch(junitReport([{ ...error, details: [{ kind: 'note', text: 'bad \u0001 byte' }] }]), '\u0001', 'characters XML forbids are replaced');
});

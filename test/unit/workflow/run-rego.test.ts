// Rego tests through real `opa test`: each outcome OPA knows maps to a case.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runRego, termToJson } from '../../../src/workflow/run-rego.js';
import { tempDir } from '../../helpers/bundles.js';

t.test('pass, fail (with the failing expression and variables), error, skip', async (t) => {
  const dir = join(tempDir(), 'policies');
  mkdirSync(dir);
  writeFileSync(join(dir, 'p.rego'), 'package p\n\nf(x) := {"status": x * 2}\n\ng(x) := 1 if x > 0\ng(x) := 2 if x > 1\n');
  writeFileSync(
    join(dir, 'p_test.rego'),
    [
      'package p_test',
      'import data.p',
      'test_ok if p.f(2).status == 4',
      'test_bad if {',
      '\td := p.f(3)',
      '\tprint("d is", d)',
      '\td.status == 7',
      '}',
      'test_conflict if p.g(5) == 1',
      'todo_test_later if false',
      '',
    ].join('\n'),
  );
  const results = runRego(dir);
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  t.same(Object.keys(byName).sort(), ['data.p_test.test_bad', 'data.p_test.test_conflict', 'data.p_test.test_ok', 'data.p_test.todo_test_later']);
  t.equal(byName['data.p_test.test_ok']?.status, 'pass');
  const bad = byName['data.p_test.test_bad'];
  t.equal(bad?.status, 'fail');
  t.match(bad?.file, /policies\/p_test\.rego:4$/);
  t.same(
    bad?.details.map((d) => (d.kind === 'note' ? d.text.replace(/^.*policies\//, 'policies/') : '')),
    ['policies/p_test.rego:7: failed: d.status == 7', '  d = {"status":6}', 'print: d is {"status": 6}'],
  );
  const conflict = byName['data.p_test.test_conflict'];
  t.equal(conflict?.status, 'error', 'a test that raises an error could not run to a verdict');
  t.match(conflict?.details[0], { kind: 'note', text: /eval_conflict_error: function data\.p\.g produced conflicting values/ });
  t.equal(byName['data.p_test.todo_test_later']?.status, 'skip');
});

t.test('a parse error is one error case at its file and line', async (t) => {
  const dir = join(tempDir(), 'policies');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a_test.rego'), 'package a_test\n\ntest_x if {\n');
  const [only, ...rest] = runRego(dir);
  t.same(rest, []);
  t.match(only, { kind: 'rego', status: 'error', name: 'opa test', file: /policies\/a_test\.rego:\d+$/ });
  t.match(only?.details.map((d) => (d.kind === 'note' ? d.text : '')).join('\n'), /rego_parse_error/);
});

t.test('termToJson', async (t) => {
  const s = (v: string) => ({ type: 'string', value: v });
  const n = (v: number) => ({ type: 'number', value: v });
  t.same(termToJson('object', [[s('a'), { type: 'array', value: [n(1), { type: 'null', value: null }] }]]), { a: [1, null] });
  t.same(termToJson('set', [s('x')]), ['x']);
  t.same(termToJson('object', [[n(1), { type: 'boolean', value: true }]]), { '1': true }, 'non-string keys as JSON text');
  t.equal(termToJson('ref', [{ type: 'var', value: 'input' }, s('a'), s('a-b'), n(0)]), 'input.a["a-b"][0]');
});

// Fixture files: every parse error names the file, and the line and column.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FixtureError, parseData, readData } from '../../../src/workflow/index.js';
import { lineColumn } from '../../../src/workflow/read-data.js';
import { tempDir } from '../../helpers/bundles.js';

t.test('line and column of an offset', async (t) => {
  t.same(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
  t.same(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
});

t.test('JSON and YAML parse errors carry file:line:col', async (t) => {
  t.throws(() => parseData('{\n  "a": 1,\n}', 'x.json'), { name: 'FixtureError', message: /^x\.json:3:1: / });
  t.throws(() => parseData('a: 1\nb: [\n', 'x.yaml'), { message: /^x\.yaml:3:1: / });
  t.throws(() => parseData('a: 1\na: 2\n', 'x.yml'), { message: /^x\.yml:2:1: Map keys must be unique/ });
  t.same(parseData('a: [1, "two"]', 'x.yaml'), { a: [1, 'two'] });
  t.same(parseData('{"a": null}', 'x.JSON'), { a: null }, 'the extension is case-insensitive');
});

t.test('a missing file is named', async (t) => {
  const dir = tempDir();
  t.throws(() => readData(join(dir, 'gone.yaml'), 'fixtures/gone.yaml'), new FixtureError('fixtures/gone.yaml: no such file'));
  writeFileSync(join(dir, 'ok.json'), '[1]');
  t.same(readData(join(dir, 'ok.json')), [1]);
});

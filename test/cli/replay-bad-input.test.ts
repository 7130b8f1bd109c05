// `iacdash replay` on bad input, as a user runs it: bad log lines are skipped and counted (each kind has its
// own fixture file), a missing or broken file exits 1 naming it (usage errors: replay-usage.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { iacdashAsync, type Run, inTurn } from './helpers.js';
import { buildBundle, FIXTURES, tempDir } from '../helpers/bundles.js';

const REPLAY = join(FIXTURES, 'replay');

const iacdash = iacdashAsync;


const dir = tempDir('iacdash-replay-bad-');
const bundle = buildBundle(join(REPLAY, 'current'), join(dir, 'current.tar.gz'));
const good = join(REPLAY, 'bad-not-json.jsonl'); // lines 1 and 3 are good entries

// Each fixture: a good entry, the bad line, another good entry (both good ones replay unchanged).
const BAD: Array<[string, RegExp]> = [
  ['bad-not-json.jsonl', /bad-not-json\.jsonl:2: not JSON/],
  ['bad-no-input.jsonl', /bad-no-input\.jsonl:2: no input$/],
  ['bad-input-erased.jsonl', /bad-input-erased\.jsonl:2: no input \(erased by the mask \/input\)$/],
  ['bad-not-object.jsonl', /bad-not-object\.jsonl:2: not a JSON object$/],
];

t.test('a bad line is skipped and counted, with FILE:LINE and the reason', async (t) => {
  const runs = await inTurn(BAD.map(([file]) => () => iacdash(['replay', '--bundle', bundle, '--format', 'json', join(REPLAY, file)])));
  BAD.forEach(([file, reason], i) => {
    const r = runs[i]!;
    t.equal(r.code, 0, `${file}: ${r.stderr}`);
    const report = JSON.parse(r.stdout);
    t.equal(report.entries, 2, `${file}: the good lines around it are replayed`);
    t.equal(report.flips, 0, file);
    t.equal(report.bad_lines, 1, file);
    t.match(report.bad_line_examples[0], reason, file);
  });
});

t.test('the table lists the skipped lines', async (t) => {
  const r = await iacdash(['replay', '--bundle', bundle, join(REPLAY, 'bad-no-input.jsonl')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /bad lines skipped: 1/);
  t.match(r.stdout, /Skipped 1 bad line:\n\s+\S+bad-no-input\.jsonl:2: no input\n/);
  t.match(r.stdout, /No decision would flip\./);
});

t.test('many bad lines: all counted, the first five shown', async (t) => {
  const file = join(dir, 'garbage.log');
  writeFileSync(file, `${Array.from({ length: 12 }, (_, i) => `garbage ${i}`).join('\n')}\n${readFileSync(good, 'utf8')}`);
  const r = await iacdash(['replay', '--bundle', bundle, '--format', 'json', file]);
  const report = JSON.parse(r.stdout);
  t.equal(report.bad_lines, 13, '12 garbage lines and the fixture\'s own bad line');
  t.equal(report.bad_line_examples.length, 5);
  t.match(report.bad_line_examples[4], /garbage\.log:5: not JSON/);
  t.equal(report.entries, 2);
});

t.test('a missing log or bundle, or a file that is no bundle, exits 1 naming the file', async (t) => {
  const [noLog, noBundle, notBundle] = await Promise.all([
    iacdash(['replay', '--bundle', bundle, good, join(dir, 'missing.log')]),
    iacdash(['replay', '--bundle', join(dir, 'missing.tar.gz'), good]),
    iacdash(['replay', '--bundle', good, good]),
  ]);
  t.equal(noLog.code, 1);
  t.match(noLog.stderr, /missing\.log: no such file/);
  t.equal(noLog.stdout, '', 'checked before any line is replayed');
  t.equal(noBundle.code, 1);
  t.match(noBundle.stderr, /missing\.tar\.gz: no such file \(the candidate bundle\)/);
  t.equal(notBundle.code, 1);
  t.match(notBundle.stderr, /bad-not-json\.jsonl: not a gzip file/);
});

t.test('a corrupt gzip log exits 1 naming the file', async (t) => {
  const file = join(dir, 'broken.log.gz');
  writeFileSync(file, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const r = await iacdash(['replay', '--bundle', bundle, file]);
  t.equal(r.code, 1);
  t.match(r.stderr, /broken\.log\.gz: /);
});

// The replay tally: bounded examples, grouping, thresholds, both renderings.
import t from 'tap';
import { progressLine } from '../../../src/replay/progress.js';
import { exceeds, parseThreshold, ReplayReport, reportJson, reportTable } from '../../../src/replay/report.js';

t.test('thresholds: a count or a percentage', async (t) => {
  t.same(parseThreshold('5'), { kind: 'count', value: 5 });
  t.same(parseThreshold(' 0 '), { kind: 'count', value: 0 });
  t.same(parseThreshold('0.5%'), { kind: 'percent', value: 0.5 });
  for (const bad of ['', 'x', '-1', '1.5', '101%', '5 flips', '%']) t.equal(parseThreshold(bad), undefined, bad);
  t.notOk(exceeds({ kind: 'count', value: 3 }, 3, 10));
  t.ok(exceeds({ kind: 'count', value: 3 }, 4, 10));
  t.notOk(exceeds({ kind: 'percent', value: 40 }, 4, 10));
  t.ok(exceeds({ kind: 'percent', value: 39.9 }, 4, 10));
  t.notOk(exceeds({ kind: 'percent', value: 0 }, 0, 0), 'nothing replayed exceeds nothing');
});

t.test('examples, bad lines and masked fields stay bounded', async (t) => {
  const r = new ReplayReport(2);
  for (let i = 0; i < 1000; i++) {
    r.entry('p', [`/input/f${i}`], [`rev${i}`]);
    r.flip('p', { reason: 'allow→deny', before: 'allow', after: 'deny 403', detail: 'deny 403' }, `d${i}`, 'GET /', true);
    r.bad('f.log', i + 1, 'not JSON');
  }
  const [g] = r.flipGroups();
  t.equal(g?.count, 1000);
  t.equal(g?.masked, 1000);
  t.same(g?.examples.map((e) => e.decision_id), ['d0', 'd1'], 'the first examples, in log order');
  t.equal(r.badLines, 1000);
  t.equal(r.badExamples.length, 5);
  t.equal(r.maskedFields.size, 10);
  t.equal(r.recordedRevisions.size, 10);
});

t.test('groups sort by count, then path and reason; both renderings agree', async (t) => {
  const r = new ReplayReport();
  const flip = (reason: string) => ({ reason, before: 'allow', after: 'deny 403', detail: 'deny 403' });
  r.entry('a/allow', [], []);
  r.entry('b/allow', [], []);
  r.entry('b/allow', [], []);
  r.entry('b/allow', [], []);
  r.flip('a/allow', flip('allow→deny'), 'd1', 'GET /a', false);
  r.flip('b/allow', flip('deny→allow'), 'd2', 'GET /b', false);
  r.flip('b/allow', flip('deny→allow'), 'd3', 'GET /c', false);
  t.same(r.flipGroups().map((g) => `${g.path} ${g.reason} ${g.count}`), ['b/allow deny→allow 2', 'a/allow allow→deny 1']);
  const ctx = { bundle: 'c.tar.gz', revision: 'r2', files: ['x.log'], threshold: { kind: 'count' as const, value: 2 } };
  const json = reportJson(r, ctx);
  t.match(json, { entries: 4, flips: 3, unchanged: 1, threshold: { kind: 'count', value: 2, exceeded: true } });
  t.same(json['paths'], [{ path: 'a/allow', entries: 1, flips: 1 }, { path: 'b/allow', entries: 3, flips: 2 }]);
  t.notOk('masked_note' in json, 'no note without masked entries');
  const table = reportTable(r, ctx);
  t.match(table, /flips: 3 \(75\.00%\)/);
  t.match(table, /b\/allow\s+deny→allow\s+2\s+0\n\s*a\/allow\s+allow→deny\s+1\s+0/);
  t.match(table, /PATH\s+DECISIONS\s+FLIPS/, 'per-path totals when there are several paths');
  t.match(table, /Threshold 2 flips: EXCEEDED/);
  t.notMatch(table, /Note:/);
});

t.test('nothing flipped', async (t) => {
  const r = new ReplayReport();
  r.entry('p', [], []);
  t.match(reportTable(r, { bundle: 'b', revision: '', files: ['-'] }), /No decision would flip\./);
});

t.test('the progress line', async (t) => {
  const p = { bytesRead: 50, totalBytes: 100, entries: 1500, flips: 3, badLines: 0, elapsedMs: 1000 };
  t.equal(progressLine(p), `replay: [${'#'.repeat(15)}${'.'.repeat(15)}]  50%  1,500 decisions, 3 flips, 1,500/s`);
  t.equal(progressLine({ ...p, totalBytes: undefined }), 'replay: 1,500 decisions, 3 flips, 1,500/s', 'stdin: no percentage');
});

// HeaderModel: Envoy's header-map operations and the mutation diff, which must
// be exact for multi-value headers (per name, the complete new value list).
import t from 'tap';
import { HeaderModel } from '../../../src/lua/headers.js';

const b = (s: string): Buffer => Buffer.from(s);

function diffOf(before: Array<[string, string]>, edit: (h: HeaderModel) => void): { set: Record<string, string[]>; remove: string[]; changed: boolean; order: string[] } {
  const original = new HeaderModel(before);
  const h = original.clone();
  edit(h);
  const d = h.diff(original);
  return {
    set: Object.fromEntries(d.set.map((s) => [s.name, s.values.map(String)])),
    remove: d.remove,
    changed: d.changed,
    order: d.headers.map(([k, v]) => `${k}=${v.toString()}`),
  };
}

const cases: Array<[string, Array<[string, string]>, (h: HeaderModel) => void, { set: Record<string, string[]>; remove: string[]; changed: boolean }]> = [
  ['no change', [['a', '1']], () => {}, { set: {}, remove: [], changed: false }],
  ['add to a multi-value name lists all values', [['a', '1'], ['a', '2']], (h) => h.add('a', b('3')), { set: { a: ['1', '2', '3'] }, remove: [], changed: true }],
  ['remove one name', [['a', '1'], ['b', '2'], ['a', '3']], (h) => h.remove('a'), { set: {}, remove: ['a'], changed: true }],
  ['replace collapses values', [['a', '1'], ['a', '2']], (h) => h.replace('a', b('9')), { set: { a: ['9'] }, remove: [], changed: true }],
  ['reordering values of one name is a change', [['a', '1'], ['a', '2']], (h) => { h.remove('a'); h.add('a', b('2')); h.add('a', b('1')); }, { set: { a: ['2', '1'] }, remove: [], changed: true }],
  ['moving a name (replace with the same value) is not a change', [['a', '1'], ['b', '2']], (h) => h.replace('a', b('1')), { set: {}, remove: [], changed: false }],
  ['remove then add back differently', [['a', '1']], (h) => { h.remove('a'); h.add('b', b('1')); }, { set: { b: ['1'] }, remove: ['a'], changed: true }],
  ['bytes compare exactly', [['a', 'x']], (h) => h.replace('a', Buffer.from([0x78, 0x00])), { set: { a: ['x\u0000'] }, remove: [], changed: true }],
];

for (const [name, before, edit, want] of cases) {
  t.test(name, async (t) => {
    const d = diffOf(before, edit);
    t.same({ set: d.set, remove: d.remove, changed: d.changed }, want);
  });
}

t.test('names are lowercased in ASCII only; input order is kept; pseudo-headers go first', async (t) => {
  const h = new HeaderModel([['X-Up', '1'], [':path', '/'], ['Ä-x', '2']]);
  t.same(h.entries.map((e) => e.name), [':path', 'x-up', Buffer.from('Ä-x', 'utf8').toString('latin1')]);
  h.add(':method', b('GET'));
  h.add('z', b('1'));
  t.same(h.entries.map((e) => e.name).slice(0, 3), [':path', ':method', 'x-up']);
  t.equal(h.entries.at(-1)?.name, 'z');
});

t.test('setInPlace keeps the position (Envoy setContentLength) and drops extra values', async (t) => {
  const h = new HeaderModel([['a', '1'], ['content-length', '5'], ['b', '2'], ['content-length', '6']]);
  h.setInPlace('content-length', b('9'));
  t.same(h.entries.map((e) => `${e.name}=${e.value.toString()}`), ['a=1', 'content-length=9', 'b=2']);
  h.setInPlace('x-new', b('1'));
  t.equal(h.entries.at(-1)?.name, 'x-new');
});

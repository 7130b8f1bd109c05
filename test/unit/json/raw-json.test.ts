import t from 'tap';
import { RawJson, stringifyWithRaw } from '../../../src/json/raw-json.js';

t.test('raw texts are spliced in verbatim, at any depth and as the top value', async (t) => {
  const doc = { a: new RawJson('12345678901234567890'), b: [new RawJson('1.0'), { c: new RawJson('1e2') }], d: 'x' };
  t.equal(stringifyWithRaw(doc), '{"a":12345678901234567890,"b":[1.0,{"c":1e2}],"d":"x"}');
  t.equal(stringifyWithRaw(new RawJson('[1.50]')), '[1.50]');
  t.equal(stringifyWithRaw({ plain: true }), '{"plain":true}', 'no raw values: plain JSON');
});

t.test('a string in the data cannot imitate a placeholder', async (t) => {
  const doc = { s: '\u0000iacdash-raw-0:0', r: new RawJson('7') };
  t.equal(stringifyWithRaw(doc), '{"s":"\\u0000iacdash-raw-0:0","r":7}');
});

t.test('outside stringifyWithRaw a RawJson is its parsed value, also after a failed call', async (t) => {
  t.equal(JSON.stringify({ n: new RawJson('1.0') }), '{"n":1}');
  t.throws(() => stringifyWithRaw({ big: 1n, r: new RawJson('2') }), TypeError);
  t.equal(JSON.stringify({ n: new RawJson('[1]') }), '{"n":[1]}', 'the failed call left no placeholder mode behind');
});

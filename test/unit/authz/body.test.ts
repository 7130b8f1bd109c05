import t from 'tap';
import { parseBody as parseBodyRaw } from '../../../src/authz/body.js';
import { stringifyWithRaw } from '../../../src/json/raw-json.js';
import { jsonDepth } from '../../../src/authz/json-limit.js';

const json = { 'content-type': 'application/json' };

/** parseBody with JSON parts seen as plain values. */
function parseBody(...args: Parameters<typeof parseBodyRaw>): { parsed: unknown; truncated: boolean } {
  const r = parseBodyRaw(...args);
  return { parsed: JSON.parse(stringifyWithRaw(r.parsed)), truncated: r.truncated };
}

t.test('JSON bodies', async (t) => {
  t.same(parseBody(json, '{"a":[1,2]}', undefined, 64), { parsed: { a: [1, 2] }, truncated: false });
  t.same(parseBody(json, '', Buffer.from('{"raw":true}'), 64), { parsed: { raw: true }, truncated: false }, 'rawBody when body is empty');
  t.same(parseBody(json, '', undefined, 64), { parsed: null, truncated: false });
  t.throws(() => parseBody(json, '{"a":', undefined, 64), 'malformed JSON fails');
  t.throws(() => parseBody(json, '{} {}', undefined, 64), 'trailing data fails, as OPA util.UnmarshalJSON');
});

t.test('truncation: partial-body header or content-length beyond the bytes received', async (t) => {
  t.same(parseBody({ ...json, 'x-envoy-auth-partial-body': 'true' }, '{"a":1}', undefined, 64), { parsed: null, truncated: true });
  t.same(parseBody({ ...json, 'content-length': '100' }, '{"a":1}', undefined, 64), { parsed: null, truncated: true });
  t.same(parseBody({ ...json, 'content-length': '7' }, '{"a":1}', undefined, 64), { parsed: { a: 1 }, truncated: false });
  // content-length counts bytes, not UTF-16 units: "é" is 2 bytes.
  t.same(parseBody({ ...json, 'content-length': '10' }, '{"a":"é"}', undefined, 64), { parsed: { a: 'é' }, truncated: false });
  t.throws(() => parseBody({ ...json, 'content-length': 'abc' }, '{}', undefined, 64), /invalid content-length/);
});

t.test('form and multipart bodies', async (t) => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  t.same(parseBody(form, 'a=1&a=2&b=x+y', undefined, 64).parsed, { a: ['1', '2'], b: ['x y'] });
  const boundary = 'XyZ';
  const mp = { 'content-type': `multipart/form-data; boundary=${boundary}` };
  const body = [
    `--${boundary}`, 'Content-Disposition: form-data; name="name"', '', 'alice',
    `--${boundary}`, 'Content-Disposition: form-data; name="meta"', 'Content-Type: application/json', '', '{"k":[1]}',
    `--${boundary}`, 'Content-Disposition: form-data; name="name"', '', 'bob',
    `--${boundary}--`, '',
  ].join('\r\n');
  t.same(parseBody(mp, body, undefined, 64).parsed, { name: ['alice', 'bob'], meta: [{ k: [1] }] });
  t.same(parseBody({ 'content-type': 'multipart/form-data' }, body, undefined, 64).parsed, null, 'no boundary: not parsed');
  t.throws(() => parseBody(mp, `--${boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\nunterminated`, undefined, 64));
});

t.test('other content types and no content type are not parsed', async (t) => {
  t.same(parseBody({ 'content-type': 'text/plain' }, 'hello', undefined, 64), { parsed: null, truncated: false });
  t.same(parseBody({}, '{"a":1}', undefined, 64), { parsed: null, truncated: false });
});

t.test('JSON numbers and escapes reach the policy as sent (json.Number)', async (t) => {
  const text = '{"big":12345678901234567890,"exp":1e2,"float":1.0,"negzero":-0,"huge":1E400}';
  const r = parseBodyRaw(json, text, undefined, 64);
  t.equal(stringifyWithRaw({ parsed_body: r.parsed }), `{"parsed_body":${text}}`);
  const lone = parseBodyRaw(json, '{"a":"\\ud800x","b":"\\ud83d\\ude00","c":"\\\\ud800"}', undefined, 64);
  t.equal(stringifyWithRaw(lone.parsed), '{"a":"\\ufffdx","b":"\\ud83d\\ude00","c":"\\\\ud800"}', 'lone surrogates become U+FFFD, pairs and escaped backslashes stay');
});

t.test('nesting limit', async (t) => {
  t.equal(jsonDepth('{"a":[{"b":"[[[["}]}', 100), 3, 'brackets inside strings do not count');
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  t.throws(() => parseBody(json, deep, undefined, 128), /max_json_depth \(128\)/);
  t.same(parseBody(json, '[[[]]]', undefined, 3).parsed, [[[]]]);
});

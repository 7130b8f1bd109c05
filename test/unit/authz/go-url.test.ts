// Expected values are Go's net/url results (url.PathUnescape / url.ParseQuery), which OPA-Envoy uses.
import t from 'tap';
import { parsePathAndQuery, parseQuery } from '../../../src/authz/go-url.js';

t.test('parsed_path: leading slashes trimmed, escapes decoded, then split', async (t) => {
  const cases: [string, string[]][] = [
    ['/', ['']],
    ['', ['']],
    ['/api/v1/users', ['api', 'v1', 'users']],
    ['//double//slash/', ['double', '', 'slash', '']],
    ['/a%2Fb/c', ['a', 'b', 'c']], // Go unescapes before splitting
    ['/caf%C3%A9/x+y', ['café', 'x+y']], // `+` is literal in a path
    ['/p?x=1', ['p']],
  ];
  for (const [path, want] of cases) t.same(parsePathAndQuery(path).parsedPath, want, path);
});

t.test('parsed_query: lists in order, + is space, empty pieces skipped', async (t) => {
  t.same(parsePathAndQuery('/p?a=1&b=2&a=3').parsedQuery, { a: ['1', '3'], b: ['2'] });
  t.same(parsePathAndQuery('/p?q=hello+world&flag&=v&&x=%41').parsedQuery, { q: ['hello world'], flag: [''], '': ['v'], x: ['A'] });
  t.same(parsePathAndQuery('/p').parsedQuery, {});
});

t.test('errors match Go', async (t) => {
  t.throws(() => parsePathAndQuery('/bad%zz'), { message: 'invalid URL escape "%zz"' });
  t.throws(() => parsePathAndQuery('/bad%4'), { message: 'invalid URL escape "%4"' });
  t.throws(() => parsePathAndQuery('/p?a=1;b=2'), { message: 'invalid semicolon separator in query' });
  t.throws(() => parsePathAndQuery('/p?a=%g1'), { message: 'invalid URL escape "%g1"' });
  t.throws(() => parsePathAndQuery('/p?a=%+1'), { message: 'invalid URL escape "%+1"' }, 'quoted from the text before + becomes a space');
  t.throws(() => parsePathAndQuery('/p?a=%zz&b;c'), { message: 'invalid semicolon separator in query' }, 'a later semicolon error wins, as in Go');
  t.throws(() => parsePathAndQuery(`/p?${'a=1&'.repeat(10_000)}`), { message: 'number of URL query parameters exceeded limit' });
  t.doesNotThrow(() => parsePathAndQuery(`/p?${'a=1&'.repeat(9_999)}a=1`), '10,000 parameters are fine');
  t.throws(() => parsePathAndQuery('/raw/%FF'), { message: /invalid UTF-8 after percent-decoding/ }, 'bytes that are not UTF-8 are refused');
  // Go keeps the good pairs but still reports the error.
  const r = parseQuery('a=1&b=%zz&c=3');
  t.same(r.values, { a: ['1'], c: ['3'] });
  t.equal(r.error?.message, 'invalid URL escape "%zz"');
});

import t from 'tap';
import { pathTree, prune } from '../../../src/json/prune.js';
import { RawJson, stringifyWithRaw } from '../../../src/json/raw-json.js';

const input = {
  attributes: {
    source: { address: { socketAddress: { address: '10.0.0.1', portValue: 5000 } } },
    request: { http: { method: 'GET', path: '/a?b=1', headers: { authorization: 'Bearer x', 'x-user': 'bob', accept: '*/*' }, body: '' } },
  },
  parsed_path: ['a'],
  parsed_query: { b: ['1'] },
  parsed_body: new RawJson('{"n":1.0}'),
};

t.test('keeps exactly the listed paths, whole below each', async (t) => {
  const tree = pathTree([['attributes', 'request', 'http', 'headers', 'authorization'], ['attributes', 'request', 'http', 'method'], ['parsed_path']]);
  t.same(prune(input, tree), {
    attributes: { request: { http: { method: 'GET', headers: { authorization: 'Bearer x' } } } },
    parsed_path: ['a'],
  });
});

t.test('a path that ends in a missing key adds nothing; no path nothing at all', async (t) => {
  t.same(prune(input, pathTree([['attributes', 'request', 'http', 'headers', 'cookie'], ['parsed_body_x']])), { attributes: { request: { http: { headers: {} } } } });
  t.same(prune(input, pathTree([])), {});
});

t.test('a shorter path wins over a longer one under it, in either order', async (t) => {
  const a = pathTree([['parsed_query'], ['parsed_query', 'b']]);
  const b = pathTree([['parsed_query', 'b'], ['parsed_query']]);
  t.same(prune(input, a), { parsed_query: { b: ['1'] } });
  t.same(prune(input, b), { parsed_query: { b: ['1'] } }, 'the later shorter path replaces the subtree');
});

t.test('a path through a non-object keeps that value whole (arrays, raw JSON)', async (t) => {
  const out = prune(input, pathTree([['parsed_path', '0'], ['parsed_body', 'n']]));
  t.same(out['parsed_path'], ['a']);
  t.equal(out['parsed_body'], input.parsed_body, 'the RawJson itself, so its text reaches the policy verbatim');
  t.equal(stringifyWithRaw(out), '{"parsed_path":["a"],"parsed_body":{"n":1.0}}');
});

t.test('the input is not changed', async (t) => {
  const before = JSON.stringify(input);
  prune(input, pathTree([['attributes', 'request', 'http', 'method']]));
  t.equal(JSON.stringify(input), before);
});

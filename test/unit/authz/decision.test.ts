import t from 'tap';
import { readDecision } from '../../../src/authz/decision.js';

t.test('boolean decisions', async (t) => {
  t.match(readDecision(true), { allowed: true, isObject: false, headers: [] });
  t.match(readDecision(false), { allowed: false, isObject: false, httpStatus: 403 });
});

t.test('object decisions read what OPA-Envoy reads', async (t) => {
  const allow = readDecision({
    allowed: true,
    headers: [{ 'x-a': '1' }, { 'x-b': ['2', '3'] }],
    response_headers_to_add: { 'x-resp': 'r' },
    request_headers_to_remove: ['x-drop'],
    query_parameters_to_set: { q: 'v', m: ['1', '2'] },
    query_parameters_to_remove: ['secret'],
    dynamic_metadata: { user: 'alice' },
    body: 42, // ignored on allow, as in OPA-Envoy
    http_status: 'nonsense',
  });
  t.same(allow.headers, [['x-a', '1'], ['x-b', '2'], ['x-b', '3']]);
  t.same(allow.responseHeadersToAdd, [['x-resp', 'r']]);
  t.same(allow.requestHeadersToRemove, ['x-drop']);
  t.same(allow.queryParametersToSet, [['q', 'v'], ['m', '1'], ['m', '2']]);
  t.same(allow.queryParametersToRemove, ['secret']);
  t.same(allow.dynamicMetadata, { user: 'alice' });

  const deny = readDecision({ allowed: false, body: 'no', http_status: 401, headers: { 'www-authenticate': 'Bearer' }, request_headers_to_remove: 7 });
  t.match(deny, { allowed: false, body: 'no', httpStatus: 401, requestHeadersToRemove: [] });
  t.same(deny.headers, [['www-authenticate', 'Bearer']]);
});

t.test('contract violations say expected X, got Y', async (t) => {
  const bad: [unknown, RegExp][] = [
    ['yes', /decision: expected boolean or object, got string/],
    [null, /got null/],
    [{}, /missing "allowed"/],
    [{ allowed: 'true' }, /allowed: expected boolean, got string/],
    [{ allowed: true, headers: 'x' }, /headers: expected object or array of objects, got string/],
    [{ allowed: true, headers: { a: 1 } }, /header 'a': expected string or array of strings, got number/],
    [{ allowed: true, headers: [1] }, /headers: expected object items, got number/],
    [{ allowed: true, request_headers_to_remove: [1] }, /expected string items, got number/],
    [{ allowed: true, query_parameters_to_set: [] }, /query_parameters_to_set: expected object, got array/],
    [{ allowed: true, dynamic_metadata: [] }, /dynamic_metadata: expected object, got array/],
    [{ allowed: true, dynamic_metadata: { n: [Infinity] } }, /dynamic_metadata: numbers must be finite/],
    [{ allowed: false, body: {} }, /body: expected string, got object/],
    [{ allowed: false, http_status: '403' }, /http_status: expected number, got string/],
    [{ allowed: false, http_status: 403.5 }, /expected an integer/],
    [{ allowed: false, http_status: 999 }, /invalid HTTP status code 999/],
    [{ allowed: false, http_status: 418 }, /invalid HTTP status code 418/], // Go knows 418, Envoy's enum does not
  ];
  for (const [result, message] of bad) t.throws(() => readDecision(result), { name: 'ContractError', message }, JSON.stringify(result));
});

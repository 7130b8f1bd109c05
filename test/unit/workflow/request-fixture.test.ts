// Request fixtures: the CheckResponse → answer translation and the comparison, with no server.
import t from 'tap';
import { answerOf, compareAnswer, parseRequestFixture } from '../../../src/workflow/index.js';
import type { CheckOutcome } from '../../../src/authz/index.js';

const meta = (fields: Record<string, unknown>) => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: String(v) }])),
});

const allowed: CheckOutcome = {
  kind: 'response',
  allowed: true,
  response: {
    status: { code: 0 },
    okResponse: {
      headers: [{ header: { key: 'X-User', value: 'alice' } }, { header: { key: 'x-multi', value: 'a' } }, { header: { key: 'x-multi', value: 'b' } }],
      headersToRemove: ['x-api-key'],
      responseHeadersToAdd: [{ header: { key: 'x-frame-options', value: 'DENY' } }],
      queryParametersToSet: [{ key: 'page', value: '1' }],
      queryParametersToRemove: ['debug'],
    },
    dynamicMetadata: meta({ decision_id: 'd-1', rule: 'known-key' }),
  },
};
const denied: CheckOutcome = {
  kind: 'response',
  allowed: false,
  response: { status: { code: 7 }, deniedResponse: { status: { code: 401 }, headers: [{ header: { key: 'www-authenticate', value: 'ApiKey' } }], body: '{"error":"unauthenticated"}' } },
};
const boolDenied: CheckOutcome = { kind: 'response', allowed: false, response: { status: { code: 7 } } };
const grpcError: CheckOutcome = { kind: 'grpc-error', code: 'eval_error', grpcStatus: 2, message: 'eval_error: boom' };

t.test('answerOf', async (t) => {
  const a = answerOf(allowed);
  t.same(a, {
    allowed: true,
    status: null,
    code: null,
    headers: { 'x-user': ['alice'], 'x-multi': ['a', 'b'] },
    response_headers_to_add: { 'x-frame-options': ['DENY'] },
    request_headers_to_remove: ['x-api-key'],
    query_parameters_to_set: { page: '1' },
    query_parameters_to_remove: ['debug'],
    body: null,
    dynamic_metadata: { rule: 'known-key' },
  });
  t.match(answerOf(denied), { allowed: false, status: 401, headers: { 'www-authenticate': ['ApiKey'] }, body: '{"error":"unauthenticated"}' });
  t.equal(answerOf(boolDenied).status, 403, "a boolean denial is Envoy's default 403");
  t.match(answerOf(grpcError), { allowed: false, status: null, code: 'eval_error', grpc_error: { code: 2, message: 'eval_error: boom' } });
});

t.test('compareAnswer: each expectation, met and unmet', async (t) => {
  const a = answerOf(allowed);
  const d = answerOf(denied);
  const met: Array<[string, object, ReturnType<typeof answerOf>]> = [
    ['allowed', { allowed: true }, a],
    ['header string', { headers: { 'X-User': 'alice' } }, a],
    ['values joined', { headers: { 'x-multi': 'a,b' } }, a],
    ['values listed', { headers: { 'x-multi': ['a', 'b'] } }, a],
    ['absent', { headers: { 'x-none': null } }, a],
    ['regex', { headers: { 'x-user': { match: '^al' } } }, a],
    ['lists in any order', { request_headers_to_remove: ['x-api-key'], query_parameters_to_remove: ['debug'] }, a],
    ['query set', { query_parameters_to_set: { page: '1' } }, a],
    ['response headers', { response_headers_to_add: { 'x-frame-options': 'DENY' } }, a],
    ['metadata without decision_id', { dynamic_metadata: { rule: 'known-key' } }, a],
    ['status and text body', { allowed: false, status: 401, body: '{"error":"unauthenticated"}' }, d],
    ['JSON body', { body: { error: 'unauthenticated' } }, d],
    ['no code', { code: null }, d],
  ];
  for (const [name, expect, answer] of met) t.same(compareAnswer(parseRequestFixture({ request: {}, expect }, 'f').expect, answer), [], name);

  const unmet: Array<[object, ReturnType<typeof answerOf>, string[]]> = [
    [{ allowed: false }, a, ['allowed: false / true']],
    [{ status: 403 }, d, ['status: 403 / 401']],
    [{ status: 401 }, a, ['status: 401 / null']],
    [{ headers: { 'x-user': 'bob', 'x-none': 'x' } }, a, ['headers.x-user: "bob" / "alice"', 'headers.x-none: "x" / absent']],
    [{ headers: { 'x-user': null } }, a, ['headers.x-user: null / "alice"']],
    [{ headers: { 'x-multi': ['a'] } }, a, ['headers.x-multi: ["a"] / ["a","b"]']],
    [{ body: { error: 'other' } }, d, ['body: {"error":"other"} / {"error":"unauthenticated"}']],
    [{ body: 'x' }, a, ['body: "x" / null']],
    [{ request_headers_to_remove: [] }, a, ['request_headers_to_remove: [] / ["x-api-key"]']],
    [{ dynamic_metadata: {} }, a, ['dynamic_metadata: {} / {"rule":"known-key"}']],
    [{ code: null }, answerOf(grpcError), ['code: null / "eval_error"']],
  ];
  for (const [expect, answer, lines] of unmet) {
    const got = compareAnswer(parseRequestFixture({ request: {}, expect }, 'f').expect, answer).map((l) => (l.kind === 'mismatch' ? `${l.where}: ${l.expected} / ${l.actual}` : l.text));
    t.same(got, lines, JSON.stringify(expect));
  }
});

t.test('the fixture schema is strict and wants an expectation', async (t) => {
  t.throws(() => parseRequestFixture({ request: {}, expect: { allow: true } }, 'x.yaml'), { message: /^x\.yaml: expect: Unrecognized key: "allow"/ });
  t.throws(() => parseRequestFixture({ request: {}, expect: {} }, 'x.yaml'), { message: /^x\.yaml: expect: nothing to check/ });
  t.throws(() => parseRequestFixture({ expect: { allowed: true } }, 'x.yaml'), { message: /^x\.yaml: request: / });
  t.throws(() => parseRequestFixture({ request: 5, expect: { allowed: true } }, 'x.yaml'), { message: /^x\.yaml: request: / });
  t.same(parseRequestFixture({ request: 'a.json', expect: { allowed: true } }, 'x').request, 'a.json', 'a path to a CheckRequest');
});

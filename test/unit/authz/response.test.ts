import t from 'tap';
import { readDecision } from '../../../src/authz/decision.js';
import { decisionToResponse, errorToResponse } from '../../../src/authz/response.js';

const ID = '00000000-0000-4000-8000-000000000000';
const idOnly = { fields: { decision_id: { stringValue: ID } } };

t.test('boolean decisions carry only the status', async (t) => {
  t.same(decisionToResponse(readDecision(true), ID, false), { status: { code: 0 }, dynamicMetadata: idOnly });
  t.same(decisionToResponse(readDecision(false), ID, false), { status: { code: 7 }, dynamicMetadata: idOnly });
});

t.test('allow with mutations', async (t) => {
  const r = decisionToResponse(
    readDecision({ allowed: true, headers: { 'x-user': 'alice' }, request_headers_to_remove: ['x-debug'], response_headers_to_add: { 'x-d': 'ok' }, query_parameters_to_set: { a: 'b' }, query_parameters_to_remove: ['c'], dynamic_metadata: { n: 1, o: { l: [true, null] } } }),
    ID,
    false,
  );
  t.same(r, {
    status: { code: 0 },
    okResponse: {
      headers: [{ header: { key: 'x-user', value: 'alice' } }],
      headersToRemove: ['x-debug'],
      responseHeadersToAdd: [{ header: { key: 'x-d', value: 'ok' } }],
      queryParametersToRemove: ['c'],
      queryParametersToSet: [{ key: 'a', value: 'b' }],
    },
    dynamicMetadata: {
      fields: {
        n: { numberValue: 1 },
        o: { structValue: { fields: { l: { listValue: { values: [{ boolValue: true }, { nullValue: 0 }] } } } } },
        decision_id: { stringValue: ID },
      },
    },
  });
  t.same(decisionToResponse(readDecision({ allowed: true }), ID, false).okResponse, {}, 'an object decision always has an ok response');
});

t.test('deny with status, body and headers; dry-run turns it into OK', async (t) => {
  const d = readDecision({ allowed: false, http_status: 401, body: 'who?', headers: { 'www-authenticate': 'Bearer' }, dynamic_metadata: { why: 'no token' } });
  t.same(decisionToResponse(d, ID, false), {
    status: { code: 7 },
    deniedResponse: { status: { code: 401 }, headers: [{ header: { key: 'www-authenticate', value: 'Bearer' } }], body: 'who?' },
    dynamicMetadata: { fields: { why: { stringValue: 'no token' }, decision_id: { stringValue: ID } } },
  });
  t.same(decisionToResponse(d, ID, true), {
    status: { code: 0 },
    okResponse: {},
    dynamicMetadata: { fields: { why: { stringValue: 'no token' }, decision_id: { stringValue: ID } } },
  });
});

t.test('error responses', async (t) => {
  t.same(errorToResponse('request_parse_error', ID, { clientDetail: 'invalid URL escape "%zz"' }).deniedResponse, {
    status: { code: 400 },
    body: 'request_parse_error: invalid URL escape "%zz"',
  });
  const failed = errorToResponse('eval_error', ID, { httpStatus: 403 });
  t.equal(failed.deniedResponse?.status?.code, 403);
  t.notMatch(failed.deniedResponse?.body ?? '', /at |Error:/, 'no evaluation details reach the client');
});

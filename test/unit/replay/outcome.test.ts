// Recorded vs candidate decisions, compared the way Envoy would feel them: table-driven.
import t from 'tap';
import { candidateOutcome, compareOutcomes, describe, recordedOutcome } from '../../../src/replay/outcome.js';

const rec = (result: unknown) => recordedOutcome(result, undefined);
const cand = (result: unknown) => candidateOutcome([{ result }]);

t.test('the same decision in another shape is no flip', async (t) => {
  const same: Array<[unknown, unknown]> = [
    [true, true],
    [true, { allowed: true }],
    [false, { allowed: false }],
    [{ allowed: false }, { allowed: false, http_status: 403 }],
    [{ allowed: true, headers: { a: '1', b: '2' } }, { allowed: true, headers: [{ b: '2' }, { a: '1' }] }],
    [{ allowed: true, dynamic_metadata: { x: { a: 1, b: 2 } } }, { allowed: true, dynamic_metadata: { x: { b: 2, a: 1 } } }],
    // A denial's upstream-only fields are not read by OPA-Envoy, so they cannot flip anything.
    [{ allowed: false, response_headers_to_add: { a: '1' } }, { allowed: false }],
  ];
  for (const [before, after] of same) t.equal(compareOutcomes(rec(before), cand(after)), undefined, JSON.stringify([before, after]));
});

t.test('flips name their kind and what changed', async (t) => {
  const cases: Array<[unknown, unknown, string, RegExp]> = [
    [true, false, 'allow→deny', /^deny 403$/],
    [{ allowed: false, http_status: 401 }, { allowed: true }, 'deny→allow', /^allow$/],
    [{ allowed: false, http_status: 403 }, { allowed: false, http_status: 401 }, 'changed status', /status 403→401/],
    [{ allowed: false, body: 'a' }, { allowed: false, body: 'b' }, 'changed body', /body "a"→"b"/],
    [{ allowed: false, http_status: 403, body: 'a' }, { allowed: false, http_status: 429, body: 'b' }, 'changed status+body', /status 403→429; body/],
    [{ allowed: true, headers: { 'x-a': '1' } }, { allowed: true, headers: { 'x-a': '2' } }, 'changed headers', /headers x-a/],
    [{ allowed: true }, { allowed: true, response_headers_to_add: { 'x-b': '1' } }, 'changed headers', /headers response:x-b/],
    [{ allowed: true }, { allowed: true, request_headers_to_remove: ['cookie'] }, 'changed headers', /headers remove:cookie/],
    [{ allowed: true }, { allowed: true, query_parameters_to_set: { a: 'b' } }, 'changed query', /query parameters/],
    [{ allowed: true, dynamic_metadata: { r: 'a' } }, { allowed: true, dynamic_metadata: { r: 'b' } }, 'changed metadata', /dynamic_metadata/],
    [true, { allowed: 'yes' }, 'allow→error', /error result_invalid: "allowed: expected boolean, got string"/],
  ];
  for (const [before, after, reason, detail] of cases) {
    const flip = compareOutcomes(rec(before), cand(after));
    t.equal(flip?.reason, reason, JSON.stringify([before, after]));
    t.match(flip?.detail, detail, reason);
  }
});

t.test('errors: recorded failures and candidate failures', async (t) => {
  const undef = recordedOutcome(undefined, undefined);
  t.equal(describe(undef), 'error undefined_decision');
  t.equal(compareOutcomes(undef, candidateOutcome([])), undefined, 'still undefined: no flip');
  t.equal(compareOutcomes(recordedOutcome(undefined, { code: 'eval_error', message: 'x' }), candidateOutcome([]))?.reason, 'error→error');
  t.equal(compareOutcomes(undef, cand(true))?.reason, 'error→allow');
  t.equal(compareOutcomes(rec(false), candidateOutcome([]))?.reason, 'deny→error');
  t.equal(describe(candidateOutcome([{ result: true }, { result: true }])), 'error eval_error');
  t.equal(describe(rec({ allowed: false, http_status: 429 })), 'deny 429');
});

// Decision-log lines → replayable entries: table-driven, no server.
import t from 'tap';
import { memberSpan, parseLogLine, requestSummary } from '../../../src/replay/log-entry.js';

t.test('memberSpan finds a top-level member exactly as written', async (t) => {
  const cases: Array<[string, string, string | undefined]> = [
    ['{"input":{"a":1}}', 'input', '{"a":1}'],
    ['{"path":"x","input":{"n":12345678901234567890,"f":1.0}}', 'input', '{"n":12345678901234567890,"f":1.0}'],
    ['{ "input" : [1, {"input": 2}] , "x": 1}', 'input', '[1, {"input": 2}]'],
    ['{"a":{"input":1},"input":2}', 'input', '2'],
    ['{"a":"}\\"{","input":"v\\\\"}', 'input', '"v\\\\"'],
    ['{"in\\u0070ut":true}', 'input', 'true'],
    ['{"a":"\\\\","b":"\\"input\\"","input":null}', 'input', 'null'],
    ['{"a":1}', 'input', undefined],
    ['[{"input":1}]', 'input', undefined],
    ['{}', 'input', undefined],
  ];
  for (const [text, name, want] of cases) {
    JSON.parse(text); // the cases are valid JSON, as the scanner requires
    const span = memberSpan(text, name);
    t.equal(span ? text.slice(span[0], span[1]) : undefined, want, text);
  }
});

t.test('parseLogLine reads our and OPA\'s decision-log fields', async (t) => {
  const line = JSON.stringify({
    decision_id: 'd-1',
    path: 'envoy/authz/allow',
    input: { attributes: { request: { http: { method: 'GET', path: '/a?b=1' } } } },
    result: { allowed: false, http_status: 401 },
    bundles: { iacdash: { revision: 'r7' } },
    erased: ['/input/attributes/request/http/headers/authorization'],
    masked: ['/input/x'],
  });
  const r = parseLogLine(line);
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.entry.decisionId, 'd-1');
  t.equal(r.entry.path, 'envoy/authz/allow');
  t.same(r.entry.result, { allowed: false, http_status: 401 });
  t.same(r.entry.masked, ['/input/attributes/request/http/headers/authorization', '/input/x']);
  t.same(r.entry.revisions, ['r7']);
  t.equal(r.entry.error, undefined);
  t.equal(requestSummary(r.entry.input), 'GET /a?b=1');
});

t.test('the input text keeps numbers a parse would change', async (t) => {
  const r = parseLogLine('{"decision_id":"x","input":{"parsed_body":{"n":12345678901234567890,"f":1.0,"e":1e2}},"result":true}');
  t.ok(r.ok);
  if (r.ok) t.equal(r.entry.inputText, '{"parsed_body":{"n":12345678901234567890,"f":1.0,"e":1e2}}');
});

t.test('a failed decision carries its error', async (t) => {
  const r = parseLogLine('{"decision_id":"x","path":"p","input":{},"error":{"code":"undefined_decision","message":"undefined"}}');
  t.ok(r.ok);
  if (r.ok) t.same(r.entry.error, { code: 'undefined_decision', message: 'undefined' });
});

t.test('lines that cannot be replayed say why', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /^not JSON: /],
    ['{"decision_id":"x",', /^not JSON: /],
    ['[1,2]', /^not a JSON object$/],
    ['"text"', /^not a JSON object$/],
    ['null', /^not a JSON object$/],
    ['{"decision_id":"x","path":"p","result":true}', /^no input$/],
    ['{"decision_id":"x","path":"p","erased":["/input"]}', /^no input \(erased by the mask \/input\)$/],
    ['{"decision_id":"x","query":"data.x = y"}', /^no input \(an ad-hoc query/],
  ];
  for (const [line, reason] of cases) {
    const r = parseLogLine(line);
    t.notOk(r.ok, line);
    if (!r.ok) t.match(r.reason, reason, line);
  }
});

t.test('requestSummary: ext_authz input, a plain {method, path}, or dashes', async (t) => {
  t.equal(requestSummary({ attributes: { request: { http: { method: 'POST', path: '/x' } } } }), 'POST /x');
  t.equal(requestSummary({ method: 'GET', path: '/plain' }), 'GET /plain');
  t.equal(requestSummary({ user: 'bob' }), '- -');
  t.equal(requestSummary(null), '- -');
  t.equal(requestSummary({ method: 'GET', path: `/${'a'.repeat(200)}` }).length, 4 + 80);
});

// `iacdash eval` as a user runs it, one engine at a time: a subprocess on real files (a bundle built by real
// OPA, the shipped Lua scripts, a filter built by AssemblyScript); output and exit code checked. Each bad-input
// case has its own fixture file under test/fixtures/eval/.
import { join } from 'node:path';
import t from 'tap';
import { bundle, customAuth, EVAL, EXAMPLES, iacdash, WASM_FIXTURES } from './eval-setup.js';
import { REPO } from '../helpers/bundles.js';

t.test('authz: a CheckRequest against a bundle; --explain and the old --explain-input print the input', async (t) => {
  const request = join(EXAMPLES, 'bob-delete-forbidden.jsonc');
  const [plain, explained, old] = await Promise.all([
    iacdash('--bundle', bundle, '--request', request),
    iacdash('--bundle', bundle, '--request', request, '--explain'),
    iacdash('--engine', 'authz', '--bundle', bundle, '--request', request, '--explain-input'),
  ]);
  t.equal(plain.code, 0, plain.stderr);
  const out = JSON.parse(plain.stdout);
  t.equal(out.response.status.code, 7, 'PERMISSION_DENIED');
  t.equal(out.response.deniedResponse.status.code, 403);
  t.equal(out.input, undefined, 'no input without --explain');
  for (const r of [explained, old]) {
    t.equal(r.code, 0, r.stderr);
    const { input, response } = JSON.parse(r.stdout);
    t.equal(input.attributes.request.http.method, 'DELETE');
    t.same(input.version, { ext_authz: 'v3', encoding: 'protojson' });
    t.equal(response.deniedResponse.status.code, 403);
  }
});

t.test('lua: a request through a script: header and body changes, with the input under --explain', async (t) => {
  const r = await iacdash('--lua', join(REPO, 'lua', 'request-transformation.lua'), '--request', join(EVAL, 'lua-request.yaml'), '--explain');
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.equal(out.request.kind, 'done');
  t.same(JSON.parse(out.request.body), { item: 'book', qty: 2, request_id: '6f1c2a4e-0001-4c3b-9a55-2f0d1e7b9a01' }, 'the JSON body gets the request id');
  t.same(out.request.headers.set, { 'content-length': [String(Buffer.byteLength(out.request.body))] });
  t.equal(out.response, undefined, 'the fixture has no response phase');
  t.equal(out.input.request.headers[':path'], '/orders?debug=1');
  t.equal(out.input.request.body, '{"item":"book","qty":2}');
});

t.test('lua: a local reply, and --phase response on a fixture with both phases', async (t) => {
  const [reply, response] = await Promise.all([
    iacdash('--lua', join(REPO, 'lua', 'authentication.lua'), '--request', join(REPO, 'lua', 'fixtures', 'authentication', 'missing-key-401.yaml')),
    iacdash('--lua', join(REPO, 'lua', 'response-transformation.lua'), '--request', join(REPO, 'lua', 'fixtures', 'response-transformation', 'masks-email-in-json.yaml'), '--phase', 'response'),
  ]);
  t.equal(reply.code, 0, reply.stderr);
  const r = JSON.parse(reply.stdout).request;
  t.equal(r.kind, 'respond');
  t.equal(r.respond.status, 401);
  t.equal(r.respond.headers['www-authenticate'], 'ApiKey realm="iacdash-example"');
  t.match(r.logs, [{ level: 'info', message: /denied \(no x-api-key\)/ }]);
  t.equal(response.code, 0, response.stderr);
  const out = JSON.parse(response.stdout);
  t.equal(out.request, undefined);
  t.same(JSON.parse(out.response.body), { email: 'a***@example.com', id: 7, roles: ['admin', 'dev'] });
  t.same(out.response.headers.set['content-length'], ['59']);
});

t.test('wasm: a request through a filter in the local host; --config replaces the plugin configuration', async (t) => {
  const request = join(WASM_FIXTURES, 'api-key-allowed.json');
  const [allowed, denied] = await Promise.all([
    iacdash('--wasm', customAuth, '--request', request, '--explain'),
    iacdash('--wasm', customAuth, '--request', request, '--config', '{"apiKeys":{"keys":[{"key":"another-key-000","subject":"bob"}]}}'),
  ]);
  t.equal(allowed.code, 0, allowed.stderr);
  const a = JSON.parse(allowed.stdout);
  t.equal(a.result, 'continue');
  t.equal(a.response.status, 200);
  t.same(a.headerChanges.request.added, { 'x-auth-method': 'api-key', 'x-auth-scopes': 'read' });
  t.same(a.headerChanges.request.changed, { 'x-auth-subject': { from: 'mallory', to: 'alice' } }, 'a spoofed identity header is overwritten');
  t.match(a.logs, [{ level: 'info', message: /allow subject=alice method=api-key/ }]);
  t.equal(a.metrics['custom_auth.allowed'], 1);
  t.equal(a.input.request.headers['x-request-id'], a.upstreamRequest.headers['x-request-id'], '--explain shows the headers the filter saw');
  t.equal(a.input.configuration.apiKeys.keys[0].subject, 'alice');
  t.equal(denied.code, 0, denied.stderr);
  const d = JSON.parse(denied.stdout);
  t.equal(d.result, 'local_response');
  t.equal(d.localResponse.status, 401);
  t.equal(d.upstreamRequest, null);
});

// The sidecar in-process: gRPC Check + health, HTTP /health and /ready, bad input, failure modes.
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { Logger } from '../../../src/telemetry/log.js';
import { buildBundle, tempDir } from '../../helpers/bundles.js';
import { authzClient, check, checkRaw, encodeCheckRequest, healthStatus } from '../../helpers/grpc.js';

const http = (path: string, headers: Record<string, string> = {}, body?: string) => ({
  attributes: { request: { http: { method: 'GET', path, headers, ...(body === undefined ? {} : { body }) } } },
});

async function start(bundle: string, yaml = '', logs: string[] = []): Promise<RunningServer> {
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n${yaml}`,
    'test.yaml',
  );
  return startServer(config, new Logger('debug', config.log.mask_headers, (l) => logs.push(l)));
}

async function get(port: number, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

const dir = tempDir();
const basic = buildBundle('basic', join(dir, 'basic.tar.gz'), { revision: 'r1' });
const errors = buildBundle('errors', join(dir, 'errors.tar.gz'));

t.test('serves Check, health and readiness', async (t) => {
  const logs: string[] = [];
  const server = await start(basic, '', logs);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  t.same(await get(server.httpPort, '/health'), { status: 200, body: { status: 'ok' } });
  t.same(await get(server.httpPort, '/ready'), { status: 200, body: { status: 'ready', revision: 'r1' } });
  t.equal(await healthStatus(server.grpcPort), 'SERVING');
  t.equal(await healthStatus(server.grpcPort, 'envoy.service.auth.v3.Authorization'), 'SERVING');

  const ok = await check(client, http('/x', { authorization: 'Bearer s3cret', cookie: 'sid=s3cret' }));
  t.equal(ok.error, null);
  t.equal(ok.response.status.code, 0);
  t.same(ok.response.okResponse.headers, [{ header: { key: 'x-revision', value: 'one' } }]);
  t.match(ok.response.dynamicMetadata.fields.decision_id.stringValue, /^[0-9a-f-]{36}$/);

  const deny = await check(client, http('/deny'));
  t.equal(deny.response.status.code, 7);
  t.equal(deny.response.deniedResponse.status.code, 429);

  const all = logs.join('');
  t.notMatch(all, /s3cret/, 'authorization and cookie values never reach the log');
  t.match(all, /"authorization":"\*\*\*"/);
});

t.test('not ready until a bundle loads', async (t) => {
  const server = await start(join(dir, 'missing.tar.gz'));
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  const ready = await get(server.httpPort, '/ready');
  t.equal(ready.status, 503);
  t.match(ready.body, { status: 'not ready', load_errors: 1 });
  t.equal(await healthStatus(server.grpcPort), 'NOT_SERVING');
  const r = await check(client, http('/x'));
  t.equal(r.response.status.code, 7, 'fail-closed while not ready');
  t.equal(r.response.status.message, 'bundle_not_loaded: no policy bundle is loaded yet');
});

t.test('bad input gets a defined answer and the process keeps serving', async (t) => {
  const server = await start(basic);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  const garbage = await checkRaw(client, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  t.equal(garbage.error?.code, 3, 'undecodable protobuf: INVALID_ARGUMENT');
  t.match(garbage.error?.details, /^request_malformed: /);

  const good = encodeCheckRequest(http('/x', { 'x-name': 'ZZZZ' }));
  const at = good.indexOf('ZZZZ');
  const invalidUtf8 = Buffer.from(good).fill(0xff, at, at + 4);
  const utf8 = await checkRaw(client, invalidUtf8);
  t.equal(utf8.response.deniedResponse.status.code, 400, 'invalid UTF-8: 400');
  t.match(utf8.response.status.message, /^request_invalid_utf8: /);

  const cases: [string, object, number, RegExp][] = [
    ['1 MiB header value', http('/x', { 'x-big': 'v'.repeat(1024 * 1024) }), 431, /^request_headers_too_large/],
    ['JSON nested 10,000 deep', http('/x', { 'content-type': 'application/json' }, '['.repeat(10_000) + ']'.repeat(10_000)), 400, /^request_parse_error: JSON nesting exceeds/],
    ['body over the limit', http('/x', {}, 'b'.repeat(1024 * 1024 + 1)), 413, /^request_body_too_large/],
    ['malformed JSON body', http('/x', { 'content-type': 'application/json' }, '{"a":'), 400, /^request_parse_error: /],
    ['bad path escape', http('/bad%zz'), 400, /^request_parse_error: invalid URL escape "%zz"/],
  ];
  for (const [name, req, status, message] of cases) {
    const r = await check(client, req);
    t.equal(r.response?.deniedResponse?.status?.code, status, name);
    t.match(r.response?.status?.message, message, name);
  }
  const after = await check(client, http('/x'));
  t.equal(after.response.status.code, 0, 'still serving after all of that');
});

t.test('failure modes for undefined, conflicting and contract-breaking decisions', async (t) => {
  const paths = ['/undefined', '/conflict', '/bad-result'];
  const codes = ['undefined_decision', 'eval_error', 'result_invalid'];

  const deny = await start(errors);
  const allow = await start(errors, 'authz: {failure_mode: allow}');
  const grpcErr = await start(errors, 'authz: {failure_mode: grpc-error}');
  const status = await start(errors, 'authz: {failure_status: 500}');
  const servers = [deny, allow, grpcErr, status];
  t.teardown(() => Promise.all(servers.map((s) => s.close())));
  const [cDeny, cAllow, cGrpc, cStatus] = servers.map((s) => authzClient(s.grpcPort));
  t.teardown(() => [cDeny, cAllow, cGrpc, cStatus].forEach((c) => c!.close()));

  t.equal((await check(cDeny!, http('/ok'))).response.status.code, 0, 'the fixture allows /ok');
  for (const [i, path] of paths.entries()) {
    const d = await check(cDeny!, http(path));
    t.equal(d.response.status.code, 7, `${path}: denied by default`);
    t.equal(d.response.deniedResponse.status.code, 403);
    t.match(d.response.status.message, new RegExp(`^${codes[i]}:`));

    const a = await check(cAllow!, http(path));
    t.equal(a.response.status.code, 0, `${path}: allowed under failure_mode allow`);

    const g = await check(cGrpc!, http(path));
    t.equal(g.error?.code, 2, `${path}: gRPC UNKNOWN under grpc-error, like OPA-Envoy`);
    t.match(g.error?.details, new RegExp(`^${codes[i]}:`));

    const s = await check(cStatus!, http(path));
    t.equal(s.response.deniedResponse.status.code, 500, `${path}: failure_status`);
  }
});

t.test('dry-run answers OK but keeps the decision metadata', async (t) => {
  const server = await start(basic, 'authz: {dry_run: true}');
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  const r = await check(client, http('/deny'));
  t.equal(r.response.status.code, 0);
  t.same(r.response.okResponse, {});
  t.equal(r.response.deniedResponse, undefined);
});

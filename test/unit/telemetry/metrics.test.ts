// GET /metrics on a real in-process sidecar, parsed with a real Prometheus text-format parser.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { ERROR_CODES } from '../../../src/errors.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { envoyPackageDefinition } from '../../../src/server/protos.js';
import { Logger } from '../../../src/telemetry/log.js';
import { buildBundle, FIXTURES, tempDir } from '../../helpers/bundles.js';
import { authzClient, check, checkRaw } from '../../helpers/grpc.js';
import { exchange } from './extproc-client.js';
import { scrape, series, value } from './scrape.js';

const http = (path: string, headers: Record<string, string> = {}) => ({
  attributes: { request: { http: { method: 'GET', path, headers } } },
});

const dir = tempDir();
const r1 = buildBundle('basic', join(dir, 'r1.tar.gz'), { revision: 'r1' });
const r2 = buildBundle('basic', join(dir, 'r2.tar.gz'), { revision: 'r2' });
const errors = buildBundle('errors', join(dir, 'errors.tar.gz'));

async function start(bundle: string, yaml = ''): Promise<RunningServer> {
  const config = parseConfig(
    `server: {addr: "127.0.0.1:0", http_addr: "127.0.0.1:0"}\nbundle: {path: ${JSON.stringify(bundle)}, poll_interval_ms: 0}\n${yaml}`,
    'test.yaml',
  );
  return startServer(config, new Logger('error', config.log.mask_headers, () => undefined));
}

/** One ext_proc stream: request headers for `path`, the first answer back. */
function extProcHeaders(port: number, path: string): Promise<any> {
  const Ctor = grpc.makeClientConstructor(
    envoyPackageDefinition()['envoy.service.ext_proc.v3.ExternalProcessor'] as unknown as grpc.ServiceDefinition,
    'ExternalProcessor',
  );
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
  return new Promise((resolve, reject) => {
    const call = client['Process']();
    call.on('data', (res: unknown) => {
      call.end();
      client.close();
      resolve(res);
    });
    call.on('error', reject);
    call.write({
      requestHeaders: {
        headers: { headers: [':authority', ':path', ':method'].map((key, i) => ({ key, rawValue: Buffer.from(['example.com', path, 'GET'][i]!) })) },
        endOfStream: true,
      },
    });
  });
}

t.test('every request outcome and error code has a series from the start', async (t) => {
  const server = await start(r1);
  t.teardown(() => server.close());
  const { families, contentType } = await scrape(server.httpPort);
  t.match(contentType, /^text\/plain; version=0\.0\.4/);
  for (const code of ERROR_CODES) {
    t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: code }), 0, `authz ${code}`);
    t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: code }), 0, `extproc ${code}`);
  }
  for (const outcome of ['allowed', 'denied']) t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome }), 0);
  for (const code of ERROR_CODES.filter((c) => c.startsWith('lua_'))) t.equal(value(families, 'iacdash_lua_errors_total', { code }), 0, code);
  t.equal(value(families, 'iacdash_decision_logs_dropped_total'), 0);
  t.equal(families.get('iacdash_requests_total')?.type, 'COUNTER');
  t.equal(families.get('iacdash_check_duration_seconds')?.type, 'HISTOGRAM');
  t.equal(families.get('iacdash_bundle_info')?.type, 'GAUGE');
  t.ok(families.has('process_cpu_user_seconds_total'), 'default process metrics');
  t.ok(families.has('nodejs_eventloop_lag_seconds'), 'default Node metrics');
  const bounds = Object.keys(series(families, 'iacdash_check_duration_seconds')?.buckets ?? {}).map((k) => (k === '+Inf' ? Infinity : Number(k))).sort((a, b) => a - b);
  t.same(bounds.slice(0, 3), [0.00001, 0.000025, 0.00005], 'µs-scale buckets, in seconds');
  t.same(bounds.slice(-2), [1, Infinity]);
});

t.test('Checks move the counter of their outcome and the latency histograms', async (t) => {
  const server = await start(r1);
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  t.equal((await check(client, http('/x'))).response.status.code, 0);
  t.equal((await check(client, http('/y'))).response.status.code, 0);
  t.equal((await check(client, http('/deny'))).response.status.code, 7);
  t.equal((await checkRaw(client, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).error?.code, 3);

  const { families } = await scrape(server.httpPort);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'allowed' }), 2);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'denied' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'request_malformed' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'eval_error' }), 0);
  t.equal(value(families, 'iacdash_check_duration_seconds'), 4, 'every Check is timed');
  t.equal(value(families, 'iacdash_decision_evaluation_duration_seconds'), 3, 'only evaluated Checks have an evaluation time');
  const evalSeries = series(families, 'iacdash_decision_evaluation_duration_seconds')!;
  t.equal(evalSeries.buckets?.['+Inf'], '3');
  t.ok(Number(evalSeries.sum) > 0);
});

t.test('failed decisions count under their error code and the failure mode', async (t) => {
  const server = await start(errors, 'authz: {failure_mode: allow}');
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());

  t.equal((await check(client, http('/bad-result'))).response.status.code, 0, 'fail-open');
  t.equal((await check(client, http('/undefined'))).response.status.code, 0, 'fail-open');
  t.equal((await check(client, http('/ok'))).response.status.code, 0);

  const { families } = await scrape(server.httpPort);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'result_invalid' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'undefined_decision' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'authz', outcome: 'allowed' }), 1);
  t.equal(value(families, 'iacdash_failure_mode_activations_total', { service: 'authz', mode: 'allow' }), 2);
  t.equal(value(families, 'iacdash_failure_mode_activations_total', { service: 'authz', mode: 'deny' }), 0);
});

t.test('bundle loads: success, refusal and the active revision', async (t) => {
  const path = join(dir, 'active.tar.gz');
  copyFileSync(r1, path);
  const server = await start(path);
  t.teardown(() => server.close());

  let { families } = await scrape(server.httpPort);
  t.equal(value(families, 'iacdash_bundle_loads_total', { result: 'success' }), 1);
  t.equal(value(families, 'iacdash_bundle_loads_total', { result: 'failure' }), 0);
  t.same(families.get('iacdash_bundle_info')?.metrics, [{ labels: { revision: 'r1' }, value: '1' }]);

  copyFileSync(join(FIXTURES, 'bundles', 'not-gzip.bin'), path);
  await server.store.reload();
  ({ families } = await scrape(server.httpPort));
  t.equal(value(families, 'iacdash_bundle_loads_total', { result: 'failure' }), 1, 'a refused bundle counts as a failure');
  t.same(families.get('iacdash_bundle_info')?.metrics, [{ labels: { revision: 'r1' }, value: '1' }], 'the last good bundle stays active');

  copyFileSync(r2, path);
  await server.store.reload();
  ({ families } = await scrape(server.httpPort));
  t.equal(value(families, 'iacdash_bundle_loads_total', { result: 'success' }), 2);
  t.same(families.get('iacdash_bundle_info')?.metrics, [{ labels: { revision: 'r2' }, value: '1' }], 'one info series: the new revision');
});

t.test('ext_proc: script loads, Lua errors, budget overruns and the failure mode', async (t) => {
  const lua = (name: string) => JSON.stringify(join(FIXTURES, 'lua', name));
  const server = await start(
    r1,
    `extproc:
  poll_interval_ms: 0
  limits: {max_millis: 50}
  scripts:
    - {name: boom, file: ${lua('error-thrown.lua')}, match: {path_prefix: /boom}}
    - {name: loop, file: ${lua('loop-forever.lua')}, match: {path_prefix: /loop}}
    - {name: broken, file: ${lua('syntax-error.lua')}, match: {path_prefix: /broken}}
`,
  );
  t.teardown(() => server.close());

  t.ok((await extProcHeaders(server.grpcPort, '/boom')).immediateResponse, 'a local reply');
  t.ok((await extProcHeaders(server.grpcPort, '/loop')).immediateResponse);
  t.ok((await extProcHeaders(server.grpcPort, '/other')).requestHeaders, 'no script: passes');

  const { families } = await scrape(server.httpPort);
  t.equal(value(families, 'iacdash_script_loads_total', { script: 'boom', result: 'success' }), 1);
  t.equal(value(families, 'iacdash_script_loads_total', { script: 'broken', result: 'failure' }), 1);
  t.equal(value(families, 'iacdash_lua_errors_total', { code: 'lua_error' }), 1);
  t.equal(value(families, 'iacdash_lua_errors_total', { code: 'lua_budget_exceeded' }), 1, 'a budget overrun');
  t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: 'lua_error' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: 'lua_budget_exceeded' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: 'ok' }), 1);
  t.equal(value(families, 'iacdash_failure_mode_activations_total', { service: 'extproc', mode: 'respond' }), 2);
  t.equal(value(families, 'iacdash_extproc_message_duration_seconds'), 3);
});

t.test('metrics off: no /metrics, the sidecar still serves', async (t) => {
  const server = await start(r1, 'telemetry: {metrics: {enabled: false}}');
  t.teardown(() => server.close());
  const client = authzClient(server.grpcPort);
  t.teardown(() => client.close());
  t.equal((await check(client, http('/x'))).response.status.code, 0);
  t.equal((await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).status, 404);
  t.equal(server.metrics, undefined);
});

t.test('regression: malformed ext_proc messages were not counted', async (t) => {
  const server = await start(r1);
  t.teardown(() => server.close());
  // A length past the end of the message; then request_headers whose one header name is the byte 0xff (not UTF-8).
  const malformed = await exchange(server.grpcPort, [Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
  const invalidUtf8 = await exchange(server.grpcPort, [Buffer.from([0x12, 0x07, 0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff])]);
  t.equal(malformed[0].immediateResponse.status.code, 400);
  t.equal(invalidUtf8[0].immediateResponse.status.code, 400);

  const { families } = await scrape(server.httpPort);
  t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: 'request_malformed' }), 1);
  t.equal(value(families, 'iacdash_requests_total', { service: 'extproc', outcome: 'request_invalid_utf8' }), 1);
  t.equal(value(families, 'iacdash_extproc_message_duration_seconds'), 2, 'timed like every message');
  t.equal(value(families, 'iacdash_lua_errors_total', { code: 'lua_error' }), 0, 'not a Lua error');
});

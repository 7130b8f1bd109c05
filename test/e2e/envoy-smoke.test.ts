// Smoke tests for the e2e harness and the pinned Envoy: it proxies through a
// router-only listener, it runs an AssemblyScript proxy-wasm module under V8,
// the config builders produce config it accepts, and a bad start fails loudly.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import {
  bootstrap,
  cluster,
  compileAssemblyScript,
  extAuthzFilter,
  extProcFilter,
  listener,
  request,
  routerFilter,
  startEchoUpstream,
  startEnvoy,
  validateEnvoyConfig,
  wasmFilter,
  type CompiledWasm,
  type EchoedRequest,
} from './harness/index.js';

// Built once per file, on first use: a fresh clone has no build/ yet.
let smokeWasm: Promise<CompiledWasm> | undefined;
function buildSmokeWasm(): Promise<CompiledWasm> {
  smokeWasm ??= compileAssemblyScript({
    entry: 'wasm-filters/smoke/smoke.ts',
    outFile: 'build/wasm/smoke.wasm',
  });
  return smokeWasm;
}

t.test('Envoy proxies a request to the echo upstream through a router-only listener', async (t) => {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const envoy = await startEnvoy({
    name: 'smoke-router',
    config: bootstrap({
      listeners: [listener(0, [routerFilter()], 'echo', { name: 'ingress' })],
      clusters: [cluster('echo', upstream.port)],
    }),
  });
  t.teardown(() => envoy.stop());
  t.ok(envoy.adminPort > 0, 'admin port read back from Envoy');
  const port = envoy.listenerPorts['ingress'];
  if (port === undefined) throw new Error(`listener "ingress" not reported: ${JSON.stringify(envoy.listenerPorts)}`);

  const res = await request(port, {
    method: 'POST',
    path: '/some/path?a=1&a=2',
    headers: { 'x-test': 'hello', 'x-multi': ['one', 'two'], 'content-type': 'text/plain' },
    body: 'héllo body',
  });
  t.equal(res.status, 200, 'status via Envoy', { envoyLog: envoy.logs() });
  t.equal(res.headers['server'], 'envoy', 'response came through Envoy');

  t.equal(upstream.requests.length, 1, 'upstream saw exactly one request');
  const seen = upstream.last();
  t.match(seen, {
    method: 'POST',
    path: '/some/path?a=1&a=2',
    body: 'héllo body',
    bodyBase64: Buffer.from('héllo body').toString('base64'),
    headers: { 'x-test': 'hello', 'x-multi': ['one', 'two'], 'content-type': 'text/plain' },
  });
  t.type(seen?.headers['x-request-id'], 'string', 'Envoy added x-request-id on the way');
  t.same(JSON.parse(res.body) as EchoedRequest, seen, 'the response body echoes what the upstream recorded');

  const teapot = await request(port, { path: '/__status/418/more?x=1' });
  t.equal(teapot.status, 418, '/__status/418 answers 418 through Envoy');
  t.equal(upstream.requests.length, 2);
  upstream.clear();
  t.equal(upstream.last(), undefined, 'clear() forgets recorded requests');

  const total = await envoy.waitForStat('cluster.echo.upstream_rq_total', (v) => v >= 2);
  t.equal(total, 2, 'Envoy counted both upstream requests');
  const stats = await envoy.stats('^cluster\\.echo\\.upstream_rq_');
  t.equal(stats['cluster.echo.upstream_rq_418'], 1, 'stats() filters and reads counters');
  const outside = Object.keys(stats).filter((k) => !k.startsWith('cluster.echo.upstream_rq_'));
  t.same(outside, [], 'stats() applied the filter');
  t.equal(envoy.logs(), '', 'a clean run logs nothing at warning level');
});

t.test('V8 runs a proxy-wasm module built from AssemblyScript', async (t) => {
  const wasm = await buildSmokeWasm();
  t.comment(`${wasm.command} -> ${wasm.size} bytes`);

  const module = new WebAssembly.Module(await readFile(wasm.path));
  t.same(
    WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`),
    ['env.proxy_add_header_map_value'],
    'the only import is the host call (no env.abort, which Envoy does not provide)',
  );
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  for (const name of [
    'proxy_abi_version_0_2_1',
    'proxy_on_memory_allocate',
    'proxy_on_context_create',
    'proxy_on_vm_start',
    'proxy_on_configure',
    'proxy_on_request_headers',
    'proxy_on_done',
    'proxy_on_log',
    'proxy_on_delete',
    'memory',
  ]) {
    t.ok(exports.includes(name), `exports ${name}`);
  }

  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  // A module that fails to load makes Envoy exit ("Unable to create Wasm
  // plugin"), and startEnvoy rejects with the log, failing this test.
  const envoy = await startEnvoy({
    name: 'smoke-wasm',
    config: bootstrap({
      listeners: [
        listener(0, [wasmFilter({ filename: wasm.path, rootId: 'smoke' }), routerFilter()], 'echo', {
          name: 'ingress',
        }),
      ],
      clusters: [cluster('echo', upstream.port)],
    }),
  });
  t.teardown(() => envoy.stop());

  const res = await request(envoy.listenerPorts['ingress'] ?? 0, { path: '/wasm' });
  t.equal(res.status, 200, 'status via the wasm filter', { envoyLog: envoy.logs() });
  t.equal(upstream.last()?.headers['x-wasm-smoke'], 'v8', 'the module added the header', {
    envoyLog: envoy.logs(),
  });
  const v8 = await envoy.stats('^wasm\\.envoy\\.wasm\\.runtime\\.v8\\.');
  t.ok((v8['wasm.envoy.wasm.runtime.v8.created'] ?? 0) > 0, `a V8 VM was created: ${JSON.stringify(v8)}`);
});

t.test('the bootstrap builders produce config Envoy accepts', async (t) => {
  // Validate mode loads wasm modules too, so the file must be a real one.
  const wasm = await buildSmokeWasm();
  const config = bootstrap({
    listeners: [
      listener(
        0,
        [
          extAuthzFilter({
            clusterName: 'authz',
            failureModeAllow: true,
            withRequestBody: { maxRequestBytes: 8192, allowPartialMessage: true, packAsBytes: true },
            timeoutMs: 2500,
            statusOnError: 503,
          }),
          extProcFilter({
            clusterName: 'extproc',
            failureModeAllow: false,
            messageTimeoutMs: 1000,
            allowModeOverride: true,
            processingMode: {
              requestHeaderMode: 'SEND',
              responseHeaderMode: 'SKIP',
              requestBodyMode: 'BUFFERED',
              responseBodyMode: 'FULL_DUPLEX_STREAMED',
              requestTrailerMode: 'SKIP',
              responseTrailerMode: 'SEND',
            },
          }),
          wasmFilter({ filename: wasm.path, configuration: '{"a":1}', failurePolicy: 'FAIL_OPEN' }),
          routerFilter(),
        ],
        'echo',
        { name: 'all-filters', routeTimeoutMs: 3000, statPrefix: 'all' },
      ),
    ],
    clusters: [
      cluster('echo', 1),
      cluster('authz', 2, { http2: true }),
      cluster('extproc', 3, { http2: true, connectTimeoutMs: 250 }),
    ],
  });
  const accepted = await validateEnvoyConfig(config);
  t.ok(accepted.ok, accepted.output);
  t.match(accepted.output, /OK/);

  // Validation must really check fields, or the pass above proves nothing.
  const broken = structuredClone(config);
  const hcm = broken.static_resources.listeners[0]?.filter_chains[0]?.filters[0]?.typed_config as unknown as {
    http_filters: Array<{ typed_config: Record<string, unknown> }>;
  };
  const authzConfig = hcm.http_filters[0]?.typed_config;
  if (!authzConfig) throw new Error('ext_authz filter missing from the built config');
  authzConfig['failure_mode_alow'] = true;
  const rejected = await validateEnvoyConfig(broken);
  t.notOk(rejected.ok, 'a misspelled ext_authz field is rejected');
  t.match(rejected.output, /failure_mode_alow/);
});

t.test('startEnvoy rejects with Envoy\'s log when Envoy exits early', async (t) => {
  const config = bootstrap({ listeners: [], clusters: [] }) as unknown as Record<string, unknown>;
  config['not_a_bootstrap_field'] = true;
  await t.rejects(
    startEnvoy({ name: 'smoke-bad', config }),
    /exited with code 1 before it was ready[\s\S]*Envoy log[\s\S]*not_a_bootstrap_field/,
  );
});

// ext_authz through a real Envoy: envoy.filters.http.ext_authz (gRPC, V3) → `iacdash serve` → echo upstream.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildBundle, tempDir } from '../helpers/bundles.js';
import { startSidecar, type Sidecar } from '../helpers/sidecar.js';
import {
  bootstrap, cluster, extAuthzFilter, freePort, listener, request, routerFilter, startEchoUpstream, startEnvoy,
  type EchoUpstream, type EnvoyProcess, type ExtAuthzOptions,
} from './harness/index.js';

const bundle = buildBundle('e2e', join(tempDir(), 'e2e.tar.gz'));

async function envoyFor(t: Test, upstream: EchoUpstream, authzPort: number, opts: Omit<ExtAuthzOptions, 'clusterName'> = {}): Promise<{ envoy: EnvoyProcess; port: number }> {
  const envoy = await startEnvoy({
    name: 'authz',
    config: bootstrap({
      listeners: [listener(0, [extAuthzFilter({ clusterName: 'iacdash', timeoutMs: 5000, ...opts }), routerFilter()], 'upstream', { name: 'ingress' })],
      clusters: [cluster('upstream', upstream.port), cluster('iacdash', authzPort, { http2: true })],
    }),
  });
  t.teardown(() => envoy.stop());
  return { envoy, port: envoy.listenerPorts['ingress']! };
}

async function sidecarFor(t: Test, yaml = ''): Promise<Sidecar> {
  const sidecar = await startSidecar(`bundle: {path: ${JSON.stringify(bundle)}}\n${yaml}`);
  t.teardown(() => sidecar.stop());
  return sidecar;
}

async function echo(t: Test): Promise<EchoUpstream> {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  return upstream;
}

t.test('allow: the upstream sees added and removed headers and query parameters', async (t) => {
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t);
  const { envoy, port } = await envoyFor(t, upstream, sidecar.grpcPort);

  const res = await request(port, { path: '/allow/items?secret=1&keep=2', headers: { 'x-internal': 'drop me', 'x-keep': 'kept' } });
  t.equal(res.status, 200, envoy.logs());
  t.equal(res.headers['x-decision'], 'allowed', 'response_headers_to_add reaches the client');
  const seen = upstream.last()!;
  t.equal(seen.headers['x-user'], 'alice');
  // OPA-Envoy sends one HeaderValueOption per list item with no append action,
  // and Envoy's ext_authz then overwrites: the last value wins (same CheckResponse as OPA-Envoy).
  t.equal(seen.headers['x-roles'], 'dev', 'a list value: the last one wins in Envoy');
  t.equal(seen.headers['x-internal'], undefined, 'request_headers_to_remove');
  t.equal(seen.headers['x-keep'], 'kept');
  const query = new URL(seen.path, 'http://x').searchParams;
  t.equal(query.get('secret'), null, 'query_parameters_to_remove');
  t.equal(query.get('keep'), '2');
  t.equal(query.get('added'), 'yes', 'query_parameters_to_set');
});

t.test('deny: default 403, and a custom status, body and headers', async (t) => {
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t);
  const { port } = await envoyFor(t, upstream, sidecar.grpcPort);

  const plain = await request(port, { path: '/nothing-matches' });
  t.equal(plain.status, 403);
  t.equal(plain.body, 'denied by default');

  const custom = await request(port, { path: '/custom-deny' });
  t.equal(custom.status, 401);
  t.same(JSON.parse(custom.body), { error: 'who are you' });
  t.equal(custom.headers['www-authenticate'], 'Bearer realm="iacdash"');
  t.equal(custom.headers['content-type'], 'application/json');
  t.equal(upstream.requests.length, 0, 'denied requests never reach the upstream');
});

t.test('with_request_body: the policy decides on the parsed body', async (t) => {
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t);
  const { port } = await envoyFor(t, upstream, sidecar.grpcPort, {
    withRequestBody: { maxRequestBytes: 64, allowPartialMessage: true, packAsBytes: false },
  });
  const body = '{"ok":true}';
  const ok = await request(port, { method: 'POST', path: '/body', headers: { 'content-type': 'application/json' }, body });
  t.equal(ok.status, 200);
  t.equal(upstream.last()?.headers['x-body-seen'], body);
  t.equal(upstream.last()?.body, body, 'the upstream still gets the body');

  const no = await request(port, { method: 'POST', path: '/body', headers: { 'content-type': 'application/json' }, body: '{"ok":false}' });
  t.equal(no.status, 403);

  const big = `{"ok":true,"pad":"${'x'.repeat(200)}"}`;
  const truncated = await request(port, { method: 'POST', path: '/body', headers: { 'content-type': 'application/json' }, body: big });
  t.equal(truncated.status, 413, 'a body over max_request_bytes arrives partial and is seen as truncated');
  t.equal(truncated.body, 'truncated');
});

t.test('dry-run: a denial is logged but the request goes through', async (t) => {
  const upstream = await echo(t);
  const sidecar = await sidecarFor(t, 'authz: {dry_run: true}');
  const { port } = await envoyFor(t, upstream, sidecar.grpcPort);
  const res = await request(port, { path: '/custom-deny' });
  t.equal(res.status, 200);
  t.equal(upstream.last()?.path, '/custom-deny');
});

t.test('the sidecar down: fail-closed by default, fail-open when configured', async (t) => {
  const upstream = await echo(t);
  const nobody = await freePort();
  const closed = await envoyFor(t, upstream, nobody);
  const r1 = await request(closed.port, { path: '/allow' });
  t.equal(r1.status, 403, 'failure_mode_allow: false');
  t.equal(upstream.requests.length, 0);

  const open = await envoyFor(t, upstream, nobody, { failureModeAllow: true });
  const r2 = await request(open.port, { path: '/allow' });
  t.equal(r2.status, 200, 'failure_mode_allow: true');
  t.equal(upstream.requests.length, 1);
});

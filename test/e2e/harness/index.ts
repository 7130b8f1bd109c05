/**
 * Harness for end-to-end tests against the real, pinned Envoy.
 *
 * A test starts the pieces it needs, builds a bootstrap from plain objects,
 * starts Envoy (which resolves only once it is LIVE with every listener bound)
 * and sends plain HTTP/1.1 through it. Listener and admin ports may be 0:
 * Envoy binds them and the harness reads them back, so tests can run in
 * parallel without port races. Always stop what you start, in `t.teardown`.
 *
 * @example
 * ```ts
 * import t from 'tap';
 * import { bootstrap, cluster, listener, request, routerFilter, startEchoUpstream, startEnvoy } from './harness/index.js';
 *
 * t.test('a request reaches the upstream', async (t) => {
 *   const upstream = await startEchoUpstream();
 *   t.teardown(() => upstream.close());
 *   const envoy = await startEnvoy({
 *     name: 'my-test',
 *     config: bootstrap({
 *       listeners: [listener(0, [routerFilter()], 'upstream', { name: 'ingress' })],
 *       clusters: [cluster('upstream', upstream.port)],
 *     }),
 *   });
 *   t.teardown(() => envoy.stop());
 *   const res = await request(envoy.listenerPorts['ingress']!, { path: '/hello?x=1' });
 *   t.equal(res.status, 200, envoy.logs());
 *   t.equal(upstream.last()?.path, '/hello?x=1');
 * });
 * ```
 *
 * For ext_authz / ext_proc, run the gRPC server on `freePort()` (or port 0 and
 * read it back), add `cluster(name, port, { http2: true })`, and put
 * `extAuthzFilter` / `extProcFilter` before `routerFilter()`. Pass
 * `envoy.logs()` as the assertion message where a failure needs Envoy's view.
 */
export * from './bootstrap.js';
export * from './echo-upstream.js';
export * from './envoy.js';
export * from './http.js';
export * from './ports.js';
export * from './wasm.js';

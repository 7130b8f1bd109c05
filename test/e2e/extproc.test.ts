// The same Lua scripts in Envoy's own envoy.filters.http.lua and through envoy.filters.http.ext_proc
// to iacdash, in front of identical echo upstreams: the upstream must see the same request and the
// client the same response. Then the failure modes, through Envoy.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FIXTURES, tempDir } from '../helpers/bundles.js';
import { startSidecar } from '../helpers/sidecar.js';
import {
  bootstrap, cluster, extProcFilter, freePort, listener, luaFilter, luaPerRoute, request, routerFilter, startEchoUpstream, startEnvoy,
  type EchoUpstream, type EchoedRequest, type HttpResponse, type RequestOptions,
} from './harness/index.js';

const LUA = join(FIXTURES, 'lua-e2e');
const EXAMPLES = join(FIXTURES, '..', '..', 'lua');
/** Test scripts, then the shipped examples in lua/. */
const SCRIPT_FILES: Record<string, string> = {
  headers: join(LUA, 'headers.lua'),
  body: join(LUA, 'body.lua'),
  respond: join(LUA, 'respond.lua'),
  fails: join(LUA, 'fails.lua'),
  counter: join(LUA, 'counter.lua'),
  'request-transformation': join(EXAMPLES, 'request-transformation.lua'),
  'response-transformation': join(EXAMPLES, 'response-transformation.lua'),
  authentication: join(EXAMPLES, 'authentication.lua'),
};
const SCRIPTS = Object.keys(SCRIPT_FILES);
const source = (name: string): string => readFileSync(SCRIPT_FILES[name]!, 'utf8');
/** authentication.lua reads its keys from the route metadata, in both places. */
const AUTH_METADATA = { api_keys: { 'k-test-1': 'team-test' } };

/** Headers that differ per Envoy (its listener port is in `host`) or per request by design, on both sides. */
const VOLATILE = new Set(['date', 'host', 'x-request-id', 'x-envoy-upstream-service-time', 'x-envoy-expected-rq-timeout-ms', 'x-case']);

interface Case extends RequestOptions {
  name: string;
}

const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const json = (v: unknown): string => JSON.stringify(v);
const CASES: Case[] = [
  { name: 'hdr-plain', path: '/hdr/a' },
  { name: 'hdr-one-value', path: '/hdr/a', headers: { 'x-in': 'v1' } },
  { name: 'hdr-multi-value', path: '/hdr/a', headers: { 'x-in': ['1', '2', '3'] } },
  { name: 'hdr-many-values', path: '/hdr/a', headers: { 'x-in': Array.from({ length: 20 }, (_, i) => `v${i}`) } },
  { name: 'hdr-replace-remove', path: '/hdr/a', headers: { 'x-replace': 'old', 'x-remove': 'gone' } },
  { name: 'hdr-replace-multi', path: '/hdr/a', headers: { 'x-replace': ['a', 'b'] } },
  { name: 'hdr-existing-multi', path: '/hdr/a', headers: { 'x-multi': 'zero' } },
  { name: 'hdr-path-rewrite', path: '/hdr/old/thing' },
  { name: 'hdr-path-rewrite-query', path: '/hdr/old/thing?q=1&r=2' },
  { name: 'hdr-unicode-value', path: '/hdr/a', headers: { 'x-in': Buffer.from('héllo wörld').toString('latin1') } },
  { name: 'hdr-response-remove', path: '/hdr/a', headers: { 'x-echo-response-headers': json({ 'x-upstream-secret': 's', 'x-keep': 'k' }) } },
  { name: 'hdr-response-multi', path: '/hdr/a', headers: { 'x-echo-response-headers': json({ 'x-up-multi': ['a', 'b'] }) } },
  { name: 'hdr-post-body-untouched', method: 'POST', path: '/hdr/a', headers: { 'content-type': 'text/plain' }, body: 'as sent' },
  { name: 'hdr-upstream-status', path: '/__status/404' },
  { name: 'hdr-delete-method', method: 'DELETE', path: '/hdr/item/1' },
  { name: 'body-json', method: 'POST', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ name: 'x' }) },
  { name: 'body-json-nested', method: 'POST', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ name: 'x', inner: { name: 'y' } }) },
  { name: 'body-json-unicode', method: 'PUT', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ name: 'ünïcødé ✓' }) },
  { name: 'body-json-patch', method: 'PATCH', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ id: 1 }) },
  { name: 'body-binary', method: 'POST', path: '/body/bin', headers: { 'content-type': 'application/octet-stream' }, body: binary },
  { name: 'body-binary-upper', method: 'POST', path: '/body/bin', headers: { 'content-type': 'application/octet-stream', 'x-body-mode': 'upper' }, body: binary },
  { name: 'body-text-upper', method: 'POST', path: '/body/text', headers: { 'content-type': 'text/plain', 'x-body-mode': 'upper' }, body: 'hello, world' },
  { name: 'body-none', path: '/body/none' },
  { name: 'body-empty', method: 'POST', path: '/body/empty', headers: { 'content-type': 'text/plain' }, body: '' },
  { name: 'body-large-json', method: 'POST', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ name: 'big', pad: 'p'.repeat(200_000) }) },
  { name: 'body-text-plain', method: 'POST', path: '/body/text', headers: { 'content-type': 'text/plain' }, body: 'left alone' },
  { name: 'respond-deny', path: '/respond/deny' },
  { name: 'respond-json', path: '/respond/json' },
  { name: 'respond-empty-body', path: '/respond/teapot' },
  { name: 'respond-not-taken', path: '/respond/other' },
  { name: 'respond-deny-with-body', method: 'POST', path: '/respond/deny', headers: { 'content-type': 'text/plain' }, body: 'ignored' },
  { name: 'fail-error-keeps-earlier-change', path: '/fail/error' },
  { name: 'fail-no-error', path: '/fail/fine' },
  { name: 'example-request-rewrite', path: '/api/v1/orders?limit=5', headers: { 'X-Mixed-Case': 'v' } },
  { name: 'example-request-json-body', method: 'POST', path: '/api/v1/orders', headers: { 'content-type': 'application/json' }, body: json({ item: 'widget', qty: 2 }) },
  { name: 'example-request-no-rewrite', path: '/api/v2/orders' },
  { name: 'example-response-headers', path: '/resp/x', headers: { 'x-echo-response-headers': json({ 'x-powered-by': 'php', 'x-internal-trace': 't', 'x-keep': 'k' }) } },
  { name: 'example-response-status', path: '/resp/y' },
  { name: 'example-auth-ok', path: '/auth/data', headers: { 'x-api-key': 'k-test-1' } },
  { name: 'example-auth-unknown-key', path: '/auth/data', headers: { 'x-api-key': 'nope' } },
  { name: 'example-auth-no-key', path: '/auth/data' },
  { name: 'example-auth-two-keys', path: '/auth/data', headers: { 'x-api-key': ['k-test-1', 'k-test-1'] } },
  // Globals written by one request are seen by the next, as in Envoy's per-worker Lua state.
  { name: 'global-count-1', path: '/count/a' },
  { name: 'global-count-2', path: '/count/b' },
  { name: 'global-count-3', path: '/count/c' },
];

const ROUTES = [
  { prefix: '/hdr', script: 'headers' },
  { prefix: '/__status', script: 'headers' },
  { prefix: '/body', script: 'body' },
  { prefix: '/respond', script: 'respond' },
  { prefix: '/fail', script: 'fails' },
  { prefix: '/api', script: 'request-transformation' },
  { prefix: '/resp', script: 'response-transformation' },
  { prefix: '/auth', script: 'authentication', metadata: AUTH_METADATA },
  { prefix: '/count', script: 'counter' },
];

function iacdashConfig(failureMode: 'respond' | 'continue', extra = ''): string {
  const scripts = ROUTES.map(
    (r) =>
      `    - {name: ${r.script}-${r.prefix.slice(1).replace(/_/g, '')}, file: ${JSON.stringify(SCRIPT_FILES[r.script])}, metadata: ${JSON.stringify(r.metadata ?? {})}, match: {path_prefix: "${r.prefix}"}}`,
  );
  return `extproc:\n  failure_mode: ${failureMode}\n${extra}  scripts:\n${scripts.join('\n')}\n`;
}

async function extProcEnvoy(t: Test, upstream: EchoUpstream, sidecarPort: number, opts: { messageTimeoutMs?: number; bodies?: 'BUFFERED' | 'NONE' } = {}) {
  const envoy = await startEnvoy({
    name: 'extproc',
    config: bootstrap({
      listeners: [
        listener(0, [extProcFilter({
          clusterName: 'iacdash',
          messageTimeoutMs: opts.messageTimeoutMs ?? 5000,
          allowModeOverride: true,
          processingMode: { requestHeaderMode: 'SEND', responseHeaderMode: 'SEND', requestBodyMode: opts.bodies ?? 'BUFFERED', responseBodyMode: opts.bodies ?? 'BUFFERED' },
        }), routerFilter()], 'upstream', { name: 'ingress' }),
      ],
      clusters: [cluster('upstream', upstream.port), cluster('iacdash', sidecarPort, { http2: true })],
    }),
  });
  t.teardown(() => envoy.stop());
  return envoy;
}


/** What the client saw, without what differs per process by design. */
function clientView(res: HttpResponse): unknown {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([k]) => !VOLATILE.has(k)));
  let body: unknown = res.bodyBytes.toString('base64');
  try {
    const parsed = JSON.parse(res.body);
    if (parsed && typeof parsed === 'object' && 'rawHeaders' in parsed) {
      delete parsed.rawHeaders;
      for (const k of VOLATILE) delete parsed.headers?.[k];
    }
    body = parsed;
  } catch {
    // not JSON: compare the bytes
  }
  return { status: res.status, headers, body };
}

/** What the upstream saw. */
function upstreamView(seen: EchoedRequest | undefined): unknown {
  if (!seen) return 'nothing reached the upstream';
  const headers = Object.fromEntries(Object.entries(seen.headers).filter(([k]) => !VOLATILE.has(k)));
  return { method: seen.method, path: seen.path, headers, body: seen.bodyBase64 };
}

t.test('the same scripts in Envoy Lua and through ext_proc to iacdash', async (t) => {
  const [nativeUp, procUp] = await Promise.all([startEchoUpstream(), startEchoUpstream()]);
  t.teardown(() => Promise.all([nativeUp.close(), procUp.close()]));
  const sidecar = await startSidecar(iacdashConfig('continue'));
  t.teardown(() => sidecar.stop());

  const native = await startEnvoy({
    name: 'lua-native',
    config: bootstrap({
      listeners: [
        // The first script is the default for unlisted routes: a no-op, as iacdash runs nothing there.
        listener(0, [luaFilter({ noop: '-- no script for this route\n', ...Object.fromEntries(SCRIPTS.map((s) => [s, source(s)])) }), routerFilter()], 'upstream', {
          name: 'ingress',
          routes: ROUTES.map((r) => ({
            prefix: r.prefix,
            perFilterConfig: luaPerRoute(r.script),
            ...(r.metadata ? { metadata: { 'envoy.filters.http.lua': r.metadata } } : {}),
          })),
        }),
      ],
      clusters: [cluster('upstream', nativeUp.port)],
    }),
  });
  t.teardown(() => native.stop());
  const proc = await extProcEnvoy(t, procUp, sidecar.grpcPort);

  t.ok(CASES.length >= 30, `${CASES.length} requests`);
  for (const c of CASES) {
    // A fixed x-request-id (Envoy keeps a client's on internal requests), so scripts that copy it agree.
    const headers = { 'x-request-id': `id-${c.name}`, ...(c.headers ?? {}), 'x-case': c.name };
    const a = await request(native.listenerPorts['ingress']!, { ...c, headers });
    const b = await request(proc.listenerPorts['ingress']!, { ...c, headers });
    const seenA = nativeUp.requests.find((r) => r.headers['x-case'] === c.name);
    const seenB = procUp.requests.find((r) => r.headers['x-case'] === c.name);
    t.same(clientView(b), clientView(a), `${c.name}: the client sees the same response`);
    t.same(upstreamView(seenB), upstreamView(seenA), `${c.name}: the upstream sees the same request`);
  }
  const counts = (up: EchoUpstream) => up.requests.filter((r) => r.path.startsWith('/count')).map((r) => r.headers['x-request-count']);
  t.same(counts(procUp), ['1', '2', '3'], 'a global counts requests across streams in iacdash');
  t.same(counts(nativeUp), ['1', '2', '3'], '... as in Envoy\'s Lua filter');
  t.notMatch(sidecar.logs(), /ext_proc internal error/);
});

t.test('failure modes through Envoy', async (t) => {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const sidecar = await startSidecar(iacdashConfig('respond'));
  t.teardown(() => sidecar.stop());
  const envoy = await extProcEnvoy(t, upstream, sidecar.grpcPort);
  const port = envoy.listenerPorts['ingress']!;

  for (const [path, code] of [['/fail/error', 'lua_error'], ['/fail/loop', 'lua_budget_exceeded'], ['/fail/forbidden', 'lua_forbidden_call']] as const) {
    const res = await request(port, { path });
    t.equal(res.status, 500, `${path}: 500 by default`);
    t.equal(res.body, 'iacdash: the request transform failed\n', `${path}: a generic body, no details`);
    t.match(sidecar.logs(), new RegExp(`"code":"${code}"`), `${path}: the details are logged as ${code}`);
  }
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream');
  const fine = await request(port, { path: '/fail/fine' });
  t.equal(fine.status, 200, 'other streams are unaffected');
  t.equal(upstream.last()?.headers['x-before-error'], 'kept');
});

t.test('Envoy decides when iacdash is down or too slow', async (t) => {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const down = await extProcEnvoy(t, upstream, await freePort());
  t.equal((await request(down.listenerPorts['ingress']!, { path: '/hdr/a' })).status, 500, 'sidecar down: 500 (failure_mode_allow: false)');

  const slow = await startSidecar(iacdashConfig('respond', '  limits: {max_millis: 3000, max_instructions: 1000000000000}\n'));
  t.teardown(() => slow.stop());
  const envoy = await extProcEnvoy(t, upstream, slow.grpcPort, { messageTimeoutMs: 100 });
  const res = await request(envoy.listenerPorts['ingress']!, { path: '/fail/loop' });
  t.equal(res.status, 504, 'message_timeout exceeded: 504');
  t.equal(upstream.requests.length, 0);
});

t.test('bodies are fetched only when a script reads them (mode_override)', async (t) => {
  const upstream = await startEchoUpstream();
  t.teardown(() => upstream.close());
  const sidecar = await startSidecar(iacdashConfig('respond'));
  t.teardown(() => sidecar.stop());
  // Envoy sends headers only; body.lua's handle:body() makes iacdash ask for the body.
  const envoy = await extProcEnvoy(t, upstream, sidecar.grpcPort, { bodies: 'NONE' });
  const port = envoy.listenerPorts['ingress']!;
  const res = await request(port, { method: 'POST', path: '/body/json', headers: { 'content-type': 'application/json' }, body: json({ name: 'x' }) });
  t.equal(res.status, 200, envoy.logs());
  t.equal(upstream.last()?.body, '{"name":"x","added":true}', 'the request body was fetched and rewritten');
  t.equal(upstream.last()?.headers['content-length'], String('{"name":"x","added":true}'.length));
  t.match(res.body, '"METHOD":', 'the response body was fetched and rewritten too');
  const plain = await request(port, { method: 'POST', path: '/hdr/a', headers: { 'content-type': 'text/plain' }, body: 'as sent' });
  t.equal(plain.status, 200);
  t.equal(upstream.last()?.body, 'as sent', 'a script that never reads the body leaves it alone');
});

// The built modules as Envoy sees them: every import is one Envoy links
// (an unknown one stops the VM from loading), the ABI exports are there, and
// the README's example is the code that builds and runs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, ensureFilter, listFilters } from '../../../wasm-filters/build.mjs';
import { ENVOY_IMPORTS, parseFixture, runFixture } from '../../../src/wasm-host/index.js';

/** What every module exports: the ABI marker, memory, the allocator, start-up and context lifecycle. */
const REQUIRED_EXPORTS = [
  'proxy_abi_version_0_2_1',
  'proxy_on_memory_allocate',
  'malloc',
  'memory',
  '_initialize',
  'proxy_on_context_create',
  'proxy_on_vm_start',
  'proxy_on_configure',
  'proxy_on_delete',
];

/**
 * The other callbacks each module exports. Envoy skips a callback a module
 * does not export, so the shipped filters export only the ones they use
 * (one host-to-VM call saved per request for each); the example re-exports them all.
 */
const CALLBACKS: Record<string, string[]> = {
  'custom-auth': ['proxy_on_request_headers'],
  'request-logger': ['proxy_on_request_headers', 'proxy_on_request_body', 'proxy_on_response_body', 'proxy_on_log'],
  greeting: [
    'proxy_on_tick',
    'proxy_on_queue_ready',
    'proxy_on_http_call_response',
    'proxy_on_request_headers',
    'proxy_on_request_body',
    'proxy_on_request_trailers',
    'proxy_on_response_headers',
    'proxy_on_response_body',
    'proxy_on_response_trailers',
    'proxy_on_log',
    'proxy_on_done',
  ],
};

t.test('every filter imports only what Envoy provides and exports the ABI', async (t) => {
  const names = await listFilters();
  t.same(names, ['custom-auth', 'request-logger']);
  for (const built of [...(await Promise.all(names.map((n) => ensureFilter(n)))), await ensureFilter('greeting', { example: true })]) {
    const module = new WebAssembly.Module(await readFile(built.path));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
    t.same(imports.filter((i) => !ENVOY_IMPORTS.has(i)), [], `${built.name}: no import outside Envoy's (${imports.length} imports)`);
    t.notOk(imports.includes('env.abort'), `${built.name}: no env.abort`);
    const exports = WebAssembly.Module.exports(module).map((e) => e.name);
    t.same(REQUIRED_EXPORTS.filter((e) => !exports.includes(e)), [], `${built.name}: exports the ABI`);
    const callbacks = exports.filter((e) => e.startsWith('proxy_on_') && !REQUIRED_EXPORTS.includes(e));
    t.same(callbacks.sort(), [...(CALLBACKS[built.name] ?? [])].sort(), `${built.name}: exports the callbacks it uses`);
    t.ok(built.size < 128 * 1024, `${built.name}: ${built.size} bytes`);
  }
});

t.test('the README example is the example that builds, and it works', async (t) => {
  const source = await readFile(join(REPO_ROOT, 'wasm-filters', 'examples', 'greeting', 'index.ts'), 'utf8');
  const readme = await readFile(join(REPO_ROOT, 'wasm-filters', 'README.md'), 'utf8');
  t.ok(readme.includes(source.trim()), 'wasm-filters/README.md shows examples/greeting/index.ts verbatim');
  const module = await readFile((await ensureFilter('greeting', { example: true })).path);
  const cases = [
    {
      name: 'greets with the configured name',
      configuration: { name: 'iacdash' },
      request: { path: '/' },
      expect: { status: 200, upstream: { headers: { 'x-hello': 'iacdash' } }, logs: ['greeting: hello iacdash'], metrics: { 'greeting.greeted': 1 } },
    },
    {
      name: 'blocks on request',
      request: { path: '/', headers: { 'x-block': 'yes' } },
      expect: { status: 403, body: 'blocked by greeting\n', headers: { 'content-type': 'text/plain' }, upstream: { reached: false }, metrics: { 'greeting.blocked': 1, 'greeting.greeted': 0 } },
    },
    {
      name: 'refuses an unknown key',
      configuration: { nmae: 'typo' },
      request: {},
      expect: { startError: 'greeting: invalid configuration: unknown key "nmae" (allowed: name)' },
    },
  ];
  for (const c of cases) {
    const { failures } = await runFixture(parseFixture(c, c.name), module);
    t.same(failures, [], c.name);
  }
});

t.test('the Istio WasmPlugins configure filters that start and work', async (t) => {
  const { parseAllDocuments } = await import('yaml');
  const text = await readFile(join(REPO_ROOT, 'deploy', 'istio', 'wasm-plugins.yaml'), 'utf8');
  const plugins = parseAllDocuments(text).map((d) => d.toJS() as { apiVersion: string; kind: string; spec: { pluginName: string; pluginConfig: unknown; url: string; phase: string; failStrategy: string } });
  t.same(plugins.map((p) => p.spec.pluginName), ['custom-auth', 'request-logger']);
  for (const plugin of plugins) {
    t.equal(plugin.apiVersion, 'extensions.istio.io/v1alpha1');
    t.equal(plugin.kind, 'WasmPlugin');
    t.match(plugin.spec.url, /^(oci|file|https):\/\//);
    const module = await readFile((await ensureFilter(plugin.spec.pluginName)).path);
    const fixture = parseFixture({
      rootId: plugin.spec.pluginName,
      configuration: plugin.spec.pluginConfig as Record<string, unknown>,
      request: { path: '/orders', headers: { 'x-api-key': 'REPLACE-ME-orders-service-api-key' } },
      expect: { status: 200 },
    });
    const { failures } = await runFixture(fixture, module);
    t.same(failures, [], `${plugin.spec.pluginName}: the pluginConfig is accepted and a request passes`);
  }
});

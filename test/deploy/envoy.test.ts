// Every Envoy fragment the Istio manifests install (EnvoyFilter patches, the
// ext_authz filter istiod generates from the mesh's extension providers, and
// the wasm filter it generates from each WasmPlugin, with the module built
// from wasm-filters/)
// and every Envoy example config in deploy/envoy, checked by the pinned Envoy
// with `envoy --mode validate`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { validateEnvoyConfig } from '../e2e/harness/envoy.js';
import { ensureFilter } from '../../wasm-filters/build.mjs';
import { bootstrapFor, envoyFilterFragments, extAuthzFragments, wasmPluginFragment } from './envoy-fragments.js';
import { DEPLOY, helmTemplate, loadManifests, yamlFiles } from './harness.js';
import { buildBundle, tempDir } from '../helpers/bundles.js';
import { makeCa, secretDir } from '../helpers/tls.js';

/** Where deploy/envoy/ext-authz-tls.yaml expects cert-manager's client Secret. */
const CLIENT_SECRET_MOUNT = '/etc/iacdash-client';

const bundle = buildBundle('basic', join(tempDir(), 'bundle.tar.gz'));
const istio = yamlFiles(join(DEPLOY, 'istio')).flatMap((f) => loadManifests(f));
const chart = [
  ...helmTemplate(['--set-file', `bundle.file=${bundle}`]),
  ...helmTemplate(['--set-file', `bundle.file=${bundle}`, '--set', 'mode=sidecar']),
];
const wasmPlugins = istio.filter((o) => o.kind === 'WasmPlugin');
const wasm = [];
for (const plugin of wasmPlugins) {
  wasm.push(wasmPluginFragment(plugin, (await ensureFilter(plugin.spec.pluginName)).path));
}
const fragments = [...envoyFilterFragments([...istio, ...chart]), ...extAuthzFragments(istio), ...wasm];

t.test('every EnvoyFilter patch, generated ext_authz and wasm filter passes envoy --mode validate', async (t) => {
  // Two ext_proc patches (sidecar inbound, gateway) and two providers (shared, local).
  t.equal(fragments.filter((f) => f.filter.name === 'envoy.filters.http.ext_proc').length, 2);
  t.equal(fragments.filter((f) => f.filter.name === 'envoy.filters.http.ext_authz').length, 2);
  t.same(wasmPlugins.map((p) => p.spec.pluginName).sort(), ['custom-auth', 'request-logger'], 'the WasmPlugins in deploy/istio');
  t.equal(fragments.filter((f) => f.filter.name === 'envoy.filters.http.wasm').length, wasmPlugins.length);
  const result = await validateEnvoyConfig(bootstrapFor(fragments));
  t.ok(result.ok, `${fragments.map((f) => f.source).join('\n')}\n${result.output}`);
});

t.test('a broken fragment is rejected, so the check above can fail', async (t) => {
  const broken = structuredClone(fragments.find((f) => f.filter.name === 'envoy.filters.http.ext_proc')!);
  (broken.filter.typed_config as any).processing_mode.request_body_mode = 'BUFFERD';
  const result = await validateEnvoyConfig(bootstrapFor([broken]));
  t.notOk(result.ok);
  t.match(result.output, /BUFFERD/);

  // Validate mode loads each wasm module and runs its proxy_on_configure, so the pluginConfig is checked too.
  const auth = structuredClone(fragments.find((f) => f.source.endsWith('/custom-auth'))!);
  (auth.filter.typed_config as any).config.configuration.value = '{not json';
  const rejected = await validateEnvoyConfig(bootstrapFor([auth]));
  t.notOk(rejected.ok);
  t.match(rejected.output, /Unable to create Wasm plugin/);
});

t.test('every Envoy example in deploy/envoy passes envoy --mode validate', async (t) => {
  const files = yamlFiles(join(DEPLOY, 'envoy'));
  t.ok(files.length > 0);
  // Envoy reads certificate files at load: the client Secret's mount gets files issued here.
  const ca = makeCa();
  const secret = secretDir(ca, ca.issue('envoy', 'client'));
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const result = await validateEnvoyConfig(parse(text.replaceAll(`${CLIENT_SECRET_MOUNT}/`, `${secret}/`)));
    t.ok(result.ok, `${file}: ${result.output}`);
  }
  t.ok(files.some((f) => readFileSync(f, 'utf8').includes(`${CLIENT_SECRET_MOUNT}/tls.crt`)), 'an example presents the client Secret\'s certificate');
});

// Every static manifest in deploy/ (Istio, Gateway API, FluxCD, cert-manager)
// parses and validates against its kind's schema; the validator itself rejects
// a broken object, so a pass means something.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEPLOY, loadManifests, only, validateObject, yamlFiles, type K8sObject } from './harness.js';

const DIRS = ['istio', 'flux', 'cert-manager'];

t.test('every manifest in deploy/istio, deploy/flux and deploy/cert-manager validates', async (t) => {
  const kinds = new Set<string>();
  for (const dir of DIRS) {
    const files = yamlFiles(join(DEPLOY, dir));
    t.ok(files.length > 0, `${dir} has manifests`);
    for (const file of files) {
      const objects = loadManifests(file);
      t.ok(objects.length > 0, `${file}: has objects`);
      for (const o of objects) kinds.add(`${o.apiVersion} ${o.kind}`);
    }
  }
  // The list: each of these is present and validated.
  for (const kind of [
    'install.istio.io/v1alpha1 IstioOperator',
    'security.istio.io/v1 AuthorizationPolicy',
    'security.istio.io/v1 PeerAuthentication',
    'networking.istio.io/v1alpha3 EnvoyFilter',
    'gateway.networking.k8s.io/v1 Gateway',
    'gateway.networking.k8s.io/v1 HTTPRoute',
    'helm.toolkit.fluxcd.io/v2 HelmRelease',
    'kustomize.toolkit.fluxcd.io/v1 Kustomization',
    'source.toolkit.fluxcd.io/v1 GitRepository',
    'cert-manager.io/v1 Certificate',
  ]) {
    t.ok(kinds.has(kind), `${kind} is shipped`);
  }
  if (existsSync(join(DEPLOY, 'istio', 'wasm-plugins.yaml'))) {
    t.ok(kinds.has('extensions.istio.io/v1alpha1 WasmPlugin'), 'wasm-plugins.yaml holds WasmPlugins');
  }
});

t.test('PeerAuthentication is STRICT and the AuthorizationPolicies are CUSTOM', async (t) => {
  const peers = loadManifests(join(DEPLOY, 'istio', 'peer-authentication.yaml'));
  t.same(peers.map((pa) => pa.metadata.namespace), ['demo', 'iacdash', 'iacdash']);
  for (const pa of peers) t.equal(pa.spec.mtls.mode, 'STRICT', `${pa.metadata.namespace}/${pa.metadata.name}`);
  const policies = [
    ...loadManifests(join(DEPLOY, 'istio', 'authorization-policy.yaml')),
    ...loadManifests(join(DEPLOY, 'istio', 'gateway.yaml')).filter((o) => o.kind === 'AuthorizationPolicy'),
  ];
  t.equal(policies.length, 2);
  for (const p of policies) t.equal(p.spec.action, 'CUSTOM', p.metadata.name);
  const route = only(loadManifests(join(DEPLOY, 'istio', 'gateway.yaml')), 'HTTPRoute');
  const gateway = only(loadManifests(join(DEPLOY, 'istio', 'gateway.yaml')), 'Gateway');
  t.same(route.spec.parentRefs[0], { name: gateway.metadata.name, namespace: gateway.metadata.namespace }, 'the route attaches to the edge Gateway');
});

t.test('the validator rejects broken objects', async (t) => {
  const filter = structuredClone(only(loadManifests(join(DEPLOY, 'istio', 'ext-proc-envoyfilter.yaml')), 'EnvoyFilter'));
  filter.spec.configPatches[0].applyTo = 'HTTP_FILTERS';
  t.throws(() => validateObject(filter, 'mutated'), /configPatches\/0\/applyTo must be equal to one of the allowed values/);

  const cert = structuredClone(only(loadManifests(join(DEPLOY, 'cert-manager', 'certificate.yaml')), 'Certificate', 'iacdash-grpc'));
  delete cert.spec.secretName;
  t.throws(() => validateObject(cert, 'mutated'), /secretName/);

  const unknown: K8sObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
  t.throws(() => validateObject(unknown, 'mutated'), /no schema for example.com\/v1 Widget/);
});

// One port, service name or path changed in one place must fail here: the
// chart's values and renders, the kustomize overlays, the Istio resources, the
// Dockerfile and iacdash's own defaults (src/config/schema.ts) must agree.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { parseConfig, splitHostPort } from '../../src/config/load.js';
import { buildBundle, REPO, tempDir } from '../helpers/bundles.js';
import { envoyPackageDefinition } from '../../src/server/protos.js';
import { check, type CheckResult } from '../helpers/grpc.js';
import { startSidecar } from '../helpers/sidecar.js';
import { makeCa, secretDir } from '../helpers/tls.js';
import { EXT_PROC_RUNTIME } from '../e2e/harness/bootstrap.js';
import { envoyFilterFragments } from './envoy-fragments.js';
import { CHART, DEPLOY, helmTemplate, kustomizeBuild, loadManifests, only, yamlFiles, type K8sObject } from './harness.js';

const defaults = parseConfig('', 'defaults');
const GRPC = splitHostPort(defaults.server.addr).port;
const HTTP = splitHostPort(defaults.server.http_addr).port;
const NAMESPACE = 'iacdash';

const bundle = buildBundle('basic', join(tempDir(), 'bundle.tar.gz'));
const shared = helmTemplate(['--set-file', `bundle.file=${bundle}`, '--set', 'serviceMonitor.enabled=true']);
const sidecar = helmTemplate(['--set-file', `bundle.file=${bundle}`, '--set', 'mode=sidecar']);
const production = kustomizeBuild('production');
const istio = yamlFiles(join(DEPLOY, 'istio')).flatMap((f) => loadManifests(f));
const providers = new Map<string, { service: string; port: number }>(
  only(istio, 'IstioOperator').spec.meshConfig.extensionProviders.map((p: any) => [p.name, p.envoyExtAuthzGrpc]),
);

function port(addr: string): number {
  return splitHostPort(addr).port;
}
function iacdashContainer(objects: K8sObject[], deployment?: string): any {
  return only(objects, 'Deployment', deployment).spec.template.spec.containers.find((c: any) => c.name === 'iacdash');
}
function configOf(objects: K8sObject[]): any {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('iacdash-config'))!;
  return parse(cm.data['iacdash.yaml']);
}

t.test('the iacdash defaults are the ports the chart defaults to', async (t) => {
  t.same([GRPC, HTTP], [9191, 8181], 'OPA-Envoy\'s gRPC port and OPA\'s REST port');
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  t.same(values.ports, { grpc: GRPC, http: HTTP });
});

t.test('Service, container, probes and config agree (chart shared mode and kustomize production)', async (t) => {
  for (const [name, objects] of [['helm', shared], ['kustomize', production]] as const) {
    const service = only(objects, 'Service');
    t.equal(service.metadata.name, 'iacdash', `${name}: Service name`);
    const servicePorts = Object.fromEntries(service.spec.ports.map((p: any) => [p.name, p]));
    t.equal(servicePorts['grpc'].port, GRPC, `${name}: Service grpc port`);
    t.equal(servicePorts['grpc'].appProtocol, 'grpc', `${name}: Istio sees gRPC (HTTP/2)`);
    t.equal(servicePorts['http'].port, HTTP, `${name}: Service http port`);

    const container = iacdashContainer(objects, 'iacdash');
    const containerPorts = Object.fromEntries(container.ports.map((p: any) => [p.name, p.containerPort]));
    t.same(containerPorts, { grpc: GRPC, http: HTTP }, `${name}: container ports`);
    t.equal(servicePorts['grpc'].targetPort, 'grpc');
    t.equal(servicePorts['http'].targetPort, 'http');

    const config = configOf(objects);
    t.equal(port(config.server.addr), GRPC, `${name}: server.addr`);
    t.equal(port(config.server.http_addr), HTTP, `${name}: server.http_addr`);
    t.same(container.livenessProbe.httpGet, { path: '/health', port: 'http' }, `${name}: liveness`);
    t.same(container.readinessProbe.httpGet, { path: '/ready', port: 'http' }, `${name}: readiness`);
    t.same(container.args, ['serve', '--config', '/etc/iacdash/iacdash.yaml'], `${name}: args`);

    const netpol = only(objects, 'NetworkPolicy');
    t.same(netpol.spec.ingress.map((r: any) => r.ports[0].port), [GRPC, HTTP], `${name}: NetworkPolicy ports`);
  }
  t.equal(only(production, 'Service').metadata.namespace, NAMESPACE);
  const monitor = only(shared, 'ServiceMonitor');
  t.same(monitor.spec.endpoints.map((e: any) => [e.port, e.path]), [['http', '/metrics']], 'ServiceMonitor scrapes the http port');
});

t.test('the Istio resources point at the Service iacdash serves', async (t) => {
  const fqdn = `${only(shared, 'Service').metadata.name}.${NAMESPACE}.svc.cluster.local`;
  t.same(providers.get('iacdash'), { ...providers.get('iacdash'), service: fqdn, port: GRPC }, 'shared provider');

  // Sidecar mode: provider → ServiceEntry host and port → iacdash's loopback listener.
  const entry = only(sidecar, 'ServiceEntry');
  t.same(providers.get('iacdash-local'), { ...providers.get('iacdash-local'), service: entry.spec.hosts[0], port: entry.spec.ports[0].number });
  t.same(entry.spec.endpoints, [{ address: '127.0.0.1' }]);
  t.equal(configOf(sidecar).server.addr, `127.0.0.1:${entry.spec.ports[0].number}`);
  t.equal(entry.spec.ports[0].number, GRPC);

  for (const policy of [...istio, ...sidecar].filter((o) => o.kind === 'AuthorizationPolicy')) {
    t.ok(providers.has(policy.spec.provider.name), `${policy.metadata.name}: provider ${policy.spec.provider.name} is declared`);
    t.same(policy.spec.rules[0].to[0].operation.notPaths, ['/health', '/ready'], `${policy.metadata.name}: probes are not checked`);
  }

  const fragments = envoyFilterFragments(istio);
  t.ok(fragments.length > 0);
  for (const { source, filter } of fragments) {
    const c = filter.typed_config as any;
    t.equal(c.grpc_service.envoy_grpc.cluster_name, `outbound|${GRPC}||${fqdn}`, `${source}: istiod's cluster for the Service`);
    t.equal(c.failure_mode_allow, false, `${source}: fail closed`);
    t.equal(c.allow_mode_override, true, `${source}: iacdash may ask for bodies`);
    t.same([c.processing_mode.request_header_mode, c.processing_mode.response_header_mode], ['SEND', 'SEND']);
    const timeoutMs = Number(String(c.message_timeout).replace(/s$/, '')) * 1000;
    t.ok(timeoutMs >= 200 && timeoutMs > defaults.extproc.limits.max_millis, `${source}: message_timeout ${timeoutMs} ms outlasts a script's budget (${defaults.extproc.limits.max_millis} ms)`);
  }

  // Only the HTTP port of iacdash's own pods is relaxed; gRPC stays mTLS only.
  const relaxed = only(loadManifests(join(DEPLOY, 'istio', 'peer-authentication.yaml')), 'PeerAuthentication', 'iacdash-http');
  t.same(Object.keys(relaxed.spec.portLevelMtls), [String(HTTP)]);
  t.same(relaxed.spec.selector.matchLabels, { 'app.kubernetes.io/name': only(shared, 'Service').spec.selector['app.kubernetes.io/name'] });

  const cert = only(loadManifests(join(DEPLOY, 'cert-manager', 'certificate.yaml')), 'Certificate', 'iacdash-grpc');
  t.ok(cert.spec.dnsNames.includes(fqdn), 'the certificate names the Service');
});

t.test('TLS: cert-manager, the chart and iacdash agree on the Secret, its keys and the names; iacdash serves it', async (t) => {
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  const certs = loadManifests(join(DEPLOY, 'cert-manager', 'certificate.yaml'));
  const serving = only(certs, 'Certificate', 'iacdash-grpc');
  t.equal(serving.spec.secretName, values.tls.secretName, 'the example Certificate writes the Secret the chart mounts');
  const objects = helmTemplate(['--set-file', `bundle.file=${bundle}`, '-f', join(CHART, 'ci', 'tls-values.yaml')]);
  const rendered = only(objects, 'Certificate');
  t.same(
    [rendered.spec.secretName, rendered.spec.dnsNames, rendered.spec.usages, rendered.spec.issuerRef],
    [serving.spec.secretName, serving.spec.dnsNames, serving.spec.usages, serving.spec.issuerRef],
    'the chart\'s Certificate is the example\'s',
  );
  t.same(values.tls.certificate.issuerRef, serving.spec.issuerRef, 'the chart defaults to the example\'s issuer');
  t.ok(serving.spec.usages.includes('server auth'));
  const caIssuer = only(certs, serving.spec.issuerRef.kind, serving.spec.issuerRef.name);
  const caCert = only(certs, 'Certificate', 'iacdash-ca');
  t.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName, 'the serving certificate comes from the CA issuer');
  t.equal(caCert.metadata.namespace, 'cert-manager', 'a ClusterIssuer reads its CA Secret from cert-manager\'s namespace');
  t.equal(caCert.spec.isCA, true);
  const client = only(certs, 'Certificate', 'iacdash-client');
  t.same([client.spec.issuerRef, client.spec.usages.includes('client auth')], [serving.spec.issuerRef, true], 'the client certificate comes from the same CA, so ca.crt verifies it');
  const grpcFrom = parse(readFileSync(join(CHART, 'ci', 'tls-values.yaml'), 'utf8')).networkPolicy.grpcFrom;
  t.equal(grpcFrom[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], client.metadata.namespace, 'the NetworkPolicy admits the namespace the client certificate is for');

  // The Envoy example verifies the name the serving certificate carries.
  const example = parse(readFileSync(join(DEPLOY, 'envoy', 'ext-authz-tls.yaml'), 'utf8'));
  const cluster = example.static_resources.clusters.find((c: any) => c.name === 'iacdash');
  const fqdn = `${only(shared, 'Service').metadata.name}.${NAMESPACE}.svc.cluster.local`;
  t.equal(cluster.transport_socket.typed_config.sni, fqdn);
  t.ok(serving.spec.dnsNames.includes(cluster.transport_socket.typed_config.sni), 'the SNI is on the certificate');
  t.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, GRPC);

  // The rendered config, run for real with a Secret-shaped folder at the mount: mTLS Check answered.
  const config = configOf(objects);
  const mount = iacdashContainer(objects).volumeMounts.find((m: any) => m.name === 'iacdash-tls').mountPath;
  const ca = makeCa();
  const secret = secretDir(ca, ca.issue('iacdash', 'server', [fqdn]));
  const tls = Object.fromEntries(Object.entries(config.server.tls).map(([k, v]) => [k, typeof v === 'string' ? v.replace(`${mount}/`, `${secret}/`) : v]));
  t.same(Object.keys(tls).sort(), ['cert_file', 'client_ca_file', 'key_file', 'poll_interval_ms']);
  delete config.server;
  config.bundle.path = bundle;
  const running = await startSidecar(stringify(config), { server: { tls } });
  t.teardown(() => running.stop());
  t.match(running.logs(), /"grpc_tls":"mtls"/);
  const envoy = ca.issue('envoy', 'client');
  const answered = await tlsCheck(running.grpcPort, grpc.credentials.createSsl(readFileSync(ca.cert), readFileSync(envoy.key), readFileSync(envoy.cert)));
  t.equal(answered.error, null, 'a client with a certificate from the CA is answered');
  const refused = await tlsCheck(running.grpcPort, grpc.credentials.createSsl(readFileSync(ca.cert)));
  t.equal(refused.error?.code, grpc.status.UNAVAILABLE, 'no client certificate: refused');
});

/** One Check over TLS to 127.0.0.1:port, naming localhost (on the test certificates). */
async function tlsCheck(port: number, credentials: grpc.ChannelCredentials): Promise<CheckResult> {
  const Ctor = grpc.makeClientConstructor(
    envoyPackageDefinition()['envoy.service.auth.v3.Authorization'] as unknown as grpc.ServiceDefinition,
    'Authorization',
  );
  const client = new Ctor(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' }) as grpc.Client & Record<string, any>;
  try {
    return await check(client, { attributes: { request: { http: { method: 'GET', path: '/', headers: {} } } } });
  } finally {
    client.close();
  }
}

t.test('the README walk-through names files that exist and chart values that exist', async (t) => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Deploy on Istio\n'), readme.indexOf('\n## ', readme.indexOf('## Deploy on Istio\n') + 1));
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  // deploy/<folder>/... paths; `deploy/httpbin` and the like are kubectl's resource names.
  const paths = [...section.matchAll(/\b(deploy\/(?:helm|istio|envoy|cert-manager|observability|kustomize|flux|Dockerfile)[\w./-]*[\w/])/g)].map((m) => m[1]!);
  t.ok(paths.length >= 10, 'the section points at deploy/');
  for (const path of new Set(paths)) t.ok(existsSync(join(REPO, path)), `${path} exists`);
  const keys = [...section.matchAll(/--set(?:-file)? '?([\w.]+)=/g)].map((m) => m[1]!);
  t.ok(keys.includes('bundle.file') && keys.includes('serviceMonitor.enabled'));
  for (const key of keys) {
    t.not(key.split('.').reduce<any>((v, k) => v?.[k], values), undefined, `--set ${key}: a chart value`);
  }
  for (const step of ['helm install iacdash deploy/helm/iacdash', 'kubectl apply -f deploy/istio/authorization-policy.yaml', '401 Unauthorized', 'kubectl apply -k deploy/observability']) {
    t.ok(section.includes(step), `the walk-through has: ${step}`);
  }
});

t.test('the GitOps examples point at paths that exist; the Dockerfile runs the same command', async (t) => {
  const release = only(loadManifests(join(DEPLOY, 'flux', 'helmrelease.yaml')), 'HelmRelease');
  t.ok(existsSync(join(REPO, release.spec.chart.spec.chart, 'Chart.yaml')), 'HelmRelease chart path');
  t.equal(release.metadata.namespace, NAMESPACE);
  const kustomization = only(loadManifests(join(DEPLOY, 'flux', 'kustomization.yaml')), 'Kustomization');
  t.ok(existsSync(join(REPO, kustomization.spec.path, 'kustomization.yaml')), 'Flux Kustomization path');

  const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  t.match(dockerfile, /^CMD \["serve", "--config", "\/etc\/iacdash\/iacdash.yaml"\]$/m);
  t.match(dockerfile, new RegExp(`^EXPOSE ${GRPC} ${HTTP}$`, 'm'));
  t.match(dockerfile, /^USER 1000$/m);
  t.equal(iacdashContainer(shared).securityContext.runAsUser, 1000, 'the chart runs as the image user');
});

t.test('iacdash answers the probes the chart declares, with the config and Lua scripts the chart renders', async (t) => {
  // ci/shared-lua-values.yaml configures a script: /ready is 200 only once it compiled.
  const objects = helmTemplate(['--set-file', `bundle.file=${bundle}`, '-f', join(CHART, 'ci', 'shared-lua-values.yaml')]);
  const config = configOf(objects);
  t.ok(config.extproc.scripts.length > 0, 'the render configures Lua scripts');
  delete config.server; // startSidecar binds ephemeral ports instead.
  config.bundle.path = bundle;
  config.log.level = 'info'; // startSidecar reads the ports from the info-level "listening" line.
  // The scripts as the Lua ConfigMap volume would hold them.
  const luaDir = tempDir();
  for (const [name, source] of Object.entries(only(objects, 'ConfigMap', 'iacdash-lua').data as Record<string, string>)) {
    writeFileSync(join(luaDir, name), source);
  }
  for (const script of config.extproc.scripts) script.file = join(luaDir, script.file.split('/').pop());
  const running = await startSidecar(stringify(config));
  t.teardown(() => running.stop());
  const container = iacdashContainer(objects);
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    const res = await fetch(`http://127.0.0.1:${running.httpPort}${probe.httpGet.path}`);
    t.equal(res.status, 200, `${probe.httpGet.path}: ${running.logs()}`);
  }
  t.equal((await fetch(`http://127.0.0.1:${running.httpPort}/no-such-probe`)).status, 404, 'an unknown path is not a probe');
});

t.test('every Envoy that runs iacdash ext_proc sets the runtime values the e2e tests run with', async (t) => {
  // Without ext_proc_graceful_grpc_close, requests fail under load: test/e2e/extproc-resets.test.ts.
  const wanted = Object.entries(EXT_PROC_RUNTIME);
  t.ok(wanted.length > 0);
  t.ok(istio.some((o) => o.kind === 'EnvoyFilter' && JSON.stringify(o).includes('envoy.filters.http.ext_proc')), 'the mesh runs ext_proc');
  // ProxyConfig.runtimeValues is map<string, string>; Envoy's runtime reads "true" as true.
  const runtimeValues = only(istio, 'IstioOperator').spec.meshConfig.defaultConfig.runtimeValues;
  for (const [key, value] of wanted) t.equal(runtimeValues[key], String(value), `mesh-config.yaml: defaultConfig.runtimeValues sets ${key}`);

  const examples = yamlFiles(join(DEPLOY, 'envoy')).filter((f) => readFileSync(f, 'utf8').includes('envoy.filters.http.ext_proc'));
  t.ok(examples.length > 0, 'deploy/envoy has an ext_proc example');
  for (const file of examples) {
    const layers: any[] = parse(readFileSync(file, 'utf8')).layered_runtime?.layers ?? [];
    const staticLayer = Object.assign({}, ...layers.map((l) => l.static_layer ?? {}));
    for (const [key, value] of wanted) t.equal(staticLayer[key], value, `${file}: static runtime layer sets ${key}`);
  }
});

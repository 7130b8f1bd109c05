// The Helm chart: `helm lint --strict` and `helm template` of both modes, each
// rendered object validated, the rendered iacdash.yaml and bundle loaded by
// iacdash's own production loader, and the values it refuses.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { buildBundle, tempDir } from '../helpers/bundles.js';
import { makeCa, secretDir } from '../helpers/tls.js';
import { CHART, checkConfig, helmTemplate, only, runTool, type K8sObject } from './harness.js';

const SHARED = join(CHART, 'ci', 'shared-lua-values.yaml');
const SIDECAR = join(CHART, 'ci', 'sidecar-values.yaml');
const TLS = join(CHART, 'ci', 'tls-values.yaml');
const bundle = buildBundle('basic', join(tempDir(), 'bundle.tar.gz'));
const withBundle = ['--set-file', `bundle.file=${bundle}`];

/** Writes the rendered iacdash.yaml and the bundle bytes from the rendered ConfigMaps; returns their paths. */
function extract(objects: K8sObject[]): { config: string; bundle: string } {
  const dir = tempDir();
  const config = join(dir, 'iacdash.yaml');
  writeFileSync(config, only(objects, 'ConfigMap', 'iacdash-config').data['iacdash.yaml']);
  const out = join(dir, 'bundle.tar.gz');
  writeFileSync(out, Buffer.from(only(objects, 'ConfigMap', 'iacdash-bundle').binaryData['bundle.tar.gz'], 'base64'));
  return { config, bundle: out };
}

t.test('helm lint --strict passes for every ci values file', async (t) => {
  for (const values of [[], ['-f', SHARED], ['-f', SIDECAR], ['-f', TLS]]) {
    const r = runTool('helm', ['lint', '--strict', CHART, ...withBundle, ...values]);
    t.equal(r.code, 0, `helm lint ${values.join(' ')}: ${r.stdout}${r.stderr}`);
    t.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

t.test('shared mode: Deployment, Service, PDB, NetworkPolicy, ServiceMonitor; config and bundle load in iacdash', async (t) => {
  const objects = helmTemplate([...withBundle, '-f', SHARED]);
  t.same(
    objects.map((o) => o.kind).sort(),
    ['ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceMonitor'],
  );
  const files = extract(objects);
  t.same(readFileSync(files.bundle), readFileSync(bundle), 'the bundle survives --set-file and binaryData byte for byte');
  const r = checkConfig(files.config, files.bundle);
  t.equal(r.code, 0, r.output);
  t.match(r.output, /bundle .*: ok \(entrypoint envoy\/authz\/allow/);

  // The Lua ConfigMap holds each script the config names, at the path the volume mounts.
  const config = parse(readFileSync(files.config, 'utf8'));
  const deployment = only(objects, 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const luaMount = container.volumeMounts.find((m: any) => m.name === 'iacdash-lua').mountPath;
  const lua = only(objects, 'ConfigMap', 'iacdash-lua');
  for (const script of config.extproc.scripts) {
    t.equal(script.file, `${luaMount}/${script.file.split('/').pop()}`, `${script.name} lives under the Lua mount`);
    t.ok(lua.data[script.file.split('/').pop()], `${script.name} is in the Lua ConfigMap`);
  }
  t.equal(config.bundle.path, `${container.volumeMounts.find((m: any) => m.name === 'iacdash-bundle').mountPath}/bundle.tar.gz`);
  t.same(container.args, ['serve', '--config', '/etc/iacdash/iacdash.yaml']);
});

t.test('sidecar mode: iacdash beside the workload, loopback gRPC, local provider', async (t) => {
  const objects = helmTemplate([...withBundle, '-f', SIDECAR]);
  t.same(objects.map((o) => o.kind).sort(), ['AuthorizationPolicy', 'ConfigMap', 'ConfigMap', 'Deployment', 'ServiceEntry']);
  const pod = only(objects, 'Deployment', 'httpbin').spec.template.spec;
  t.same(pod.containers.map((c: any) => c.name), ['httpbin', 'iacdash']);
  const files = extract(objects);
  const r = checkConfig(files.config, files.bundle);
  t.equal(r.code, 0, r.output);
  t.equal(parse(readFileSync(files.config, 'utf8')).server.addr, '127.0.0.1:9191', 'only the pod reaches gRPC');
  const policy = only(objects, 'AuthorizationPolicy');
  t.equal(policy.spec.action, 'CUSTOM');
  t.equal(policy.spec.provider.name, 'iacdash-local');
  t.same(policy.spec.selector.matchLabels, { app: 'httpbin' });
});

t.test('tls: the cert-manager Secret mounted as a directory, server.tls pointing into it, the config loads', async (t) => {
  const objects = helmTemplate([...withBundle, '-f', TLS]);
  t.same(
    objects.map((o) => o.kind).sort(),
    ['Certificate', 'ConfigMap', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service'],
  );
  const pod = only(objects, 'Deployment').spec.template.spec;
  const mount = pod.containers[0].volumeMounts.find((m: any) => m.name === 'iacdash-tls');
  t.equal(mount.subPath, undefined, 'no subPath: the kubelet\'s renewals reach the files');
  const volume = pod.volumes.find((v: any) => v.name === 'iacdash-tls');
  t.equal(volume.secret.secretName, only(objects, 'Certificate').spec.secretName, 'the chart\'s Certificate writes the mounted Secret');

  const files = extract(objects);
  const tls = parse(readFileSync(files.config, 'utf8')).server.tls;
  // cert-manager's Secret keys, under the mount.
  t.same(tls, {
    cert_file: `${mount.mountPath}/tls.crt`,
    key_file: `${mount.mountPath}/tls.key`,
    client_ca_file: `${mount.mountPath}/ca.crt`,
    poll_interval_ms: 1000,
  });
  // check-config reads the files: give it a Secret-shaped folder where the pod has the mount.
  const ca = makeCa();
  const secret = secretDir(ca, ca.issue('iacdash', 'server'));
  writeFileSync(files.config, readFileSync(files.config, 'utf8').replaceAll(`${mount.mountPath}/`, `${secret}/`));
  const r = checkConfig(files.config, files.bundle);
  t.equal(r.code, 0, r.output);
  // Without the files, the production loader names the key.
  const missing = extract(objects);
  const refused = checkConfig(missing.config, missing.bundle);
  t.equal(refused.code, 1);
  t.match(refused.output, /server\.tls\.cert_file: cannot read \/etc\/iacdash\/tls\/tls\.crt: ENOENT/);

  t.equal(only(objects, 'Service').spec.ports[0].appProtocol, 'tls', 'Istio passes iacdash\'s own TLS through');
  t.same(only(objects, 'NetworkPolicy').spec.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'edge' } } }], 'grpcFrom admits the named callers');
  const plain = helmTemplate(withBundle);
  t.equal(plain.filter((o) => o.kind === 'Certificate').length, 0, 'off by default');
  t.equal(parse(only(plain, 'ConfigMap', 'iacdash-config').data['iacdash.yaml']).server.tls, undefined);
});

t.test('an existing bundle ConfigMap is mounted instead of rendered', async (t) => {
  const objects = helmTemplate(['--set', 'bundle.existingConfigMap=my-bundle']);
  t.equal(objects.filter((o) => o.metadata.name === 'iacdash-bundle').length, 0);
  const volumes = only(objects, 'Deployment').spec.template.spec.volumes;
  t.same(volumes.find((v: any) => v.name === 'iacdash-bundle').configMap, { name: 'my-bundle' });
});

t.test('values iacdash cannot serve fail the render with the reason', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /bundle: set bundle.file/],
    [[...withBundle, '--set', 'bundle.url=https://example.com/bundle.tar.gz'], /bundle.url: fetching the bundle from a URL is not supported by iacdash yet/],
    [[...withBundle, '--set', 'mode=daemonset'], /mode must be shared or sidecar, got "daemonset"/],
    [[...withBundle, '-f', SIDECAR, '--set', 'tls.enabled=true'], /tls.enabled: in sidecar mode gRPC listens on 127.0.0.1/],
    [[...withBundle, '--set', 'tls.certificate.create=true'], /tls.certificate.create: needs tls.enabled=true/],
  ];
  for (const [args, message] of cases) {
    t.throws(() => helmTemplate(args), { message }, args.join(' '));
  }
  // An unknown iacdash key passes helm but not iacdash: the test above would catch it in a ci values file.
  const files = extract(helmTemplate([...withBundle, '--set', 'config.authz.dryrun=true']));
  const r = checkConfig(files.config, files.bundle);
  t.equal(r.code, 1);
  t.match(r.output, /authz: Unrecognized key: "dryrun"/);
});

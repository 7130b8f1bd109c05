// `kustomize build` of every overlay renders objects that validate, with an
// iacdash.yaml that iacdash's own loader accepts, and the differences each
// environment is meant to have.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { buildBundle, tempDir } from '../helpers/bundles.js';
import { checkConfig, kustomizeBuild, only, type K8sObject } from './harness.js';

const OVERLAYS = ['dev', 'staging', 'production'] as const;

function renderedConfig(objects: K8sObject[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('iacdash-config-'));
  if (!cm) throw new Error('no generated iacdash-config ConfigMap');
  return cm.data['iacdash.yaml'] as string;
}

// The bundle ConfigMap is created outside kustomize; check-config loads a real one in its place.
const bundle = buildBundle('basic', join(tempDir(), 'bundle.tar.gz'));
const builds = Object.fromEntries(OVERLAYS.map((o) => [o, kustomizeBuild(o)])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

t.test('each overlay builds, validates and mounts a config iacdash accepts', async (t) => {
  for (const overlay of OVERLAYS) {
    const objects = builds[overlay];
    const deployment = only(objects, 'Deployment', 'iacdash');
    only(objects, 'Service', 'iacdash');
    only(objects, 'NetworkPolicy', 'iacdash');
    // The Deployment mounts the generated (hash-suffixed) ConfigMap, not the base name.
    const cmName = objects.find((o) => o.kind === 'ConfigMap')!.metadata.name;
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'iacdash-config');
    t.equal(volume.configMap.name, cmName, `${overlay}: the config volume follows the generated name`);

    const file = join(tempDir(), 'iacdash.yaml');
    writeFileSync(file, renderedConfig(objects));
    const r = checkConfig(file, bundle);
    t.equal(r.code, 0, `${overlay}: check-config: ${r.output}`);
    const bundleMount = deployment.spec.template.spec.containers[0].volumeMounts.find((m: any) => m.name === 'iacdash-bundle');
    t.equal(parse(renderedConfig(objects)).bundle.path, `${bundleMount.mountPath}/bundle.tar.gz`, `${overlay}: bundle.path is in the bundle volume`);
  }
});

t.test('the environments differ as intended', async (t) => {
  const replicas = (o: K8sObject[]): number => only(o, 'Deployment', 'iacdash').spec.replicas;
  t.equal(replicas(builds.dev), 1);
  t.equal(replicas(builds.staging), 2);
  t.equal(replicas(builds.production), 3);
  t.equal(builds.dev.filter((o) => o.kind === 'PodDisruptionBudget').length, 0, 'dev: no PDB for a single replica');
  t.equal(only(builds.staging, 'PodDisruptionBudget').spec.minAvailable, 1);
  t.equal(only(builds.production, 'PodDisruptionBudget').spec.minAvailable, 2);
  t.equal(parse(renderedConfig(builds.dev)).authz.dry_run, true, 'dev: dry-run');
  t.notOk(parse(renderedConfig(builds.production)).authz.dry_run, 'production: enforcing');
  t.ok(only(builds.production, 'Deployment').spec.template.spec.topologySpreadConstraints, 'production: spread over zones');
  t.same(
    OVERLAYS.map((o) => only(builds[o], 'Deployment').metadata.namespace),
    ['iacdash-dev', 'iacdash-staging', 'iacdash'],
  );
});

/**
 * Shared by the deploy tests: parse manifests, validate each against its
 * kind's schema (kubernetes-models), and run the pinned helm and kustomize.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as certManagerV1 from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as fluxHelmV2 from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import * as fluxKustomizeV1 from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import * as fluxSourceV1 from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import * as gatewayV1 from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import * as istioExtensionsV1alpha1 from '@kubernetes-models/istio/extensions.istio.io/v1alpha1';
import * as istioInstallV1alpha1 from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import * as istioNetworkingV1 from '@kubernetes-models/istio/networking.istio.io/v1';
import * as istioNetworkingV1alpha3 from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import * as istioSecurityV1 from '@kubernetes-models/istio/security.istio.io/v1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { toolPath } from '../../src/tools/locate.js';
import { REPO } from '../helpers/bundles.js';

export const DEPLOY = join(REPO, 'deploy');
export const CHART = join(DEPLOY, 'helm', 'iacdash');

/** A Kubernetes object as parsed from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: any;
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: any): { validate(): void };
}

// Every kind the manifests may use, keyed "apiVersion/kind"; a kind missing here fails validation.
const MODELS = new Map<string, ModelClass>();
for (const group of [
  coreV1, appsV1, policyV1, networkingV1,
  istioNetworkingV1alpha3, istioNetworkingV1, istioSecurityV1, istioInstallV1alpha1, istioExtensionsV1alpha1,
  gatewayV1, fluxHelmV2, fluxSourceV1, fluxKustomizeV1, certManagerV1, monitoringV1,
]) {
  for (const value of Object.values(group) as unknown[]) {
    const model = value as Partial<ModelClass>;
    if (typeof value === 'function' && typeof model.apiVersion === 'string' && typeof model.kind === 'string') {
      MODELS.set(`${model.apiVersion}/${model.kind}`, value as ModelClass);
    }
  }
}

/**
 * Validates one object against its kind's OpenAPI schema (types, enums,
 * required fields). Throws naming the object and the failing path.
 * kubernetes-models does not reject unknown fields (Kubernetes' own schemas
 * allow them), so a misspelt optional key passes here.
 */
export function validateObject(obj: K8sObject, source: string): void {
  const id = `${source}: ${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw new Error(`${id}: not a Kubernetes object`);
  if (!obj.metadata?.name) throw new Error(`${id}: metadata.name is required`);
  const Model = MODELS.get(`${obj.apiVersion}/${obj.kind}`);
  if (!Model) throw new Error(`${id}: no schema for ${obj.apiVersion} ${obj.kind}`);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${id}: ${(err as Error).message}`);
  }
}

/** Every document of a multi-document YAML text; parse errors throw with `source`. */
export function parseManifests(text: string, source: string): K8sObject[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const objects: K8sObject[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

/** Parses a manifest file and validates each object in it. */
export function loadManifests(file: string): K8sObject[] {
  const objects = parseManifests(readFileSync(file, 'utf8'), file);
  for (const obj of objects) validateObject(obj, file);
  return objects;
}

/** The `.yaml` files directly in `dir`, sorted. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
}

/** Runs a pinned tool; returns its exit code and output. */
export function runTool(tool: 'helm' | 'kustomize', args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(toolPath(tool), args, { encoding: 'utf8', cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template iacdash deploy/helm/iacdash -n iacdash ARGS`, parsed and validated; throws on a failed render. */
export function helmTemplate(args: string[]): K8sObject[] {
  const r = runTool('helm', ['template', 'iacdash', CHART, '--namespace', 'iacdash', ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${r.stderr}`);
  const objects = parseManifests(r.stdout, 'helm template');
  for (const obj of objects) validateObject(obj, `helm template ${args.join(' ')}`);
  return objects;
}

/** `kustomize build deploy/kustomize/overlays/NAME`, parsed and validated. */
export function kustomizeBuild(overlay: string): K8sObject[] {
  const dir = join(DEPLOY, 'kustomize', 'overlays', overlay);
  const r = runTool('kustomize', ['build', dir]);
  if (r.code !== 0) throw new Error(`kustomize build ${overlay} failed:\n${r.stderr}`);
  const objects = parseManifests(r.stdout, `kustomize build ${overlay}`);
  for (const obj of objects) validateObject(obj, `kustomize build ${overlay}`);
  return objects;
}

/** The one object of `kind` (and `name`, when given); throws when there is not exactly one. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** `node bin/iacdash.js check-config --config FILE [--bundle B]`: the production loader, offline. */
export function checkConfig(file: string, bundle?: string): { code: number | null; output: string } {
  const args = [join(REPO, 'bin', 'iacdash.js'), 'check-config', '--config', file, ...(bundle ? ['--bundle', bundle] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: REPO });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * The Envoy configuration the Istio manifests put into sidecars and gateways,
 * as standalone fragments: HTTP filters from EnvoyFilter patches, and the
 * ext_authz filter istiod generates from a meshConfig extension provider.
 */
import { cluster, listener, routerFilter, bootstrap, wasmFilter, TYPE_URL, type Bootstrap, type HttpFilter } from '../e2e/harness/bootstrap.js';
import type { K8sObject } from './harness.js';

/** A filter with where it came from. */
export interface Fragment {
  source: string;
  filter: HttpFilter;
}

/** Every HTTP_FILTER patch value in the EnvoyFilters; any other patch kind throws, so a new one cannot go unchecked. */
export function envoyFilterFragments(objects: K8sObject[]): Fragment[] {
  const out: Fragment[] = [];
  for (const ef of objects.filter((o) => o.kind === 'EnvoyFilter')) {
    (ef.spec.configPatches as any[]).forEach((patch, i) => {
      const source = `EnvoyFilter ${ef.metadata.namespace}/${ef.metadata.name} configPatches[${i}]`;
      if (patch.applyTo !== 'HTTP_FILTER' || !patch.patch?.value?.typed_config) {
        throw new Error(`${source}: no validation for applyTo ${patch.applyTo}; add it to test/deploy/envoy-fragments.ts`);
      }
      out.push({ source, filter: patch.patch.value as HttpFilter });
    });
  }
  return out;
}

/**
 * The ext_authz filter istiod builds for `envoyExtAuthzGrpc` (pilot's
 * extensionproviders code): gRPC v3 to outbound|PORT||SERVICE, failOpen as
 * failure_mode_allow, includeRequestBodyInCheck as with_request_body.
 */
export function extAuthzFragments(objects: K8sObject[]): Fragment[] {
  const out: Fragment[] = [];
  for (const op of objects.filter((o) => o.kind === 'IstioOperator')) {
    for (const provider of op.spec.meshConfig?.extensionProviders ?? []) {
      const grpc = provider.envoyExtAuthzGrpc;
      if (!grpc) continue;
      const config: Record<string, unknown> = {
        '@type': TYPE_URL.extAuthz,
        transport_api_version: 'V3',
        grpc_service: { envoy_grpc: { cluster_name: `outbound|${grpc.port}||${grpc.service}` }, timeout: grpc.timeout ?? '600s' },
        failure_mode_allow: grpc.failOpen ?? false,
      };
      const body = grpc.includeRequestBodyInCheck;
      if (body) {
        config['with_request_body'] = {
          max_request_bytes: body.maxRequestBytes,
          allow_partial_message: body.allowPartialMessage ?? false,
          pack_as_bytes: body.packAsBytes ?? false,
        };
      }
      out.push({ source: `IstioOperator extensionProviders ${provider.name}`, filter: { name: 'envoy.filters.http.ext_authz', typed_config: config as HttpFilter['typed_config'] } });
    }
  }
  return out;
}

/**
 * The wasm filter istiod builds for a WasmPlugin: `pluginName` as root_id,
 * `pluginConfig` as JSON in a StringValue, `failStrategy` as the failure
 * policy. Istio fetches `url` into the sidecar; here `modulePath` gives the
 * module built from wasm-filters/ for that plugin.
 */
export function wasmPluginFragment(plugin: K8sObject, modulePath: string): Fragment {
  const spec = plugin.spec;
  return {
    source: `WasmPlugin ${plugin.metadata.namespace}/${plugin.metadata.name}`,
    filter: wasmFilter({
      filename: modulePath,
      rootId: spec.pluginName ?? plugin.metadata.name,
      name: `${plugin.metadata.namespace}.${plugin.metadata.name}`,
      configuration: JSON.stringify(spec.pluginConfig ?? {}),
      failurePolicy: spec.failStrategy === 'FAIL_OPEN' ? 'FAIL_OPEN' : 'FAIL_CLOSED',
    }),
  };
}

/** The gRPC clusters a filter calls through `envoy_grpc`. */
export function grpcClusters(filter: HttpFilter): string[] {
  const name = (filter.typed_config as any).grpc_service?.envoy_grpc?.cluster_name;
  return typeof name === 'string' ? [name] : [];
}

/**
 * One bootstrap holding every fragment, each in its own listener before the
 * router as the patch places it, and an HTTP/2 cluster for each cluster a
 * fragment names (istiod builds those from the Service), so one
 * `envoy --mode validate` run checks them all.
 */
export function bootstrapFor(fragments: Fragment[]): Bootstrap {
  const clusters = new Set<string>();
  const listeners = fragments.map((f, i) => {
    for (const c of grpcClusters(f.filter)) clusters.add(c);
    return listener(10_000 + i, [f.filter, routerFilter()], 'backend', { name: `fragment_${i}` });
  });
  return bootstrap({
    listeners,
    clusters: [cluster('backend', 8080), ...[...clusters].map((name) => cluster(name, 9191, { http2: true }))],
  });
}

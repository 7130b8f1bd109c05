/**
 * Envoy HTTP filters for scenarios C and D, as plain bootstrap objects:
 * the same fields test/e2e/harness/bootstrap.ts builds (and checks against
 * the real Envoy), trimmed to what the bench uses.
 */

/**
 * `envoy.filters.http.ext_proc` to the gRPC `cluster`. Only the request
 * phases the script needs are sent: request headers, and the request body
 * when `requestBody` is `'BUFFERED'`; response headers are skipped.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_proc/v3/ext_proc.proto
 */
export function extProcFilter(cluster, { requestBody = 'NONE', messageTimeout = '5s' } = {}) {
  return {
    name: 'envoy.filters.http.ext_proc',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: { envoy_grpc: { cluster_name: cluster } },
      failure_mode_allow: false,
      // Above deploy/'s 0.3 s on purpose: at saturation 50 connections queue ~50 × the per-request
      // cost, and a timeout there would measure the queue, not the sidecar's capacity.
      message_timeout: messageTimeout,
      processing_mode: {
        request_header_mode: 'SEND',
        response_header_mode: 'SKIP',
        request_body_mode: requestBody,
        response_body_mode: 'NONE',
      },
    },
  };
}

/**
 * `envoy.filters.http.lua` with one inline script; `name` tells two Lua
 * filters in one chain apart.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/lua_filter
 */
export function luaFilter(source, name = 'envoy.filters.http.lua') {
  return {
    name,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua',
      default_source_code: { inline_string: source },
    },
  };
}

/**
 * `envoy.filters.http.wasm` running a proxy-wasm module under V8, its
 * configuration passed as JSON text (what Istio's `pluginConfig` becomes).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/wasm/v3/wasm.proto
 */
export function wasmFilter(filename, rootId, configuration, { failurePolicy = 'FAIL_CLOSED' } = {}) {
  return {
    name: `envoy.filters.http.wasm.${rootId}`,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
      config: {
        name: rootId,
        root_id: rootId,
        vm_config: { vm_id: rootId, runtime: 'envoy.wasm.runtime.v8', code: { local: { filename } } },
        configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: JSON.stringify(configuration) },
        failure_policy: failurePolicy,
      },
    },
  };
}

/** A Lua table constructor for a JSON value (control characters as three-digit decimal escapes). */
export function luaLiteral(value) {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\${String(c.charCodeAt(0)).padStart(3, '0')}`)}"`;
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(value).map(([k, v]) => `[${luaLiteral(k)}] = ${luaLiteral(v)}`).join(', ')}}`;
}

// Builders for Envoy v3 bootstrap config as plain objects (proto-JSON field
// names, as in Envoy's YAML). Every builder returns a fresh object, so a test
// may mutate the result to reach a field no builder exposes.
// Field names follow the v3 protos (node_modules/@grpc/grpc-js-xds/deps/envoy-api)
// and are checked against the real Envoy by test/e2e/envoy-smoke.test.ts
// (`envoy --mode validate`).

/** v3 type URLs used by the builders. */
export const TYPE_URL = {
  httpConnectionManager:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  extAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  extProc: 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
  wasm: 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
  httpProtocolOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  stringValue: 'type.googleapis.com/google.protobuf.StringValue',
  lua: 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua',
  luaPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute',
  downstreamConnections:
    'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
} as const;

/** A `google.protobuf.Any` in proto-JSON form. */
export interface TypedConfig {
  '@type': string;
  [field: string]: unknown;
}

/** An entry of the HTTP connection manager's `http_filters`. */
export interface HttpFilter {
  name: string;
  typed_config: TypedConfig;
}

/** `config.core.v3.Address` with a socket address. */
export interface SocketAddress {
  socket_address: { address: string; port_value: number };
}

/** `config.listener.v3.Listener` (only the fields the builders set are typed). */
export interface Listener {
  name: string;
  address: SocketAddress;
  filter_chains: Array<{ filters: Array<{ name: string; typed_config: TypedConfig }> }>;
  [field: string]: unknown;
}

/** `config.cluster.v3.Cluster` (only the fields the builders set are typed). */
export interface Cluster {
  name: string;
  [field: string]: unknown;
}

/** `config.bootstrap.v3.Bootstrap` as the builders produce it. */
export interface Bootstrap {
  admin: { address: SocketAddress };
  static_resources: { listeners: Listener[]; clusters: Cluster[] };
  [field: string]: unknown;
}

/** Proto-JSON `google.protobuf.Duration` from milliseconds, e.g. 250 → `"0.25s"`. */
export function duration(ms: number): string {
  return `${ms / 1000}s`;
}

function loopback(port: number): SocketAddress {
  return { socket_address: { address: '127.0.0.1', port_value: port } };
}

/** Options for {@link listener}. */
export interface ListenerOptions {
  /** Listener name; defaults to `listener_<port>`. Must be unique, so set it when using port 0. */
  name?: string;
  /** HCM `stat_prefix` (stats appear under `http.<prefix>.`); defaults to `ingress`. */
  statPrefix?: string;
  /** Route timeout; Envoy's default is 15 s. */
  routeTimeoutMs?: number;
  /** Extra HttpConnectionManager fields, merged over the defaults. */
  hcm?: Record<string, unknown>;
  /** Routes in front of the catch-all one (same cluster), e.g. with per-route filter config or metadata. */
  routes?: { prefix: string; metadata?: Record<string, unknown>; perFilterConfig?: Record<string, unknown> }[];
}

/**
 * A listener on 127.0.0.1:`port` with one HTTP connection manager that runs
 * `httpFilters` (end with {@link routerFilter}) and routes every path to
 * `routeCluster`. Port 0 lets Envoy pick; read it from `EnvoyProcess.listenerPorts`.
 */
export function listener(
  port: number,
  httpFilters: HttpFilter[],
  routeCluster: string,
  options: ListenerOptions = {},
): Listener {
  const route: Record<string, unknown> = { cluster: routeCluster };
  if (options.routeTimeoutMs !== undefined) route['timeout'] = duration(options.routeTimeoutMs);
  return {
    name: options.name ?? `listener_${port}`,
    address: loopback(port),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TYPE_URL.httpConnectionManager,
              stat_prefix: options.statPrefix ?? 'ingress',
              route_config: {
                name: 'local_route',
                virtual_hosts: [
                  {
                    name: 'all',
                    domains: ['*'],
                    routes: [
                      ...(options.routes ?? []).map((r) => ({
                        match: { prefix: r.prefix },
                        route,
                        ...(r.metadata ? { metadata: { filter_metadata: r.metadata } } : {}),
                        ...(r.perFilterConfig ? { typed_per_filter_config: r.perFilterConfig } : {}),
                      })),
                      { match: { prefix: '/' }, route },
                    ],
                  },
                ],
              },
              http_filters: httpFilters,
              ...options.hcm,
            },
          },
        ],
      },
    ],
  };
}

/** Options for {@link cluster}. */
export interface ClusterOptions {
  /** Speak HTTP/2 to the upstream: required for gRPC services (ext_authz, ext_proc). */
  http2?: boolean;
  /** Defaults to 5 s. */
  connectTimeoutMs?: number;
}

/** A STATIC cluster with one endpoint, 127.0.0.1:`port`. */
export function cluster(name: string, port: number, options: ClusterOptions = {}): Cluster {
  const result: Cluster = {
    name,
    type: 'STATIC',
    connect_timeout: duration(options.connectTimeoutMs ?? 5000),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: loopback(port) } }] }],
    },
  };
  if (options.http2) {
    result['typed_extension_protocol_options'] = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE_URL.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return result;
}

/** `envoy.filters.http.router`; must be the last HTTP filter. */
export function routerFilter(): HttpFilter {
  return { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } };
}

/** Options for {@link extAuthzFilter}. */
export interface ExtAuthzOptions {
  /** An HTTP/2 cluster (see {@link cluster}) pointing at the gRPC Authorization service. */
  clusterName: string;
  /** Let requests through when the service fails or times out. Envoy's default: false. */
  failureModeAllow?: boolean;
  /** Send the request body in the CheckRequest. */
  withRequestBody?: { maxRequestBytes: number; allowPartialMessage: boolean; packAsBytes: boolean };
  /** gRPC deadline per Check; Envoy's default is 200 ms, which a loaded CI box can miss. */
  timeoutMs?: number;
  /** HTTP status sent to the client when the service fails; Envoy's default is 403. */
  statusOnError?: number;
}

/**
 * `envoy.filters.http.ext_authz` calling a gRPC v3 Authorization service via
 * `envoy_grpc`. https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_authz/v3/ext_authz.proto
 */
export function extAuthzFilter(options: ExtAuthzOptions): HttpFilter {
  const grpcService: Record<string, unknown> = {
    envoy_grpc: { cluster_name: options.clusterName },
  };
  if (options.timeoutMs !== undefined) grpcService['timeout'] = duration(options.timeoutMs);
  const config: TypedConfig = {
    '@type': TYPE_URL.extAuthz,
    grpc_service: grpcService,
    transport_api_version: 'V3',
    failure_mode_allow: options.failureModeAllow ?? false,
  };
  if (options.withRequestBody) {
    config['with_request_body'] = {
      max_request_bytes: options.withRequestBody.maxRequestBytes,
      allow_partial_message: options.withRequestBody.allowPartialMessage,
      pack_as_bytes: options.withRequestBody.packAsBytes,
    };
  }
  // type.v3.HttpStatus.code is an enum; proto-JSON accepts its number.
  if (options.statusOnError !== undefined) config['status_on_error'] = { code: options.statusOnError };
  return { name: 'envoy.filters.http.ext_authz', typed_config: config };
}

/** `ProcessingMode.HeaderSendMode`. */
export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
/** `ProcessingMode.BodySendMode`. */
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

/** Options for {@link extProcFilter}. */
export interface ExtProcOptions {
  /** An HTTP/2 cluster (see {@link cluster}) pointing at the gRPC ExternalProcessor service. */
  clusterName: string;
  failureModeAllow?: boolean;
  /** Per-message timeout; Envoy's default is 200 ms. */
  messageTimeoutMs?: number;
  /** Omitted phases keep Envoy's defaults (headers SEND, bodies NONE, trailers SKIP). */
  processingMode?: {
    requestHeaderMode?: HeaderSendMode;
    responseHeaderMode?: HeaderSendMode;
    requestBodyMode?: BodySendMode;
    responseBodyMode?: BodySendMode;
    requestTrailerMode?: HeaderSendMode;
    responseTrailerMode?: HeaderSendMode;
  };
  /** Let the processor change the processing mode per message. */
  allowModeOverride?: boolean;
}

/**
 * `envoy.filters.http.ext_proc` calling a gRPC ExternalProcessor via
 * `envoy_grpc`. https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/ext_proc/v3/ext_proc.proto
 */
export function extProcFilter(options: ExtProcOptions): HttpFilter {
  const config: TypedConfig = {
    '@type': TYPE_URL.extProc,
    grpc_service: { envoy_grpc: { cluster_name: options.clusterName } },
    failure_mode_allow: options.failureModeAllow ?? false,
  };
  if (options.messageTimeoutMs !== undefined) {
    config['message_timeout'] = duration(options.messageTimeoutMs);
  }
  if (options.allowModeOverride !== undefined) config['allow_mode_override'] = options.allowModeOverride;
  const mode = options.processingMode;
  if (mode) {
    const fields: Record<string, string | undefined> = {
      request_header_mode: mode.requestHeaderMode,
      response_header_mode: mode.responseHeaderMode,
      request_body_mode: mode.requestBodyMode,
      response_body_mode: mode.responseBodyMode,
      request_trailer_mode: mode.requestTrailerMode,
      response_trailer_mode: mode.responseTrailerMode,
    };
    config['processing_mode'] = Object.fromEntries(
      Object.entries(fields).filter(([, v]) => v !== undefined),
    );
  }
  return { name: 'envoy.filters.http.ext_proc', typed_config: config };
}

/**
 * `envoy.filters.http.lua` with named scripts; a route picks one with
 * {@link luaPerRoute}. The first script is the default for other routes.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/lua_filter
 */
export function luaFilter(scripts: Record<string, string>): HttpFilter {
  const entries = Object.entries(scripts);
  const sourceCodes = Object.fromEntries(entries.map(([name, code]) => [name, { inline_string: code }]));
  return {
    name: 'envoy.filters.http.lua',
    typed_config: { '@type': TYPE_URL.lua, default_source_code: { inline_string: entries[0]?.[1] ?? '' }, source_codes: sourceCodes },
  };
}

/** Per-route config choosing one of {@link luaFilter}'s named scripts. */
export function luaPerRoute(name: string): Record<string, unknown> {
  return { 'envoy.filters.http.lua': { '@type': TYPE_URL.luaPerRoute, name } };
}

/** Options for {@link wasmFilter}. */
export interface WasmFilterOptions {
  /** Absolute path of the `.wasm` module. */
  filename: string;
  /** Passed to the module's root context (`proxy_on_configure`); Istio's `pluginConfig` arrives as JSON text here. */
  configuration?: string;
  /** Defaults to the file's base name without extension. */
  rootId?: string;
  /** Plugin name, also the VM id; defaults to `rootId`. */
  name?: string;
  /** What requests get when the VM has failed (`failure_policy`); omitted keeps Envoy's default. */
  failurePolicy?: 'FAIL_CLOSED' | 'FAIL_OPEN' | 'FAIL_RELOAD';
}

/**
 * `envoy.filters.http.wasm` running a proxy-wasm module under V8
 * (`envoy.wasm.runtime.v8`). https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/wasm/v3/wasm.proto
 */
export function wasmFilter(options: WasmFilterOptions): HttpFilter {
  const base = options.filename.replace(/^.*\//, '').replace(/\.wasm$/, '');
  const rootId = options.rootId ?? base;
  const name = options.name ?? rootId;
  const config: Record<string, unknown> = {
    name,
    root_id: rootId,
    vm_config: {
      vm_id: name,
      runtime: 'envoy.wasm.runtime.v8',
      code: { local: { filename: options.filename } },
    },
  };
  if (options.failurePolicy !== undefined) config['failure_policy'] = options.failurePolicy;
  if (options.configuration !== undefined) {
    config['configuration'] = { '@type': TYPE_URL.stringValue, value: options.configuration };
  }
  return { name: 'envoy.filters.http.wasm', typed_config: { '@type': TYPE_URL.wasm, config } };
}

/** Options for {@link bootstrap}. */
export interface BootstrapOptions {
  /** Admin port on 127.0.0.1; 0 (the default) lets Envoy pick, and `startEnvoy` reads it back. */
  adminPort?: number;
  listeners: Listener[];
  clusters: Cluster[];
  /** Global cap on downstream connections; defaults to 10000. */
  maxDownstreamConnections?: number;
  /** Static runtime layer (`layered_runtime`); defaults to {@link EXT_PROC_RUNTIME}, as deployed. `{}` gives Envoy's defaults. */
  runtime?: Record<string, unknown>;
}

/**
 * Runtime values every ext_proc deployment of iacdash sets (deploy/README.md).
 * Without `ext_proc_graceful_grpc_close` Envoy ends each ext_proc stream with an
 * HTTP/2 RST_STREAM; past 1,000 resets on one connection Node's HTTP/2 (the
 * grpc-js server) sends GOAWAY and in-flight requests fail with 500
 * (test/e2e/extproc-resets.test.ts). With it Envoy half-closes and waits for
 * iacdash to end the stream. Opt-in since Envoy 1.34.
 */
export const EXT_PROC_RUNTIME: Readonly<Record<string, unknown>> = Object.freeze({
  'envoy.reloadable_features.ext_proc_graceful_grpc_close': true,
});

/**
 * A static bootstrap: admin on 127.0.0.1, the given listeners and clusters,
 * the runtime values iacdash's ext_proc needs ({@link EXT_PROC_RUNTIME}), and a
 * global downstream connection limit. Without that limit Envoy logs a warning
 * at every start; with it a clean run logs nothing at `warning`, so tests can
 * treat any warning as news.
 */
export function bootstrap(options: BootstrapOptions): Bootstrap {
  return {
    admin: { address: loopback(options.adminPort ?? 0) },
    static_resources: { listeners: options.listeners, clusters: options.clusters },
    layered_runtime: { layers: [{ name: 'static', static_layer: { ...(options.runtime ?? EXT_PROC_RUNTIME) } }] },
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': TYPE_URL.downstreamConnections,
            max_active_downstream_connections: options.maxDownstreamConnections ?? 10_000,
          },
        },
      ],
    },
  };
}

/**
 * proxy-wasm ABI 0.2.1 constants, numbered as the spec numbers them:
 * https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1#types
 */

/** `proxy_status_t`: what every host function returns. */
export const Status = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
/** A `proxy_status_t` value. */
export type StatusCode = (typeof Status)[keyof typeof Status];

/** `proxy_log_level_t` names, indexed by level. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;
/** A log level name. */
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** `proxy_map_type_t`. */
export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const MAX_MAP_TYPE = 7;

/** `proxy_buffer_type_t`. */
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const MAX_BUFFER_TYPE = 8;

/** `proxy_stream_type_t`. */
export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;

/** `proxy_metric_type_t`. */
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
/** A metric kind. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** `proxy_action_t` as Envoy reads it: 0 continues, anything else stops. */
export const Action = { Continue: 0, Pause: 1 } as const;

/** The export that marks a module as speaking this ABI. */
export const ABI_MARKER = 'proxy_abi_version_0_2_1';

const PROXY_IMPORTS = [
  'log', 'get_log_level', 'get_status', 'set_property', 'get_property', 'send_local_response',
  'get_shared_data', 'set_shared_data', 'register_shared_queue', 'resolve_shared_queue',
  'dequeue_shared_queue', 'enqueue_shared_queue', 'get_header_map_value', 'add_header_map_value',
  'replace_header_map_value', 'remove_header_map_value', 'get_header_map_pairs',
  'set_header_map_pairs', 'get_header_map_size', 'get_buffer_status', 'get_buffer_bytes',
  'set_buffer_bytes', 'http_call', 'grpc_call', 'grpc_stream', 'grpc_close', 'grpc_cancel',
  'grpc_send', 'set_tick_period_milliseconds', 'get_current_time_nanoseconds', 'define_metric',
  'increment_metric', 'record_metric', 'get_metric', 'set_effective_context', 'done',
  'call_foreign_function', 'continue_stream', 'close_stream',
];
const WASI_IMPORTS = [
  'fd_write', 'fd_read', 'fd_seek', 'fd_close', 'fd_fdstat_get', 'environ_get', 'environ_sizes_get',
  'args_get', 'args_sizes_get', 'clock_time_get', 'random_get', 'proc_exit',
];

/**
 * Every import Envoy (proxy-wasm-cpp-host) links for an ABI 0.2.1 module, as
 * `module.name`. Envoy refuses to start a module that imports anything else,
 * so the host refuses it too.
 */
export const ENVOY_IMPORTS: ReadonlySet<string> = new Set([
  'env.pthread_equal',
  ...PROXY_IMPORTS.map((n) => `env.proxy_${n}`),
  ...WASI_IMPORTS.map((n) => `wasi_snapshot_preview1.${n}`),
  ...WASI_IMPORTS.map((n) => `wasi_unstable.${n}`),
]);

// Constants of the proxy-wasm ABI 0.2.1, as numbered by the spec:
// https://github.com/proxy-wasm/spec/tree/main/abi-versions/v0.2.1#types

/** `proxy_log_level_t`. */
export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

/** `proxy_status_t`: what every host call returns. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

/**
 * `proxy_action_t`: what a stream callback returns. Envoy maps `Pause` from
 * the header callbacks to StopAllIterationAndWatermark and from the body
 * callbacks to StopIterationAndBuffer (the body keeps accumulating).
 */
export enum Action {
  Continue = 0,
  Pause = 1,
}

/** `proxy_map_type_t`. */
export enum MapType {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

/** `proxy_buffer_type_t`. */
export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  CallData = 8,
}

/** `proxy_stream_type_t`. */
export enum StreamType {
  Request = 0,
  Response = 1,
  Downstream = 2,
  Upstream = 3,
}

/** `proxy_metric_type_t`. */
export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** `grpc_status` argument of `proxy_send_local_response` meaning "not a gRPC reply". */
export const NO_GRPC_STATUS: i32 = -1;

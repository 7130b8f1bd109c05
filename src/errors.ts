/**
 * The one closed registry of iacdash error codes. A code is the decision-log
 * reason, the `reason` label of the error metrics and the log field, so it
 * never changes once shipped. gRPC codes follow grpc/status; `http` is the
 * status a denied request gets when the code denies.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

/** Shape of one registry entry. */
export interface ErrorSpec {
  /** Human sentence; details go after it at the point of use. */
  readonly message: string;
  readonly grpc: GrpcStatus;
  /** HTTP status for the client when this error denies a request. */
  readonly http: number;
}

export const ERRORS = {
  request_malformed: { message: 'the CheckRequest could not be decoded', grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  request_invalid_utf8: { message: 'the request carries a string that is not valid UTF-8', grpc: GrpcStatus.OK, http: 400 },
  request_parse_error: { message: 'the request path, query or body could not be parsed', grpc: GrpcStatus.OK, http: 400 },
  request_headers_too_large: { message: 'the request headers exceed limits.max_header_bytes', grpc: GrpcStatus.OK, http: 431 },
  request_body_too_large: { message: 'the request body exceeds limits.max_body_bytes', grpc: GrpcStatus.OK, http: 413 },
  bundle_not_loaded: { message: 'no policy bundle is loaded yet', grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  eval_error: { message: 'the policy failed to evaluate', grpc: GrpcStatus.UNKNOWN, http: 500 },
  undefined_decision: { message: 'the policy decision is undefined', grpc: GrpcStatus.UNKNOWN, http: 500 },
  result_invalid: { message: 'the policy decision breaks the OPA-Envoy result contract', grpc: GrpcStatus.UNKNOWN, http: 500 },
  bundle_load_error: { message: 'the policy bundle could not be loaded', grpc: GrpcStatus.FAILED_PRECONDITION, http: 500 },
  config_invalid: { message: 'the configuration is invalid', grpc: GrpcStatus.FAILED_PRECONDITION, http: 500 },
  script_load_error: { message: 'a Lua script could not be compiled', grpc: GrpcStatus.FAILED_PRECONDITION, http: 500 },
  extproc_protocol_error: { message: 'an ext_proc message arrived that the protocol does not allow here', grpc: GrpcStatus.OK, http: 500 },
  lua_syntax_error: { message: 'the Lua script does not compile', grpc: GrpcStatus.FAILED_PRECONDITION, http: 500 },
  lua_error: { message: 'the Lua script raised an error', grpc: GrpcStatus.OK, http: 500 },
  lua_budget_exceeded: { message: 'the Lua script ran past its instruction or time budget', grpc: GrpcStatus.OK, http: 500 },
  lua_memory_exceeded: { message: 'the Lua script built a string or body over its size limit', grpc: GrpcStatus.OK, http: 500 },
  lua_forbidden_call: { message: 'the Lua script called a function the sandbox removes', grpc: GrpcStatus.OK, http: 500 },
  lua_unsupported_api: { message: 'the Lua script called an Envoy Lua API that has no out-of-process equivalent', grpc: GrpcStatus.OK, http: 500 },
} as const satisfies Record<string, ErrorSpec>;

/** Every error code iacdash can report. */
export type ErrorCode = keyof typeof ERRORS;

/** All codes, for metrics pre-registration and the docs-sync test. */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** An error that carries a registry code and a detail for logs. */
export class IacdashError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${code}: ${ERRORS[code].message}: ${detail}` : `${code}: ${ERRORS[code].message}`, options);
    this.name = 'IacdashError';
  }
}

/** Narrowing helper that survives errors thrown across module copies. */
export function isIacdashError(err: unknown): err is IacdashError {
  return err instanceof IacdashError;
}

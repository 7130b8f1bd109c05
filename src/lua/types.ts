/**
 * The plain-data contract of the Lua runtime: what goes in (headers, bodies,
 * context) and what comes out (steps). No ext_proc or gRPC types here.
 */

/** Which Envoy entry point a phase runs: envoy_on_request or envoy_on_response. */
export type Phase = 'request' | 'response';

/** A header value as it arrives: raw bytes (ext_proc raw_value) or a string (encoded as UTF-8). */
export type HeaderValue = string | Uint8Array;

/** Ordered headers, lowercase names; a multi-value header is the same name repeated. */
export type HeaderList = ReadonlyArray<readonly [string, HeaderValue]>;

/** JSON-compatible value, as metadata is (protobuf Struct). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Dynamic metadata: namespace (filter name) to fields. */
export type DynamicMetadata = Record<string, Record<string, JsonValue>>;

/**
 * How a header map changed, relative to the headers the phase began with.
 * Exact for multi-value headers: for every name in `set`, drop all old values
 * and add `values` in order (ext_proc: OVERWRITE_IF_EXISTS_OR_ADD for the
 * first value, APPEND_IF_EXISTS_OR_ADD for the rest). Names in `remove` lost
 * all their values. Names in neither are untouched.
 */
export interface HeaderMutation {
  /** False when the script left the map exactly as it was (per name, values and their order). */
  changed: boolean;
  set: Array<{ name: string; values: Buffer[] }>;
  remove: string[];
  /** The whole map after the script, in Envoy's order (pseudo-headers first). */
  headers: Array<[string, Buffer]>;
}

/** Log levels of handle:logTrace … handle:logCritical (and print(), logged at info). */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'critical';

/** One handle:logX() or print() call. */
export interface LogEntry {
  level: LogLevel;
  message: string;
}

/** Error codes a phase can end with; each is an iacdash error-registry code. */
export type LuaErrorCode =
  | 'lua_error'
  | 'lua_budget_exceeded'
  | 'lua_memory_exceeded'
  | 'lua_forbidden_call'
  | 'lua_unsupported_api';

/** Every error code, for registries and docs. */
export const LUA_ERROR_CODES: readonly LuaErrorCode[] = [
  'lua_error',
  'lua_budget_exceeded',
  'lua_memory_exceeded',
  'lua_forbidden_call',
  'lua_unsupported_api',
];

/** What every step carries. */
export interface StepCommon {
  /** Log entries since the previous step of this phase. */
  logs: LogEntry[];
  /** Dynamic metadata keys set since the previous step (streamInfo():dynamicMetadata():set). Merge per key. */
  dynamicMetadata: DynamicMetadata;
  /** Lua instructions (plus string-allocation charge) used by this phase so far. */
  instructions: number;
}

/** Partial results a failed phase leaves behind (what Envoy's own filter would already have applied). */
export interface PartialResult {
  headers?: HeaderMutation;
  body?: Buffer;
  trailers?: HeaderMutation;
}

/** The outcome of starting or resuming a phase. */
export type PhaseStep =
  /** The script called handle:body(); call provideBody with the whole body of this direction. */
  | ({ kind: 'needs_body' } & StepCommon)
  /**
   * The script iterates handle:bodyChunks() and wants the next chunk; call provideBodyChunk.
   * `headers` is present the first time: the headers go on now (Envoy continues them).
   * `body` is a replaced buffered body that goes on now; `chunk` is the previous chunk as the
   * script left it (absent the first time).
   */
  | ({ kind: 'needs_body_chunk'; headers?: HeaderMutation; body?: Buffer; chunk?: Buffer } & StepCommon)
  /** The script called handle:trailers() before they arrived; call provideTrailers. Same `headers`/`body`/`chunk` rule. */
  | ({ kind: 'needs_trailers'; headers?: HeaderMutation; body?: Buffer; chunk?: Buffer } & StepCommon)
  /**
   * The phase finished. `headers` is absent if they were already released by an earlier step.
   * `body` is present only if the buffered body was replaced (setBytes); `chunk` is the last
   * streamed chunk as the script left it; `trailers` when trailers were given.
   */
  | ({
      kind: 'done';
      headers?: HeaderMutation;
      body?: Buffer;
      chunk?: Buffer;
      trailers?: HeaderMutation;
      /** The script defines no envoy_on_<phase>; nothing ran. */
      skipped?: boolean;
    } & StepCommon)
  /** handle:respond(): answer the client now. `headers` excludes :status; `body` is absent when the script passed nil. */
  | ({ kind: 'respond'; status: number; headers: Array<[string, Buffer]>; body?: Buffer } & StepCommon)
  /** The phase failed. `message` is the Lua message (file:line: text); details are for logs, not clients. */
  | ({
      kind: 'error';
      code: LuaErrorCode;
      message: string;
      traceback?: string;
      partial: PartialResult;
    } & StepCommon);

/** Limits applied to every phase invocation (and to the script's top-level code). */
export interface LuaLimits {
  /** VM instructions per invocation, counted in steps of `hookInterval`; string bytes are charged too (see stringByteCost). */
  maxInstructions: number;
  /** Wall-clock time spent running Lua per invocation (waiting for a body does not count). */
  maxMillis: number;
  /** Largest string a script may build, in bytes. Must be >= maxBodyBytes. */
  maxStringBytes: number;
  /** Largest body (provideBody, a chunk, or setBytes), in bytes. */
  maxBodyBytes: number;
  /** Instructions charged per byte of every new string (default 1/16). */
  stringByteCost: number;
  /** Instructions between two budget checks. */
  hookInterval: number;
}

/** Defaults, sized for header transforms and JSON bodies of up to about 1 MiB. */
export const DEFAULT_LUA_LIMITS: Readonly<LuaLimits> = Object.freeze({
  maxInstructions: 5_000_000,
  maxMillis: 150,
  maxStringBytes: 8 * 1024 * 1024,
  maxBodyBytes: 1024 * 1024,
  stringByteCost: 1 / 16,
  hookInterval: 1000,
});

/** Fills defaults and checks consistency; throws a RangeError naming the field. */
export function resolveLimits(partial: Partial<LuaLimits> = {}): LuaLimits {
  const l: LuaLimits = { ...DEFAULT_LUA_LIMITS, ...partial };
  for (const k of ['maxInstructions', 'maxMillis', 'maxStringBytes', 'maxBodyBytes', 'hookInterval'] as const) {
    if (!Number.isFinite(l[k]) || l[k] <= 0) throw new RangeError(`lua limits: ${k} must be a positive number, got ${l[k]}`);
  }
  if (!Number.isFinite(l.stringByteCost) || l.stringByteCost < 0) {
    throw new RangeError(`lua limits: stringByteCost must be >= 0, got ${l.stringByteCost}`);
  }
  if (l.maxStringBytes < l.maxBodyBytes) {
    throw new RangeError(`lua limits: maxStringBytes (${l.maxStringBytes}) must be >= maxBodyBytes (${l.maxBodyBytes})`);
  }
  l.hookInterval = Math.floor(l.hookInterval);
  return l;
}

/** TLS facts a script may ask for through connection():ssl() / streamInfo():downstreamSslConnection(). */
export interface SslInfo {
  peerCertificatePresented?: boolean;
  peerCertificateValidated?: boolean;
  sha256PeerCertificateDigest?: string;
  serialNumberPeerCertificate?: string;
  issuerPeerCertificate?: string;
  subjectPeerCertificate?: string;
  subjectLocalCertificate?: string;
  uriSanPeerCertificate?: string[];
  uriSanLocalCertificate?: string[];
  dnsSansPeerCertificate?: string[];
  dnsSansLocalCertificate?: string[];
  tlsVersion?: string;
  ciphersuiteString?: string;
  urlEncodedPemEncodedPeerCertificate?: string;
}

/** Per-request facts the script can read. Anything left undefined raises a named error when asked for. */
export interface StreamInfoFacts {
  /** "HTTP/1.0", "HTTP/1.1", "HTTP/2" or "HTTP/3". */
  protocol?: string;
  routeName?: string;
  virtualClusterName?: string;
  downstreamLocalAddress?: string;
  downstreamDirectLocalAddress?: string;
  downstreamRemoteAddress?: string;
  downstreamDirectRemoteAddress?: string;
  requestedServerName?: string;
}

/** Everything a stream needs besides headers and bodies. */
export interface StreamContext {
  /** handle:metadata(): the route's filter_metadata under the Lua filter's name. Default: empty. */
  routeMetadata?: Record<string, JsonValue>;
  /** handle:filterContext() (LuaPerRoute.filter_context). Default: empty. */
  filterContext?: Record<string, JsonValue>;
  /** Dynamic metadata visible to streamInfo():dynamicMetadata():get at the start. */
  dynamicMetadata?: DynamicMetadata;
  streamInfo?: StreamInfoFacts;
  /** false: plain connection (ssl() returns nil); an object: TLS facts; undefined: unknown (ssl() raises). */
  ssl?: false | SslInfo;
  /** Receives every log entry as it happens (also returned in steps). */
  onLog?: (entry: LogEntry & { phase: Phase }) => void;
  /** Milliseconds since the epoch (handle:timestamp); injectable for fixtures. Default Date.now. */
  now?: () => number;
}

/** Options of LuaStream.begin. */
export interface BeginOptions {
  /** True when the headers end the stream in this direction (no body, no trailers follow). */
  endOfStream: boolean;
  /** Dynamic metadata that arrived with this message (merged per key before the script runs). */
  dynamicMetadata?: DynamicMetadata;
}

/** A script that does not compile, or whose top-level code fails. */
export class LuaCompileError extends Error {
  constructor(
    readonly scriptName: string,
    /** Line of the error, when Lua reported one. */
    readonly line: number | undefined,
    /** The Lua message, e.g. "auth.lua:3: '=' expected near 'x'". */
    readonly luaMessage: string,
    readonly code: LuaErrorCode | 'lua_syntax_error' = 'lua_syntax_error',
  ) {
    super(luaMessage.startsWith(`${scriptName}:`) ? luaMessage : `${scriptName}${line !== undefined ? `:${line}` : ''}: ${luaMessage}`);
    this.name = 'LuaCompileError';
  }
}

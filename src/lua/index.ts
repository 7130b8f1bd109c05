/**
 * The Lua runtime: runs a script written for Envoy's `envoy.filters.http.lua`
 * against plain data (no gRPC, no ext_proc types). See API.md for every
 * method, the Envoy semantics followed, and the Lua 5.3 vs LuaJIT differences.
 *
 * Usage, per HTTP request:
 * ```ts
 * const script = LuaScript.compile(source, 'auth.lua', limits); // once; throws LuaCompileError
 * const stream = script.newStream({ routeMetadata, dynamicMetadata, streamInfo, onLog });
 * let step = stream.begin('request', headers, { endOfStream: false });
 * if (step.kind === 'needs_body') step = stream.provideBody(body);            // the whole body
 * // step.kind: 'done' (headers/body mutations), 'respond', 'error', or
 * // 'needs_body_chunk' / 'needs_trailers' (then provideBodyChunk / provideTrailers)
 * step = stream.begin('response', responseHeaders, { endOfStream: true });     // same state
 * ```
 *
 * Contract:
 * - `LuaScript.compile(source, name, limits)` parses once and runs the top-level
 *   code once to find `envoy_on_request` / `envoy_on_response` (`script.has`).
 * - The script's top level runs once more, at the first `begin` of the first
 *   stream, in globals that every later stream shares, as Envoy shares a
 *   worker's Lua state between requests: a global set by one request is seen
 *   by the next. A phase stopped by a sandbox violation (budget, memory,
 *   forbidden call) retires that state; the next stream gets a rebuilt one.
 *   `script.newStream(ctx, { isolated: true })` gives one stream private globals.
 * - A phase is a coroutine. `needs_body` means the script called
 *   `handle:body()`: fetch the whole body and call `provideBody`.
 * - Headers: `HeaderList` in, `HeaderMutation` out (per-name complete value
 *   lists, exact for multi-value headers). Header bytes are passed to the
 *   script unchanged (Lua strings are bytes; non-UTF-8 bytes stay as they are).
 * - Script failures never throw: they are `error` steps with a code from
 *   `LUA_ERROR_CODES`, the Lua message and a traceback for logs, and the
 *   partial mutations Envoy's own filter would already have applied.
 */
export { LuaScript, type NewStreamOptions } from './script.js';
export { LuaStream, type ProvideOptions } from './stream.js';
export {
  DEFAULT_LUA_LIMITS,
  LUA_ERROR_CODES,
  LuaCompileError,
  resolveLimits,
  type BeginOptions,
  type DynamicMetadata,
  type HeaderList,
  type HeaderMutation,
  type HeaderValue,
  type JsonValue,
  type LogEntry,
  type LogLevel,
  type LuaErrorCode,
  type LuaLimits,
  type PartialResult,
  type Phase,
  type PhaseStep,
  type SslInfo,
  type StepCommon,
  type StreamContext,
  type StreamInfoFacts,
} from './types.js';
export { runFixture, loadFixture, type LuaFixture, type FixtureResult } from './fixtures.js';

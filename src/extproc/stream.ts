/**
 * One ext_proc stream (one HTTP request), transport-neutral: each
 * ProcessingRequest in, exactly one ProcessingResponse out. Runs the
 * selected Lua script's envoy_on_request / envoy_on_response as Envoy's Lua
 * filter would, across the stream's messages:
 * - handle:body() needs the whole body: the headers are answered at once
 *   (asking Envoy, through mode_override, to BUFFER the body) and the body
 *   response carries the rest of the script's changes. A body that arrives
 *   in chunks is held back chunk by chunk and sent whole at the end.
 * - handle:bodyChunks() gets each chunk as it comes.
 * - handle:respond() ends the stream with an ImmediateResponse.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/ext_proc_filter
 */
import type { Span } from '@opentelemetry/api';
import type { Config } from '../config/schema.js';
import { jsonToStruct } from '../json/struct.js';
import type { LuaStream, PartialResult, PhaseStep, StreamContext } from '../lua/index.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Tracing } from '../telemetry/tracing.js';
import { headerText, toHeaderMutation, type HeaderChange } from './headers.js';
import { isBody, isHeaders, phaseMessageOf, type HeadersMessage, type PhaseMessage, type ProcessingRequestObject } from './input.js';
import { bodyResponse, headersResponse, immediateResponse, trailersResponse, type Direction, type ProcessingResponseObject } from './response.js';
import type { ScriptStore } from './scripts.js';
import { selectScript } from './select.js';

/** ProcessingMode.BodySendMode.BUFFERED */
const BUFFERED = 2;

type Pending = { kind: 'none' } | { kind: 'body'; chunks: Buffer[] } | { kind: 'chunks' } | { kind: 'trailers' };

const NONE: Pending = { kind: 'none' };
const EMPTY = Buffer.alloc(0);
const GENERIC_FAILURE = Buffer.from('iacdash: the request transform failed\n');
const MALFORMED = Buffer.from('iacdash: malformed request\n');

/** The phase a message belongs to, for span events; `malformed` when none is set. */
function phaseOf(req: ProcessingRequestObject): string {
  if (req.requestHeaders) return 'request_headers';
  if (req.requestBody) return 'request_body';
  if (req.requestTrailers) return 'request_trailers';
  if (req.responseHeaders) return 'response_headers';
  if (req.responseBody) return 'response_body';
  if (req.responseTrailers) return 'response_trailers';
  return 'malformed';
}

function directionOf(kind: PhaseMessage['kind']): Direction {
  return kind.startsWith('request') ? 'request' : 'response';
}

function mutationOf(change: HeaderChange & { changed?: boolean } | undefined) {
  return change && change.changed !== false ? toHeaderMutation(change) : {};
}

/** What the stream needs from the server around it. */
export interface StreamDeps {
  readonly scripts: ScriptStore;
  readonly config: Config['extproc'];
  readonly logger: Logger;
  /** Counts each message's outcome and time, Lua errors and failure-mode answers. */
  readonly metrics?: Metrics | undefined;
  /** A span per stream, an event per message. */
  readonly tracing?: Tracing | undefined;
}

/** State of one ext_proc stream. */
export class ExtProcStream {
  private lua: LuaStream | undefined;
  private scriptName = '';
  /** No script, or a failure under `failure_mode: continue`: every message passes. */
  private passthrough = false;
  /** An immediate response was sent: Envoy ends the stream. */
  private finished = false;
  private readonly pending: Record<Direction, Pending> = { request: NONE, response: NONE };
  /** Dynamic metadata set since the last response, sent with the next one. */
  private metadata: Record<string, Record<string, unknown>> = {};

  /** The outcome label of the message being answered, for metrics. */
  private outcome = 'ok';
  /** Metrics or tracing are on. */
  private readonly observed: boolean;
  private span: Span | undefined;
  private messages = 0;
  /** The stream's first error code and its local reply's status, for the span. */
  private errorCode: string | undefined;
  private httpStatus: number | undefined;

  constructor(private readonly deps: StreamDeps) {
    this.observed = deps.metrics !== undefined || deps.tracing !== undefined;
  }

  /** The answer to one message. */
  onMessage(req: ProcessingRequestObject): ProcessingResponseObject {
    if (!this.observed) return this.handle(req);
    const start = this.begin(req);
    const response = this.handle(req);
    this.done(start, phaseOf(req));
    return response;
  }

  /** A message that could not be decoded: a 400 local reply, counted under its error code. */
  onMalformed(code: 'request_malformed' | 'request_invalid_utf8'): ProcessingResponseObject {
    this.errorCode ??= code;
    this.httpStatus = 400;
    if (!this.observed) return immediateResponse(400, [], MALFORMED, code);
    const start = this.begin(undefined);
    this.outcome = code;
    const response = immediateResponse(400, [], MALFORMED, code);
    this.done(start, 'malformed');
    return response;
  }

  /** The stream ended (either side): ends its span. Safe to call more than once. */
  close(): void {
    const span = this.span;
    if (!span) return;
    this.span = undefined;
    this.deps.tracing!.endStream(span, { script: this.scriptName || undefined, code: this.errorCode, httpStatus: this.httpStatus, messages: this.messages });
  }

  /** Before a message: starts the span at the stream's first message (its request headers carry the trace context). */
  private begin(req: ProcessingRequestObject | undefined): number {
    this.outcome = 'ok';
    this.messages++;
    if (this.deps.tracing && !this.span && this.messages === 1) this.span = this.deps.tracing.startStream(req?.requestHeaders?.headers);
    return performance.now();
  }

  /** After a message: its metrics and its span event. */
  private done(start: number, phase: string): void {
    this.deps.metrics?.extprocMessage(this.outcome, (performance.now() - start) / 1000);
    if (this.span) this.deps.tracing!.phase(this.span, phase, this.outcome, performance.timeOrigin + start);
  }

  private handle(req: ProcessingRequestObject): ProcessingResponseObject {
    const msg = phaseMessageOf(req);
    if (!msg) return this.fail('request', 'extproc_protocol_error', 'a ProcessingRequest with no request, headers, body or trailers');
    if (this.finished) return this.fail(directionOf(msg.kind), 'extproc_protocol_error', `${msg.kind} after an immediate response`);
    if (this.passthrough) return this.pass(msg);
    if (isHeaders(msg) && msg.kind === 'request_headers') return this.start(req, msg);
    if (!this.lua) return this.pass(msg);

    const dir = directionOf(msg.kind);
    if (isHeaders(msg)) {
      if (this.pending.request.kind !== 'none') {
        return this.fail(dir, 'lua_error', `${this.scriptName}: envoy_on_request waits for the request ${this.pending.request.kind}, which Envoy did not send: set processing_mode.request_body_mode to BUFFERED, or allow_mode_override`);
      }
      return this.answer(dir, msg, this.lua.begin('response', msg.headers, { endOfStream: msg.endOfStream }));
    }
    const pending = this.pending[dir];
    if (isBody(msg)) {
      if (pending.kind === 'body') {
        pending.chunks.push(msg.body);
        if (!msg.endOfStream) return bodyResponse(dir, { clear: true });
        return this.answer(dir, msg, this.lua.provideBody(Buffer.concat(pending.chunks)));
      }
      if (pending.kind === 'chunks') return this.answer(dir, msg, this.lua.provideBodyChunk(msg.body, { endOfStream: msg.endOfStream }));
      return this.pass(msg);
    }
    if (pending.kind === 'trailers' || pending.kind === 'chunks') return this.answer(dir, msg, this.lua.provideTrailers(msg.trailers));
    return this.pass(msg);
  }

  private start(req: ProcessingRequestObject, msg: HeadersMessage): ProcessingResponseObject {
    const metadata = req.metadataContext?.filterMetadata ?? {};
    const name = selectScript(this.deps.scripts.rules, {
      host: headerText(msg.headers, ':authority') ?? headerText(msg.headers, 'host') ?? '',
      path: headerText(msg.headers, ':path') ?? '',
      method: headerText(msg.headers, ':method') ?? '',
      attributes: req.attributes ?? {},
      metadata,
    });
    const found = name === undefined ? undefined : this.deps.scripts.get(name);
    if (!found) {
      if (name !== undefined) return this.fail('request', 'lua_error', `${name}: the script has not compiled`);
      this.passthrough = true;
      return this.pass(msg);
    }
    this.scriptName = name!;
    const logger = this.deps.logger;
    const ctx: StreamContext = {
      routeMetadata: found.metadata as StreamContext['routeMetadata'],
      dynamicMetadata: metadata as StreamContext['dynamicMetadata'],
      onLog: (entry: { level: string; phase: string; message: string }) => logger.log((entry.level === 'trace' ? 'debug' : entry.level === 'critical' ? 'error' : entry.level) as 'debug' | 'info' | 'warn' | 'error', 'lua', { script: name, phase: entry.phase, message: entry.message }),
    };
    this.lua = found.script.newStream(ctx);
    return this.answer('request', msg, this.lua.begin('request', msg.headers, { endOfStream: msg.endOfStream }));
  }

  /** Turns a runtime step into the answer to `msg`, driving the script on while nothing more is needed. */
  private answer(dir: Direction, msg: PhaseMessage, step: PhaseStep): ProcessingResponseObject {
    Object.assign(this.metadata, step.dynamicMetadata);
    const extra = (): ProcessingResponseObject => {
      if (Object.keys(this.metadata).length === 0) return {};
      const out = { dynamicMetadata: jsonToStruct(this.metadata) };
      this.metadata = {};
      return out;
    };
    const headersMsg = isHeaders(msg);
    const bodyMsg = isBody(msg);
    const eos = 'endOfStream' in msg && msg.endOfStream;
    switch (step.kind) {
      case 'error':
        return this.fail(dir, step.code, step.message, msg, step.partial);
      case 'respond':
        this.finished = true;
        this.outcome = 'responded';
        this.httpStatus = step.status;
        return immediateResponse(step.status, step.headers, step.body ?? EMPTY, `${this.scriptName}: handle:respond()`, extra());
      case 'needs_body':
        this.pending[dir] = { kind: 'body', chunks: [] };
        if (headersMsg && eos) return this.answer(dir, msg, this.lua!.provideBody(EMPTY));
        return headersResponse(dir, {}, { modeOverride: { [`${dir}BodyMode`]: BUFFERED }, ...extra() });
      case 'needs_body_chunk':
      case 'needs_trailers':
        this.pending[dir] = step.kind === 'needs_trailers' ? { kind: 'trailers' } : { kind: 'chunks' };
        if (headersMsg && eos && step.kind === 'needs_body_chunk') return this.answer(dir, msg, this.lua!.provideBodyChunk(EMPTY, { endOfStream: true }));
        if (headersMsg) return headersResponse(dir, mutationOf(step.headers), extra());
        return bodyResponse(dir, { body: step.chunk }, extra());
      case 'done': {
        const held = this.pending[dir];
        this.pending[dir] = NONE;
        if (headersMsg) return headersResponse(dir, mutationOf(step.headers), extra());
        if (bodyMsg) {
          // Chunks we cleared must come back even when the script left the body as it was.
          const whole = held.kind === 'body' ? (step.body ?? (held.chunks.length > 1 ? Buffer.concat(held.chunks) : undefined)) : undefined;
          return bodyResponse(dir, { mutation: mutationOf(step.headers), body: whole ?? step.chunk, wholeBody: whole !== undefined }, extra());
        }
        return trailersResponse(dir, mutationOf(step.trailers), extra());
      }
    }
  }

  /** CONTINUE with no change, for the message's kind. */
  private pass(msg: PhaseMessage): ProcessingResponseObject {
    const dir = directionOf(msg.kind);
    if (msg.kind.endsWith('headers')) return headersResponse(dir);
    if (msg.kind.endsWith('body')) return bodyResponse(dir, {});
    return trailersResponse(dir);
  }

  /**
   * A script or protocol failure: a generic local reply, or, under
   * `failure_mode: continue`, what Envoy's own Lua filter does: keep the
   * changes made before the error and let the stream go on.
   */
  private fail(dir: Direction, code: string, detail: string, msg?: PhaseMessage, partial?: PartialResult): ProcessingResponseObject {
    const mode = this.deps.config.failure_mode;
    this.deps.logger.error('transform failed', { code, script: this.scriptName || undefined, direction: dir, detail, failure_mode: mode });
    this.outcome = code;
    this.errorCode ??= code;
    const metrics = this.deps.metrics;
    if (metrics) {
      metrics.luaError(code);
      metrics.failureMode('extproc', mode);
    }
    if (mode === 'continue') {
      this.passthrough = true;
      if (!msg) return headersResponse(dir);
      if (isHeaders(msg)) return headersResponse(dir, mutationOf(partial?.headers));
      if (isBody(msg)) return bodyResponse(dir, { mutation: mutationOf(partial?.headers), body: partial?.body, wholeBody: partial?.body !== undefined });
      return trailersResponse(dir, mutationOf(partial?.trailers));
    }
    this.finished = true;
    this.httpStatus = this.deps.config.failure_status;
    return immediateResponse(this.deps.config.failure_status, [['content-type', Buffer.from('text/plain')]], GENERIC_FAILURE, code);
  }
}

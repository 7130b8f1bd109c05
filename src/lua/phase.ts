/**
 * The state of one stream (shared by its phases) and of one phase run: the
 * data Envoy's StreamHandleWrapper keeps (end_stream, saw_body, buffered
 * body, trailers, headers_continued, state) and the Lua objects handed out.
 */
import type { LuaProxy, LuaState } from './fengari.js';
import { HeaderModel } from './headers.js';
import type { ScriptState } from './state.js';
import type { LuaVm } from './vm.js';
import { Budget, type ExecContext } from './vm.js';
import type { DynamicMetadata, JsonValue, LogEntry, LogLevel, LuaLimits, Phase, StreamContext } from './types.js';

/** A Lua object handed to the script; dies at the next yield or at the end of the phase (Envoy's LuaDeathRef). */
export interface Wrapper {
  dead: boolean;
}

/** What a phase waits for when it yields. */
export type Wait = 'body' | 'chunk' | 'trailers';

/** The immediate response a script asked for. */
export interface Responded {
  status: number;
  headers: Array<[string, Buffer]>;
  body?: Buffer;
}

/** Per-stream state shared by the request and response phases (the Lua globals are the script state's). */
export class StreamCore {
  /** Dynamic metadata as the script sees it. */
  readonly dm = new Map<string, Record<string, JsonValue>>();
  /** Final request headers, for handle:downstreamRequestHeaders() in the response phase. */
  requestHeaders: HeaderModel | null = null;
  readonly vm: LuaVm;
  readonly env: LuaProxy;
  readonly stringMeta: LuaProxy;

  constructor(
    /** The script state this stream runs in, for both phases, even if it is retired meanwhile. */
    readonly state: ScriptState,
    readonly ctx: StreamContext,
    readonly limits: LuaLimits,
  ) {
    this.vm = state.vm;
    this.env = state.env;
    this.stringMeta = state.stringMeta;
    if (ctx.dynamicMetadata !== undefined) this.mergeMetadata(ctx.dynamicMetadata);
  }

  /** Merges namespaces per key, as Envoy's setDynamicMetadata does. */
  mergeMetadata(md: DynamicMetadata): void {
    for (const [ns, fields] of Object.entries(md)) {
      this.dm.set(ns, { ...(this.dm.get(ns) ?? {}), ...fields });
    }
  }

  now(): number {
    return this.ctx.now !== undefined ? this.ctx.now() : Date.now();
  }
}

/** One run of envoy_on_request or envoy_on_response. */
export class PhaseRun {
  readonly budget: Budget;
  readonly headers: HeaderModel;
  readonly originalHeaders: HeaderModel;
  /** Envoy's end_stream_: nothing more arrives in this direction. */
  endStream: boolean;
  /** saw_body_: some body data was seen (buffered or streamed). */
  sawBody = false;
  /** buffered_body_: the script asked for the whole body. */
  bufferedMode = false;
  alwaysWrap = false;
  body: Buffer | null = null;
  /** The whole body arrived (Envoy resumes a body() wait only then, so end_stream_ is set). */
  bodyComplete = false;
  bodyReplaced = false;
  bodyReleased = false;
  trailers: HeaderModel | null = null;
  originalTrailers: HeaderModel | null = null;
  /** The streamed chunk the script holds now. */
  chunk: { bytes: Buffer } | null = null;
  /** headers_continued_: the headers went on; they can no longer change and respond() is refused. */
  headersContinued = false;
  headersReleased = false;
  waiting: Wait | null = null;
  responded: Responded | null = null;
  /** True only while this phase's coroutine runs: the handle works only then. */
  live = false;
  finished = false;
  /** Lua objects handed out since the last yield, and the cached ones (handle:headers() returns the same object). */
  wrappers: Wrapper[] = [];
  readonly cache = new Map<string, LuaProxy>();
  logs: LogEntry[] = [];
  dmChanges: DynamicMetadata = {};
  readonly exec: ExecContext;

  constructor(
    readonly phase: Phase,
    readonly stream: StreamCore,
    readonly thread: LuaState,
    headers: HeaderModel,
    endOfStream: boolean,
  ) {
    this.budget = new Budget(stream.limits);
    this.originalHeaders = headers;
    this.headers = headers.clone();
    this.endStream = endOfStream;
    this.exec = {
      budget: this.budget,
      log: (level, message) => this.log(level, message),
      env: stream.env,
      stringMeta: stream.stringMeta,
      now: () => stream.now(),
    };
  }

  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
    const sink = this.stream.ctx.onLog;
    if (sink !== undefined) {
      try {
        sink({ level, message, phase: this.phase });
      } catch {
        // A failing log sink must not fail the script.
      }
    }
  }

  /** Records a dynamic metadata change for the next step. */
  setMetadata(ns: string, key: string, value: JsonValue): void {
    const fields = { ...(this.stream.dm.get(ns) ?? {}) };
    fields[key] = value;
    this.stream.dm.set(ns, fields);
    (this.dmChanges[ns] ??= {})[key] = value;
  }

  /** Envoy's markDead at a yield: every object handed out so far dies. */
  killWrappers(): void {
    for (const w of this.wrappers) w.dead = true;
    this.wrappers = [];
    this.cache.clear();
  }

  /** Takes the logs and metadata changes gathered since the last step. */
  drain(): { logs: LogEntry[]; dynamicMetadata: DynamicMetadata; instructions: number } {
    const out = { logs: this.logs, dynamicMetadata: this.dmChanges, instructions: Math.round(this.budget.used) };
    this.logs = [];
    this.dmChanges = {};
    return out;
  }
}

/**
 * One HTTP request's run of a script: the request and response phases, each
 * a new coroutine in the script's shared state (globals as Envoy's worker
 * keeps them), each of which may yield for the body, a body chunk or the
 * trailers.
 */
import { lua } from './fengari.js';
import { pushBody, pushChunk, pushHandle, pushTrailers } from './api.js';
import { HeaderModel } from './headers.js';
import { PhaseRun, StreamCore, type Wait } from './phase.js';
import { describeError, newThread, tracebackOf, type ScriptStates, type StateResult } from './state.js';
import type {
  BeginOptions,
  HeaderList,
  LuaErrorCode,
  PartialResult,
  Phase,
  PhaseStep,
  StreamContext,
} from './types.js';

/** Options of the provide* calls; `phase` is needed only when both phases wait at once. */
export interface ProvideOptions {
  phase?: Phase;
}

/**
 * Per-request state, kept across phases. Never throws for anything a script
 * does: script failures are `error` steps. It throws (Error) only when called
 * out of order (e.g. provideBody while no phase waits for a body).
 */
export class LuaStream {
  private core: StreamCore | null = null;
  private initFailure: Extract<StateResult, { ok: false }> | null = null;
  private initLogs: PhaseStep['logs'] = [];
  private readonly runs: Partial<Record<Phase, PhaseRun>> = {};
  private closed = false;

  constructor(
    private readonly states: ScriptStates,
    private readonly ctx: StreamContext,
    /** False: this stream gets private globals (the top level runs for it alone). */
    private readonly shared = true,
  ) {}

  /** Starts envoy_on_<phase> with the headers of that direction. */
  begin(phase: Phase, headers: HeaderList, opts: BeginOptions): PhaseStep {
    if (this.closed) throw new Error('LuaStream: stream is closed');
    const prev = this.runs[phase];
    if (prev !== undefined) throw new Error(`LuaStream: the ${phase} phase already began`);
    const core = this.ensureCore();
    if (core === null) {
      const f = this.initFailure as Extract<StateResult, { ok: false }>;
      return {
        kind: 'error', code: f.code, message: f.message, ...(f.traceback !== undefined ? { traceback: f.traceback } : {}),
        partial: {}, logs: this.takeInitLogs(), dynamicMetadata: {}, instructions: 0,
      };
    }
    if (opts.dynamicMetadata !== undefined) core.mergeMetadata(opts.dynamicMetadata);
    const entry = core.state.entries[phase];
    const T = newThread(core.vm);
    const model = new HeaderModel(headers);
    const run = new PhaseRun(phase, core, T, model, opts.endOfStream);
    this.runs[phase] = run;
    if (entry === undefined) {
      run.finished = true;
      if (phase === 'request') core.requestHeaders = run.headers;
      return { kind: 'done', skipped: true, logs: this.takeInitLogs(), dynamicMetadata: {}, instructions: 0 };
    }
    entry(T);
    pushHandle(T, run);
    const initLogs = this.takeInitLogs();
    const step = this.drive(run, 1);
    if (initLogs.length > 0) step.logs = [...initLogs, ...step.logs];
    return step;
  }

  /** The whole body of the waiting phase (null: the stream ended without one). */
  provideBody(body: Buffer | null, opts: ProvideOptions & { endOfStream?: boolean; trailers?: HeaderList | null } = {}): PhaseStep {
    const run = this.waitingRun(['body'], opts.phase, 'a body');
    const limit = run.stream.limits.maxBodyBytes;
    if (body !== null && body.length > limit) return this.fail(run, 'lua_memory_exceeded', `iacdash: body of ${body.length} bytes exceeds the limit of ${limit} bytes`);
    run.body = body;
    run.bodyComplete = true;
    if (body !== null) run.sawBody = true;
    // endOfStream false: trailers follow (ext_proc sends the body before them).
    run.endStream = opts.endOfStream ?? true;
    if (opts.trailers !== undefined) this.setTrailers(run, opts.trailers);
    run.waiting = null;
    return this.drive(run, pushBody(run.thread, run, run.alwaysWrap));
  }

  /** The next streamed chunk for a bodyChunks() loop (null: trailers ended the body). */
  provideBodyChunk(chunk: Buffer | null, opts: ProvideOptions & { endOfStream: boolean }): PhaseStep {
    const run = this.waitingRun(['chunk'], opts.phase, 'a body chunk');
    const limit = run.stream.limits.maxBodyBytes;
    if (chunk !== null && chunk.length > limit) return this.fail(run, 'lua_memory_exceeded', `iacdash: body chunk of ${chunk.length} bytes exceeds the limit of ${limit} bytes`);
    run.waiting = null;
    run.endStream = opts.endOfStream || chunk === null;
    if (chunk === null) return this.drive(run, 0);
    run.sawBody = true;
    run.chunk = { bytes: chunk };
    pushChunk(run.thread, run, run.chunk);
    return this.drive(run, 1);
  }

  /** The trailers (null: the stream ended without any). Resumes a phase waiting for trailers, a chunk or the body. */
  provideTrailers(trailers: HeaderList | null, opts: ProvideOptions = {}): PhaseStep {
    const run = this.waitingRun(['trailers', 'chunk', 'body'], opts.phase, 'trailers');
    this.setTrailers(run, trailers);
    run.endStream = true;
    const wait = run.waiting;
    run.waiting = null;
    if (wait === 'trailers') return this.drive(run, pushTrailers(run.thread, run));
    if (wait === 'chunk') return this.drive(run, 0);
    run.bodyComplete = true;
    return this.drive(run, pushBody(run.thread, run, run.alwaysWrap));
  }

  /** What the phase waits for, if anything. */
  waitingFor(phase: Phase): Wait | null {
    return this.runs[phase]?.waiting ?? null;
  }

  /** Ends the stream (its coroutines are dropped; the script's state stays); later calls throw. */
  close(): void {
    this.closed = true;
    for (const run of Object.values(this.runs)) {
      run.finished = true;
      run.killWrappers();
    }
  }

  private ensureCore(): StreamCore | null {
    if (this.core !== null) return this.core;
    if (this.initFailure !== null) return null;
    const r = this.states.acquire(this.ctx, this.shared);
    this.initLogs = r.logs;
    if (r.ok) this.core = new StreamCore(r.state, this.ctx, r.state.vm.limits);
    else this.initFailure = r;
    return this.core;
  }

  private takeInitLogs(): PhaseStep['logs'] {
    const l = this.initLogs;
    this.initLogs = [];
    return l;
  }

  private setTrailers(run: PhaseRun, trailers: HeaderList | null): void {
    if (trailers === null) return;
    run.originalTrailers = new HeaderModel(trailers);
    run.trailers = run.originalTrailers.clone();
  }

  private waitingRun(accept: Wait[], phase: Phase | undefined, what: string): PhaseRun {
    if (this.closed) throw new Error('LuaStream: stream is closed');
    const candidates = (phase !== undefined ? [this.runs[phase]] : [this.runs.request, this.runs.response]).filter(
      (r): r is PhaseRun => r !== undefined && !r.finished && r.waiting !== null && accept.includes(r.waiting),
    );
    if (candidates.length === 0) throw new Error(`LuaStream: no phase is waiting for ${what}`);
    if (candidates.length > 1) throw new Error(`LuaStream: both phases wait for ${what}; pass opts.phase`);
    return candidates[0] as PhaseRun;
  }

  /** Resumes the phase's coroutine with nargs values pushed, and turns what happened into a step. */
  private drive(run: PhaseRun, nargs: number): PhaseStep {
    run.live = true;
    let status: number;
    try {
      status = run.stream.vm.resume(run.thread, nargs, run.exec);
    } finally {
      run.live = false;
    }
    return this.stepFor(run, status);
  }

  private stepFor(run: PhaseRun, status: number): PhaseStep {
    if (status === lua.LUA_YIELD) {
      if (run.responded !== null) {
        const r = run.responded;
        this.finish(run);
        return { kind: 'respond', status: r.status, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}), ...run.drain() };
      }
      if (run.waiting === null) {
        return this.fail(run, 'lua_error', 'script performed an unexpected yield');
      }
      run.killWrappers();
      if (run.waiting === 'body') return { kind: 'needs_body', ...run.drain() };
      // Waiting for a chunk or the trailers lets the headers (and a buffered body) go on, as Envoy's Continue.
      run.headersContinued = true;
      const released = this.release(run, false);
      return { kind: run.waiting === 'chunk' ? 'needs_body_chunk' : 'needs_trailers', ...released, ...run.drain() };
    }
    if (status === lua.LUA_OK) {
      const released = this.release(run, true);
      this.finish(run);
      return { kind: 'done', ...released, ...run.drain() };
    }
    const failure = describeError(run.stream.vm, run.thread, run.budget);
    this.states.afterFailure(run.stream.state, failure.code, run.budget);
    const partial = this.release(run, true);
    this.finish(run);
    return { kind: 'error', ...failure, partial, ...run.drain() };
  }

  /** What goes on now and can no longer change. */
  private release(run: PhaseRun, final: boolean): PartialResult & { chunk?: Buffer } {
    const out: PartialResult & { chunk?: Buffer } = {};
    if (!run.headersReleased) {
      out.headers = run.headers.diff(run.originalHeaders);
      run.headersReleased = true;
    }
    if (run.bodyReplaced && !run.bodyReleased && run.body !== null) {
      out.body = run.body;
      run.bodyReleased = true;
    }
    if (run.chunk !== null) {
      out.chunk = run.chunk.bytes;
      run.chunk = null;
    }
    if (final && run.trailers !== null && run.originalTrailers !== null) out.trailers = run.trailers.diff(run.originalTrailers);
    return out;
  }

  private fail(run: PhaseRun, code: LuaErrorCode, message: string): PhaseStep {
    const traceback = tracebackOf(run.stream.vm, run.thread, message);
    const partial = this.release(run, true);
    this.finish(run);
    return { kind: 'error', code, message, traceback, partial, ...run.drain() };
  }

  private finish(run: PhaseRun): void {
    run.finished = true;
    run.waiting = null;
    run.killWrappers();
    if (run.phase === 'request') run.stream.requestHeaders = run.headers;
  }
}

/**
 * A script's live Lua state, kept as Envoy keeps one per worker thread: the
 * top level runs once, its globals are shared by every stream, the entry
 * functions are taken once after the top level, and each phase runs in a new
 * coroutine. See Envoy's ThreadLocalState (lua.cc): a throwaway state checks
 * the script at load, then each worker runs the top level once and
 * registerGlobal takes a registry reference to envoy_on_request/response.
 *
 * The sandbox adds one rule Envoy does not need: a phase stopped by a
 * violation (budget, memory, forbidden call, or fengari itself throwing)
 * retires the state, so no later stream sees globals it left half-updated.
 */
import { fromLua, lauxlib, lua, rawGetKey, toLua, type LuaProxy, type LuaState } from './fengari.js';
import { installApi } from './api.js';
import { LuaCompileError, type LuaErrorCode, type LuaLimits, type Phase, type PhaseStep, type StreamContext } from './types.js';
import { Budget, LuaVm, type ExecContext } from './vm.js';

/** A VM with the script compiled into it as `function(_ENV, ...) <source> end`. */
export interface CompiledChunk {
  readonly vm: LuaVm;
  /** Pushes the compiled function (not yet run). */
  readonly factory: LuaProxy;
  readonly name: string;
}

/** One set of globals in which the script's top level has run. */
export class ScriptState {
  /** Set when a violation retired this state: streams already on it finish there, new streams get another. */
  retired = false;

  constructor(
    readonly vm: LuaVm,
    readonly env: LuaProxy,
    readonly stringMeta: LuaProxy,
    /** envoy_on_request / envoy_on_response as the top level left them; later reassignments do not change dispatch (as Envoy's registry refs). */
    readonly entries: Readonly<Partial<Record<Phase, LuaProxy>>>,
  ) {}
}

/** The outcome of running a script's top level. */
export type StateResult =
  | { ok: true; state: ScriptState; logs: PhaseStep['logs'] }
  | { ok: false; code: LuaErrorCode; message: string; traceback?: string; logs: PhaseStep['logs'] };

/** Line number in a Lua message "name:12: text" (the first one). */
export function lineOf(message: string, name: string): number | undefined {
  const i = message.indexOf(`${name}:`);
  if (i < 0) return undefined;
  const m = /^(\d+):/.exec(message.slice(i + name.length + 1));
  return m !== null ? Number(m[1]) : undefined;
}

/**
 * A new VM (sandbox and API installed) with the script parsed into it.
 * Throws LuaCompileError naming the file and line for a syntax error.
 */
export function compileChunk(bytes: Uint8Array, name: string, limits: LuaLimits): CompiledChunk {
  const vm = new LuaVm(limits);
  installApi(vm);
  const L = vm.L;
  const chunkname = `@${name}`;
  // Parse the script as written first, so errors carry its own line numbers.
  if (vm.loadChunk(L, bytes, chunkname) !== lua.LUA_OK) {
    const msg = lua.lua_tojsstring(L, -1);
    lua.lua_settop(L, 0);
    throw new LuaCompileError(name, lineOf(msg, name), msg);
  }
  lua.lua_settop(L, 0);
  // Then as a function of its globals; the prefix sits on line 1, so lines are unchanged.
  const wrapped = Buffer.concat([Buffer.from('return function(_ENV, ...) '), bytes, Buffer.from('\nend')]);
  if (vm.loadChunk(L, wrapped, chunkname) !== lua.LUA_OK || lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
    const msg = lua.lua_tojsstring(L, -1);
    lua.lua_settop(L, 0);
    throw new LuaCompileError(name, lineOf(msg, name), msg);
  }
  const factory = lua.lua_toproxy(L, -1);
  lua.lua_settop(L, 0);
  return { vm, factory, name };
}

/** Runs the top level in fresh globals and takes the entry functions. Top-level logs go to ctx.onLog as 'request'. */
export function loadState(chunk: CompiledChunk, ctx: StreamContext): StateResult {
  const vm = chunk.vm;
  const { env, stringMeta } = vm.createEnv();
  const logs: PhaseStep['logs'] = [];
  const budget = new Budget(vm.limits);
  const exec: ExecContext = {
    budget,
    log: (level, message) => {
      logs.push({ level, message });
      try {
        ctx.onLog?.({ level, message, phase: 'request' });
      } catch {
        // A failing log sink must not fail the script.
      }
    },
    env,
    stringMeta,
    now: () => (ctx.now !== undefined ? ctx.now() : Date.now()),
  };
  const T = newThread(vm);
  chunk.factory(T);
  env(T);
  const status = vm.resume(T, 1, exec);
  if (status === lua.LUA_YIELD) return { ok: false, code: 'lua_error', message: 'script performed an unexpected yield', logs };
  if (status !== lua.LUA_OK) {
    if (budget.internal) vm.broken = true;
    return { ok: false, ...describeError(vm, T, budget), logs };
  }
  const entries: Partial<Record<Phase, LuaProxy>> = {};
  const L = vm.L;
  env(L);
  for (const phase of ['request', 'response'] as const) {
    if (rawGetKey(L, -1, `envoy_on_${phase}`) === lua.LUA_TFUNCTION) entries[phase] = lua.lua_toproxy(L, -1);
    lua.lua_pop(L, 1);
  }
  lua.lua_pop(L, 1);
  return { ok: true, state: new ScriptState(vm, env, stringMeta, entries), logs };
}

/** Codes that retire a state: the script was stopped at a point it did not choose, or tried to leave the sandbox. */
const RETIRING: ReadonlySet<LuaErrorCode> = new Set(['lua_budget_exceeded', 'lua_memory_exceeded', 'lua_forbidden_call']);

/**
 * The shared state of one compiled script: built at the first stream, rebuilt
 * after a violation retires it. An error the script raised itself (lua_error,
 * lua_unsupported_api) keeps it, as Envoy keeps a worker's state.
 */
export class ScriptStates {
  private live: ScriptState | null = null;
  /** How often the shared state was built (top level run) and retired, and how many VMs were compiled; for tests and figures. */
  readonly counts = { builds: 0, retired: 0, vms: 1 };

  constructor(
    private chunk: CompiledChunk,
    /** The source, to compile a new VM when fengari broke the old one. */
    private readonly source: Uint8Array,
  ) {}

  /**
   * The shared state, built now if there is none (its top-level logs are
   * returned and go to ctx.onLog). `shared: false` builds a private state
   * for one stream and leaves the shared one alone.
   */
  acquire(ctx: StreamContext, shared = true): StateResult {
    if (shared && this.live !== null) return { ok: true, state: this.live, logs: [] };
    if (this.chunk.vm.broken) {
      try {
        this.chunk = compileChunk(this.source, this.chunk.name, this.chunk.vm.limits);
        this.counts.vms++;
      } catch (e) {
        return { ok: false, code: 'lua_error', message: e instanceof Error ? e.message : String(e), logs: [] };
      }
    }
    const r = loadState(this.chunk, ctx);
    if (!shared) return r;
    this.counts.builds++;
    if (r.ok) this.live = r.state;
    return r;
  }

  /** After a phase failed with `code`: retires its state if the failure may have left it inconsistent. */
  afterFailure(state: ScriptState, code: LuaErrorCode, budget: Budget): void {
    if (budget.internal) state.vm.broken = true;
    if (!RETIRING.has(code) && !budget.internal) return;
    state.retired = true;
    // An isolated stream breaking the VM retires the shared state too: it lives in the same VM.
    const live = this.live;
    if (live === null || (live !== state && !live.vm.broken)) return;
    live.retired = true;
    this.live = null;
    this.counts.retired++;
  }
}

/** A new coroutine of the VM's main state (not left on its stack). */
export function newThread(vm: LuaVm): LuaState {
  const T = lua.lua_newthread(vm.L);
  lua.lua_pop(vm.L, 1);
  return T;
}

/** The Lua error on top of T, classified. */
export function describeError(vm: LuaVm, T: LuaState, budget: Budget): { code: LuaErrorCode; message: string; traceback: string } {
  const t = lua.lua_type(T, -1);
  const message =
    t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER
      ? fromLua(lua.lua_tostring(T, -1) as Uint8Array)
      : `(error object is a ${fromLua(lauxlib.luaL_typename(T, -1))} value)`;
  const traceback = tracebackOf(vm, T, message);
  let code: LuaErrorCode = 'lua_error';
  if (budget.killed !== null) code = budget.killed.code;
  else if (budget.violation !== null && message.includes(budget.violation.message)) code = budget.violation.code;
  return { code, message, traceback };
}

/** "message\nstack traceback: …" of the coroutine T (running, suspended or dead). */
export function tracebackOf(vm: LuaVm, T: LuaState, message: string): string {
  const top = lua.lua_gettop(vm.L);
  // fengari asserts on some frames of a suspended coroutine (a C function that yielded); skip it then.
  for (const level of [0, 1]) {
    try {
      lauxlib.luaL_traceback(vm.L, T, toLua(message), level);
      const traceback = lua.lua_tojsstring(vm.L, -1);
      lua.lua_settop(vm.L, top);
      return traceback;
    } catch {
      lua.lua_settop(vm.L, top);
    }
  }
  return message;
}

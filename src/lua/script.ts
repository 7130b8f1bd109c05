/**
 * A compiled script: parsed once, top-level code checked once, then shared by
 * every stream (each stream reruns the top level in its own globals).
 */
import { lua, toLua, type LuaProxy } from './fengari.js';
import { installApi } from './api.js';
import { initStream, LuaStream, type CompiledChunk } from './stream.js';
import { LuaCompileError, resolveLimits, type LuaLimits, type Phase, type StreamContext } from './types.js';
import { LuaVm } from './vm.js';

/** Line number in a Lua message "name:12: text" (the first one). */
function lineOf(message: string, name: string): number | undefined {
  const i = message.indexOf(`${name}:`);
  if (i < 0) return undefined;
  const m = /^(\d+):/.exec(message.slice(i + name.length + 1));
  return m !== null ? Number(m[1]) : undefined;
}

/** A script compiled for one set of limits. */
export class LuaScript {
  private constructor(
    private readonly chunk: CompiledChunk,
    private readonly entries: ReadonlySet<Phase>,
    /** The limits the script runs under. */
    readonly limits: LuaLimits,
  ) {}

  /** The script's name, as it appears in Lua messages ("name:line: …"). */
  get name(): string {
    return this.chunk.name;
  }

  /**
   * Parses the source and runs its top-level code once (in throwaway globals),
   * as Envoy does when it loads a script. Throws LuaCompileError naming the
   * file and line for a syntax error, or for top-level code that fails or
   * overruns its budget.
   */
  static compile(source: string | Uint8Array, name: string, limits: Partial<LuaLimits> = {}): LuaScript {
    const resolved = resolveLimits(limits);
    const vm = new LuaVm(resolved);
    installApi(vm);
    const L = vm.L;
    const bytes = typeof source === 'string' ? toLua(source) : source;
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
    const factory: LuaProxy = lua.lua_toproxy(L, -1);
    lua.lua_settop(L, 0);
    const chunk: CompiledChunk = { vm, factory, name };

    const probe = initStream(chunk, {});
    if (!probe.ok) throw new LuaCompileError(name, lineOf(probe.message, name), probe.message, probe.code);
    const entries = new Set<Phase>();
    probe.core.env(L);
    for (const phase of ['request', 'response'] as const) {
      lua.lua_getfield(L, -1, toLua(`envoy_on_${phase}`));
      if (lua.lua_type(L, -1) === lua.LUA_TFUNCTION) entries.add(phase);
      lua.lua_pop(L, 1);
    }
    lua.lua_settop(L, 0);
    return new LuaScript(chunk, entries, resolved);
  }

  /** Whether the script defines envoy_on_request / envoy_on_response (so a transport can skip a phase). */
  has(fn: 'envoy_on_request' | 'envoy_on_response'): boolean {
    return this.entries.has(fn === 'envoy_on_request' ? 'request' : 'response');
  }

  /** A new per-request state; its globals are created when its first phase begins. */
  newStream(ctx: StreamContext = {}): LuaStream {
    return new LuaStream(this.chunk, ctx);
  }
}

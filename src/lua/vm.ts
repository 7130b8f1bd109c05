/**
 * One Lua VM per compiled script: the sandboxed standard library, the
 * LuaJIT-compatibility shims, the instruction/time/string budget, and the
 * environments (globals) the script runs in. A script's streams share one
 * environment, as Envoy's requests share a worker's lua_State (see state.ts);
 * an environment holds its own copies of the library tables and its own
 * string metatable, so a retired one leaves nothing behind in the VM.
 */
import {
  fromLua,
  lauxlib,
  lua,
  lualib,
  pushKey,
  pushTableCopy,
  rawGetKey,
  rawSetKey,
  setStringGuard,
  toLua,
  withFloatLiterals,
  type LuaCFunction,
  type LuaProxy,
  type LuaState,
  type StringGuard,
} from './fengari.js';
import type { LogLevel, LuaErrorCode, LuaLimits } from './types.js';

/** A budget violation or forbidden call recorded while Lua ran. */
export interface Violation {
  code: LuaErrorCode;
  message: string;
}

/** Accounting for one phase invocation (or one run of top-level code). */
export class Budget implements StringGuard {
  used = 0;
  elapsedMs = 0;
  startedAt = 0;
  /** Set once the budget is blown; from then on nothing in this invocation may catch it. */
  killed: Violation | null = null;
  /** Last forbidden/unsupported call, to classify an uncaught error. */
  violation: Violation | null = null;
  /** fengari itself threw (a bug, or an allocation V8 refused): its VM is not trusted afterwards. */
  internal = false;
  readonly maxBytes: number;

  constructor(readonly limits: LuaLimits) {
    this.maxBytes = limits.maxStringBytes;
  }

  charge(L: LuaState, bytes: number): void {
    this.used += bytes * this.limits.stringByteCost;
    // Checked here too: a short loop making big strings may never reach the count hook.
    if (this.used > this.limits.maxInstructions) this.overBudget(L);
  }

  overBudget(L: LuaState): never {
    return this.kill(L, 'lua_budget_exceeded', `iacdash: instruction budget of ${this.limits.maxInstructions} exceeded`);
  }

  refuse(L: LuaState, bytes: number): never {
    return this.kill(L, 'lua_memory_exceeded', `iacdash: string of ${bytes} bytes exceeds the limit of ${this.maxBytes} bytes`);
  }

  kill(L: LuaState, code: LuaErrorCode, message: string): never {
    if (this.killed === null) {
      let where = '';
      unguarded(() => {
        pushWhere(L);
        where = lua.lua_tojsstring(L, -1);
        lua.lua_pop(L, 1);
      });
      this.killed = { code, message: `${where}${message}` };
    }
    return rethrow(L, this.killed.message);
  }
}

/** What is running right now (JS is single-threaded: at most one Lua execution at a time). */
export interface ExecContext {
  budget: Budget;
  /** Where print() and log calls go. */
  log(level: LogLevel, message: string): void;
  /** The running script's globals, for load()'s default environment. */
  env: LuaProxy;
  /** The string metatable of those globals. */
  stringMeta: LuaProxy;
  /** Milliseconds since the epoch. */
  now(): number;
}

let current: ExecContext | null = null;

/** Raises message as is (it already names its place). */
function rethrow(L: LuaState, message: string): never {
  unguarded(() => {
    lua.lua_checkstack(L, 4);
    lua.lua_pushstring(L, toLua(message));
  });
  return lua.lua_error(L);
}

/** Runs f with the string cap off: our own error messages must never trip it. */
function unguarded(f: () => void): void {
  const g = setStringGuard(null);
  try {
    f();
  } finally {
    setStringGuard(g);
  }
}

/** Raises a Lua error "where: message" from a JS function; never returns. */
export function raise(L: LuaState, message: string): never {
  unguarded(() => {
    pushWhere(L);
    lua.lua_pushstring(L, toLua(message));
    lua.lua_concat(L, 2);
  });
  return lua.lua_error(L);
}

/** Pushes "chunk:line: " of the innermost Lua function on L's stack (or ""). */
function pushWhere(L: LuaState): void {
  // Raised from inside the VM (string concatenation) the frame may have no free slot.
  lua.lua_checkstack(L, 4);
  // The first Lua frame that is the script's (the prelude's wrappers are not).
  for (let level = 0; level < 6; level++) {
    lauxlib.luaL_where(L, level);
    const where = lua.lua_tojsstring(L, -1);
    if (where !== '' && !where.startsWith(`${PRELUDE_NAME}:`)) return;
    lua.lua_pop(L, 1);
  }
  lua.lua_pushstring(L, toLua(''));
}

/** Raises the sandbox error for a call the sandbox removed. */
export function forbidden(L: LuaState, what: string): never {
  return violate(L, 'lua_forbidden_call', `iacdash: ${what} is not available in the sandbox`);
}

/** Raises the error for an Envoy (or LuaJIT) API iacdash does not provide. */
export function unsupported(L: LuaState, what: string, why = 'is not supported out of process'): never {
  return violate(L, 'lua_unsupported_api', `iacdash: ${what} ${why}`);
}

function violate(L: LuaState, code: LuaErrorCode, message: string): never {
  if (current !== null) current.budget.violation = { code, message };
  return raise(L, message);
}

const PRELUDE_NAME = 'iacdash-prelude';

/** Lua source of the pure-Lua part of the sandbox; compiled once per VM with Lua 5.3 number rules. */
const PRELUDE = String.raw`
local js = ...
local check, killed, frexp = js.check, js.killed, js.frexp
local pcall, xpcall, next, type, setmetatable = pcall, xpcall, next, type, setmetatable
local math_type, floor, ceil, exp, atan, log = math.type, math.floor, math.ceil, math.exp, math.atan, math.log
local raw_tonumber, raw_resume = tonumber, coroutine.resume

local function copy(t) local c = {} for k, v in next, t do c[k] = v end return c end

local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, rawequal = rawequal,
  rawget = rawget, rawlen = rawlen, rawset = rawset, select = select, setmetatable = setmetatable,
  getmetatable = getmetatable, tostring = tostring, type = type, _VERSION = _VERSION,
  unpack = table.unpack,
}
-- A blown budget must not be caught: every protected call re-raises it.
function base.pcall(...) return check(pcall(...)) end
-- After a budget error the message handler would run with hooks off (as in C Lua), so it is skipped.
function base.xpcall(f, h, ...)
  return check(xpcall(f, function(e) if killed() then return e end return h(e) end, ...))
end
-- LuaJIT numbers are doubles; fengari integers are 32-bit and wrap.
function base.tonumber(...)
  local n = raw_tonumber(...)
  if math_type(n) == "integer" then return n + 0.0 end
  return n
end

local libs = {
  string = copy(string), table = copy(table), math = copy(math), utf8 = copy(utf8),
  coroutine = copy(coroutine), os = {},
}
libs.coroutine.resume = function(...) return check(raw_resume(...)) end

local m = libs.math
function m.floor(x) return floor(x) + 0.0 end
function m.ceil(x) return ceil(x) + 0.0 end
function m.pow(x, y) return x ^ y end
function m.atan2(y, x) return atan(y, x) end
function m.log10(x) return log(x, 10) end
function m.ldexp(x, e) return x * 2.0 ^ e end
function m.cosh(x) return (exp(x) + exp(-x)) / 2 end
function m.sinh(x) return (exp(x) - exp(-x)) / 2 end
function m.tanh(x)
  if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
  local a, b = exp(x), exp(-x)
  return (a - b) / (a + b)
end
m.frexp = frexp

function libs.table.maxn(t)
  local n = 0
  for k in next, t do if type(k) == "number" and k > n then n = k end end
  return n
end

-- LuaJIT's BitOp ("bit"), on fengari's 32-bit integers.
local select, error, tointeger = select, error, math.tointeger
local function tobit(x)
  if math_type(x) == "integer" then return x end
  if type(x) ~= "number" then
    local n = raw_tonumber(x)
    if n == nil then error("bad argument #1 to 'tobit' (number expected, got " .. type(x) .. ")", 3) end
    x = n
    if math_type(x) == "integer" then return x end
  end
  local r = floor(x + 0.5)
  if r - x == 0.5 and r % 2 == 1 then r = r - 1 end
  r = r % 4294967296
  if r >= 2147483648 then r = r - 4294967296 end
  return tointeger(r)
end
local bit = {}
bit.tobit = function(x) return tobit(x) end
function bit.bnot(x) return ~tobit(x) end
function bit.band(x, ...) local r = tobit(x) for i = 1, select("#", ...) do r = r & tobit((select(i, ...))) end return r end
function bit.bor(x, ...) local r = tobit(x) for i = 1, select("#", ...) do r = r | tobit((select(i, ...))) end return r end
function bit.bxor(x, ...) local r = tobit(x) for i = 1, select("#", ...) do r = r ~ tobit((select(i, ...))) end return r end
function bit.lshift(x, n) return tobit(x) << (tobit(n) & 31) end
function bit.rshift(x, n) return tobit(x) >> (tobit(n) & 31) end
function bit.arshift(x, n)
  x, n = tobit(x), tobit(n) & 31
  if x >= 0 then return x >> n end
  return ~((~x) >> n)
end
function bit.rol(x, n) x, n = tobit(x), tobit(n) & 31 return (x << n) | (x >> (32 - n)) end
function bit.ror(x, n) x, n = tobit(x), tobit(n) & 31 return (x >> n) | (x << (32 - n)) end
function bit.bswap(x)
  x = tobit(x)
  return ((x >> 24) & 255) | ((x >> 8) & 65280) | ((x & 65280) << 8) | (x << 24)
end
local hexdigits, ssub, supper, tconcat = "0123456789abcdef", string.sub, string.upper, table.concat
function bit.tohex(x, n)
  x = tobit(x)
  n = n == nil and 8 or tobit(n)
  local upper = n < 0
  if upper then n = -n end
  if n > 8 then n = 8 end
  local out = {}
  for i = n, 1, -1 do
    local d = (x & 15) + 1
    out[i] = ssub(hexdigits, d, d)
    x = x >> 4
  end
  local s = tconcat(out)
  if upper then s = supper(s) end
  return s
end
libs.bit = bit
libs.EnvoyTimestampResolution = { MILLISECOND = 0.0, MICROSECOND = 1.0 }

return base, libs
`;

/** Names of the os functions a script keeps. */
const OS_SAFE = ['clock', 'date', 'difftime'];
/** os functions that exist in fengari/LuaJIT but are removed. */
const OS_FORBIDDEN = ['execute', 'exit', 'getenv', 'remove', 'rename', 'tmpname', 'setlocale'];
/** Whole libraries replaced by tables that raise on any access. */
const TRAPPED_LIBS = ['io', 'debug', 'package'];

/** A compiled script's VM. */
export class LuaVm {
  readonly L: LuaState;
  /** Set when fengari threw inside this VM; a new VM is compiled rather than trusting it. */
  broken = false;
  /** The string metatable now installed, so resume swaps it only when the environment changes. */
  private activeStringMeta: LuaProxy | null = null;
  private readonly base: LuaProxy;
  private readonly libs: Array<[string, LuaProxy]> = [];
  private readonly traps: Array<[string, LuaProxy]> = [];

  constructor(readonly limits: LuaLimits) {
    const L = lauxlib.luaL_newstate();
    this.L = L;
    const open: Array<[string, LuaCFunction]> = [
      ['_G', lualib.luaopen_base], ['coroutine', lualib.luaopen_coroutine], ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string], ['math', lualib.luaopen_math], ['utf8', lualib.luaopen_utf8],
      ['os', lualib.luaopen_os],
    ];
    for (const [name, fn] of open) {
      lauxlib.luaL_requiref(L, toLua(name), fn, 1);
      lua.lua_pop(L, 1);
    }
    lua.lua_atnativeerror(L, nativeError);
    // New threads inherit the hook, so every coroutine a script makes is counted too.
    const interval = limits.hookInterval;
    lua.lua_sethook(L, (T) => hook(T, interval), lua.LUA_MASKCOUNT, interval);

    // Run the prelude: base, libs.
    const js = new Map<string, LuaCFunction>([['check', checkKilled], ['killed', isKilled], ['frexp', frexp]]);
    lua.lua_createtable(L, 0, js.size);
    for (const [k, f] of js) {
      lua.lua_pushjsfunction(L, f);
      lua.lua_setfield(L, -2, toLua(k));
    }
    const src = toLua(PRELUDE);
    if (lauxlib.luaL_loadbufferx(L, src, src.length, toLua(`=${PRELUDE_NAME}`), toLua('t')) !== lua.LUA_OK) {
      throw new Error(`iacdash lua prelude: ${lua.lua_tojsstring(L, -1)}`);
    }
    lua.lua_insert(L, -2);
    if (lua.lua_pcall(L, 1, 2, 0) !== lua.LUA_OK) throw new Error(`iacdash lua prelude: ${lua.lua_tojsstring(L, -1)}`);
    // Stack: base, libs.
    this.decorateBase(L, 1);
    this.decorateLibs(L, 2);
    this.base = lua.lua_toproxy(L, 1);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, 2)) {
      this.libs.push([lua.lua_tojsstring(L, -2), lua.lua_toproxy(L, -1)]);
      lua.lua_pop(L, 1);
    }
    lua.lua_settop(L, 0);
    this.makeTraps(L);
  }

  private decorateBase(L: LuaState, base: number): void {
    const set = (name: string, f: LuaCFunction): void => {
      lua.lua_pushjsfunction(L, f);
      lua.lua_setfield(L, base, toLua(name));
    };
    set('print', luaPrint);
    set('load', luaLoad);
    set('loadstring', luaLoadstring);
    set('collectgarbage', collectGarbage);
    for (const name of ['require', 'dofile', 'loadfile']) set(name, (T) => forbidden(T, `${name}()`));
    for (const name of ['setfenv', 'getfenv', 'module']) {
      set(name, (T) => unsupported(T, `${name}()`, 'does not exist in Lua 5.3 (fengari)'));
    }
  }

  private decorateLibs(L: LuaState, libs: number): void {
    const top = lua.lua_gettop(L);
    const field = (lib: string, name: string, f: LuaCFunction): void => {
      lua.lua_getfield(L, libs, toLua(lib));
      lua.lua_pushjsfunction(L, f);
      lua.lua_setfield(L, -2, toLua(name));
      lua.lua_pop(L, 1);
    };
    // string: no dump (no binary chunks to load it with); %d/%x of big integral floats as LuaJIT.
    field('string', 'dump', (T) => forbidden(T, 'string.dump()'));
    lua.lua_getfield(L, libs, toLua('string'));
    lua.lua_getfield(L, -1, toLua('format'));
    const format = lua.lua_tocfunction(L, -1) as LuaCFunction;
    lua.lua_pop(L, 2);
    field('string', 'format', (T) => formatShim(T, format));
    // math.randomseed would reseed fengari's one process-wide generator.
    field('math', 'randomseed', () => 0);
    // os: the clock and date functions only.
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_getfield(L, -1, toLua('os'));
    const osIdx = lua.lua_gettop(L);
    lua.lua_getfield(L, libs, toLua('os'));
    for (const name of OS_SAFE) {
      lua.lua_getfield(L, osIdx, toLua(name));
      lua.lua_setfield(L, -2, toLua(name));
    }
    lua.lua_getfield(L, osIdx, toLua('date'));
    const date = lua.lua_tocfunction(L, -1) as LuaCFunction;
    lua.lua_getfield(L, osIdx, toLua('time'));
    const time = lua.lua_tocfunction(L, -1) as LuaCFunction;
    lua.lua_pop(L, 2);
    lua.lua_pushjsfunction(L, (T) => osTime(T, time));
    lua.lua_setfield(L, -2, toLua('time'));
    lua.lua_pushjsfunction(L, (T) => osDate(T, date));
    lua.lua_setfield(L, -2, toLua('date'));
    for (const name of OS_FORBIDDEN) {
      lua.lua_pushjsfunction(L, (T) => forbidden(T, `os.${name}()`));
      lua.lua_setfield(L, -2, toLua(name));
    }
    lua.lua_settop(L, top);
  }

  /** Metatables for io, debug and package: any access raises, and they cannot be unlocked. */
  private makeTraps(L: LuaState): void {
    for (const lib of TRAPPED_LIBS) {
      lua.lua_createtable(L, 0, 3);
      const trap: LuaCFunction = (T) => {
        const key = lua.lua_type(T, 2) === lua.LUA_TSTRING ? fromLua(lua.lua_tostring(T, 2) as Uint8Array) : '?';
        return forbidden(T, `${lib}.${key}`);
      };
      lua.lua_pushjsfunction(L, trap);
      lua.lua_setfield(L, -2, toLua('__index'));
      lua.lua_pushjsfunction(L, trap);
      lua.lua_setfield(L, -2, toLua('__newindex'));
      lua.lua_pushboolean(L, false);
      lua.lua_setfield(L, -2, toLua('__metatable'));
      this.traps.push([lib, lua.lua_toproxy(L, -1)]);
      lua.lua_pop(L, 1);
    }
  }

  /**
   * Fresh globals: copies of the base functions and of every library table
   * (so a script's changes stay in this environment), fresh trap tables, and
   * the environment's string metatable {__index = its string table}.
   */
  createEnv(): { env: LuaProxy; stringMeta: LuaProxy } {
    const L = this.L;
    this.base(L);
    pushTableCopy(L, -1);
    lua.lua_remove(L, -2);
    const env = lua.lua_gettop(L);
    for (const [name, lib] of this.libs) {
      lib(L);
      pushTableCopy(L, -1);
      lua.lua_remove(L, -2);
      rawSetKey(L, env, name);
    }
    for (const [name, meta] of this.traps) {
      lua.lua_createtable(L, 0, 0);
      meta(L);
      lua.lua_setmetatable(L, -2);
      rawSetKey(L, env, name);
    }
    lua.lua_pushvalue(L, env);
    rawSetKey(L, env, '_G');
    lua.lua_createtable(L, 0, 1);
    rawGetKey(L, env, 'string');
    rawSetKey(L, -2, '__index');
    const result = { env: lua.lua_toproxy(L, env), stringMeta: lua.lua_toproxy(L, -1) };
    lua.lua_settop(L, env - 1);
    return result;
  }

  /**
   * Loads a chunk with LuaJIT number rules. Leaves the function (or the error
   * message) on L; returns the lua_load status.
   */
  loadChunk(L: LuaState, source: Uint8Array, chunkname: string): number {
    return withFloatLiterals(() => lauxlib.luaL_loadbufferx(L, source, source.length, toLua(chunkname), toLua('t')));
  }

  /** Resumes T with nargs values already pushed, accounting to ctx. */
  resume(T: LuaState, nargs: number, ctx: ExecContext): number {
    const L = this.L;
    // The string metatable is per VM; give strings this environment's string table.
    if (this.activeStringMeta !== ctx.stringMeta) {
      pushKey(L, '');
      ctx.stringMeta(L);
      lua.lua_setmetatable(L, -2);
      lua.lua_pop(L, 1);
      this.activeStringMeta = ctx.stringMeta;
    }
    const prevCtx = current;
    const prevGuard = setStringGuard(ctx.budget);
    current = ctx;
    ctx.budget.startedAt = performance.now();
    try {
      return lua.lua_resume(T, null, nargs);
    } finally {
      ctx.budget.elapsedMs += performance.now() - ctx.budget.startedAt;
      current = prevCtx;
      setStringGuard(prevGuard);
    }
  }
}

function hook(L: LuaState, interval: number): void {
  const c = current;
  if (c === null) return;
  const b = c.budget;
  b.used += interval;
  if (b.killed !== null) rethrow(L, b.killed.message);
  if (b.used > b.limits.maxInstructions) b.overBudget(L);
  if (performance.now() - b.startedAt + b.elapsedMs > b.limits.maxMillis) {
    b.kill(L, 'lua_budget_exceeded', `iacdash: time budget of ${b.limits.maxMillis} ms exceeded`);
  }
}

/** Finisher of the pcall/xpcall/coroutine.resume wrappers: passes results through unless the budget is blown. */
const checkKilled: LuaCFunction = (L) => {
  const c = current;
  if (c !== null && c.budget.killed !== null) rethrow(L, c.budget.killed.message);
  return lua.lua_gettop(L);
};

const isKilled: LuaCFunction = (L) => {
  lua.lua_pushboolean(L, current !== null && current.budget.killed !== null);
  return 1;
};

/** A JS exception inside fengari (a bug, or an allocation V8 refused) becomes a Lua error. */
const nativeError: LuaCFunction = (L) => {
  const e = lua.lua_touserdata(L, 1);
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (current !== null) current.budget.internal = true;
  if (e instanceof RangeError && current !== null && current.budget.killed === null) {
    current.budget.killed = { code: 'lua_memory_exceeded', message: `iacdash: allocation refused (${msg})` };
  }
  unguarded(() => lua.lua_pushstring(L, toLua(`iacdash: internal error: ${msg}`)));
  return 1;
};

const frexp: LuaCFunction = (L) => {
  const x = lauxlib.luaL_checknumber(L, 1);
  if (x === 0 || !Number.isFinite(x)) {
    lua.lua_pushnumber(L, x);
    lua.lua_pushnumber(L, 0);
    return 2;
  }
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
  let m = x * 2 ** -e;
  while (Math.abs(m) < 0.5) { m *= 2; e--; }
  while (Math.abs(m) >= 1) { m /= 2; e++; }
  lua.lua_pushnumber(L, m);
  lua.lua_pushnumber(L, e);
  return 2;
};

const luaPrint: LuaCFunction = (L) => {
  const n = lua.lua_gettop(L);
  const parts: string[] = [];
  for (let i = 1; i <= n; i++) {
    parts.push(fromLua(lauxlib.luaL_tolstring(L, i)));
    lua.lua_pop(L, 1);
  }
  current?.log('info', parts.join('\t'));
  return 0;
};

/** load(chunk [, chunkname [, mode [, env]]]): text chunks only; env defaults to the script's globals. */
const luaLoad: LuaCFunction = (L) => {
  const top = lua.lua_gettop(L);
  const mode = lauxlib.luaL_optlstring(L, 3, 'bt');
  if (mode !== null && !fromLua(mode).includes('t')) return forbidden(L, 'load() of binary chunks');
  let source: Uint8Array;
  let defaultName: string;
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    source = lua.lua_tostring(L, 1) as Uint8Array;
    defaultName = fromLua(source);
  } else {
    lauxlib.luaL_checktype(L, 1, lua.LUA_TFUNCTION);
    const pieces: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      lua.lua_pushvalue(L, 1);
      lua.lua_call(L, 0, 1);
      if (lua.lua_isnoneornil(L, -1)) { lua.lua_pop(L, 1); break; }
      if (lua.lua_type(L, -1) !== lua.LUA_TSTRING) raise(L, 'reader function must return a string');
      const piece = lua.lua_tostring(L, -1) as Uint8Array;
      lua.lua_pop(L, 1);
      if (piece.length === 0) break;
      total += piece.length;
      if (current !== null && total > current.budget.maxBytes) current.budget.refuse(L, total);
      pieces.push(piece);
    }
    source = Buffer.concat(pieces);
    defaultName = '=(load)';
  }
  const name = lauxlib.luaL_optlstring(L, 2, null);
  const chunkname = name !== null ? fromLua(name) : defaultName;
  const status = withFloatLiterals(() => lauxlib.luaL_loadbufferx(L, source, source.length, toLua(chunkname), toLua('t')));
  if (status !== lua.LUA_OK) {
    lua.lua_pushnil(L);
    lua.lua_insert(L, -2);
    return 2;
  }
  if (top >= 4) lua.lua_pushvalue(L, 4);
  else if (current !== null) current.env(L);
  else lua.lua_pushnil(L);
  if (lua.lua_setupvalue(L, -2, 1) === null) lua.lua_pop(L, 1);
  return 1;
};

/** LuaJIT's loadstring(s [, chunkname]). */
const luaLoadstring: LuaCFunction = (L) => {
  lauxlib.luaL_checklstring(L, 1);
  lua.lua_settop(L, 2);
  return luaLoad(L);
};

/** fengari has no collector to drive; every option answers 0. */
const collectGarbage: LuaCFunction = (L) => {
  lua.lua_pushnumber(L, 0);
  return 1;
};

/** os.time() as a float (LuaJIT numbers are doubles), from the stream's clock. */
function osTime(L: LuaState, orig: LuaCFunction): number {
  if (lua.lua_isnoneornil(L, 1)) {
    lua.lua_pushnumber(L, Math.floor((current?.now() ?? Date.now()) / 1000));
    return 1;
  }
  const n = orig(L);
  lua.lua_pushnumber(L, lua.lua_tonumber(L, -1));
  lua.lua_replace(L, -2);
  return n;
}

/**
 * os.date(fmt [, t]): the default time is the stream's clock. fengari ignores
 * the "!" (UTC) prefix of a format and prints it; here the time is shifted by
 * the local offset instead, so the local-time formatter prints UTC fields.
 */
function osDate(L: LuaState, orig: LuaCFunction): number {
  const fmt = lauxlib.luaL_optlstring(L, 1, '%c') as Uint8Array;
  const t = lua.lua_isnoneornil(L, 2) ? Math.floor((current?.now() ?? Date.now()) / 1000) : lauxlib.luaL_checkinteger(L, 2);
  lua.lua_settop(L, 0);
  if (fmt[0] === 33 /* ! */ && fmt[1] !== 42 /* * */) {
    lua.lua_pushstring(L, fmt.subarray(1));
    lua.lua_pushinteger(L, t + new Date(t * 1000).getTimezoneOffset() * 60);
  } else {
    lua.lua_pushstring(L, fmt);
    lua.lua_pushinteger(L, t);
  }
  return orig(L);
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/**
 * string.format with LuaJIT's %d/%i/%x/%X for integral floats beyond 32 bits
 * (fengari's integers are 32-bit, so it refuses them): those conversions are
 * rendered here and passed on as %s. Everything else goes to fengari as is.
 */
function formatShim(L: LuaState, orig: LuaCFunction): number {
  const fmt = lauxlib.luaL_checkstring(L, 1);
  if (!fmt.includes(37 /* % */)) return orig(L);
  const text = Buffer.from(fmt.buffer, fmt.byteOffset, fmt.byteLength).toString('latin1');
  const spec = /%(%|([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z]))/g;
  let arg = 1;
  let out = '';
  let last = 0;
  let changed = false;
  for (let m = spec.exec(text); m !== null; m = spec.exec(text)) {
    if (m[1] === '%') continue;
    arg++;
    const conv = m[5] as string;
    if (!'diXx'.includes(conv) || lua.lua_type(L, arg) !== lua.LUA_TNUMBER || lua.lua_isinteger(L, arg)) continue;
    const n = lua.lua_tonumber(L, arg);
    if (!Number.isInteger(n) || (n <= INT32_MAX && n >= INT32_MIN) || Math.abs(n) >= 2 ** 63) continue;
    if ((conv === 'x' || conv === 'X') && n < 0) continue;
    const rendered = renderInteger(BigInt(n), m[2] as string, m[3] as string, m[4], conv);
    lua.lua_pushstring(L, Buffer.from(rendered, 'latin1'));
    lua.lua_replace(L, arg);
    out += `${text.slice(last, m.index)}%s`;
    last = m.index + m[0].length;
    changed = true;
  }
  if (!changed) return orig(L);
  out += text.slice(last);
  lua.lua_pushstring(L, Buffer.from(out, 'latin1'));
  lua.lua_replace(L, 1);
  return orig(L);
}

function renderInteger(n: bigint, flags: string, width: string, precision: string | undefined, conv: string): string {
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString(conv === 'd' || conv === 'i' ? 10 : 16);
  if (conv === 'X') digits = digits.toUpperCase();
  if (precision !== undefined && precision !== '') digits = digits.padStart(Number(precision), '0');
  let sign = neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  if (flags.includes('#') && conv !== 'd' && conv !== 'i' && n !== 0n) sign += conv === 'X' ? '0X' : '0x';
  const w = width === '' ? 0 : Number(width);
  let body = sign + digits;
  if (body.length < w) {
    if (flags.includes('-')) body = body.padEnd(w, ' ');
    else if (flags.includes('0') && precision === undefined) body = sign + digits.padStart(w - sign.length, '0');
    else body = body.padStart(w, ' ');
  }
  return body;
}

/**
 * The one place that loads fengari (Lua 5.3 in JavaScript). Before fengari's
 * libraries load, it patches three things that fengari reads only once, at
 * module load:
 * - number formatting: integral floats print without ".0" and floats use C's
 *   "%.14g" (inf, nan, 1e+15), as LuaJIT prints them;
 * - the luaL_Buffer entry points the string and table libraries use, so a
 *   string that would exceed the active size cap is refused *before* it is
 *   allocated;
 * - the two stack setters every new string goes through, so every string is
 *   charged to the running budget and checked against the cap.
 * Nothing else in iacdash may import fengari directly.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A fengari lua_State (a thread). Opaque to us. */
export type LuaState = { readonly __luaState: unique symbol };
/** A Lua string as fengari stores it: raw bytes. */
export type LuaString = Uint8Array;
/** A C function as fengari calls it. */
export type LuaCFunction = (L: LuaState) => number;
/** A JS handle on a Lua value (lua_toproxy): call it to push the value on a state of the same VM. */
export type LuaProxy = (L: LuaState) => void;
/** Debug record handed to hooks. */
export interface LuaDebug { event: number; currentline: number; short_src: LuaString }
type Hook = (L: LuaState, ar: LuaDebug) => void;
type Str = LuaString | string;

/** The subset of fengari's lua.h we use. */
export interface LuaApi {
  LUA_OK: number; LUA_YIELD: number; LUA_ERRRUN: number; LUA_ERRSYNTAX: number; LUA_ERRMEM: number; LUA_ERRERR: number;
  LUA_TNONE: number; LUA_TNIL: number; LUA_TBOOLEAN: number; LUA_TLIGHTUSERDATA: number; LUA_TNUMBER: number;
  LUA_TSTRING: number; LUA_TTABLE: number; LUA_TFUNCTION: number; LUA_TUSERDATA: number; LUA_TTHREAD: number;
  LUA_MULTRET: number; LUA_MASKCOUNT: number; LUA_REGISTRYINDEX: number; LUA_RIDX_GLOBALS: number;
  lua_absindex(L: LuaState, i: number): number;
  lua_atnativeerror(L: LuaState, f: LuaCFunction): void;
  lua_call(L: LuaState, nargs: number, nresults: number): void;
  lua_checkstack(L: LuaState, n: number): boolean;
  lua_concat(L: LuaState, n: number): void;
  lua_copy(L: LuaState, from: number, to: number): void;
  lua_createtable(L: LuaState, narr: number, nrec: number): void;
  lua_error(L: LuaState): never;
  lua_getfield(L: LuaState, i: number, k: Str): number;
  lua_getmetatable(L: LuaState, i: number): boolean;
  lua_gettop(L: LuaState): number;
  lua_insert(L: LuaState, i: number): void;
  lua_isinteger(L: LuaState, i: number): boolean;
  lua_isnoneornil(L: LuaState, i: number): boolean;
  lua_isstring(L: LuaState, i: number): boolean;
  lua_load(L: LuaState, reader: unknown, data: unknown, chunkname: Str, mode: Str | null): number;
  lua_newtable(L: LuaState): void;
  lua_newthread(L: LuaState): LuaState;
  lua_newuserdata(L: LuaState, size: number): Record<string, unknown>;
  lua_next(L: LuaState, i: number): boolean;
  lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
  lua_pop(L: LuaState, n: number): void;
  lua_pushboolean(L: LuaState, b: boolean | number): void;
  lua_pushinteger(L: LuaState, n: number): void;
  lua_pushjsclosure(L: LuaState, f: LuaCFunction, n: number): void;
  lua_pushjsfunction(L: LuaState, f: LuaCFunction): void;
  lua_pushlightuserdata(L: LuaState, p: unknown): void;
  lua_pushliteral(L: LuaState, s: string): void;
  lua_pushnil(L: LuaState): void;
  lua_pushnumber(L: LuaState, n: number): void;
  lua_pushstring(L: LuaState, s: Str): LuaString;
  lua_pushvalue(L: LuaState, i: number): void;
  lua_rawequal(L: LuaState, a: number, b: number): boolean;
  lua_rawget(L: LuaState, i: number): number;
  lua_rawgeti(L: LuaState, i: number, n: number): number;
  lua_rawlen(L: LuaState, i: number): number;
  lua_rawset(L: LuaState, i: number): void;
  lua_rawseti(L: LuaState, i: number, n: number): void;
  lua_remove(L: LuaState, i: number): void;
  lua_replace(L: LuaState, i: number): void;
  lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
  lua_setfield(L: LuaState, i: number, k: Str): void;
  lua_sethook(L: LuaState, f: Hook | null, mask: number, count: number): void;
  lua_setmetatable(L: LuaState, i: number): void;
  lua_setupvalue(L: LuaState, funcindex: number, n: number): LuaString | null;
  lua_status(L: LuaState): number;
  lua_tocfunction(L: LuaState, i: number): LuaCFunction | null;
  lua_settop(L: LuaState, i: number): void;
  lua_toboolean(L: LuaState, i: number): boolean;
  lua_tojsstring(L: LuaState, i: number): string;
  lua_tonumber(L: LuaState, i: number): number;
  lua_topointer(L: LuaState, i: number): unknown;
  lua_toproxy(L: LuaState, i: number): LuaProxy;
  lua_tostring(L: LuaState, i: number): LuaString | null;
  lua_tothread(L: LuaState, i: number): LuaState;
  lua_touserdata(L: LuaState, i: number): unknown;
  lua_type(L: LuaState, i: number): number;
  lua_upvalueindex(i: number): number;
  lua_xmove(from: LuaState, to: LuaState, n: number): void;
  lua_yield(L: LuaState, n: number): number;
}

/** The subset of fengari's lauxlib.h we use. */
export interface LauxApi {
  luaL_argerror(L: LuaState, arg: number, msg: Str): never;
  luaL_checkany(L: LuaState, arg: number): void;
  luaL_checkinteger(L: LuaState, arg: number): number;
  luaL_checknumber(L: LuaState, arg: number): number;
  luaL_checkstring(L: LuaState, arg: number): LuaString;
  luaL_checklstring(L: LuaState, arg: number): LuaString;
  luaL_optlstring(L: LuaState, arg: number, def: Str | null): LuaString | null;
  luaL_checktype(L: LuaState, arg: number, t: number): void;
  luaL_checkudata(L: LuaState, arg: number, tname: Str): Record<string, unknown>;
  luaL_getmetatable(L: LuaState, tname: Str): number;
  luaL_loadbufferx(L: LuaState, buff: LuaString, size: number, name: Str, mode: Str | null): number;
  luaL_newmetatable(L: LuaState, tname: Str): number;
  luaL_newstate(): LuaState;
  luaL_optinteger(L: LuaState, arg: number, def: number): number;
  luaL_requiref(L: LuaState, name: Str, open: LuaCFunction, glb: number): void;
  luaL_testudata(L: LuaState, arg: number, tname: Str): Record<string, unknown> | null;
  luaL_tolstring(L: LuaState, i: number): LuaString;
  luaL_traceback(L: LuaState, L1: LuaState, msg: Str | null, level: number): void;
  luaL_typename(L: LuaState, i: number): LuaString;
  luaL_where(L: LuaState, level: number): void;
}

/** The library openers we use. */
export interface LualibApi {
  luaopen_base: LuaCFunction; luaopen_coroutine: LuaCFunction; luaopen_table: LuaCFunction;
  luaopen_string: LuaCFunction; luaopen_math: LuaCFunction; luaopen_utf8: LuaCFunction; luaopen_os: LuaCFunction;
}

interface LuaBuffer { L: LuaState; n: number; b: Uint8Array }
interface TString { realstring: Uint8Array }

/**
 * What the running script is charged for each string, and how an oversized
 * one is refused. Installed by the runner only while Lua code runs.
 */
export interface StringGuard {
  /** Largest string, in bytes, a script may build. */
  readonly maxBytes: number;
  /** Called for every string that reaches a Lua stack; may raise a Lua error on L. */
  charge(L: LuaState, bytes: number): void;
  /** Raises a Lua error on L; never returns. */
  refuse(L: LuaState, bytes: number): never;
}

let guard: StringGuard | null = null;

/** Installs (or clears, with null) the guard; returns the previous one. */
export function setStringGuard(next: StringGuard | null): StringGuard | null {
  const prev = guard;
  guard = next;
  return prev;
}

/** C's printf("%.14g", x), which is how LuaJIT and C Lua print numbers. */
export function formatG14(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const exp = x.toExponential(13); // d.ddddddddddddde±X: 14 significant digits, rounded
  const [mant = '', e = '0'] = exp.split('e');
  const X = Number(e);
  if (X < -4 || X >= 14) {
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const ae = Math.abs(X);
    return `${m}e${X < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  const fixed = x.toFixed(13 - X);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function load(): { lua: LuaApi; lauxlib: LauxApi; lualib: LualibApi } {
  const cached = (name: string): boolean => require.cache[require.resolve(`fengari/src/${name}`)] !== undefined;
  if (cached('lobject.js') || cached('lstrlib.js')) {
    throw new Error('iacdash lua: fengari was loaded before src/lua/fengari.ts; its limits and number formatting cannot be installed');
  }
  // defs.js first: it and luaconf.js require each other, and this is the order fengari itself uses.
  require('fengari/src/defs.js');
  const luaconf = require('fengari/src/luaconf.js') as Record<string, unknown>;
  luaconf.LUA_COMPAT_FLOATSTRING = true;
  luaconf.lua_number2str = formatG14;

  const lauxlib = require('fengari/src/lauxlib.js') as Record<string, unknown>;
  const lobject = require('fengari/src/lobject.js') as Record<string, unknown>;
  const grow = (B: LuaBuffer, more: number): void => {
    if (guard !== null && B.n + more > guard.maxBytes) guard.refuse(B.L, B.n + more);
  };
  const prepbuffsize = lauxlib.luaL_prepbuffsize as (B: LuaBuffer, sz: number) => Uint8Array;
  const buffinitsize = lauxlib.luaL_buffinitsize as (L: LuaState, B: LuaBuffer, sz: number) => Uint8Array;
  const addlstring = lauxlib.luaL_addlstring as (B: LuaBuffer, s: Uint8Array, l: number) => void;
  const addstring = lauxlib.luaL_addstring as (B: LuaBuffer, s: Uint8Array) => void;
  const addchar = lauxlib.luaL_addchar as (B: LuaBuffer, c: number) => void;
  const addvalue = lauxlib.luaL_addvalue as (B: LuaBuffer) => void;
  const rawlen = (require('fengari/src/lua.js') as LuaApi).lua_rawlen;
  lauxlib.luaL_prepbuffsize = (B: LuaBuffer, sz: number) => { grow(B, sz); return prepbuffsize(B, sz); };
  lauxlib.luaL_buffinitsize = (L: LuaState, B: LuaBuffer, sz: number) => {
    if (guard !== null && sz > guard.maxBytes) guard.refuse(L, sz);
    return buffinitsize(L, B, sz);
  };
  lauxlib.luaL_addlstring = (B: LuaBuffer, s: Uint8Array, l: number) => { grow(B, l); addlstring(B, s, l); };
  lauxlib.luaL_addstring = (B: LuaBuffer, s: Uint8Array) => { grow(B, s.length); addstring(B, s); };
  lauxlib.luaL_addchar = (B: LuaBuffer, c: number) => { grow(B, 1); addchar(B, c); };
  lauxlib.luaL_addvalue = (B: LuaBuffer) => { grow(B, rawlen(B.L, -1)); addvalue(B); };

  // Every new string reaches a stack through one of these two (the VM's
  // concatenation uses setsvalue2s, the C API pushsvalue2s).
  const push = lobject.pushsvalue2s as (L: LuaState, ts: TString) => void;
  const set = lobject.setsvalue2s as (L: LuaState, idx: number, ts: TString) => void;
  lobject.pushsvalue2s = (L: LuaState, ts: TString) => {
    if (guard !== null) check(L, ts.realstring.length);
    push(L, ts);
  };
  lobject.setsvalue2s = (L: LuaState, idx: number, ts: TString) => {
    if (guard !== null) check(L, ts.realstring.length);
    set(L, idx, ts);
  };

  // The lexer calls lobject.luaO_str2num at run time, so this reaches it; the
  // VM's string coercions also do, which is why the switch is only on during loads.
  const str2num = lobject.luaO_str2num as (s: Uint8Array, o: NumTValue) => number;
  lobject.luaO_str2num = (s: Uint8Array, o: NumTValue) => {
    const r = str2num(s, o);
    if (floatLiterals && r !== 0 && o.ttisinteger()) o.setfltvalue(numeralValue(s));
    return r;
  };

  // Table order: fengari iterates keys in insertion order and its table
  // constructor inserts list items last-to-first, so pairs({"a","b"}) would
  // yield 2 before 1. A new integer key is linked next to its neighbour k-1
  // or k+1, so integer keys iterate in ascending order, as LuaJIT's array part.
  const ltable = require('fengari/src/ltable.js') as Record<string, unknown>;
  const setint = ltable.luaH_setint as (t: LuaTable, key: number, value: NumTValue & { ttisnil(): boolean }) => void;
  const setfrom = ltable.luaH_setfrom as (L: LuaState, t: LuaTable, key: KeyTValue, value: { ttisnil(): boolean }) => void;
  const TValue = lobject.TValue as new (type: number, value: unknown) => unknown;
  copyEntries = (_L: LuaState, dst: LuaTable, src: LuaTable) => {
    // Fresh entries and TValues (fengari mutates them in place), one native Map build.
    const pairs: Array<[unknown, TableEntry]> = [];
    let prev: TableEntry | undefined;
    for (const [hash, e] of src.strong) {
      const k = e.key as { type: number; value: unknown };
      const v = e.value as { type: number; value: unknown };
      const ne: TableEntry = { key: new TValue(k.type, k.value) as TableEntry['key'], value: new TValue(v.type, v.value), p: prev, n: undefined };
      if (prev !== undefined) prev.n = ne;
      else dst.f = ne;
      prev = ne;
      pairs.push([hash, ne]);
    }
    dst.l = prev;
    dst.strong = new Map(pairs);
  };
  ltable.luaH_setint = (t: LuaTable, key: number, value: NumTValue & { ttisnil(): boolean }) => {
    const fresh = !value.ttisnil() && !t.strong.has(key);
    setint(t, key, value);
    if (fresh) placeIntegerKey(t, key);
  };
  ltable.luaH_setfrom = (L: LuaState, t: LuaTable, key: KeyTValue, value: { ttisnil(): boolean }) => {
    const k = key.value;
    const fresh = typeof k === 'number' && Number.isInteger(k) && !value.ttisnil() && !t.strong.has(k);
    setfrom(L, t, key, value);
    if (fresh) placeIntegerKey(t, k as number);
  };

  const fengari = require('fengari') as { lua: LuaApi; lauxlib: LauxApi; lualib: LualibApi };
  return fengari;
}

interface NumTValue { ttisinteger(): boolean; setfltvalue(x: number): void }
interface TableEntry { key: { value: unknown }; value: unknown; p: TableEntry | undefined; n: TableEntry | undefined }
interface LuaTable { strong: Map<unknown, TableEntry>; f: TableEntry | undefined; l: TableEntry | undefined }
interface KeyTValue { value: unknown }

/** Moves the just-appended entry of integer key k next to k-1 (after) or k+1 (before). */
function placeIntegerKey(t: LuaTable, k: number): void {
  const e = t.l;
  if (e === undefined || e.key.value !== k) return;
  const prev = t.strong.get(k - 1);
  const next = prev === undefined ? t.strong.get(k + 1) : undefined;
  if (prev !== undefined ? prev === e.p : next === undefined) return;
  // Unlink from the tail.
  t.l = e.p;
  if (e.p !== undefined) e.p.n = undefined;
  else t.f = undefined;
  if (prev !== undefined) {
    e.p = prev;
    e.n = prev.n;
    if (prev.n !== undefined) prev.n.p = e;
    else t.l = e;
    prev.n = e;
  } else {
    const nx = next as TableEntry;
    e.n = nx;
    e.p = nx.p;
    if (nx.p !== undefined) nx.p.n = e;
    else t.f = e;
    nx.p = e;
  }
}

let copyEntries: (L: LuaState, dst: LuaTable, src: LuaTable) => void = () => {
  throw new Error('iacdash lua: fengari not loaded');
};

/**
 * Pushes a shallow copy of the table at index i (whose keys were only ever
 * added, so its Map order is its iteration order). It builds fengari's
 * table internals directly, many times faster than lua_next/lua_rawset; fresh
 * globals are made for every stream.
 */
export function pushTableCopy(L: LuaState, i: number): void {
  const src = lua.lua_topointer(L, i) as LuaTable;
  lua.lua_createtable(L, 0, 0);
  copyEntries(L, lua.lua_topointer(L, -1) as LuaTable, src);
}

const keyCaches = new WeakMap<object, Map<string, LuaProxy>>();

/**
 * Pushes an interned string: the same Lua string object every time on this
 * VM, so fengari hashes it once (it re-hashes every new string it makes).
 * For the constant names the runtime looks up on every request.
 */
export function pushKey(L: LuaState, s: string): void {
  const registry = lua.lua_topointer(L, lua.LUA_REGISTRYINDEX) as object;
  let cache = keyCaches.get(registry);
  if (cache === undefined) {
    cache = new Map();
    keyCaches.set(registry, cache);
  }
  const hit = cache.get(s);
  if (hit !== undefined) {
    hit(L);
    return;
  }
  lua.lua_pushstring(L, toLua(s));
  cache.set(s, lua.lua_toproxy(L, -1));
}

/** lua_rawget with an interned key; pushes the value and returns its type. */
export function rawGetKey(L: LuaState, table: number, key: string): number {
  const t = lua.lua_absindex(L, table);
  pushKey(L, key);
  return lua.lua_rawget(L, t);
}

/** lua_rawset of the value on top under an interned key; pops the value. */
export function rawSetKey(L: LuaState, table: number, key: string): void {
  const t = lua.lua_absindex(L, table);
  pushKey(L, key);
  lua.lua_insert(L, -2);
  lua.lua_rawset(L, t);
}

let floatLiterals = false;

/**
 * Runs f (a lua_load) with numeric literals read as floats, as LuaJIT reads
 * them: fengari's integers are 32-bit, so `86400 * 1000 * 30` would wrap.
 */
export function withFloatLiterals<T>(f: () => T): T {
  floatLiterals = true;
  try {
    return f();
  } finally {
    floatLiterals = false;
  }
}

/** The value of an integer numeral (decimal or hex) as a double, without 32-bit wrap-around. */
function numeralValue(s: Uint8Array): number {
  const text = Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('latin1').trim();
  const hex = /^(-?)0[xX]([0-9a-fA-F]+)$/.exec(text);
  if (hex !== null) return (hex[1] === '-' ? -1 : 1) * parseInt(hex[2] as string, 16);
  return Number(text);
}

function check(L: LuaState, bytes: number): void {
  const g = guard as StringGuard;
  if (bytes > g.maxBytes) g.refuse(L, bytes);
  g.charge(L, bytes);
}

const fengari = load();

/** fengari's lua.h. */
export const lua = fengari.lua;
/** fengari's lauxlib.h. */
export const lauxlib = fengari.lauxlib;
/** fengari's lualib.h. */
export const lualib = fengari.lualib;

const encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** JS string to Lua bytes (UTF-8). */
export function toLua(s: string): LuaString {
  return encoder.encode(s);
}

/** Lua bytes to a JS string (UTF-8, invalid sequences become U+FFFD). */
export function fromLua(b: LuaString): string {
  return utf8Decoder.decode(b);
}

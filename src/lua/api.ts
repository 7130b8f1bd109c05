/**
 * Envoy's Lua stream handle API (envoy.filters.http.lua) over plain data:
 * the handle, header maps, buffers, route metadata, stream info, dynamic
 * metadata, connection and SSL objects. Semantics and error messages follow
 * source/extensions/filters/http/lua/{lua_filter,wrappers}.cc and
 * filters/common/lua/wrappers.cc; every difference is listed in API.md.
 */
import { fromLua, lauxlib, lua, rawGetKey, rawSetKey, toLua, type LuaCFunction, type LuaState } from './fengari.js';
import { pushJson, pushStruct, readJson } from './convert.js';
import { lowerName, textName, type HeaderModel } from './headers.js';
import type { PhaseRun, Wrapper } from './phase.js';
import type { JsonValue, LogLevel, SslInfo } from './types.js';
import { raise, unsupported, type LuaVm } from './vm.js';

const T_HANDLE = 'iacdash.handle';
const T_HEADERS = 'iacdash.headers';
const T_BUFFER = 'iacdash.buffer';
const T_METADATA = 'iacdash.metadata';
const T_STREAMINFO = 'iacdash.streaminfo';
const T_DYNMETA = 'iacdash.dynamicmetadata';
const T_CONNECTION = 'iacdash.connection';
const T_SSL = 'iacdash.ssl';

const DEAD = 'object used outside of proper scope';

interface HandleObj extends Wrapper { run: PhaseRun }
interface HeadersObj extends Wrapper {
  run: PhaseRun;
  map: HeaderModel;
  /** headers: Envoy's stream headers; trailers: always modifiable; request: read-only copy in the response phase. */
  kind: 'headers' | 'trailers' | 'request';
  iterating: boolean;
}
interface BufferTarget {
  bytes(): Buffer;
  set(L: LuaState, b: Buffer): void;
}
interface BufferObj extends Wrapper { run: PhaseRun; target: BufferTarget }
interface MetadataObj extends Wrapper { fields: Record<string, JsonValue>; iterating: boolean }
interface StreamInfoObj extends Wrapper { run: PhaseRun }
interface DynMetaObj extends Wrapper { run: PhaseRun; iterating: boolean }
interface SslObj extends Wrapper { info: SslInfo }

type Methods = Record<string, LuaCFunction>;

/** Registers the metatables of every API object in a VM; call once per VM. */
export function installApi(vm: LuaVm): void {
  const L = vm.L;
  register(L, T_HANDLE, handleMethods);
  register(L, T_HEADERS, headerMethods);
  register(L, T_BUFFER, bufferMethods);
  register(L, T_METADATA, metadataMethods);
  register(L, T_STREAMINFO, streamInfoMethods);
  register(L, T_DYNMETA, dynMetaMethods);
  register(L, T_CONNECTION, connectionMethods);
  register(L, T_SSL, sslMethods);
}

function register(L: LuaState, tname: string, methods: Methods): void {
  lauxlib.luaL_newmetatable(L, toLua(tname));
  lua.lua_createtable(L, 0, Object.keys(methods).length);
  for (const [name, fn] of Object.entries(methods)) {
    if (name.startsWith('__')) continue;
    lua.lua_pushjsfunction(L, fn);
    rawSetKey(L, -2, name);
  }
  rawSetKey(L, -2, '__index');
  for (const [name, fn] of Object.entries(methods)) {
    if (!name.startsWith('__')) continue;
    lua.lua_pushjsfunction(L, fn);
    rawSetKey(L, -2, name);
  }
  // Metatables are shared by every stream of the VM: scripts may not reach them.
  lua.lua_pushboolean(L, false);
  rawSetKey(L, -2, '__metatable');
  lua.lua_pop(L, 1);
}

/** Pushes a new userdata of type tname carrying obj; registers obj to die with the run's wrappers. */
function pushObject(L: LuaState, run: PhaseRun | null, tname: string, obj: Wrapper): void {
  const ud = lua.lua_newuserdata(L, 0);
  ud.obj = obj;
  ud.tname = tname;
  rawGetKey(L, lua.LUA_REGISTRYINDEX, tname);
  lua.lua_setmetatable(L, -2);
  if (run !== null) run.wrappers.push(obj);
}

/** Pushes the cached object for key, or makes one; handle:headers() returns the same object until the next yield. */
function pushCached(L: LuaState, run: PhaseRun, key: string, tname: string, make: () => Wrapper): void {
  const hit = run.cache.get(key);
  if (hit !== undefined) {
    hit(L);
    return;
  }
  pushObject(L, run, tname, make());
  run.cache.set(key, lua.lua_toproxy(L, -1));
}

/** Pushes the stream handle for a phase; it is usable only while that phase runs. */
export function pushHandle(L: LuaState, run: PhaseRun): HandleObj {
  const obj: HandleObj = { dead: false, run };
  pushObject(L, null, T_HANDLE, obj);
  return obj;
}

function self<T extends Wrapper>(L: LuaState, tname: string): T {
  // Scripts cannot make userdata, so the tag set by pushObject identifies ours; the slow check gives Lua's message.
  let ud = lua.lua_touserdata(L, 1) as { obj?: unknown; tname?: unknown } | null;
  if (ud === null || typeof ud !== 'object' || ud.tname !== tname) ud = lauxlib.luaL_checkudata(L, 1, toLua(tname));
  const obj = ud.obj as T;
  if (obj.dead) raise(L, DEAD);
  return obj;
}

function handleRun(L: LuaState): PhaseRun {
  const h = self<HandleObj>(L, T_HANDLE);
  if (!h.run.live) raise(L, DEAD);
  return h.run;
}

/** luaL_checklstring, as a byte Buffer (copied: Lua strings must not be aliased). */
function argBytes(L: LuaState, i: number): Buffer {
  return Buffer.from(lauxlib.luaL_checklstring(L, i));
}

/** A header name argument: bytes as latin1, ASCII-lowercased (Envoy's LowerCaseString). */
function argName(L: LuaState, i: number): string {
  return lowerName(argBytes(L, i).toString('latin1'));
}

/** C's (int) cast of luaL_checknumber, as Envoy's getAtIndex/getBytes read indexes. */
function argInt(L: LuaState, i: number): number {
  const n = lauxlib.luaL_checknumber(L, i);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function pushBytes(L: LuaState, b: Uint8Array): void {
  lua.lua_pushstring(L, b);
}

/** Refuses names and values that could not travel as HTTP headers (see API.md: Envoy does not check here). */
function checkHeaderBytes(L: LuaState, what: string, b: Buffer): void {
  if (b.includes(0) || b.includes(10) || b.includes(13)) raise(L, `header ${what} contains NUL, CR or LF`);
}

function requireMainThread(L: LuaState, run: PhaseRun, call: string): void {
  if (L !== run.thread) {
    raise(L, `handle:${call} must be called from the envoy_on_${run.phase} coroutine, not from a nested coroutine`);
  }
}

// ---------------------------------------------------------------- handle

function logAt(level: LogLevel): LuaCFunction {
  return (L) => {
    const run = handleRun(L);
    run.log(level, fromLua(lauxlib.luaL_checkstring(L, 2)));
    return 0;
  };
}

function unsupportedMethod(name: string): LuaCFunction {
  return (L) => unsupported(L, `handle:${name}()`);
}

const handleMethods: Methods = {
  headers(L) {
    const run = handleRun(L);
    pushCached(L, run, 'headers', T_HEADERS, () => ({ dead: false, run, map: run.headers, kind: 'headers', iterating: false }) as HeadersObj);
    return 1;
  },
  body(L) {
    const run = handleRun(L);
    let always = false;
    if (lua.lua_gettop(L) >= 2) {
      lauxlib.luaL_checktype(L, 2, lua.LUA_TBOOLEAN);
      always = lua.lua_toboolean(L, 2);
    }
    if (run.endStream || run.bodyComplete) {
      if (!run.bufferedMode && run.sawBody) raise(L, 'cannot call body() after body has been streamed');
      return pushBody(L, run, always);
    }
    if (run.sawBody) raise(L, 'cannot call body() after body streaming has started');
    requireMainThread(L, run, 'body()');
    run.waiting = 'body';
    run.bufferedMode = true;
    run.alwaysWrap = always;
    return lua.lua_yield(L, 0);
  },
  bodyChunks(L) {
    const run = handleRun(L);
    if (run.sawBody) raise(L, 'cannot call bodyChunks after body processing has begun');
    lua.lua_pushjsfunction(L, (T) => {
      if (!run.live) raise(T, DEAD);
      if (run.endStream) return 0;
      requireMainThread(T, run, 'bodyChunks() iterator');
      run.waiting = 'chunk';
      return lua.lua_yield(T, 0);
    });
    return 1;
  },
  trailers(L) {
    const run = handleRun(L);
    if (run.endStream && run.trailers === null) return 0;
    if (run.trailers !== null) {
      const map = run.trailers;
      pushCached(L, run, 'trailers', T_HEADERS, () => ({ dead: false, run, map, kind: 'trailers', iterating: false }) as HeadersObj);
      return 1;
    }
    requireMainThread(L, run, 'trailers()');
    run.waiting = 'trailers';
    return lua.lua_yield(L, 0);
  },
  metadata(L) {
    const run = handleRun(L);
    const fields = run.stream.ctx.routeMetadata ?? {};
    pushCached(L, run, 'metadata', T_METADATA, () => ({ dead: false, fields, iterating: false }) as MetadataObj);
    return 1;
  },
  filterContext(L) {
    const run = handleRun(L);
    const fields = run.stream.ctx.filterContext ?? {};
    pushCached(L, run, 'filterContext', T_METADATA, () => ({ dead: false, fields, iterating: false }) as MetadataObj);
    return 1;
  },
  streamInfo(L) {
    const run = handleRun(L);
    pushCached(L, run, 'streamInfo', T_STREAMINFO, () => ({ dead: false, run }) as StreamInfoObj);
    return 1;
  },
  connection(L) {
    const run = handleRun(L);
    pushCached(L, run, 'connection', T_CONNECTION, () => ({ dead: false, run }) as StreamInfoObj);
    return 1;
  },
  downstreamRequestHeaders(L) {
    const run = handleRun(L);
    if (run.phase !== 'response') return unsupported(L, 'handle:downstreamRequestHeaders()', 'is only available in envoy_on_response');
    const map = run.stream.requestHeaders;
    if (map === null) return unsupported(L, 'handle:downstreamRequestHeaders()', 'is not available: no request phase ran in this stream');
    pushCached(L, run, 'requestHeaders', T_HEADERS, () => ({ dead: false, run, map, kind: 'request', iterating: false }) as HeadersObj);
    return 1;
  },
  logTrace: logAt('trace'),
  logDebug: logAt('debug'),
  logInfo: logAt('info'),
  logWarn: logAt('warn'),
  logErr: logAt('error'),
  logCritical: logAt('critical'),
  respond(L) {
    const run = handleRun(L);
    if (run.headersContinued) raise(L, 'respond() cannot be called if headers have been continued');
    lauxlib.luaL_checktype(L, 2, lua.LUA_TTABLE);
    const body = lua.lua_isnoneornil(L, 3) ? undefined : argBytes(L, 3);
    const headers = headersFromTable(L, 2);
    const statusValue = headers.find(([k]) => k === ':status')?.[1].toString('latin1');
    const status = statusValue !== undefined && /^\s*\+?\d+\s*$/.test(statusValue) ? Number(statusValue) : NaN;
    if (!(status >= 200 && status < 600)) raise(L, ':status must be between 200-599');
    if (run.phase === 'response') raise(L, 'respond not currently supported in the response path');
    requireMainThread(L, run, 'respond()');
    const out = headers.filter(([k]) => k !== ':status').map(([k, v]): [string, Buffer] => [textName(k), v]);
    run.responded = { status, headers: out, ...(body !== undefined ? { body } : {}) };
    run.waiting = null;
    return lua.lua_yield(L, 0);
  },
  base64Escape(L) {
    handleRun(L);
    lua.lua_pushstring(L, toLua(argBytes(L, 2).toString('base64')));
    return 1;
  },
  base64Decode(L) {
    handleRun(L);
    const text = argBytes(L, 2).toString('latin1');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1 || (text.includes('=') && text.length % 4 !== 0)) {
      lua.lua_pushnil(L);
      return 1;
    }
    pushBytes(L, Buffer.from(text, 'base64'));
    return 1;
  },
  timestamp(L) {
    const run = handleRun(L);
    if (!lua.lua_isnoneornil(L, 2) && resolutionArg(L) !== 0) raise(L, 'timestamp format must be MILLISECOND.');
    lua.lua_pushnumber(L, Math.floor(run.stream.now()));
    return 1;
  },
  timestampString(L) {
    const run = handleRun(L);
    const res = lua.lua_isnoneornil(L, 2) ? 0 : resolutionArg(L);
    if (res === 0) lua.lua_pushstring(L, toLua(String(Math.floor(run.stream.now()))));
    else if (res === 1) {
      const micros = run.stream.ctx.now !== undefined ? run.stream.now() * 1000 : (performance.timeOrigin + performance.now()) * 1000;
      lua.lua_pushstring(L, toLua(String(Math.floor(micros))));
    } else raise(L, 'timestamp format must be MILLISECOND or MICROSECOND.');
    return 1;
  },
  httpCall: unsupportedMethod('httpCall'),
  importPublicKey: unsupportedMethod('importPublicKey'),
  verifySignature: unsupportedMethod('verifySignature'),
  clearRouteCache: unsupportedMethod('clearRouteCache'),
  setUpstreamOverrideHost: unsupportedMethod('setUpstreamOverrideHost'),
  connectionStreamInfo: unsupportedMethod('connectionStreamInfo'),
  virtualHost: unsupportedMethod('virtualHost'),
  route: unsupportedMethod('route'),
  stats: unsupportedMethod('stats'),
};

/** EnvoyTimestampResolution argument: a number or a numeric string; -1 if neither. */
function resolutionArg(L: LuaState): number {
  const s = argBytes(L, 2).toString('latin1');
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number(s) : -1;
}

/** Pushes the buffered body (body() at end of stream); 0 results when there is none and always_wrap is false. */
export function pushBody(L: LuaState, run: PhaseRun, always: boolean): number {
  const hit = run.cache.get('body');
  if (hit !== undefined) {
    hit(L);
    return 1;
  }
  if (run.body === null) {
    if (!always) return 0;
    run.body = Buffer.alloc(0);
  }
  const target: BufferTarget = {
    bytes: () => run.body as Buffer,
    set: (T, b) => {
      if (run.bodyReleased) raise(T, 'the body was already sent on and can no longer be modified');
      run.body = b;
      run.bodyReplaced = true;
    },
  };
  pushObject(L, run, T_BUFFER, { dead: false, run, target } as BufferObj);
  run.cache.set('body', lua.lua_toproxy(L, -1));
  return 1;
}

/** Pushes a streamed chunk (the bodyChunks() iterator's value). */
export function pushChunk(L: LuaState, run: PhaseRun, chunk: { bytes: Buffer }): void {
  const target: BufferTarget = { bytes: () => chunk.bytes, set: (_T, b) => { chunk.bytes = b; } };
  pushObject(L, run, T_BUFFER, { dead: false, run, target } as BufferObj);
}

/** Pushes the trailers object. */
export function pushTrailers(L: LuaState, run: PhaseRun): number {
  if (run.trailers === null) return 0;
  const map = run.trailers;
  pushCached(L, run, 'trailers', T_HEADERS, () => ({ dead: false, run, map, kind: 'trailers', iterating: false }) as HeadersObj);
  return 1;
}

/** Envoy's buildHeadersFromTable: string keys; a value is a string, a number, or a table of them. */
function headersFromTable(L: LuaState, idx: number): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  const coerce = (i: number, key: string): Buffer => {
    const t = lua.lua_type(L, i);
    if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) {
      raise(L, `header value for '${key}' must be a string or a number, got ${fromLua(lauxlib.luaL_typename(L, i))}`);
    }
    lua.lua_pushvalue(L, i);
    const b = Buffer.from(lua.lua_tostring(L, -1) as Uint8Array);
    lua.lua_pop(L, 1);
    checkHeaderBytes(L, 'value', b);
    return b;
  };
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx)) {
    if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) {
      raise(L, `header key must be a string, got ${fromLua(lauxlib.luaL_typename(L, -2))}`);
    }
    const key = lowerName(Buffer.from(lua.lua_tostring(L, -2) as Uint8Array).toString('latin1'));
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      const inner = lua.lua_absindex(L, -1);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, inner)) {
        out.push([key, coerce(lua.lua_absindex(L, -1), key)]);
        lua.lua_pop(L, 1);
      }
    } else {
      out.push([key, coerce(lua.lua_absindex(L, -1), key)]);
    }
    lua.lua_pop(L, 1);
  }
  return out;
}

// ---------------------------------------------------------------- headers

function checkModifiable(L: LuaState, h: HeadersObj): void {
  if (h.iterating) raise(L, 'header map cannot be modified while iterating');
  if (h.kind === 'request' || (h.kind === 'headers' && h.run.headersContinued)) raise(L, 'header map can no longer be modified');
}

/** The map, name and value of add()/replace(), checked as Envoy checks them. */
function headerWrite(L: LuaState): { h: HeadersObj; name: string; value: Buffer } {
  const h = self<HeadersObj>(L, T_HEADERS);
  checkModifiable(L, h);
  const name = argName(L, 2);
  const value = argBytes(L, 3);
  checkHeaderBytes(L, 'name', Buffer.from(name, 'latin1'));
  checkHeaderBytes(L, 'value', value);
  return { h, name, value };
}

const headerMethods: Methods = {
  add(L) {
    const { h, name, value } = headerWrite(L);
    h.map.add(name, value);
    return 0;
  },
  get(L) {
    const h = self<HeadersObj>(L, T_HEADERS);
    const values = h.map.values(argName(L, 2));
    if (values.length === 0) return 0;
    pushBytes(L, values.length === 1 ? (values[0] as Buffer) : joinComma(values));
    return 1;
  },
  getAtIndex(L) {
    const h = self<HeadersObj>(L, T_HEADERS);
    const values = h.map.values(argName(L, 2));
    const i = argInt(L, 3);
    if (i < 0 || i >= values.length) return 0;
    pushBytes(L, values[i] as Buffer);
    return 1;
  },
  getNumValues(L) {
    const h = self<HeadersObj>(L, T_HEADERS);
    lua.lua_pushnumber(L, h.map.values(argName(L, 2)).length);
    return 1;
  },
  remove(L) {
    const h = self<HeadersObj>(L, T_HEADERS);
    checkModifiable(L, h);
    h.map.remove(argName(L, 2));
    return 0;
  },
  replace(L) {
    const { h, name, value } = headerWrite(L);
    h.map.replace(name, value);
    return 0;
  },
  setHttp1ReasonPhrase(L) {
    self<HeadersObj>(L, T_HEADERS);
    return unsupported(L, 'headers:setHttp1ReasonPhrase()');
  },
  __pairs(L) {
    const h = self<HeadersObj>(L, T_HEADERS);
    if (h.iterating) raise(L, 'cannot create a second iterator before completing the first');
    const snapshot = h.map.entries.map((e) => [e.name, e.value] as const);
    h.iterating = true;
    let pos = 0;
    lua.lua_pushjsfunction(L, (T) => {
      if (h.dead) raise(T, DEAD);
      if (pos >= snapshot.length) {
        h.iterating = false;
        return 0;
      }
      const [name, value] = snapshot[pos++] as readonly [string, Buffer];
      pushBytes(T, Buffer.from(name, 'latin1'));
      pushBytes(T, value);
      return 2;
    });
    return 1;
  },
};

function joinComma(values: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  values.forEach((v, i) => {
    if (i > 0) parts.push(Buffer.from(','));
    parts.push(v);
  });
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- buffer

const bufferMethods: Methods = {
  length(L) {
    const b = self<BufferObj>(L, T_BUFFER);
    lua.lua_pushnumber(L, b.target.bytes().length);
    return 1;
  },
  getBytes(L) {
    const b = self<BufferObj>(L, T_BUFFER);
    const index = argInt(L, 2);
    const length = argInt(L, 3);
    const bytes = b.target.bytes();
    if (index < 0 || length < 0 || index + length > bytes.length) {
      raise(L, 'index/length must be >= 0 and (index + length) must be <= buffer size');
    }
    pushBytes(L, bytes.subarray(index, index + length));
    return 1;
  },
  setBytes(L) {
    const b = self<BufferObj>(L, T_BUFFER);
    const bytes = argBytes(L, 2);
    const run = b.run;
    if (bytes.length > run.stream.limits.maxBodyBytes) {
      run.budget.kill(L, 'lua_memory_exceeded', `iacdash: body of ${bytes.length} bytes exceeds the limit of ${run.stream.limits.maxBodyBytes} bytes`);
    }
    b.target.set(L, bytes);
    // Envoy's BufferWrapper sets content-length on the stream's headers; once they went on, that has no effect.
    if (!run.headersContinued) run.headers.setInPlace('content-length', Buffer.from(String(bytes.length)));
    lua.lua_pushnumber(L, bytes.length);
    return 1;
  },
};

// ---------------------------------------------------------------- metadata

function pairsOver(L: LuaState, obj: Wrapper & { iterating: boolean }, entries: Array<[string, JsonValue | Record<string, JsonValue>]>, struct: boolean): number {
  if (obj.iterating) raise(L, 'cannot create a second iterator before completing the first');
  obj.iterating = true;
  let pos = 0;
  lua.lua_pushjsfunction(L, (T) => {
    if (obj.dead) raise(T, DEAD);
    if (pos >= entries.length) {
      obj.iterating = false;
      return 0;
    }
    const [k, v] = entries[pos++] as [string, JsonValue];
    lua.lua_pushstring(T, toLua(k));
    if (struct) pushStruct(T, v as Record<string, JsonValue>);
    else pushJson(T, v);
    return 2;
  });
  return 1;
}

const metadataMethods: Methods = {
  get(L) {
    const m = self<MetadataObj>(L, T_METADATA);
    const key = fromLua(lauxlib.luaL_checkstring(L, 2));
    if (!Object.hasOwn(m.fields, key)) return 0;
    pushJson(L, m.fields[key]);
    return 1;
  },
  __pairs(L) {
    const m = self<MetadataObj>(L, T_METADATA);
    return pairsOver(L, m, Object.entries(m.fields), false);
  },
};

const dynMetaMethods: Methods = {
  get(L) {
    const d = self<DynMetaObj>(L, T_DYNMETA);
    const fields = d.run.stream.dm.get(fromLua(lauxlib.luaL_checkstring(L, 2)));
    if (fields === undefined) return 0;
    pushStruct(L, fields);
    return 1;
  },
  set(L) {
    const d = self<DynMetaObj>(L, T_DYNMETA);
    if (d.iterating) raise(L, 'dynamic metadata map cannot be modified while iterating');
    const ns = fromLua(lauxlib.luaL_checkstring(L, 2));
    const key = fromLua(lauxlib.luaL_checkstring(L, 3));
    lua.lua_settop(L, 4);
    d.run.setMetadata(ns, key, readJson(L, 4));
    return 0;
  },
  __pairs(L) {
    const d = self<DynMetaObj>(L, T_DYNMETA);
    return pairsOver(L, d, [...d.run.stream.dm.entries()], true);
  },
};

// ---------------------------------------------------------------- stream info, connection, ssl

function fact(name: keyof NonNullable<PhaseRun['stream']['ctx']['streamInfo']>): LuaCFunction {
  return (L) => {
    const s = self<StreamInfoObj>(L, T_STREAMINFO);
    const v = s.run.stream.ctx.streamInfo?.[name];
    if (v === undefined) return unsupported(L, `streamInfo():${name}()`, 'is not available: the ext_proc request did not carry it');
    lua.lua_pushstring(L, toLua(v));
    return 1;
  };
}

function pushSsl(L: LuaState, run: PhaseRun, call: string): number {
  const ssl = run.stream.ctx.ssl;
  if (ssl === false) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (ssl === undefined) return unsupported(L, call, 'is not available: the ext_proc request did not say whether the connection uses TLS');
  pushCached(L, run, 'ssl', T_SSL, () => ({ dead: false, info: ssl }) as SslObj);
  return 1;
}

const streamInfoMethods: Methods = {
  protocol: fact('protocol'),
  routeName: fact('routeName'),
  virtualClusterName: fact('virtualClusterName'),
  downstreamLocalAddress: fact('downstreamLocalAddress'),
  downstreamDirectLocalAddress: fact('downstreamDirectLocalAddress'),
  downstreamRemoteAddress: fact('downstreamRemoteAddress'),
  downstreamDirectRemoteAddress: fact('downstreamDirectRemoteAddress'),
  requestedServerName: fact('requestedServerName'),
  dynamicMetadata(L) {
    const s = self<StreamInfoObj>(L, T_STREAMINFO);
    pushCached(L, s.run, 'dynamicMetadata', T_DYNMETA, () => ({ dead: false, run: s.run, iterating: false }) as DynMetaObj);
    return 1;
  },
  downstreamSslConnection(L) {
    const s = self<StreamInfoObj>(L, T_STREAMINFO);
    return pushSsl(L, s.run, 'streamInfo():downstreamSslConnection()');
  },
  dynamicTypedMetadata: (L) => unsupported(L, 'streamInfo():dynamicTypedMetadata()'),
  filterState: (L) => unsupported(L, 'streamInfo():filterState()'),
};

const connectionMethods: Methods = {
  ssl(L) {
    const c = self<StreamInfoObj>(L, T_CONNECTION);
    return pushSsl(L, c.run, 'connection():ssl()');
  },
};

const SSL_FACTS: Array<keyof SslInfo> = [
  'peerCertificatePresented', 'peerCertificateValidated', 'sha256PeerCertificateDigest', 'serialNumberPeerCertificate',
  'issuerPeerCertificate', 'subjectPeerCertificate', 'subjectLocalCertificate', 'uriSanPeerCertificate',
  'uriSanLocalCertificate', 'dnsSansPeerCertificate', 'dnsSansLocalCertificate', 'tlsVersion', 'ciphersuiteString',
  'urlEncodedPemEncodedPeerCertificate',
];
const SSL_UNSUPPORTED = [
  'parsedSubjectPeerCertificate', 'validFromPeerCertificate', 'expirationPeerCertificate', 'sessionId', 'ciphersuiteId',
  'urlEncodedPemEncodedPeerCertificateChain', 'oidsPeerCertificate', 'oidsLocalCertificate',
];

const sslMethods: Methods = Object.fromEntries([
  ...SSL_FACTS.map((name): [string, LuaCFunction] => [name, (L) => {
    const s = self<SslObj>(L, T_SSL);
    const v = s.info[name];
    if (v === undefined) return unsupported(L, `ssl:${name}()`, 'is not available: the ext_proc request did not carry it');
    pushJson(L, v);
    return 1;
  }]),
  ...SSL_UNSUPPORTED.map((name): [string, LuaCFunction] => [name, (L) => unsupported(L, `ssl:${name}()`)]),
]);

/**
 * Metadata values between Lua and JSON, with the rules of Envoy's
 * MetadataMapHelper (filters/common/lua/wrappers.cc): numbers are doubles,
 * null is nil, a table whose keys are all positive integers is a list
 * (holes become null), any other table is a struct with string keys.
 */
import { fromLua, lauxlib, lua, toLua, type LuaState } from './fengari.js';
import type { JsonValue } from './types.js';
import { raise } from './vm.js';

const MAX_DEPTH = 64;
/** Envoy would build a list as long as the largest key; refuse absurd ones. */
const MAX_LIST = 100_000;

/** Pushes a JSON value as Envoy's setValue would. */
export function pushJson(L: LuaState, v: JsonValue | undefined): void {
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === 'number') lua.lua_pushnumber(L, v);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'string') lua.lua_pushstring(L, toLua(v));
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    v.forEach((item, i) => {
      pushJson(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else {
    pushStruct(L, v);
  }
}

/** Pushes an object as a Lua table. */
export function pushStruct(L: LuaState, fields: Record<string, JsonValue>): void {
  const keys = Object.keys(fields);
  lua.lua_createtable(L, 0, keys.length);
  for (const k of keys) {
    lua.lua_pushstring(L, toLua(k));
    pushJson(L, fields[k]);
    lua.lua_rawset(L, -3);
  }
}

/** Reads the Lua value at idx as Envoy's loadValue would; raises a Lua error for functions, userdata and non-string struct keys. */
export function readJson(L: LuaState, idx: number, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) raise(L, `dynamicMetadata value nested deeper than ${MAX_DEPTH} levels`);
  const i = lua.lua_absindex(L, idx);
  const t = lua.lua_type(L, i);
  switch (t) {
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, i);
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i);
    case lua.LUA_TSTRING:
      return fromLua(lua.lua_tostring(L, i) as Uint8Array);
    case lua.LUA_TTABLE: {
      const length = listLength(L, i);
      if (length > MAX_LIST) raise(L, `dynamicMetadata list longer than ${MAX_LIST} entries`);
      if (length > 0) {
        const list: JsonValue[] = [];
        for (let k = 1; k <= length; k++) {
          lua.lua_rawgeti(L, i, k);
          list.push(readJson(L, -1, depth + 1));
          lua.lua_pop(L, 1);
        }
        return list;
      }
      const obj: Record<string, JsonValue> = {};
      lua.lua_pushnil(L);
      while (lua.lua_next(L, i)) {
        if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) {
          raise(L, `unexpected type ${fromLua(lauxlib.luaL_typename(L, -2))} in table key (only string keys are supported)`);
        }
        const key = fromLua(lua.lua_tostring(L, -2) as Uint8Array);
        obj[key] = readJson(L, -1, depth + 1);
        lua.lua_pop(L, 1);
      }
      return obj;
    }
    default:
      return raise(L, `unexpected type '${fromLua(lauxlib.luaL_typename(L, i))}' in dynamicMetadata`);
  }
}

/** Largest key if every key is a positive integral number, else -1 (0 for an empty table). */
function listLength(L: LuaState, i: number): number {
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, i)) {
    if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -2);
      if (Math.floor(k) === k && k >= 1) {
        if (k > max) max = k;
        lua.lua_pop(L, 1);
        continue;
      }
    }
    lua.lua_pop(L, 2);
    return -1;
  }
  return max;
}
